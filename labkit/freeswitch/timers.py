"""Which FreeSWITCH bridge timer fired? Originate/bridge timers against a B-leg timeline.

FreeSWITCH's ``bridge``/``originate`` send one INVITE per leg of the dial string and stop
waiting when one of several timers runs out. The rules, read from FreeSWITCH master at
cc93a683ca (src/switch_ivr_originate.c, src/switch_ivr_bridge.c,
src/mod/endpoints/mod_sofia/mod_sofia.c), cited by line below:

* ``originate_timeout`` (default 60 s, SWITCH_DEFAULT_TIMEOUT): read with atoi, so whole
  seconds (line 2577); elapsed time is whole epoch seconds since the legs were launched
  (line 3258) and the wait loop tests ``elapsed >= T`` (line 3366): the timer fires
  between T-1 and T s after the INVITE. Cause NO_ANSWER (lines 3772, 4049); the legs are
  CANCELled; FreeSWITCH answers the caller 480 (hangup_cause_to_sip, mod_sofia.c 303-305).
  Afterwards no further ``|`` group and no retry, unless
  ``originate_continue_on_timeout=true`` (line 4200).
* ``progress_timeout`` (default: originate_timeout, line 2685): no 180/183 from any leg
  by then (``elapsed > P``, line 3357): PROGRESS_TIMEOUT (480 to the caller, the default
  branch of hangup_cause_to_sip, mod_sofia.c 370-371); the next ``|`` group is tried.
  A 100 Trying is not progress.
* per leg ``[leg_progress_timeout=N]`` (line 3177): that leg without 180/183/answer
  after N s (``elapsed > N``, line 360) is hung up with PROGRESS_TIMEOUT;
  ``[leg_timeout=N]`` (line 3167): that leg is hung up after N s whatever it sent
  (line 370): ALLOTTED_TIMEOUT.
* early media: with ``ignore_early_media`` unset, a 183 with SDP ends the originate
  (early_ok, line 777) and the call is bridged in early media: none of the timers above
  applies any more. ``bridge_answer_timeout`` (switch_ivr_bridge.c 422-425, 716-724)
  then hangs the still unanswered caller up N s after the bridge began:
  ALLOTTED_TIMEOUT.
* ``originate_retries`` (line 2602) is the number of attempts (1-100) of the whole dial
  string, each a new INVITE, ``originate_retry_sleep_ms`` (500-60000, default 1000,
  line 2614) apart; it does not retransmit an INVITE (Sofia's SIP timers do, RFC 3261
  17.1.1.2).
* ``call_timeout`` on the caller's channel is the default originate timeout (line
  2173); inside a dial string only the user/ and group/ endpoints read it
  (mod_dptools.c 4245, 4378, 4453). A caller's ``originate_timeout`` set with the ``set``
  application is not copied into the originate (only the variables of lines 2373-2420
  are, ``progress_timeout``, ``ignore_early_media``, ``originate_continue_on_timeout``
  among them).
* ``last_bridge_hangup_cause`` is written on the other leg when a bridged leg hangs up
  (switch_channel.c 3430): on the caller it says why the B-leg ended.
"""
from __future__ import annotations

from labkit.errors import LabkitError
from labkit.freeswitch.causes import CAUSE_TO_SIP, SIP_TO_CAUSE
from labkit.freeswitch.dialstring import (TIMER_VARIABLES, TRAPS, Leg, TimerSettings,  # noqa: F401
                                          parse_dial_string, parse_vars)

__all__ = ["Leg", "TimerSettings", "TIMER_VARIABLES", "TRAPS",
           "parse_dial_string", "parse_vars", "leg_timelines", "timer_deadlines", "explain_legs", "traps", "TIMELINE_COLUMNS", "DEADLINE_COLUMNS", "EXPLAIN_COLUMNS", "RULES"]

TIMELINE_COLUMNS = ["call_id", "invite_frame", "src", "dst", "invite", "trying", "ringing",
                    "early_media", "answer", "cancel", "final_status", "final"]


