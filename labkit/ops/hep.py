"""HEP version 3 (the HOMER Encapsulation Protocol): encode, decode, collect, replay.

A capture agent (kamailio's siptrace, sngrep, heplify, rtpengine...) copies every SIP
message (and RTP/RTCP when asked) into a HEP3 packet and sends it over UDP to a
collector (HOMER). This module reads and writes those packets, and runs a small
collector that turns them back into a pcapng capture the other notebooks read.

Wire format (HEP3 Network Protocol Specification, rev. 37):

- header: ``"HEP3"``, then the total length (uint16, network order, header included);
- chunks: vendor id (uint16), type id (uint16), chunk length (uint16, the 6-byte chunk
  header included), then the value.

Generic chunks (vendor 0) decoded here: 0x01 IP family, 0x02 IP protocol, 0x03/0x04
IPv4 source/destination, 0x05/0x06 IPv6 source/destination, 0x07/0x08 ports, 0x09
timestamp [s], 0x0a timestamp [us], 0x0b protocol type (1 SIP, 4 RTP, 5 RTCP, ...),
0x0c capture agent id, 0x0d keep-alive timer [s], 0x0e authentication key, 0x0f
payload, 0x10 compressed payload, 0x11 correlation id, 0x12 VLAN id, 0x13 node name.
Any other chunk (another vendor, or a generic type above 0x13) is kept as a
:class:`HepChunk` in :attr:`HepPacket.extra` and written back unchanged.

The collector, the sender and the side table are in :mod:`labkit.ops.collector`.

Bad input is never fatal for a collector: a datagram that is not HEP3 at all raises a
:class:`~labkit.errors.DecodeError` from :func:`decode_hep`; a packet with a wrong total
length, a chunk of the wrong size, a truncated chunk or an unknown chunk decodes as far
as it can and names what was wrong in :attr:`HepPacket.problems`; :class:`HepStats`
counts both kinds.

References
----------
.. [1] sipcapture, "HEP3 Network Protocol Specification", rev. 37
   (github.com/sipcapture/HEP, docs/HEP3_Network_Protocol_Specification_REV_37.pdf).

Examples
--------
>>> pkt = HepPacket(ip_family=2, ip_proto=17, src="10.0.0.1", dst="10.0.0.2", sport=5060,
...                 dport=5060, ts_sec=1, ts_usec=5, proto_type=1, capture_id=7,
...                 payload=b"OPTIONS")
>>> wire = encode_hep(pkt)
>>> wire[:4], int.from_bytes(wire[4:6], "big") == len(wire)
(b'HEP3', True)
>>> decode_hep(wire) == pkt
True
"""
from __future__ import annotations

import ipaddress
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field

from labkit.errors import DecodeError

__all__ = ["HepChunk", "HepPacket", "HepStats", "encode_hep", "decode_hep", "hep_chunks",
           "PROTO_TYPES", "GENERIC_CHUNKS", "hep_frame", "packets_to_hep", "hep_datagrams"]

#: HEP protocol type ids (chunk 0x0b) of the specification's table [1]_.
PROTO_TYPES = {0: "reserved", 1: "SIP", 2: "XMPP", 3: "SDP", 4: "RTP", 5: "RTCP",
               6: "MGCP", 7: "MEGACO", 8: "M2UA", 9: "M3UA", 10: "IAX", 11: "H322",
               12: "H321", 13: "M2PA", 34: "MOS", 50: "MSRP", 53: "DNS", 54: "LOG",
               100: "LOG", 200: "JSON"}

#: Generic (vendor 0) chunk types: name and value kind ("u8", "u16", "u32", "ip4",
#: "ip6", "bytes").
GENERIC_CHUNKS = {
    0x01: ("ip_family", "u8"), 0x02: ("ip_proto", "u8"), 0x03: ("src", "ip4"),
    0x04: ("dst", "ip4"), 0x05: ("src", "ip6"), 0x06: ("dst", "ip6"),
    0x07: ("sport", "u16"), 0x08: ("dport", "u16"), 0x09: ("ts_sec", "u32"),
    0x0a: ("ts_usec", "u32"), 0x0b: ("proto_type", "u8"), 0x0c: ("capture_id", "u32"),
    0x0d: ("keepalive", "u16"), 0x0e: ("auth_key", "bytes"), 0x0f: ("payload", "bytes"),
    0x10: ("payload", "bytes"), 0x11: ("correlation_id", "bytes"), 0x12: ("vlan", "u16"),
    0x13: ("node_name", "bytes"),
}
_SIZES = {"u8": 1, "u16": 2, "u32": 4, "ip4": 4, "ip6": 16}
_FMT = {"u8": "!B", "u16": "!H", "u32": "!I"}
AF_INET, AF_INET6 = 2, 10


