"""labkit.freeswitch.timers against real SIPp captures with scripted timing (the ground
truth in tools/timers/scenarios.py) and rules checked by hand against
switch_ivr_originate.c (FreeSWITCH cc93a683ca; line numbers in the comments)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from labkit import data
from labkit.errors import LabkitError
from labkit.freeswitch import causes, timers as T
from tools.timers.scenarios import CASES

TOL = 0.05   # [s] scheduling of SIPp on loopback, for the bundled captures


def _settings(name):
    return T.parse_dial_string(data.path(f"{name}_vars").read_text().strip())


@pytest.mark.parametrize("name", sorted(CASES))
def test_timeline_is_what_the_peers_were_told(name):
    case = CASES[name]
    tl = T.leg_timelines(data.path(name))
    assert len(tl) == len(case["peers"])
    for row, peer, cancel_ms in zip(tl.to_dict("records"), case["peers"], case["cancel_ms"]):
        t0 = row["invite"]
        for ms, code in peer["responses"]:
            col = {100: "trying", 180: "ringing", "183sdp": "early_media"}[code]
            assert abs(row[col] - t0 - ms / 1000) < TOL, (col, row[col] - t0)
        if peer["answer_ms"] is not None:
            assert abs(row["answer"] - t0 - peer["answer_ms"] / 1000) < TOL
        if cancel_ms is not None:
            assert abs(row["cancel"] - t0 - cancel_ms / 1000) < TOL
            assert int(row["final_status"]) == 487   # RFC 3261 9.2: 487 to the cancelled INVITE


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_timer_named_in_the_manifest_fired(name):
    expect = CASES[name]["expect"]
    legs = T.explain_legs(_settings(name), T.leg_timelines(data.path(name)))
    first = legs.iloc[0]
    assert bool(first["consistent"])
    if expect == "ANSWERED":
        assert first["outcome"].startswith("early media") and first["fired"] is None
    else:
        assert first["cause"] == expect and first["fired"] == first["first_timer"]


def test_failover_goes_to_the_next_group_after_leg_timeout():
    legs = T.explain_legs(_settings("timers_leg_timeout_failover"),
                          T.leg_timelines(data.path("timers_leg_timeout_failover")))
    assert legs["group"].tolist() == [1, 2]
    assert legs.loc[0, "fired"] == "leg_timeout" and legs.loc[0, "cause"] == "ALLOTTED_TIMEOUT"
    assert legs.loc[1, "outcome"] == "answered"
    assert legs["sip_to_caller"].isna().all()   # the call succeeded: no error to the caller


def test_whole_second_rules_by_hand():
    s = T.parse_dial_string("{originate_timeout=6.9,progress_timeout=3}[leg_timeout=4,"
                            "leg_progress_timeout=2]sofia/gateway/a/1")
    # line 2577 atoi("6.9") = 6; the wait loop fires when elapsed >= 6 (line 3366): (5, 6]
    assert s.originate_timeout == 6 and any("atoi" in n for n in s.notes)
    tl = pd.DataFrame([{"call_id": "x", "invite_frame": 1, "src": "a", "dst": "b", "invite": 0.0,
                        "trying": 0.05, "ringing": None, "early_media": None, "answer": None,
                        "cancel": None, "final_status": None, "final": None}])
    d = T.timer_deadlines(s, tl).set_index("timer")
    assert (d.loc["originate_timeout", "window_from"], d.loc["originate_timeout", "window_to"]) == (5, 6)
    # elapsed > N (lines 360, 370, 3357): (N, N+1]
    assert (d.loc["progress_timeout", "window_from"], d.loc["progress_timeout", "window_to"]) == (3, 4)
    assert (d.loc["leg_timeout", "window_from"], d.loc["leg_progress_timeout", "window_to"]) == (4, 3)


def test_defaults_and_ranges_from_the_source():
    s = T.parse_dial_string("sofia/gateway/a/1")
    assert (s.originate_timeout, s.progress_timeout) == (60, 60)      # types.h:117, line 2685
    s = T.parse_dial_string("{originate_timeout=abc,originate_retries=101,originate_retry_sleep_ms=100}sofia/x/1")
    assert (s.originate_timeout, s.originate_retries, s.originate_retry_sleep_ms) == (60, 1, 1000)
    assert len(s.notes) == 3                                           # lines 2577, 2602, 2614
    s = T.parse_dial_string("{originate_timeout=9}sofia/x/1", channel_vars={
        "call_timeout": "20", "progress_timeout": "5", "originate_timeout": "30"})
    # {} wins over call_timeout (2173 then 2577); progress_timeout is copied (2413); the
    # caller's originate_timeout is not copied (2373-2420)
    assert (s.originate_timeout, s.progress_timeout) == (9, 5)
    s = T.parse_dial_string("sofia/x/1", channel_vars={"call_timeout": "20", "originate_timeout": "30"})
    assert s.originate_timeout == 20 and any("not read" in n for n in s.notes)


def test_cancel_that_no_timer_explains_is_the_caller():
    s = T.parse_vars("originate_timeout=30")
    tl = pd.DataFrame([{"call_id": "x", "invite_frame": 1, "src": "a", "dst": "b", "invite": 0.0,
                        "trying": 0.05, "ringing": 1.0, "early_media": None, "answer": None,
                        "cancel": 12.0, "final_status": 487, "final": 12.0}])
    e = T.explain_legs(s, tl).iloc[0]
    assert e["fired"] is None and e["cause"] == "ORIGINATOR_CANCEL" and not e["consistent"]


def test_dead_peer_meets_timer_b_before_the_default_timeouts():
    s = T.parse_vars("originate_timeout=60")
    tl = pd.DataFrame([{"call_id": "x", "invite_frame": 1, "src": "a", "dst": "b", "invite": 0.0,
                        "trying": None, "ringing": None, "early_media": None, "answer": None,
                        "cancel": None, "final_status": None, "final": None}])
    e = T.explain_legs(s, tl).iloc[0]
    assert e["first_timer"] == "sip_timer_b"   # RFC 3261 17.1.1.2: 64*T1 = 32 s < 59 s


def test_bridge_answer_timeout_counts_from_the_early_media_bridge():
    s = T.parse_vars("bridge_answer_timeout=5")
    tl = pd.DataFrame([{"call_id": "x", "invite_frame": 1, "src": "a", "dst": "b", "invite": 0.0,
                        "trying": 0.05, "ringing": None, "early_media": 2.0, "answer": None,
                        "cancel": 7.5, "final_status": 487, "final": 7.5}])
    d = T.timer_deadlines(s, tl).set_index("timer")
    # switch_ivr_bridge.c 424: limit = bridge start (2 s) + 5; 716: now > limit -> (7, 8]
    assert (d.loc["bridge_answer_timeout", "window_from"], d.loc["bridge_answer_timeout", "window_to"]) == (7, 8)


def test_traps():
    s = T.parse_dial_string("{originate_timeout=20,call_timeout=10}[leg_timeout=5]sofia/gateway/a/1,"
                            "[leg_timeout=5]sofia/gateway/b/1")
    text = " ".join(T.traps(s))
    assert "3068" in text and "user/ and group/" in text


@pytest.mark.parametrize("bad,match", [("{originate_timeout=6", "closing"),
                                        ("[leg_timeout=3]", "endpoint"),
                                        ("", "empty")])
def test_bad_dial_strings(bad, match):
    with pytest.raises(LabkitError, match=match):
        T.parse_dial_string(bad)


def test_unknown_variable_is_refused_with_a_suggestion():
    with pytest.raises(LabkitError, match="did you mean 'originate_timeout'"):
        T.parse_vars("originate_timout=5")


def test_capture_without_b_leg():
    with pytest.raises(LabkitError, match="no B-leg INVITE"):
        T.leg_timelines(data.path("sms_mo_submit"))


@pytest.mark.parametrize("text", [
    "variable_last_bridge_hangup_cause: [PROGRESS_TIMEOUT]",
    "<variables><last_bridge_hangup_cause>PROGRESS_TIMEOUT</last_bridge_hangup_cause></variables>",
    '{"variables": {"last_bridge_hangup_cause": "PROGRESS_TIMEOUT"}}',
])
def test_last_bridge_hangup_cause_from_log_or_cdr(text):
    t = causes.read_bridge_causes(text)
    assert t.loc[0, "variable"] == "last_bridge_hangup_cause" and t.loc[0, "value"] == "PROGRESS_TIMEOUT"
    with pytest.raises(LabkitError, match="no last_bridge_hangup_cause"):
        causes.read_bridge_causes("nothing here")


def test_cause_tables_by_hand():
    # mod_sofia.c 301-305: NO_USER_RESPONSE 408, NO_ANSWER 480; 341-342 RECOVERY 504; default 480
    assert causes.CAUSE_TO_SIP["NO_ANSWER"] == 480 and causes.CAUSE_TO_SIP["NO_USER_RESPONSE"] == 408
    assert causes.CAUSE_TO_SIP["RECOVERY_ON_TIMER_EXPIRE"] == 504
    # sofia_glue.c 1833-1848: 408, 504 -> RECOVERY_ON_TIMER_EXPIRE; 480 -> NO_USER_RESPONSE
    assert causes.SIP_TO_CAUSE[408] == causes.SIP_TO_CAUSE[504] == "RECOVERY_ON_TIMER_EXPIRE"
    assert causes.SIP_TO_CAUSE[480] == "NO_USER_RESPONSE"


@pytest.mark.skipif(not (shutil.which("sipp") and shutil.which("tshark")), reason="sipp or tshark missing")
def test_live_sipp_progress_timeout():
    from tools.timers.make import record
    case = CASES["timers_progress_timeout"]
    with tempfile.TemporaryDirectory(prefix="lkt") as tmp:
        pcap = record("live", case, Path(tmp), out=Path(tmp) / "live.pcap")
        legs = T.explain_legs(T.parse_dial_string(case["dial"]), T.leg_timelines(pcap))
    assert legs.loc[0, "fired"] == "progress_timeout" and legs.loc[0, "cause"] == "PROGRESS_TIMEOUT"


def test_doctor_check_reports_the_cancelled_leg():
    from labkit.doctor import CheckContext
    from labkit.findings import Skip
    from labkit.findings import registered_checks
    from labkit.freeswitch import timer_checks  # noqa: F401 (registers the check)
    check = registered_checks()["freeswitch.timers"].func   # what `labkit doctor` runs
    ctx = CheckContext(data.path("timers_no_answer"))
    found = check(ctx)
    assert len(found) == 1 and "CANCELled 5.61 s" in found[0].what and "after a 180" in found[0].what
    with pytest.raises(Skip):
        check(CheckContext(data.path("timers_early_media")))


def test_progress_of_one_leg_stops_progress_timeout_for_the_group():
    # oglobals.progress is shared by the legs of a group (lines 412, 729, 3357); the
    # per-leg leg_progress_timeout is not (line 360)
    s = T.parse_dial_string("{progress_timeout=3}[leg_progress_timeout=2]sofia/gateway/a/1,sofia/gateway/b/1")
    row = {"call_id": "x", "invite_frame": 1, "src": "a", "dst": "b", "invite": 0.0, "trying": 0.05,
           "ringing": None, "early_media": None, "answer": None, "cancel": None, "final_status": None,
           "final": None}
    tl = pd.DataFrame([dict(row), dict(row, call_id="y", ringing=1.0)])
    d = T.timer_deadlines(s, tl)
    first = d[d["leg"] == 1].set_index("timer")
    assert not first.loc["progress_timeout", "applies"] and first.loc["leg_progress_timeout", "applies"]
