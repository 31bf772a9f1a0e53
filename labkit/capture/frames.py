"""Deterministic byte builders for frames, and pcap/pcapng writers.

Used by ``tools/`` (synthetic captures), the tests and the SMS fix. Every builder returns
``bytes`` and is a pure function of its arguments, so captures made with it are
reproducible bit for bit. Checksums (IPv4 header, UDP, TCP) are computed per
RFC 791 / RFC 768 / RFC 793 (RFC 8200 section 8.1 for the IPv6 pseudo-header).

References
----------
- pcap: draft-ietf-opsawg-pcap (file header, record header, link types).
- pcapng: draft-ietf-opsawg-pcapng (SHB, IDB, EPB, SPB, obsolete PB, NRB, ISB).
- Link types: https://www.tcpdump.org/linktypes.html (SLL 113, SLL2 276, NULL 0, RAW 101).
- IEEE 802.1Q (VLAN tag 0x8100), 802.1ad (QinQ service tag 0x88a8).
- GTP-U: 3GPP TS 29.281 clause 5.1 (header), 5.2 (extension headers).
- ESP: RFC 4303 section 2 (NULL encryption, RFC 2410): payload, padding 1, 2, 3, ...,
  pad length, next header, ICV.
- RTP: RFC 3550 section 5.1.

Examples
--------
>>> from labkit.capture import frames
>>> f = frames.udp_frame(b"hello", "10.0.0.1", "10.0.0.2", 5060, 5060)
>>> len(f)
47
"""
from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "LINKTYPE_NULL", "LINKTYPE_ETHERNET", "LINKTYPE_RAW", "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2", "LINKTYPE_IPV4", "LINKTYPE_IPV6",
    "ethernet", "sll", "sll2", "null_loopback", "ipv4", "ipv4_fragments", "ipv6",
    "ipv6_fragments", "udp", "tcp", "gtpu", "esp", "rtp", "udp_frame", "link_frame",
    "write_pcap", "write_pcapng", "checksum16", "sdp_body",
]

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_LINKTYPES = {"ether": LINKTYPE_ETHERNET, "sll": LINKTYPE_LINUX_SLL,
              "sll2": LINKTYPE_LINUX_SLL2, "raw": LINKTYPE_RAW, "null": LINKTYPE_NULL}

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
DEFAULT_SRC_MAC = bytes.fromhex("020000000001")
DEFAULT_DST_MAC = bytes.fromhex("020000000002")


# ----------------------------------------------------------------------------- helpers
def checksum16(data: bytes) -> int:
    """Internet checksum (RFC 1071): one's complement of the one's complement sum.

    Parameters
    ----------
    data : bytes
        Bytes to sum as big-endian 16-bit words (odd length is zero-padded).

    Returns
    -------
    int
        The 16-bit checksum to store in the header.

    References
    ----------
    RFC 1071 section 3 (the worked example below).

    Examples
    --------
    >>> hex(checksum16(bytes.fromhex("0001f203f4f5f6f7")))   # RFC 1071: sum ddf2 -> 220d
    '0x220d'
    """
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(addr)


def _mac(mac: bytes | str) -> bytes:
    if isinstance(mac, str):
        mac = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(mac) != 6:
        raise ValueError(f"MAC address must be 6 bytes, got {len(mac)}")
    return mac


def _pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    """IPv4 (RFC 768) or IPv6 (RFC 8200 section 8.1) pseudo-header for L4 checksums."""
    s, d = _ip(src), _ip(dst)
    if s.version != d.version:
        raise ValueError(f"address families differ: {src} / {dst}")
    if s.version == 4:
        return s.packed + d.packed + struct.pack("!BBH", 0, proto, length)
    return s.packed + d.packed + struct.pack("!IxxxB", length, proto)


