"""labkit.fleet across captures: one relay or the whole host?

Oracles: the ground truth written by tools/fleetlab.py (the epoch of every SIGSTOP and
SIGCONT it sent to three real rtpengine processes, and which host each relay ran on),
tshark's per-packet arrival times (inter-arrival gaps computed here, independently of
labkit), a Poisson tail computed by hand, and a serial run of the same files."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from labkit import data, fleet
from labkit.cli import main

FLEET = data.path("fleet_relay1").parent
TRUTH = json.loads((FLEET / "fleet_relays.truth.json").read_text())
PTIME_S = TRUTH["ptime_ms"] / 1e3


@pytest.fixture(scope="module")
def day():
    return fleet.run_fleet(FLEET, scheduler="serial")


def _epoch(ts) -> float:
    return ts.value / 1e9


def test_every_sigstop_is_one_stall_event_on_its_relay_and_nothing_else(day):
    for relay, truth in TRUTH["relays"].items():
        got = day.stalls[day.stalls["relay"] == relay].sort_values("start_utc")
        assert len(got) == len(truth["stalls"]), relay          # no missed, no extra stall
        assert set(got["file"]) == {truth["file"]} and set(got["kind"]) == {"host"}
        for row, t in zip(got.itertuples(), truth["stalls"]):
            # the relay was frozen from SIGSTOP to SIGCONT: the last packet before the gap left
            # at most one packet interval before the SIGSTOP, the held ones right after SIGCONT
            assert t["sigstop"] - PTIME_S - 0.002 <= _epoch(row.start_utc) <= t["sigstop"] + 0.001
            assert t["sigcont"] <= _epoch(row.end_utc) <= t["sigcont"] + 0.005
            assert row.streams == TRUTH["streams_per_relay"]     # every stream it relays


def test_the_verdict_is_the_ground_truth(day):
    v = fleet.fleet_verdict(day)
    assert v["cause"] == "hypervisor"
    by_relay = dict(zip(v["relays"]["relay"], v["relays"]["cause"]))
    assert by_relay == {r: t["cause"] for r, t in TRUTH["relays"].items()}
    hosts: dict = {}
    for r, t in TRUTH["relays"].items():
        hosts.setdefault(t["host"], []).append(r)
    shared_host = [sorted(rs) for rs in hosts.values() if len(rs) > 1]
    assert [g["relays"] for g in v["groups"]] == shared_host
    hv1 = TRUTH["relays"][shared_host[0][0]]["stalls"]
    assert v["groups"][0]["instants"] == len(hv1)
    assert "relays 10.47.1.10 and 10.47.2.10 stalled together at 5 instant(s)" in v["verdict"]
    assert "VM: relay 10.47.3.10 stalled alone 3 time(s)" in v["verdict"]


@pytest.mark.requires_tshark
def test_stall_times_and_lengths_equal_tshark_inter_arrival_gaps(day):
    from labkit.capture.wireshark import tshark_fields
    for relay, truth in TRUTH["relays"].items():
        f = tshark_fields(FLEET / truth["file"], ["frame.time_epoch", "udp.srcport", "rtp.seq"],
                          display_filter="rtp", heuristics={"rtp_udp": True})
        f["t"] = f["frame.time_epoch"].astype(float)
        gaps = []            # (start, end, gap [ms]) of every inter-arrival > 2 ptime, per stream
        for _, s in f.groupby("udp.srcport"):
            t = np.sort(s["t"].to_numpy())
            d = np.diff(t)
            for i in np.flatnonzero(d > 2 * PTIME_S):
                gaps.append((t[i], t[i + 1], d[i] * 1e3))
        gaps.sort()
        got = day.stalls[day.stalls["relay"] == relay].sort_values("start_utc")
        # the streams of one event: gaps of the same instant (starts within one ptime)
        events = []
        for g in gaps:
            if events and g[0] - events[-1][-1][0] < PTIME_S:
                events[-1].append(g)
            else:
                events.append([g])
        assert len(events) == len(got), relay
        for row, ev in zip(got.itertuples(), events):
            assert abs(_epoch(row.start_utc) - min(g[0] for g in ev)) < 2e-6
            assert abs(_epoch(row.end_utc) - max(g[1] for g in ev)) < 2e-6
            assert row.duration_ms == pytest.approx(max(g[2] for g in ev), abs=2e-3)
            assert row.streams == len(ev)


def test_chance_of_the_alignment_by_hand(day):
    # relays 1 and 2: 5 host stalls each; relay i captured over T_i (its first to last
    # packet, about 8 s), both over their overlap T_ab. Independent stalls at rates
    # r_i = 5 / T_i align within +-20 ms by chance l = 2 * 0.020 * r_1 * r_2 * T_ab times;
    # observing 5 coincidences has the Poisson tail 1 - sum_{k<5} e^-l l^k / k!.
    r = day.relays.set_index("relay")
    a, b = "10.47.1.10", "10.47.2.10"
    first = {x: _epoch(r.loc[x, "first_utc"]) for x in (a, b)}
    last = {x: _epoch(r.loc[x, "last_utc"]) for x in (a, b)}
    t_ab = min(last.values()) - max(first.values())
    lam = 2 * 0.020 * (5 / (last[a] - first[a])) * (5 / (last[b] - first[b])) * t_ab
    assert 7.5 < t_ab < 8.5                                    # 8 s of sender (tools/fleetlab)
    tail = 1 - sum(math.exp(-lam) * lam ** k / math.factorial(k) for k in range(5))
    g = fleet.fleet_verdict(day)["groups"][0]
    assert g["chance_pairs"] == pytest.approx(lam, rel=1e-3)
    assert g["p_chance"] == pytest.approx(tail, rel=1e-3) and g["p_chance"] < 1e-5


def _shifted(day, relay: str, seconds: float) -> fleet.Fleet:
    """The same fleet with one relay's clock (its capture) off by `seconds`."""
    dt = pd.Timedelta(seconds=seconds)
    st, rl = day.stalls.copy(), day.relays.copy()
    for table, cols in ((st, ("start_utc", "end_utc")), (rl, ("first_utc", "last_utc"))):
        m = table["relay"] == relay
        for c in cols:
            table.loc[m, c] = table.loc[m, c] + dt
    return fleet.Fleet(day.calls, day.streams, day.errors, day.files, st, rl)