@dataclass(frozen=True)
class HepChunk:
    """A chunk kept as it came: vendor id, type id and value bytes (header excluded)."""

    vendor: int
    type: int
    value: bytes


@dataclass(frozen=True)
class HepPacket:
    """One HEP3 packet, every generic field by name.

    ``None`` means the chunk was absent. ``payload`` is the captured packet (already
    decompressed when it came in chunk 0x10, then ``compressed`` is True).
    ``ip_family`` defaults from the addresses (2 IPv4, 10 IPv6) and ``ip_proto`` to 17
    (UDP) when encoding.
    """

    src: str | None = None
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    ts_sec: int | None = None
    ts_usec: int | None = None
    proto_type: int | None = None
    capture_id: int | None = None
    payload: bytes = b""
    ip_family: int | None = None
    ip_proto: int | None = None
    keepalive: int | None = None
    auth_key: bytes | None = None
    compressed: bool = False
    correlation_id: bytes | None = None
    vlan: int | None = None
    node_name: bytes | None = None
    extra: tuple = ()
    problems: tuple = field(default=(), compare=False)

    @property
    def time_ns(self) -> int:
        """Capture time [ns since the Unix epoch] from chunks 0x09 and 0x0a."""
        return (self.ts_sec or 0) * 1_000_000_000 + (self.ts_usec or 0) * 1000


# ------------------------------------------------------------------------------ encode
def _chunk(vendor: int, ctype: int, value: bytes) -> bytes:
    if len(value) + 6 > 0xFFFF:
        raise DecodeError(f"HEP chunk 0x{ctype:02x} of {len(value)} bytes is too long",
                          None, "a HEP3 chunk holds at most 65529 bytes")
    return struct.pack("!HHH", vendor, ctype, len(value) + 6) + value


def _family(pkt: HepPacket) -> int:
    if pkt.ip_family is not None:
        return pkt.ip_family
    addr = pkt.src or pkt.dst
    return AF_INET6 if addr and ":" in addr else AF_INET


def encode_hep(pkt: HepPacket) -> bytes:
    """HEP3 bytes of `pkt`: generic chunks in type order, then ``pkt.extra`` unchanged.

    Parameters
    ----------
    pkt : HepPacket
        The fields; absent (``None``) fields are not written. Addresses go in chunks
        0x03/0x04 (IPv4) or 0x05/0x06 (IPv6); a compressed packet is written with zlib
        in chunk 0x10.

    Returns
    -------
    bytes
        ``"HEP3"``, the uint16 total length, the chunks.

    References
    ----------
    HEP3 Network Protocol Specification rev. 37, sections 3 (header) and 4 (chunks).

    Examples
    --------
    Four 7-byte chunks (6-byte header + 1 value byte) after the 6-byte header: total
    6 + 4 * 7 = 34 = 0x0022.

    >>> wire = encode_hep(HepPacket(proto_type=1, payload=b"x"))
    >>> wire.hex(" ", -2)  # HEP3, 0022; family 02; proto 11 (UDP); type 01; payload 78
    '4845 5033 0022 0000 0001 0007 0200 0000 0200 0711 0000 000b 0007 0100 0000 0f00 0778'
    """
    fam = _family(pkt)
    six = fam == AF_INET6
    chunks = [_chunk(0, 1, bytes([fam])), _chunk(0, 2, bytes([17 if pkt.ip_proto is None
                                                              else pkt.ip_proto]))]
    for ctype, addr in ((5 if six else 3, pkt.src), (6 if six else 4, pkt.dst)):
        if addr is not None:
            chunks.append(_chunk(0, ctype, ipaddress.ip_address(addr).packed))
    for ctype, name in ((7, "sport"), (8, "dport"), (9, "ts_sec"), (10, "ts_usec"),
                        (11, "proto_type"), (12, "capture_id"), (13, "keepalive")):
        value = getattr(pkt, name)
        if value is not None:
            chunks.append(_chunk(0, ctype, struct.pack(_FMT[GENERIC_CHUNKS[ctype][1]], value)))
    if pkt.auth_key is not None:
        chunks.append(_chunk(0, 0x0e, pkt.auth_key))
    if pkt.correlation_id is not None:
        chunks.append(_chunk(0, 0x11, pkt.correlation_id))
    if pkt.vlan is not None:
        chunks.append(_chunk(0, 0x12, struct.pack("!H", pkt.vlan)))
    if pkt.node_name is not None:
        chunks.append(_chunk(0, 0x13, pkt.node_name))
    chunks.append(_chunk(0, 0x10, zlib.compress(pkt.payload)) if pkt.compressed
                  else _chunk(0, 0x0f, pkt.payload))
    chunks += [_chunk(c.vendor, c.type, c.value) for c in pkt.extra]
    body = b"".join(chunks)
    if len(body) + 6 > 0xFFFF:
        raise DecodeError(f"HEP3 packet of {len(body) + 6} bytes is too long", None,
                          "a HEP3 packet holds at most 65535 bytes")
    return b"HEP3" + struct.pack("!H", len(body) + 6) + body


