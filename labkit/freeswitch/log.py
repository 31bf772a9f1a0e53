"""FreeSWITCH debug logs: parsed, and explained call by call from the log alone.

The log is often all an engineer has (the seed case: a handful of ``Audio Codec Compare``
lines and a ``Hangup ... [INCOMPATIBLE_DESTINATION]``). Each line
``Audio Codec Compare [remote]/[local]`` of ``switch_core_media_negotiate_sdp``
(``src/switch_core_media.c``) names one offered codec (left, as FreeSWITCH read it from
the SDP: ``NAME:PT:RATE:PTIME:BITRATE:CHANNELS``) and one local implementation (right),
so all the lines of one negotiation give the offer list and the local list in force;
``++++ is saved as a match`` / ``is saved as a near-match`` say which compared equal, and
``Hangup <channel> [<state>] [<cause>]`` (``switch_channel.c``) the cause.
:func:`parse_log` reads the lines, :func:`explain_log` gives one :class:`LogCall` verdict
per call (per uuid when the lines carry one, else per stretch of log ending in a Hangup).

References
----------
.. [1] signalwire/freeswitch, src/switch_core_media.c (switch_core_media_negotiate_sdp)
   and src/switch_channel.c (switch_channel_perform_hangup), read at commit cc93a683ca.
.. [2] ITU-T Q.850 (cause 88 = incompatible destination); RFC 3264 section 6.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError, LabkitWarning
from labkit.freeswitch import config as fsconfig

__all__ = ["read_log", "parse_log", "FreeswitchLog", "LINE_VERSIONS", "LogCall",
           "explain_log", "log_verdicts", "OTHER_CODEC_MODULES",
           "published_log_agreement", "EXCERPT_INPUTS", "local_list_mismatch"]

# Source line of the "Audio Codec Compare [..]/[..]" printf -> FreeSWITCH version
# (REFERENCE.md section 4; 4311 seen with "version: 1.6.12" in fusionpbx issue 2044).
LINE_VERSIONS = {5650: "1.10.7", 5526: "1.10.10-1.10.12", 5548: "1.11.x/master",
                 4311: "1.6.12"}

_HEAD = re.compile(
    r"^(?:(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s+)?"
    r"(?:(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s+)?(?:[\d.]+%\s+)?"
    r"\[(?P<level>[A-Z0-9]+)\]\s+(?P<file>[\w.]+\.c):(?P<line>\d+)\s+(?P<text>.*)$")
_CODEC = r"\[([^:\]]*):(\d+):(\d+):(\d+):(\d+):(\d+)\]"
_COMPARE = re.compile(r"Audio Codec Compare " + _CODEC + "/" + _CODEC)
_SAVED = re.compile(r"Audio Codec Compare " + _CODEC + r" (\+\+\+\+ is saved as a match|is saved as a near-match)")
_SUBST = re.compile(r"Substituting codec ([^@\s]+)@(\d+)i@(\d+)h@(\d+)c")
_HANGUP = re.compile(r"Hangup (\S+) \[(CS_\w+)\] \[(\w+)\]")
_TE = re.compile(r"Set telephone-event payload to (\d+)@(\d+)")
_SETCODEC = re.compile(r"Set Codec (\S+) ([^/\s]+)/(\d+) (\d+) ms")
_NEWCHANNEL = re.compile(r"New Channel (\S+) \[")

_FIELDS = ["name", "pt", "rate", "ptime", "bitrate", "channels"]


@dataclass(frozen=True)
class FreeswitchLog:
    """A parsed FreeSWITCH log.

    ``compares``: one row per "Audio Codec Compare" line (kind compare/match/near-match)
    with the remote (``r_*``) and local (``l_*``) fields, the round (one SDP
    negotiation), the uuid and the source line; ``events``: substitutions,
    telephone-event, crypto/T.38 refusals, hangups; ``remote_sdps``: the "Remote SDP:"
    bodies, in order (``remote_sdp_lines``/``remote_sdp_uuids``: where and on which
    channel); ``versions``: FreeSWITCH versions suggested by the line numbers;
    ``chosen_codec``: the last "Set Codec"; ``hangup_cause``: the last hangup's cause.
    """

    compares: pd.DataFrame
    events: pd.DataFrame
    remote_sdps: tuple
    versions: tuple
    hangup_cause: str | None
    remote_sdp_lines: tuple = ()
    chosen_codec: str | None = None
    remote_sdp_uuids: tuple = ()


def read_log(path) -> FreeswitchLog:
    """Parse a FreeSWITCH log file (see :func:`parse_log`).

    Parameters
    ----------
    path : str or Path
        A freeswitch.log, or what fs_cli printed at DEBUG level.

    Returns
    -------
    FreeswitchLog

    Raises
    ------
    LabkitError
        When the file cannot be read or holds no FreeSWITCH log line.

    References
    ----------
    signalwire/freeswitch src/switch_log.c: ``[LEVEL] file.c:LINE text`` after the uuid,
    timestamp and CPU idle percentage.

    Examples
    --------
    >>> from labkit import data
    >>> log = read_log(data.path("freeswitch_log_seed"))
    >>> len(log.compares), log.versions, log.hangup_cause
    (4, ('1.10.7 (line 5650)',), 'INCOMPATIBLE_DESTINATION')
    """
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        raise LabkitError(f"cannot read log: {exc.strerror}", str(path),
                          "pass the freeswitch.log or an fs_cli capture") from None
    return parse_log(text, where=str(path))


_EVENT_PATTERNS = [
    ("refuse", re.compile(r"a=crypto in RTP/AVP|secure media is administratively disabled|"
                          r"Crypto not negotiated but required|T38 REFUSE|"
                          r"sampling rates have to match")),
    ("disposition", re.compile(r"CODEC NEGOTIATION ERROR|no suitable candidates")),
]


class _LogState:
    """Rounds are counted per channel (uuid), so interleaved calls do not mix."""

    def __init__(self):
        self.compares, self.events, self.sdps = [], [], []  # sdps: (line, uuid, text)
        self.round_no, self.open = 0, {}  # uuid -> current round number or None
        self.sdp = None  # (line, uuid, lines) being collected

    def flush_sdp(self):
        if self.sdp and self.sdp[2]:
            self.sdps.append((self.sdp[0], self.sdp[1], "\r\n".join(self.sdp[2]) + "\r\n"))
        self.sdp = None

    def add(self, kind, row):
        uuid = row["uuid"] if row else None
        if kind in ("compare", "match", "near-match"):
            if self.open.get(uuid) is None:
                self.round_no += 1
                self.open[uuid] = self.round_no
            self.compares.append(dict(row, round=self.open[uuid]))
        elif kind == "te" and self.open.get(uuid) is not None:
            self.events.append(dict(row, round=self.open[uuid]))
        else:
            if kind:
                last = self.open.get(uuid) or (self.round_no if uuid is None else None)
                self.events.append(dict(row, round=last if kind == "substitute" else None))
            self.open[uuid] = None


def parse_log(text: str, where: str = "log") -> FreeswitchLog:
    """Parse FreeSWITCH log text: lines with or without the ``uuid`` prefix, with or
    without the CPU idle percentage, any version's line numbers.

    Parameters
    ----------
    text : str
        The log's text.
    where : str
        Its name, for messages.

    Returns
    -------
    FreeswitchLog

    Raises
    ------
    LabkitError
        When the text has no FreeSWITCH log line at all.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (the "Audio Codec Compare" lines) and
    src/switch_channel.c (the "Hangup" line).

    Examples
    --------
    >>> line = ("2022-02-19 13:04:04.027963 99.47% [DEBUG] switch_core_media.c:5650 "
    ...         "Audio Codec Compare [GSM:3:8000:20:13200:1]/[PCMA:8:8000:20:64000:1]")
    >>> row = parse_log(line).compares.iloc[0]
    >>> row["r_name"], int(row["r_bitrate"]), row["l_name"], int(row["src_line"])
    ('GSM', 13200, 'PCMA', 5650)
    """
    st, n_log = _LogState(), 0
    for n, raw in enumerate(text.splitlines(), 1):
        m = _HEAD.match(raw.strip())
        if not m:
            if st.sdp is not None:
                _sdp_collect(st.sdp[2], raw)
            continue
        n_log += 1
        st.flush_sdp()
        if m.group("text").startswith("Remote SDP"):
            st.sdp = (n, m.group("uuid"), [])
        st.add(*_classify(m, n))
    st.flush_sdp()
    if n_log == 0:
        raise LabkitError("no FreeSWITCH log lines found ('[LEVEL] file.c:NNN text')", where,
                          "pass a log written with loglevel debug (fs_cli /log debug)")
    return _make_log(st.compares, st.events, st.sdps)


def _sdp_collect(sdp_lines: list, raw: str) -> None:
    line = re.sub(r"^[0-9a-f]{8}-[0-9a-f-]{27}\s?", "", raw).strip()
    if re.match(r"^[a-z]=", line):
        sdp_lines.append(line)


def _codec_fields(prefix, groups) -> dict:
    vals = [groups[0]] + [int(g) for g in groups[1:]]
    return {f"{prefix}{k}": v for k, v in zip(_FIELDS, vals)}


def _classify(m, n):
    text, base = m.group("text"), {"line_no": n, "uuid": m.group("uuid"),
                                   "src_line": int(m.group("line")), "file": m.group("file")}
    c = _COMPARE.search(text)
    if c:
        return "compare", {**base, "kind": "compare", **_codec_fields("r_", c.groups()[:6]),
                           **_codec_fields("l_", c.groups()[6:])}
    s = _SAVED.search(text)
    if s:
        kind = "match" if "++++" in s.group(7) else "near-match"
        return kind, {**base, "kind": kind, **_codec_fields("l_", s.groups()[:6])}
    for kind, pat in (("substitute", _SUBST), ("te", _TE), ("hangup", _HANGUP),
                      ("codec", _SETCODEC), ("channel", _NEWCHANNEL)):
        e = pat.search(text)
        if e:
            return kind, {**base, "kind": kind, "text": e.group(0), "groups": e.groups()}
    for kind, pat in _EVENT_PATTERNS:
        if pat.search(text):
            return kind, {**base, "kind": kind, "text": text.strip(), "groups": ()}
    return None, None


def _make_log(compares, events, sdps) -> FreeswitchLog:
    cols = ["round", "line_no", "uuid", "file", "src_line", "kind"] + \
        [f"r_{f}" for f in _FIELDS] + [f"l_{f}" for f in _FIELDS]
    cdf = pd.DataFrame(compares, columns=cols)
    for col in cols:
        if col.endswith(("_pt", "_rate", "_ptime", "_bitrate", "_channels")) or \
                col in ("round", "line_no", "src_line"):
            cdf[col] = cdf[col].astype("Int64")
    edf = pd.DataFrame(events, columns=["round", "line_no", "uuid", "file", "src_line",
                                        "kind", "text", "groups"])
    lines = sorted(set(cdf.loc[cdf["kind"] == "compare", "src_line"]))
    versions = tuple(f"{LINE_VERSIONS[x]} (line {x})" for x in lines if x in LINE_VERSIONS)
    hang = edf[edf["kind"] == "hangup"]
    cause = hang.iloc[-1]["groups"][2] if not hang.empty else None
    if cdf.empty:
        warnings.warn("log has no 'Audio Codec Compare' lines: log level below DEBUG, or "
                      "negotiation never started (crypto/T.38 refused first)", LabkitWarning)
    codec = edf[edf["kind"] == "codec"]
    chosen = None
    if not codec.empty:
        g = codec.iloc[-1]["groups"]
        chosen = f"{g[1]}/{g[2]} {g[3]} ms"
    return FreeswitchLog(cdf, edf, tuple(t for _, _, t in sdps), versions, cause,
                         tuple(n for n, _, _ in sdps), chosen, tuple(u for _, u, _ in sdps))


# ---------------------------------------------------------------------------------------
# one verdict per call, from the log alone

# Codecs a FreeSWITCH build can load beyond labkit's catalogue (module that provides them).
OTHER_CODEC_MODULES = {"bv16": "mod_bv", "bv32": "mod_bv", "speex": "mod_speex",
                       "silk": "mod_silk", "isac": "mod_isac", "g7221": "mod_siren",
                       "codec2": "mod_codec2", "g726-16": "mod_spandsp",
                       "g726-24": "mod_spandsp", "g726-40": "mod_spandsp", "lpc": "mod_spandsp"}
_REFUSALS = re.compile(r"a=crypto in RTP/AVP|administratively disabled|"
                       r"Crypto not negotiated but required|T38 REFUSE")


@dataclass(frozen=True)
class LogCall:
    """What one call's log lines show, and the verdict.

    ``offered`` and ``local`` hold codec entries as the log prints them
    (``NAME:PT:RATE:PTIME:BITRATE:CHANNELS``), in the order the log shows them: the offer
    (left of the compare lines) and the local list in force (right). ``matches`` /
    ``near_matches`` are local entries saved as (near-)matches; ``chosen`` the codec the
    call gets ("" when none), ``outcome`` one of ``match``, ``near-match``, ``no match``,
    ``incomplete`` (an excerpt that stops before the offer's codecs were all compared),
    ``refused``, ``no negotiation``; ``lines`` the first and last log line [line numbers].
    """

    call: str
    channel: str
    profile: str
    versions: tuple
    negotiations: int
    offered: tuple
    local: tuple
    matches: tuple
    near_matches: tuple
    chosen: str
    outcome: str
    refusals: tuple
    hangup_cause: str
    q850: int | None
    verdict: str
    fix: str
    lines: tuple

    def text(self) -> str:
        """The verdict as a few lines of text (``labkit codecs --log`` and notebook 04)."""
        where = f"lines {self.lines[0]}-{self.lines[1]}" if self.lines else "no lines"
        head = self.call + (f" {self.channel}" if self.channel and self.channel != self.call
                            else "")
        out = [f"{head} ({where}): {self.outcome}"
               + (f", chosen {self.chosen}" if self.chosen else "")
               + (f", hangup {self.hangup_cause}" if self.hangup_cause else ""),
               f"  offered (left of the compare lines):  {', '.join(self.offered) or 'none'}",
               f"  local list in force (right):          {', '.join(self.local) or 'none'}"]
        if self.matches or self.near_matches:
            out.append(f"  matches: {', '.join(self.matches) or 'none'}; near-matches: "
                       f"{', '.join(self.near_matches) or 'none'}")
        out += [f"  refused: {r}" for r in self.refusals]
        out += [f"  verdict: {self.verdict}", f"  fix:     {self.fix}"]
        return "\n".join(out)


def _entry(row, prefix) -> str:
    return ":".join(str(row[f"{prefix}{f}"]) for f in _FIELDS)


def _name(entry: str) -> str:
    return entry.split(":", 1)[0]


def _names(entries) -> str:
    return ", ".join(dict.fromkeys(_name(e) for e in entries)) or "none"


def _call_groups(log: FreeswitchLog) -> list[tuple]:
    """(key, compare rows, event rows, SDPs) per call: by uuid, else cut after each Hangup."""
    comp, ev = log.compares, log.events
    sdps = list(zip(log.remote_sdps, log.remote_sdp_lines,
                    log.remote_sdp_uuids or (None,) * len(log.remote_sdps)))
    if comp["uuid"].notna().any() or ev["uuid"].notna().any():
        keys = list(dict.fromkeys([*comp["uuid"].dropna(), *ev["uuid"].dropna()]))
        return [(k, comp[comp["uuid"] == k], ev[ev["uuid"] == k],
                 [t for t, _, u in sdps if u == k]) for k in keys]
    cuts = sorted(ev.loc[ev["kind"] == "hangup", "line_no"])
    bounds, lo = [], 0
    for hi in cuts:
        bounds.append((lo, hi))
        lo = hi
    last = max([*comp["line_no"], *ev["line_no"], lo]) if len(comp) or len(ev) else lo
    if last > lo or not bounds:
        bounds.append((lo, last))
    out = []
    for i, (a, b) in enumerate(bounds):
        c = comp[(comp["line_no"] > a) & (comp["line_no"] <= b)]
        e = ev[(ev["line_no"] > a) & (ev["line_no"] <= b)]
        if len(c) or len(e):
            out.append((f"call {i + 1}", c, e, [t for t, n, _ in sdps if a < n <= b]))
    return out


def _offered_in_sdp(sdps) -> list[str]:
    """Codec names of the last Remote SDP's first audio m= line (telephone-event, CN out)."""
    from labkit.sip.sdp import parse_sdp
    if not sdps:
        return []
    audio = [m for m in parse_sdp(sdps[-1]).media if m.kind == "audio" and m.port]
    names = [m.codec(pt).name for m in audio[:1] for pt in m.formats if m.codec(pt)]
    return [n for n in names if n.lower() not in ("telephone-event", "cn")]


def _round_facts(rows: pd.DataFrame) -> dict:
    offered, local, matches, nears, pairs = [], [], [], [], []
    last_remote = None
    for _, r in rows.iterrows():
        if r["kind"] == "compare":
            last_remote = _entry(r, "r_")
            offered.append(last_remote)
            local.append(_entry(r, "l_"))
        elif r["kind"] in ("match", "near-match"):
            (matches if r["kind"] == "match" else nears).append(_entry(r, "l_"))
            if r["kind"] == "match":
                pairs.append((last_remote, _entry(r, "l_")))
    return {"offered": tuple(dict.fromkeys(offered)), "local": tuple(dict.fromkeys(local)),
            "matches": tuple(matches), "nears": tuple(nears), "pairs": pairs}


def _is_loaded(name: str) -> bool:
    return name.lower() in fsconfig.catalogue()


def _missing_fix(offered, profile) -> str:
    names = list(dict.fromkeys(_name(e) for e in offered))
    loaded = [n for n in names if _is_loaded(n)]
    prof = profile or "internal"
    if loaded:
        text = (f"add {loaded[0]} to the codec list in force: global_codec_prefs in vars.xml "
                f"(the Sofia profile's inbound-codec-prefs uses it by default), then "
                f"'reloadxml' and 'sofia profile {prof} restart'")
        module = fsconfig.catalogue()[loaded[0].lower()][0].module
        if module not in (*fsconfig.VANILLA_CODEC_MODULES, "CORE_PCM_MODULE"):
            text += (f"; {loaded[0]} comes from {module}, which the vanilla modules.conf.xml "
                     f"does not load: add <load module=\"{module}\"/> and run "
                     f"'load {module}' ('show codec' lists what is loaded)")
        return text
    modules = [f"{n} ({OTHER_CODEC_MODULES[n.lower()]})" for n in names
               if n.lower() in OTHER_CODEC_MODULES]
    if modules:
        return (f"the offered codecs are not in a default build: load {', '.join(modules)} "
                "and add it to global_codec_prefs, or make the caller offer PCMU/PCMA")
    return "none of the offered codecs is a FreeSWITCH codec: make the caller offer PCMU/PCMA"


def _chosen_sentence(facts, codec_events, subst) -> tuple[str, str, str]:
    """(outcome, chosen, sentence) for a negotiation that compared codecs."""
    offered, local = _names(facts["offered"]), _names(facts["local"])
    head = f"offer {offered}; local list in force {local}"
    if facts["matches"]:
        remote, loc = facts["pairs"][0] if facts["pairs"] else (None, facts["matches"][0])
        greedy = min(facts["matches"], key=facts["local"].index) if set(
            facts["matches"]) <= set(facts["local"]) else facts["matches"][0]
        text = (f"{head}; {len(facts['matches'])} match(es): {_names(facts['matches'])}; "
                f"generous mode (the default) takes the caller's first, {_name(loc)}")
        if _name(greedy) != _name(loc):
            text += f" (greedy/scrooge would take the local list's first, {_name(greedy)})"
        if codec_events:
            text += f"; the log confirms: Set Codec {codec_events[-1]}"
        return "match", _name(loc), text
    if facts["nears"]:
        first = facts["nears"][0]
        what = subst or f"FreeSWITCH substitutes {_name(first)} at the offered ptime"
        return ("near-match", _name(first),
                f"{head}; no exact match, only a near-match ({_name(first)}: the ptime or rate "
                f"differs), so it is used: {what}")
    return ("no match", "", f"{head}; no codec in common")


def _explain_call(key, comp, ev, sdps) -> LogCall:
    hang = ev[ev["kind"] == "hangup"]
    channel = hang.iloc[-1]["groups"][0] if len(hang) else ""
    chan_ev = ev[ev["kind"] == "channel"]
    if not channel and len(chan_ev):
        channel = chan_ev.iloc[0]["groups"][0]
    profile = channel.split("/")[1] if channel.count("/") >= 2 else ""
    cause = hang.iloc[-1]["groups"][2] if len(hang) else ""
    from labkit.freeswitch.negotiation import Q850, _crypto_fix
    q850 = Q850.get(cause)
    refusals = tuple(t for t in ev.loc[ev["kind"] == "refuse", "text"] if _REFUSALS.search(t))
    rounds = sorted(set(comp["round"].dropna()))
    last = comp[comp["round"] == rounds[-1]] if rounds else comp
    facts = _round_facts(last)
    codec_events = [f"{g[1]}/{g[2]} {g[3]} ms" for g in ev.loc[ev["kind"] == "codec", "groups"]]
    subst = next(iter(ev.loc[ev["kind"] == "substitute", "text"]), "")
    srcs = sorted(set(comp.loc[comp["kind"] == "compare", "src_line"].dropna()))
    versions = tuple(f"{LINE_VERSIONS[x]} (line {x})" for x in srcs if x in LINE_VERSIONS)
    ends = f"; the log's Hangup line confirms {cause}" + (f" (Q.850 {q850})" if q850 else "") \
        if cause else "; the excerpt has no Hangup line for it"
    if refusals and not facts["offered"]:
        outcome, chosen = "refused", ""
        verdict = (f"FreeSWITCH refused the offer before comparing any codec ('{refusals[0]}')"
                   + ends)
        fix = _crypto_fix(refusals[0]) if "T38" not in refusals[0] else \
            "set fax_enable_t38=true for this call, or keep fax on G.711"
    elif not facts["offered"]:
        outcome, chosen, fix = "no negotiation", "", "log at DEBUG level (fs_cli /log debug)"
        verdict = "no 'Audio Codec Compare' line for this call" + ends
    else:
        outcome, chosen, verdict = _chosen_sentence(facts, codec_events, subst)
        in_sdp = _offered_in_sdp(sdps)
        unseen = [n for n in in_sdp if n.lower() not in
                  {_name(e).lower() for e in facts["offered"]}]
        if outcome == "no match" and not cause and unseen:
            outcome = "incomplete"
            verdict += (f" in the lines shown, but the excerpt stops before the offer's "
                        f"{', '.join(unseen)} were compared (Remote SDP) and has no Hangup "
                        "line: the negotiation goes on beyond it")
            fix = "give the whole log of the call (from 'Remote SDP' to 'Hangup')"
        elif outcome == "no match":
            verdict += (", so FreeSWITCH cannot answer the offer: disposition CODEC "
                        "NEGOTIATION ERROR, hangup cause INCOMPATIBLE_DESTINATION (Q.850 88), "
                        "488 Not Acceptable Here to an inbound INVITE")
            verdict += ends if cause else "; the excerpt ends before the Hangup line"
            fix = _missing_fix(facts["offered"], profile)
        else:
            verdict += ends if cause else ""
            fix = "none needed" if outcome == "match" else \
                (f"none needed; to avoid the substitution add {chosen}@<offered ptime>i "
                 "to the codec prefs")
    numbers = [*comp["line_no"].dropna(), *ev["line_no"].dropna()]
    return LogCall(call=key, channel=channel, profile=profile, versions=versions,
                   negotiations=len(rounds), offered=facts["offered"], local=facts["local"],
                   matches=facts["matches"], near_matches=facts["nears"], chosen=chosen,
                   outcome=outcome, refusals=refusals, hangup_cause=cause, q850=q850,
                   verdict=verdict, fix=fix,
                   lines=(int(min(numbers)), int(max(numbers))) if numbers else ())


def explain_log(log) -> list[LogCall]:
    """One verdict per call in a FreeSWITCH debug log, from the log alone.

    Parameters
    ----------
    log : FreeswitchLog, str or Path
        A parsed log (:func:`parse_log`) or a log file.

    Returns
    -------
    list of LogCall
        In the order the calls appear. For a call whose last negotiation found no common
        codec, the verdict names the offer, the local list in force and the cause, and the
        fix adds an offered codec that FreeSWITCH has loaded to ``global_codec_prefs``.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c: every remote codec is compared with
    every local implementation; generous mode (the default) keeps the caller's order.

    Examples
    --------
    >>> from labkit import data
    >>> import warnings
    >>> call = explain_log(data.path("freeswitch_log_seed"))[0]
    >>> call.offered, [c.split(":")[0] for c in call.local]
    (('GSM:3:8000:20:13200:1',), ['opus', 'G722', 'PCMU', 'PCMA'])
    >>> call.outcome, call.hangup_cause, call.q850, call.profile
    ('no match', 'INCOMPATIBLE_DESTINATION', 88, 'internal')
    >>> print(call.fix)
    add GSM to the codec list in force: global_codec_prefs in vars.xml (the Sofia profile's inbound-codec-prefs uses it by default), then 'reloadxml' and 'sofia profile internal restart'
    """
    if not isinstance(log, FreeswitchLog):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LabkitWarning)
            log = read_log(log)
    return [_explain_call(*group) for group in _call_groups(log)]