def leg_timelines(packets_or_messages, *, freeswitch: str | None = None) -> "pd.DataFrame":
    """Every B-leg INVITE dialog of a capture and when each step of it happened.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture or :func:`labkit.sip.sip_messages` of it.
    freeswitch : str, optional
        FreeSWITCH's address ("ip" or "ip:port"): its outgoing INVITEs are the B-legs.
        Default: the INVITEs of a host that also receives one (a B2BUA), else all.

    Returns
    -------
    pandas.DataFrame
        One row per leg in INVITE order (:data:`TIMELINE_COLUMNS`); times [s] since the
        first B-leg INVITE: trying (first 100), ringing (first 18x without SDP),
        early_media (first 18x with SDP), answer (first 2xx), cancel (CANCEL sent),
        final (final response >= 300, ``final_status``); None when absent.

    Raises
    ------
    LabkitError
        A capture with no (B-leg) INVITE.

    References
    ----------
    RFC 3261 sections 9.1 (CANCEL), 13.2.2 (responses to an INVITE); RFC 3960 (early
    media); :func:`labkit.sip.call_progress` (the one call timeline).

    Examples
    --------
    >>> from labkit import data
    >>> t = leg_timelines(data.path("timers_no_answer"))
    >>> float(round(t.loc[0, "ringing"], 1)), float(round(t.loc[0, "cancel"], 1)), int(t.loc[0, "final_status"])
    (1.0, 5.6, 487)
    """
    import pandas as pd

    from labkit.sip import as_messages, call_progress
    msgs = as_messages(packets_or_messages)
    progress = call_progress(msgs)
    legs = _b_legs(progress, freeswitch)
    if legs.empty:
        raise LabkitError("no B-leg INVITE in the capture", "capture",
                          "capture the SIP between FreeSWITCH and the gateway (the INVITEs it sends)"
                          + (f"; no INVITE is sent by {freeswitch}" if freeswitch else ""))
    t0 = float(legs["invite_time"].min())
    rows = [_timeline_row(msgs, leg, t0) for _, leg in legs.iterrows()]
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS).astype({"final_status": "Int64"})


def _host(addr: str) -> str:
    return addr.rsplit(":", 1)[0] if addr.count(":") == 1 else addr


def _b_legs(progress, freeswitch):
    if progress.empty:
        return progress
    if freeswitch:
        mask = [(c == freeswitch or _host(c) == freeswitch) for c in progress["caller"]]
        return progress[mask]
    receivers = {_host(c) for c in progress["callee"]}
    b2bua = [c for c in progress["caller"] if _host(c) in receivers]
    return progress[progress["caller"].isin(b2bua)] if b2bua else progress


def _first(rows, t0):
    return None if rows.empty else float(rows.iloc[0]["time"]) - t0


def _timeline_row(msgs, leg, t0) -> dict:
    d = msgs[msgs["call_id"] == leg["call_id"]]
    inv = d[d["cseq_method"] == "INVITE"]
    st = inv["status"].fillna(0)
    prov = inv[(st >= 180) & (st < 200)]
    final = inv[st >= 300]
    return {"call_id": leg["call_id"], "invite_frame": int(leg["invite_frame"]), "src": leg["caller"],
            "dst": leg["callee"], "invite": float(leg["invite_time"]) - t0,
            "trying": _first(inv[st == 100], t0), "ringing": _first(prov[prov["sdp"].isna()], t0),
            "early_media": _first(prov[prov["sdp"].notna()], t0),
            "answer": _first(inv[(st >= 200) & (st < 300)], t0),
            "cancel": _first(d[d["method"] == "CANCEL"], t0),
            "final_status": int(final.iloc[0]["status"]) if len(final) else None,
            "final": _first(final, t0)}


DEADLINE_COLUMNS = ["leg", "attempt", "group", "timer", "value_s", "rule", "window_from",
                    "window_to", "applies", "why"]
_TIMER_B = 32   # [s] RFC 3261 17.1.1.2: Timer B = 64*T1, T1 = 500 ms (Sofia's default)


def _slots(settings: TimerSettings):
    return [(a, leg) for a in range(settings.originate_retries) for leg in settings.legs]


def _none(v) -> bool:
    return v is None or v != v


