"""``labkit jitter``: text and --json carry the same facts; they agree with the ground truth
tools/jitterlab.py wrote next to its captures."""
from __future__ import annotations

import json

import pytest

from labkit import cli, data


def _run(capsys, *argv):
    code = cli.main(["jitter", *map(str, argv)])
    return code, capsys.readouterr()


def test_json_has_the_issue_fields_and_agrees_with_ground_truth(capsys):
    truth = json.loads(data.path("jitter_host_truth").read_text())
    code, out = _run(capsys, data.path("jitter_host_egress"), "--json", "--jb", "60")
    assert code == 0
    doc = json.loads(out.out)
    assert doc["cause"] == "host" and doc["verdict"].startswith("Host:")
    assert len(doc["events"]) == len(truth["stalls"])
    for ev, t in zip(doc["events"], truth["stalls"]):
        assert ev["kind"] == "host" and ev["streams"] == 4
        assert abs(ev["end"] - (t["start"] + t["duration_ms"] / 1e3)) < 0.003
    for s in doc["streams"]:
        assert set(s["pdv_ms"]) == {"p50", "p95", "p99", "p99.9", "max"}
        assert len(s["stalls"]) == len(truth["stalls"])
        assert set(s["buffers"]) == {"fixed_50", "fixed_200", "adaptive", "fixed_60"}
        assert {"discards", "R", "MOS", "mos_min"} <= set(s["buffers"]["fixed_50"])


def test_text_shows_the_same_facts(capsys):
    _, j = _run(capsys, data.path("jitter_network_egress"), "--json")
    doc = json.loads(j.out)
    code, t = _run(capsys, data.path("jitter_network_egress"))
    assert code == 0
    assert doc["verdict"] in t.out and f"Cause: {doc['cause']}" in t.out
    for s in doc["streams"]:
        assert s["key"] in t.out
        b = s["buffers"]["fixed_50"]
        assert f"discards {b['discards']}, loss+discards {b['effective_loss_pct']:.1f} %" in t.out
    assert t.out.count(" path: ") == len(doc["events"])


def test_compare_names_the_relay(capsys):
    code, out = _run(capsys, data.path("jitter_network_egress"), "--compare",
                     data.path("jitter_network_ingress"), "--json")
    doc = json.loads(out.out)
    assert doc["cause"] == "network" and len(doc["relay_hops"]) == 4
    assert "upstream of the relay" in doc["verdict"]


def test_bad_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a capture")
    code, out = _run(capsys, bad)
    assert code == 2 and "labkit: error:" in out.err and "notes.txt" in out.err


def test_two_second_captures_is_an_error(capsys):
    code, out = _run(capsys, data.path("jitter_host_egress"), data.path("jitter_host_ingress"),
                     "--compare", data.path("jitter_network_ingress"))
    assert code == 2 and "give the second capture once" in out.err
