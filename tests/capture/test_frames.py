"""labkit.capture.frames: byte builders checked against hand-computed values and tshark 4.0."""
from __future__ import annotations

import struct
import subprocess

import pytest

from labkit.capture import frames as F

T0 = 1_700_000_000_123_456_789  # [ns since epoch]
TSHARK_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                "-o", "tcp.check_checksum:TRUE",
                "-o", "esp.enable_null_encryption_decode_heuristic:TRUE"]


def tshark_fields(path, *fields):
    """Rows of `tshark -T fields` (one list per frame, '' for absent fields)."""
    cmd = ["tshark", "-n", "-r", str(path), *TSHARK_PREFS, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


# ------------------------------------------------------------------ hand-computed values
def test_checksum16_rfc1071_example():
    # RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum to ddf2 -> ~ = 220d
    assert F.checksum16(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_ipv4_header_checksum_known_packet():
    # Classic textbook header 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7
    # (payload 0x73 - 20 = 95 bytes); its checksum is b861.
    pkt = F.ipv4(b"\0" * 95, "192.168.0.1", "192.168.0.199", 17, ttl=64)
    assert pkt[:20].hex() == "45000073000040004011b861c0a80001c0a800c7"


def test_esp_null_trailer_layout():
    # payload 5 bytes: 5 + pad + 2 must be a multiple of 4 -> pad = 1
    e = F.esp(b"12345", 0x01020304, 9, 17, icv_len=12)
    assert e[:8] == bytes.fromhex("0102030400000009")
    assert e[8:13] == b"12345"
    assert e[13:16] == bytes([1, 1, 17])  # pad byte 1, pad length 1, next header 17
    assert len(e) == 8 + 5 + 1 + 2 + 12


def test_gtpu_flags_and_length():
    g = F.gtpu(b"\x45" + b"\0" * 19, 0xABCDEF, seq=7, npdu=3, ext=[(0x85, b"\x00\x09")])
    # flags: version 1 (0x20) | PT (0x10) | E 0x04 | S 0x02 | PN 0x01 = 0x37
    assert g[0] == 0x37 and g[1] == 0xFF
    # length = 4 optional bytes + one 4-byte extension + 20 bytes T-PDU = 28
    assert struct.unpack("!HI", g[2:8]) == (28, 0xABCDEF)
    assert g[8:12] == bytes([0, 7, 3, 0x85]) and g[12:16] == bytes([1, 0, 9, 0])


def test_vlan_tags_qinq_tpids():
    f = F.ethernet(b"", vlans=[10, 20])
    assert f[12:22].hex() == "88a8000a8100001408" + "00"


def test_rtp_header_fields():
    r = F.rtp(b"\x01\x02", pt=96, seq=65535, ts=2**32 + 5, ssrc=0x11223344, marker=True,
              csrc=[7], padding=3)
    assert r[0] == 0x80 | 0x20 | 1 and r[1] == 0x80 | 96
    assert struct.unpack("!HII", r[2:12]) == (65535, 5, 0x11223344)
    assert r[-3:] == b"\0\0\x03"


# ------------------------------------------------------------------------- tshark oracle
def _variants():
    gtp = dict(teid=0x1234, outer_src="192.168.0.1", outer_dst="192.168.0.2")
    gtp_opts = dict(gtp, teid=0x55, seq=7, npdu=3, ext=[(0x85, b"\x00\x09"), (0x40, b"\1\2")])
    v6 = ("2001:db8::1", "2001:db8::2")
    return [  # (frame, expected: vlan ids, teid, spi, inner sport/dport)
        (F.udp_frame(b"A" * 20, "10.0.0.1", "10.0.0.2", 1000, 2000), "", "", "", "1000", "2000"),
        (F.udp_frame(b"B" * 21, *v6, 1001, 2001), "", "", "", "1001", "2001"),
        (F.udp_frame(b"C" * 22, "10.0.0.1", "10.0.0.2", 1002, 2002, vlans=[100]),
         "100", "", "", "1002", "2002"),
        (F.udp_frame(b"E" * 24, "10.1.0.1", "10.1.0.2", 1004, 2004, gtp=gtp),
         "", "0x00001234", "", "2152,1004", "2152,2004"),
        (F.udp_frame(b"F" * 25, *v6, 1005, 2005, gtp=gtp_opts),
         "", "0x00000055", "", "2152,1005", "2152,2005"),
        (F.udp_frame(b"G" * 26, "10.1.0.1", "10.1.0.2", 1006, 2006, esp=dict(spi=0xDEADBEEF)),
         "", "", "0xdeadbeef", "1006", "2006"),
        (F.udp_frame(b"H" * 27, *v6, 1007, 2007, esp=dict(spi=0xABC, icv_len=16)),
         "", "", "0x00000abc", "1007", "2007"),
    ]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("nanosecond", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcap_variants_dissect_as_intended(tmp_path, nanosecond, big_endian):
    cases = _variants()
    path = F.write_pcap(tmp_path / "v.pcap", [(T0 + i * 1000, c[0]) for i, c in enumerate(cases)],
                        nanosecond=nanosecond, big_endian=big_endian)
    rows = tshark_fields(path, "frame.time_epoch", "vlan.id", "gtp.teid", "esp.spi",
                         "udp.srcport", "udp.dstport", "ip.checksum.status",
                         "udp.checksum.status")
    assert len(rows) == len(cases)
    for i, (row, case) in enumerate(zip(rows, cases)):
        digits = 9 if nanosecond else 6
        frac = f"{(123456789 + i * 1000) // 10 ** (9 - digits):0{digits}d}"
        assert row[0] == f"1700000000.{frac}".ljust(20, "0")
        assert row[1:6] == list(case[1:])
        assert set(row[6].split(",")) <= {"1", ""} and set(row[7].split(",")) == {"1"}


@pytest.mark.requires_tshark
def test_qinq_and_tcp_and_ipv6_ext(tmp_path):
    qinq = F.udp_frame(b"D" * 23, "10.0.0.1", "10.0.0.2", 1003, 2003, vlans=[200, 300])
    seg = F.tcp(b"INVITE", 5060, 5061, 100, 0, F.TCP_PSH | F.TCP_ACK, "10.0.0.1", "10.0.0.2")
    tcp = F.ethernet(F.ipv4(seg, "10.0.0.1", "10.0.0.2", 6, options=b"\x94\x04\0\0"))
    dg = F.udp(b"I" * 10, 1009, 2009, "2001:db8::1", "2001:db8::2")
    ext = [(0, b""), (43, bytes(6)), (60, b"\x01\x00")]
    v6 = F.ethernet(F.ipv6(dg, "2001:db8::1", "2001:db8::2", 17, ext_headers=ext),
                    ethertype=F.ETH_IPV6)
    path = F.write_pcap(tmp_path / "m.pcap", [(T0, qinq), (T0, tcp), (T0, v6)])
    rows = tshark_fields(path, "frame.protocols", "ieee8021ad.id", "vlan.id", "tcp.srcport",
                         "tcp.checksum.status", "ip.checksum.status", "udp.srcport",
                         "udp.checksum.status")
    assert rows[0][:3] == ["eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:udp:data",
                           "200", "300"]
    assert rows[1][3:6] == ["5060", "1", "1"]
    assert rows[2][0].startswith("eth:ethertype:ipv6:ipv6.hopopts:ipv6.routing:ipv6.dstopts:udp")
    assert rows[2][6:8] == ["1009", "1"]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("link,linktype,proto", [
    ("sll", F.LINKTYPE_LINUX_SLL, "sll"), ("sll2", F.LINKTYPE_LINUX_SLL2, "sll"),
    ("raw", F.LINKTYPE_RAW, "raw"), ("null", F.LINKTYPE_NULL, "null")])
def test_link_layers(tmp_path, link, linktype, proto):
    recs = [(T0, F.udp_frame(b"x" * 30, "10.0.0.1", "10.0.0.2", 5, 6, link=link)),
            (T0, F.udp_frame(b"y" * 31, "::1", "::2", 7, 8, link=link))]
    path = F.write_pcap(tmp_path / "l.pcap", recs, linktype=linktype)
    rows = tshark_fields(path, "frame.protocols", "udp.srcport", "udp.checksum.status")
    assert [r[0].split(":")[0] for r in rows] == [proto, proto]
    assert [r[1:] for r in rows] == [["5", "1"], ["7", "1"]]


@pytest.mark.requires_tshark
def test_fragments_reassemble_in_tshark(tmp_path):
    dg4 = F.udp(b"z" * 3000, 1, 2, "10.0.0.1", "10.0.0.2")
    dg6 = F.udp(b"w" * 3000, 3, 4, "2001:db8::1", "2001:db8::2")
    pkts = F.ipv4_fragments(dg4, "10.0.0.1", "10.0.0.2", 17, ident=77) + \
        F.ipv6_fragments(dg6, "2001:db8::1", "2001:db8::2", 17, ident=78)
    recs = [(T0 + i, F.link_frame(p)) for i, p in enumerate(pkts)]
    path = F.write_pcap(tmp_path / "f.pcap", recs)
    rows = tshark_fields(path, "udp.srcport", "udp.length", "udp.checksum.status")
    # 3008-byte datagram in 1480-byte fragments -> 3 fragments each (RFC 791/8200)
    assert [r for r in rows if r[0]] == [["1", "3008", "1"], ["3", "3008", "1"]]
    assert [i for i, r in enumerate(rows) if r[0]] == [2, 5]


@pytest.mark.requires_tshark
def test_pcapng_interfaces_resolutions_blocks(tmp_path):
    f4 = F.udp_frame(b"x" * 30, "10.0.0.1", "10.0.0.2", 5, 6)
    s4 = F.udp_frame(b"x" * 30, "10.0.0.1", "10.0.0.2", 5, 7, link="sll")
    ifaces = [(F.LINKTYPE_LINUX_SLL, 0x80 | 20), (F.LINKTYPE_ETHERNET, 3)]
    for block in ("epb", "pb"):
        path = F.write_pcapng(tmp_path / f"{block}.pcapng", [(T0, f4, 1), (T0 + 5, s4, 0)],
                              interfaces=ifaces, block=block, big_endian=True)
        rows = tshark_fields(path, "frame.time_epoch", "frame.interface_id", "udp.dstport")
        # iface 1: ms resolution -> .123; iface 0: 2**-20 s ticks -> floor gives ...456001
        assert rows == [["1700000000.123000000", "1", "6"],
                        ["1700000000.123456001", "0", "7"]]


@pytest.mark.requires_tshark
def test_pcapng_spb_and_snaplen(tmp_path):
    big = F.udp_frame(b"x" * 300, "10.0.0.1", "10.0.0.2", 5, 6)
    path = F.write_pcapng(tmp_path / "s.pcapng", [(T0, big)], block="spb", snaplen=100)
    assert tshark_fields(path, "frame.len", "frame.cap_len") == [["342", "100"]]


def test_sll_and_sll2_header_layout():
    # SLL (LINKTYPE_LINUX_SLL): pkttype 0, ARPHRD_ETHER 1, address length 6, address
    # padded to 8 bytes, protocol 0x0800 -> 16 bytes
    assert F.sll(b"", 0x0800).hex() == "0000" "0001" "0006" "0200000000010000" "0800"
    # SLL2: protocol, reserved, ifindex 1, ARPHRD 1, pkttype 0, length 6, address -> 20
    assert F.sll2(b"", 0x86DD).hex() == "86dd" "0000" "00000001" "0001" "00" "06" \
        "0200000000010000"


def test_null_loopback_byte_orders():
    assert F.null_loopback(b"", 2) == b"\x02\0\0\0"
    assert F.null_loopback(b"", 30, big_endian=True) == b"\0\0\0\x1e"


def test_ipv6_fragment_headers():
    dg = F.udp(b"q" * 100, 1, 2, "2001:db8::1", "2001:db8::2")  # 108 bytes
    frags = F.ipv6_fragments(dg, "2001:db8::1", "2001:db8::2", 17, fragment_size=60, ident=5)
    # 60 -> 56 data bytes per fragment (multiple of 8): 56 + 52
    assert [len(f) - 40 - 8 for f in frags] == [56, 52]
    # fragment header: next header 17, reserved, offset/flags, identification
    assert frags[0][40:48].hex() == "11" "00" "0001" "00000005"
    assert frags[1][40:48].hex() == "11" "00" "0038" "00000005"  # 56 bytes = 7 << 3
    assert frags[0][6] == 44 and b"".join(f[48:] for f in frags) == dg


def test_ipv4_fragments_cover_the_datagram():
    dg = F.udp(bytes(range(200)), 1, 2, "10.0.0.1", "10.0.0.2")
    frags = F.ipv4_fragments(dg, "10.0.0.1", "10.0.0.2", 17, fragment_size=100, ident=9)
    # 100 -> 96-byte pieces: offsets 0, 96, 192 (field in 8-byte units), MF on all but last
    flags = [struct.unpack("!H", f[6:8])[0] for f in frags]
    assert flags == [0x2000 | 0, 0x2000 | 12, 24]
    assert b"".join(f[20:] for f in frags) == dg
    assert all(F.checksum16(f[:20]) == 0 for f in frags)  # a valid header sums to 0