def local_list_mismatch(call: LogCall, prefs) -> str:
    """Does the log's local list equal the configuration's list in force? "" when it does.

    The right-hand sides of a call's compare lines are the list FreeSWITCH used; when they
    differ from what the configuration gives (:func:`labkit.freeswitch.effective_prefs`),
    the running FreeSWITCH has another configuration: vars.xml edited without
    ``reloadxml`` and a profile restart, a dialplan ``codec_string``, or another profile.

    Parameters
    ----------
    call : LogCall
        One call of :func:`explain_log`.
    prefs : EffectivePrefs
        The list in force according to the configuration.

    Returns
    -------
    str
        A sentence naming both lists, or "".

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (the local side of the compare lines is
    the session's codec list, built when the channel is created).

    Examples
    --------
    >>> from labkit import data, freeswitch as fs
    >>> call = explain_log(data.path("freeswitch_log_seed"))[0]
    >>> local_list_mismatch(call, fs.effective_prefs(fs.read_config(data.path("freeswitch_conf"))))
    ''
    >>> gsm = fs.effective_prefs(None, channel_vars={"absolute_codec_string": "OPUS,GSM"})
    >>> print(local_list_mismatch(call, gsm))
    the log compared against opus, G722, PCMU, PCMA but the configuration gives OPUS, GSM: the running FreeSWITCH uses another list (vars.xml changed without 'reloadxml' and a profile restart, a dialplan codec_string, or another profile)
    """
    if not call.local:
        return ""
    seen = [_name(e) for e in dict.fromkeys(call.local)]
    want = [i.name for i in prefs.implementations if i.kind == "audio"]
    if [n.lower() for n in seen] == [n.lower() for n in want]:
        return ""
    shown = ", ".join(p.name for p in prefs.prefs if p.name.lower() in
                      {i.name.lower() for i in prefs.implementations if i.kind == "audio"})
    return (f"the log compared against {', '.join(seen)} but the configuration gives "
            f"{shown}: the running FreeSWITCH uses another list (vars.xml changed without "
            "'reloadxml' and a profile restart, a dialplan codec_string, or another profile)")


