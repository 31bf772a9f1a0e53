"""``labkit auth`` and ``labkit ifc``: text and --json carry the same facts, checked
against the ground truth the data tools wrote (kamailio's auth log, hand-worked iFCs)."""
from __future__ import annotations

import json

from labkit import cli, data

AUTH_TRUTH = json.loads(data.path("auth_truth").read_text())
IFC_TRUTH = json.loads(data.path("ifc_truth").read_text())


def _run(capsys, argv):
    status = cli.main(argv)
    return status, capsys.readouterr()


def test_auth_json_names_the_wrong_password(capsys):
    path = str(data.path("register_digest_wrong_password"))
    pw = AUTH_TRUTH["register_digest_wrong_password"]["passwords"]["alice"]
    status, out = _run(capsys, ["auth", path, "--password", pw, "--json"])
    doc = json.loads(out.out)
    assert status == 0 and [v["cause"] for v in doc["verdicts"]] == ["response"]
    assert {c["field"] for c in doc["checks"] if c["ok"] is False} == {"response", "uri"}
    status, out = _run(capsys, ["auth", path, "--password", pw])
    assert "verdict: refused with 401: response" in out.out
    assert f"(frame {doc['verdicts'][0]['answer_frame']})" in out.out


def test_auth_without_challenge_is_a_clear_error(capsys):
    status, out = _run(capsys, ["auth", str(data.path("relay_rtpengine"))])
    assert status == 2 and "no 401/407 digest challenge" in out.err


def test_ifc_json_and_text_agree(capsys):
    argv = ["ifc", str(data.path("ifc_seed_profile")), str(data.path("ifc_requests"))]
    status, out = _run(capsys, argv + ["--json"])
    doc = json.loads(out.out)
    firsts = [r["first_as"] for r in doc["requests"]]
    assert firsts == ["sip:mmtel.lab.example"] + ["sip:tas.lab.example"] * 3
    order = ["ifc_request_ussd_invite", "ifc_request_fixed_line_invite",
             "ifc_request_terminating_invite", "ifc_request_orig_message"]
    assert [[c[0] for c in r["chain"]] for r in doc["requests"]] == \
        [IFC_TRUTH[n]["seed"] for n in order]
    assert {f["priority"] for f in doc["lint"] if f["severity"] == "warning"} == {25, 30}
    status, out = _run(capsys, argv)
    for r in doc["requests"]:
        assert r["answer"] in out.out


def test_ifc_typed_request_and_session_case(capsys):
    argv = ["ifc", str(data.path("ifc_fixed_profile")), "--request",
            str(data.path("ifc_request_fixed_line_invite")), "--session-case", "1", "--json"]
    status, out = _run(capsys, argv)
    r = json.loads(out.out)["requests"][0]
    assert r["session_case"] == 1 and r["first_as"] is None   # terminating: 30 needs orig


def test_ifc_needs_one_source(capsys):
    status, out = _run(capsys, ["ifc", str(data.path("ifc_seed_profile"))])
    assert status == 2 and "either a capture or --request" in out.err
