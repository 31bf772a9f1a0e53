"""Real-software captures under data/lab (tools/lab): tshark confirms the manifest, and one
short real baresip-to-baresip call on loopback is made and checked end to end.

Oracles: tshark 4.0 (SIP codes, SDP codecs, RTP streams), and the reference decoders
through PyAV (libopencore AMR/AMR-WB, FFmpeg pcm_alaw) for which party plays the tone.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tools.lab import make, scenarios  # noqa: E402
from tools.lab.baresip import have_baresip  # noqa: E402

LAB = REPO / "data" / "lab"
SPECS = {s.name: s for s in make.SPECS}


def _rows() -> list[dict]:
    with open(LAB / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _rows() if (LAB / "MANIFEST.tsv").exists() else []


def tshark(path: Path, *args: str) -> str:
    res = subprocess.run(["tshark", "-r", str(path), "-o", "rtp.heuristic_rtp:FALSE", *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def finals(path: Path, caller: str) -> list[int]:
    """Final responses to INVITE received by `caller`, from tshark."""
    out = tshark(path, "-Y", f'sip.Status-Code >= 200 and sip.CSeq.method == "INVITE" and ip.dst == {caller}',
                 "-T", "fields", "-e", "sip.Status-Code")
    return [int(x) for x in out.split()]


STREAM_LINE = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-F]+)\s+(\S+)\s+"
                         r"(\d+)\s+(-?\d+) \([^)]*\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", re.I)


def streams(path: Path) -> list[dict]:
    """`tshark -q -z rtp,streams` rows: start, end, src, dst, ssrc, payload, packets, max delta [ms]."""
    rows = []
    for line in tshark(path, "-q", "-z", "rtp,streams").splitlines():
        m = STREAM_LINE.match(line)
        if m:
            rows.append(dict(start=float(m[1]), end=float(m[2]), src=m[3], dst=m[5], ssrc=m[7].lower(),
                             payload=m[8], packets=int(m[9]), max_delta=float(m[13])))
    return rows


def payloads(path: Path, src: str, dst: str, ssrc: str | None = None) -> list[bytes]:
    flt = f"rtp and ip.src == {src} and ip.dst == {dst}" + (f" and rtp.ssrc == {ssrc}" if ssrc else "")
    out = tshark(path, "-Y", flt, "-T", "fields", "-e", "rtp.payload")
    return [bytes.fromhex(x.replace(":", "")) for x in out.split()]


# RFC 4867 table 1a/1b (AMR, AMR-WB): speech frame sizes [bytes] for FT 7 (12.2) / FT 8 (23.85)
AMR_FRAME = {("AMR", 7): 31, ("AMR-WB", 8): 60}


def decode_amr_octet_aligned(pkts: list[bytes], codec: str, ft: int) -> np.ndarray:
    """Octet-aligned, one frame per packet (RFC 4867 4.4): CMR byte, ToC byte, frame.
    Checks that layout, then decodes with libopencore through PyAV -> float PCM [-1, 1)."""
    import av
    ctx = av.CodecContext.create("libopencore_amrwb" if codec == "AMR-WB" else "libopencore_amrnb", "r")
    out = []
    for p in pkts:
        assert len(p) == 2 + AMR_FRAME[(codec, ft)], f"payload of {len(p)} bytes"
        assert p[1] & 0x80 == 0 and (p[1] >> 3) & 0x0F == ft, f"ToC {p[1]:#04x}"
        # storage-format frame header = ToC without F bit (RFC 4867 5.3)
        out += [f.to_ndarray().ravel() for f in ctx.decode(av.Packet(bytes([p[1] & 0x7C]) + p[2:]))]
    return np.concatenate(out).astype(float) / 32768


def decode_alaw(pkts: list[bytes]) -> np.ndarray:
    import av
    ctx = av.CodecContext.create("pcm_alaw", "r")
    ctx.sample_rate = 8000
    ctx.layout = "mono"
    out = [f.to_ndarray().ravel() for p in pkts for f in ctx.decode(av.Packet(p))]
    return np.concatenate(out).astype(float) / 32768


def tone_blocks(pcm: np.ndarray, rate: int, block_s: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Per block: share of energy within 425 +- 25 Hz, and RMS level [dBFS]."""
    n = int(rate * block_s)
    x = pcm[: len(pcm) // n * n].reshape(-1, n)
    spec = np.abs(np.fft.rfft(x * np.hanning(n), axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1 / rate)
    share = spec[:, np.abs(f - 425) <= 25].sum(1) / np.maximum(spec.sum(1), 1e-20)
    level = 10 * np.log10(np.mean(x**2, axis=1) + 1e-12)
    return share, level


def assert_ringback(pcm: np.ndarray, rate: int) -> None:
    """Europe ringback from t=0 (+-0.2 s): tone in 0.2-0.8 s and 5.2-5.8 s, quiet in 1.5-4.5 s.
    Expected level: a sine of peak 10**(-10/20) FS has RMS -10 - 3.01 = -13.0 dBFS."""
    share, level = tone_blocks(pcm, rate)
    on = np.r_[2:8, 52:58]
    off = np.r_[15:45]
    assert np.all(share[on] > 0.95), share[on]
    assert np.all(np.abs(level[on] + 13.0) < 1.5), level[on]
    assert np.all(level[off] < -50), level[off]


def assert_no_tone(pcm: np.ndarray, rate: int) -> None:
    share, level = tone_blocks(pcm, rate)
    assert not np.any((share > 0.9) & (level > -40)), "a 425 Hz tone where none was played"


# ---------------------------------------------------------------- (a) bundled captures
def test_manifest_lists_every_scenario_and_file():
    assert [r["name"] for r in ROWS] == list(SPECS)
    assert sorted(r["file"] for r in ROWS) == sorted(p.name for p in LAB.glob("*.pcap"))
    for r in ROWS:
        assert r["made_by"] == f"python -m tools.lab.make {r['name']}"
        assert (LAB / r["file"]).stat().st_size < 1_000_000


@pytest.mark.requires_tshark
@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_capture_matches_manifest(row):
    spec, path, desc = SPECS[row["name"]], LAB / row["file"], row["description"]
    got = tuple(c for ip in spec.callers for c in finals(path, ip))
    assert got == spec.final
    assert f"final response {'/'.join(map(str, spec.final))}" in desc
    mime = set(",".join(tshark(path, "-Y", "sdp", "-T", "fields", "-e", "sdp.mime.type").split()).split(","))
    for codec in spec.codecs:
        assert codec in mime and codec.split("-")[0] in desc
    rtp = streams(path)
    assert len(rtp) == spec.streams
    assert all(s["payload"] == spec.payload and s["packets"] > 0 for s in rtp)
    assert (f"{len(rtp)} RTP streams" in desc) if rtp else ("no RTP" in desc)


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name,codec,ft,rate", [("ringback_amrwb", "AMR-WB", 8, 16000),
                                                ("ringback_amrnb", "AMR", 7, 8000)])
