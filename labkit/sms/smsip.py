"""SMS over IP in a capture: the SMS table, the diagnosis rules, the corrected capture.

The questions it answers: "which SIP MESSAGEs of this capture carry an SMS, and what do
their RP and TP layers say?" (:func:`sms_messages`), "what is wrong with them, and what
to do?" (:func:`diagnose_sms`, :func:`rule_results`), and "what would the capture look
like with the MT RP-DA emptied?" (:func:`write_fixed_capture`, :func:`rebuild_frame`).

Re-exported by :mod:`labkit.sms` (``labkit.sms.sms_messages`` etc.). The rules are those
seen in the field for SMS over IMS (3GPP TS 24.341, TS 24.011, TS 23.040, TS 23.038),
collected in REFERENCE section 3; each finding says what is wrong and what to do.

References
----------
3GPP TS 24.341 (SMS over IP: the SIP MESSAGE carrying ``application/vnd.3gpp.sms``,
Annex B.6 for the MT flow MESSAGE, 200 OK, then the delivery report in a MESSAGE of its
own); TS 24.011 sections 7.3 and 8.2 (RP messages and their elements); TS 23.040
section 9.2 (TPDUs); TS 23.038 section 4 (TP-DCS); RFC 3428 (SIP MESSAGE); RFC 3261
sections 7.3.3, 20.14 and 20.15 (Content-Length, its compact form ``l``, Content-Type);
RFC 4303 (ESP: the integrity check value over the rebuilt payload).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from labkit.errors import DecodeError, LabkitError, LabkitWarning
from labkit.sms.pdu import SMS_CONTENT_TYPE, RpMessage, decode_rp, fix_rp_destination, is_sms_content_type

__all__ = ["sms_sip_messages", "sms_messages", "diagnose_sms", "fixed_sip_message",
           "write_fixed_capture", "rebuild_frame", "SMS_COLUMNS", "FINDING_COLUMNS", "RULES",
           "rule_results"]

SMS_COLUMNS = [
    "frame", "time", "src", "dst", "call_id", "cseq", "direction", "rp_link", "rp_type",
    "rp_mti", "rp_ref", "rp_oa", "rp_oa_ton", "rp_oa_len", "rp_da", "rp_da_ton", "rp_da_len",
    "rp_ud_len", "rp_cause", "rp_cause_text", "tp_type", "tp_mti", "tp_mr", "tp_oa", "tp_oa_ton",
    "tp_da", "tp_pid", "tp_dcs", "tp_scts", "tp_scts_tz", "tp_udhi", "tp_udl", "udh",
    "concat_ref", "concat_total", "concat_seq", "encoding", "text", "content_type", "error",
]
_STR_COLUMNS = ["src", "dst", "call_id", "direction", "rp_link", "rp_type", "rp_oa", "rp_da",
                "rp_cause_text", "tp_type", "tp_oa", "tp_da", "tp_scts", "udh", "encoding", "text",
                "content_type", "error"]
FINDING_COLUMNS = ["frame", "rp_ref", "severity", "rule", "finding", "fix"]
_INT_COLUMNS = ["cseq", "rp_mti", "rp_ref", "rp_oa_ton", "rp_oa_len", "rp_da_ton", "rp_da_len",
                "rp_ud_len", "rp_cause", "tp_mti", "tp_mr", "tp_oa_ton", "tp_pid", "tp_dcs",
                "tp_scts_tz", "tp_udhi", "tp_udl", "concat_ref", "concat_total", "concat_seq"]


# ---------------------------------------------------------------- sources

def _sip(source) -> pd.DataFrame:
    """SIP messages of a capture path, Packets, or an existing sip_messages table."""
    from labkit.sip import as_messages
    return as_messages(source)   # a path is read in chunks: memory holds the SIP, not the capture


def sms_sip_messages(source) -> pd.DataFrame:
    """The SIP MESSAGE requests carrying ``application/vnd.3gpp.sms`` (any spelling).

    The media type is matched case-insensitively and without its parameters
    (:func:`labkit.sms.is_sms_content_type`), so a MESSAGE with an inexact
    Content-Type is still found; :func:`diagnose_sms` reports the spelling.

    Parameters
    ----------
    source : str, Path, labkit.capture.Packets or DataFrame
        A capture file, its packets, or a :func:`labkit.sip.sip_messages` table.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`labkit.sip.sip_messages` (same columns: frame, time [s],
        src, dst, method, call_id, cseq, content_type, body (bytes), headers, ...) whose
        method is MESSAGE and whose Content-Type names the SMS media type, in frame
        order, index reset. Responses (202, 200) are not included.

    References
    ----------
    3GPP TS 24.341 Annex B.6 (MESSAGE with Content-Type ``application/vnd.3gpp.sms``,
    body the RP message); RFC 3428 (MESSAGE); RFC 2045 section 5.1 (media type names
    are case-insensitive).

    Examples
    --------
    Frame 7 of ``sms_bad_input`` is ESP-encrypted (no SIP visible), frame 6 is written
    ``Application/Vnd.3gpp.SMS; charset=binary`` (tshark with the ESP NULL heuristic
    shows the same 7 MESSAGEs and Content-Types):

    >>> from labkit import data
    >>> m = sms_sip_messages(data.path("sms_bad_input"))
    >>> m["frame"].tolist()
    [1, 2, 3, 4, 5, 6, 8]
    >>> m.loc[m["frame"] == 6, "content_type"].item()
    'Application/Vnd.3gpp.SMS; charset=binary'
    """
    sip = _sip(source)
    mask = (sip["method"] == "MESSAGE") & sip["content_type"].map(is_sms_content_type).astype(bool)
    return sip[mask].reset_index(drop=True)


# ---------------------------------------------------------------- the SMS table

def _rp_fields(rp: RpMessage) -> dict:
    addr = lambda a: (a.digits if a else None, a.ton if a else None)  # noqa: E731
    (oa, oa_ton), (da, da_ton) = addr(rp.oa), addr(rp.da)
    return dict(direction=rp.direction, rp_link=rp.link, rp_type=rp.type, rp_mti=rp.mti,
                rp_ref=rp.reference, rp_oa=oa, rp_oa_ton=oa_ton, rp_oa_len=rp.oa_len,
                rp_da=da, rp_da_ton=da_ton, rp_da_len=rp.da_len, rp_ud_len=rp.ud_len,
                rp_cause=rp.cause, rp_cause_text=rp.cause_text, error=rp.tp_error)


def _tp_fields(rp: RpMessage) -> dict:
    tp = rp.tpdu
    if tp is None:
        return {}
    concat = tp.concat or (None, None, None)
    return dict(tp_type=tp.type, tp_mti=tp.mti, tp_mr=tp.mr, tp_oa=tp.oa.digits if tp.oa else None,
                tp_oa_ton=tp.oa.ton if tp.oa else None, tp_da=tp.da.digits if tp.da else None,
                tp_pid=tp.pid, tp_dcs=tp.dcs,
                tp_scts=tp.scts.isoformat() if tp.scts else (tp.scts_raw.hex() if tp.scts_raw else None),
                tp_scts_tz=int(tp.scts.utcoffset().total_seconds() // 900) if tp.scts else None,
                tp_udhi=tp.udhi, tp_udl=tp.udl, udh=tp.udh.hex() or None, concat_ref=concat[0],
                concat_total=concat[1], concat_seq=concat[2], encoding=tp.encoding, text=tp.text)


def _sms_row(msg: pd.Series, where: str) -> dict:
    row = dict(frame=int(msg["frame"]), time=msg["time"], src=msg["src"], dst=msg["dst"],
               call_id=msg["call_id"], cseq=msg["cseq"], content_type=msg["content_type"])
    try:
        rp = decode_rp(msg["body"], where=where)
    except DecodeError as exc:
        row["error"] = exc.what
        return row
    return {**row, **_rp_fields(rp), **_tp_fields(rp)}


def sms_messages(source) -> pd.DataFrame:
    """Every SMS over IP message of a capture, RP and TP layers decoded, one row each.

    Parameters
    ----------
    source : str, Path, labkit.capture.Packets or DataFrame
        A capture file, its packets, or a :func:`labkit.sip.sip_messages` table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SMS_COLUMNS`: frame, time [s], src, dst, call_id, cseq, direction
        ("MO" sent by the MS, "MT" sent to it), rp_link, rp_type, rp_mti, rp_ref, rp_oa,
        rp_oa_ton, rp_oa_len, rp_da, rp_da_ton, rp_da_len [octets] (TS 24.011 8.2.5),
        rp_ud_len, rp_cause, rp_cause_text, tp_type, tp_mti, tp_mr, tp_oa, tp_oa_ton,
        tp_da, tp_pid, tp_dcs, tp_scts (ISO 8601 with offset), tp_scts_tz [quarter hours],
        tp_udhi, tp_udl, udh (hex), concat_ref/total/seq, encoding, text, content_type and
        error (why the body or the TPDU did not decode; the other rows still decode).
        Address lengths rp_oa_len/rp_da_len/rp_ud_len are in octets (TS 24.011 8.2.5),
        tp_udl in septets for GSM 7-bit and octets otherwise (TS 23.040 9.2.3.16);
        TON = type of number (1 = international). Missing values are ``<NA>`` in the
        integer columns and ``'nan'`` in the text columns.

    References
    ----------
    3GPP TS 24.011 sections 7.3 (RP-DATA, RP-ACK, RP-ERROR) and 8.2 (message type
    8.2.2, reference 8.2.3, RP-OA 8.2.5.1, RP-DA 8.2.5.2, RP-User-Data 8.2.5.3, RP-Cause
    8.2.5.4); TS 23.040 sections 9.2.2 (TPDU layouts) and 9.2.3 (TP parameters;
    TP-SCTS 9.2.3.11, TP-UDL 9.2.3.16, concatenation 9.2.3.24.1); TS 23.038 section 4
    (TP-DCS); TS 24.341 (the SIP MESSAGE that carries the RP message).

    Examples
    --------
    The MO "K" of ``sms_mo_submit``: frame 1 is RP-DATA MS->N (reference 9, RP-OA
    length 0, RP-DA 12025550100 international, 7 octets; RP-UD 15 octets) with an
    SMS-SUBMIT to 12025550187, GSM 7-bit, TP-UDL 1, text "K"; frame 3 is the network's
    RP-ACK with the same reference. ``tshark -o
    esp.enable_null_encryption_decode_heuristic:TRUE -V`` decodes the same values.

    >>> from labkit import data
    >>> s = sms_messages(data.path("sms_mo_submit"))
    >>> s[["frame", "direction", "rp_type", "rp_ref"]].values.tolist()
    [[1, 'MO', 'RP-DATA', 9], [3, 'MT', 'RP-ACK', 9]]
    >>> s[["rp_oa_len", "rp_da", "rp_da_ton", "rp_da_len", "rp_ud_len"]].values.tolist()[0]
    [0, '12025550100', 1, 7, 15]
    >>> s[["tp_type", "tp_da", "encoding", "tp_udl", "text"]].values.tolist()[0]
    ['SMS-SUBMIT', '12025550187', 'GSM7', 1, 'K']
    """
    msgs = sms_sip_messages(source)
    name = Path(source).name if isinstance(source, (str, Path)) else "capture"
    rows = [_sms_row(m, f"{name}, frame {int(m['frame'])}") for _, m in msgs.iterrows()]
    df = pd.DataFrame(rows, columns=SMS_COLUMNS)
    for col in _INT_COLUMNS:
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    for col in _STR_COLUMNS:
        df[col] = df[col].astype("str")
    return df


# ---------------------------------------------------------------- diagnosis

def _finding(row, severity, rule, finding, fix) -> dict:
    ref = row["rp_ref"]
    return dict(frame=int(row["frame"]), rp_ref=None if ref is None else int(ref),
                severity=severity, rule=rule, finding=finding, fix=fix)


def _rule_decode(row) -> list[dict]:
    err = row["error"]
    if not isinstance(err, str):
        return []
    if "after the end of the TPDU" in err or "TP-UDL" in err:
        return [_finding(row, "error", "rp_ud_length", f"RP-User-Data length {row['rp_ud_len']} "
                         f"does not match the TPDU: {err}", "make RP-UD length = TPDU length and "
                         "TP-UDL match the user data (TS 24.011 8.2.5.3, TS 23.040 9.2.3.16)")]
    part = "TPDU" if row["rp_mti"] is not None else "SMS body"
    return [_finding(row, "error", "decode", f"{part} does not decode: {err}",
                     "check the sender's RP/TP encoder; the other messages are decoded")]


def _rule_mt_rp_da(row) -> list[dict]:
    if row["rp_mti"] != 1 or not (row["rp_da_len"] or 0):
        return []
    return [_finding(row, "error", "mt_rp_da",
                     f"MT RP-DATA carries RP-DA={row['rp_da']} (length {row['rp_da_len']}); "
                     "network-to-MS RP-DA must be empty (TS 24.011 8.2.5.2). Reported for iPhones: "
                     "200 OK, and the message is never shown",
                     "send RP-DA with length 0 (labkit.sms.fix_rp_destination; kamailio smsops: "
                     "$rpdata(all) = $null before each message, leave $rpdata(destination) unset)")]


def _rule_rp_oa(row, sc_addresses: set) -> list[dict]:
    if row["rp_mti"] != 1:
        return []
    if not (row["rp_oa_len"] or 0):
        return [_finding(row, "error", "rp_oa", "MT RP-DATA has an empty RP-OA; it must be the "
                         "service-centre address (TS 24.011 8.2.5.1)", "put the SMSC E.164 in RP-OA")]
    out = []
    if row["rp_oa_ton"] != 1:
        out.append(_finding(row, "warning", "rp_oa", f"RP-OA {row['rp_oa']} has type of number "
                            f"{row['rp_oa_ton']}, not international (1)",
                            "send the SC address as an international E.164 number (TON 1, NPI 1)"))
    if isinstance(row["tp_oa"], str) and row["rp_oa"] == row["tp_oa"]:
        out.append(_finding(row, "warning", "rp_oa", f"RP-OA {row['rp_oa']} is the sender's number "
                            "(TP-OA), not a service-centre address",
                            "set RP-OA to the SMSC address, keep the sender in TP-OA"))
    elif sc_addresses and row["rp_oa"] not in sc_addresses:
        out.append(_finding(row, "warning", "rp_oa", f"RP-OA {row['rp_oa']} is not the service-centre "
                            f"address the MS sends to ({', '.join(sorted(sc_addresses))}, RP-DA of "
                            "its RP-DATA in this capture)", "check the SMSC address configured for MT"))
    return out


_ALLOWED_TP = {0: {"SMS-SUBMIT", "SMS-COMMAND"}, 1: {"SMS-DELIVER", "SMS-STATUS-REPORT"}}


def _rule_direction(row) -> list[dict]:
    out = []
    if row["rp_mti"] == 0:
        if row["rp_oa_len"]:
            out.append(_finding(row, "warning", "direction", f"MS->N RP-DATA carries RP-OA="
                                f"{row['rp_oa']}; it must be empty (TS 24.011 8.2.5.1)",
                                "send RP-OA with length 0 from the MS"))
        if not row["rp_da_len"]:
            out.append(_finding(row, "error", "direction", "MS->N RP-DATA has no RP-DA (service "
                                "centre address)", "configure the SMSC address on the UE (SIM EF-SMSP)"))
    allowed = _ALLOWED_TP.get(row["rp_mti"], set())
    if allowed and isinstance(row["tp_type"], str) and row["tp_type"] not in allowed:
        out.append(_finding(row, "error", "direction", f"{row['tp_type']} inside {row['rp_link']} "
                            "RP-DATA (TP-MTI not allowed in this direction, TS 23.040 9.2.3.1)",
                            "MT carries SMS-DELIVER, MO carries SMS-SUBMIT"))
    return out


def _rule_content_type(row) -> list[dict]:
    if row["content_type"] == SMS_CONTENT_TYPE:
        return []
    return [_finding(row, "warning", "content_type", f"Content-Type is {row['content_type']!r}, "
                     f"not exactly {SMS_CONTENT_TYPE!r} (TS 24.341 7.3.1)",
                     "send the media type exactly, without parameters")]


def _rule_mt_headers(row, headers) -> list[dict]:
    if row["rp_mti"] != 1:
        return []
    values = lambda n: [v for k, v in headers if k == n]  # noqa: E731
    out = []
    if not any("+g.3gpp.smsip" in v.replace(" ", "") and "*" in v for v in values("accept-contact")):
        out.append(_finding(row, "warning", "mt_headers", "MT MESSAGE without "
                            "'Accept-Contact: *;+g.3gpp.smsip' (TS 24.341 annex B.6, table B.6-1)",
                            "add it, so only SMS-over-IP capable contacts are targeted"))
    if not any("no-fork" in v.lower() for v in values("request-disposition")):
        out.append(_finding(row, "warning", "mt_headers", "MT MESSAGE without "
                            "'Request-Disposition: no-fork' (TS 24.341 annex B.6, table B.6-1)",
                            "add it, so the S-CSCF does not fork the RP-DATA to several devices"))
    return out


def _rule_not_displayed(row) -> list[dict]:
    out = []
    if row["tp_pid"] == 0x40:
        out.append(_finding(row, "info", "not_displayed", "TP-PID 0x40 = Short Message Type 0: "
                            "the MS acknowledges it and discards the contents (TS 23.040 9.2.3.9)",
                            "expected for silent pings; use PID 0 for a visible message"))
    dcs = row["tp_dcs"]
    if dcs is not None and int(dcs) >> 4 == 0xC:
        out.append(_finding(row, "info", "not_displayed", f"TP-DCS 0x{int(dcs):02x} = message "
                            "waiting indication group 'discard message' (TS 23.038 4)",
                            "the UE only updates its indicator; use DCS group 0 to show text"))
    return out


def _reports(sms: pd.DataFrame, row) -> pd.DataFrame:
    """Later RP-ACK / RP-ERROR with the same RP reference in the other direction."""
    want = (2, 4) if row["rp_mti"] == 1 else (3, 5)
    later = sms[(sms["frame"] > row["frame"]) & sms["rp_mti"].isin(want)]
    return later[later["rp_ref"] == row["rp_ref"]]


def _final_status(sip: pd.DataFrame, row):
    resp = sip[(sip["call_id"] == row["call_id"]) & (sip["cseq"] == row["cseq"])
               & sip["status"].notna() & (sip["status"] >= 200) & (sip["frame"] > row["frame"])]
    return (int(resp["status"].iloc[0]), int(resp["frame"].iloc[0])) if len(resp) else (None, None)


def _rule_delivery(row, sms, sip) -> list[dict]:
    if row["rp_mti"] not in (0, 1):
        return []
    reports = _reports(sms, row)
    if len(reports):
        rep = reports.iloc[0]
        if rep["rp_type"] == "RP-ERROR":
            return [_finding(row, "error", "rp_error", f"RP-ERROR in frame {int(rep['frame'])}: "
                             f"cause {rep['rp_cause']} ({rep['rp_cause_text']})",
                             "the SMS was not delivered; act on the cause (TS 24.011 8.2.5.4)")]
        return []
    status, frame = _final_status(sip, row)
    if status is not None and 200 <= status < 300:
        return [_finding(row, "error", "no_rp_ack", f"{status} in frame {frame} but no RP-ACK with "
                         f"reference {row['rp_ref']} follows: the SIP answer is not delivery "
                         "(TS 24.341 5.3.2.4)", "look at why the recipient did not accept the "
                         "RP-DATA (other findings on this frame); the SC should retry")]
    text = f"final response {status}" if status else "no final response"
    return [_finding(row, "warning", "no_rp_ack", f"{text} and no RP-ACK/RP-ERROR with reference "
                     f"{row['rp_ref']}", "check the capture covers the whole transfer")]


def _plain_rows(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None for missing values (no pandas NA in the rule logic)."""
    return [{k: (None if not isinstance(v, (bytes, tuple)) and pd.isna(v) else v)
             for k, v in r.items()} for r in df.to_dict("records")]


def diagnose_sms(source, *, sms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run the SMS over IP rules on every SMS message of a capture.

    Parameters
    ----------
    source : str, Path, labkit.capture.Packets or DataFrame
        Capture, packets, or a :func:`labkit.sip.sip_messages` table (responses are
        needed for the "200 OK is not delivery" rule).
    sms : DataFrame, optional
        A :func:`sms_messages` table already made from the same source.

    Returns
    -------
    pandas.DataFrame
        :data:`FINDING_COLUMNS`: frame, rp_ref, severity ("error", "warning", "info"),
        rule (decode, rp_ud_length, mt_rp_da, rp_oa, direction, content_type, mt_headers,
        no_rp_ack, rp_error, not_displayed, and encrypted_esp when `source` is a file
        path), finding, fix; sorted by frame and rule. No row means no rule found
        anything; :func:`rule_results` also lists the rules that passed.

    References
    ----------
    The clause of each rule is in :data:`RULES` and in the finding text: 3GPP TS 24.011
    sections 8.2.5.1 (MT RP-OA = service centre), 8.2.5.2 (network-to-MS RP-DA length
    0), 8.2.5.3 (RP-User-Data length), 8.2.5.4 (RP-Cause); TS 23.040 sections 9.2.3.1
    (TP-MTI per direction), 9.2.3.9 (TP-PID 0x40 Short Message Type 0), 9.2.3.16
    (TP-UDL); TS 23.038 section 4 (message waiting "discard" DCS group); TS 24.341
    (Content-Type, Accept-Contact ``*;+g.3gpp.smsip`` and Request-Disposition
    ``no-fork`` on MT, Annex B.6; the delivery report is an RP-ACK in a later MESSAGE,
    not the 200 OK); RFC 4303 (ESP) for encrypted_esp.

    Examples
    --------
    The iPhone case: the MT RP-DATA of frame 1 carries RP-DA 12025550143 (tshark:
    ``RP-Destination Address - (12025550143)``, length 7); the UE answers 200 OK in
    frame 2 and no RP-ACK follows:

    >>> from labkit import data
    >>> f = diagnose_sms(data.path("sms_mt_rpda_iphone"))
    >>> f[["frame", "rp_ref", "severity", "rule"]].values.tolist()
    [[1, 17, 'error', 'mt_rp_da'], [1, 17, 'error', 'no_rp_ack']]

    An RP-ERROR answers the MO RP-DATA of ``sms_rp_error`` (tshark frame 3: ``RP-Cause
    - (21) Short message transfer rejected``, reference 10):

    >>> diagnose_sms(data.path("sms_rp_error"))["finding"].item()
    'RP-ERROR in frame 3: cause 21 (Short message transfer rejected)'

    The same MT SMS with RP-DA length 0, RP-ACKed in frame 3, has no finding:

    >>> len(diagnose_sms(data.path("sms_mt_rpda_fixed")))
    0
    """
    sip = _sip(source)
    sms = sms if sms is not None else sms_messages(sip)
    headers = dict(zip(sip["frame"], sip["headers"]))
    found = []
    sc = set(sms.loc[(sms["rp_mti"] == 0) & sms["rp_da"].notna(), "rp_da"])  # SC addresses used MO
    for row in _plain_rows(sms):
        found += _rule_decode(row) + _rule_content_type(row)
        if row["rp_mti"] is None:
            continue
        found += (_rule_mt_rp_da(row) + _rule_rp_oa(row, sc) + _rule_direction(row)
                  + _rule_mt_headers(row, headers.get(row["frame"], ())) + _rule_not_displayed(row)
                  + _rule_delivery(row, sms, sip))
    if isinstance(source, (str, Path)):
        found += _encrypted_esp(Path(source))
    df = pd.DataFrame(found, columns=FINDING_COLUMNS)
    df["rp_ref"] = pd.array(df["rp_ref"].tolist(), dtype="Int64")
    return df.sort_values(["frame", "rule"], kind="stable").reset_index(drop=True)


#: Every rule of :func:`diagnose_sms`: what it checks, the clause, and which messages it applies to.
RULES = {
    "decode": ("every SMS body decodes (RP and TP)", "TS 24.011 7, TS 23.040 9", "any"),
    "rp_ud_length": ("RP-User-Data length matches the TPDU", "TS 24.011 8.2.5.3", "any"),
    "content_type": ("Content-Type is exactly application/vnd.3gpp.sms", "TS 24.341 7.3.1", "any"),
    "mt_rp_da": ("MT RP-DATA carries an empty RP-DA", "TS 24.011 8.2.5.2", "mt"),
    "rp_oa": ("MT RP-OA is the service centre, international", "TS 24.011 8.2.5.1", "mt"),
    "mt_headers": ("MT MESSAGE has Accept-Contact +g.3gpp.smsip and Request-Disposition no-fork",
                   "TS 24.341 annex B.6 (table B.6-1)", "mt"),
    "direction": ("RP and TP types fit the direction (RP-OA/RP-DA, TP-MTI)",
                  "TS 24.011 8.2.5, TS 23.040 9.2.3.1", "rp_data"),
    "no_rp_ack": ("an RP-ACK follows the 2xx (the SIP answer is not delivery)", "TS 24.341 5.3.2.4",
                  "rp_data"),
    "rp_error": ("no RP-ERROR answers the RP-DATA", "TS 24.011 8.2.5.4", "rp_data"),
    "not_displayed": ("the TPDU is meant to be shown (not PID type 0, not a discard DCS)",
                      "TS 23.040 9.2.3.9, TS 23.038 4", "tpdu"),
    "encrypted_esp": ("no ESP payload is encrypted, so every SMS can be read", "RFC 4303, TS 33.203",
                      "file"),
}


def rule_results(source, *, findings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pass, fail or not applicable for every rule of :func:`diagnose_sms`, not only failures.

    Parameters
    ----------
    source : str, Path, labkit.capture.Packets or DataFrame
        As for :func:`diagnose_sms`.
    findings : DataFrame, optional
        :func:`diagnose_sms` of the same source, when already made.

    Returns
    -------
    pandas.DataFrame
        One row per rule of :data:`RULES`: rule, checks (what the rule checks), clause,
        result ("fail" for an error, "warning", "info", "pass", or "not applicable" when
        the capture has no message the rule looks at), frames (the frames of its findings).

    References
    ----------
    3GPP TS 24.341, TS 24.011, TS 23.040 (the clauses in :data:`RULES`).

    Examples
    --------
    >>> from labkit import data
    >>> r = rule_results(data.path("sms_mt_rpda_fixed")).set_index("rule")["result"]
    >>> r["mt_rp_da"], r["no_rp_ack"], r["rp_oa"]
    ('pass', 'pass', 'pass')
    >>> rule_results(data.path("sms_mt_rpda_iphone")).set_index("rule").loc["mt_rp_da", "result"]
    'fail'
    """
    sip = _sip(source)
    sms = sms_messages(sip)
    found = findings if findings is not None else diagnose_sms(source, sms=sms)
    present = {"any": len(sms) > 0, "mt": bool((sms["rp_mti"] == 1).any()),
               "rp_data": bool(sms["rp_mti"].isin([0, 1]).any()),
               "tpdu": bool(sms["tp_type"].notna().any()), "file": isinstance(source, (str, Path))}
    rows = []
    for rule, (checks, clause, scope) in RULES.items():
        mine = found[found["rule"] == rule]
        if len(mine):
            sev = set(mine["severity"])
            result = "fail" if "error" in sev else "warning" if "warning" in sev else "info"
        else:
            result = "pass" if present[scope] else "not applicable"
        rows.append(dict(rule=rule, checks=checks, clause=clause, result=result,
                         frames=", ".join(str(int(f)) for f in sorted(set(mine["frame"])))))
    return pd.DataFrame(rows)


def _encrypted_esp(path: Path) -> list[dict]:
    """Frames whose ESP payload is encrypted: any SMS inside cannot be read (RFC 4303)."""
    from labkit.capture import iter_frames
    from labkit.sms.overhead import frame_layers
    out = []
    for fr in iter_frames(path):
        try:
            layers = frame_layers(fr.data, fr.linktype)
        except LabkitError:
            continue
        opaque = [l for l in layers if l.name == "esp_opaque" and not l.info.get("truncated")]
        if opaque:
            spi = opaque[0].info.get("spi", 0)
            out.append(dict(frame=int(fr.number), rp_ref=None, severity="warning", rule="encrypted_esp",
                            finding=f"ESP SPI 0x{spi:08x} is encrypted (not NULL): {opaque[0].length} "
                                    "octets cannot be read, an SMS inside would be missed",
                            fix="capture with ESP NULL (ealg=null) or decrypt with the SA keys first"))
    return out


# ---------------------------------------------------------------- the fix

def fixed_sip_message(sip: bytes, body: bytes) -> bytes:
    """`sip` (one whole SIP message) with its body replaced and Content-Length updated.

    Only the first Content-Length header (or its compact form ``l``) is rewritten, to
    ``len(body)``; one is added at the end of the headers when there is none. The other
    header lines are kept byte for byte.

    Parameters
    ----------
    sip : bytes
        One whole SIP message: start line, headers, CRLF CRLF, body.
    body : bytes
        The new body.

    Returns
    -------
    bytes
        The message with `body` after CRLF CRLF and ``Content-Length: <len(body)>``
        [octets].

    Raises
    ------
    labkit.errors.DecodeError
        When `sip` has no CRLF CRLF (not a whole SIP message).

    References
    ----------
    RFC 3261 sections 7 (an empty line ends the header fields), 20.14 (Content-Length
    in octets) and 7.3.3 (compact form ``l``).

    Examples
    --------
    kamailio's MT MESSAGE of ``sms_kamailio_mt`` frame 1 (plain UDP: the SIP message
    runs to the end of the frame) with its RP-DA emptied: 7 octets less, Content-Length
    39 -> 32, as in frame 5 where kamailio itself sent RP-DA empty (tshark
    ``sip.Content-Length``: 39, 39, 32 for frames 1, 3, 5):

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> from labkit.sms.pdu import fix_rp_destination
    >>> fr = next(iter_frames(data.path("sms_kamailio_mt")))
    >>> sip = bytes(fr.data[fr.data.index(b"MESSAGE "):])
    >>> new = fixed_sip_message(sip, fix_rp_destination(sip.partition(b"\\r\\n\\r\\n")[2]))
    >>> len(sip) - len(new), b"Content-Length: 32\\r\\n" in new
    (7, True)
    """
    head, sep, _ = bytes(sip).partition(b"\r\n\r\n")
    if not sep:
        raise DecodeError("no end of SIP headers (CRLF CRLF)", None, "pass one whole SIP message")
    pat = re.compile(rb"(?im)^(content-length|l)[ \t]*:[ \t]*\d+")
    if not pat.search(head):
        return head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    head = pat.sub(lambda m: m.group(1) + b": " + str(len(body)).encode(), head, count=1)
    return head + b"\r\n\r\n" + body


def write_fixed_capture(path, out_path, *, frames_to_fix=None, esp_keys: dict | None = None,
                        next_seq: dict | None = None) -> pd.DataFrame:
    """Write a copy of capture `path` where every MT RP-DATA with RP-DA set is corrected.

    Each such frame is rebuilt layer by layer (lengths and checksums recomputed with
    labkit.capture.frames); the other frames are copied. The corrected SIP messages are
    also written next to `out_path` as ``<stem>_frameN.sip``: that file is the artefact to
    replay (send it through a fresh SA, e.g. from the P-CSCF or a test tool).

    The ESP integrity check value covers the edited bytes, so a copied ICV is wrong for the
    new payload and a UE with integrity on drops the packet (RFC 4303 3.4.4). With the SA's
    integrity key in `esp_keys` the ICV is recomputed (:mod:`labkit.sms.ipsec`); the
    sequence number is kept unless `next_seq` gives a new one, and a sequence number the UE
    has already received is dropped by its anti-replay window (RFC 4303 3.4.3). Without
    keys the pcap is for analysis only, and a :class:`LabkitWarning` says so.

    Parameters
    ----------
    path, out_path : str or Path
        The capture and the corrected copy to write.
    frames_to_fix : iterable of int, optional
        Only these frames (default: every MT RP-DATA with RP-DA set).
    esp_keys : dict, optional
        SPI -> (algorithm, integrity key): ``{0x0BADCAFE: ("hmac-sha-1-96", key)}``.
    next_seq : dict, optional
        SPI -> first ESP sequence number to write into the rebuilt frames of that SA.

    Returns
    -------
    pandas.DataFrame
        frame, old_body (hex), new_body (hex), sip_file, esp_icv ("no ESP", "copied:
        invalid for the new payload", "recomputed (<alg>)"), pcap_use ("for analysis",
        or "replayable" when the ICV was recomputed over a new sequence number).

    Raises
    ------
    labkit.errors.LabkitError
        When no frame (of `frames_to_fix`) has an MT RP-DATA with RP-DA set.

    Warns
    -----
    labkit.errors.LabkitWarning
        For each rebuilt ESP frame whose ICV is copied (no key for its SPI), and for a
        frame that cannot be rebuilt (e.g. SIP over TCP), which is copied unchanged.

    References
    ----------
    3GPP TS 24.011 section 8.2.5.2 (network-to-MS RP-DA has length 0); RFC 3261
    section 20.14 (Content-Length); RFC 791 and RFC 768 (IPv4 and UDP lengths and
    checksums); 3GPP TS 29.281 section 5 (GTP-U length); RFC 4303 sections 2 (ESP
    packet format), 3.4.3 (anti-replay) and 3.4.4 (ICV verification); RFC 2404
    (HMAC-SHA-1-96).

    Examples
    --------
    kamailio's capture ``sms_kamailio_mt``: frames 1 and 3 carry RP-DA (tshark frame
    length 598, Content-Length 39), frame 5 does not (591, 32). In the corrected copy
    frames 1 and 3 are 591 octets with Content-Length 32 and RP-DA length 0, and tshark
    ``-o udp.check_checksum:TRUE -o ip.check_checksum:TRUE`` finds their checksums good:

    >>> import os, tempfile
    >>> from labkit import data
    >>> out = os.path.join(tempfile.mkdtemp(), "fixed.pcap")
    >>> t = write_fixed_capture(data.path("sms_kamailio_mt"), out)
    >>> t[["frame", "sip_file", "esp_icv", "pcap_use"]].values.tolist()
    [[1, 'fixed_frame1.sip', 'no ESP', 'replayable'], [3, 'fixed_frame3.sip', 'no ESP', 'replayable']]
    >>> sms_messages(out)[["frame", "rp_da_len"]].values.tolist()[:3]
    [[1, 0], [3, 0], [5, 0]]

    Over ESP without the SA's key the ICV is copied, and a warning says the pcap is for
    analysis only:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     t = write_fixed_capture(data.path("sms_mt_rpda_iphone"), out)
    >>> t.loc[0, "esp_icv"], t.loc[0, "pcap_use"], "RFC 4303 3.4.4" in str(w[0].message)
    ('copied: invalid for the new payload', 'for analysis', True)
    """
    sms = sms_messages(path)
    bad = sms[(sms["rp_mti"] == 1) & (sms["rp_da_len"].fillna(0) > 0)]
    if frames_to_fix is not None:
        bad = bad[bad["frame"].isin(list(frames_to_fix))]
    if not len(bad):
        raise LabkitError("no MT RP-DATA with RP-DA set", str(path), "nothing to fix")
    return _rebuild_capture(Path(path), Path(out_path), set(int(f) for f in bad["frame"]),
                            dict(esp_keys or {}), dict(next_seq or {}))


def _sip_span(layers) -> tuple[int, int]:
    """(start, end) of the SIP message within the frame, from the accounted layers."""
    sip = [l for l in layers if l.name in ("sip_start_line", "sip_headers", "rp_header",
                                            "tp_header", "user_data", "other")
           and l.offset >= next(x.offset for x in layers if x.name == "sip_start_line")]
    return sip[0].offset, max(l.offset + l.length for l in sip)


def rebuild_frame(frame: bytes, linktype: int, payload: bytes, *, where: str | None = None,
                  esp_key: tuple | None = None, esp_seq: int | None = None) -> bytes:
    """`frame` with its UDP payload replaced, every enclosing length and checksum redone.

    Supports link / IPv4|IPv6 [/ UDP / GTP-U / IPv4|IPv6] [/ ESP NULL] / UDP, the stacks
    of :func:`labkit.sms.overhead.frame_layers`. IPv4 TOS/options and GTP-U sequence, N-PDU
    and extension headers are kept; IPv6 extension headers are not carried over. The ESP
    ICV is copied as it was (then invalid for the new payload), or recomputed when
    `esp_key` = (algorithm, integrity key) is given; `esp_seq` replaces the ESP sequence
    number.

    Parameters
    ----------
    frame : bytes
        One captured frame carrying SIP over UDP.
    linktype : int
        Its pcap LINKTYPE (1 Ethernet, 113 Linux SLL, 276 SLL2, 0 null, 101 raw IP).
    payload : bytes
        The new UDP payload (the whole SIP message, e.g. from :func:`fixed_sip_message`).
    where : str, optional
        Where the frame comes from, for error messages (e.g. ``"x.pcap, frame 3"``).
    esp_key : tuple, optional
        (algorithm, integrity key): ``("hmac-sha-1-96", key)`` or ``("hmac-md5-96",
        key)`` to recompute the ICV.
    esp_seq : int, optional
        ESP sequence number to write (default: the captured one).

    Returns
    -------
    bytes
        The rebuilt frame; its length changes by the payload's change plus the ESP
        padding's (payload, padding and the 2 trailer octets end on a 4-octet boundary).

    Raises
    ------
    labkit.errors.LabkitError
        When the frame is not SIP over UDP (TCP is not rebuilt), or its layers do not
        decode.

    References
    ----------
    RFC 768 (UDP length and checksum over the pseudo-header), RFC 791 (IPv4 total length
    and header checksum), RFC 8200 (IPv6 payload length), 3GPP TS 29.281 section 5.1
    (GTP-U length), RFC 4303 sections 2.4 (padding to 4 octets), 2.2 (sequence number)
    and 2.8 (ICV); RFC 2404 / RFC 2403 (HMAC-SHA-1-96 / HMAC-MD5-96).

    Examples
    --------
    Given its own SIP message back, the S1-U frame of ``sms_mo_submit`` (Ethernet / IPv4
    / UDP / GTP-U / IPv4 / ESP NULL / UDP / SIP) comes out byte for byte as captured:

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = next(iter_frames(data.path("sms_mo_submit")))
    >>> start = fr.data.index(b"MESSAGE ")
    >>> sip = fr.data[start:start + 1003 - 8]      # tshark: udp.length 1003 (inner UDP)
    >>> rebuild_frame(fr.data, fr.linktype, sip) == fr.data
    True

    The iPhone MT MESSAGE with RP-DA emptied: 7 octets less of SIP and 1 less of ESP
    padding, 866 -> 858 octets (the length of frame 1 of ``sms_mt_rpda_fixed``), and
    tshark reads RP-DA length 0 with good IP and UDP checksums:

    >>> from labkit.sms.pdu import fix_rp_destination
    >>> fr = next(iter_frames(data.path("sms_mt_rpda_iphone")))
    >>> start = fr.data.index(b"MESSAGE ")
    >>> sip = fr.data[start:start + 767 - 8]       # tshark: udp.length 767 (inner UDP)
    >>> new = fixed_sip_message(sip, fix_rp_destination(sip.partition(b"\\r\\n\\r\\n")[2]))
    >>> len(fr.data), len(rebuild_frame(fr.data, fr.linktype, new))
    (866, 858)
    """
    from labkit.capture import frames as fb
    from labkit.sms.overhead import frame_layers
    layers = frame_layers(frame, linktype, where=where)
    by = {l.name: l for l in layers}
    if "transport" not in by or by["transport"].protocol != "UDP":
        raise LabkitError("only SIP over UDP frames can be rebuilt", where, "fix the SIP body by hand")
    ip = by["inner_ip"]
    data = fb.udp(payload, by["transport"].info["sport"], by["transport"].info["dport"],
                  ip.info["src"], ip.info["dst"])
    proto = 17
    if "esp_header" in by:
        icv = frame[by["esp_icv"].offset:by["esp_icv"].offset + by["esp_icv"].length]
        e = by["esp_header"].info
        seq = e["seq"] if esp_seq is None else int(esp_seq)
        data = fb.esp(data, e["spi"], seq, 17, icv_len=len(icv), icv=icv)
        if esp_key is not None:
            from labkit.sms.ipsec import hmac_96
            data = data[:-len(icv)] + hmac_96(esp_key[0], esp_key[1], data[:-len(icv)])[:len(icv)]
        proto = 50
    data = _rebuild_ip(fb, ip, data, proto)
    if "gtpu" in by:
        g = by["gtpu"].info
        data = fb.gtpu(data, g["teid"], seq=g["seq"], npdu=g["npdu"], ext=g["ext"])
        u = by["outer_udp"].info
        data = fb.udp(data, u["sport"], u["dport"], by["outer_ip"].info["src"], by["outer_ip"].info["dst"])
        data = _rebuild_ip(fb, by["outer_ip"], data, 17)
    link = by.get("link")
    return (frame[:link.length] if link else b"") + data


def _rebuild_ip(fb, layer, payload: bytes, proto: int) -> bytes:
    i = layer.info
    if layer.protocol == "IPv4":
        return fb.ipv4(payload, i["src"], i["dst"], proto, ident=i["ident"], ttl=i["ttl"], df=i["df"],
                       tos=i["tos"], options=i["options"])
    return fb.ipv6(payload, i["src"], i["dst"], proto)


def _fix_frame(fr, path: Path, out_path: Path, keys: dict, seqs: dict) -> tuple[bytes, dict]:
    """One frame with its MT RP-DATA corrected, and the table row describing it."""
    from labkit.sms.overhead import frame_layers
    where = f"{path.name}, frame {fr.number}"
    data = bytes(fr.data)
    layers = frame_layers(data, fr.linktype, where=where)
    start, end = _sip_span(layers)
    old = data[start:end]
    body = old.partition(b"\r\n\r\n")[2]
    new = fixed_sip_message(old, fix_rp_destination(body, where=where))
    spi = next((l.info["spi"] for l in layers if l.name == "esp_header"), None)
    key, seq = keys.get(spi), seqs.get(spi)
    if seq is not None:
        seqs[spi] = seq + 1
    data = rebuild_frame(data, fr.linktype, new, where=where, esp_key=key, esp_seq=seq)
    sip_file = out_path.with_name(f"{out_path.stem}_frame{fr.number}.sip")
    sip_file.write_bytes(new)
    icv = "no ESP" if spi is None else (f"recomputed ({key[0]})" if key else
                                         "copied: invalid for the new payload")
    use = "replayable" if spi is None or (key and seq is not None) else "for analysis"
    if spi is not None and not key:
        warnings.warn(f"{where}: ESP SPI 0x{spi:08x}: the ICV is copied and no longer matches the "
                      "corrected payload; a UE with integrity on drops this packet (RFC 4303 "
                      "3.4.4). The pcap is for analysis; replay the corrected SIP MESSAGE "
                      f"({sip_file.name}) through a fresh SA, or give esp_keys", LabkitWarning,
                      stacklevel=4)
    return data, dict(frame=fr.number, old_body=body.hex(),
                      new_body=new.partition(b"\r\n\r\n")[2].hex(), sip_file=sip_file.name,
                      esp_icv=icv, pcap_use=use)


def _rebuild_capture(path: Path, out_path: Path, fix: set[int], keys: dict, seqs: dict) -> pd.DataFrame:
    from labkit.capture import frames as fb
    from labkit.capture import iter_frames
    records, rows, links = [], [], {}
    for fr in iter_frames(path):
        data = bytes(fr.data)
        if fr.number in fix:
            try:
                data, row = _fix_frame(fr, path, out_path, keys, seqs)
                rows.append(row)
            except LabkitError as exc:  # e.g. SIP over TCP: copied unchanged, said so
                warnings.warn(f"{exc}; frame {fr.number} copied unchanged", LabkitWarning, stacklevel=3)
        iface = links.setdefault(fr.linktype, len(links))
        records.append((fr.time_ns, data, iface))
    if len(links) <= 1:
        fb.write_pcap(out_path, [r[:2] for r in records], linktype=next(iter(links), 1), nanosecond=True)
    else:  # several link types (pcapng with several interfaces): one interface per link type
        fb.write_pcapng(out_path, records, interfaces=[(lt, 9) for lt in links])
    return pd.DataFrame(rows, columns=["frame", "old_body", "new_body", "sip_file", "esp_icv", "pcap_use"])
