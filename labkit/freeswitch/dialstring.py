"""FreeSWITCH dial strings and originate variables, read the way switch_ivr_originate.c reads them.

``{global vars}leg[,leg...][|leg...]``, each leg optionally ``[leg vars]``: ``,`` legs
ring at the same time, ``|`` groups one after the other. Values go through C's atoi
(whole seconds: "6.9" is 6, "abc" is 0 and ignored) and the source's ranges; the
caller's channel contributes only the variables the originate copies (lines
2373-2420), call_timeout (2173) and bridge_answer_timeout (switch_ivr_bridge.c 422).
What FreeSWITCH would ignore, and why, is kept in :attr:`TimerSettings.notes`.
:mod:`labkit.freeswitch.timers` uses these settings against a capture.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.errors import LabkitError

__all__ = ["Leg", "TimerSettings", "TIMER_VARIABLES", "TRAPS", "DEFAULT_TIMEOUT",
           "parse_dial_string", "parse_vars"]

DEFAULT_TIMEOUT = 60   # [s] SWITCH_DEFAULT_TIMEOUT, src/include/switch_types.h:117
TIMER_VARIABLES = ("originate_timeout", "originate_retries", "originate_retry_sleep_ms",
                   "progress_timeout", "leg_progress_timeout", "leg_timeout",
                   "bridge_answer_timeout", "originate_continue_on_timeout", "call_timeout",
                   "ignore_early_media", "leg_delay_start")
TRAPS = {
    "early_media": "a 183 with SDP ends the originate (the call is bridged in early media): "
                   "originate_timeout and progress_timeout stop counting; set "
                   "ignore_early_media=true to keep them, or bridge_answer_timeout to cap the wait",
    "whole_seconds": "timers count whole epoch seconds: originate_timeout=T fires between T-1 and "
                     "T s after the INVITE (elapsed >= T), progress_timeout, leg_timeout, "
                     "leg_progress_timeout and bridge_answer_timeout between T and T+1 s (elapsed > T)",
    "leg_timeout_many": "with several legs that have leg_timeout, originate_timeout is not "
                        "honoured (signalwire/freeswitch#3068): give each leg its own leg_timeout",
    "call_timeout": "call_timeout in a dial string is read only by the user/ and group/ endpoints; "
                    "for sofia/ legs use originate_timeout in {} (call_timeout on the caller's "
                    "channel is only the default)",
    "retries": "originate_retries counts attempts of the whole dial string (new INVITEs), not "
               "INVITE retransmissions; after NO_ANSWER (originate_timeout) there is no retry and "
               "no next | group unless originate_continue_on_timeout=true",
    "progress_default": "progress_timeout defaults to originate_timeout, and 100 Trying is not "
                        "progress: only 180/183 (or an answer) stop it",
}


def _atoi(text) -> int:
    """C atoi: leading blanks, sign, digits; 0 when none ("6s" -> 6, "2.5" -> 2, "x" -> 0)."""
    m = re.match(r"\s*([+-]?\d+)", str(text))
    return int(m.group(1)) if m else 0


def _true(text) -> bool:
    """switch_true: yes/on/true/t/enabled/active/allow or a non-zero number."""
    s = str(text).strip().lower()
    return s in ("yes", "on", "true", "t", "enabled", "active", "allow") or (s.isdigit() and int(s) != 0)


@dataclass(frozen=True)
class Leg:
    """One endpoint of a dial string: its ``[...]`` variables and its place."""

    endpoint: str
    group: int          # index of the ``|`` group (tried one after the other)
    index: int          # index within the group (``,`` legs ring at the same time)
    variables: dict = field(default_factory=dict)

    def seconds(self, name: str) -> int | None:
        """A per-leg timer [s] as FreeSWITCH reads it (atoi, > 0), else None."""
        v = _atoi(self.variables.get(name, "0"))
        return v if v > 0 else None


@dataclass(frozen=True)
class TimerSettings:
    """The originate timers in effect, with what FreeSWITCH ignored and why (``notes``)."""

    originate_timeout: int = DEFAULT_TIMEOUT       # [s]
    progress_timeout: int = DEFAULT_TIMEOUT        # [s] (defaults to originate_timeout)
    originate_retries: int = 1
    originate_retry_sleep_ms: int = 1000           # [ms]
    continue_on_timeout: bool = False
    bridge_answer_timeout: int | None = None       # [s]
    ignore_early_media: bool = False
    legs: tuple = ()
    variables: dict = field(default_factory=dict)
    notes: tuple = ()

    def groups(self) -> list[list[Leg]]:
        """Legs grouped by ``|`` group, in dial order."""
        out: dict = {}
        for leg in self.legs:
            out.setdefault(leg.group, []).append(leg)
        return [out[k] for k in sorted(out)]


def _split(text: str, sep: str) -> list[str]:
    """Split at `sep` outside [], {}, <> and quotes."""
    parts, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{<":
            depth += 1
        elif ch in "]}>":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    if depth or quote:
        raise LabkitError(f"unbalanced brackets or quotes in {text!r}", "dial string",
                          "close every {, [ and quote")
    return parts + [cur]


def _pairs(body: str, where: str) -> dict:
    out = {}
    for item in _split(body, ","):
        if not item.strip():
            continue
        if "=" not in item:
            raise LabkitError(f"{item.strip()!r} is not name=value", where,
                              "write variables as name=value separated by commas")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip().strip("'\"")
    return out


def _take(text: str, open_: str, close: str, where: str):
    text = text.strip()
    if not text.startswith(open_):
        return {}, text
    end = text.find(close)
    if end < 0:
        raise LabkitError(f"no closing {close!r}", where, f"close the {open_}...{close} block")
    return _pairs(text[1:end], where), text[end + 1:].strip()


def parse_dial_string(text: str, channel_vars: dict | None = None) -> TimerSettings:
    """The timers of a FreeSWITCH dial string, as switch_ivr_originate reads them.

    Parameters
    ----------
    text : str
        ``{global vars}leg[,leg...][|leg...]`` where each leg may start with
        ``[leg vars]`` (``,`` legs ring together, ``|`` groups one after the other).
    channel_vars : dict, optional
        Variables of the caller's channel; only those FreeSWITCH copies into the
        originate (progress_timeout, ignore_early_media, originate_continue_on_timeout;
        lines 2373-2420), call_timeout (line 2173) and bridge_answer_timeout
        (switch_ivr_bridge.c 422) are used.

    Returns
    -------
    TimerSettings

    Raises
    ------
    LabkitError
        A dial string that does not parse (names the part).

    References
    ----------
    FreeSWITCH src/switch_ivr_originate.c at cc93a683ca, lines 2577-2622 (global timers,
    atoi and ranges), 2685 (progress_timeout default), 3167-3184 (leg_timeout,
    leg_progress_timeout); src/include/switch_types.h:117 (60 s default).

    Examples
    --------
    >>> s = parse_dial_string("{originate_timeout=6.9}[leg_timeout=3]sofia/gateway/gw1/1000|sofia/gateway/gw2/1000")
    >>> s.originate_timeout, s.progress_timeout, [leg.group for leg in s.legs]
    (6, 6, [0, 1])
    >>> s.legs[0].seconds("leg_timeout")
    3
    """
    where = "dial string"
    if not text or not text.strip():
        raise LabkitError("empty dial string", where, "give e.g. {originate_timeout=30}sofia/gateway/gw1/1000")
    glob, rest = _take(text, "{", "}", where)
    legs = []
    for g, group in enumerate(_split(rest, "|")):
        for i, leg in enumerate(_split(group, ",")):
            lvars, endpoint = _take(leg, "[", "]", f"{where}, leg {len(legs) + 1}")
            if not endpoint or "/" not in endpoint:
                raise LabkitError(f"{leg.strip()!r} is not an endpoint like sofia/gateway/NAME/NUMBER",
                                  f"{where}, group {g + 1}", "write each leg as type/data, e.g. sofia/gateway/gw1/1000")
            legs.append(Leg(endpoint, g, i, lvars))
    return _settings(glob, channel_vars or {}, tuple(legs))


_COPIED = ("progress_timeout", "ignore_early_media", "originate_continue_on_timeout")


def _settings(glob: dict, cvars: dict, legs: tuple) -> TimerSettings:
    notes = []
    event = dict(glob)
    for k in _COPIED:                      # lines 2373-2420: copied when missing
        if k in cvars and k not in event:
            event[k] = cvars[k]
    timeout = DEFAULT_TIMEOUT
    if "call_timeout" in cvars and _atoi(cvars["call_timeout"]) > 0:   # line 2173
        timeout = _atoi(cvars["call_timeout"])
    if "originate_timeout" in cvars and "originate_timeout" not in glob:
        notes.append("originate_timeout on the caller's channel is not read by the originate "
                     "(not among the variables copied at lines 2373-2420): put it in {}")
    timeout = _positive(event, "originate_timeout", timeout, notes)
    progress = _positive(event, "progress_timeout", 0, notes) or timeout     # line 2685
    retries = _ranged(event, "originate_retries", 1, 1, 100, notes)
    sleep = _ranged(event, "originate_retry_sleep_ms", 1000, 500, 60000, notes)
    if "call_timeout" in glob and any(not l.endpoint.startswith(("user/", "group/")) for l in legs):
        notes.append(TRAPS["call_timeout"])
    bat = cvars.get("bridge_answer_timeout")
    if "bridge_answer_timeout" in glob:
        notes.append("bridge_answer_timeout in {} is set on the B-leg; FreeSWITCH reads it from the "
                     "caller's channel (switch_ivr_bridge.c 422): set it before the bridge")
    iem = str(event.get("ignore_early_media", "")).strip().lower()
    return TimerSettings(timeout, progress, retries, sleep,
                         _true(event.get("originate_continue_on_timeout", "false")),
                         _atoi(bat) if bat is not None and _atoi(bat) >= 0 else None,
                         _true(iem) or iem in ("consume", "ring_ready"), legs,
                         {**cvars, **event}, tuple(notes))


def _positive(event, name, default, notes) -> int:
    if name not in event:
        return default
    v = _atoi(event[name])
    if v <= 0:
        notes.append(f"{name}={event[name]!r} is ignored (atoi gives {v}, FreeSWITCH needs > 0)")
        return default
    if str(event[name]).strip() != str(v):
        notes.append(f"{name}={event[name]!r} is read as {v} s (atoi: whole seconds)")
    return v


def _ranged(event, name, default, lo, hi, notes) -> int:
    if name not in event:
        return default
    v = _atoi(event[name])
    if not lo <= v <= hi:
        notes.append(f"{name}={event[name]!r} is ignored (must be {lo}-{hi}); {default} applies")
        return default
    return v


def parse_vars(text: str) -> TimerSettings:
    """``--vars``: a dial string, or ``name=value,...`` of the caller's/originate variables.

    Parameters
    ----------
    text : str
        ``"originate_timeout=6,progress_timeout=3"`` (taken as the ``{}`` variables of a
        one-leg dial string) or a full dial string (``{...}sofia/...``).

    Returns
    -------
    TimerSettings

    Raises
    ------
    LabkitError
        An unknown variable name (with the closest known one), or a bad dial string.

    References
    ----------
    FreeSWITCH src/switch_ivr_originate.c (the variables of :data:`TIMER_VARIABLES`).

    Examples
    --------
    >>> parse_vars("originate_timeout=6,progress_timeout=3").progress_timeout
    3
    """
    import difflib
    s = (text or "").strip()
    if s.startswith(("{", "[")) or "/" in s.split("=", 1)[0]:
        return parse_dial_string(s)
    pairs = _pairs(s, "--vars")
    for k in pairs:
        if k not in TIMER_VARIABLES:
            close = difflib.get_close_matches(k, TIMER_VARIABLES, n=1)
            raise LabkitError(f"unknown variable {k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                              "--vars", f"use one of: {', '.join(TIMER_VARIABLES)}")
    per_leg = ("leg_timeout", "leg_progress_timeout", "leg_delay_start")
    caller = ("bridge_answer_timeout", "call_timeout")
    glob = {k: v for k, v in pairs.items() if k not in per_leg + caller}
    lvars = {k: v for k, v in pairs.items() if k in per_leg}
    cvars = {k: v for k, v in pairs.items() if k in caller}
    return _settings(glob, cvars, (Leg("sofia/gateway/peer", 0, 0, lvars),))