# ------------------------------------------------------------------------------ decode
def _value(ctype: int, kind: str, value: bytes, problems: list):
    size = _SIZES.get(kind)
    if size is not None and len(value) != size:
        problems.append(f"chunk 0x{ctype:02x} ({GENERIC_CHUNKS[ctype][0]}) has "
                        f"{len(value)} value bytes, the specification says {size}")
        return None
    if kind in _FMT:
        return struct.unpack(_FMT[kind], value)[0]
    if kind in ("ip4", "ip6"):
        return str(ipaddress.ip_address(value))
    return value


def _decompress(value: bytes, problems: list) -> bytes:
    try:
        return zlib.decompress(value, 47)  # 32 + 15: zlib or gzip header
    except zlib.error:
        problems.append("chunk 0x10 (compressed payload) does not inflate; kept as sent")
        return value


def _chunks(data: bytes, end: int, problems: list):
    off = 6
    while off < end:
        if end - off < 6:
            problems.append(f"{end - off} stray bytes at offset {off} (not a chunk header)")
            return
        vendor, ctype, clen = struct.unpack_from("!HHH", data, off)
        if clen < 6:
            problems.append(f"chunk 0x{ctype:02x} at offset {off} claims length {clen} "
                            "(less than its 6-byte header); rest of packet skipped")
            return
        if off + clen > end:
            problems.append(f"chunk 0x{ctype:02x} at offset {off} is truncated: length "
                            f"{clen}, {end - off} bytes left")
            clen = end - off
        yield vendor, ctype, data[off + 6:off + clen]
        off += clen


def decode_hep(data: bytes) -> HepPacket:
    """Decode one HEP3 datagram; what is wrong but recoverable goes in ``problems``.

    Parameters
    ----------
    data : bytes
        The UDP payload (or one HEP3 frame from a TCP stream).

    Returns
    -------
    HepPacket
        Every chunk that could be read. ``problems`` names a total length that differs
        from the datagram's, a chunk whose value size is wrong for its type, a truncated
        chunk, an unknown chunk (kept in ``extra``), a repeated chunk.

    Raises
    ------
    DecodeError
        When `data` does not start with ``"HEP3"`` (HEP v1/v2 or not HEP at all).

    References
    ----------
    HEP3 Network Protocol Specification rev. 37, sections 3 and 4.

    Examples
    --------
    Built by hand from the specification: header "HEP3", total length 0x0011 (17 =
    6 + 11), one chunk vendor 0 type 0x0f length 0x000b (11 = 6 + 5) "hello":

    >>> p = decode_hep(bytes.fromhex("48455033 0011 0000 000f 000b") + b"hello")
    >>> p.payload, p.problems
    (b'hello', ())
    >>> decode_hep(bytes.fromhex("48455033 0020 0000 000f 000b") + b"hello").problems
    ('total length 32 but the datagram holds 17 bytes',)
    """
    data = bytes(data)
    if len(data) < 6 or data[:4] != b"HEP3":
        head = data[:4]
        what = ("HEP v1/v2 (no 'HEP3' header)" if head[:1] in (b"\x01", b"\x02")
                else f"not a HEP3 packet (starts {head!r})")
        raise DecodeError(what, None, "send HEP version 3 (kamailio siptrace: "
                          "modparam hep_version 3)")
    problems: list = []
    total = struct.unpack_from("!H", data, 4)[0]
    if total != len(data):
        problems.append(f"total length {total} but the datagram holds {len(data)} bytes")
    end = min(total, len(data)) if total >= 6 else len(data)
    fields: dict = {}
    extra = []
    for vendor, ctype, value in _chunks(data, end, problems):
        if vendor != 0 or ctype not in GENERIC_CHUNKS:
            extra.append(HepChunk(vendor, ctype, value))
            if vendor == 0:
                problems.append(f"unknown generic chunk 0x{ctype:02x} ({len(value)} bytes)"
                                "; kept")
            continue
        name, kind = GENERIC_CHUNKS[ctype]
        if name in fields:
            problems.append(f"chunk 0x{ctype:02x} ({name}) repeated; the last one kept")
        v = _value(ctype, kind, value, problems)
        if ctype == 0x10:
            v = _decompress(value, problems)
            fields["compressed"] = True
        if v is not None:
            fields[name] = v
    return HepPacket(**fields, extra=tuple(extra), problems=tuple(problems))