def test_a_probe_clock_off_by_a_few_ms_still_aligns_but_not_by_a_stall_length(day):
    off = _shifted(day, "10.47.2.10", 0.005)
    assert fleet.fleet_verdict(off)["cause"] == "hypervisor"
    v = fleet.fleet_verdict(off, align_ms=1.0)       # a window narrower than the offset
    assert v["cause"] == "vm" and set(v["relays"]["cause"]) == {"vm"}
    later = fleet.fleet_verdict(_shifted(day, "10.47.2.10", 0.5))
    assert later["cause"] == "vm" and later["groups"] == []


def test_one_relay_alone_cannot_be_told_from_its_host():
    one = fleet.run_fleet(FLEET / "fleet_relay3.pcap", scheduler="serial")
    v = fleet.fleet_verdict(one)
    assert (v["cause"], v["confidence"]) == ("vm", "low")
    assert "no other sender captured then" in v["verdict"]


def test_captures_without_stalls_are_none(tmp_path):
    v = fleet.fleet_verdict(fleet.run_fleet(data.path("relay_rtpengine"), scheduler="serial"))
    assert v["cause"] == "none" and v["groups"] == [] and v["verdict"].startswith("None: no stall on")


def test_dask_equals_serial_stalls_and_relays(day):
    dask = fleet.run_fleet(FLEET, workers=2)
    for name in ("stalls", "relays", "streams"):
        pd.testing.assert_frame_equal(getattr(dask, name), getattr(day, name), check_dtype=False)


def test_command_prints_the_verdict_and_json_has_the_same(capsys):
    assert main(["fleet", str(FLEET), "--serial"]) == 0
    text = capsys.readouterr().out
    assert "one relay or the whole host? hypervisor (high)" in text
    assert "10.47.3.10" in text
    assert main(["fleet", str(FLEET), "--serial", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    hv = doc["host_verdict"]
    assert hv["cause"] == "hypervisor" and hv["verdict"] in text
    assert {r["relay"]: r["cause"] for r in hv["relays"]} == {r: t["cause"] for r, t in TRUTH["relays"].items()}
    assert len(doc["stalls"]) == sum(len(t["stalls"]) for t in TRUTH["relays"].values())


def test_one_coincidence_of_two_vms_is_not_a_shared_host(day):
    # relay 1 (5 stalls) and relay 3 (3 stalls), relay 2 left out; one of relay 3's stalls
    # moved onto relay 1's first: one coincidence, expected by chance l = 2 * 0.020 *
    # (5 / T_1) * (3 / T_3) * T_13 (about 0.075); P(X >= 1) = 1 - e^-l, about 0.07 > 0.01
    st = day.stalls[day.stalls["relay"] != "10.47.2.10"].copy()
    rl = day.relays[day.relays["relay"] != "10.47.2.10"]
    i = st.index[st["relay"] == "10.47.3.10"][0]
    j = st.index[st["relay"] == "10.47.1.10"][0]
    for c in ("start_utc", "end_utc"):
        st.loc[i, c] = st.loc[j, c]
    v = fleet.fleet_verdict(fleet.Fleet(day.calls, day.streams, day.errors, day.files, st, rl))
    g = v["groups"][0]
    assert g["instants"] == 1 and g["p_chance"] == pytest.approx(1 - math.exp(-g["chance_pairs"]), rel=1e-4)
    assert 0.05 < g["chance_pairs"] < 0.1
    assert v["cause"] == "vm" and set(v["relays"]["cause"]) == {"vm"}
    assert "no shared cause shown" in v["verdict"]
