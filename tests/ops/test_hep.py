"""labkit.ops.hep against packets built byte by byte from the HEP3 specification (rev. 37).

Every expected value below is written from the specification's layout: "HEP3", uint16
total length, then chunks (vendor u16, type u16, length u16 incl. the 6-byte header,
value). Nothing is copied from labkit's own output.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from labkit.errors import DecodeError
from labkit.ops import collector, hep

REPO = Path(__file__).resolve().parents[2]


def C(vendor: int, ctype: int, value_hex: str) -> str:
    """One chunk in hex; the length is 6 + value bytes, as the specification says."""
    n = 6 + len(bytes.fromhex(value_hex))
    return f"{vendor:04x}{ctype:04x}{n:04x}{value_hex}"


# Chunks of a SIP OPTIONS seen 192.168.0.1:5060 -> 192.168.0.2:5061 at 1600000000.123456 s.
CHUNKS_V4 = [
    "000000010007" "02",               # IP family AF_INET: 6 + 1 = 7
    "000000020007" "11",               # IP protocol 17 (UDP)
    "00000003000a" "c0a80001",         # IPv4 source 192.168.0.1: 6 + 4 = 10
    "00000004000a" "c0a80002",         # IPv4 destination 192.168.0.2
    "000000070008" "13c4",             # source port 5060 = 0x13c4: 6 + 2 = 8
    "000000080008" "13c5",             # destination port 5061
    "00000009000a" "5f5e1000",         # 1600000000 s = 0x5f5e1000
    "0000000a000a" "0001e240",         # 123456 us = 0x0001e240
    "0000000b0007" "01",               # protocol type 1 = SIP
    "0000000c000a" "000007d1",         # capture agent id 2001 = 0x7d1
    "0000000d0008" "001e",             # keep-alive timer 30 s
    "0000000e000c" "6d7970617373",     # auth key "mypass": 6 + 6 = 12
    "000000110009" "616263",           # correlation id "abc": 6 + 3 = 9
    "000000120008" "0064",             # VLAN 100
    "00000013000a" "6e6f6465",         # node name "node": 6 + 4 = 10
    "0000000f000d" "4f5054494f4e53",   # payload "OPTIONS": 6 + 7 = 13
    "000500010008" "beef",             # vendor 5, type 1, 2 bytes: kept as is
]
# 7+7+10+10+8+8+10+10+7+10+8+12+9+8+10+13+8 = 155 chunk bytes + 6 header = 161 = 0x00a1
PACKET_V4 = bytes.fromhex("48455033" "00a1" + "".join(CHUNKS_V4))


def test_every_generic_chunk_decodes_to_its_field():
    assert len(PACKET_V4) == 161
    p = hep.decode_hep(PACKET_V4)
    assert p.problems == ()
    assert (p.ip_family, p.ip_proto, p.src, p.dst, p.sport, p.dport) == (
        2, 17, "192.168.0.1", "192.168.0.2", 5060, 5061)
    assert (p.ts_sec, p.ts_usec, p.time_ns) == (1600000000, 123456, 1600000000123456000)
    assert (p.proto_type, p.capture_id, p.keepalive) == (1, 2001, 30)
    assert (p.auth_key, p.correlation_id, p.vlan, p.node_name) == (b"mypass", b"abc", 100,
                                                                   b"node")
    assert p.payload == b"OPTIONS" and not p.compressed
    assert p.extra == (hep.HepChunk(5, 1, b"\xbe\xef"),)


def test_encode_writes_the_same_bytes_back():
    # the hand-built packet is in the encoder's chunk order, so the bytes must match
    assert hep.encode_hep(hep.decode_hep(PACKET_V4)) == PACKET_V4


def test_ipv6_addresses_in_chunks_5_and_6():
    chunks = ["000000010007" "0a",                                   # AF_INET6 = 10
              "000000020007" "06",                                   # TCP
              "000000050016" + "00" * 15 + "01",                     # ::1, 6 + 16 = 22
              "000000060016" "20010db8" + "00" * 11 + "02",          # 2001:db8::2
              "0000000f0009" "414243"]                               # "ABC"
    # 7 + 7 + 22 + 22 + 9 = 67 + 6 = 73 = 0x49
    wire = bytes.fromhex("48455033" "0049" + "".join(chunks))
    p = hep.decode_hep(wire)
    assert (p.ip_family, p.ip_proto, p.src, p.dst, p.payload) == (10, 6, "::1",
                                                                  "2001:db8::2", b"ABC")
    assert hep.encode_hep(p) == wire


def test_compressed_payload_chunk_0x10_is_inflated():
    z = zlib.compress(b"INVITE sip:x SIP/2.0\r\n\r\n")
    chunk = C(0, 0x10, z.hex())
    wire = bytes.fromhex("48455033" + f"{6 + len(bytes.fromhex(chunk)):04x}" + chunk)
    p = hep.decode_hep(wire)
    assert p.compressed and p.payload == b"INVITE sip:x SIP/2.0\r\n\r\n" and p.problems == ()


def test_wrong_total_length_is_reported_and_the_chunks_kept():
    bad = PACKET_V4[:4] + bytes.fromhex("00b0") + PACKET_V4[6:]    # says 176, holds 161
    p = hep.decode_hep(bad)
    assert p.problems == ("total length 176 but the datagram holds 161 bytes",)
    assert p.payload == b"OPTIONS" and p.capture_id == 2001


def test_truncated_payload_keeps_what_arrived():
    cut = PACKET_V4[:-8 - 3]     # drop the vendor chunk and the last 3 payload bytes
    p = hep.decode_hep(cut)
    assert p.payload == b"OPTI"
    assert any("truncated" in x for x in p.problems)
    assert p.capture_id == 2001


def test_unknown_generic_chunk_and_wrong_size_are_counted_not_fatal():
    chunks = ["000000070009" "0013c4",          # port chunk with 3 value bytes (spec: 2)
              C(0, 0x30, "0102"),               # generic type 0x30: not in the table
              "0000000f0007" "78"]
    wire = bytes.fromhex("48455033" + f"{6 + 9 + 8 + 7:04x}" + "".join(chunks))
    p = hep.decode_hep(wire)
    assert p.sport is None and p.payload == b"x"
    assert p.extra == (hep.HepChunk(0, 0x30, b"\x01\x02"),)
    assert len(p.problems) == 2
    stats = hep.HepStats()
    stats.add(wire)
    stats.add(b"\x02\x10junk")             # HEP v2 starts with version byte 2
    stats.add(b"hello world")
    assert (stats.received, stats.decoded, stats.refused) == (3, 1, 2)
    assert stats.problems == {"wrong chunk size": 1, "unknown": 1, "not HEP3": 2}


def test_not_hep3_raises_a_clear_error():
    with pytest.raises(DecodeError, match="not a HEP3 packet"):
        hep.decode_hep(b"SIP/2.0 200 OK\r\n")
    with pytest.raises(DecodeError, match="HEP v1/v2"):
        hep.decode_hep(bytes.fromhex("0110021100"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_collector_writes_sip_frames_and_the_side_table(tmp_path):
    pytest.importorskip("pandas")
    port = _free_port()
    out = tmp_path / "hep.pcapng"
    col = collector.HepCollector(f"udp:127.0.0.1:{port}", out, count=3)
    t = threading.Thread(target=col.run)
    t.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in (PACKET_V4, b"garbage", PACKET_V4):
            s.sendto(data, ("127.0.0.1", port))
    t.join(10)
    assert not t.is_alive()
    summary = col.summary()
    assert (summary["received"], summary["decoded"], summary["refused"], summary["frames"]) \
        == (3, 2, 1, 2)
    table = collector.read_side_table(out)
    assert table["frame"].tolist() == [1, 2]
    assert table["capture_id"].tolist() == [2001, 2001]
    assert table["correlation_id"].tolist() == ["abc", "abc"]
    assert table["vendor_chunks"].tolist() == ["5:1:beef", "5:1:beef"]
    from labkit.capture import iter_frames
    frames = list(iter_frames(out))
    assert [f.time_ns for f in frames] == [1600000000123456000] * 2
    assert frames[0].data.endswith(b"OPTIONS")


@pytest.mark.requires_tshark
def test_sigterm_flushes_a_capture_tshark_reads(tmp_path):
    port = _free_port()
    out = tmp_path / "live.pcapng"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "labkit.cli", "hep", "listen",
                             f"udp:127.0.0.1:{port}", "-o", str(out), "--json"],
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not out.exists() and time.monotonic() < deadline:  # first (empty) flush
            time.sleep(0.1)
        send = subprocess.run([sys.executable, "-m", "labkit.cli", "hep", "send",
                               str(REPO / "data/lab/relay_rtpengine.pcap"),
                               f"udp:127.0.0.1:{port}", "--capture-id", "9", "--json"],
                              env=env, capture_output=True, text=True, check=True)
        assert '"sent": 13' in send.stdout
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert '"frames": 13' in stdout
    # oracle: tshark reads the file and finds the same 13 SIP messages as in the source
    def sip_lines(path):
        r = subprocess.run(["tshark", "-r", str(path), "-Y", "sip", "-T", "fields",
                            "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e",
                            "sip.CSeq"], capture_output=True, text=True, check=True)
        return r.stdout.splitlines()
    assert sip_lines(out) == sip_lines(REPO / "data/lab/relay_rtpengine.pcap")


@pytest.mark.requires_tshark
def test_sip_and_rtp_replayed_through_the_collector_keep_tshark_s_stream_table(tmp_path):
    # labkit hep send --rtp -> HepCollector -> pcapng; oracle: tshark's RTP stream table
    # and SIP fields of the result equal those of the original capture
    src = REPO / "data" / "lab" / "relay_rtpengine.pcap"
    port = _free_port()
    out = tmp_path / "rtp.pcapng"
    col = collector.HepCollector(f"udp:127.0.0.1:{port}", out, duration=60)
    t = threading.Thread(target=col.run)
    t.start()
    try:
        from labkit.capture import read_capture
        sent = collector.send_hep(hep.packets_to_hep(read_capture(src), rtp=True),
                                  f"udp:127.0.0.1:{port}", gap_s=0.0002)
        deadline = time.monotonic() + 30
        while col.stats.received < sent and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        col.stop()
        t.join(20)
    assert col.stats.received == sent > 2000

    def streams(path):
        r = subprocess.run(["tshark", "-r", str(path), "-q", "-z", "rtp,streams"],
                           capture_output=True, text=True, check=True)
        return [ln for ln in r.stdout.splitlines() if "0x" in ln]
    assert streams(out) == streams(src) and len(streams(src)) == 4