# -------------------------------------------------------------------------- link layer
def ethernet(payload: bytes, *, src_mac: bytes | str = DEFAULT_SRC_MAC,
             dst_mac: bytes | str = DEFAULT_DST_MAC, ethertype: int = ETH_IPV4,
             vlans: Sequence[int] = ()) -> bytes:
    """Ethernet II frame, optionally 802.1Q tagged.

    Parameters
    ----------
    payload : bytes
        The network-layer packet.
    src_mac, dst_mac : bytes or str
        6 bytes or "aa:bb:cc:dd:ee:ff".
    ethertype : int
        EtherType of the payload (0x0800 IPv4, 0x86dd IPv6).
    vlans : sequence of int
        VLAN ids, outermost first. One id: an 802.1Q tag (TPID 0x8100). Two or more:
        QinQ, outer tag TPID 0x88a8 (IEEE 802.1ad S-tag), inner tags 0x8100.

    Returns
    -------
    bytes
        14-byte header (+4 per VLAN tag) and `payload`.

    References
    ----------
    IEEE 802.3 clause 3 (Ethernet II), IEEE 802.1Q (C-tag 0x8100), 802.1ad (S-tag 0x88a8).

    Examples
    --------
    >>> f = ethernet(b"x", vlans=[100])
    >>> len(f), f[12:14].hex(), f[14:16].hex(), f[16:18].hex()   # TPID, TCI (VID 100), type
    (19, '8100', '0064', '0800')
    """
    tags = b""
    for i, vid in enumerate(vlans):
        tpid = ETH_QINQ if (i == 0 and len(vlans) > 1) else ETH_VLAN
        tags += struct.pack("!HH", tpid, vid & 0x0FFF)
    return _mac(dst_mac) + _mac(src_mac) + tags + struct.pack("!H", ethertype) + payload


def sll(payload: bytes, proto: int = ETH_IPV4, *, pkttype: int = 0, hatype: int = 1,
        addr: bytes = DEFAULT_SRC_MAC) -> bytes:
    """Linux cooked capture v1 header (LINKTYPE_LINUX_SLL 113, 16 bytes).

    Parameters
    ----------
    payload : bytes
        Network-layer packet.
    proto : int
        Protocol type (EtherType) of the payload.
    pkttype : int
        0 to us, 1 broadcast, 2 multicast, 3 other host, 4 sent by us.
    hatype : int
        ARPHRD type (1 Ethernet).
    addr : bytes
        Link-layer source address (at most 8 bytes).

    Returns
    -------
    bytes
        The 16-byte header and `payload`.

    References
    ----------
    tcpdump.org LINKTYPE_LINUX_SLL (link type 113) header layout.

    Examples
    --------
    >>> h = sll(b"")
    >>> len(h), h[14:16].hex()      # protocol type last (IPv4 = 0x0800)
    (16, '0800')
    """
    return struct.pack("!HHH8sH", pkttype, hatype, len(addr), addr, proto) + payload


def sll2(payload: bytes, proto: int = ETH_IPV4, *, ifindex: int = 1, pkttype: int = 0,
         hatype: int = 1, addr: bytes = DEFAULT_SRC_MAC) -> bytes:
    """Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2 276, 20 bytes).

    Parameters
    ----------
    payload : bytes
        Network-layer packet.
    proto : int
        Protocol type (EtherType) of the payload.
    ifindex : int
        Interface index.
    pkttype, hatype, addr
        As :func:`sll`.

    Returns
    -------
    bytes
        The 20-byte header and `payload`.

    References
    ----------
    tcpdump.org LINKTYPE_LINUX_SLL2 (link type 276) header layout.

    Examples
    --------
    >>> h = sll2(b"")
    >>> len(h), h[:2].hex()          # protocol type first
    (20, '0800')
    """
    return struct.pack("!HHIHBB8s", proto, 0, ifindex, hatype, pkttype, len(addr),
                       addr) + payload


def null_loopback(payload: bytes, family: int = 2, *, big_endian: bool = False) -> bytes:
    """BSD loopback header (LINKTYPE_NULL 0): a 4-byte address family in host order.

    Parameters
    ----------
    payload : bytes
        IP packet.
    family : int
        2 for IPv4; 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (Darwin) for IPv6.
    big_endian : bool
        Byte order of the writing host (readers must accept both).

    Returns
    -------
    bytes
        4-byte family and `payload`.

    References
    ----------
    tcpdump.org LINKTYPE_NULL (link type 0).

    Examples
    --------
    >>> null_loopback(b"").hex(), null_loopback(b"", big_endian=True).hex()
    ('02000000', '00000002')
    """
    return struct.pack(">I" if big_endian else "<I", family) + payload


