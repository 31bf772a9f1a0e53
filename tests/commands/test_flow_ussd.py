"""``labkit flow`` and ``labkit ussd``: text and --json carry the same facts; bad input."""
from __future__ import annotations

import json
import subprocess
import sys

from labkit import data


def _run(*args):
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True)


def test_flow_text_and_json_agree(tmp_path):
    path = str(data.path("flow_topoh_masked"))
    truth = json.loads(data.path("flow_topoh_masked_truth").read_text())
    doc = json.loads(_run("flow", "--json", path).stdout)
    text = _run("flow", path).stdout
    assert len(doc["ladder"]) == 28 and text.startswith("28 SIP message(s), 4 leg(s), 2 call(s)")
    pairs = {(p["a_call_id"], p["b_call_id"]) for p in doc["pairs"]}
    assert pairs == {(leg["a_call_id"], leg["b_call_id"]) for leg in truth["legs"]}
    for p in doc["pairs"]:
        assert f"{p['a_call_id']} -> {p['b_call_id']}  ({p['method']};" in text
    png = tmp_path / "ladder.png"
    one = json.loads(_run("flow", "--json", "--call", "labkit-a2@127.0.42.1", "--png", str(png), path).stdout)
    assert {r["call_id"] for r in one["ladder"]} == {"labkit-a2@127.0.42.1", truth["legs"][1]["b_call_id"]}
    assert png.stat().st_size > 1000


def test_flow_findings_in_text_and_json():
    path = str(data.path("flow_sec_agree_420"))
    doc = json.loads(_run("flow", "--json", path).stdout)
    text = _run("flow", path).stdout
    assert [f["check"] for f in doc["findings"]] == ["sip.sec_agree_forwarded", "sip.bad_extension"]
    for f in doc["findings"]:
        assert f"frame {f['frame']} [{f['severity']}] {f['check']}" in text


def test_ussd_text_and_json_agree():
    path = str(data.path("ussd_seed_405"))
    doc = json.loads(_run("ussd", "--json", path).stdout)
    text = _run("ussd", path).stdout
    assert doc["sessions"][0]["outcome"] == "INFO refused: 405" and "INFO refused: 405" in text
    assert len(doc["findings"]) == text.count(" fix: ")


def test_no_sip_and_not_a_capture(tmp_path):
    nosip = str(data.path("synth_amrnb_oa_nosdp"))
    assert _run("flow", nosip).stdout.startswith("0 SIP message(s), 0 leg(s), 0 call(s)")
    assert _run("ussd", nosip).stdout.startswith("0 USSD session(s)")
    bad = tmp_path / "notes.txt"
    bad.write_text("not a capture")
    res = _run("flow", str(bad))
    assert res.returncode == 2 and res.stderr.startswith("labkit: error:")