def test_callee_plays_ringback_caller_does_not(name, codec, ft, rate):
    path = LAB / f"{name}.pcap"
    b_to_a = decode_amr_octet_aligned(payloads(path, "10.0.0.2", "10.0.0.1"), codec, ft)
    a_to_b = decode_amr_octet_aligned(payloads(path, "10.0.0.1", "10.0.0.2"), codec, ft)
    assert_ringback(b_to_a, rate)
    assert_no_tone(a_to_b, rate)
    assert np.max(np.abs(a_to_b)) > 0.1  # the caller's speech is there


@pytest.mark.requires_tshark
def test_early_media_is_rtpengine_tone_before_200():
    path = LAB / "early_media_ringback.pcap"
    t200 = float(tshark(path, "-Y", 'sip.Status-Code == 200 and sip.CSeq.method == "INVITE" and ip.dst == 10.0.0.1',
                        "-T", "fields", "-e", "frame.time_relative").split()[0])
    early = [s for s in streams(path) if s["end"] < t200]
    assert len(early) == 1 and early[0]["src"] == "10.0.0.10" and early[0]["dst"] == "10.0.0.1"
    t183 = float(tshark(path, "-Y", "sip.Status-Code == 183 and ip.dst == 10.0.0.1",
                        "-T", "fields", "-e", "frame.time_relative").split()[0])
    from_a = [s for s in streams(path) if s["src"] == "10.0.0.1"]
    assert len(from_a) == 1 and t183 < from_a[0]["start"] < t200  # A's media starts on the 183
    assert not [s for s in streams(path) if s["src"] == "10.0.0.2" and s["start"] < t200]
    pcm = decode_alaw(payloads(path, "10.0.0.10", "10.0.0.1", early[0]["ssrc"]))
    assert_ringback(pcm, 8000)