def link_frame(packet: bytes, link: str = "ether", *, vlans: Sequence[int] = (),
               null_family: int | None = None, big_endian: bool = False) -> bytes:
    """Wrap an IP packet (version from its first nibble) in the named link layer.

    Parameters
    ----------
    packet : bytes
        IPv4 or IPv6 packet.
    link : {"ether", "sll", "sll2", "raw", "null"}
        Link layer; see :data:`LINKTYPE_ETHERNET` etc. for the pcap link type.
    vlans : sequence of int
        VLAN ids (Ethernet only).
    null_family : int, optional
        DLT_NULL address family (default 2 for IPv4, 30 for IPv6).
    big_endian : bool
        DLT_NULL family byte order.

    Returns
    -------
    bytes
        Link-layer header and `packet`.

    References
    ----------
    tcpdump.org link-type registry (LINKTYPE_ETHERNET 1, LINUX_SLL 113, LINUX_SLL2 276,
    RAW 101, NULL 0).

    Examples
    --------
    >>> len(link_frame(ipv4(b"", "10.0.0.1", "10.0.0.2", 17), "sll"))
    36
    """
    v6 = packet[0] >> 4 == 6
    ethertype = ETH_IPV6 if v6 else ETH_IPV4
    if link == "ether":
        return ethernet(packet, ethertype=ethertype, vlans=vlans)
    if link == "sll":
        return sll(packet, ethertype)
    if link == "sll2":
        return sll2(packet, ethertype)
    if link == "raw":
        return packet
    if link == "null":
        fam = null_family if null_family is not None else (30 if v6 else 2)
        return null_loopback(packet, fam, big_endian=big_endian)
    raise ValueError(f"unknown link {link!r}; use one of {sorted(_LINKTYPES)}")


# ----------------------------------------------------------------------- network layer
def ipv4(payload: bytes, src: str, dst: str, proto: int, *, ident: int = 0, ttl: int = 64,
         df: bool = True, tos: int = 0, options: bytes = b"", frag_offset: int = 0,
         more_fragments: bool = False) -> bytes:
    """IPv4 packet with a correct header checksum (RFC 791 section 3.1).

    Parameters
    ----------
    payload : bytes
        Transport-layer bytes.
    src, dst : str
        Dotted-quad addresses.
    proto : int
        Protocol number (17 UDP, 6 TCP, 50 ESP).
    ident : int
        Identification field.
    ttl : int
        Time to live [hops].
    df : bool
        Don't-fragment flag.
    tos : int
        DSCP/ECN byte.
    options : bytes
        IP options, zero-padded to a multiple of 4 bytes (at most 40).
    frag_offset : int
        Fragment offset [bytes], must be a multiple of 8.
    more_fragments : bool
        MF flag.

    Returns
    -------
    bytes
        Header (20 bytes + options) and `payload`.

    References
    ----------
    RFC 791 section 3.1; RFC 1071 (checksum).

    Examples
    --------
    >>> p = ipv4(b"", "10.0.0.1", "10.0.0.2", 17)
    >>> len(p), checksum16(p[:20])   # a correct header sums to zero
    (20, 0)
    """
    options += b"\0" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    if ihl > 15 or frag_offset % 8:
        raise ValueError("IPv4 options > 40 bytes or fragment offset not a multiple of 8")
    flags = (0x4000 if df else 0) | (0x2000 if more_fragments else 0) | (frag_offset // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, 4 * ihl + len(payload), ident,
                      flags, ttl, proto, 0, _ip(src).packed, _ip(dst).packed) + options
    csum = checksum16(hdr)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def ipv4_fragments(payload: bytes, src: str, dst: str, proto: int, *, fragment_size: int = 1480,
                   ident: int = 1, ttl: int = 64) -> list[bytes]:
    """Split one transport-layer payload into IPv4 fragments (RFC 791 section 2.3).

    Parameters
    ----------
    payload : bytes
        Whole transport-layer datagram (e.g. the output of :func:`udp`).
    fragment_size : int
        Data bytes per fragment (rounded down to a multiple of 8) [bytes].
    ident : int
        Identification shared by all fragments.
    src, dst : str
        Dotted-quad addresses.
    proto : int
        Protocol number of the datagram.
    ttl : int
        Time to live [hops].

    Returns
    -------
    list of bytes
        IPv4 packets in offset order (the last one has MF=0).

    References
    ----------
    RFC 791 sections 2.3 and 3.2 (fragmentation and reassembly).

    Examples
    --------
    >>> frags = ipv4_fragments(bytes(3000), "10.0.0.1", "10.0.0.2", 17, fragment_size=1480)
    >>> [len(f) - 20 for f in frags]
    [1480, 1480, 40]
    """
    size = max(8, fragment_size - fragment_size % 8)
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        out.append(ipv4(chunk, src, dst, proto, ident=ident, ttl=ttl, df=False,
                        frag_offset=off, more_fragments=off + size < len(payload)))
    return out


