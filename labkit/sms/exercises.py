"""Exercises of notebooks 02 (overhead) and 03 (RP-DA), each on a second bundled capture.

02 uses ``sms_mt_concat``: a 3-part concatenated MT SMS (GSM 7-bit, 153 + 153 + 58
characters, each part a MESSAGE with RP-DATA answered 200 OK, then the UE's RP-ACK in a
MESSAGE answered 200 OK). 03 uses ``sms_kamailio_mt`` (real kamailio smsops).
How each capture was made is in data/sms/MANIFEST.tsv.

References
----------
3GPP TS 23.040 sections 9.2.3.16 (TP-UDL in septets), 9.2.3.23 (TP-UDHI) and
9.2.3.24.1 (concatenation IE, 6 octets with the UDHL); TS 23.038 section 6.1.2.1
(7-bit packing, the fill bit after a UDH); TS 24.011 sections 7.3 and 8.2.5.2 (MT
RP-DATA, RP-DA length 0); kamailio 5.6 modules/smsops (``$rpdata``).
"""
from __future__ import annotations

from labkit.exercises import Exercise, register_exercise

_NB02 = "02_sms_over_ip_overhead"
_NB03 = "03_iphone_mt_sms_rp_da"


def _number(answer) -> float:
    return float(str(answer).replace(",", "").replace("%", "").strip())


register_exercise(Exercise(
    name="sms.concat_text_octets", notebook=_NB02, capture="sms_mt_concat",
    question="In sms_mt_concat, how many octets of text (user data after the 6-octet "
             "concatenation header) does the third part carry?",
    accepts=lambda a: _number(a) == 51,
    why="58 characters of GSM 7-bit plus the 6-octet UDH (7 septets with its fill bit) make "
        "TP-UDL = 65 septets = ceil(65 * 7 / 8) = 57 octets; 57 - 6 = 51 (TS 23.040 9.2.3.24).",
    hint="The body column of the overhead table, for the third RP-DATA."))

register_exercise(Exercise(
    name="sms.concat_wire_octets", notebook=_NB02, capture="sms_mt_concat",
    question="How many octets cross the wire in sms_mt_concat to deliver the whole 3-part "
             "message (every SIP message: MESSAGE, 200, RP-ACK MESSAGE, 200, three times)?",
    accepts=lambda a: _number(a) == 8736,
    why="3 x (MESSAGE + 200 + RP-ACK MESSAGE + 200): 998+478+1070+394 twice and "
        "914+478+1070+394 once = 8736 octets, for 319 octets of text.",
    hint="Sum the total column of the overhead table over all twelve frames."))

register_exercise(Exercise(
    name="sms.concat_efficiency_percent", notebook=_NB02, capture="sms_mt_concat",
    question="What share of those octets is text, in percent (two decimals)?",
    accepts=lambda a: abs(_number(a) - 100 * 319 / 8736) <= 0.02,
    why="(134 + 134 + 51) / 8736 = 3.65 %: even a long message spends most of its bytes on "
        "SIP and the RP-ACK transaction.",
    hint="Text octets of the three parts over all octets of the twelve frames, times 100."))


register_exercise(Exercise(
    name="sms.kamailio_rpda_count", notebook=_NB03, capture="sms_kamailio_mt",
    question="In sms_kamailio_mt (real kamailio smsops), how many MT RP-DATA carry a "
             "non-empty RP-DA?",
    accepts=lambda a: _number(a) == 2,
    why="References 17 and 18: 17 sets $rpdata(destination), 18 inherits it because "
        "$rpdata(all) was not reset; 19 is reset first and has RP-DA length 0.",
    hint="The rp_da_len column of the decoded messages, for the MT RP-DATA rows."))

register_exercise(Exercise(
    name="sms.kamailio_acked_reference", notebook=_NB03, capture="sms_kamailio_mt",
    question="Which RP message reference is the only one answered by an RP-ACK?",
    accepts=lambda a: _number(a) == 19,
    why="Only reference 19 has an empty RP-DA; the UE, like an iPhone, answers every "
        "MESSAGE 200 OK but sends RP-ACK only for a well-formed MT RP-DATA.",
    hint="Look for the MO RP-ACK row and its rp_ref."))

register_exercise(Exercise(
    name="sms.kamailio_undecodable_frame", notebook=_NB03, capture="sms_kamailio_mt",
    question="Which frame's TPDU does not decode, and so would not be shown even with RP-DA "
             "fixed?",
    accepts=lambda a: _number(a) == 3,
    why="Frame 3 (reference 18) has TP-UDHI set from the previous message but no user data "
        "header: the user data is read as a header and overruns (TS 23.040 9.2.3.23).",
    hint="The decode rule's frame in the pass/fail table."))