def log_verdicts(log) -> pd.DataFrame:
    """:func:`explain_log` as a table, one row per call (tuples joined by ", ").

    Parameters
    ----------
    log : FreeswitchLog, str or Path
        A parsed log or a log file.

    Returns
    -------
    pandas.DataFrame
        The fields of :class:`LogCall`, one row per call.

    References
    ----------
    As :func:`explain_log`.

    Examples
    --------
    >>> from labkit import data
    >>> log_verdicts(data.path("freeswitch_log_match"))[["outcome", "chosen", "hangup_cause"]]
      outcome chosen    hangup_cause
    0   match   PCMA  NORMAL_CLEARING
    """
    rows = []
    for c in explain_log(log):
        row = dict(c.__dict__)
        for k in ("versions", "offered", "local", "matches", "near_matches", "refusals"):
            row[k] = ", ".join(row[k])
        row["lines"] = "-".join(str(x) for x in row["lines"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(LogCall.__dataclass_fields__))


# Inputs the public excerpts do not show (offer fmtp, local channels), from the issue text.
# Issue 2226 says "OPUS/48000 on A leg and OPUS/16000 on B leg": the B-leg opus is offered
# with sprop-maxcapturerate=16000 (RFC 7587 7.1), which FreeSWITCH's opus fmtp parser turns
# into the 16000 the log prints from the second compare on; the local opus is stereo (":2").
EXCERPT_INPUTS = {"freeswitch_2226_opus_rate.log": (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 102 0\r\na=rtpmap:102 opus/48000/2\r\n"
    "a=fmtp:102 sprop-maxcapturerate=16000\r\na=ptime:20\r\n", "opus@2c,PCMU,PCMA")}


def published_log_agreement() -> pd.DataFrame:
    """The simulator against every published FreeSWITCH log bundled with labkit.

    The seed's log and the excerpts from public issues (``data/freeswitch/public``, each
    with its ``# source:`` line), each replayed by :func:`labkit.freeswitch.negotiation.replay_excerpt` (with
    :data:`EXCERPT_INPUTS` where the excerpt alone misses an input).

    Returns
    -------
    pandas.DataFrame
        excerpt, version, lines, equal (lines the simulator printed the same), source.

    References
    ----------
    The issues named in each file's source line; signalwire/freeswitch
    src/switch_core_media.c.

    Examples
    --------
    >>> t = published_log_agreement()
    >>> bool((t["lines"] == t["equal"]).all()), len(t) >= 10
    (True, True)
    """
    from labkit import data
    from labkit.freeswitch.negotiation import replay_excerpt
    rows = []
    for entry in sorted(data.manifest().values(), key=lambda e: e.name):
        if not (entry.name.startswith("freeswitch_public_") or entry.name == "freeswitch_log_seed"):
            continue
        log = read_log(entry.path)
        table = replay_excerpt(log, *EXCERPT_INPUTS.get(entry.path.name, (None, None)))
        source = next((ln.split("source: ")[1].split(" ")[0] for ln in
                       entry.path.read_text().splitlines() if "source: " in ln), "seed post")
        rows.append({"excerpt": entry.path.name, "version": ", ".join(log.versions) or "?",
                     "lines": len(table), "equal": int(table["same"].sum()), "source": source})
    return pd.DataFrame(rows, columns=["excerpt", "version", "lines", "equal", "source"])
