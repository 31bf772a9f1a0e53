"""AMR-NB bandwidth-efficient with DTX, no SDP: SID and NO_DATA packets are evidence.

Payloads written bit by bit from RFC 4867 section 4.3 (bandwidth-efficient: 4-bit CMR,
then per frame F(1) FT(4) Q(1), then the speech bits, zero-padded to an octet) and the
frame sizes of 3GPP TS 26.101 Table 1a (12.2 kbit/s = 244 bits, SID = 39 bits).
"""
from __future__ import annotations

import subprocess
import sys

from labkit.amr import detect_amr_format
from labkit.capture import frames as F

# CMR 7 = 0111; F 0; FT 7 = 0111; Q 1 -> 0111 0011 | 11 + 244 zero bits + 2 pad = 32 bytes
SPEECH = bytes([0x73, 0xC0]) + bytes(30)
# CMR 0111; F 0; FT 8 (SID) = 1000; Q 1 -> 0111 0100 | 01 + 39 zero bits + 7 pad = 7 bytes
SID = bytes([0x74, 0x40]) + bytes(5)
# CMR 0111; F 0; FT 15 (NO_DATA) = 1111; Q 1 -> 0111 0111 | 11 + 6 pad = 2 bytes
NO_DATA = bytes([0x77, 0xC0])
# 10 speech frames, then DTX: a SID every 8th frame (TS 26.093 SID_UPDATE), NO_DATA between
STREAM = [SPEECH] * 10 + ([SID] + [NO_DATA] * 7) * 5


def test_hand_built_bits_have_the_rfc_sizes():
    assert (len(SPEECH), len(SID), len(NO_DATA)) == (32, 7, 2)  # ceil(254/8), ceil(49/8), ceil(10/8)


def test_dtx_stream_is_amr_nb_bandwidth_efficient():
    g = detect_amr_format(STREAM, [160 * i for i in range(len(STREAM))])
    assert (g.codec, g.octet_aligned) == ("AMR", False)
    assert g.confidence >= 0.75  # 50 of 50 packets clean; timestamp factor at least 0.75
    assert g.scores["AMR-WB/be"] < 0.5  # FT 7/8 mean 461/477 bits under AMR-WB: no fit


def test_no_data_alone_decides_nothing():
    g = detect_amr_format([NO_DATA] * 50)
    assert g.codec == "unknown"  # the same bits under AMR and AMR-WB


def test_amr_extract_finds_the_dtx_stream(tmp_path):
    recs = [(1_000_000_000 + i * 20_000_000,
             F.udp_frame(F.rtp(p, pt=97, seq=1 + i, ts=160 * i, ssrc=0x1234),
                         "10.0.0.1", "10.0.0.2", 40000, 40002)) for i, p in enumerate(STREAM)]
    cap = F.write_pcap(tmp_path / "dtx.pcap", recs)
    out = tmp_path / "dtx.amr"
    r = subprocess.run([sys.executable, "-m", "labkit.cli", "amr", "extract", "-i", str(cap),
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "AMR bandwidth-efficient" in r.stdout
    # RFC 4867 5.1 storage: "#!AMR\n" (6) + 10 x (ToC 0x3C + 31) + 5 x (ToC 0x44 + 5)
    # + 35 x ToC 0x7C = 6 + 320 + 30 + 35 = 391 bytes
    blob = out.read_bytes()
    assert len(blob) == 391 and blob[:7] == b"#!AMR\n\x3c"
    assert blob[6 + 320] == 0x44 and blob[6 + 320 + 6] == 0x7C