def hep_chunks(data: bytes) -> list[dict]:
    """Every chunk of one HEP3 datagram as it is on the wire, for showing.

    Parameters
    ----------
    data : bytes
        One HEP3 datagram.

    Returns
    -------
    list of dict
        offset, vendor, type, name (generic chunks; ``"?"`` otherwise), length (6-byte
        header included) [bytes] and value (decoded for numbers and addresses, else the
        first 40 bytes).

    References
    ----------
    HEP3 Network Protocol Specification rev. 37, section 4.

    Examples
    --------
    >>> hep_chunks(bytes.fromhex("48455033 0011 0000 000f 000b") + b"hello")
    [{'offset': 6, 'vendor': 0, 'type': 15, 'name': 'payload', 'length': 11, 'value': b'hello'}]
    """
    out, off, problems = [], 6, []
    data = bytes(data)
    for vendor, ctype, value in _chunks(data, len(data), problems):
        name, kind = GENERIC_CHUNKS.get(ctype, ("?", "bytes")) if vendor == 0 else ("?", "bytes")
        shown = _value(ctype, kind, value, []) if kind != "bytes" else value[:40]
        out.append({"offset": off, "vendor": vendor, "type": ctype, "name": name,
                    "length": len(value) + 6, "value": value[:40] if shown is None else shown})
        off += len(value) + 6
    return out


@dataclass
class HepStats:
    """What a collector received: packets decoded, packets refused, problems by kind.

    Examples
    --------
    >>> s = HepStats()
    >>> s.add(b"junk")
    >>> s.add(encode_hep(HepPacket(payload=b"x"))) is not None
    True
    >>> s.received, s.decoded, s.refused
    (2, 1, 1)
    """

    received: int = 0
    decoded: int = 0
    refused: int = 0
    problems: Counter = field(default_factory=Counter)
    examples: list = field(default_factory=list)

    def add(self, data: bytes, where: str = "") -> HepPacket | None:
        """Decode `data`, count it; the packet, or None when it is not HEP3."""
        self.received += 1
        try:
            pkt = decode_hep(data)
        except DecodeError as exc:
            self.refused += 1
            self._note("not HEP3", f"{where}{exc.what}")
            return None
        self.decoded += 1
        for p in pkt.problems:
            self._note(_kind(p), f"{where}{p}")
        return pkt

    def _note(self, kind: str, text: str):
        self.problems[kind] += 1
        if len(self.examples) < 20:
            self.examples.append(text)

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        return {"received": self.received, "decoded": self.decoded,
                "refused": self.refused, "problems": dict(sorted(self.problems.items())),
                "examples": list(self.examples)}


def _kind(problem: str) -> str:
    for key in ("total length", "truncated", "unknown", "value bytes", "repeated",
                "does not inflate", "stray", "claims length"):
        if key in problem:
            return {"value bytes": "wrong chunk size", "claims length": "bad chunk length",
                    "stray": "stray bytes"}.get(key, key)
    return "other"


# ------------------------------------------------------------------- to/from captures
_FRAMED = {1, 4, 5}  # SIP, RTP, RTCP: the payload is the captured packet itself


def hep_frame(pkt: HepPacket, tcp_seq: dict | None = None) -> bytes | None:
    """An Ethernet frame carrying ``pkt.payload`` as it travelled, or None.

    Parameters
    ----------
    pkt : HepPacket
        A decoded packet of protocol type SIP (1), RTP (4) or RTCP (5) with addresses
        and ports; other types (JSON reports, logs) carry no packet and give None.
    tcp_seq : dict, optional
        Next sequence number per (src, sport, dst, dport), updated in place, so SIP over
        TCP is rebuilt as one consistent TCP stream per direction (segments with PSH|ACK).

    Returns
    -------
    bytes or None
        Ethernet/IPv4 or IPv6/UDP or TCP frame (labkit.capture.frames builders).

    References
    ----------
    HEP3 Network Protocol Specification rev. 37 (chunks 0x01-0x08, 0x0f);
    RFC 768 (UDP), RFC 793 (TCP).

    Examples
    --------
    >>> f = hep_frame(HepPacket(src="10.0.0.1", dst="10.0.0.2", sport=5060, dport=5060,
    ...                         proto_type=1, payload=b"OPTIONS"))
    >>> len(f)       # 14 Ethernet + 20 IPv4 + 8 UDP + 7
    49
    """
    from labkit.capture import frames
    if (pkt.proto_type not in _FRAMED or pkt.src is None or pkt.dst is None
            or pkt.sport is None or pkt.dport is None):
        return None
    if pkt.ip_proto == 6:
        key = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
        seqs = tcp_seq if tcp_seq is not None else {}
        seq = seqs.get(key, 1)
        seqs[key] = (seq + len(pkt.payload)) & 0xFFFFFFFF
        seg = frames.tcp(pkt.payload, pkt.sport, pkt.dport, seq, 0, 0x18, pkt.src, pkt.dst)
        ip = (frames.ipv6(seg, pkt.src, pkt.dst, 6) if ":" in pkt.src
              else frames.ipv4(seg, pkt.src, pkt.dst, 6))
        return frames.ethernet(ip, ethertype=0x86DD if ":" in pkt.src else 0x0800)
    return frames.udp_frame(pkt.payload, pkt.src, pkt.dst, pkt.sport, pkt.dport)


