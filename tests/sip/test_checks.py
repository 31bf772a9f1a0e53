"""Doctor checks sip.headers and sip.ussd: each finding is what ``labkit flow`` /
``labkit ussd`` say on the same file (one copy of each rule)."""
from __future__ import annotations

import json

from labkit import data
from labkit.cli import main


def _json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_header_findings_equal_labkit_flow(capsys):
    path = str(data.path("flow_sec_agree_420"))
    own = _json(["flow", path, "--json"], capsys)["findings"]
    doc = _json(["doctor", path, "--json"], capsys)
    mine = [f for f in doc["findings"] if f["check"] == "sip.headers"]
    assert sorted((f["what"], f["fix"]) for f in mine) == sorted((f["finding"], f["fix"]) for f in own)
    # the 420 is an error and ranks first
    assert doc["findings"][0]["check"] == "sip.headers" and "420 Bad Extension" in doc["findings"][0]["what"]
    assert "sip.ussd" in {s["check"] for s in doc["skipped"]}


def test_ussd_findings_equal_labkit_ussd(capsys):
    path = str(data.path("ussd_seed_405"))
    own = _json(["ussd", path, "--json"], capsys)["findings"]
    doc = _json(["doctor", path, "--json"], capsys)
    mine = [f for f in doc["findings"] if f["check"] == "sip.ussd"]
    assert sorted(f["what"] for f in mine) == sorted(f["finding"] for f in own)
    assert all(f["notebook"].startswith("07_ussd_over_ims.ipynb") for f in mine)


def test_clean_flows_give_no_sip_finding(capsys):
    for name in ("flow_sec_agree_fixed", "ussd_in_dialog"):
        doc = _json(["doctor", str(data.path(name)), "--json"], capsys)
        assert not [f for f in doc["findings"] if f["check"].startswith("sip.")], name