@pytest.mark.requires_tshark
def test_relay_stall_gaps_only_on_relayed_streams():
    rows = streams(LAB / "relay_stall.pcap")
    relayed = [s for s in rows if s["src"] == "10.0.0.10"]
    phones = [s for s in rows if s["src"] != "10.0.0.10"]
    assert len(relayed) == 4 and len(phones) == 4
    assert all(60 < s["max_delta"] < 150 for s in relayed)   # 80 ms SIGSTOP vs 20 ms spacing
    assert all(s["max_delta"] < 40 for s in phones)


# ---------------------------------------------------------------- (b) a real call now
def _can_capture_lo() -> str:
    if not have_baresip():
        return "baresip (baresip-core) not installed"
    for tool in ("dumpcap", "tshark", "timeout"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    if os.geteuid() != 0:
        return "dumpcap on lo needs root here"
    return ""


@pytest.mark.lab
@pytest.mark.requires_tshark
def test_real_loopback_call(tmp_path):
    reason = _can_capture_lo()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "call.pcap"
    procs = scenarios.loopback_call(out, seconds=3.0)
    for p in procs:  # every process we started has ended, its whole group too
        assert p.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(p.pid, 0)
    assert finals(out, "127.0.0.1") == [200]
    methods = tshark(out, "-Y", "sip.Method", "-T", "fields", "-e", "sip.Method").split()
    assert methods == ["INVITE", "ACK", "BYE"]
    rtp = streams(out)
    assert len(rtp) == 2 and all(s["payload"] == "AMR-WB" for s in rtp)
    # 3 s of 20 ms packets = 150 (+-2 for the first/last packet around start and BYE)
    assert all(abs(s["packets"] - 150) <= 3 for s in rtp)
    # which side played the 3 s tone file (burst 0-1 s): exactly one stream, the callee's
    pcms = {(r["src"], r["ssrc"]): decode_amr_octet_aligned(
        [p for p in payloads(out, "127.0.0.1", "127.0.0.1", r["ssrc"])], "AMR-WB", 8) for r in rtp}
    shares = sorted(float(np.min(tone_blocks(x, 16000)[0][1:9])) for x in pcms.values())
    assert shares[0] < 0.5 < 0.95 < shares[1]


# ---------------------------------------------------------------- description details
def _sdp_attrs(path: Path, flt: str) -> list[str]:
    return tshark(path, "-Y", flt, "-T", "fields", "-e", "sdp.media_attr").splitlines()


@pytest.mark.requires_tshark
def test_fmtp_line_removed_by_kamailio():
    path = LAB / "fmtp_rewrite_reject.pcap"
    offer_a = _sdp_attrs(path, "sip.Method == INVITE and ip.src == 10.0.0.1")[0]
    offer_b = _sdp_attrs(path, "sip.Method == INVITE and ip.dst == 10.0.0.2")[0]
    assert "fmtp:96 octet-align=1" in offer_a and "rtpmap:96 AMR-WB/16000" in offer_a
    assert "fmtp:96" not in offer_b and "rtpmap:96 AMR-WB/16000" in offer_b
    rejected = tshark(path, "-Y", "sip.Status-Code == 488 and ip.src == 10.0.0.2", "-T", "fields",
                      "-e", "sip.Status-Code").split()
    assert rejected == ["488"]  # the callee itself rejects, kamailio relays


@pytest.mark.requires_tshark
def test_mismatch_offer_and_bare_488():
    path = LAB / "codec_mismatch_488.pcap"
    media = tshark(path, "-Y", "sip.Method == INVITE", "-T", "fields", "-e", "sdp.media").strip()
    assert media.split()[2:] == ["RTP/AVP", "3", "101"]
    out = tshark(path, "-Y", "sip.Status-Code == 488", "-T", "fields", "-e", "sip.Warning", "-e", "sip.Reason")
    assert out.strip() == ""


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["relay_rtpengine", "relay_stall"])
def test_relay_both_legs_same_ssrc_and_sdp_rewritten(name):
    path = LAB / f"{name}.pcap"
    rtp = streams(path)
    by_ssrc: dict[str, list[dict]] = {}
    for s in rtp:
        by_ssrc.setdefault(s["ssrc"], []).append(s)
    # each direction: phone -> 10.0.0.10 and 10.0.0.10 -> phone, one SSRC (rtpengine relays as is)
    assert all(len(v) == 2 and sum(s["src"] == "10.0.0.10" for s in v) == 1 for v in by_ssrc.values())
    conn = set(tshark(path, "-Y", "sip.Method == INVITE and ip.src == 10.0.0.10", "-T", "fields",
                      "-e", "sdp.connection_info.address").split())
    assert conn == {"10.0.0.10"}
