"""The doctor's quality.host_stalls check says what ``labkit jitter`` says (its own command),
and the relay_stall capture's SIGSTOPs (tools/lab manifest) make it an error."""
from __future__ import annotations

import json

from labkit import cli, data
from labkit.doctor import run_doctor


def _finding(path):
    df = run_doctor(path).findings
    return list(df[df["check"] == "quality.host_stalls"].itertuples())


def _jitter_json(path, capsys):
    assert cli.main(["jitter", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_host_stall_is_an_error_with_the_jitter_verdict(capsys):
    path = data.path("relay_stall")
    doc = _jitter_json(path, capsys)
    (f,) = _finding(path)
    assert f.severity == "error" and f.what == doc["verdict"] and f.where == "relay 10.0.0.10"


def test_network_is_a_warning(capsys):
    path = data.path("jitter_network_egress")
    doc = _jitter_json(path, capsys)
    (f,) = _finding(path)
    assert f.severity == "warning" and f.what == doc["verdict"]


def test_clean_relay_has_no_finding():
    assert _finding(data.path("relay_rtpengine")) == []
