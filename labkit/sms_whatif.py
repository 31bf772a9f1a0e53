"""What-if rows for :mod:`labkit.overhead`: a captured SMS MESSAGE rebuilt with
labkit.frames under other conditions, every row measured with
:func:`labkit.overhead.frame_layers` from the bytes built (re-exported as
``labkit.overhead.what_if``)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from labkit.overhead import LAYERS, efficiency, frame_layers, layer_table

__all__ = ["what_if"]

_V6 = {"ue": "2001:db8:45::2", "pcscf": "2001:db8:22::21"}
_USSD_XML = ('<?xml version="1.0" encoding="UTF-8"?>\r\n<ussd-data>\r\n<language>en</language>\r\n'
             '<UssdString>{}</UssdString>\r\n</ussd-data>\r\n')


@dataclass(frozen=True)
class _Base:
    """What a captured frame tells us to rebuild it: addresses, ports, tunnel, ESP, SIP."""

    src: str
    dst: str
    sport: int
    dport: int
    gtp: dict | None
    esp: dict | None
    sip_head: bytes
    rp: object


def _base(frame: bytes, linktype: int) -> _Base:
    from labkit.sms import decode_rp
    layers = frame_layers(frame, linktype)
    by = {l.name: l for l in layers}
    ip, tr = by["inner_ip"].info, by["transport"].info
    gtp = None
    if "gtpu" in by:
        g, o = by["gtpu"].info, by["outer_ip"].info
        gtp = {"teid": g["teid"], "seq": g["seq"], "npdu": g["npdu"], "outer_src": o["src"],
               "outer_dst": o["dst"]}
    esp = None
    if "esp_header" in by:
        esp = {"spi": by["esp_header"].info["spi"], "seq": by["esp_header"].info["seq"],
               "icv_len": by["esp_icv"].length}
    start = by["sip_start_line"].offset
    sip = frame[start:by["transport"].offset + tr["length"]]
    head, _, body = sip.partition(b"\r\n\r\n")
    return _Base(ip["src"], ip["dst"], tr["sport"], tr["dport"], gtp, esp, head, decode_rp(body))


def _frame(base: _Base, body: bytes, *, v6: bool = False, ipsec: bool = True,
           head: bytes | None = None) -> bytes:
    from labkit import frames as fb
    from labkit.smsip import fixed_sip_message
    head = head if head is not None else base.sip_head
    src, dst = base.src, base.dst
    if v6:
        ue_is_src = src.startswith("10.")
        mapping = {base.src: _V6["ue" if ue_is_src else "pcscf"], base.dst: _V6["pcscf" if ue_is_src else "ue"]}
        for v4, v6addr in mapping.items():
            head = head.replace(v4.encode(), f"[{v6addr}]".encode())
        src, dst = mapping[base.src], mapping[base.dst]
    sip = fixed_sip_message(head + b"\r\n\r\n", body)
    return fb.udp_frame(sip, src, dst, base.sport, base.dport, gtp=base.gtp,
                        esp=base.esp if ipsec else None)


def _rp_with(base: _Base, tpdu: bytes) -> bytes:
    from labkit.sms import encode_rp_data
    rp = base.rp
    return encode_rp_data(rp.reference, tpdu, mt=rp.mti == 1, oa=rp.oa.digits if rp.oa else None,
                          da=rp.da.digits if rp.da else None)


def _submit(base: _Base, text: str, **kw) -> bytes:
    from labkit.sms import encode_submit
    tp = base.rp.tpdu
    return _rp_with(base, encode_submit(tp.da.digits, text, mr=tp.mr or 0, **kw))


def _row(scenario: str, frames_: list[bytes], *, user_data: int | None = None) -> dict:
    tables = [layer_table(frame_layers(f)) for f in frames_]
    counts = {c: sum(t[c] for t in tables) for c in LAYERS}
    if user_data is not None:  # USSD: the string inside the XML body
        counts["other"] -= user_data
        counts["user_data"] += user_data
    total = sum(len(f) for f in frames_)
    return dict(scenario=scenario, frames=len(frames_), **counts, total=total,
                efficiency=round(efficiency(counts["user_data"], total), 3))


def what_if(mo_frame: bytes, mt_frame: bytes | None = None, *, linktype: int = 1) -> pd.DataFrame:
    """The captured MO SMS rebuilt under other conditions, every row measured from bytes.

    Parameters
    ----------
    mo_frame : bytes
        A captured frame carrying an MO RP-DATA (SMS-SUBMIT) SIP MESSAGE over UDP.
    mt_frame : bytes, optional
        A captured network-to-UE SMS MESSAGE (e.g. the RP-ACK): its SIP headers and
        tunnel are used for the MT and RP-ACK rows.

    Returns
    -------
    pandas.DataFrame
        scenario, frames, one column per :data:`LAYERS` name, total [octets] and
        efficiency [%]. Rows: as captured, IPv6 inner IP, no IPsec, 160-character text,
        3-part concatenated (459 characters, 3 MESSAGEs), UCS2 text, MT direction (SMS-DELIVER
        with the MT headers), the RP-ACK, a USSD INFO (TS 24.390) with the same headers.
    """
    base = _base(mo_frame, linktype)
    body = base.rp.raw
    text = base.rp.tpdu.text if base.rp.tpdu else ""
    rows = [_row("as captured", [bytes(mo_frame)]),
            _row("IPv6 inner IP", [_frame(base, body, v6=True)]),
            _row("no IPsec (no ESP)", [_frame(base, body, ipsec=False)]),
            _row("160-character text", [_frame(base, _submit(base, ("K" * 160)))])]
    parts = [_frame(base, _submit(base, "K" * 153, concat=(7, 3, i + 1))) for i in range(3)]
    rows.append(_row("3-part concatenated (459 chars)", parts))
    rows.append(_row(f"UCS2 text ({text!r})", [_frame(base, _submit(base, text, dcs=8))]))
    if mt_frame is not None:
        rows += _mt_rows(base, _base(mt_frame, linktype), mt_frame, text)
    rows.append(_ussd_row(base))
    return pd.DataFrame(rows, columns=["scenario", "frames", *LAYERS, "total", "efficiency"])


def _mt_rows(mo: _Base, mt: _Base, mt_frame: bytes, text: str) -> list[dict]:
    from datetime import datetime, timezone
    from labkit.sms import encode_deliver, encode_rp_data
    sc = mo.rp.da.digits if mo.rp.da else "0"
    peer = mo.rp.tpdu.da.digits if mo.rp.tpdu and mo.rp.tpdu.da else "0"
    scts = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)
    rp = encode_rp_data(mo.rp.reference, encode_deliver(peer, text, scts), mt=True, oa=sc)
    return [_row("MT direction (SMS-DELIVER)", [_frame(mt, rp)]),
            _row(f"{mt.rp.type} {mt.rp.link} as captured", [bytes(mt_frame)])]


def _ussd_row(base: _Base) -> dict:
    lines = base.sip_head.split(b"\r\n")
    uri = lines[0].split(b" ")[1]
    out = [b"INFO " + uri + b" SIP/2.0"]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"cseq":
            line = b"CSeq: 2 INFO"
        elif name == b"content-type":
            line = b"Content-Type: application/vnd.3gpp.ussd+xml"
        out.append(line)
    out.insert(len(out) - 1, b"Info-Package: g.3gpp.ussd")
    ussd = "*100#"
    body = _USSD_XML.format(ussd).encode()
    return _row("USSD INFO (*100#, TS 24.390)", [_frame(base, body, head=b"\r\n".join(out))],
                user_data=len(ussd))
