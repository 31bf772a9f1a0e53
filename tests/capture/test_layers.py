"""labkit.capture.layers: the dissector's header boundaries of one frame.

Oracle: tshark 4.0's PDML (``<proto name pos size>`` and the ESP trailer fields), frame by
frame, on the bundled SMS-over-IMS captures (S1-U GTP-U, ESP NULL, SIP) and on the shared
real captures with GTP, ESP, GRE or SIP. Hand-built frames check the stops (snaplen, empty
IP batch, fragments) against layouts derived from the RFCs.
"""
from __future__ import annotations

import csv
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from labkit import data
from labkit.capture import frames, iter_frames, read_capture
from labkit.capture.layers import HEADERS, layer_boundaries

SMS = [n for n in data.names() if n.startswith("sms_")]
# tshark's names for what the dissector calls otherwise
_TSHARK = {"sll2": "sll", "erspan": "erspan"}


def _shared_with_tunnels() -> list[str]:
    """Shared captures whose tshark summary names GTP, ESP, GRE or SIP."""
    from conftest import SHARED
    manifest = SHARED / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with open(manifest, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    col = next(c for c in rows[0] if c.startswith("contains"))
    out = []
    for r in rows:
        protos = r[col].split("protos=")[1].split(" ")[0].split("/") if "protos=" in r[col] else []
        if {"gtp", "esp", "gre", "sip"} & set(protos):
            out.append(r["file"])
    return out


def _pdml(path):
    out = subprocess.run(["tshark", "-r", str(path), "-o",
                          "esp.enable_null_encryption_decode_heuristic:TRUE", "-T", "pdml"],
                         capture_output=True, check=True).stdout
    return ET.fromstring(out).findall("packet")


def _tshark_rows(packet, stop: int) -> set:
    """(name, pos, size) of tshark's protocols the dissector knows, before `stop`, and
    the ESP trailer fields as the dissector names them."""
    rows, last, protos = set(), -1, packet.findall("proto")
    for i, p in enumerate(protos):
        name, pos, size = p.get("name"), int(p.get("pos") or -1), int(p.get("size") or 0)
        if name not in HEADERS or pos >= stop:
            continue
        if pos < last:  # positions in a reassembled datagram (the last fragment's frame)
            break
        last = pos
        if name == "esp":  # tshark's ESP spans header to ICV; the header is 8 octets
            fields = {f.get("name"): f for f in p.iter("field")}
            inner = protos[i + 1] if i + 1 < len(protos) else None
            decoded = inner is not None and int(inner.get("pos") or -1) == pos + 8
            if decoded and "esp.protocol" not in fields:
                # NULL payload found, but an exception in it (malformed SIP/RP) ended
                # the ESP dissector before it added the trailer fields
                rows.add(("esp_trailers_unknown", pos, 0))
            elif "esp.protocol" in fields:
                pad = fields.get("esp.pad")
                tr = fields["esp.pad_len"]
                icv = fields["esp.icv"]
                rows.add(("esp_trailer", int(tr.get("pos")), 2))
                rows.add(("esp_icv", int(icv.get("pos")), int(icv.get("size"))))
                if pad is not None:
                    rows.add(("esp_pad", int(pad.get("pos")), int(pad.get("size"))))
            else:
                rows.add(("esp_opaque", pos + 8, size - 8))
            size = 8
        rows.add((name, pos, size))
    return rows


def _ours(fr) -> tuple[set, int]:
    rows = layer_boundaries(fr.data, fr.linktype)
    stop = next((b.offset for b in rows if b.name in ("data", "fragment", "truncated")),
                len(fr.data))
    mine = {(_TSHARK.get(b.name, b.name), b.offset, b.length) for b in rows
            if b.name not in ("data", "fragment", "truncated") and b.length}
    return mine, stop


def _compare(path) -> int:
    packets = _pdml(path)
    checked = 0
    for fr, packet in zip(iter_frames(path), packets):
        mine, stop = _ours(fr)
        theirs = _tshark_rows(packet, stop)
        if any(r[0] == "esp_trailers_unknown" for r in theirs):
            mine = {r for r in mine if r[0] not in ("esp_pad", "esp_trailer", "esp_icv")}
        theirs = {r for r in theirs if r[2]}
        assert mine == theirs, (path.name, fr.number, sorted(mine ^ theirs))
        checked += 1
    assert checked == len(packets) > 0
    return checked


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", SMS)
def test_sms_captures_layer_by_layer_equal_tshark(name):
    _compare(data.path(name))


@pytest.mark.requires_shared
@pytest.mark.requires_tshark
@pytest.mark.parametrize("rel", _shared_with_tunnels())
def test_shared_captures_layer_by_layer_equal_tshark(shared_dir, rel):
    _compare(shared_dir / rel)


def test_boundaries_follow_the_rfc_layout():
    """S1-U frame built by hand: Ethernet 14, IPv4 20, UDP 8, GTP-U with S flag 12
    (TS 29.281 5.1), IPv4 20, ESP 8 + payload + pad (RFC 4303 2.4: to a multiple of 4) +
    2 + ICV 12, UDP 8."""
    sip = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 0\r\nX: 1\r\n\r\n"
    f = frames.udp_frame(sip, "10.45.0.2", "172.22.0.21", 6100, 5103, esp={"spi": 1, "seq": 1},
                         gtp={"teid": 5, "outer_src": "172.16.0.10", "outer_dst": "172.16.0.20",
                              "seq": 3})
    pad = -(8 + len(sip) + 2) % 4
    assert pad == 2
    end = 90 + len(sip)  # end of the protected UDP datagram
    assert [tuple(b[:3]) for b in layer_boundaries(f)] == [
        ("eth", 0, 14), ("ip", 14, 20), ("udp", 34, 8), ("gtp", 42, 12), ("ip", 54, 20),
        ("esp", 74, 8), ("udp", 82, 8), ("data", 90, len(sip)),
        ("esp_pad", end, pad), ("esp_trailer", end + pad, 2), ("esp_icv", end + pad + 2, 12)]
    assert len(f) == end + pad + 2 + 12


def _pcap(tmp_path, recs, **kw):
    path = tmp_path / "t.pcap"
    frames.write_pcap(path, [(10**18 + i, f) for i, f in enumerate(recs)], **kw)
    return path


def _trailer_lookalike_sip() -> bytes:
    """A SIP message whose bytes 14 and 13 before a cut read as pad length 0 and next
    header UDP (17): what a NULL trailer with a 12-octet ICV looks like (RFC 4303 2.4)."""
    head = b"MESSAGE sip:a@b SIP/2.0\r\nX: "
    return head + b"\x00\x11" + b"y" * 60 + b"\r\nContent-Length: 0\r\n\r\n"


def test_esp_cut_by_snaplen_is_opaque(tmp_path):
    """Bug: the NULL heuristic read the last captured bytes as the ESP trailer. Cut 12
    octets after a (pad 0, next header 17) pair inside the payload: the capture must
    call the ESP opaque, not find a UDP datagram in it."""
    sip = _trailer_lookalike_sip()
    f = frames.udp_frame(sip, "10.0.0.1", "10.0.0.2", 5060, 5060, esp={"spi": 7, "seq": 1})
    at = 14 + 20 + 8 + 8 + sip.index(b"\x00\x11")  # Ethernet, IPv4, ESP, UDP, payload
    snap = at + 2 + 12
    cut = f[:snap]
    # without the cut the ESP NULL payload is found
    assert [b.name for b in layer_boundaries(f)][:5] == ["eth", "ip", "esp", "udp", "data"]
    rows = layer_boundaries(cut)
    assert [(b.name, b.offset, b.length, b.detail) for b in rows][2:] == [
        ("esp", 34, 8, ""), ("esp_opaque", 42, snap - 42, "cut by the capture")]
    pk = read_capture(_pcap(tmp_path, [f], snaplen=snap))
    assert len(pk) == 0 and pk.stats.get("esp_opaque") == 1


def test_empty_ip_batch_does_not_raise(tmp_path):
    """Bug: a batch where no frame holds the IP header its link layer announces (ethertype
    IPv4, nothing or an IPv6 nibble after it) raised KeyError instead of counting non_ip."""
    eth_only = frames.ethernet(b"")  # ethertype 0x0800, no IP header
    wrong = frames.ethernet(b"\x60" + bytes(39))  # IPv6 nibble under ethertype IPv4
    pk = read_capture(_pcap(tmp_path, [eth_only, wrong]))
    assert len(pk) == 0 and pk.stats.get("non_ip") == 2
    assert [b.name for b in layer_boundaries(wrong)] == ["eth", "data"]


def test_ip_fragment_stops_the_walk():
    udp = frames.udp(b"z" * 3000, 5060, 5060, "10.0.0.1", "10.0.0.2")
    first = frames.ethernet(frames.ipv4_fragments(udp, "10.0.0.1", "10.0.0.2", 17)[0])
    rows = layer_boundaries(first)
    assert [(b.name, b.offset, b.detail) for b in rows] == [
        ("eth", 0, ""), ("ip", 14, ""), ("fragment", 34, "IPv4 fragment")]
    assert rows[-1].length == 1480  # RFC 791: fragment data, multiple of 8 octets


def _gre_ppp(inner_ip: bytes, *, compressed: bool, address_control: bool) -> bytes:
    """PPTP enhanced GRE (RFC 2637 4.1: version 1, K flag, payload length, call ID, S
    flag + sequence number) carrying PPP (RFC 1661 2; address/control RFC 1662 3.1,
    protocol field compression RFC 1661 6.5) with IPv4 (0x0021)."""
    import struct
    ppp = (b"\xff\x03" if address_control else b"") + (b"\x21" if compressed else b"\x00\x21")
    body = ppp + inner_ip
    gre = struct.pack("!HHHHI", 0x3001, 0x880B, len(body), 7, 1) + body
    return frames.ethernet(frames.ipv4(gre, "192.0.2.1", "192.0.2.2", 47))


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("address_control", [True, False])
def test_ppp_inside_gre(tmp_path, compressed, address_control):
    inner = frames.ipv4(frames.udp(b"hello", 5060, 5060, "10.0.0.1", "10.0.0.2"),
                        "10.0.0.1", "10.0.0.2", 17)
    f = _gre_ppp(inner, compressed=compressed, address_control=address_control)
    ppp = (2 if address_control else 0) + (1 if compressed else 2)
    assert [tuple(b[:3]) for b in layer_boundaries(f)] == [
        ("eth", 0, 14), ("ip", 14, 20), ("gre", 34, 12), ("ppp", 46, ppp),
        ("ip", 46 + ppp, 20), ("udp", 66 + ppp, 8), ("data", 74 + ppp, 5)]
    pk = read_capture(_pcap(tmp_path, [f]))
    assert len(pk) == 1 and int(pk.sport[0]) == 5060
    assert bytes(pk.payload(0)) == b"hello"


def test_unsupported_link_type_and_empty_frame():
    assert layer_boundaries(b"\x00" * 40, 147) == []
    assert layer_boundaries(b"", 1) == []


def test_udp_payload_ends_before_the_esp_trailer(tmp_path):
    """An inner UDP length that claims more than the ESP payload (RFC 4303 2.4: the
    padding, pad length, next header and ICV follow the protected datagram) must not
    pull the trailer into the UDP payload."""
    import struct
    f = bytearray(frames.udp_frame(b"hello", "10.0.0.1", "10.0.0.2", 5060, 5060,
                                   esp={"spi": 3, "seq": 1}))
    struct.pack_into("!H", f, 14 + 20 + 8 + 4, 8 + 5 + 20)  # UDP length field: 20 too many
    rows = layer_boundaries(bytes(f))
    assert ("data", 50, 5) in [tuple(b[:3]) for b in rows]
    pk = read_capture(_pcap(tmp_path, [bytes(f)]))
    assert bytes(pk.payload(0)) == b"hello"


def test_raw_ip_with_another_version_is_not_ip(tmp_path):
    """LINKTYPE_RAW: the version nibble says IPv4 or IPv6 (RFC 791 3.1, RFC 8200 3);
    a 5 is neither and must not be read as an IPv6 header."""
    pkt = b"\x50" + bytes(59)
    pk = read_capture(_pcap(tmp_path, [pkt], linktype=101))
    assert len(pk) == 0 and pk.stats.get("non_ip") == 1
    assert layer_boundaries(pkt, 101) == []