def timer_deadlines(settings: TimerSettings, timelines) -> "pd.DataFrame":
    """For each leg, every timer's firing window and whether it still applied then.

    Windows are [s] since the INVITE of the leg's ``|`` group (when FreeSWITCH started
    counting, line 3258): ``elapsed >= T`` fires in (T-1, T], ``elapsed > T`` in (T, T+1]
    (elapsed is whole epoch seconds). bridge_answer_timeout counts from the 183 that
    started the early-media bridge.

    Parameters
    ----------
    settings : TimerSettings
    timelines : pandas.DataFrame
        :func:`leg_timelines`.

    Returns
    -------
    pandas.DataFrame
        :data:`DEADLINE_COLUMNS`: applies is False when the leg had progressed, been
        answered or bridged (why says which, and when) before the window opened.

    References
    ----------
    FreeSWITCH switch_ivr_originate.c lines 303, 360, 370 (per-leg timers), 3357
    (progress_timeout), 3366 (originate_timeout), 777 (early media ends the wait);
    switch_ivr_bridge.c 422-425 and 716 (bridge_answer_timeout); RFC 3261 17.1.1.2
    (Timer B).

    Examples
    --------
    >>> from labkit import data
    >>> s = parse_vars("progress_timeout=4")
    >>> d = timer_deadlines(s, leg_timelines(data.path("timers_progress_timeout")))
    >>> d.loc[d["timer"] == "progress_timeout", ["window_from", "window_to", "applies"]].values.tolist()
    [[4.0, 5.0, True]]
    """
    import pandas as pd
    rows = []
    for i, tl in enumerate(timelines.to_dict("records")):
        slots = _slots(settings)
        attempt, leg = slots[i] if i < len(slots) else (None, None)
        start = _group_start(timelines, settings, i)
        for row in _leg_timers(settings, leg, tl, start, _group_progress(timelines, settings, i)):
            rows.append({"leg": i + 1, "attempt": None if attempt is None else attempt + 1,
                         "group": None if leg is None else leg.group + 1, **row})
    return pd.DataFrame(rows, columns=DEADLINE_COLUMNS)


def _group_start(timelines, settings, i) -> float:
    """INVITE time of the first leg of leg i's (attempt, group)."""
    slots = _slots(settings)
    if i >= len(slots):
        return float(timelines.iloc[i]["invite"])
    key = (slots[i][0], slots[i][1].group)
    first = next(j for j, (a, leg) in enumerate(slots) if (a, leg.group) == key)
    return float(timelines.iloc[min(first, len(timelines) - 1)]["invite"])


def _progress_time(tl):
    """First 18x or answer of one leg [s], else None."""
    return min((tl[k] for k in ("ringing", "early_media", "answer") if not _none(tl[k])), default=None)


def _group_progress(timelines, settings, i):
    """First progress of any leg of leg i's (attempt, group): oglobals.progress and
    sent_ring are shared by the legs ringing together (lines 412, 729, 3357)."""
    slots = _slots(settings)
    if i >= len(slots):
        return _progress_time(timelines.iloc[i])
    key = (slots[i][0], slots[i][1].group)
    same = [j for j, (a, leg) in enumerate(slots) if (a, leg.group) == key and j < len(timelines)]
    return min((t for t in (_progress_time(timelines.iloc[j]) for j in same) if t is not None), default=None)


