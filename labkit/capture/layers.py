"""Where each protocol header of one frame starts and ends, as the capture dissector sees it.

:func:`layer_boundaries` runs :class:`labkit.capture.dissect.Dissector` (the engine of
:func:`labkit.capture.read_capture`) on a single frame with recording on: every header it
crosses (link, IP, UDP/TCP, GTP-U, ESP and its NULL trailer, GRE, VXLAN, AH, MPLS, PPPoE)
becomes one row, named as Wireshark's PDML names the protocol. There is no second parser:
a frame dissected here is cut exactly where ``read_capture`` cuts it.

References
----------
- Header layouts: :mod:`labkit.capture.dissect` (IPv4 RFC 791, IPv6 RFC 8200 section 4,
  UDP RFC 768, TCP RFC 793) and :mod:`labkit.capture.tunnels` (GTP-U 3GPP TS 29.281
  clause 5, ESP RFC 4303 section 2 with the NULL heuristic of Wireshark 4.0
  ``esp_null_heur``, GRE RFC 2784/2890/2637, VXLAN RFC 7348, AH RFC 4302).
- Row names: Wireshark 4.0 PDML ``<proto name=...>`` (``tshark -T pdml``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Boundary", "layer_boundaries", "HEADERS", "TRAILERS", "STOPS"]

HEADERS = ("null", "sll", "sll2", "eth", "vlan", "pppoes", "ppp", "mpls", "ip", "ipv6",
           "ipv6.hopopts", "ipv6.routing", "ipv6.dstopts", "ipv6.fraghdr", "ipv6.mipv6",
           "ipv6.hip", "ipv6.shim6", "ipv6.ext", "udp", "tcp", "gtp", "esp", "gre", "erspan",
           "vxlan", "ah")
# after the protected payload, in frame order (RFC 4303 2.4-2.8)
TRAILERS = ("esp_pad", "esp_trailer", "esp_icv")
# where the dissector stops: "data" (payload it does not open: UDP/TCP payload, another
# IP protocol, a non-IP link payload), "esp_opaque" (encrypted, or cut by the capture),
# "fragment" (an IP fragment, not reassembled here), "truncated" (a header that does not fit)
STOPS = ("data", "esp_opaque", "fragment", "truncated")


class Boundary(NamedTuple):
    """One protocol layer of a frame: name (see :data:`HEADERS`, :data:`TRAILERS`,
    :data:`STOPS`), offset [octets from the frame start], length [octets], and for a stop
    a detail ("IP protocol 47", "IPv4 fragment", "UDP header", "encrypted", ...)."""

    name: str
    offset: int
    length: int
    detail: str = ""


def layer_boundaries(frame, linktype: int = 1, *, gtp_ports=(2152,),
                     esp_null: bool = True) -> list[Boundary]:
    """The protocol layers of one frame, found by the capture dissector.

    Parameters
    ----------
    frame : bytes-like
        One captured frame, link header included (the captured bytes: a frame cut by the
        snapshot length is dissected as far as it goes).
    linktype : int
        pcap LINKTYPE of the frame (1 Ethernet, 113/276 Linux cooked v1/v2, 0/108
        loopback, 101/228/229/12/14 raw IP); see :data:`labkit.capture.dissect.LINKTYPES`.
    gtp_ports : tuple of int
        UDP ports on which a G-PDU is opened (3GPP TS 29.281: 2152), as in
        :func:`labkit.capture.read_capture`.
    esp_null : bool
        Apply the ESP NULL-encryption heuristic (otherwise every ESP is opaque).

    Returns
    -------
    list of Boundary
        (name, offset [octets], length [octets], detail) outermost first: the headers in
        frame order, each ESP's trailers (:data:`TRAILERS`: padding, pad length + next
        header, ICV) right after the payload they close, then at most one stop row
        (:data:`STOPS`): "data" is the payload after the innermost header (UDP/TCP payload,
        or what an unknown protocol carries, its detail says which). Bytes after the IP
        packet (Ethernet padding) are in no row. An unsupported link type gives [].

    References
    ----------
    - Dissection: :mod:`labkit.capture.dissect`, :mod:`labkit.capture.tunnels` (RFC 791,
      RFC 8200 section 4, RFC 768, RFC 793, 3GPP TS 29.281 clause 5, RFC 4303 section 2,
      RFC 2784/2890, RFC 7348, RFC 4302).
    - Names and extents as Wireshark 4.0 PDML ``proto`` pos/size (tested frame by frame
      against ``tshark -T pdml`` in tests/capture/test_layers.py).

    Examples
    --------
    An MO SMS on S1-U (GTP-U, then IPsec ESP NULL between UE and P-CSCF):

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = next(iter_frames(data.path("sms_mo_submit")))
    >>> for b in layer_boundaries(fr.data, fr.linktype):
    ...     print(b.name, b.offset, b.length, b.detail)
    eth 0 14
    ip 14 20
    udp 34 8
    gtp 42 8
    ip 50 20
    esp 70 8
    udp 78 8
    data 86 995
    esp_pad 1081 3
    esp_trailer 1084 2
    esp_icv 1086 12
    """
    from labkit.capture.dissect import LINKTYPES, Dissector
    buf = np.frombuffer(bytes(frame), np.uint8)
    if int(linktype) not in LINKTYPES or not len(buf):
        return []
    d = Dissector(buf, {}, gtp_ports=tuple(gtp_ports), esp_null=esp_null, reassembler=None)
    d.trace = []
    done = d.frames(np.zeros(1, np.int64), np.array([len(buf)], np.int64),
                    np.array([int(linktype)], np.int64))
    rows = [Boundary(name, int(o), int(n), detail)
            for name, idx, off, ln, detail in d.trace for o, n in zip(off, ln)]
    for r in done:  # finished UDP/TCP rows: their payload
        for o, n in zip(r["poff"], r["plen"]):
            rows.append(Boundary("data", int(o), int(n)))
    return _ordered(rows, len(buf))


def _ordered(rows: list[Boundary], size: int) -> list[Boundary]:
    """Headers by offset, each ESP's trailers after the last row inside that ESP."""
    heads = sorted((r for r in rows if r.name not in TRAILERS), key=lambda r: r.offset)
    trailers = sorted((r for r in rows if r.name in TRAILERS), key=lambda r: -r.offset)
    out: list[Boundary] = []
    for r in heads:  # a header may reach past the captured bytes (TCP data offset)
        if r.offset + r.length > size and r.name not in STOPS:
            out.append(Boundary("truncated", r.offset, size - r.offset, f"{r.name} header"))
            return out
        out.append(r)
    # innermost ESP's trailers come first (they end before the outer ones start)
    groups: list[list[Boundary]] = []
    for t in trailers:  # icv, trailer, pad of one ESP are adjacent, descending
        if t.name == "esp_icv":
            groups.append([t])
        elif groups:
            groups[-1].append(t)
    for g in sorted(groups, key=lambda g: g[0].offset):
        out.extend(sorted(g, key=lambda r: r.offset))
    return out