def _ext_header(kind: int, nxt: int, body: bytes) -> bytes:
    """One IPv6 extension header (RFC 8200 section 4), padded to 8-byte units."""
    if kind == 44:  # fragment header: fixed 8 bytes, second byte reserved
        return bytes([nxt, 0]) + body[:6].ljust(6, b"\0")
    body = body + b"\0" * (-(len(body) + 2) % 8)  # Pad1/PadN-compatible zero padding
    if kind in (0, 60) and len(body) > 0:
        body = _pad_options(body)
    return bytes([nxt, (len(body) + 2) // 8 - 1]) + body


def _pad_options(body: bytes) -> bytes:
    """Turn trailing zero padding of an options header into one PadN option."""
    core = body.rstrip(b"\0")
    pad = len(body) - len(core)
    if pad == 0:
        return body
    if pad == 1:
        return core + b"\0"
    return core + bytes([1, pad - 2]) + b"\0" * (pad - 2)


def ipv6(payload: bytes, src: str, dst: str, next_header: int, *,
         ext_headers: Sequence[tuple[int, bytes]] = (), hop_limit: int = 64,
         flow_label: int = 0, traffic_class: int = 0) -> bytes:
    """IPv6 packet (RFC 8200 section 3) with optional extension headers.

    Parameters
    ----------
    payload : bytes
        Upper-layer bytes.
    next_header : int
        Protocol of `payload` (17 UDP, 6 TCP, 50 ESP).
    ext_headers : sequence of (int, bytes)
        Extension headers in order: (type, body) where body excludes the
        next-header/length bytes. Types 0 hop-by-hop, 43 routing, 60 destination
        options (padded with PadN to 8-byte units), 44 fragment (body = 6 bytes:
        offset/flags then identification).
    hop_limit : int
        Hop limit [hops].
    src, dst : str
        IPv6 addresses.
    flow_label : int
        20-bit flow label.
    traffic_class : int
        Traffic class byte.

    Returns
    -------
    bytes
        40-byte header, extension headers and `payload`.

    References
    ----------
    RFC 8200 sections 3 and 4.

    Examples
    --------
    >>> p = ipv6(b"abc", "2001:db8::1", "2001:db8::2", 17)
    >>> len(p), int.from_bytes(p[4:6], "big"), p[6]    # payload length, next header
    (43, 3, 17)
    """
    chain = b""
    kinds = [k for k, _ in ext_headers] + [next_header]
    for i, (kind, body) in enumerate(ext_headers):
        chain += _ext_header(kind, kinds[i + 1], body)
    first = kinds[0]
    vtf = (6 << 28) | (traffic_class << 20) | flow_label
    return struct.pack("!IHBB16s16s", vtf, len(chain) + len(payload), first, hop_limit,
                       _ip(src).packed, _ip(dst).packed) + chain + payload


def ipv6_fragments(payload: bytes, src: str, dst: str, next_header: int, *,
                   fragment_size: int = 1232, ident: int = 1) -> list[bytes]:
    """Split an upper-layer payload into IPv6 fragments (RFC 8200 section 4.5).

    Parameters
    ----------
    payload : bytes
        Upper-layer bytes (e.g. the output of :func:`udp`).
    src, dst : str
        IPv6 addresses.
    next_header : int
        Protocol of `payload`.
    fragment_size : int
        Data bytes per fragment (rounded down to a multiple of 8) [bytes].
    ident : int
        Identification shared by all fragments.

    Returns
    -------
    list of bytes
        IPv6 packets with a Fragment header (type 44), in offset order.

    References
    ----------
    RFC 8200 section 4.5.

    Examples
    --------
    >>> frags = ipv6_fragments(bytes(2000), "2001:db8::1", "2001:db8::2", 17, fragment_size=1232)
    >>> [len(f) - 48 for f in frags]     # 40-byte header + 8-byte fragment header
    [1232, 768]
    """
    size = max(8, fragment_size - fragment_size % 8)
    out = []
    for off in range(0, len(payload), size):
        more = off + size < len(payload)
        body = struct.pack("!HI", off | int(more), ident)
        out.append(ipv6(payload[off:off + size], src, dst, next_header,
                        ext_headers=[(44, body)]))
    return out


# --------------------------------------------------------------------- transport layer
def udp(payload: bytes, sport: int, dport: int, src: str, dst: str) -> bytes:
    """UDP datagram with a correct checksum over the IPv4/IPv6 pseudo-header (RFC 768).

    Parameters
    ----------
    payload : bytes
        Application bytes.
    sport, dport : int
        Ports.
    src, dst : str
        IP addresses of the enclosing packet (IPv4 or IPv6).

    Returns
    -------
    bytes
        8-byte header and `payload`.

    References
    ----------
    RFC 768; RFC 8200 section 8.1 (IPv6 pseudo-header).

    Examples
    --------
    >>> d = udp(b"hello", 5060, 5060, "10.0.0.1", "10.0.0.2")
    >>> len(d), int.from_bytes(d[4:6], "big")      # length field counts the header
    (13, 13)
    """
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum16(_pseudo_header(src, dst, 17, length) + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", csum) + payload


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(payload: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
        src: str, dst: str, *, window: int = 65535) -> bytes:
    """TCP segment (20-byte header, no options) with a correct checksum (RFC 793 3.1).

    Parameters
    ----------
    seq, ack : int
        Sequence and acknowledgement numbers.
    flags : int
        Flag bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    window : int
        Receive window [bytes].
    payload : bytes
        Segment data.
    sport, dport : int
        Ports.
    src, dst : str
        IP addresses of the enclosing packet.

    Returns
    -------
    bytes
        20-byte header and `payload`.

    References
    ----------
    RFC 793 section 3.1 (RFC 9293 section 3.1).

    Examples
    --------
    >>> s = tcp(b"", 5060, 5060, 1, 0, 0x02, "10.0.0.1", "10.0.0.2")
    >>> len(s), s[12] >> 4, s[13]                  # data offset 5 words, SYN
    (20, 5, 2)
    """
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, window, 0, 0)
    length = len(hdr) + len(payload)
    csum = checksum16(_pseudo_header(src, dst, 6, length) + hdr + payload)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:] + payload


# ---------------------------------------------------------------------------- tunnels
def gtpu(inner_ip_packet: bytes, teid: int, *, seq: int | None = None,
         ext: Sequence[tuple[int, bytes]] = (), npdu: int | None = None,
         msg_type: int = 255) -> bytes:
    """GTP-U v1 header (3GPP TS 29.281 clause 5.1) around a T-PDU.

    Parameters
    ----------
    inner_ip_packet : bytes
        The user IP packet (T-PDU).
    teid : int
        Tunnel endpoint identifier.
    seq : int, optional
        Sequence number; sets the S flag.
    ext : sequence of (int, bytes)
        Extension headers (type, content) in order; sets the E flag. Content is
        zero-padded to 4*n - 2 bytes (clause 5.2.1), e.g. type 0x85 PDU session
        container.
    npdu : int, optional
        N-PDU number; sets the PN flag.
    msg_type : int
        255 = G-PDU.

    Returns
    -------
    bytes
        8-byte header (12 with S/E/PN) and the T-PDU.

    References
    ----------
    3GPP TS 29.281 clauses 5.1 and 5.2.

    Examples
    --------
    >>> g = gtpu(b"\x45" + bytes(19), teid=1)
    >>> g[:2].hex(), int.from_bytes(g[2:4], "big"), len(gtpu(b"", teid=1, seq=7))
    ('30ff', 20, 12)
    """
    flags = 0x30 | (0x04 if ext else 0) | (0x02 if seq is not None else 0) \
        | (0x01 if npdu is not None else 0)
    opt = b""
    if flags & 0x07:
        first = ext[0][0] if ext else 0
        opt = struct.pack("!HBB", seq or 0, npdu or 0, first)
        for i, (_, content) in enumerate(ext):
            content = content + b"\0" * (-(len(content) + 2) % 4)
            nxt = ext[i + 1][0] if i + 1 < len(ext) else 0
            opt += bytes([(len(content) + 2) // 4]) + content + bytes([nxt])
    body = opt + inner_ip_packet
    return struct.pack("!BBHI", flags, msg_type, len(body), teid) + body


def esp(payload: bytes, spi: int, seq: int, next_header: int, *, icv_len: int = 12,
        pad_to: int = 4, icv: bytes | None = None) -> bytes:
    """ESP packet with NULL encryption (RFC 4303 section 2, RFC 2410).

    Layout: SPI (4), sequence (4), payload, padding 1, 2, 3, ..., pad length (1),
    next header (1), ICV (`icv_len` bytes).

    Parameters
    ----------
    payload : bytes
        Protected upper-layer bytes (e.g. a UDP datagram in transport mode).
    spi, seq : int
        Security parameter index and sequence number.
    next_header : int
        Protocol of `payload` (17 UDP, 6 TCP, 4 IPv4, 41 IPv6).
    icv_len : int
        Integrity check value length [bytes] (12 HMAC-SHA1-96, 16 HMAC-SHA-256-128).
    pad_to : int
        Align payload + padding + 2 trailer bytes to this many bytes (>= 4).
    icv : bytes, optional
        ICV bytes (default 0xAA repeated; nobody verifies it without keys).

    Returns
    -------
    bytes
        The ESP packet.

    References
    ----------
    RFC 4303 section 2 (packet format), RFC 2410 (NULL encryption), RFC 2404
    (HMAC-SHA-1-96: 12-byte ICV).

    Examples
    --------
    >>> e = esp(bytes(8), spi=1, seq=1, next_header=17)
    >>> len(e), e[-14:-12].hex()        # 8 + 8 + 2 padding + 2 trailer + 12 ICV
    (32, '0211')
    """
    pad = -(len(payload) + 2) % pad_to
    trailer = bytes(range(1, pad + 1)) + bytes([pad, next_header])
    icv = icv if icv is not None else b"\xaa" * icv_len
    return struct.pack("!II", spi, seq) + payload + trailer + icv


_esp_null = esp  # udp_frame's keyword `esp` shadows the builder

def rtp(payload: bytes, *, pt: int, seq: int, ts: int, ssrc: int, marker: bool = False,
        csrc: Sequence[int] = (), ext: tuple[int, bytes] | None = None,
        padding: int = 0) -> bytes:
    """RTP packet (RFC 3550 section 5.1).

    Parameters
    ----------
    pt : int
        Payload type (0..127).
    seq : int
        Sequence number (mod 2**16).
    ts : int
        Timestamp [clock ticks] (mod 2**32).
    ssrc : int
        Synchronisation source.
    csrc : sequence of int
        Contributing sources (at most 15).
    ext : (int, bytes), optional
        Header extension (profile-defined 16 bits, data zero-padded to 32-bit words).
    padding : int
        Padding bytes to append (last byte holds the count); 0 = no P bit.
    payload : bytes
        Payload bytes.
    marker : bool
        M bit.

    Returns
    -------
    bytes
        12-byte header (+ CSRC list, extension) and `payload` (+ padding).

    References
    ----------
    RFC 3550 section 5.1.

    Examples
    --------
    >>> r = rtp(b"", pt=8, seq=1, ts=160, ssrc=0x1234, marker=True)
    >>> r[:2].hex(), len(r)                        # V=2, M=1, PT=8
    ('8088', 12)
    """
    b0 = 0x80 | (0x20 if padding else 0) | (0x10 if ext else 0) | len(csrc)
    hdr = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                      ts & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)
    hdr += b"".join(struct.pack("!I", c) for c in csrc)
    if ext:
        data = ext[1] + b"\0" * (-len(ext[1]) % 4)
        hdr += struct.pack("!HH", ext[0], len(data) // 4) + data
    pad = (b"\0" * (padding - 1) + bytes([padding])) if padding else b""
    return hdr + payload + pad


def _ip_packet(l4: bytes, src: str, dst: str, proto: int, ident: int) -> bytes:
    if _ip(src).version == 4:
        return ipv4(l4, src, dst, proto, ident=ident)
    return ipv6(l4, src, dst, proto)


def udp_frame(payload: bytes, src: str, dst: str, sport: int, dport: int, *,
              link: str = "ether", vlans: Sequence[int] = (), gtp: dict | None = None,
              esp: dict | None = None, ident: int = 0) -> bytes:
    """One-call UDP frame: UDP -> IP [-> ESP] [-> GTP-U/UDP/IP] -> link layer.

    Parameters
    ----------
    payload : bytes
        UDP payload.
    src, dst : str
        (Inner) IP addresses; IPv6 if they contain ':'.
    sport, dport : int
        (Inner) UDP ports.
    link : {"ether", "sll", "sll2", "raw", "null"}
        Link layer (pcap link type via ``LINKTYPE_*``).
    vlans : sequence of int
        VLAN ids (Ethernet only; two ids = QinQ).
    gtp : dict, optional
        ``teid``, ``outer_src``, ``outer_dst`` and optionally ``seq``, ``ext``,
        ``npdu``, ``sport`` (default 2152): wrap the IP packet in GTP-U over UDP 2152.
    esp : dict, optional
        ``spi``, ``seq`` and optionally ``icv_len``: the UDP datagram is carried in
        ESP transport mode with NULL encryption (as IMS IPsec between UE and P-CSCF).
    ident : int
        IPv4 identification of the inner packet.

    Returns
    -------
    bytes
        The whole frame, link layer first.

    References
    ----------
    RFC 768, RFC 791, RFC 8200, RFC 4303, 3GPP TS 29.281 (each layer as its builder).

    Examples
    --------
    >>> len(udp_frame(b"x", "10.0.0.1", "10.0.0.2", 1, 2))      # 14 + 20 + 8 + 1
    43
    """
    l4 = udp(payload, sport, dport, src, dst)
    proto = 17
    if esp is not None:
        l4 = _esp_null(l4, esp["spi"], esp.get("seq", 1), 17,
                       icv_len=esp.get("icv_len", 12))
        proto = 50
    packet = _ip_packet(l4, src, dst, proto, ident)
    if gtp is not None:
        g = gtpu(packet, gtp["teid"], seq=gtp.get("seq"), ext=gtp.get("ext", ()),
                 npdu=gtp.get("npdu"))
        osrc, odst = gtp["outer_src"], gtp["outer_dst"]
        packet = _ip_packet(udp(g, gtp.get("sport", 2152), 2152, osrc, odst),
                            osrc, odst, 17, ident)
    return link_frame(packet, link, vlans=vlans)


# -------------------------------------------------------------------------- writers
def sdp_body(addr: str, port: int, formats, *, attributes: Sequence[str] = (),
             proto: str = "RTP/AVP", session: str = "1 1", media: str = "audio",
             session_attributes: Sequence[str] = ()) -> str:
    """An SDP body with one media section, for the bodies of built SIP messages.

    The one SDP builder of the project: tests and the synthetic builders in tools/
    call it, so every built SDP has the same layout.

    Parameters
    ----------
    addr : str
        Origin and connection address (IPv4 or IPv6).
    port : int
        Media port (0 = stream disabled, RFC 3264 section 6).
    formats : str or sequence of int
        The ``m=`` line's payload types ("8 101" or ``[8, 101]``).
    attributes : sequence of str
        Media-level lines in order, e.g. ``"a=rtpmap:8 PCMA/8000"``.
    proto : str
        Transport ("RTP/AVP", "RTP/SAVP", "udptl"...).
    session : str
        ``o=`` session id and version.
    media : str
        Media type of the ``m=`` line.
    session_attributes : sequence of str
        Session-level lines after ``t=`` (e.g. ``"a=tool:baresip 1.0.0"``).

    Returns
    -------
    str
        CRLF-terminated lines (RFC 4566 section 5).

    References
    ----------
    RFC 4566 section 5 (fields and their order); RFC 3264 (offer/answer).

    Examples
    --------
    >>> sdp_body("10.0.0.1", 4000, [8, 101], attributes=["a=rtpmap:8 PCMA/8000"]).splitlines()
    ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', \
'm=audio 4000 RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000']
    """
    ip = "IP6" if ":" in addr else "IP4"
    fmts = formats if isinstance(formats, str) else " ".join(map(str, formats))
    lines = ["v=0", f"o=- {session} IN {ip} {addr}", "s=-", f"c=IN {ip} {addr}", "t=0 0",
             *session_attributes, f"m={media} {port} {proto} {fmts}", *attributes]
    return "\r\n".join(lines) + "\r\n"


def _records(records: Iterable[tuple]) -> Iterable[tuple[int, bytes, int]]:
    for rec in records:
        yield int(rec[0]), bytes(rec[1]), int(rec[2]) if len(rec) > 2 else 0


def write_pcap(path: str | Path, records: Iterable[tuple], *, linktype: int = 1,
               nanosecond: bool = False, big_endian: bool = False,
               snaplen: int = 262144) -> Path:
    """Write a classic pcap file (draft-ietf-opsawg-pcap section 4-5).

    Parameters
    ----------
    path : str or Path
        Output file.
    records : iterable of tuple
        ``(time_ns, frame_bytes)`` or ``(time_ns, frame_bytes, interface_id)``
        (interface ignored); time [ns since the Unix epoch].
    linktype : int
        LINKTYPE_* value of every frame (1 Ethernet).
    nanosecond : bool
        Magic 0xa1b23c4d (ns timestamps) instead of 0xa1b2c3d4 (us, truncated).
    big_endian : bool
        Write all header fields big-endian (as a big-endian host would).
    snaplen : int
        Frames longer than this are truncated (orig_len keeps the wire length) [bytes].

    Returns
    -------
    Path
        `path`.

    References
    ----------
    draft-ietf-opsawg-pcap sections 4 (file header) and 5 (packet records).

    Examples
    --------
    >>> import tempfile, os
    >>> out = write_pcap(os.path.join(tempfile.mkdtemp(), "a.pcap"),
    ...                  [(1_000_000_000, udp_frame(b"x", "10.0.0.1", "10.0.0.2", 1, 2))])
    >>> out.stat().st_size           # 24-byte file header + 16-byte record header + 43
    83
    """
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    div = 1 if nanosecond else 1000
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for t, frame, _ in _records(records):
            sec, frac = divmod(t, 1_000_000_000)
            cap = frame[:snaplen]
            fh.write(struct.pack(e + "IIII", sec, frac // div, len(cap), len(frame)) + cap)
    return path


def _opt(code: int, value: bytes, e: str) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(btype: int, body: bytes, e: str) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def _ts_units(tsresol: int) -> int:
    """Timestamp units per second for an if_tsresol byte (pcapng IDB option 9)."""
    return 2 ** (tsresol & 0x7F) if tsresol & 0x80 else 10 ** tsresol


def _packet_block(frame: bytes, t: int, iface: int, interfaces, snaplen: int,
                  block: str, e: str) -> bytes:
    cap = frame[:snaplen]
    if block == "spb":
        return _block(3, struct.pack(e + "I", len(frame)) + cap, e)
    ticks = t * _ts_units(interfaces[iface][1]) // 1_000_000_000
    hi, lo = ticks >> 32, ticks & 0xFFFFFFFF
    if block == "pb":
        return _block(2, struct.pack(e + "HHIIII", iface, 0, hi, lo, len(cap), len(frame))
                      + cap, e)
    return _block(6, struct.pack(e + "IIIII", iface, hi, lo, len(cap), len(frame)) + cap, e)


def write_pcapng(path: str | Path, records: Iterable[tuple], *,
                 interfaces: Sequence[tuple[int, int]] = ((1, 6),), big_endian: bool = False,
                 snaplen: int = 262144, block: str = "epb",
                 extra_blocks: bool = False) -> Path:
    """Write a pcapng file (draft-ietf-opsawg-pcapng): one section, several interfaces.

    Parameters
    ----------
    path : str or Path
        Output file.
    records : iterable of tuple
        ``(time_ns, frame)`` or ``(time_ns, frame, interface_id)``.
    interfaces : sequence of (int, int)
        Per interface: (link type, if_tsresol byte): 6 = microseconds, 9 = nanoseconds,
        0x80 | n = 2**-n seconds. Resolution 6 is written without an if_tsresol option
        (the default), any other with one.
    big_endian : bool
        Section byte order.
    snaplen : int
        Per-interface snap length; longer frames are truncated [bytes].
    block : {"epb", "spb", "pb"}
        Enhanced Packet Block, Simple Packet Block (interface 0 only, no timestamps)
        or the obsolete Packet Block.
    extra_blocks : bool
        Also write blocks a reader must skip: a Name Resolution Block after the
        interfaces, a custom block (0x00000BAD) and an Interface Statistics Block at the
        end, plus a comment option on the section header. Wireshark 4.0 lists the
        custom block as a frame of its own (no packet), so frame numbers shift by one.

    Returns
    -------
    Path
        `path`.

    References
    ----------
    draft-ietf-opsawg-pcapng sections 4.1 (SHB), 4.2 (IDB), 4.3 (EPB), 4.4 (SPB).

    Examples
    --------
    >>> import tempfile, os
    >>> out = write_pcapng(os.path.join(tempfile.mkdtemp(), "a.pcapng"),
    ...                    [(1_000_000_000, udp_frame(b"x", "10.0.0.1", "10.0.0.2", 1, 2))])
    >>> out.read_bytes()[:4].hex()   # section header block type
    '0a0d0d0a'
    """
    e = ">" if big_endian else "<"
    shb_opts = (_opt(1, b"labkit.frames", e) + _opt(0, b"", e)) if extra_blocks else b""
    out = [_block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts, e)]
    for linktype, tsresol in interfaces:
        opts = _opt(9, bytes([tsresol]), e) + _opt(0, b"", e) if tsresol != 6 else b""
        out.append(_block(1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts, e))
    if extra_blocks:
        nrb = struct.pack(e + "HH", 1, 12) + bytes([10, 0, 0, 1]) + b"host\0\0\0\0"
        out.append(_block(4, nrb + struct.pack(e + "HH", 0, 0), e))
        out.append(_block(0x00000BAD, struct.pack(e + "I", 32473) + b"custom!\0", e))
    for t, frame, iface in _records(records):
        out.append(_packet_block(frame, t, iface, interfaces, snaplen, block, e))
    if extra_blocks:
        out.append(_block(5, struct.pack(e + "III", 0, 0, 0), e))
    path = Path(path)
    path.write_bytes(b"".join(out))
    return path
