"""A fresh real run of tools/jitterlab.py (rtpengine frozen by SIGSTOP/SIGCONT in network
namespace lkj-jitter), analysed by labkit and checked against the ground truth the tool
wrote (its own SIGSTOP/SIGCONT times). Needs root, rtpengine, dumpcap; skipped otherwise."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


@pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(x) for x in ("rtpengine", "dumpcap", "chrt")),
                    reason="needs root, rtpengine and dumpcap (tools/setup.sh installs them)")
def test_fresh_host_stall_run_agrees_with_its_ground_truth(tmp_path):
    from tools import jitterlab
    from labkit.quality import analyze_jitter
    os.chmod(tmp_path, 0o755)
    truth = jitterlab.scenario("live", "clean", True, 11, tmp_path)
    assert truth["stalls"], "the tool froze rtpengine at least once"
    rep = analyze_jitter(tmp_path / "live_egress.pcap", tmp_path / "live_ingress.pcap")
    assert rep.cause == "host"
    host = rep.events[rep.events["kind"] == "host"]
    for t in truth["stalls"]:
        cont = t["start"] + t["duration_ms"] / 1e3
        # one host event per SIGSTOP on all 4 egress streams, released at the SIGCONT
        hit = host[(host["end"] - cont).abs() < 0.005]
        assert len(hit) == 1 and int(hit["streams"].iloc[0]) == 4, (t, host)
    assert len(host) == len(truth["stalls"])


@pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(x) for x in ("rtpengine", "dumpcap", "chrt")),
                    reason="needs root, rtpengine and dumpcap (tools/setup.sh installs them)")
def test_fresh_network_run_agrees_with_its_ground_truth(tmp_path):
    from tools import jitterlab
    from labkit.quality import analyze_jitter
    os.chmod(tmp_path, 0o755)
    truth = jitterlab.scenario("live", "network", False, 13, tmp_path)
    rep = analyze_jitter(tmp_path / "live_egress.pcap", tmp_path / "live_ingress.pcap")
    assert rep.cause == "network" and not (rep.events["kind"] == "host").any()
    # netem's log: packets it dropped are the loss Wireshark counts on the egress
    dropped = sum(1 for r in truth["netem"] if r[3] is None)
    lost = sum(s["lost"] for s in rep.streams if s["side"] == "capture")
    assert 0 < lost <= dropped   # a drop after a stream's last packet is not countable
    assert (rep.hops["added_pdv_ms"] < 10).all()
