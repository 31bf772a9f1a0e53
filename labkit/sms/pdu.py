"""SMS over IMS: RP (3GPP TS 24.011) and TP (TS 23.040) layers of SIP MESSAGE bodies.

The codec is pycrate (``pycrate_mobile.TS24011_PPSMS``, ``TS23040_SMS``), wrapped behind
small frozen dataclasses: :func:`decode_rp` and :func:`decode_tpdu` decode, every decoded
message re-encodes to the same bytes (checked on every decode), :func:`fix_rp_destination`
builds the corrected MT RP-DATA of the "iPhone never shows it" case (RP-DA length 0,
TS 24.011 8.2.5.2 / TS 24.341 B.5), :func:`sms_messages` tabulates every
``application/vnd.3gpp.sms`` SIP MESSAGE of a capture (TS 24.341 7.3) and
:func:`diagnose_sms` runs the field rules of REFERENCE section 3 on that table.

Field names follow Wireshark 4.0 (``gsm_a.rp.*``, ``gsm_sms.*``); addresses are printed
as tshark prints ``gsm_a.dtap.cld_party_bcd_num`` / ``gsm_sms.tp-oa`` (digits, with
``*``, ``#``, ``a``, ``b``, ``c`` for BCD 0xA-0xE, filler F dropped).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pycrate_mobile import TS23040_SMS as _tp
from pycrate_mobile import TS24011_PPSMS as _rp
from pycrate_mobile.TS23038 import _GSM7bExtLUT as _GSM7_EXT
from pycrate_mobile.TS23038 import _GSM7bLUT as _GSM7
from pycrate_mobile.TS23038 import encode_7b as _encode_7b

from labkit.errors import DecodeError

__all__ = [
    "SMS_CONTENT_TYPE", "is_sms_content_type", "RP_TYPES", "RP_CAUSES", "TpAddress", "Tpdu", "RpMessage",
    "decode_rp", "decode_tpdu", "scts_timezone", "gsm7_unpack", "encode_rp", "fix_rp_destination",
    "encode_deliver",
    "encode_submit", "encode_rp_data", "encode_rp_ack", "encode_rp_error",
]

logging.getLogger("pycrate_mobile").setLevel(logging.CRITICAL)  # we report problems ourselves

SMS_CONTENT_TYPE = "application/vnd.3gpp.sms"  # TS 24.341 7.3.1, exact
RP_TYPES = {0: "RP-DATA", 1: "RP-DATA", 2: "RP-ACK", 3: "RP-ACK", 4: "RP-ERROR",
            5: "RP-ERROR", 6: "RP-SMMA"}  # TS 24.011 8.2.2, even = MS->N, odd = N->MS
RP_CAUSES = dict(_rp._RPCause_dict)  # TS 24.011 8.2.5.4 table 8.4
_BCD = "0123456789*#abc"  # TS 24.008 table 10.5.118, as tshark prints them
_TP_NAMES = {("MT", 0): "SMS-DELIVER", ("MT", 1): "SMS-SUBMIT-REPORT",
             ("MT", 2): "SMS-STATUS-REPORT", ("MO", 0): "SMS-DELIVER-REPORT",
             ("MO", 1): "SMS-SUBMIT", ("MO", 2): "SMS-COMMAND"}


@dataclass(frozen=True)
class TpAddress:
    """An address: type of number, numbering plan, digits (TS 23.040 9.1.2.5 / 24.011 8.2.5).

    ``length`` is the length octet as sent: digits for TP addresses, octets for RP.
    """

    ton: int
    npi: int
    digits: str
    length: int
    raw: bytes

    def __str__(self) -> str:
        return self.digits


@dataclass(frozen=True)
class Tpdu:
    """A decoded TPDU (TS 23.040 9.2.2). Absent fields are None.

    Attributes: ``mti`` (2 bits), ``type`` ("SMS-DELIVER", ...), ``direction`` ("MT" for
    network to MS, "MO"), ``mr`` (TP-MR), ``oa``/``da`` (:class:`TpAddress`), ``pid``,
    ``dcs``, ``scts`` (aware datetime, TS 23.040 9.2.3.11, quarter-hour time zone),
    ``vpf``/``vp`` (raw VP octets), ``udhi``, ``udl`` (septets or octets as sent),
    ``udh`` (raw header incl. UDHL), ``udh_ies`` (tuple of (iei, data)), ``concat``
    ((ref, total, seq) or None), ``encoding`` ("GSM7", "UCS2", "8bit"), ``text`` (str,
    or hex for 8-bit), ``header_len``/``ud_len`` [octets] (TP header before the user data
    incl. UDL and UDH / user data after the UDH), ``raw``.
    """

    mti: int
    type: str
    direction: str
    raw: bytes
    mr: int | None = None
    oa: TpAddress | None = None
    da: TpAddress | None = None
    pid: int | None = None
    dcs: int | None = None
    scts: datetime | None = None
    scts_raw: bytes | None = None
    vpf: int | None = None
    vp: bytes | None = None
    udhi: int = 0
    udl: int | None = None
    udh: bytes = b""
    udh_ies: tuple = ()
    concat: tuple | None = None
    encoding: str | None = None
    text: str | None = None
    header_len: int = 0
    ud_len: int = 0
    fcs: int | None = None


@dataclass(frozen=True)
class RpMessage:
    """A decoded RP message (TS 24.011 7.3, 8.2).

    Attributes: ``mti`` (0..6), ``type`` ("RP-DATA", ...), ``link`` ("MS->N" / "N->MS"),
    ``direction`` ("MO" when sent by the MS, "MT" when sent to it), ``reference``,
    ``oa``/``da`` (:class:`TpAddress` or None when the length octet is 0),
    ``oa_len``/``da_len``/``ud_len`` (the length octets as sent), ``cause`` and
    ``cause_text`` (RP-ERROR), ``diagnostic``, ``user_data`` (the TPDU bytes),
    ``tpdu`` (:class:`Tpdu` or None), ``tp_error`` (why the TPDU did not decode),
    ``header_len`` [octets] (RP bytes before the TPDU), ``raw``.
    """

    mti: int
    type: str
    link: str
    direction: str
    reference: int
    raw: bytes
    oa: TpAddress | None = None
    da: TpAddress | None = None
    oa_len: int | None = None
    da_len: int | None = None
    ud_len: int | None = None
    cause: int | None = None
    cause_text: str | None = None
    diagnostic: bytes = b""
    user_data: bytes = b""
    tpdu: Tpdu | None = None
    tp_error: str | None = None
    header_len: int = 0


# ---------------------------------------------------------------- addresses

def _bcd(data: bytes) -> str:
    """Swapped-nibble BCD digits, filler 0xF dropped (TS 24.008 10.5.4.7)."""
    out = []
    for octet in data:
        for nib in (octet & 0xF, octet >> 4):
            if nib != 0xF:
                out.append(_BCD[nib])
    return "".join(out)


def _rp_address(value: bytes) -> TpAddress | None:
    """RP-OA / RP-DA value (TON/NPI octet + BCD) or None when empty (TS 24.011 8.2.5.1)."""
    if not value:
        return None
    return TpAddress((value[0] >> 4) & 7, value[0] & 0xF, _bcd(value[1:]), len(value), value)


def _tp_address(elt) -> TpAddress:
    """A pycrate TP_OA/TP_DA/TP_RA element as a TpAddress (TS 23.040 9.1.2.5)."""
    ton, npi = elt["Type"].get_val(), elt["NumberingPlan"].get_val()
    num = elt["Num"]
    digits = num.decode() if ton == 5 else _bcd(num.get_val())
    return TpAddress(ton, npi, digits, elt["Len"].get_val(), elt.to_bytes())


# ---------------------------------------------------------------- RP layer

def _take_lv(data: bytes, pos: int, name: str) -> tuple[bytes, int]:
    """One length-value field at `pos`; DecodeError when the length overruns the body."""
    if pos >= len(data):
        raise DecodeError(f"RP message truncated: {name} length octet missing at octet {pos}")
    n = data[pos]
    if pos + 1 + n > len(data):
        raise DecodeError(f"{name} length {n} overruns the RP message "
                          f"({len(data) - pos - 1} octets left at octet {pos})")
    return data[pos + 1:pos + 1 + n], pos + 1 + n


def _rp_layout(data: bytes) -> dict:
    """Walk the RP fields (TS 24.011 7.3) checking every length; the TPDU is not decoded."""
    if len(data) < 2:
        raise DecodeError(f"RP message truncated: {len(data)} octet(s), at least 2 needed")
    mti = data[0] & 7
    if data[0] & 0xF8:
        raise DecodeError(f"RP message type octet 0x{data[0]:02x} has its spare bits 4-8 set: "
                          "not an RP message (TS 24.011 8.2.2)")
    if mti not in RP_TYPES:
        raise DecodeError(f"unknown RP message type {mti} (octet 1 = 0x{data[0]:02x})")
    out = {"mti": mti, "reference": data[1], "pos_ud": None}
    pos = 2
    if mti in (0, 1):
        oa, pos = _take_lv(data, pos, "RP-OA")
        da, pos = _take_lv(data, pos, "RP-DA")
        out.update(oa=oa, da=da, pos_ud=pos + 1)
        ud, pos = _take_lv(data, pos, "RP-User-Data")
        out["ud"] = ud
    elif mti in (4, 5):
        cause, pos = _take_lv(data, pos, "RP-Cause")
        if not cause:
            raise DecodeError("RP-Cause is empty (TS 24.011 8.2.5.4 needs at least 1 octet)")
        out["cause"] = cause
    if mti in (2, 3, 4, 5) and pos < len(data):
        if data[pos] != 0x41:
            raise DecodeError(f"unknown RP information element 0x{data[pos]:02x} at octet {pos}")
        out["pos_ud"] = pos + 2
        out["ud"], pos = _take_lv(data, pos + 1, "RP-User-Data")
    if pos != len(data):
        raise DecodeError(f"{len(data) - pos} octet(s) after the end of the {RP_TYPES[mti]}")
    return out


def _pycrate_rp(data: bytes, mti: int):
    """Decode with pycrate and check the byte-exact round trip."""
    msg = _rp.PPSMSRPTypeClasses[mti]()
    try:
        msg.from_bytes(data)
    except Exception as exc:  # pycrate raises its own error types
        raise DecodeError(f"RP message does not decode: {exc}") from None
    if msg.to_bytes() != data:
        raise DecodeError("RP message does not re-encode to the same bytes")
    return msg


def decode_rp(data: bytes, *, where: str | None = None) -> RpMessage:
    """Decode one RP message (the body of an ``application/vnd.3gpp.sms`` MESSAGE).

    Parameters
    ----------
    data : bytes
        RP message, TS 24.011 7.3 (octet 1 = message type, octet 2 = reference).
    where : str, optional
        Where it came from ("sms.pcap, frame 4"), used in error messages.

    Returns
    -------
    RpMessage
        The RP fields; ``tpdu`` holds the TPDU when it decodes, else ``tp_error`` says why.

    Raises
    ------
    DecodeError
        Truncated message, a length that overruns, an unknown type or trailing octets.

    References
    ----------
    3GPP TS 24.011 sections 7.3 (RP messages) and 8.2 (message type, reference,
    addresses, user data, cause); TS 24.341 section 7.3 (RP messages in SIP MESSAGE).

    Examples
    --------
    The MT RP-DATA of the bundled "iPhone" capture, octet by octet: 01 = RP-DATA N->MS,
    11 = reference 17, 07 + 91 21 20 55 05 01 f0 = RP-OA (international, E.164,
    swapped BCD 12025550100), 07 + ... = RP-DA 12025550143 (should be empty), 14 = 20
    octets of TPDU; the header is 2 + 8 + 8 + 1 = 19 octets:

    >>> from labkit import data
    >>> from labkit.sms import sms_sip_messages
    >>> body = sms_sip_messages(data.path("sms_mt_rpda_iphone")).body[0]
    >>> body.hex()
    '011107912120550501f007912120550541f314040b912120550581f700006230105000000a014b'
    >>> rp = decode_rp(body)
    >>> rp.type, rp.link, rp.reference, str(rp.oa), str(rp.da), rp.ud_len, rp.header_len
    ('RP-DATA', 'N->MS', 17, '12025550100', '12025550143', 20, 19)
    >>> rp.tpdu.type, str(rp.tpdu.oa), rp.tpdu.text
    ('SMS-DELIVER', '12025550187', 'K')
    """
    data = bytes(data)
    try:
        lay = _rp_layout(data)
        _pycrate_rp(data, lay["mti"])
    except DecodeError as exc:
        raise DecodeError(exc.what, where, "check the SIP body is a 3GPP TS 24.011 RP message") from None
    mti = lay["mti"]
    cause = lay.get("cause", b"")
    ud = lay.get("ud", b"")
    fields = dict(
        mti=mti, type=RP_TYPES[mti], link="MS->N" if mti % 2 == 0 else "N->MS",
        direction="MO" if mti % 2 == 0 else "MT", reference=lay["reference"], raw=data,
        user_data=ud, header_len=(lay["pos_ud"] if lay["pos_ud"] is not None else len(data)),
    )
    if mti in (0, 1):
        fields.update(oa=_rp_address(lay["oa"]), da=_rp_address(lay["da"]),
                      oa_len=len(lay["oa"]), da_len=len(lay["da"]), ud_len=len(ud))
    if cause:
        fields.update(cause=cause[0] & 0x7F, cause_text=RP_CAUSES.get(cause[0] & 0x7F, "unknown"),
                      diagnostic=cause[1:])
    if lay["pos_ud"] is not None and mti not in (0, 1):
        fields["ud_len"] = len(ud)
    tpdu, err = None, None
    if ud:
        try:
            tpdu = decode_tpdu(ud, direction=fields["direction"], rp_mti=mti)
        except DecodeError as exc:
            err = exc.what
    return RpMessage(**fields, tpdu=tpdu, tp_error=err)


def encode_rp(msg: RpMessage) -> bytes:
    """Bytes of an RpMessage (its fields re-encoded through pycrate, TS 24.011 7.3).

    Parameters
    ----------
    msg : RpMessage
        From :func:`decode_rp`.

    Returns
    -------
    bytes
        The RP message; equal to ``msg.raw`` (decoding already checked the round trip).

    References
    ----------
    3GPP TS 24.011 section 7.3 (RP message layouts).

    Examples
    --------
    >>> body = bytes.fromhex("050a0115")          # RP-ERROR N->MS, ref 10, cause 21
    >>> encode_rp(decode_rp(body)) == body
    True
    """
    return _pycrate_rp(msg.raw, msg.mti).to_bytes()


# ---------------------------------------------------------------- TP layer

def _tp_class(direction: str, mti: int, rp_mti: int | None):
    """pycrate class of a TPDU by direction and TP-MTI (TS 23.040 9.2.3.1)."""
    error = rp_mti in (4, 5)
    table = {("MT", 0): _tp.SMS_DELIVER, ("MT", 2): _tp.SMS_STATUS_REPORT,
             ("MO", 1): _tp.SMS_SUBMIT, ("MO", 2): _tp.SMS_COMMAND,
             ("MT", 1): _tp.SMS_SUBMIT_REPORT_RP_ERROR if error else _tp.SMS_SUBMIT_REPORT_RP_ACK,
             ("MO", 0): _tp.SMS_DELIVER_REPORT_RP_ERROR if error else _tp.SMS_DELIVER_REPORT_RP_ACK}
    if (direction, mti) not in table:
        raise DecodeError(f"TP-MTI {mti} is reserved ({direction} direction)")
    return table[(direction, mti)]


def _semi(octet: int) -> int:
    """Two swapped semi-octets as a number (TS 23.040 9.1.2.3): low nibble = tens."""
    return (octet & 0xF) * 10 + (octet >> 4)


def scts_timezone(octet: int) -> int:
    """Time zone octet of TP-SCTS [quarter hours], signed (TS 23.040 9.2.3.11).

    Semi-octets, bit 3 = sign; pycrate 0.8 reads it as binary, which is wrong above
    9 quarters (tshark and the spec agree on BCD), so labkit decodes it itself.

    Parameters
    ----------
    octet : int
        The seventh TP-SCTS octet (0..255).

    Returns
    -------
    int
        Offset from UTC [quarter hours], negative west of Greenwich.

    References
    ----------
    3GPP TS 23.040 section 9.2.3.11 (TP-Service-Centre-Time-Stamp, time zone).

    Examples
    --------
    0x0a: tens 2 (low nibble, sign bit 3 set), units 0 -> -20 quarters (-05:00);
    0x80: units 8 -> +8 (+02:00); 0x23: tens 3, units 2 -> +32 (+08:00), which a
    binary reading would get wrong:

    >>> scts_timezone(0x0a), scts_timezone(0x80), scts_timezone(0x23)
    (-20, 8, 32)
    """
    quarters = (octet & 0x7) * 10 + (octet >> 4)
    return -quarters if octet & 0x8 else quarters


def _tz_octet(quarters: int) -> int:
    """Inverse of :func:`scts_timezone`."""
    q = abs(quarters)
    return ((q % 10) << 4) | (q // 10 & 0x7) | (0x8 if quarters < 0 else 0)


def _scts(raw: bytes) -> datetime | None:
    """TP-SCTS as an aware datetime (TS 23.040 9.2.3.11); None if the digits are not a date."""
    try:
        y, mo, d, h, mi, s = (_semi(o) for o in raw[:6])
        tz = timezone(timedelta(minutes=15 * scts_timezone(raw[6])))
        return datetime(2000 + y, mo, d, h, mi, s, tzinfo=tz)
    except (ValueError, TypeError, IndexError):
        return None


def _encoding(dcs: int | None) -> str:
    """Character set of the user data from TP-DCS (TS 23.038 4), as pycrate decodes it."""
    if dcs is None:
        return "GSM7"
    grp, cs = dcs >> 4, (dcs >> 2) & 3
    if grp in (0, 1, 4, 5, 15):
        return {0: "GSM7", 2: "UCS2"}.get(cs, "8bit")
    if grp in (12, 13) and cs in (0, 2):
        return "GSM7"
    return "UCS2" if grp == 14 and cs in (0, 2) else "8bit"


def _udh_fields(tp) -> tuple[bytes, tuple, tuple | None]:
    """Raw UDH, its IEs and the concatenation (ref, total, seq) (TS 23.040 9.2.3.24)."""
    ud = _field(tp, "TP_UD")
    if ud is None or ud["UDH"].get_trans():
        return b"", (), None
    raw = ud["UDH"].to_bytes()
    ies, pos, concat = [], 1, None
    while pos + 2 <= len(raw):
        iei, n = raw[pos], raw[pos + 1]
        val = raw[pos + 2:pos + 2 + n]
        ies.append((iei, val))
        if iei == 0 and n == 3:
            concat = (val[0], val[1], val[2])
        elif iei == 8 and n == 4:
            concat = ((val[0] << 8) | val[1], val[2], val[3])
        pos += 2 + n
    return raw, tuple(ies), concat


def _udh_septets(ud) -> int:
    """Septets taken by the UDH incl. its fill bits (TS 23.040 9.2.3.24), 0 without UDH."""
    if ud["UDH"].get_trans():
        return 0
    return ((ud["UDH"][0].get_val() + 1) * 8 + 6) // 7


def gsm7_unpack(data: bytes, septets: int, fill_bits: int = 0) -> str:
    """GSM 7-bit default alphabet text of exactly `septets` septets (TS 23.038 6.1.2.1, 6.2.1).

    Packing is LSB first after `fill_bits`; escape 0x1B selects the extension table.
    Unlike pycrate's decoder, the count comes from TP-UDL, so a final '@' or CR that is
    part of the message is kept (tshark does the same).

    Parameters
    ----------
    data : bytes
        The packed user data (after the UDH, when there is one).
    septets : int
        Number of septets to read [septets] (TP-UDL minus the UDH's septets).
    fill_bits : int
        Bits to skip before the first septet [bits] (0..6, after a UDH).

    Returns
    -------
    str
        The text; an escape to an undefined extension code gives a space.

    References
    ----------
    3GPP TS 23.038 sections 6.1.2.1 (packing of 7-bit characters) and 6.2.1 (default
    alphabet and extension table); TS 23.040 section 9.2.3.24 (fill bits after a UDH).

    Examples
    --------
    "hellohello": 10 septets * 7 = 70 bits, packed LSB first into 9 octets:

    >>> gsm7_unpack(bytes.fromhex("e8329bfd4697d9ec37"), 10)
    'hellohello'
    >>> gsm7_unpack(b"\\x4b", 1)
    'K'
    """
    bits = int.from_bytes(data, "little") >> fill_bits
    out, escape = [], False
    for i in range(septets):
        v = (bits >> (7 * i)) & 0x7F
        if escape:
            out.append(_GSM7_EXT.get(v, " "))
            escape = False
        elif v == 0x1B:
            escape = True
        else:
            out.append(_GSM7[v])
    return "".join(out)


def _tp_text(tp, encoding: str) -> tuple[str | None, int]:
    """Decoded text (hex for 8-bit) and the user-data octets after the UDH."""
    ud = _field(tp, "TP_UD")
    if ud is None:
        return None, 0
    raw = ud["UD"].get_val()
    if encoding == "GSM7":
        udh = _udh_septets(ud)
        fill = udh * 7 - (ud["UDH"][0].get_val() + 1) * 8 if udh else 0
        return gsm7_unpack(raw, max(ud["UDL"].get_val() - udh, 0), fill), len(raw)
    if encoding == "UCS2":
        try:
            return raw[:len(raw) & ~1].decode("utf-16-be"), len(raw)
        except UnicodeDecodeError:
            raise DecodeError("TP user data is not valid UCS2 (UTF-16 big endian)") from None
    return raw.hex(), len(raw)


def _field(tp, name: str):
    """Value of a pycrate field, or None when absent/transparent."""
    if name not in tp._by_name:
        return None
    elt = tp[name]
    return None if elt.get_trans() else elt


def decode_tpdu(data: bytes, *, direction: str = "MT", rp_mti: int | None = None,
                where: str | None = None) -> Tpdu:
    """Decode one TPDU (TS 23.040 9.2.2).

    Parameters
    ----------
    data : bytes
        The TPDU (RP-User-Data value).
    direction : {"MT", "MO"}
        "MT" for network to MS (DELIVER, SUBMIT-REPORT, STATUS-REPORT), "MO" for MS to
        network (SUBMIT, DELIVER-REPORT, COMMAND): the TP-MTI means different types.
    rp_mti : int, optional
        RP message type that carried it (4/5 select the RP-ERROR report layouts).
    where : str, optional
        For error messages.

    Returns
    -------
    Tpdu
        The TP fields; `text` decoded per TP-DCS, `header_len`/`ud_len` [octets].

    Raises
    ------
    DecodeError
        Reserved TP-MTI, truncated TPDU, TP-UDL overrunning, octets left over, or a
        TPDU that does not re-encode to the same bytes.

    References
    ----------
    3GPP TS 23.040 sections 9.2.2 (TPDU layouts) and 9.2.3 (TP-MTI, TP-OA, TP-PID,
    TP-DCS, TP-SCTS, TP-UDL, TP-UD); TS 23.038 section 4 (data coding scheme).

    Examples
    --------
    The TPDU of the bundled "iPhone" RP-DATA: 04 = SMS-DELIVER (TP-MTI 0, TP-MMS),
    0b 91 21 20 55 05 81 f7 = TP-OA (11 digits, 12025550187), PID 00, DCS 00 (GSM
    7-bit), SCTS 62 30 10 50 00 00 0a = 26-03-01 05:00:00, time zone 0x0a = -20
    quarter hours = -05:00, UDL 1, UD 4b = "K":

    >>> t = decode_tpdu(bytes.fromhex("040b912120550581f700006230105000000a014b"))
    >>> t.type, t.direction, str(t.oa), t.dcs, t.encoding, t.udl, t.text
    ('SMS-DELIVER', 'MT', '12025550187', 0, 'GSM7', 1, 'K')
    >>> t.scts.isoformat(), t.header_len, t.ud_len
    ('2026-03-01T05:00:00-05:00', 19, 1)
    """
    data = bytes(data)
    if not data:
        raise DecodeError("empty TPDU", where)
    mti = data[0] & 3
    try:
        tp = _tp_class(direction, mti, rp_mti)()
        tp.from_bytes(data)
    except DecodeError as exc:
        raise DecodeError(exc.what, where) from None
    except Exception:
        hint = " (TP-UDHI is set: the first user-data octet is read as a UDH length)" \
            if data[0] & 0x40 else ""
        raise DecodeError(f"{_TP_NAMES.get((direction, mti), 'TPDU')} truncated or a length "
                          f"overruns its {len(data)} octets{hint}", where,
                          "check TP-UDL and the address lengths against the RP-User-Data length") from None
    enc = tp.to_bytes()
    if enc != data:
        extra = len(data) - len(enc)
        what = (f"{extra} octet(s) after the end of the TPDU (TP-UDL shorter than the user data)"
                if extra > 0 and data.startswith(enc) else "TPDU does not re-encode to the same bytes")
        raise DecodeError(what, where)
    _check_udl(tp, where)
    try:
        return _tpdu_from(tp, data, direction, mti)
    except DecodeError as exc:
        raise DecodeError(exc.what, where) from None
    except Exception as exc:  # a pycrate field we could not read: say so, never a traceback
        raise DecodeError(f"{_TP_NAMES[(direction, mti)]} fields could not be read ({exc})", where) from None


def _check_udl(tp, where: str | None) -> None:
    """TP-UDL must fit the octets present (TS 23.040 9.2.3.16): septets for GSM 7-bit."""
    ud = _field(tp, "TP_UD")
    if ud is None:
        return
    udl, present = ud["UDL"].get_val(), len(ud.to_bytes()) - 1
    dcs = _field(tp, "TP_DCS")
    need = (udl * 7 + 7) // 8 if _encoding(dcs.to_bytes()[0] if dcs is not None else None) == "GSM7" else udl
    if need > present:
        raise DecodeError(f"TP-UDL {udl} needs {need} octets of user data, only {present} present",
                          where, "the TPDU is truncated or TP-UDL is wrong")


def _tpdu_from(tp, data: bytes, direction: str, mti: int) -> Tpdu:
    """Build the Tpdu dataclass from a decoded pycrate element."""
    dcs_elt, pid_elt = _field(tp, "TP_DCS"), _field(tp, "TP_PID")
    dcs = dcs_elt.to_bytes()[0] if dcs_elt is not None else None
    encoding = _encoding(dcs)
    udh, ies, concat = _udh_fields(tp)
    text, ud_len = _tp_text(tp, encoding)
    ud = _field(tp, "TP_UD")
    scts = _field(tp, "TP_SCTS")
    vpf = tp["TP_VPF"].get_val() if direction == "MO" and mti == 1 else None
    vp = tp[{2: 10, 3: 11, 1: 12}[vpf]].to_bytes() if vpf else None
    return Tpdu(
        mti=mti, type=_TP_NAMES[(direction, mti)], direction=direction, raw=data,
        mr=_val(tp, "TP_MR"), oa=_addr(tp, "TP_OA"), da=_addr(tp, "TP_DA") or _addr(tp, "TP_RA"),
        pid=pid_elt.to_bytes()[0] if pid_elt is not None else None, dcs=dcs,
        scts=_scts(scts.to_bytes()) if scts is not None else None,
        scts_raw=scts.to_bytes() if scts is not None else None, vpf=vpf, vp=vp,
        udhi=_val(tp, "TP_UDHI") or 0, udl=ud["UDL"].get_val() if ud is not None else None,
        udh=udh, udh_ies=ies, concat=concat, encoding=encoding if ud is not None else None,
        text=text, header_len=len(data) - ud_len, ud_len=ud_len, fcs=_val(tp, "TP_FCS"),
    )


def _val(tp, name: str):
    elt = _field(tp, name)
    return elt.get_val() if elt is not None else None


def _addr(tp, name: str) -> TpAddress | None:
    elt = _field(tp, name)
    return _tp_address(elt) if elt is not None else None


# ---------------------------------------------------------------- encoders

def _set_tp_address(elt, digits: str, ton: int = 1, npi: int = 1) -> None:
    elt.set_val({"Type": ton, "NumberingPlan": npi, "Num": digits})


def _set_ud(tp, text: str | bytes, dcs: int, concat: tuple | None) -> None:
    """Set TP-DCS, the optional concatenation UDH (IEI 0, TS 23.040 9.2.3.24.1) and the text."""
    tp["TP_DCS"].from_bytes(bytes([dcs]))
    if concat is not None:
        tp["TP_UDHI"].set_val(1)
        tp["TP_UD"]["UDH"]["UDH"].set_val([{"T": 0, "V": {"MsgRef": concat[0],
                                                              "MsgParts": concat[1], "MsgNum": concat[2]}}])
    ud = tp["TP_UD"]["UD"]
    ud.set_val(text) if isinstance(text, bytes) else ud.encode(text)
    if isinstance(text, str) and _encoding(dcs) == "GSM7":
        # TP-UDL counts the message's septets; pycrate also counts the CR it pads with
        # when 7 bits are left over (TS 23.038 6.1.2.3.1), which the receiver would show
        septets = _encode_7b(text)[1]
        tp["TP_UD"]["UDL"].set_val(_udh_septets(tp["TP_UD"]) + septets)


def encode_deliver(oa: str, text: str | bytes, scts: datetime, *, dcs: int = 0, pid: int = 0,
                   concat: tuple | None = None, oa_ton: int = 1, mms: int = 1) -> bytes:
    """SMS-DELIVER TPDU (TS 23.040 9.2.2.1).

    Parameters
    ----------
    oa : str
        Originating address digits.
    text : str or bytes
        The message; bytes are 8-bit data.
    scts : datetime
        Aware service-centre time stamp; its UTC offset [quarter hours] is encoded.
    dcs, pid : int
        TP-DCS (0 GSM 7-bit, 8 UCS2, 4 8-bit) and TP-PID octets.
    concat : (ref, total, seq), optional
        Adds the 8-bit-reference concatenation UDH.
    oa_ton : int
        Type of number of TP-OA (1 international, 5 alphanumeric...).
    mms : int
        TP-MMS bit (1 = no more messages waiting).

    Returns
    -------
    bytes
        The TPDU.

    References
    ----------
    3GPP TS 23.040 sections 9.2.2.1 (SMS-DELIVER), 9.2.3.11 (TP-SCTS), 9.2.3.24.1
    (concatenation, 8-bit reference); TS 23.038 section 6.1.2.1 (7-bit packing).

    Examples
    --------
    The TPDU :func:`decode_tpdu` takes apart octet by octet:

    >>> from datetime import datetime, timedelta, timezone
    >>> encode_deliver("12025550187", "K",
    ...                datetime(2026, 3, 1, 5, 0, tzinfo=timezone(timedelta(hours=-5)))).hex()
    '040b912120550581f700006230105000000a014b'
    """
    tp = _tp.SMS_DELIVER()
    tp["TP_MMS"].set_val(mms)
    _set_tp_address(tp["TP_OA"], oa, oa_ton)
    tp["TP_PID"].from_bytes(bytes([pid]))
    offset = scts.utcoffset() or timedelta(0)
    tp["TP_SCTS"].encode(scts.timetuple(), 0.0)
    tp["TP_SCTS"]["TZ"].from_bytes(bytes([_tz_octet(round(offset.total_seconds() / 900))]))
    _set_ud(tp, text, dcs, concat)
    return tp.to_bytes()


def encode_submit(da: str, text: str | bytes, *, mr: int = 0, dcs: int = 0, pid: int = 0,
                  vp: int | None = 167, concat: tuple | None = None) -> bytes:
    """SMS-SUBMIT TPDU (TS 23.040 9.2.2.2), relative validity period `vp` (167 = 1 day).

    Parameters
    ----------
    da : str
        Destination address digits (international, E.164).
    text : str or bytes
        The message; bytes are 8-bit data.
    mr : int
        TP-MR, message reference (0..255).
    dcs, pid : int
        TP-DCS (0 GSM 7-bit, 8 UCS2, 4 8-bit) and TP-PID octets.
    vp : int or None
        Relative TP-VP octet (167 -> 12 h + (167 - 143) * 30 min = 24 h); None: no
        validity period (TP-VPF 0).
    concat : (ref, total, seq), optional
        Adds the 8-bit-reference concatenation UDH.

    Returns
    -------
    bytes
        The TPDU.

    References
    ----------
    3GPP TS 23.040 sections 9.2.2.2 (SMS-SUBMIT), 9.2.3.3 (TP-VPF), 9.2.3.12.1
    (relative TP-VP), 9.2.3.6 (TP-MR).

    Examples
    --------
    11 = SMS-SUBMIT with TP-VPF relative, 09 = TP-MR 9, 0b 91 ... = TP-DA, PID and
    DCS 00, a7 = TP-VP 1 day, UDL 01, 4b = "K" (the bundled MO "K" message's TPDU):

    >>> encode_submit("12025550187", "K", mr=9).hex()
    '11090b912120550581f70000a7014b'
    """
    tp = _tp.SMS_SUBMIT()
    tp["TP_MR"].set_val(mr)
    if vp is not None:
        tp["TP_VPF"].set_val(2)
        tp[10].set_val(vp)
    _set_tp_address(tp["TP_DA"], da)
    tp["TP_PID"].from_bytes(bytes([pid]))
    _set_ud(tp, text, dcs, concat)
    return tp.to_bytes()


def _address_value(digits: str | None, ton: int = 1, npi: int = 1) -> bytes:
    """RP address value: TON/NPI octet + swapped BCD (TS 24.011 8.2.5.1); b'' for None."""
    if not digits:
        return b""
    nibbles = [_BCD.index(c) for c in digits.lower()] + ([0xF] if len(digits) % 2 else [])
    return bytes([0x80 | ton << 4 | npi]) + bytes(nibbles[i] | nibbles[i + 1] << 4
                                                  for i in range(0, len(nibbles), 2))


def encode_rp_data(reference: int, tpdu: bytes, *, mt: bool, oa: str | None = None,
                   da: str | None = None) -> bytes:
    """RP-DATA (TS 24.011 7.3.1): MT (N->MS) carries RP-OA = SC and empty RP-DA; MO the reverse.

    The addresses are written as given, so a wrong MT RP-DATA (RP-DA set) can be built too.

    Parameters
    ----------
    reference : int
        RP-Message Reference (0..255).
    tpdu : bytes
        RP-User-Data value (an SMS-DELIVER for MT, an SMS-SUBMIT for MO).
    mt : bool
        Network to MS (RP-MTI 1), else MS to network (RP-MTI 0).
    oa, da : str, optional
        RP-OA / RP-DA digits (international, E.164); None = length 0.

    Returns
    -------
    bytes
        The RP-DATA message.

    References
    ----------
    3GPP TS 24.011 sections 7.3.1.1, 7.3.1.2 (RP-DATA both ways) and 8.2.5.1, 8.2.5.2
    (RP-OA, RP-DA; length 0 where the direction wants them empty).

    Examples
    --------
    The bundled MO "K" message: RP-MTI 00, ref 09, RP-OA length 00, RP-DA = the
    service centre 12025550100, 0f = 15 octets of SMS-SUBMIT:

    >>> from labkit import data
    >>> from labkit.sms import sms_sip_messages
    >>> rp = encode_rp_data(9, encode_submit("12025550187", "K", mr=9), mt=False,
    ...                     da="12025550100")
    >>> rp.hex()
    '00090007912120550501f00f11090b912120550581f70000a7014b'
    >>> rp == sms_sip_messages(data.path("sms_mo_submit")).body[0]
    True
    """
    oa_v, da_v = _address_value(oa), _address_value(da)
    data = bytes([1 if mt else 0, reference, len(oa_v)]) + oa_v + bytes([len(da_v)]) + da_v
    data += bytes([len(tpdu)]) + tpdu
    return _pycrate_rp(data, 1 if mt else 0).to_bytes()


def encode_rp_ack(reference: int, *, from_ms: bool, tpdu: bytes = b"") -> bytes:
    """RP-ACK (TS 24.011 7.3.3), optional RP-User-Data IE 0x41 with a report TPDU.

    Parameters
    ----------
    reference : int
        RP-Message Reference of the RP-DATA it acknowledges (0..255).
    from_ms : bool
        Sent by the MS (RP-MTI 2), else by the network (RP-MTI 3).
    tpdu : bytes
        Optional SMS-DELIVER-REPORT / SMS-SUBMIT-REPORT; empty = no RP-User-Data.

    Returns
    -------
    bytes
        The RP-ACK message.

    References
    ----------
    3GPP TS 24.011 sections 7.3.3 (RP-ACK) and 8.2.5.3 (RP-User-Data IEI 0x41).

    Examples
    --------
    The network's RP-ACK to the bundled MO "K" message (ref 9):

    >>> encode_rp_ack(9, from_ms=False).hex()
    '0309'
    >>> decode_rp(encode_rp_ack(9, from_ms=True)).link
    'MS->N'
    """
    mti = 2 if from_ms else 3
    data = bytes([mti, reference]) + (bytes([0x41, len(tpdu)]) + tpdu if tpdu else b"")
    return _pycrate_rp(data, mti).to_bytes()


def encode_rp_error(reference: int, cause: int, *, from_ms: bool, tpdu: bytes = b"") -> bytes:
    """RP-ERROR (TS 24.011 7.3.4) with a one-octet RP-Cause (table 8.4).

    Parameters
    ----------
    reference : int
        RP-Message Reference of the RP-DATA it answers (0..255).
    cause : int
        RP-Cause value (TS 24.011 table 8.4, 7 bits; 21 = short message transfer
        rejected).
    from_ms : bool
        Sent by the MS (RP-MTI 4), else by the network (RP-MTI 5).
    tpdu : bytes
        Optional report TPDU; empty = no RP-User-Data.

    Returns
    -------
    bytes
        The RP-ERROR message.

    References
    ----------
    3GPP TS 24.011 sections 7.3.4 (RP-ERROR) and 8.2.5.4 (RP-Cause, table 8.4).

    Examples
    --------
    05 = RP-ERROR N->MS, 0a = ref 10, 01 = cause length, 15 = cause 21 (the bundled
    sms_rp_error capture's answer):

    >>> encode_rp_error(10, 21, from_ms=False).hex()
    '050a0115'
    >>> decode_rp(encode_rp_error(10, 21, from_ms=False)).cause_text
    'Short message transfer rejected'
    """
    mti = 4 if from_ms else 5
    data = bytes([mti, reference, 1, cause & 0x7F])
    data += bytes([0x41, len(tpdu)]) + tpdu if tpdu else b""
    return _pycrate_rp(data, mti).to_bytes()


def fix_rp_destination(rp: bytes, *, where: str | None = None) -> bytes:
    """The MT RP-DATA with RP-DA emptied (length 0), everything else unchanged.

    TS 24.011 8.2.5.2: in the network-to-MS direction RP-Destination Address is present
    with length 0. Some UEs (iPhone) answer 200 OK to an MT RP-DATA with a populated
    RP-DA, but never deliver it to the user.

    Parameters
    ----------
    rp : bytes
        An MT RP-DATA message (RP-MTI 1).
    where : str, optional
        Where it came from, for error messages.

    Returns
    -------
    bytes
        The same message with the RP-DA length octet 0 and its value removed.

    Raises
    ------
    DecodeError
        When `rp` is not an RP-DATA N->MS message.

    References
    ----------
    3GPP TS 24.011 section 8.2.5.2 (RP-Destination Address: length 0 network to MS);
    TS 24.341 annex B.5.

    Examples
    --------
    The 8 RP-DA octets (07 91 21 20 55 05 41 f3) become one 00; the result is the body
    of the bundled "fixed" capture, to which the UE answers with an RP-ACK:

    >>> from labkit import data
    >>> from labkit.sms import sms_sip_messages
    >>> bad = sms_sip_messages(data.path("sms_mt_rpda_iphone")).body[0]
    >>> fixed = fix_rp_destination(bad)
    >>> len(bad) - len(fixed), decode_rp(fixed).da_len, decode_rp(fixed).da
    (7, 0, None)
    >>> fixed == sms_sip_messages(data.path("sms_mt_rpda_fixed")).body[0]
    True
    """
    msg = decode_rp(rp, where=where)
    if msg.mti != 1:
        raise DecodeError(f"{msg.type} {msg.link} has no MT RP-DA to fix", where,
                          "only RP-DATA network-to-MS (RP-MTI 1) is fixed")
    oa_end = 3 + msg.oa_len
    fixed = rp[:oa_end] + b"\x00" + rp[oa_end + 1 + msg.da_len:]
    return _pycrate_rp(fixed, 1).to_bytes()


def is_sms_content_type(ctype) -> bool:
    """True when `ctype` names the SMS body, also when not written exactly.

    Parameters
    ----------
    ctype : str or None
        A Content-Type header value.

    Returns
    -------
    bool
        True for ``application/vnd.3gpp.sms`` in any case, with or without parameters.

    References
    ----------
    3GPP TS 24.341 section 7.3.1 (the MIME type of SMS in SIP).

    Examples
    --------
    >>> is_sms_content_type("Application/Vnd.3gpp.SMS; charset=x")
    True
    >>> is_sms_content_type("text/plain")
    False
    """
    return isinstance(ctype, str) and ctype.split(";")[0].strip().lower() == SMS_CONTENT_TYPE

