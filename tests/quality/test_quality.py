"""labkit.quality: delay variation, stalls, bursts, jitter buffers, E-model, host vs network.

Oracles: sharkd 4.0 rtp-analyse (per-packet skew, so transit = -skew), the ground truth
written by tools/jitterlab.py next to its real captures (SIGSTOP/SIGCONT times of the
relay, netem's per-packet log), the SIGSTOP times tools/lab wrote into
data/lab/MANIFEST.tsv for relay_stall, the examples of REFERENCE.md section 5, and values
computed by hand from RFC 3611 / RFC 5481 / G.107 (arithmetic in the comments).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from labkit import data
from labkit.capture import frames, read_capture
from labkit.errors import LabkitError
from labkit.quality import analyze_jitter
from labkit.quality import bursts, emodel, jbuf
from labkit.quality.delay import find_stalls, ipdv, pdv_percentiles, stream_track
from labkit.rtp import find_rtp

T0 = 1_700_000_000_000_000_000  # [ns]


def _truth(name):
    return json.loads(data.path(f"{name}_truth").read_text())


def _tracks(name):
    rtp = find_rtp(read_capture(data.path(name)))
    return [stream_track(rtp, s) for s in range(rtp.n_streams)]


def _series(times_ms, *, seq0=100, pt=0, ssrc=0x1234, dport=50000, step=160):
    return [(T0 + int(round(t * 1e6)), frames.udp_frame(
        frames.rtp(bytes(160), pt=pt, seq=seq0 + i, ts=1000 + i * step, ssrc=ssrc),
        "10.0.0.1", "10.0.0.2", 40000, dport)) for i, t in enumerate(times_ms)]


# ------------------------------------------------------------ per packet vs sharkd
@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["jitter_host_egress", "jitter_network_ingress"])
def test_transit_is_minus_sharkd_skew(name):
    from labkit.capture.wireshark import sharkd_rtp_analyse
    path = data.path(name)
    rtp = find_rtp(read_capture(path))
    for s in range(rtp.n_streams):
        k = rtp.keys.iloc[s]
        sh = sharkd_rtp_analyse(path, k.src, k.sport, k.dst, k.dport, int(k.ssrc),
                                prefs={"rtp.heuristic_rtp": "TRUE"})
        tr = stream_track(rtp, s)
        assert list(sh["f"]) == list(tr.frame)
        # sharkd prints skew with 2 decimals; D(i) - D(0) = -skew
        assert np.allclose(-sh["sk"].astype(float), tr.transit_ms, atol=0.0051)


def test_pdv_and_ipdv_by_hand():
    # D = 10, 12, 10, 30, 11 -> PDV 0, 2, 0, 20, 1; sorted 0 0 1 2 20; median 1, max 20
    p = pdv_percentiles([10.0, 12.0, 10.0, 30.0, 11.0])
    assert p["p50"] == 1.0 and p["max"] == 20.0
    # p95 by linear interpolation: rank 0.95 * 4 = 3.8 -> 2 + 0.8 * (20 - 2) = 16.4
    assert p["p95"] == pytest.approx(16.4)
    tr = stream_track(find_rtp(read_capture(_write([0, 20, 40, 160, 161, 162])[0])), 0)
    # transit D = arrival - nominal: 0, 0, 0, 100, 81, 62 -> IPDV 0, 0, 100, -19, -19
    assert ipdv(tr).tolist() == pytest.approx([0, 0, 100, -19, -19])


_TMP = []


def _write(times, **kw):
    import tempfile
    from pathlib import Path
    d = Path(tempfile.mkdtemp(prefix="lkj-quality-"))
    _TMP.append(d)
    path = d / "s.pcap"
    frames.write_pcap(path, _series(times, **kw))
    return path, d


def test_stall_held_then_burst_by_hand():
    # 20 ms packets, packets 3..7 (nominal 60..140) held until 150 ms, then 1 ms apart
    times = [0, 20, 40, 150, 151, 152, 153, 154, 170, 180]
    st = find_stalls(stream_track(find_rtp(read_capture(_write(times)[0])), 0))
    assert len(st) == 1
    r = st.iloc[0]
    # gap 40 -> 150 = 110 ms; timestamps differ by 20 ms: excess 90 ms
    assert r.duration_ms == pytest.approx(110.0) and r.excess_ms == pytest.approx(90.0)
    assert bool(r.held) and r.lost == 0
    assert r.burst == 5   # 150..154 back to back (< ptime/2 = 10 ms apart); 154 -> 170 is not


def test_loss_gap_is_not_a_stall():
    # packet 3 lost: arrival gap 40 ms, timestamp gap 40 ms: on time, no stall
    path, _ = _write([0, 20, 40, 80, 100])
    recs = [r for i, r in enumerate(_series([0, 20, 40, 60, 80, 100])) if i != 3]
    frames.write_pcap(path, recs)
    assert len(find_stalls(stream_track(find_rtp(read_capture(path)), 0))) == 0


# --------------------------------------------------------------- ground truth: host
def test_host_stalls_agree_with_sigstop_times():
    truth = _truth("jitter_host")
    for tr in _tracks("jitter_host_egress"):
        st = find_stalls(tr)
        assert len(st) == len(truth["stalls"]), tr.key
        for r, t in zip(st.itertuples(), truth["stalls"]):
            cont = t["start"] + t["duration_ms"] / 1e3
            # released when the relay runs again: first packet after the gap within 3 ms of SIGCONT
            assert abs(r.end - cont) < 0.003, (tr.key, r.end - cont)
            # the last packet before the gap left at most one ptime before the SIGSTOP
            assert t["start"] - 0.021 < r.start < t["start"] + 0.002
            assert r.held and r.burst >= 2


def test_host_verdict_and_events_agree_with_ground_truth():
    truth = _truth("jitter_host")
    rep = analyze_jitter(data.path("jitter_host_egress"))
    assert rep.cause == "host"
    ev = rep.events
    assert list(ev["kind"]) == ["host"] * len(truth["stalls"])
    assert list(ev["streams"]) == [4] * len(truth["stalls"])
    for e, t in zip(ev.itertuples(), truth["stalls"]):
        assert abs(e.end - (t["start"] + t["duration_ms"] / 1e3)) < 0.003
        assert e.spread_ms < 2.0


def test_ingress_of_the_frozen_relay_is_clean():
    rep = analyze_jitter(data.path("jitter_host_ingress"))
    assert rep.cause == "none" and len(rep.stalls) == 0


def _relay_stall_sigstops():
    """SIGSTOP times [s from the first frame] that tools/lab wrote in the manifest."""
    import re
    desc = data.manifest()["relay_stall"].description
    return [float(x) for x in re.search(r"SIGSTOP sent at t = ([\d., ]+) s", desc)[1].split(", ")]


def test_relay_stall_rtpengine_events_at_manifest_times():
    rtp = find_rtp(read_capture(data.path("relay_stall")))
    origin = rtp.packets.first_time_ns / 1e9
    rep = analyze_jitter(data.path("relay_stall"))
    assert rep.cause == "host"
    ends = (rep.events["end"] - origin).tolist()
    last_media = max(tr.time_s[-1] for tr in rep.tracks.values()) - origin
    stops = [t for t in _relay_stall_sigstops() if t + 0.08 < last_media]
    assert len(stops) == len(ends) == 6
    for t, e in zip(stops, ends):
        # SIGCONT 80 ms after SIGSTOP (+-1 ms); rtpengine releases within ~30 ms after it
        assert t + 0.078 < e < t + 0.080 + 0.030
    assert set(rep.events["src"]) == {"10.0.0.10"}
    # the same SSRC on both legs: the relay itself added the delay variation
    assert (rep.hops["added_pdv_ms"] > 60).all() and (rep.hops["ingress_pdv_ms"] < 20).all()


# ------------------------------------------------------------ ground truth: network
def test_network_transit_agrees_with_netem_log():
    truth = _truth("jitter_network")
    log = {(p, q): (before, after) for p, q, _, before, after in truth["netem"]}
    for tr in _tracks("jitter_network_ingress"):
        path = int(tr.key.split(" -> ")[0].split(":")[1]) - 41300   # netem sends path i from 41300+i
        win = np.array([log[(path, int(s) & 0xFFFF)] for s in tr.seq])
        # truth: netem stamped the clock just before and just after each sendto(); the
        # capture (same host clock) saw the packet in between
        assert np.all(tr.time_s > win[:, 0] - 1e-3) and np.all(tr.time_s < win[:, 1] + 1e-3), tr.key
        # D(i) from the truth = send time - RTP time; ours (= -Wireshark skew) equals it
        # within the stamping window, after the constant D(0)
        lo = (win[:, 0] - tr.time_s[0]) * 1e3 - tr.nominal_ms
        hi = (win[:, 1] - tr.time_s[0]) * 1e3 - tr.nominal_ms
        assert np.all(tr.transit_ms > lo - 1.0) and np.all(tr.transit_ms < hi + 1.0), tr.key
        dropped = {q for (p, q), (b, _) in log.items() if p == path and b is None}
        first, last = int(tr.seq.min()) & 0xFFFF, int(tr.seq.max()) & 0xFFFF
        assert tr.lost == len({q for q in dropped if first <= q <= last})


def test_network_verdict():
    rep = analyze_jitter(data.path("jitter_network_egress"))
    assert rep.cause == "network"
    assert (rep.events["kind"] == "path").all() and len(rep.events) > 4


def test_ingress_egress_pairs():
    host = analyze_jitter(data.path("jitter_host_egress"), compare=data.path("jitter_host_ingress"))
    assert host.cause == "host" and host.verdict["confidence"] == "high"
    assert len(host.hops) == 4 and (host.hops["added_pdv_ms"] > 40).all()
    net = analyze_jitter(data.path("jitter_network_egress"), compare=data.path("jitter_network_ingress"))
    assert net.cause == "network"
    assert len(net.hops) == 4 and (net.hops["added_pdv_ms"] < 10).all()
    assert (net.hops["ingress_pdv_ms"] > 50).all()


def test_clean_relay_is_none():
    assert analyze_jitter(data.path("relay_rtpengine")).cause == "none"


# ------------------------------------------------------------ RFC 3611, by hand
def test_burst_gap_by_hand():
    # 40 packets; losses at 5, 7, 8 (received runs between them < 16: one burst 5..8,
    # 4 packets, 3 lost = 75 %), and an isolated loss at 30 (gap). Gap: 36 packets with
    # 1 loss = 2.778 %; gaps 0..4 (5) and 9..39 (31) = 2 gaps, mean 18 packets = 360 ms.
    lost = np.zeros(40, bool)
    lost[[5, 7, 8, 30]] = True
    bg = bursts.burst_gap(lost, 20.0)
    assert bg["bursts"] == 1 and bg["burst_density"] == 75.0
    assert bg["gap_density"] == pytest.approx(100 / 36, abs=1e-3)
    assert bg["burst_duration_ms"] == 80.0 and bg["gap_duration_ms"] == 360.0
    # Gmin 2: the single received packet between 5 and 7 still joins; 8 -> 30 does not
    assert bursts.burst_gap(lost, 20.0, gmin=2)["bursts"] == 1


def test_burst_ratio_random_vs_clustered():
    # L R L R ... : p = 1 (from R always to L), q = 1: BurstR = 1/2
    assert bursts.burst_ratio(np.array([1, 0] * 10, bool)) == 0.5
    # 20 R then 5 L then 20 R: p = 1/39 (of 39 transitions from R, 1 to L), q = 1/5
    assert bursts.burst_ratio(np.array([0] * 20 + [1] * 5 + [0] * 20, bool)) == pytest.approx(
        1 / (1 / 39 + 1 / 5), abs=1e-4)


# ------------------------------------------------------------ jitter buffers, by hand
def test_fixed_buffer_reference_example():
    # REFERENCE.md section 5: one 200 ms stall then 10 back-to-back packets; 60 ms -> 7 drops
    nom = np.arange(0, 400, 20.0)
    arr = nom.copy()
    arr[3:13] = 260.0   # nominal 60..240 held, released together at 260 ms
    late = jbuf.fixed_buffer(arr, nom, 60.0)
    # playout 60 + nominal: 120..300; arrivals ~260 are late for nominal 60..180 (7)
    assert int(late.sum()) == 7
    assert int(jbuf.fixed_buffer(arr, nom, 200.0).sum()) == 0   # 260 < 200 + 60 + nominal


def test_rfc3550_jitter_hides_the_stall():
    # same sequence as a capture: tshark-identical jitter peaks near 16 ms while PDV max is 200
    times = [i * 20.0 for i in range(3)] + [260.0 + i * 0.1 for i in range(10)] + \
            [260.0 + (i + 1) * 20 for i in range(7)]
    path, _ = _write(times)
    rtp = find_rtp(read_capture(path))
    assert float(rtp.stats().max_jitter[0]) < 20.0
    assert pdv_percentiles(stream_track(rtp, 0).transit_ms)["max"] == pytest.approx(200.0, abs=0.01)


def test_adaptive_buffer_grows_after_repeated_stalls():
    # stalls of 100 ms every 1 s: the first costs packets, later ones cost fewer
    nom = np.arange(0, 10000, 20.0)
    arr = nom.copy()
    for s in range(1000, 10000, 1000):
        held = (nom >= s) & (nom < s + 100)
        arr[held] = s + 100
    late, playout = jbuf.adaptive_buffer(arr, nom, 20.0)
    per = [int(late[(nom >= s) & (nom < s + 1000)].sum()) for s in range(1000, 10000, 1000)]
    assert per[0] >= 3 and per[-1] < per[0]
    assert playout.max() > playout[0]


# ------------------------------------------------------------ E-model (G.107)
def test_emodel_default_and_reference_delays():
    r = emodel.r_factor()
    # REFERENCE.md section 5: R 93.2062 = Ro 94.7688 - Is 1.4136 - Idle 0.149
    assert r["R"] == pytest.approx(93.2062, abs=1e-4)
    assert r["Ro"] == pytest.approx(94.7688, abs=1e-4) and r["Is"] == pytest.approx(1.4136, abs=1e-4)
    g711 = emodel.codec_constants("g711A")
    for d, R, mos in ((150, 89.5, 4.33), (200, 85.8, 4.22), (300, 72.7, 3.72), (400, 62.3, 3.22)):
        e = emodel.e_model(0.0, 1.0, d, g711)
        assert e["R"] == pytest.approx(R, abs=0.1) and e["MOS"] == pytest.approx(mos, abs=0.01)


def test_emodel_loss_by_hand():
    # Ie,eff = 0 + 95 * 2 / (2/1 + 25.1) = 7.011; R = 93.2062 - 7.011 = 86.195 (T = 0)
    r = emodel.r_factor(Ie=0, Bpl=25.1, Ppl=2.0, BurstR=1.0)
    assert r["Ie_eff"] == pytest.approx(190 / 27.1, abs=1e-6)
    assert r["R"] == pytest.approx(93.2062 - 190 / 27.1, abs=1e-3)
    # MOS (Annex B) at R = 50: 1 + 1.75 + 50 * -10 * 50 * 7e-6 = 2.575
    assert emodel.mos_from_r(50.0) == pytest.approx(2.575)


# ------------------------------------------------------------ bad input
def test_short_and_unknown_codec_streams_are_skipped_with_reasons(tmp_path):
    recs = _series([i * 20.0 for i in range(50)], pt=0) + \
        _series([0.0], pt=0, ssrc=0x99, dport=50010) + \
        _series([i * 20.0 for i in range(30)], pt=96, ssrc=0x77, dport=50020)
    path = tmp_path / "mixed.pcap"
    frames.write_pcap(path, sorted(recs, key=lambda r: r[0]))
    rep = analyze_jitter(path)
    assert len(rep.streams) == 1
    reasons = " | ".join(s["reason"] for s in rep.skipped)
    assert "too short" in reasons and "no clock rate for payload type 96" in reasons
    assert "--clock-rate" in reasons
    # with the codec given, the dynamic stream is analysed too
    assert len(analyze_jitter(path, clock_rates={96: "AMR-WB"}).streams) == 2


def test_two_captures_without_common_stream(tmp_path):
    rep = analyze_jitter(data.path("jitter_host_egress"), compare=data.path("jitter_network_egress"))
    assert len(rep.hops) == 0 and any("no RTP stream in common" in n for n in rep.notes)
    assert len(rep.streams) == 8


def test_non_monotonic_timestamps_are_reported(tmp_path):
    recs = _series([i * 20.0 for i in range(30)])
    recs[10], recs[11] = recs[11], recs[10]   # file order keeps seq, time goes back once
    path = tmp_path / "back.pcap"
    frames.write_pcap(path, recs)
    rep = analyze_jitter(path)
    assert any("go backwards" in n for n in rep.notes) and len(rep.streams) == 1


def test_no_rtp_is_a_note_not_a_crash():
    rep = analyze_jitter(data.path("codec_mismatch_488"))
    assert rep.cause == "none" and rep.streams == [] and rep.notes


def _adaptive_loop(t, nom, ptime, max_ms=500.0, extra=40.0, history=500):
    """The jitterbuf rules of labkit.quality.jbuf written as the plain per-packet loop."""
    import bisect
    from collections import deque
    d_all = (np.asarray(t) - np.asarray(nom)).tolist()
    late, win, srt = [], deque(), []
    cur = d_all[0] + extra
    lg = ls = float(t[0])
    for i, d in enumerate(d_all):
        now = float(t[i])
        late.append(d > cur)
        win.append(d)
        bisect.insort(srt, d)
        if len(win) > history:
            srt.pop(bisect.bisect_left(srt, win.popleft()))
        m = len(srt)
        tg = min(srt[int(0.97 * (m - 1))] + extra, srt[int(0.03 * (m - 1))] + max_ms)
        if tg > cur and now - lg >= extra:
            cur, lg = cur + ptime, now
        elif tg < cur - extra and now - ls >= 500.0:
            cur, ls = cur - ptime, now
    return np.array(late)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adaptive_buffer_equals_the_plain_loop(seed):
    rng = np.random.default_rng(seed)
    nom = np.arange(3000) * 20.0
    delay = rng.gamma(2.0, 3.0, 3000)
    for s in rng.integers(0, 2900, 12):   # stalls: held, then released together
        delay[s:s + 5] += np.linspace(100, 20, 5)
    t = np.maximum.accumulate(nom + delay)
    late, _ = jbuf.adaptive_buffer(t, nom, 20.0)
    assert (late == _adaptive_loop(t, nom, 20.0)).all()


def test_adaptive_buffer_cap_at_min_plus_max_equals_the_plain_loop():
    # a 600 ms delay swing: the 3rd percentile + max_ms cap (rarely reached) takes over
    nom = np.arange(1500) * 20.0
    delay = np.where((nom > 10000) & (nom < 16000), 600.0, 0.0) + (np.arange(1500) % 7)
    t = np.maximum.accumulate(nom + delay)
    late, _ = jbuf.adaptive_buffer(t, nom, 20.0, max_ms=300.0)
    assert (late == _adaptive_loop(t, nom, 20.0, max_ms=300.0)).all()