def hep_datagrams(capture, port: int) -> list[bytes]:
    """The UDP payloads sent to `port` in a capture: the HEP datagrams an agent sent to its
    collector, as recorded on the wire.

    Parameters
    ----------
    capture : path or labkit.capture.Packets
        A pcap/pcapng file (read chunk by chunk: memory grows with the HEP datagrams, not
        with the file) or packets already read.
    port : int
        The collector's UDP port (HEP has no registered port; kamailio's siptrace and
        heplify send where they are told, 9060 by convention).

    Returns
    -------
    list of bytes
        One payload per datagram, in capture order.

    References
    ----------
    sipcapture, "HEP3 Network Protocol Specification", rev. 37 (github.com/sipcapture/HEP):
    HEP over UDP, one packet per datagram; RFC 768.

    Examples
    --------
    The real kamailio burst (data/ops): tshark ``-Y "udp.dstport == 47202"`` shows 154
    frames, the first with UDP length 609 (8 header bytes + 601 of HEP):

    >>> import json
    >>> from labkit import data
    >>> port = json.loads(data.path("ops_ports").read_text())["ports"]["hep"]
    >>> d = hep_datagrams(data.path("kamailio_burst"), port)
    >>> len(d), len(d[0]), d[0][:4]
    (154, 601, b'HEP3')
    """
    import numpy as np

    from labkit.capture import packet_chunks

    out = []
    for pk in packet_chunks(capture):
        rows = np.flatnonzero((np.asarray(pk.proto) == 17) & (np.asarray(pk.dport) == port))
        out += [bytes(pk.payload(i)) for i in rows.tolist()]
    return out


def packets_to_hep(packets, *, capture_id: int = 0, node_name: bytes | None = None,
                   rtp: bool = False) -> list[HepPacket]:
    """The SIP (and optionally RTP) of a read capture as HEP3 packets, in capture order.

    Parameters
    ----------
    packets : labkit.capture.Packets
        From :func:`labkit.capture.read_capture`.
    capture_id : int
        Capture agent id (chunk 0x0c).
    node_name : bytes, optional
        Node name (chunk 0x13).
    rtp : bool
        Also the RTP streams labkit.rtp finds (protocol type 4).

    Returns
    -------
    list of HepPacket
        One per SIP datagram/segment (the rows :func:`labkit.sip.sip_messages` finds),
        with the capture's addresses, ports, transport and time [us].

    References
    ----------
    HEP3 Network Protocol Specification rev. 37.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> heps = packets_to_hep(read_capture(data.path("relay_rtpengine")), capture_id=1)
    >>> len(heps), heps[0].payload[:6], heps[0].proto_type   # tshark -Y sip: 13 frames
    (13, b'INVITE', 1)
    """
    import numpy as np

    from labkit.sip import sip_messages
    index = {int(f): i for i, f in enumerate(np.asarray(packets.frame))}
    rows = {index[int(f)]: 1 for f in sip_messages(packets)["frame"]}
    if rtp:
        from labkit.rtp import find_rtp
        for i in np.asarray(find_rtp(packets).row):
            rows.setdefault(int(i), 4)
    out = []
    for i in sorted(rows):
        sec, ns = divmod(int(packets.time_ns[i]), 1_000_000_000)
        out.append(HepPacket(src=packets.src(i), dst=packets.dst(i),
                             sport=int(packets.sport[i]), dport=int(packets.dport[i]),
                             ts_sec=sec, ts_usec=ns // 1000, proto_type=rows[i],
                             capture_id=capture_id, node_name=node_name,
                             ip_proto=int(packets.proto[i]), payload=packets.payload(i)))
    return out