def _leg_timers(settings, leg, tl, start, group_progress=None):
    rel = {k: (None if _none(tl[k]) else tl[k] - start) for k in ("ringing", "early_media", "answer", "trying")}
    progressed = min((v for v in (rel["ringing"], rel["early_media"], rel["answer"]) if v is not None), default=None)
    any_leg = None if group_progress is None else group_progress - start
    bridged = rel["early_media"] if not settings.ignore_early_media else None
    ended = min((v for v in (bridged, rel["answer"]) if v is not None), default=None)

    def row(timer, value, rule, cond_time, cond_what):
        lo, hi = (value - 1, value) if rule == ">=" else (value, value + 1)
        blocked = [(t, w) for t, w in cond_time if t is not None and t <= lo]
        why = "; ".join(f"{w} at {t:.3f} s" for t, w in blocked)
        return {"timer": timer, "value_s": value, "rule": f"elapsed {rule} {value}", "window_from": float(lo),
                "window_to": float(hi), "applies": not blocked, "why": why or cond_what}

    out = []
    stop = [(ended, "early media bridged" if ended == bridged else "answered")]
    prog = [(progressed, "progress (18x/answer)")] + stop
    if leg is not None and leg.seconds("leg_progress_timeout"):
        out.append(row("leg_progress_timeout", leg.seconds("leg_progress_timeout"), ">", prog,
                       "no 18x/answer on this leg -> PROGRESS_TIMEOUT"))
    if leg is not None and leg.seconds("leg_timeout"):
        out.append(row("leg_timeout", leg.seconds("leg_timeout"), ">", stop, "-> ALLOTTED_TIMEOUT"))
    group = [(any_leg, "progress on a leg of this group")] + stop
    out.append(row("progress_timeout", settings.progress_timeout, ">", group, "no 180/183 -> PROGRESS_TIMEOUT"))
    out.append(row("originate_timeout", settings.originate_timeout, ">=", stop, "not answered -> NO_ANSWER"))
    if rel["trying"] is None and progressed is None and _none(tl["final"]):
        out.append(row("sip_timer_b", _TIMER_B, ">", [(None, "")], "no response at all -> 408 locally, "
                       "RECOVERY_ON_TIMER_EXPIRE"))
    if bridged is not None and settings.bridge_answer_timeout is not None:
        r = row("bridge_answer_timeout", settings.bridge_answer_timeout, ">", [(None, "")],
                "caller still unanswered after the early-media bridge -> ALLOTTED_TIMEOUT")
        r["window_from"] += bridged
        r["window_to"] += bridged
        ans = rel["answer"]
        if ans is not None and ans <= r["window_from"]:
            r["applies"], r["why"] = False, f"answered at {ans:.3f} s"
        out.append(r)
    return out


EXPLAIN_COLUMNS = ["leg", "attempt", "group", "endpoint", "call_id", "outcome", "ended_s", "fired",
                   "cause", "sip_to_caller", "consistent", "first_timer", "advice"]
_CAUSE = {"originate_timeout": "NO_ANSWER", "progress_timeout": "PROGRESS_TIMEOUT",
          "leg_progress_timeout": "PROGRESS_TIMEOUT", "leg_timeout": "ALLOTTED_TIMEOUT",
          "bridge_answer_timeout": "ALLOTTED_TIMEOUT", "sip_timer_b": "RECOVERY_ON_TIMER_EXPIRE"}
_ADVICE = {
    "progress_timeout": "to wait longer for paging raise progress_timeout (or this leg's "
                        "[leg_progress_timeout]) above the time the peer needs for its 180/183; "
                        "to give up on a dead peer sooner lower it: the next | gateway is tried",
    "leg_progress_timeout": "raise [leg_progress_timeout] on this leg to wait longer for its 180/183; "
                            "lower it to drop a dead gateway sooner",
    "originate_timeout": "ring longer or shorter with {originate_timeout=N} (not set on the caller); "
                         "to try the next gateway after no answer add originate_continue_on_timeout=true "
                         "or give each leg its own [leg_timeout=N]",
    "leg_timeout": "raise this leg's [leg_timeout] to let it ring longer; the next | group is tried after it",
    "bridge_answer_timeout": "raise bridge_answer_timeout on the caller (set before the bridge) to let "
                             "an early-media call ring longer",
    "sip_timer_b": "the peer never answered the INVITE: set progress_timeout or [leg_progress_timeout] "
                   "to a few seconds to move to the next gateway before Timer B (32 s)",
}
_TOLERANCE = 0.3   # [s] FreeSWITCH's loop, Sofia and the network after the deadline


