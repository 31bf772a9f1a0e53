"""What-if rows for :mod:`labkit.sms.overhead`: a captured SMS MESSAGE rebuilt with
labkit.capture.frames under other conditions, every row measured with
:func:`labkit.sms.overhead.frame_layers` from the bytes built (re-exported as
``labkit.sms.overhead.what_if``)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from labkit.sms.overhead import LAYERS, efficiency, frame_layers, layer_table

__all__ = ["what_if", "what_if_frames"]

_V6 = {"ue": "2001:db8:45::2", "pcscf": "2001:db8:22::21"}
_USSD_XML = ('<?xml version="1.0" encoding="UTF-8"?>\r\n<ussd-data>\r\n<language>en</language>\r\n'
             '<UssdString>{}</UssdString>\r\n</ussd-data>\r\n')


_LINKS = {1: "ether", 113: "sll", 276: "sll2", 0: "null", 101: "raw"}  # pcap LINKTYPE -> frames


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
    linktype: int


def _base(frame: bytes, linktype: int) -> _Base:
    from labkit.sms.pdu import decode_rp
    by = {l.name: l for l in frame_layers(frame, linktype)}
    ip, tr = by["inner_ip"].info, by["transport"].info
    gtp = None
    if "gtpu" in by:
        g, o = by["gtpu"].info, by["outer_ip"].info
        gtp = {"teid": g["teid"], "seq": g["seq"], "npdu": g["npdu"], "ext": g["ext"],
               "outer_src": o["src"], "outer_dst": o["dst"]}
    esp = None
    if "esp_header" in by:
        esp = {"spi": by["esp_header"].info["spi"], "seq": by["esp_header"].info["seq"],
               "icv_len": by["esp_icv"].length}
    sip = frame[by["sip_start_line"].offset:by["transport"].offset + tr["length"]]
    head, _, body = sip.partition(b"\r\n\r\n")
    link = linktype if linktype in _LINKS else 1
    return _Base(ip["src"], ip["dst"], tr["sport"], tr["dport"], gtp, esp, head, decode_rp(body), link)


def _frame(base: _Base, body: bytes, *, v6: bool = False, ipsec: bool = True,
           head: bytes | None = None) -> bytes:
    """The SIP message with `body` in the same tunnel/ESP/addressing as `base` (or IPv6)."""
    from labkit.capture import frames as fb
    from labkit.sms.smsip import fixed_sip_message
    head = head if head is not None else base.sip_head
    src, dst = base.src, base.dst
    if v6:  # the UE sends MS->N RP messages; its address is the source of those
        ue, net = (src, dst) if base.rp.link == "MS->N" else (dst, src)
        mapping = {ue: _V6["ue"], net: _V6["pcscf"]}
        for v4, v6addr in mapping.items():
            head = head.replace(v4.encode(), f"[{v6addr}]".encode())
        src, dst = mapping[src], mapping[dst]
    sip = fixed_sip_message(head + b"\r\n\r\n", body)
    return fb.udp_frame(sip, src, dst, base.sport, base.dport, gtp=base.gtp,
                        esp=base.esp if ipsec else None, link=_LINKS[base.linktype])


def _rp_with(base: _Base, tpdu: bytes) -> bytes:
    from labkit.sms.pdu import encode_rp_data
    rp = base.rp
    return encode_rp_data(rp.reference, tpdu, mt=rp.mti == 1, oa=rp.oa.digits if rp.oa else None,
                          da=rp.da.digits if rp.da else None)


def _submit(base: _Base, text: str, **kw) -> bytes:
    from labkit.sms.pdu import encode_submit
    tp = base.rp.tpdu
    return _rp_with(base, encode_submit(tp.da.digits, text, mr=tp.mr or 0, **kw))


def _row(scenario: str, frames_: list[bytes], linktype: int, user_data: int = 0) -> dict:
    tables = [layer_table(frame_layers(f, linktype)) for f in frames_]
    counts = {c: sum(t[c] for t in tables) for c in LAYERS}
    counts["other"] -= user_data  # USSD: the string inside the XML body is the user data
    counts["user_data"] += user_data
    total = sum(len(f) for f in frames_)
    return dict(scenario=scenario, frames=len(frames_), **counts, total=total,
                efficiency=round(efficiency(counts["user_data"], total), 3))


def what_if_frames(mo_frame: bytes, mt_frame: bytes | None = None, *,
                   linktype: int = 1) -> dict[str, tuple[list[bytes], int, int]]:
    """The frames behind :func:`what_if`: scenario -> (frames, linktype, user-data octets
    inside a non-SMS body), so that they can be written to a pcap and opened in Wireshark."""
    base = _base(mo_frame, linktype)
    body, lt = base.rp.raw, base.linktype
    text = base.rp.tpdu.text if base.rp.tpdu else ""
    out = {"as captured": ([bytes(mo_frame)], linktype, 0),
           "IPv6 inner IP": ([_frame(base, body, v6=True)], lt, 0),
           "no IPsec (no ESP)": ([_frame(base, body, ipsec=False)], lt, 0),
           "160-character text": ([_frame(base, _submit(base, "K" * 160))], lt, 0),
           "3-part concatenated (459 chars)":
               ([_frame(base, _submit(base, "K" * 153, concat=(7, 3, i + 1))) for i in range(3)], lt, 0),
           f"UCS2 text ({text!r})": ([_frame(base, _submit(base, text, dcs=8))], lt, 0)}
    if mt_frame is not None:
        out.update(_mt_frames(base, _base(mt_frame, linktype), mt_frame, text, linktype))
    ussd_frame, ussd_len = _ussd_frame(base)
    out["USSD INFO (*100#, TS 24.390)"] = ([ussd_frame], lt, ussd_len)
    return out


def what_if(mo_frame: bytes, mt_frame: bytes | None = None, *, linktype: int = 1) -> pd.DataFrame:
    """The captured MO SMS rebuilt under other conditions, every row measured from bytes.

    Parameters
    ----------
    mo_frame : bytes
        A captured frame carrying an MO RP-DATA (SMS-SUBMIT) SIP MESSAGE over UDP.
    mt_frame : bytes, optional
        A captured network-to-UE SMS MESSAGE (e.g. the RP-ACK): its SIP headers and
        tunnel are used for the MT and RP-ACK rows.
    linktype : int
        pcap LINKTYPE of both frames; the rebuilt frames use the same link layer.

    Returns
    -------
    pandas.DataFrame
        scenario, frames, one column per :data:`labkit.sms.overhead.LAYERS` name, total
        [octets] and efficiency [%]. Rows: as captured, IPv6 inner IP (also in the SIP
        headers), no IPsec, 160-character text, 3-part concatenated (459 characters, 3
        MESSAGEs), UCS2 text, MT direction (SMS-DELIVER with the MT headers), the RP-ACK as
        captured, a USSD INFO (TS 24.390) with the MO headers.
    """
    rows = [_row(name, frames_, lt, extra)
            for name, (frames_, lt, extra) in what_if_frames(mo_frame, mt_frame, linktype=linktype).items()]
    return pd.DataFrame(rows, columns=["scenario", "frames", *LAYERS, "total", "efficiency"])


def _mt_frames(mo: _Base, mt: _Base, mt_frame: bytes, text: str, linktype: int) -> dict:
    from datetime import datetime, timezone
    from labkit.sms.pdu import encode_deliver, encode_rp_data
    sc = mo.rp.da.digits if mo.rp.da else "0"
    peer = mo.rp.tpdu.da.digits if mo.rp.tpdu and mo.rp.tpdu.da else "0"
    scts = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)
    rp = encode_rp_data(mo.rp.reference, encode_deliver(peer, text, scts), mt=True, oa=sc)
    return {"MT direction (SMS-DELIVER)": ([_frame(mt, rp)], mt.linktype, 0),
            f"{mt.rp.type} {mt.rp.link} as captured": ([bytes(mt_frame)], linktype, 0)}


def _ussd_frame(base: _Base) -> tuple[bytes, int]:
    """USSD request in a SIP INFO (TS 24.390 5.1.2), the MO MESSAGE's headers reused."""
    lines = base.sip_head.split(b"\r\n")
    out = [b"INFO " + lines[0].split(b" ")[1] + b" SIP/2.0"]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"cseq":
            line = b"CSeq: 2 INFO"
        elif name == b"content-type":
            line = b"Content-Type: application/vnd.3gpp.ussd+xml"
        out.append(line)
    out.insert(len(out) - 1, b"Info-Package: g.3gpp.ussd")
    ussd = "*100#"
    return _frame(base, _USSD_XML.format(ussd).encode(), head=b"\r\n".join(out)), len(ussd)
