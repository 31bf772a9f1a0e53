"""The HA1 the HSS gave the S-CSCF: Cx Multimedia-Auth-Answer with SIP Digest (TS 29.229).

For subscribers authenticated with SIP Digest (3GPP TS 33.203 Annex N), the S-CSCF asks
the HSS with a Multimedia-Auth-Request (command 303, Cx application 16777216) and the
answer carries SIP-Auth-Data-Item (612, vendor 10415) with SIP-Authentication-Scheme
(608) "SIP Digest" and SIP-Digest-Authenticate (635, vendor 10415) holding the IETF AVPs
Digest-Realm (104), Digest-QoP (110), Digest-Algorithm (111) and Digest-HA1 (121) (TS
29.229 sections 6.3.13 and 6.3.36, RFC 4740). With that HA1, :mod:`labkit.sip.auth` can
check the UA's response without knowing the password. Diameter is read with pycrate from
TCP segments on port 3868 (one or more whole messages per segment).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cx_digest_ha1", "CX_COLUMNS", "DIAMETER_PORT"]

DIAMETER_PORT = 3868
CX_COLUMNS = ["frame", "user", "scheme", "realm", "qop", "algorithm", "ha1", "result_code"]
_MAA, _CX_APP = 303, 16777216


def cx_digest_ha1(packets_or_path) -> pd.DataFrame:
    """Every SIP-Digest-Authenticate in a Cx Multimedia-Auth-Answer of a capture.

    Parameters
    ----------
    packets_or_path : path or Packets
        A capture (Diameter over TCP port 3868) or its packets. A file is read chunk by
        chunk (:func:`labkit.capture.iter_capture`: bounded memory).

    Returns
    -------
    pandas.DataFrame
        frame, user (User-Name, the IMPI), scheme (SIP-Authentication-Scheme: "SIP
        Digest"; old FHoSS/OpenIMSCore write "Digest-MD5"), realm, qop, algorithm, ha1
        (hex text as sent), result_code (Result-Code, 2001 = DIAMETER_SUCCESS); one row
        per SIP-Auth-Data-Item holding a SIP-Digest-Authenticate.

    References
    ----------
    3GPP TS 29.229 sections 6.1.8 (MAA), 6.3.13 (SIP-Auth-Data-Item), 6.3.36
    (SIP-Digest-Authenticate); RFC 4740 (Digest AVPs); RFC 6733 section 4.1 (AVP format).

    Examples
    --------
    >>> from labkit import data
    >>> cx = cx_digest_ha1(data.path("register_digest_cx_maa"))
    >>> cx.loc[0, "user"], cx.loc[0, "scheme"], cx.loc[0, "ha1"]
    ('carol@ims.lab.example', 'SIP Digest', '35ac8fabe9229db3078727515cad57af')
    """
    from labkit.capture import packet_chunks
    rows = [r for pk in packet_chunks(packets_or_path) for r in _rows(pk)]   # a file: chunked
    return pd.DataFrame(rows, columns=CX_COLUMNS)


def _rows(pk) -> list[dict]:
    """Cx MAA rows of the Diameter segments (TCP port 3868, 20+ bytes) among `pk`."""
    cand = np.flatnonzero((np.asarray(pk.proto) == 6) & (np.asarray(pk.payload_len) >= 20)
                          & ((np.asarray(pk.sport) == DIAMETER_PORT)
                             | (np.asarray(pk.dport) == DIAMETER_PORT)))
    return [{"frame": int(pk.frame[i]), **r} for i in cand.tolist()
            for r in _messages(bytes(pk.payload(i)))]


def _messages(buf: bytes) -> list[dict]:
    from pycrate_diameter.Diameter3GPP import Diameter3GPP
    out, pos = [], 0
    while len(buf) - pos >= 20 and buf[pos] == 1:
        length = int.from_bytes(buf[pos + 1:pos + 4], "big")
        if length < 20 or pos + length > len(buf):
            break
        msg = Diameter3GPP()
        try:
            msg.from_bytes(buf[pos:pos + length])
        except Exception:   # noqa: BLE001 - a damaged message is skipped, not fatal
            pos += length
            continue
        hdr = msg[0]
        if hdr["Cmd"].get_val() == _MAA and not hdr["R"].get_val() and \
                hdr["AppID"].get_val() == _CX_APP:
            out += _maa_rows(msg[1])
        pos += length
    return out


def _avps(seq) -> list[tuple[int, object]]:
    return [(a[0][0].get_val(), a[1]) for a in seq]


def _text(value) -> str:
    v = value.get_val()
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _maa_rows(avps) -> list[dict]:
    top = _avps(avps)
    user = next((_text(v) for c, v in top if c == 1), None)
    result = next((int(v.get_val()) for c, v in top if c == 268), None)
    rows = []
    for code, item in top:
        if code != 612:
            continue
        inner = _avps(item)
        scheme = next((_text(v) for c, v in inner if c == 608), None)
        for c, digest in inner:
            if c != 635:
                continue
            d = {k: _text(v) for k, v in _avps(digest)}
            rows.append({"user": user, "scheme": scheme, "realm": d.get(104), "qop": d.get(110),
                         "algorithm": d.get(111), "ha1": d.get(121), "result_code": result})
    return rows
