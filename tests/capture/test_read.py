"""labkit.capture: the reader against tshark 4.0 (the oracle) and hand-built captures.

Conformance rule (see the module docstring of labkit.capture): for every frame, the
innermost UDP datagram or TCP segment tshark dissects (last ``udp``/``tcp`` layer after
the last ``ip``/``ipv6`` layer of ``frame.protocols``) must be the row we report, with
the same frame number, addresses, ports, payload length and time. Deliberate
differences: frames with ICMP (transport headers quoted in errors) are not compared;
a G-PDU whose inner packet has no UDP/TCP gives no row (tshark's last UDP is then the
outer one, before an inner ``ip`` layer, so the rule above already leaves it out).
"""
from __future__ import annotations

import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, shared_capture_files
from labkit.capture import frames as F
from labkit.capture import Packets, iter_capture, iter_frames, read_capture, require_udp
from labkit.errors import CaptureError, LabkitWarning

T0 = 1_700_000_000_123_456_789  # [ns since epoch]
V6 = ("2001:db8::1", "2001:db8::2")
GTP = dict(teid=0x1234, outer_src="192.168.0.1", outer_dst="192.168.0.2")
DATA_CAPTURES = sorted(p for p in (REPO / "data").glob("**/*.pcap*") if p.is_file())