def explain_legs(settings: TimerSettings, timelines) -> "pd.DataFrame":
    """Per leg: how it ended, which timer fired (or would fire first), the cause, the SIP sent.

    Parameters
    ----------
    settings : TimerSettings
        :func:`parse_dial_string` or :func:`parse_vars`.
    timelines : pandas.DataFrame
        :func:`leg_timelines`.

    Returns
    -------
    pandas.DataFrame
        :data:`EXPLAIN_COLUMNS`. outcome: answered, early media (bridged), cancelled,
        rejected NNN or no end; fired: the timer whose window holds the CANCEL (within
        0.3 s after it) or None; cause: the hangup cause of that timer or of the
        peer's final response; sip_to_caller: what FreeSWITCH answers the caller when
        this leg was the last one tried and failed (mod_sofia.c hangup_cause_to_sip),
        else None; consistent: the capture agrees with the settings (the CANCEL falls in
        the window of a timer that applied); first_timer: the timer that fires first by
        the settings; advice: the variable to change.

    References
    ----------
    FreeSWITCH switch_ivr_originate.c lines 3772, 4049, 4200, 4268 (causes, continue on
    timeout); mod_sofia.c 292-373 (hangup_cause_to_sip); sofia_glue.c 1814-1886 (SIP ->
    cause).

    Examples
    --------
    >>> from labkit import data
    >>> s = parse_dial_string("{progress_timeout=4}sofia/gateway/gw1/1000")
    >>> e = explain_legs(s, leg_timelines(data.path("timers_progress_timeout")))
    >>> r = e.iloc[0]
    >>> r["fired"], r["cause"], int(r["sip_to_caller"]), bool(r["consistent"])
    ('progress_timeout', 'PROGRESS_TIMEOUT', 480, True)
    """
    import pandas as pd
    deadlines = timer_deadlines(settings, timelines)
    slots = _slots(settings)
    rows = []
    n = len(timelines)
    for i, tl in enumerate(timelines.to_dict("records")):
        d = deadlines[deadlines["leg"] == i + 1]
        leg = slots[i][1] if i < len(slots) else None
        start = _group_start(timelines, settings, i)
        rows.append(_explain_one(i, tl, d, leg, slots, start, last=(i == n - 1), settings=settings))
    return pd.DataFrame(rows, columns=EXPLAIN_COLUMNS)


def _outcome(tl, ignore_early):
    if not _none(tl["early_media"]) and not ignore_early:
        then = "answered" if not _none(tl["answer"]) else "cancelled" if not _none(tl["cancel"]) \
            else f"rejected {int(tl['final_status'])}" if not _none(tl["final"]) else "no end"
        return f"early media (bridged), then {then}", tl["early_media"]
    if not _none(tl["answer"]):
        return "answered", tl["answer"]
    if not _none(tl["cancel"]):
        return "cancelled", tl["cancel"]
    if not _none(tl["final"]):
        return f"rejected {int(tl['final_status'])}", tl["final"]
    return "no end in the capture", None


def _explain_one(i, tl, d, leg, slots, start, *, last, settings) -> dict:
    outcome, ended = _outcome(tl, settings.ignore_early_media)
    live = d[d["applies"]].sort_values(["window_to", "window_from"], kind="stable")
    first = live.iloc[0]["timer"] if len(live) else None
    fired, cause, consistent = None, None, True
    if outcome == "cancelled":
        t = ended - start
        hit = live[(live["window_from"] < t) & (t <= live["window_to"] + _TOLERANCE)]
        fired = hit.iloc[0]["timer"] if len(hit) else None
        cause = _CAUSE.get(fired) if fired else "ORIGINATOR_CANCEL"
        consistent = fired is not None and fired == first
    elif outcome.startswith("rejected"):
        cause = SIP_TO_CAUSE.get(int(tl["final_status"]), "NORMAL_UNSPECIFIED")
        consistent = first is None or ended - start <= live.iloc[0]["window_to"] + _TOLERANCE
    elif outcome.startswith(("answered", "early")):
        consistent = first is None or ended - start <= live.iloc[0]["window_to"] + _TOLERANCE
    advice = _ADVICE.get(fired or "", "")
    if outcome.startswith(("answered", "early")) and not _none(tl["early_media"]) and not settings.ignore_early_media:
        advice = TRAPS["early_media"]
    if outcome == "cancelled" and fired is None:
        advice = ("no configured timer explains this CANCEL: the caller hung up (ORIGINATOR_CANCEL) "
                  "or the settings differ from the ones given")
    failed = not outcome.startswith(("answered", "early"))
    return {"leg": i + 1, "attempt": slots[i][0] + 1 if i < len(slots) else None,
            "group": leg.group + 1 if leg else None, "endpoint": leg.endpoint if leg else None,
            "call_id": tl["call_id"], "outcome": outcome, "ended_s": None if ended is None else ended - start,
            "fired": fired, "cause": cause,
            "sip_to_caller": CAUSE_TO_SIP.get(cause, 480) if failed and last and cause else None,
            "consistent": bool(consistent), "first_timer": first, "advice": advice}


