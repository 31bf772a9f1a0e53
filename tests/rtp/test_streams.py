"""labkit.rtp: RTP streams identical to Wireshark 4.0.17.

Oracles: hand-derived values from the Wireshark 4.0 formulas (REFERENCE.md section 1,
ui/tap-rtp-analysis.c), and tshark/sharkd 4.0.17 run live on every capture under data/,
every shared capture, and synthetic edge-case captures built here with labkit.capture.frames.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, shared_capture_files
from labkit import rtp
from labkit.capture import frames
from labkit.capture import read_capture
from labkit.errors import LabkitError

T0 = 1_700_000_000_000_000_000  # [ns] capture start of the synthetic files
KEY = ["ssrc", "src", "sport", "dst", "dport"]
FLOATS = ["min_delta", "mean_delta", "max_delta", "min_jitter", "mean_jitter", "max_jitter"]


# ------------------------------------------------------------------ builders
def rtp_rec(t_ms, *, pt, seq, ts, ssrc, src="10.0.0.1", dst="10.0.0.2", sport=40000,
            dport=50000, marker=False, body=bytes(160), **kw):
    """One pcap record (time [ns], frame) carrying an RTP packet over UDP/IPv4|6."""
    pkt = frames.rtp(body, pt=pt, seq=seq, ts=ts, ssrc=ssrc, marker=marker, **kw)
    return (T0 + int(round(t_ms * 1e6)), frames.udp_frame(pkt, src, dst, sport, dport))


def sip_rec(t_ms, first_line, *, src, dst, call_id, cseq, sdp=None):
    """A SIP request/response over UDP 5060 with an optional SDP body."""
    body = sdp or ""
    head = [first_line, f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK{cseq}",
            "From: <sip:a@x>;tag=1", "To: <sip:b@x>", f"Call-ID: {call_id}",
            f"CSeq: {cseq} INVITE"]
    if sdp:
        head.append("Content-Type: application/sdp")
    head.append(f"Content-Length: {len(body)}")
    text = "\r\n".join(head) + "\r\n\r\n" + body
    return (T0 + int(round(t_ms * 1e6)),
            frames.udp_frame(text.encode(), src, dst, 5060, 5060))


def sdp_text(addr, port, pts, rtpmap):
    from labkit.capture.frames import sdp_body
    return sdp_body(addr, port, pts, attributes=[f"a=rtpmap:{pt} {name}" for pt, name in rtpmap.items()])


def series(n, *, pt=8, step=160, seq0=1000, ts0=5000, ssrc=0x1111, t0=0.0, ptime=20.0,
           jitter=None, **kw):
    """n records of one stream; `jitter` = list of per-packet offsets [ms]."""
    out = []
    for i in range(n):
        dt = jitter[i % len(jitter)] if jitter else 0.0
        out.append(rtp_rec(t0 + i * ptime + dt, pt=pt, seq=(seq0 + i) & 0xFFFF,
                           ts=(ts0 + i * step) & 0xFFFFFFFF, ssrc=ssrc, **kw))
    return out


def write(tmp_path, name, recs):
    path = tmp_path / name
    frames.write_pcap(path, sorted(recs, key=lambda r: r[0]))
    return path


def streams(path, **kw):
    return rtp.rtp_streams(read_capture(path, progress=False), **kw)


# ------------------------------------------------------- hand-derived values
def test_three_packets_hand_computed(tmp_path):
    # PCMA 8 kHz, timestamps 0, 160, 320 (= 0, 20, 40 ms); arrivals 0, 20, 45 ms.
    # packet 2: delta 20, expected 0 + 20 = 20 -> D 0, J 0.
    # packet 3: delta 25, expected 20 + 20 = 40 -> D 5, J = (15*0 + 5)/16 = 0.3125.
    # mean delta: n=1: 20; n=2: (20*1 + 25)/2 = 22.5; mean jitter (0*1 + 0.3125)/2.
    recs = [rtp_rec(t, pt=8, seq=7 + i, ts=160 * i, ssrc=0xABC) for i, t in
            enumerate([0, 20, 45])]
    s = streams(write(tmp_path, "three.pcap", recs)).iloc[0]
    assert (s.packets, s.lost, s.problem) == (3, 0, False)
    assert (s.min_delta, s.max_delta, s.mean_delta) == (20.0, 25.0, 22.5)
    assert (s.min_jitter, s.max_jitter) == (0.0, 0.3125)
    assert s.mean_jitter == pytest.approx(0.3125 / 2)
    assert s.payloads == "g711A" and s.clock_rate == 8000


def test_reorder_duplicate_loss_wrap_counts(tmp_path):
    # seq 65534, 65535, 1, 0, 2, 2: the wrap 65535->0 is lost in order, seq 1 is a
    # forward jump (1 error), 0 is late (1 error, not tracked), 2 is in order, the
    # second 2 is a duplicate (1 error). cycles: 1 (seq < start after the wrap).
    # expected = 2 + 65536 - 65534 + 1 = 5, received 6 -> lost -1.
    seqs = [65534, 65535, 1, 0, 2, 2]
    recs = [rtp_rec(20 * i, pt=0, seq=s, ts=160 * i, ssrc=0x77) for i, s in enumerate(seqs)]
    rp = rtp.find_rtp(read_capture(write(tmp_path, "wrap.pcap", recs)), sdp=pd.DataFrame())
    st = rp.stats()
    assert st.seq_errors[0] == 3 and st.cycles[0] == 1
    assert st.expected[0] == 5 and st.lost[0] == -1 and st.problem[0]


def test_dynamic_pt_without_sdp_has_no_jitter_and_override(tmp_path):
    # PT 96 without SDP: clock rate 0 -> tshark prints min jitter -1, mean/max 0.
    recs = series(50, pt=96, step=320, jitter=[0, 1.5, -0.7])
    path = write(tmp_path, "dyn.pcap", recs)
    s = streams(path).iloc[0]
    assert (s.min_jitter, s.mean_jitter, s.max_jitter) == (-1.0, 0.0, 0.0)
    assert s.payloads == "RTPType-96"
    o1 = streams(path, clock_rates={96: "AMR-WB"}).iloc[0]
    o2 = streams(path, clock_rates={96: 16000}).iloc[0]
    assert o1.clock_rate == o2.clock_rate == 16000 and o1.max_jitter > 0
    assert o1.max_jitter == o2.max_jitter and o1.payloads == "AMR-WB"


def test_clock_rate_table():
    assert rtp.clock_rate_of(0) == 8000 and rtp.clock_rate_of(9) == 8000
    assert rtp.clock_rate_of(11) == 44100 and rtp.clock_rate_of(20) == 0
    assert rtp.clock_rate_of(96) == 0
    assert rtp.clock_rate_of(96, "AMR-WB") == 16000 and rtp.clock_rate_of(97, "AMR") == 8000
    assert rtp.clock_rate_of(101, "telephone-event", 8000) == 0
    assert rtp.clock_rate_of(111, "opus", 48000) == 48000
    assert rtp.payload_type_name(8) == "g711A" and rtp.payload_type_name(120) == "RTPType-120"


def test_stream_payloads_and_timing(tmp_path):
    recs = series(5, pt=0, body=b"\x01\x02\x03", padding=3)
    recs += series(3, pt=0, ssrc=0x2222, body=b"xyz", csrc=(1, 2), ext=(0xBEDE, b"\x10\x20"))
    rp = rtp.find_rtp(read_capture(write(tmp_path, "pl.pcap", recs)), sdp=pd.DataFrame())
    assert rtp.stream_payloads(rp, 0) == [b"\x01\x02\x03"] * 5
    assert rtp.stream_payloads(rp, 0x2222) == [b"xyz"] * 3
    tm = rtp.stream_timing(rp, 0)
    assert list(tm["seq"]) == [1000, 1001, 1002, 1003, 1004]
    assert list(tm["delta"]) == [0.0, 20.0, 20.0, 20.0, 20.0]
    with pytest.raises(LabkitError):
        rtp.stream_timing(rp, 99)


def test_rtcp_is_separated(tmp_path):
    sr = bytes([0x80, 200, 0, 6]) + (0x1111).to_bytes(4, "big") + bytes(20)
    recs = series(10, pt=8) + [(T0 + 55_000_000, frames.udp_frame(
        sr, "10.0.0.1", "10.0.0.2", 40001, 50001))]
    pk = read_capture(write(tmp_path, "rtcp.pcap", recs))
    assert len(rtp.rtp_streams(pk)) == 1
    rc = rtp.find_rtcp(pk)
    assert list(rc["rtcp_pt"]) == [200] and list(rc["ssrc"]) == [0x1111]


# -------------------------------------------------------- vs tshark (oracle)
def compare_with_tshark(path, heuristic=True, **kw):
    from labkit.capture.wireshark import tshark_rtp_streams
    ours = streams(path, heuristic=heuristic, **kw)
    theirs = tshark_rtp_streams(path, heuristic=heuristic)
    assert len(ours) == len(theirs), (path, ours[KEY], theirs[KEY])
    o = ours.set_index(KEY).sort_index()
    t = theirs.set_index(KEY).sort_index()
    assert list(o.index) == list(t.index)
    for c in ["packets", "lost", "problem", "payloads"]:
        assert list(o[c]) == list(t[c]), (path, c)
    for c in FLOATS:
        assert [f"{x:.3f}" for x in o[c]] == [f"{x:.3f}" for x in t[c]], (path, c)
    assert [f"{x:.1f}" for x in o["lost_pct"]] == [f"{x:.1f}" for x in t["lost_pct"]]
    # same order as tshark (newest stream first)
    assert list(ours["ssrc"]) == list(theirs["ssrc"])


def edge_case_records():
    """Deterministic capture exercising every branch of the 4.0 analysis."""
    rng = random.Random(7)
    jit = [rng.uniform(-2, 2) for _ in range(37)]
    recs = []
    # SIP offer/answer: AMR-WB PT 96 + telephone-event 101 on 10.5.0.1:41000/10.5.0.2:42000
    offer = sdp_text("10.5.0.1", 41000, [96, 101], {96: "AMR-WB/16000", 101: "telephone-event/16000"})
    answer = sdp_text("10.5.0.2", 42000, [96, 101], {96: "AMR-WB/16000", 101: "telephone-event/16000"})
    recs.append(sip_rec(1, "INVITE sip:b@10.5.0.2 SIP/2.0", src="10.5.0.1", dst="10.5.0.2",
                        call_id="c1", cseq=1, sdp=offer))
    recs.append(sip_rec(2, "SIP/2.0 200 OK", src="10.5.0.2", dst="10.5.0.1", call_id="c1",
                        cseq=1, sdp=answer))
    # media both ways with DTMF events in the middle (clock 0, T_EVENT)
    for d, (s, sp, dd, dp) in enumerate([("10.5.0.1", 41000, "10.5.0.2", 42000),
                                         ("10.5.0.2", 42000, "10.5.0.1", 41000)]):
        for i in range(120):
            te = 40 <= i < 46
            recs.append(rtp_rec(10 + i * 20 + jit[i % 37], pt=101 if te else 96, seq=300 + i,
                                ts=(9000 if te else 320 * i), ssrc=0xA0 + d, src=s, dst=dd,
                                sport=sp, dport=dp, marker=(i in (0, 40, 46)),
                                body=bytes(4 if te else 61)))
    # PCMA: seq and timestamp wrap, loss, duplicate, reorder, marker, CN, wrong timestamp
    body = []
    for i in range(300):
        seq, ts, pt, mk, t = (65500 + i) & 0xFFFF, (2**32 - 8000 + 160 * i) % 2**32, 8, False, 5 + i * 20 + jit[i % 37]
        if i in (30, 31, 150):
            continue                          # loss
        if 60 <= i < 70:
            pt = 13                           # comfort noise (DTX)
        if i == 70:
            mk = True                         # talkspurt start
        if i == 200:
            ts = (ts - 2**31 - 10) % 2**32    # wrong timestamp
        body.append([t, seq, ts, pt, mk])
        if i in (100, 250):
            body.append([t + 0.3, seq, ts, pt, mk])  # duplicate
    body[120], body[121] = body[121], body[120]      # reorder (times stay ordered)
    body[120][0], body[121][0] = body[121][0], body[120][0]
    for t, seq, ts, pt, mk in body:
        recs.append(rtp_rec(t, pt=pt, seq=seq, ts=ts, ssrc=0xC0FFEE, marker=mk,
                            src="10.6.0.1", dst="10.6.0.2", sport=20000, dport=20002))
    # seq jump backwards by more than 0xFF00 (taken as a forward wrap), PT change 0 -> 8
    for i in range(80):
        seq = (100 + i - (65300 if i >= 40 else 0)) & 0xFFFF
        recs.append(rtp_rec(3 + i * 20, pt=0 if i < 50 else 8, seq=seq, ts=160 * i,
                            ssrc=0xBEEF, src="10.7.0.1", dst="10.7.0.2", sport=22000,
                            dport=22002))
    # IPv6, dynamic PT 97 without SDP, CSRC + extension + padding
    for i in range(60):
        recs.append(rtp_rec(7 + i * 30 + jit[i % 37], pt=97, seq=i, ts=480 * i, ssrc=0x66,
                            src="2001:db8::1", dst="2001:db8::2", sport=33000, dport=33002,
                            csrc=(5,), ext=(1, b"abcd"), padding=(4 if i % 7 == 0 else 0)))
    # a flow seen by the heuristic before its SDP keeps the heuristic conversation, whose
    # payload-type map is empty: PT 96 stays "RTPType-96" even after the SDP
    late = sdp_text("10.8.0.2", 46000, [96], {96: "AMR/8000"})
    recs.append(sip_rec(2000, "INVITE sip:x@10.8.0.2 SIP/2.0", src="10.8.0.1", dst="10.8.0.2",
                        call_id="c2", cseq=1, sdp=late))
    recs += series(40, pt=96, ssrc=0x88, src="10.8.0.1", dst="10.8.0.2", sport=44000,
                   dport=46000, t0=1910, jitter=jit)
    recs += series(30, pt=96, ssrc=0x89, src="10.8.0.3", dst="10.8.0.2", sport=44002,
                   dport=46000, t0=2105, jitter=jit)
    # not RTP for Wireshark: PT 72 (RTCP range), version 1, DNS port, RTCP SR
    recs.append(rtp_rec(50, pt=72, seq=1, ts=1, ssrc=9, sport=45000, dport=45002))
    v1 = bytearray(frames.rtp(bytes(20), pt=0, seq=1, ts=1, ssrc=10))
    v1[0] = 0x40
    recs.append((T0 + 60_000_000, frames.udp_frame(bytes(v1), "10.0.0.9", "10.0.0.8", 45004, 45006)))
    recs += series(5, pt=0, ssrc=0xD5, sport=45008, dport=53, t0=70)
    sr = bytes([0x80, 200, 0, 6]) + bytes(24)
    recs.append((T0 + 80_000_000, frames.udp_frame(sr, "10.6.0.1", "10.6.0.2", 20001, 20003)))
    return recs


@pytest.mark.requires_tshark
@pytest.mark.parametrize("heuristic", [True, False])
def test_edge_cases_equal_tshark(tmp_path, heuristic):
    path = write(tmp_path, "edges.pcap", edge_case_records())
    compare_with_tshark(path, heuristic=heuristic)


@pytest.mark.requires_tshark
@pytest.mark.parametrize("seed", range(6))
def test_random_impairments_equal_tshark(tmp_path, seed):
    rng = random.Random(seed)
    recs = []
    for k in range(3):
        seq0, ts0 = rng.choice([0, 65535, 65400, rng.randrange(65536)]), rng.randrange(2**32)
        pt = rng.choice([0, 8, 9, 18, 3])
        i = 0
        for n in range(rng.randrange(80, 300)):
            r = rng.random()
            t = k * 3.3 + n * 20 + rng.uniform(-4, 4)
            seq, ts, mk, p = seq0 + n, ts0 + 160 * n, n == 0, pt
            if r < 0.04:
                continue
            if r < 0.07:
                seq -= rng.choice([1, 2, 3, 40000])
            elif r < 0.09:
                mk = True
            elif r < 0.11:
                p = 13
            elif r < 0.12:
                ts += rng.choice([-2**31, 2**31 + 3, -4000])
            recs.append(rtp_rec(t, pt=p, seq=seq & 0xFFFF, ts=ts % 2**32, ssrc=0x500 + k,
                                sport=31000 + 2 * k, dport=32000 + 2 * k, marker=mk))
            i += 1
    compare_with_tshark(write(tmp_path, f"rand{seed}.pcap", recs))


def _data_captures():
    return sorted(p for p in (REPO / "data").glob("**/*") if p.suffix in (".pcap", ".pcapng"))


@pytest.mark.requires_tshark
@pytest.mark.parametrize("path", _data_captures(), ids=lambda p: p.name)
@pytest.mark.parametrize("heuristic", [True, False])
def test_data_captures_equal_tshark(path, heuristic):
    compare_with_tshark(path, heuristic=heuristic)


# The rtpproxy DLT_NULL capture carries RTP from udp/12002 to udp/12344: tshark 4.0 gives
# port 12002 to another dissector (it shows "LLC"), so it lists no stream unless told
# `-d udp.port==12344,rtp`; labkit.rtp reproduces that (port 12002 is in
# PORTS_CLAIMED_BEFORE_HEURISTIC), so the file is compared like every other one.
_SHARED_DIFFERENT: set = set()


@pytest.mark.requires_tshark
@pytest.mark.requires_shared
@pytest.mark.parametrize("path", [p for p in shared_capture_files()
                                  if p.suffix in (".pcap", ".pcapng")
                                  and p.name not in _SHARED_DIFFERENT], ids=lambda p: p.name)
@pytest.mark.parametrize("heuristic", [True, False])
def test_shared_captures_equal_tshark(path, heuristic):
    if not path.exists():
        pytest.skip(f"{path} absent")
    compare_with_tshark(path, heuristic=heuristic)


# ------------------------------------------------ per packet vs sharkd (oracle)
@pytest.mark.requires_tshark
def test_stream_timing_equals_sharkd(tmp_path):
    from labkit.capture.wireshark import sharkd_rtp_analyse
    path = write(tmp_path, "edges.pcap", edge_case_records())
    rp = rtp.find_rtp(read_capture(path))
    for sid in range(rp.n_streams):
        k = rp.keys.iloc[sid]
        if ":" in k.src:
            continue  # sharkd 4.0 rtp-analyse accepts IPv4 stream keys only
        ours = rtp.stream_timing(rp, sid)
        sh = sharkd_rtp_analyse(path, k.src, k.sport, k.dst, k.dport, int(k.ssrc),
                                prefs={"rtp.heuristic_rtp": "TRUE"})
        assert list(sh["f"]) == list(ours["frame"])
        assert list(sh["sn"]) == list(ours["seq"])
        for a, b in (("d", "delta"), ("j", "jitter"), ("sk", "skew")):
            assert [f"{x:.2f}" for x in sh[a]] == [f"{x:.2f}" for x in ours[b]], (sid, b)
        assert np.allclose(sh["o"].astype(float) * 1000, ours["arrival"], atol=1e-3)
        status = sh["s"].fillna("") if "s" in sh else pd.Series([""] * len(sh))
        assert list(status) == list(ours["status"]), sid


# ------------------------------------------- the port list is tshark's, measured
@pytest.mark.requires_tshark
def test_ports_claimed_before_heuristic_match_tshark():
    from labkit.capture.wireshark import ports_claiming_rtp
    assert frozenset(ports_claiming_rtp()) == rtp.PORTS_CLAIMED_BEFORE_HEURISTIC


# ------------------------------------------------------------------ plots/widgets
def test_plot_stream_timing_draws_what_was_computed(tmp_path):
    from labkit import plots
    recs = series(30, pt=0, jitter=[0, 2, -1])
    rp = rtp.find_rtp(read_capture(write(tmp_path, "p.pcap", recs)), sdp=pd.DataFrame())
    tm = rtp.stream_timing(rp, 0)
    ax = plots.plot_stream_timing(tm)
    assert [l.get_label() for l in ax.get_lines()] == ["delta [ms]", "jitter [ms]", "skew [ms]"]
    assert np.allclose(ax.get_lines()[1].get_ydata(), tm["jitter"])
    ax2 = plots.plot_delta_histogram(tm)
    assert sum(p.get_height() for p in ax2.patches) == len(tm) - 1


def test_stream_picker_lists_every_stream(tmp_path):
    from labkit import widgets
    recs = series(10, pt=0) + series(10, pt=8, ssrc=0x2222, sport=40002)
    rp = rtp.find_rtp(read_capture(write(tmp_path, "w.pcap", recs)), sdp=pd.DataFrame())
    box = widgets.stream_picker(rp)
    assert [v for _, v in box.children[0].options] == [0, 1]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("mix", ["g711", "mixed"])
def test_benchmark_capture_equals_tshark(tmp_path, mix):
    """The benchmark generator's capture (small size) gives tshark's table too."""
    import sys
    sys.path.insert(0, str(REPO / "benchmarks"))
    import make_bench_capture
    path = make_bench_capture.write(tmp_path / "bench.pcap", 4000, 40, mix)
    compare_with_tshark(path)


def offer_answer_records():
    """183 early media, 200 OK, re-INVITE changing PT 96 to AMR-WB and a port, 488."""
    a, b = "10.9.0.1", "10.9.0.2"
    recs = [sip_rec(0, f"INVITE sip:b@{b} SIP/2.0", src=a, dst=b, call_id="r1", cseq=1,
                    sdp=sdp_text(a, 30000, [96, 101], {96: "AMR/8000",
                                                       101: "telephone-event/8000"})),
            sip_rec(5, "SIP/2.0 183 Session Progress", src=b, dst=a, call_id="r1", cseq=1,
                    sdp=sdp_text(b, 31000, [96], {96: "AMR/8000"}))]
    recs += series(50, pt=96, ssrc=0x31, src=b, dst=a, sport=31000, dport=30000, t0=10,
                   jitter=[0, 1, 2])
    recs.append(sip_rec(1020, "SIP/2.0 200 OK", src=b, dst=a, call_id="r1", cseq=1,
                        sdp=sdp_text(b, 31000, [96], {96: "AMR/8000"})))
    recs += series(50, pt=96, ssrc=0x30, src=a, dst=b, sport=30000, dport=31000, t0=1030,
                   jitter=[0, -1, 3])
    wb = {96: "AMR-WB/16000"}
    recs.append(sip_rec(2100, f"INVITE sip:b@{b} SIP/2.0", src=a, dst=b, call_id="r1",
                        cseq=2, sdp=sdp_text(a, 30002, [96], wb)))
    recs.append(sip_rec(2110, "SIP/2.0 200 OK", src=b, dst=a, call_id="r1", cseq=2,
                        sdp=sdp_text(b, 31000, [96], wb)))
    recs += series(50, pt=96, step=320, ssrc=0x40, src=a, dst=b, sport=30002, dport=31000,
                   t0=2200, jitter=[0, 2])
    recs += series(50, pt=96, step=320, ssrc=0x41, src=b, dst=a, sport=31000, dport=30002,
                   t0=2205, jitter=[1, 0])
    recs.append(sip_rec(4000, f"INVITE sip:b@{b} SIP/2.0", src=a, dst=b, call_id="r2", cseq=1,
                        sdp=sdp_text(a, 30010, [0], {})))
    recs.append(sip_rec(4010, "SIP/2.0 488 Not Acceptable Here", src=b, dst=a, call_id="r2",
                        cseq=1, sdp=sdp_text(b, 31010, [0], {})))
    recs += series(20, pt=0, ssrc=0x50, src=b, dst=a, sport=31010, dport=30010, t0=4020)
    return recs


@pytest.mark.requires_tshark
@pytest.mark.parametrize("heuristic", [True, False])
def test_offer_answer_variants_equal_tshark(tmp_path, heuristic):
    # jitter 1/16 ms = 0.0625 is a printing tie: tshark prints 0.062 (exact binary value)
    compare_with_tshark(write(tmp_path, "oa.pcap", offer_answer_records()), heuristic=heuristic)


def test_header_bytes_read_from_file_equal_head(tmp_path):
    """find_rtp reads RTP headers with file reads (bounded memory): same bytes as head(),
    including reassembled datagrams (which live outside the file) and short payloads."""
    from labkit.rtp.detect import _head_from_file
    recs = series(20, pt=0)
    big = frames.rtp(bytes(range(256)) * 12, pt=8, seq=5, ts=5, ssrc=0xF00)
    dgram = frames.udp(big, 41000, 51000, "10.0.0.1", "10.0.0.2")
    for i, frag in enumerate(frames.ipv4_fragments(dgram, "10.0.0.1", "10.0.0.2", 17,
                                                   fragment_size=1000, ident=77)):
        recs.append((T0 + 500_000_000 + i * 1000, frames.ethernet(frag, ethertype=0x0800)))
    recs.append((T0 + 600_000_000, frames.udp_frame(b"\x80\x08", "10.0.0.1", "10.0.0.2", 1, 2)))
    pk = read_capture(write(tmp_path, "frag.pcap", recs))
    assert (np.asarray(pk.payload_offset) >= (tmp_path / "frag.pcap").stat().st_size).any()
    assert np.array_equal(_head_from_file(pk, 16), pk.head(16))
    for path in _data_captures()[:8]:
        pk = read_capture(path)
        assert np.array_equal(_head_from_file(pk, 16), pk.head(16)), path.name


@pytest.mark.requires_tshark
def test_snaplen_truncated_capture_equals_tshark(tmp_path):
    # 60-byte snap length leaves 18 bytes of UDP payload: tshark keeps the plain stream
    # and the one whose CSRC list fits, and drops padded packets (padding count not
    # captured) and headers whose CSRC list or extension was cut.
    recs = series(30, pt=0, ssrc=0xA, sport=40000, dport=50000)
    recs += series(30, pt=0, ssrc=0xB, sport=40002, dport=50002, padding=4)
    recs += series(30, pt=0, ssrc=0xC, sport=40004, dport=50004, csrc=(1, 2, 3))
    recs += series(30, pt=0, ssrc=0xD, sport=40006, dport=50006, ext=(1, bytes(8)))
    recs += series(30, pt=0, ssrc=0xE, sport=40008, dport=50008, csrc=(1,))
    path = tmp_path / "snap60.pcap"
    frames.write_pcap(path, sorted(recs, key=lambda r: r[0]), snaplen=60)
    compare_with_tshark(path)
    assert sorted(streams(path)["ssrc"]) == [0xA, 0xE]