# ----------------------------------------------------------------------- the oracle
def _ns(epoch: str) -> int:
    if not epoch:  # SPB: no timestamp (we report 0)
        return 0
    sec, _, frac = epoch.partition(".")
    return int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def tshark_view(path) -> dict:
    """{frame: (proto, src, dst, sport, dport, payload length, time_ns, (teid, spi,
    vlan), (outermost src, dst))} per tshark."""
    fields = ["frame.number", "frame.protocols", "frame.time_epoch", "frame.len",
              "frame.cap_len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "udp.srcport",
              "udp.dstport", "udp.length", "tcp.srcport", "tcp.dstport", "tcp.len",
              "gtp.teid", "esp.spi", "vlan.id", "ieee8021ad.id"]
    cmd = ["tshark", "-n", "-r", str(path), "-o",
           "esp.enable_null_encryption_decode_heuristic:TRUE", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    view = {}
    for line in out.splitlines():
        row = _innermost(dict(zip(fields, line.split("\t"))))
        if row is not None:
            view[int(line.split("\t")[0])] = row
    return view


def _innermost(f: dict):
    protos = f["frame.protocols"].split(":")
    if "icmp" in protos or "icmpv6" in protos:
        return None
    last = lambda names: max((i for i, p in enumerate(protos) if p in names), default=-1)  # noqa
    li, lu, lt = last({"ip", "ipv6"}), last({"udp"}), last({"tcp"})
    if li < 0 or max(lu, lt) < li:
        return None
    v = "ipv6" if protos[li] == "ipv6" else "ip"
    end = lambda k: f[k].split(",")[-1]  # noqa: E731
    src, dst = end(f"{v}.src"), end(f"{v}.dst")
    # tunnel fields: innermost GTP-U TEID / ESP SPI / VLAN tag (C-tag, else S-tag)
    inside_esp = 0 <= last({"esp"}) < max(lu, lt)  # not an opaque ESP after the row
    tun = (int(end("gtp.teid"), 16) if f["gtp.teid"] else -1,
           int(end("esp.spi"), 16) if inside_esp else -1,
           int(end("vlan.id") or end("ieee8021ad.id") or -1))
    first = "ipv6" if protos[min(i for i, p in enumerate(protos) if p in ("ip", "ipv6"))] \
        == "ipv6" else "ip"
    outer = (f[f"{first}.src"].split(",")[0], f[f"{first}.dst"].split(",")[0])
    if lu > lt:
        n = int(end("udp.length")) - 8
        return ("udp", src, dst, int(end("udp.srcport")), int(end("udp.dstport")), n,
                _ns(f["frame.time_epoch"]), tun, outer)
    return ("tcp", src, dst, int(end("tcp.srcport")), int(end("tcp.dstport")),
            int(end("tcp.len")), _ns(f["frame.time_epoch"]), tun, outer)


def our_view(pk: Packets) -> dict:
    view = {}
    for i in range(len(pk)):
        view[int(pk.frame[i])] = ("udp" if pk.proto[i] == 17 else "tcp", pk.src(i),
                                  pk.dst(i), int(pk.sport[i]), int(pk.dport[i]),
                                  int(pk.payload_len[i]), int(pk.time_ns[i]),
                                  (int(pk.teid[i]), int(pk.esp_spi[i]), int(pk.vlan[i])),
                                  _outer(pk, i))
    return view


def _outer(pk: Packets, i: int) -> tuple:
    if pk.outer_src_id[i] < 0:
        return pk.src(i), pk.dst(i)
    return pk.addresses[pk.outer_src_id[i]], pk.addresses[pk.outer_dst_id[i]]


def assert_agrees_with_tshark(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        pk = read_capture(path, progress=False)
    ours, theirs = our_view(pk), tshark_view(path)
    assert len(pk.frame) == len(set(pk.frame.tolist())), "one row per frame"
    assert ours.keys() == theirs.keys(), (sorted(set(ours) ^ set(theirs))[:10])
    for k in ours:
        o, t = ours[k], theirs[k]
        # payload length: tshark gives the UDP length field; we clip to captured bytes
        assert o[:5] == t[:5] and o[6:] == t[6:] and o[5] <= t[5], (k, o, t)
        assert o[5] == t[5] or pk.caplen[pk.frame == k][0] < pk.wirelen[pk.frame == k][0]
    return pk


# ----------------------------------------------------------------- conformance: files
@pytest.mark.requires_tshark
@pytest.mark.parametrize("path", DATA_CAPTURES, ids=lambda p: p.name)
def test_data_captures_agree_with_tshark(path):
    assert_agrees_with_tshark(path)


@pytest.mark.requires_tshark
@pytest.mark.requires_shared
@pytest.mark.parametrize("path", shared_capture_files(), ids=lambda p: p.name)
def test_shared_captures_agree_with_tshark(path):
    if not path.exists():
        pytest.skip(f"{path} missing")
    assert_agrees_with_tshark(path)


# ---------------------------------------------------------- conformance: synthetic
def _variety():
    """One frame of every encapsulation the reader handles (built with labkit.capture.frames)."""
    seg = F.tcp(b"INVITE sip:x SIP/2.0\r\n", 5060, 5062, 7, 0, F.TCP_PSH | F.TCP_ACK,
                "10.0.0.1", "10.0.0.2")
    ext = [(0, b""), (43, bytes(6)), (60, b"\x01\x00")]
    return [
        F.udp_frame(b"A" * 20, "10.0.0.1", "10.0.0.2", 1000, 2000),
        F.udp_frame(b"B" * 21, *V6, 1001, 2001),
        F.udp_frame(b"C" * 22, "10.0.0.1", "10.0.0.2", 1002, 2002, vlans=[100]),
        F.udp_frame(b"D" * 23, "10.0.0.1", "10.0.0.2", 1003, 2003, vlans=[200, 300]),
        F.udp_frame(b"E" * 24, "10.1.0.1", "10.1.0.2", 1004, 2004, gtp=GTP),
        F.udp_frame(b"F" * 25, *V6, 1005, 2005, gtp=dict(GTP, seq=7, npdu=3,
                                                          ext=[(0x85, b"\0\x09"), (0x40, b"\1")])),
        F.udp_frame(b"G" * 26, "10.1.0.1", "10.1.0.2", 1006, 2006, esp=dict(spi=0xDEADBEEF)),
        F.udp_frame(b"H" * 27, *V6, 1007, 2007, esp=dict(spi=0xABC, icv_len=16)),
        F.udp_frame(b"I" * 28, "10.1.0.1", "10.1.0.2", 1008, 2008, esp=dict(spi=5, icv_len=24),
                    gtp=GTP),
        F.udp_frame(b"J" * 29, "10.1.0.1", "10.1.0.2", 1009, 2009, esp=dict(spi=6, icv_len=32)),
        F.ethernet(F.ipv4(seg, "10.0.0.1", "10.0.0.2", 6, options=b"\x94\x04\0\0")),
        F.ethernet(F.ipv6(F.udp(b"K" * 10, 1010, 2010, *V6), *V6, 17, ext_headers=ext),
                   ethertype=F.ETH_IPV6),
        F.ethernet(F.ipv4(F.ipv4(F.udp(b"L" * 9, 1011, 2011, "10.2.0.1", "10.2.0.2"),
                                 "10.2.0.1", "10.2.0.2", 17), "10.0.0.1", "10.0.0.2", 4)),
        F.udp_frame(b"M" * 3, "::10.1.2.3", "::ffff:10.1.2.4", 1012, 2012),
        F.udp_frame(b"N" * 4, "::1", "fe80::1:0:0:5", 1013, 2013),
        F.ethernet(F.ipv4(b"\x08\0\0\0\0\0\0\0", "10.0.0.1", "10.0.0.2", 1)),  # ICMP
        F.ethernet(b"\0" * 28, ethertype=0x0806),  # ARP
    ]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("nanosecond", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcap_variety_agrees_with_tshark(tmp_path, nanosecond, big_endian):
    recs = [(T0 + i * 1_000_001, f) for i, f in enumerate(_variety())]
    path = F.write_pcap(tmp_path / "v.pcap", recs, nanosecond=nanosecond,
                        big_endian=big_endian)
    pk = assert_agrees_with_tshark(path)
    assert len(pk) == 15 and pk.n_frames == 17
    assert pk.stats["non_ip"] == 1 and pk.stats["non_udp"] == 1


@pytest.mark.requires_tshark
@pytest.mark.parametrize("link,linktype", [("sll", 113), ("sll2", 276), ("raw", 101),
                                           ("null", 0)])
def test_link_layers_agree_with_tshark(tmp_path, link, linktype):
    recs = [(T0 + i, F.udp_frame(b"x" * (30 + i), src, dst, 5 + i, 6, link=link))
            for i, (src, dst) in enumerate([("10.0.0.1", "10.0.0.2"), V6] * 20)]
    path = F.write_pcap(tmp_path / "l.pcap", recs, linktype=linktype)
    assert len(assert_agrees_with_tshark(path)) == 40


@pytest.mark.requires_tshark
@pytest.mark.parametrize("family,big_endian", [(2, True), (24, False), (28, True), (30, False)])
def test_null_families_and_byte_orders(tmp_path, family, big_endian):
    src, dst = ("10.0.0.1", "10.0.0.2") if family == 2 else V6
    ip = F.udp_frame(b"n" * 12, src, dst, 7, 8, link="raw")
    path = F.write_pcap(tmp_path / "n.pcap",
                        [(T0, F.null_loopback(ip, family, big_endian=big_endian))], linktype=0)
    assert len(assert_agrees_with_tshark(path)) == 1


@pytest.mark.requires_tshark
def test_raw_ip_and_loop_linktypes(tmp_path):
    v4 = ("10.0.0.1", "10.0.0.2")
    for lt, (src, dst) in ((228, v4), (229, V6), (12, v4), (14, V6), (108, v4)):
        frame = F.udp_frame(b"r" * 9, src, dst, 1, 2, link="raw")
        if lt == 108:  # DLT_LOOP: address family always big-endian
            frame = F.null_loopback(frame, 2, big_endian=True)
        path = F.write_pcap(tmp_path / f"{lt}.pcap", [(T0, frame)], linktype=lt)
        assert len(assert_agrees_with_tshark(path)) == 1


def _mixed_records(n=300):
    """Runs of equal-length records (the bulk path) broken by other sizes/interfaces."""
    recs = []
    for i in range(n):
        k = i % 7
        if k < 4:
            f, itf = F.udp_frame(b"r" * 160, "10.0.0.1", "10.0.0.2", 4000, 4002), 0
        elif k == 4:
            f, itf = F.udp_frame(b"s" * (100 + i), "10.0.0.3", "10.0.0.4", 5060, 5060,
                                 link="sll"), 1
        elif k == 5:
            f, itf = F.udp_frame(b"t" * 50, *V6, 7000, 7002, vlans=[5]), 0
        else:
            f, itf = F.udp_frame(b"u" * 60, "10.9.0.1", "10.9.0.2", 8000, 8002,
                                 gtp=dict(GTP, teid=i)), 0
        recs.append((T0 + i * 1000, f, itf))
    recs += [(T0 + 10**9 + i, F.udp_frame(b"v" * 80, "10.0.0.7", "10.0.0.8", 9, 10), 0)
             for i in range(100)]
    return recs


@pytest.mark.requires_tshark
@pytest.mark.parametrize("block", ["epb", "pb"])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcapng_interfaces_and_resolutions(tmp_path, block, big_endian):
    path = F.write_pcapng(tmp_path / "m.pcapng", _mixed_records(), block=block,
                          interfaces=[(1, 9), (113, 0x80 | 24)], big_endian=big_endian,
                          extra_blocks=True)
    pk = assert_agrees_with_tshark(path)
    # extra_blocks writes one custom block; Wireshark 4.0 counts it as a frame (no packet)
    assert pk.n_frames == 401 and len(pk) == 400
    assert set(pk.interface.tolist()) == {0, 1}


@pytest.mark.requires_tshark
def test_pcapng_two_sections_different_byte_orders(tmp_path):
    a = F.write_pcapng(tmp_path / "a.pcapng", _mixed_records(40), interfaces=[(1, 6), (113, 9)])
    b = F.write_pcapng(tmp_path / "b.pcapng", _mixed_records(30), interfaces=[(1, 3), (113, 6)],
                       big_endian=True)
    path = tmp_path / "ab.pcapng"
    path.write_bytes(a.read_bytes() + b.read_bytes())
    pk = assert_agrees_with_tshark(path)
    assert pk.n_frames == 40 + 100 + 30 + 100
    assert pk.interface.max() == 3  # interfaces numbered across sections


@pytest.mark.requires_tshark
def test_pcapng_simple_packet_blocks(tmp_path):
    recs = [(T0, F.udp_frame(b"p" * 50, "10.0.0.1", "10.0.0.2", 1, 2))] * 20
    path = F.write_pcapng(tmp_path / "s.pcapng", recs, block="spb", snaplen=61)
    pk = assert_agrees_with_tshark(path)
    # 61 captured bytes are padded to 64 in the block: the snap length bounds caplen
    assert (pk.time_ns == 0).all() and (pk.caplen == 61).all() and (pk.wirelen == 92).all()


@pytest.mark.requires_tshark
def test_fragments_out_of_order_duplicates_and_missing(tmp_path):
    dg4 = F.udp(bytes(range(256)) * 12, 1, 2, "10.0.0.1", "10.0.0.2")
    dg6 = F.udp(b"w" * 3000, 3, 4, *V6)
    f4 = F.ipv4_fragments(dg4, "10.0.0.1", "10.0.0.2", 17, ident=77)
    f6 = F.ipv6_fragments(dg6, *V6, 17, ident=78)
    lost = F.ipv4_fragments(dg4, "10.0.0.1", "10.0.0.2", 17, ident=79)[:2]
    pkts = [f4[2], f6[0], f4[0], f4[0], f6[2], f6[1], f4[1]] + lost
    path = F.write_pcap(tmp_path / "f.pcap",
                        [(T0 + i, F.link_frame(p)) for i, p in enumerate(pkts)])
    with pytest.warns(LabkitWarning, match="could not be reassembled"):
        pk = read_capture(path)
    assert pk.frame.tolist() == [6, 7]  # frames that completed each datagram (1-based)
    assert pk.payload(0) == b"w" * 3000 and pk.payload(1) == bytes(range(256)) * 12
    assert (pk.l4_offset == -1).all()
    assert pk.stats["fragments_unreassembled"] == 2 and pk.stats["datagrams_reassembled"] == 2
    assert_agrees_with_tshark(path)
    with pytest.warns(LabkitWarning, match="reassemble=False"):
        off = read_capture(path, reassemble=False)
    assert len(off) == 0 and off.stats["fragments_unreassembled"] == 9


@pytest.mark.requires_tshark
def test_fragmented_inner_packet_inside_gtp(tmp_path):
    inner = F.ipv4_fragments(F.udp(b"S" * 2000, 5060, 5060, "10.45.0.2", "10.4.128.21"),
                             "10.45.0.2", "10.4.128.21", 17, fragment_size=1400, ident=9)
    frames = []
    for p in inner:
        g = F.gtpu(p, 0x77)
        frames.append(F.link_frame(F.ipv4(F.udp(g, 2152, 2152, "1.1.1.1", "2.2.2.2"),
                                          "1.1.1.1", "2.2.2.2", 17)))
    path = F.write_pcap(tmp_path / "g.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    pk = assert_agrees_with_tshark(path)
    assert pk.teid.tolist() == [0x77] and pk.src(0) == "10.45.0.2"
    assert pk.addresses[pk.outer_src_id[0]] == "1.1.1.1"


@pytest.mark.requires_tshark
@pytest.mark.parametrize("inner_last_first", [False, True])
def test_fragments_inside_fragmented_tunnel(tmp_path, inner_last_first):
    """Inner fragment 1 rides in a GTP-U packet that is itself fragmented; the inner
    datagram completes at the frame that completes both (Wireshark's order)."""
    src, dst, osrc, odst = "10.45.0.2", "10.4.128.21", "1.1.1.1", "2.2.2.2"
    inner = F.ipv4_fragments(F.udp(b"S" * 2000, 5060, 5060, src, dst), src, dst, 17,
                             fragment_size=1400, ident=7)

    def outer(p, ident):
        return F.udp(F.gtpu(p, 0x99), 2152, 2152, osrc, odst), ident

    big, ident = outer(inner[0], 100)
    pieces = [F.link_frame(f) for f in F.ipv4_fragments(big, osrc, odst, 17,
                                                         fragment_size=800, ident=ident)]
    small = F.link_frame(F.ipv4(outer(inner[1], 101)[0], osrc, odst, 17))
    frames = [small] + pieces if inner_last_first else pieces + [small]
    path = F.write_pcap(tmp_path / "n.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    pk = assert_agrees_with_tshark(path)
    assert pk.frame.tolist() == [3] and pk.payload(0) == b"S" * 2000


@pytest.mark.requires_tshark
def test_encrypted_esp_is_opaque(tmp_path):
    rng = np.random.default_rng(4303)
    enc = F.ethernet(F.ipv4(struct.pack("!II", 9, 1) + rng.bytes(64) + b"\x05\x07" + b"\0" * 12,
                            "10.0.0.1", "10.0.0.2", 50))
    path = F.write_pcap(tmp_path / "e.pcap", [(T0, enc)])
    pk = assert_agrees_with_tshark(path)
    assert len(pk) == 0 and pk.stats["esp_opaque"] == 1


@pytest.mark.requires_tshark
def test_esp_in_udp_4500(tmp_path):
    """RFC 3948: NULL ESP inside UDP 4500 is opened; encrypted ESP, IKE (zero marker)
    and NAT keepalives stay UDP 4500 rows (tshark's innermost UDP too)."""
    sip = F.udp(b"REGISTER sip:x SIP/2.0\r\n\r\n", 5060, 5062, "10.0.0.1", "10.0.0.2")
    payloads = [F.esp(sip, 0x77, 1, 17), struct.pack("!II", 0x88, 1) + bytes(range(40)),
                b"\0\0\0\0" + b"I" * 40, b"\xff"]
    recs = [(T0 + i, F.link_frame(F.ipv4(F.udp(p, 4500, 4500, "10.0.0.1", "10.0.0.2"),
                                         "10.0.0.1", "10.0.0.2", 17)))
            for i, p in enumerate(payloads)]
    pk = assert_agrees_with_tshark(F.write_pcap(tmp_path / "natt.pcap", recs))
    assert pk.sport.tolist() == [5060, 4500, 4500, 4500]
    assert pk.esp_spi.tolist() == [0x77, -1, -1, -1] and pk.stats["esp_opaque"] == 1


def _gre(pt: int, payload: bytes, flags: int = 0, extra: bytes = b"") -> bytes:
    return F.link_frame(F.ipv4(struct.pack("!HH", flags, pt) + extra + payload,
                               "3.3.3.3", "4.4.4.4", 47))


def _mpls(labels, payload: bytes) -> bytes:
    """RFC 3032 label stack entries: label(20) TC(3) S(1) TTL(8)."""
    stack = b"".join(struct.pack("!I", (lab << 12) | ((i == len(labels) - 1) << 8) | 64)
                     for i, lab in enumerate(labels))
    return F.ethernet(stack + payload, ethertype=0x8847)


@pytest.mark.requires_tshark
def test_vxlan_gre_erspan_mpls_agree_with_tshark(tmp_path):
    inner = F.udp_frame(b"V" * 20, "10.5.0.1", "10.5.0.2", 3000, 3002, vlans=[7])
    ip4 = F.udp_frame(b"W" * 20, "10.6.0.1", "10.6.0.2", 3100, 3102, link="raw")
    ip6 = F.udp_frame(b"W" * 20, *V6, 3200, 3202, link="raw")
    vxlan = struct.pack("!BxxxI", 0x08, 42 << 8) + inner  # RFC 7348: I flag, VNI 42
    frames = [
        F.link_frame(F.ipv4(F.udp(vxlan, 55555, 4789, "1.1.1.1", "2.2.2.2"),
                            "1.1.1.1", "2.2.2.2", 17)),
        _gre(0x6558, inner),
        _gre(0x88BE, struct.pack("!II", 0x10000064, 0) + inner, flags=0x1000,
             extra=struct.pack("!I", 5)),  # ERSPAN II: GRE with sequence number
        _gre(0x0800, ip4),
        _mpls([100], ip4),
        _mpls([100, 200], ip6),
    ]
    path = F.write_pcap(tmp_path / "tun.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    pk = assert_agrees_with_tshark(path)
    assert pk.sport.tolist() == [3000, 3000, 3000, 3100, 3100, 3200]
    assert pk.vlan.tolist()[:3] == [7, 7, 7]
    assert [pk.addresses[i] for i in pk.outer_src_id[:4]] == ["1.1.1.1"] + ["3.3.3.3"] * 3


# ------------------------------------------------------------------- Packets fields
def test_fields_of_a_tunnelled_esp_frame(tmp_path):
    f = F.udp_frame(b"hello", "10.1.0.1", "10.1.0.2", 5060, 5061, vlans=[42],
                    gtp=dict(GTP, seq=1), esp=dict(spi=0x1001))
    path = F.write_pcap(tmp_path / "x.pcap", [(T0, f)], nanosecond=True)
    pk = read_capture(path)
    assert (pk.teid[0], pk.vlan[0], pk.esp_spi[0]) == (0x1234, 42, 0x1001)
    assert (pk.src(0), pk.dst(0), pk.sport[0], pk.dport[0]) == ("10.1.0.1", "10.1.0.2",
                                                                 5060, 5061)
    assert pk.addresses[pk.outer_dst_id[0]] == "192.168.0.2"
    # Ethernet 14 + VLAN 4 = outer IP at 18; + IP 20 + UDP 8 + GTP 12 + IP 20 + ESP 8
    assert pk.l3_offset[0] == 18 and pk.l4_offset[0] == 18 + 20 + 8 + 12 + 20 + 8
    assert pk.payload(0) == b"hello" and pk.frame_bytes(0) == f
    assert pk.first_time_ns == T0 and pk.time_ns[0] == T0 and pk.ip_version[0] == 4


def test_head_select_dataframe(tmp_path):
    recs = [(T0 + i * 20_000_000, F.udp_frame(bytes([i]) * (i % 5), "10.0.0.1", "::1"
                                              if False else "10.0.0.2", 10 + i, 20))
            for i in range(12)]
    pk = read_capture(F.write_pcap(tmp_path / "h.pcap", recs))
    h = pk.head(3)
    assert h.shape == (12, 3) and h.dtype == np.uint8
    for i in range(12):
        want = pk.payload(i)[:3]
        assert bytes(h[i, :len(want)]) == want and not h[i, len(want):].any()
    sub = pk.select(pk.sport % 2 == 0)
    assert sub.sport.tolist() == [10, 12, 14, 16, 18, 20] and sub.addresses == pk.addresses
    df = pk.to_dataframe()
    assert list(df.columns) == ["frame", "time", "src", "sport", "dst", "dport", "proto",
                                "length", "vlan", "teid"]
    assert df["time"].iloc[3] == pytest.approx(0.060) and df["src"].iloc[0] == "10.0.0.1"


def test_iter_capture_chunks_match_read_capture(tmp_path):
    path = F.write_pcapng(tmp_path / "m.pcapng", _mixed_records(), interfaces=[(1, 9), (113, 6)])
    whole = read_capture(path)
    parts = list(iter_capture(path, chunk_packets=37))
    assert sum(len(p) for p in parts) == len(whole)
    assert all(p.first_time_ns == whole.first_time_ns for p in parts)
    frames = np.concatenate([p.frame for p in parts])
    assert (frames == whole.frame).all()
    last = parts[-1]
    got = [(p.src(i), p.payload(i)) for p in parts for i in range(len(p))]
    assert got == [(whole.src(i), whole.payload(i)) for i in range(len(whole))]
    assert last.n_frames == whole.n_frames
    # the first payload bytes iter_capture keeps while reading are the file's bytes
    heads = np.concatenate([p.head(16) for p in parts])
    want = [whole.payload(i)[:16].ljust(16, b"\0") for i in range(len(whole))]
    assert [bytes(h) for h in heads] == want
    assert [bytes(h) for h in whole.head(16)] == want     # read_capture keeps them too
    assert [bytes(h) for h in parts[0].select(np.arange(len(parts[0]))[::-1]).head(5)] == \
        [w[:5] for w in want[:len(parts[0])][::-1]]


def test_read_in_small_chunks_with_reassembly_across_them(tmp_path, monkeypatch):
    import labkit.capture.read as cap

    dg = F.udp(bytes(range(250)) * 20, 7, 8, "10.0.0.1", "10.0.0.2")
    frags = F.ipv4_fragments(dg, "10.0.0.1", "10.0.0.2", 17, fragment_size=600)
    recs = [(T0 + i, F.udp_frame(b"a" * i, "10.0.0.3", "10.0.0.4", 1, 2)) for i in range(5)]
    recs += [(T0 + 10 + i, F.link_frame(p)) for i, p in enumerate(frags * 2)]  # twice
    path = F.write_pcap(tmp_path / "c.pcap", recs)
    whole = read_capture(path)
    monkeypatch.setattr(cap, "READ_CHUNK", 3)
    small = read_capture(path)
    assert small.frame.tolist() == whole.frame.tolist() == [1, 2, 3, 4, 5, 14, 23]
    assert [small.payload(i) for i in range(7)] == [whole.payload(i) for i in range(7)]
    assert small.payload(6) == bytes(range(250)) * 20


def test_page_release_path_gives_the_same_rows(tmp_path, monkeypatch):
    import labkit.capture.read as cap

    recs = [(T0 + i, F.udp_frame(bytes([i % 251]) * (i % 97), "10.0.0.1", "10.0.0.2", i, 9))
            for i in range(3000)]
    path = F.write_pcap(tmp_path / "r.pcap", recs)
    normal = read_capture(path)
    monkeypatch.setattr(cap, "RELEASE_BYTES", 0)
    monkeypatch.setattr(cap, "READ_CHUNK", 500)
    released = read_capture(path)
    assert (released.head(40) == normal.head(40)).all()
    assert [released.payload(i) for i in range(0, 3000, 7)] == \
        [normal.payload(i) for i in range(0, 3000, 7)]


@pytest.mark.requires_tshark
def test_modified_pcap_kuznetzov_headers(tmp_path):
    """Magic 0xa1b2cd34: 24-byte record headers (ifindex, protocol, pkt_type, pad)."""
    frames = [F.udp_frame(b"k" * (10 + i), "10.0.0.1", "10.0.0.2", 1, 2) for i in range(20)]
    raw = struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        raw += struct.pack("<IIIIIHBx", 1700000000, i, len(f), len(f), 2, 0x0800, 0) + f
    (tmp_path / "k.pcap").write_bytes(raw)
    assert len(assert_agrees_with_tshark(tmp_path / "k.pcap")) == 20


def test_header_only_pcap(tmp_path):
    pk = read_capture(F.write_pcap(tmp_path / "h.pcap", []))
    assert len(pk) == 0 and pk.n_frames == 0 and pk.head(4).shape == (0, 4)


def test_iter_frames_raw(tmp_path):
    recs = _mixed_records(20)
    path = F.write_pcapng(tmp_path / "m.pcapng", recs, interfaces=[(1, 9), (113, 6)])
    got = list(iter_frames(path))
    assert [f.number for f in got] == list(range(1, 121))
    assert [f.data for f in got] == [r[1] for r in recs]
    assert got[4].linktype == 113 and got[4].interface == 1 and got[0].time_ns == T0


def test_progress_bar_on_request(tmp_path, capsys):
    frame = F.udp_frame(b"x", "10.0.0.1", "10.0.0.2", 1, 2)
    path = F.write_pcap(tmp_path / "p.pcap", [(T0, frame)])
    assert len(read_capture(path, progress=True)) == 1
    assert "p.pcap" in capsys.readouterr().err


# -------------------------------------------------------------------------- bad input
def _expect_error(path, *words):
    with pytest.raises(CaptureError) as exc:
        read_capture(path)
    msg = str(exc.value)
    assert Path(path).name in msg
    for w in words:
        assert w in msg, msg
    return msg


def test_empty_file(tmp_path):
    (tmp_path / "empty.pcap").write_bytes(b"")
    _expect_error(tmp_path / "empty.pcap", "empty")


def test_text_file(tmp_path):
    (tmp_path / "notes.pcap").write_text("INVITE sip:bob@example.com SIP/2.0\r\n" * 3)
    _expect_error(tmp_path / "notes.pcap", "not a pcap or pcapng", "Save As")


def test_missing_file(tmp_path):
    with pytest.raises(CaptureError, match="cannot open"):
        read_capture(tmp_path / "nope.pcap")


@pytest.mark.requires_tshark
def test_gzip_compressed_pcapng(tmp_path):
    import gzip

    raw = F.write_pcapng(tmp_path / "m.pcapng", _mixed_records(50),
                         interfaces=[(1, 9), (113, 6)]).read_bytes()
    (tmp_path / "m.pcapng.gz").write_bytes(gzip.compress(raw))
    assert len(assert_agrees_with_tshark(tmp_path / "m.pcapng.gz")) == 150
    (tmp_path / "bad.pcap.gz").write_bytes(gzip.compress(raw)[:40])
    _expect_error(tmp_path / "bad.pcap.gz", "damaged gzip", "gunzip")


def test_truncated_global_header(tmp_path):
    (tmp_path / "t.pcap").write_bytes(struct.pack("<IHH", 0xA1B2C3D4, 2, 4))
    _expect_error(tmp_path / "t.pcap", "truncated pcap file header")


def test_truncated_last_record_keeps_the_good_frames(tmp_path):
    recs = [(T0 + i, F.udp_frame(b"x" * 40, "10.0.0.1", "10.0.0.2", 1, 2)) for i in range(30)]
    path = F.write_pcap(tmp_path / "cut.pcap", recs)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.warns(LabkitWarning, match=r"cut.pcap, frame 30: record truncated"):
        pk = read_capture(path)
    assert len(pk) == 29 and pk.n_frames == 29 and "frame 30" in pk.warnings[0]


def test_absurd_record_length(tmp_path):
    recs = [(T0, F.udp_frame(b"x" * 40, "10.0.0.1", "10.0.0.2", 1, 2))] * 3
    raw = bytearray(F.write_pcap(tmp_path / "a.pcap", recs).read_bytes())
    rec = 16 + len(recs[0][1])
    struct.pack_into("<I", raw, 24 + 2 * rec + 8, 0x7FFFFFF0)  # caplen of frame 3
    (tmp_path / "a.pcap").write_bytes(bytes(raw))
    with pytest.warns(LabkitWarning, match="frame 3: record length 2147483632"):
        assert len(read_capture(tmp_path / "a.pcap")) == 2
    struct.pack_into("<I", raw, 24 + 8, 0x7FFFFFF0)  # frame 1: nothing usable
    (tmp_path / "a.pcap").write_bytes(bytes(raw))
    _expect_error(tmp_path / "a.pcap", "no complete frame", "frame 1")


def test_unknown_link_type(tmp_path):
    path = F.write_pcap(tmp_path / "usb.pcap", [(T0, b"\0" * 30)], linktype=189)
    _expect_error(path, "link type 189", "editcap")
    ng = F.write_pcapng(tmp_path / "usb.pcapng", [(T0, b"\0" * 30)], interfaces=[(189, 6)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        _expect_error(ng, "link type 189", "editcap")


def test_unknown_link_type_on_one_pcapng_interface(tmp_path):
    recs = [(T0, F.udp_frame(b"x", "10.0.0.1", "10.0.0.2", 1, 2), 0), (T0, b"\0" * 20, 1)]
    path = F.write_pcapng(tmp_path / "two.pcapng", recs, interfaces=[(1, 6), (189, 6)])
    with pytest.warns(LabkitWarning, match="unsupported link type"):
        pk = read_capture(path)
    assert len(pk) == 1 and pk.stats["unsupported_link"] == 1
    assert "unsupported link type" in pk.warnings[0]


def test_pcapng_damage(tmp_path):
    recs = [(T0 + i, F.udp_frame(b"x" * 20, "10.0.0.1", "10.0.0.2", 1, 2)) for i in range(5)]
    good = F.write_pcapng(tmp_path / "g.pcapng", recs).read_bytes()
    (tmp_path / "bom.pcapng").write_bytes(good[:8] + b"\0\0\0\0" + good[12:])
    _expect_error(tmp_path / "bom.pcapng", "byte-order magic")
    (tmp_path / "cut.pcapng").write_bytes(good[:-7])
    with pytest.warns(LabkitWarning, match="frame 5: block truncated"):
        assert len(read_capture(tmp_path / "cut.pcapng")) == 4
    noidb = bytearray(good)
    struct.pack_into("<I", noidb, 28 + 20 + 8, 3)  # first EPB: interface 3
    (tmp_path / "idb.pcapng").write_bytes(bytes(noidb))
    _expect_error(tmp_path / "idb.pcapng", "interface 3", "Interface Description Block")


def test_capture_without_udp(tmp_path):
    arp = F.ethernet(b"\0" * 28, ethertype=0x0806)
    path = F.write_pcap(tmp_path / "arp.pcap", [(T0, arp)] * 3)
    pk = read_capture(path)
    assert len(pk) == 0 and pk.n_frames == 3 and pk.stats["non_ip"] == 3
    with pytest.raises(CaptureError, match=r"arp.pcap: no UDP datagram in 3 frames \(non_ip 3"):
        require_udp(pk)
    udp = read_capture(F.write_pcap(tmp_path / "u.pcap",
                                    [(T0, F.udp_frame(b"", "10.0.0.1", "10.0.0.2", 1, 2))]))
    assert require_udp(udp) is udp


@pytest.mark.parametrize("jit", ["python", "compiled"], indirect=True)
def test_truncated_and_mutated_files_never_crash(tmp_path, jit):
    """Every cut and random byte damage gives Packets (+ warnings) or a CaptureError
    (compiled: the plain-frame kernel reads every frame, with no bounds checks of its
    own, so its tests of lengths are what keeps it inside the file)."""
    dg = F.udp(b"z" * 3000, 1, 2, "10.0.0.1", "10.0.0.2")
    frags = F.ipv4_fragments(dg, "10.0.0.1", "10.0.0.2", 17) + F.ipv6_fragments(dg, *V6, 17)
    recs = [(T0 + i, f) for i, f in enumerate(_variety() + [F.link_frame(p) for p in frags])]
    for name, good in (("p.pcap", F.write_pcap(tmp_path / "p.pcap", recs).read_bytes()),
                       ("n.pcapng", F.write_pcapng(tmp_path / "n.pcapng", recs).read_bytes())):
        rng = np.random.default_rng(len(name))
        cuts = [bytes(good[:k]) for k in range(0, len(good), 17)]
        bad = []
        for _ in range(300):
            b = bytearray(good)
            for pos in rng.integers(24, len(b), int(rng.integers(1, 12))):
                b[pos] = int(rng.integers(0, 256))
            bad.append(bytes(b))
        for k, blob in enumerate(cuts + bad):
            path = tmp_path / f"{k}_{name}"
            path.write_bytes(blob)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LabkitWarning)
                try:
                    pk = read_capture(path)
                except CaptureError:
                    continue
            assert len(pk) <= pk.n_frames
            assert (pk.payload_len >= 0).all()
            for i in range(len(pk)):
                assert len(pk.payload(i)) == pk.payload_len[i]


def _outcome(path, mode, monkeypatch):
    """What reading `path` gives with nothing / everything compiled: the error, or the
    frames, their lengths and the warnings."""
    from labkit import _jit
    monkeypatch.setattr(_jit, "COMPILE_MIN", 0 if mode == "compiled" else 1 << 62)
    _jit.forget()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabkitWarning)
        try:
            pk = read_capture(path, progress=False)
        except CaptureError as exc:
            return str(exc), None
    return (pk.frame.tolist(), pk.caplen.tolist(), pk.payload_len.tolist(),
            sorted(str(w.message) for w in caught)), pk


def test_damaged_long_files_read_the_same_by_both_walks(tmp_path, monkeypatch):
    """Files long enough for the compiled record walks (varying lengths: pcap beyond
    16,384 records, pcapng beyond 256 blocks), damaged at random: the compiled walk and
    the numpy / one-by-one walk give the same frames, warnings or error, and every frame
    lies inside the file."""
    rng = np.random.default_rng(7)
    sizes = rng.choice([20, 33, 160, 200, 320], 17_000)
    recs = [(T0 + i * 1000, F.udp_frame(bytes([i % 251]) * int(n), "10.0.0.1", "10.0.0.2",
                                        4000 + i % 5, 5004)) for i, n in enumerate(sizes)]
    for name, good in (("p.pcap", F.write_pcap(tmp_path / "p.pcap", recs).read_bytes()),
                       ("n.pcapng", F.write_pcapng(tmp_path / "n.pcapng", recs).read_bytes())):
        for k in range(12):
            b = bytearray(good)
            for pos in rng.integers(24, len(b), int(rng.integers(1, 40))):
                b[pos] = int(rng.integers(0, 256))
            blob = bytes(b) if k % 3 else bytes(b[:int(rng.integers(100, len(b)))])
            path = tmp_path / f"{k}_{name}"
            path.write_bytes(blob)
            ref, pk = _outcome(path, "python", monkeypatch)
            assert _outcome(path, "compiled", monkeypatch)[0] == ref, (name, k)
            if pk is not None:
                assert (pk.frame_offset + pk.caplen <= len(blob)).all()


def test_read_ahead_gives_the_same_chunks_and_stops_when_the_caller_does(tmp_path):
    import threading

    path = F.write_pcapng(tmp_path / "m.pcapng", _mixed_records(), interfaces=[(1, 9), (113, 6)])
    plain = list(iter_capture(path, chunk_packets=37))
    ahead = list(iter_capture(path, chunk_packets=37, read_ahead=True))
    assert [len(p) for p in ahead] == [len(p) for p in plain]
    for a, b in zip(ahead, plain):
        assert np.array_equal(a.frame, b.frame) and np.array_equal(a.head(16), b.head(16))
        assert a.addresses[:len(b.addresses)] == b.addresses
    for chunk in iter_capture(path, chunk_packets=37, read_ahead=True):
        break                               # the reading thread ends with the generator
    del chunk
    import gc
    gc.collect()
    assert not [t for t in threading.enumerate() if t.name == "labkit-read-ahead"]
    with pytest.raises(CaptureError):
        bad = tmp_path / "bad.pcap"
        bad.write_bytes(b"not a capture at all" * 5)
        list(iter_capture(bad, read_ahead=True))
