"""Doctor checks sip.auth and sip.ifc: each finding equals what the check's own command says."""
from __future__ import annotations

import json

from labkit import cli, data
from labkit.doctor import discover_checks, run_doctor


def test_discovered_under_its_own_name():
    assert "labkit.sip.auth_checks" in discover_checks()


def test_auth_finding_equals_labkit_auth(capsys):
    path = data.path("register_baresip_wrong_password")
    rep = run_doctor(path, password="secret-alice", checks=["sip.auth"])
    cli.main(["auth", str(path), "--password", "secret-alice", "--json"])
    verdicts = json.loads(capsys.readouterr().out)["verdicts"]
    f = rep.findings.iloc[0]
    assert f["severity"] == "error" and f["what"] == f"{len(verdicts)} REGISTER refused (401): response"
    assert f["why"] == verdicts[0]["verdict"]


def test_auth_policy_and_skip():
    rep = run_doctor(data.path("register_digest_forbidden"), password="secret-carol",
                     checks=["sip.auth"])
    assert rep.findings["what"].tolist() == ["1 REGISTER refused (403): policy"]
    rep = run_doctor(data.path("relay_rtpengine"), checks=["sip.auth"])
    assert rep.skipped["check"].tolist() == ["sip.auth"]


def test_ifc_findings_equal_labkit_ifc(capsys):
    ifc, cap = data.path("ifc_seed_profile"), data.path("ifc_requests")
    rep = run_doctor(cap, ifc=ifc, checks=["sip.ifc"])
    cli.main(["ifc", str(ifc), str(cap), "--json"])
    doc = json.loads(capsys.readouterr().out)
    infos = rep.findings[rep.findings.severity == "info"]["what"].tolist()
    assert infos == [r["answer"] for r in doc["requests"]]
    warns = rep.findings[rep.findings.severity == "warning"]["what"].tolist()
    assert sorted(warns) == sorted(f["what"] for f in doc["lint"] if f["severity"] == "warning")
    assert run_doctor(cap, checks=["sip.ifc"]).skipped["why"].tolist() == ["needs --ifc"]
