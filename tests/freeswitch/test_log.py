"""labkit.freeswitch.log: every call explained from the log alone.

Oracles: the published log lines themselves (the seed post's excerpt, public issue
excerpts in data/freeswitch/public with their sources), read by hand: which codecs
stand left and right of each compare line, which are saved as matches, which Hangup
cause the log prints; and the public issues' own statements of the outcome.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from labkit import data
from labkit import freeswitch as fs
from labkit.errors import LabkitWarning

FIXTURES = data.data_dir() / "freeswitch" / "public"  # published excerpts, with sources
SEED = Path("/work/shared/seed/000_1b658f21e35e9c45.txt")


def test_bundled_seed_log_is_the_published_one():
    if not SEED.exists():
        pytest.skip("seed post not on this machine")
    post = [ln for ln in SEED.read_text().splitlines() if ln.startswith("2022-02-19 13:04:04")]
    bundled = [ln for ln in data.path("freeswitch_log_seed").read_text().splitlines()
               if not ln.startswith("#")]
    assert bundled == post and len(post) == 7


def test_seed_log_alone():
    (call,) = fs.explain_log(data.path("freeswitch_log_seed"))
    # left of the four compare lines: GSM:3:8000:20:13200:1 each time (read by hand)
    assert call.offered == ("GSM:3:8000:20:13200:1",)
    assert [c.split(":")[0] for c in call.local] == ["opus", "G722", "PCMU", "PCMA"]
    assert call.matches == () and call.outcome == "no match" and call.chosen == ""
    assert (call.hangup_cause, call.q850) == ("INCOMPATIBLE_DESTINATION", 88)
    assert call.channel == "sofia/internal/49042@127.0.0.3:5060" and call.profile == "internal"
    assert call.versions == ("1.10.7 (line 5650)",)
    assert "no codec in common" in call.verdict
    assert "add GSM" in call.fix and "global_codec_prefs in vars.xml" in call.fix
    assert "reloadxml" in call.fix and "sofia profile internal restart" in call.fix


@pytest.mark.parametrize("name, outcome, chosen", [
    # plivo 142: "GSM ++++ is saved as a match" is the only match line
    ("plivo_142_gsm_match.log", "match", "GSM"),
    # fusionpbx 1695: G722 then PCMA saved as matches; generous takes the caller's first
    ("fusionpbx_1695_match.log", "match", "G722"),
    # fusionpbx 1967: only "PCMU ... is saved as a near-match", then "Substituting codec"
    ("fusionpbx_1967_near_match.log", "near-match", "PCMU"),
    # freeswitch 2226: opus near-match at 16000, then PCMU saved as a match: PCMU wins
    ("freeswitch_2226_opus_rate.log", "match", "PCMU"),
    # astpp 93: BV32 (not a default-build codec) compared, PCMU saved as a match
    ("astpp_93_bv32_ilbc.log", "match", "PCMU"),
    # fusionpbx 1518: the excerpt stops after G722 of an offer G722,PCMU,PCMA,G729 (SDP)
    ("fusionpbx_1518_uuid_sdp.log", "incomplete", ""),
])
def test_public_excerpts(name, outcome, chosen):
    (call,) = fs.explain_log(FIXTURES / name)
    assert (call.outcome, call.chosen) == (outcome, chosen)


def test_near_match_and_greedy_note():
    (call,) = fs.explain_log(FIXTURES / "fusionpbx_1967_near_match.log")
    assert "Substituting codec PCMU@30i@8000h@1c" in call.verdict
    (call,) = fs.explain_log(FIXTURES / "freeswitch_912_generous.log")
    # matches PCMU then PCMA (caller's order); the local list's first is PCMA
    assert call.chosen == "PCMU" and "greedy/scrooge would take the local list's first, PCMA" \
        in call.verdict


def test_bundled_logs_one_verdict_each():
    expected = {"nomatch": ("no match", "INCOMPATIBLE_DESTINATION"),
                "match": ("match", "NORMAL_CLEARING"),
                "nearmatch": ("near-match", "NORMAL_CLEARING"),
                "crypto": ("refused", "INCOMPATIBLE_DESTINATION"),
                "amrwb": ("no match", "INCOMPATIBLE_DESTINATION")}
    for name, (outcome, cause) in expected.items():
        (call,) = fs.explain_log(data.path(f"freeswitch_log_{name}"))
        assert (call.outcome, call.hangup_cause) == (outcome, cause), name
    (crypto,) = fs.explain_log(data.path("freeswitch_log_crypto"))
    assert crypto.refusals == ("a=crypto in RTP/AVP, refer to rfc3711",)
    assert "RTP/SAVP" in crypto.fix


def test_several_calls_in_one_log(tmp_path):
    # two uuid-prefixed logs interleaved line by line, and two fs_cli-style logs in a row
    a = data.path("freeswitch_log_nomatch").read_text().splitlines()
    b = data.path("freeswitch_log_nearmatch").read_text().splitlines()
    mixed = [x for pair in zip(a, b) for x in pair] + a[len(b):] + b[len(a):]
    calls = fs.explain_log(fs.parse_log("\n".join(mixed)))
    assert {c.call: c.outcome for c in calls} == {
        "6b1f0c52-5a3e-4c1e-9d61-2f6f4a0c1a01": "no match",
        "6b1f0c52-5a3e-4c1e-9d61-2f6f4a0c1a03": "near-match"}
    seed = data.path("freeswitch_log_seed").read_text()
    match = data.path("freeswitch_log_match").read_text()
    calls = fs.explain_log(fs.parse_log(match + seed))
    assert [(c.call, c.outcome, c.hangup_cause) for c in calls] == [
        ("call 1", "match", "NORMAL_CLEARING"), ("call 2", "no match", "INCOMPATIBLE_DESTINATION")]


def test_codecs_log_only_text_and_json(capsys):
    from labkit.cli import main
    seed = str(data.path("freeswitch_log_seed"))
    assert main(["codecs", "--log", seed]) == 0
    text = capsys.readouterr().out
    assert "no match, hangup INCOMPATIBLE_DESTINATION" in text
    assert "offered (left of the compare lines):  GSM:3:8000:20:13200:1" in text
    assert main(["codecs", "--log", seed, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (call,) = doc["log"]["calls"]
    assert call["outcome"] == "no match" and call["q850"] == 88
    assert call["verdict"] in text and call["fix"] in text
    assert main(["codecs"]) == 2
    assert "give a capture, --log FILE, or both" in capsys.readouterr().err


def test_codecs_capture_json_has_the_same_facts(capsys):
    from labkit.cli import main
    try:
        cap = str(data.path("codec_mismatch_488"))
    except Exception:
        pytest.skip("data/lab captures not built")
    main(["codecs", cap])
    text = capsys.readouterr().out
    main(["codecs", cap, "--json"])
    (call,) = json.loads(capsys.readouterr().out)["calls"]
    assert call["final_status"] == 488 and f"verdict:  {call['verdict']}" in text


def test_log_verdicts_table():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        table = fs.log_verdicts(data.path("freeswitch_log_amrwb"))
    row = table.iloc[0]
    assert row["offered"] == "AMR-WB:104:16000:20:0:1, AMR:102:8000:20:0:1"
    assert row["outcome"] == "no match" and "add AMR-WB" in row["fix"]


def test_log_list_against_the_configuration(capsys):
    from labkit.cli import main
    seed = str(data.path("freeswitch_log_seed"))
    conf = str(data.path("freeswitch_conf"))  # default global_codec_prefs: the seed's list
    main(["codecs", "--log", seed, "--config", conf, "--json"])
    assert json.loads(capsys.readouterr().out)["log"]["config_differs"] == []
    # GSM added in vars.xml but the log still compares against the old list
    main(["codecs", "--log", seed, "--prefs", "OPUS,G722,PCMU,PCMA,GSM"])
    out = capsys.readouterr().out
    assert ("config: the log compared against opus, G722, PCMU, PCMA but the configuration "
            "gives OPUS, G722, PCMU, PCMA, GSM") in out and "reloadxml" in out