def traps(settings: TimerSettings, timelines=None) -> list[str]:
    """The known traps that apply to these settings (and capture), as sentences.

    Parameters
    ----------
    settings : TimerSettings
    timelines : pandas.DataFrame, optional
        :func:`leg_timelines`; enables the early-media trap.

    Returns
    -------
    list of str
        The parsing notes first, then :data:`TRAPS` entries that apply.

    References
    ----------
    signalwire/freeswitch#3068 (originate_timeout with several leg_timeout legs);
    switch_ivr_originate.c lines 777, 2173, 2685, 3366, 4200; mod_dptools.c 4245.

    Examples
    --------
    >>> any("3068" in t for t in traps(parse_dial_string(
    ...     "{originate_timeout=20}[leg_timeout=5]sofia/gateway/a/1,[leg_timeout=5]sofia/gateway/b/1")))
    True
    """
    out = list(settings.notes)
    if sum(1 for leg in settings.legs if leg.seconds("leg_timeout")) >= 2 and \
            "originate_timeout" in settings.variables:
        out.append(TRAPS["leg_timeout_many"])
    if timelines is not None and timelines["early_media"].notna().any() and not settings.ignore_early_media:
        out.append(TRAPS["early_media"])
    if settings.originate_retries > 1 or settings.continue_on_timeout:
        out.append(TRAPS["retries"])
    if "progress_timeout" not in settings.variables:
        out.append(TRAPS["progress_default"])
    out.append(TRAPS["whole_seconds"])
    return out


RULES = [  # one row per timer: the cheat sheet, corrected from the source
    {"variable": "originate_timeout", "default": "60 s", "counts from": "legs launched (INVITE)",
     "stopped by": "answer, or 183 with SDP (early media bridged)", "fires": "elapsed >= T: (T-1, T] s",
     "cause": "NO_ANSWER", "SIP to caller": 480, "next | group": "only with originate_continue_on_timeout",
     "source": "switch_ivr_originate.c 2577, 3366, 4200"},
    {"variable": "progress_timeout", "default": "= originate_timeout", "counts from": "legs launched",
     "stopped by": "180/183 (not 100), answer", "fires": "elapsed > T: (T, T+1] s",
     "cause": "PROGRESS_TIMEOUT", "SIP to caller": 480, "next | group": "yes",
     "source": "switch_ivr_originate.c 2584, 2685, 3357"},
    {"variable": "[leg_progress_timeout]", "default": "off", "counts from": "legs launched",
     "stopped by": "this leg's 180/183, answer", "fires": "elapsed > T: (T, T+1] s",
     "cause": "PROGRESS_TIMEOUT", "SIP to caller": 480, "next | group": "yes",
     "source": "switch_ivr_originate.c 3177, 360"},
    {"variable": "[leg_timeout]", "default": "off", "counts from": "legs launched",
     "stopped by": "answer (or early media bridged)", "fires": "elapsed > T: (T, T+1] s",
     "cause": "ALLOTTED_TIMEOUT", "SIP to caller": 480, "next | group": "yes",
     "source": "switch_ivr_originate.c 3167, 370"},
    {"variable": "bridge_answer_timeout", "default": "off", "counts from": "bridge start, caller unanswered",
     "stopped by": "answer", "fires": "now > start + T: (T, T+1] s", "cause": "ALLOTTED_TIMEOUT (caller)",
     "SIP to caller": 480, "next | group": "no (the bridge already started)",
     "source": "switch_ivr_bridge.c 422-425, 716-724"},
    {"variable": "originate_retries / originate_retry_sleep_ms", "default": "1 attempt / 1000 ms",
     "counts from": "-", "stopped by": "-", "fires": "-", "cause": "-", "SIP to caller": "-",
     "next | group": "whole dial string again, after failures other than NO_ANSWER",
     "source": "switch_ivr_originate.c 2602, 2614, 2691 (attempt loop), 2776-2790 (sleep)"},
]
