"""Codec negotiation: FreeSWITCH's matching rules simulated, and offer/answer checks.

:func:`simulate` replays ``switch_core_media_negotiate_sdp`` (signalwire/freeswitch
``src/switch_core_media.c``, master) for an SDP offer and a local codec list, producing
the same "Audio Codec Compare" sequence FreeSWITCH logs at DEBUG level:

- the remote list is the offer's ``a=rtpmap`` order (static types named from the RFC
  3551 table, as sofia-sip does), ``telephone-event`` and ``CN`` skipped; the remote
  ptime is the media (else session) ``a=ptime``, capped by ``a=maxptime``, else 20 ms
  (30 ms for iLBC/iSAC/G723); the remote bit rate is known only for static types (PCMU/
  PCMA/G722 64000, GSM 13200, G729 8000, G723 6300, LPC 2400) or from iLBC/iSAC defaults;
- every remote codec is compared with every local audio implementation. A match needs
  equal names (case-insensitive), both PTs static or both dynamic, equal rates, equal bit
  rates when both are known (except iLBC/iSAC); channels and AMR fmtp are not compared;
- an opus ``sprop-maxcapturerate`` (read by FreeSWITCH's opus fmtp parser) replaces the
  remote rate after the first comparison, so opus/48000 with sprop-maxcapturerate=16000
  only near-matches local opus (reproduced from a real 1.10.10 log, issue 2226);
- a ptime or rate difference makes a near-match, used (with a substituted
  implementation at the remote ptime) only when nothing matches exactly;
- mode generous keeps the remote order, greedy re-sorts by the local order, scrooge is
  greedy and keeps local ptime/rate ("Bah HUMBUG").

The other checks (:func:`check_answer`, :func:`check_media`) implement RFC 3264
section 6 and RFC 4867 section 8, and report :class:`Finding` records.

The question this module answers: "why did FreeSWITCH refuse (or accept) this offer,
which codec did it pick, and what setting would change that?" - from the offer and the
local codec list, and, per call, from a capture.

References
----------
signalwire/freeswitch src/switch_core_media.c (``switch_core_media_negotiate_sdp``,
``switch_core_media_prepare_codecs``), src/mod/endpoints/mod_sofia/sofia_glue.c;
RFC 3264 sections 5-6 (offer/answer), RFC 3551 table 4 (static payload types), RFC 4733
(telephone-event), RFC 4867 section 8 (AMR SDP), RFC 4568 (a=crypto), ITU-T Q.850
table 1 (cause 88 INCOMPATIBLE_DESTINATION). The compare lines are checked against the
real FreeSWITCH logs bundled in data/freeswitch/ (the seed log and public/).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from labkit.freeswitch import config as fs
from labkit.sip.sdp import Finding, SessionDescription, parse_sdp  # noqa: F401 (re-export)

__all__ = ["RemoteCodec", "CompareLine", "Negotiation", "Finding", "simulate",
           "remote_codecs", "compare_table", "outcome_sentence", "KNOWN_BITRATES",
           "MODES", "Q850", "log_agreement", "call_verdicts", "offer_answer_codecs",
           "responder_text", "rebuilt_offer", "replay_excerpt"]

MODES = ("generous", "greedy", "scrooge")
KNOWN_BITRATES = {0: 64000, 3: 13200, 4: 6300, 7: 2400, 8: 64000, 9: 64000, 18: 8000}
Q850 = {"INCOMPATIBLE_DESTINATION": 88, "NORMAL_CLEARING": 16,
        "DESTINATION_OUT_OF_ORDER": 27, "BEARERCAPABILITY_NOTIMPL": 65}
_SRTP_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AES_CM_256_HMAC_SHA1_80",
                "AES_CM_256_HMAC_SHA1_32", "AES_CM_192_HMAC_SHA1_80", "AES_CM_192_HMAC_SHA1_32",
                "AEAD_AES_256_GCM_8", "AEAD_AES_128_GCM_8", "AES_CM_128_NULL_AUTH")


@dataclass(frozen=True)
class RemoteCodec:
    """One remote (offered) codec as FreeSWITCH sees it; ptime [ms], rates [Hz], bit/s.

    Attributes
    ----------
    name : str
        rtpmap encoding name (static types named from RFC 3551 table 4).
    pt : int
        Payload type.
    rate : int
        Clock rate [Hz] as in the rtpmap.
    ptime : int
        Packet time [ms] (a=ptime, capped by a=maxptime, else the default).
    bitrate : int
        [bit/s], 0 = unknown.
    channels : int
        Number of channels.
    fmtp : str
        The a=fmtp value.
    fmtp_rate : int
        opus ``sprop-maxcapturerate`` [Hz] (0 = none).

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c ``switch_core_media_negotiate_sdp``;
    RFC 3551 table 4.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.sip import offers_answers
    >>> sd = offers_answers(data.path("codec_mismatch_488")).sdp.iloc[0]
    >>> remote_codecs(sd, sd.media[0])[0][0].log_text()   # as the seed log prints it
    'GSM:3:8000:20:13200:1'
    """

    name: str
    pt: int
    rate: int
    ptime: int
    bitrate: int
    channels: int
    fmtp: str = ""
    fmtp_rate: int = 0

    def log_text(self, rate=None) -> str:
        """``NAME:PT:RATE:PTIME:BITRATE:CHANNELS``, optionally with another `rate` [Hz].

        Parameters
        ----------
        rate : int, optional
            Rate to print instead of :attr:`rate` (the opus fmtp rate) [Hz].

        Returns
        -------
        str
            The left side of an "Audio Codec Compare" line.
        """
        r = self.rate if rate is None else rate
        return f"{self.name}:{self.pt}:{r}:{self.ptime}:{self.bitrate}:{self.channels}"


@dataclass(frozen=True)
class CompareLine:
    """One log line of the negotiation (kind compare / match / near-match / humbug).

    Attributes
    ----------
    kind : str
        "compare", "match", "near-match", "humbug" (scrooge keeps the local codec) or
        "info" (another log message).
    remote : str or None
        The remote codec text (compare lines only).
    local : str
        The local implementation text, or the event's message.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (DEBUG lines "Audio Codec Compare").

    Examples
    --------
    >>> CompareLine("match", None, "GSM:3:8000:20:13200:1").text()
    'Audio Codec Compare [GSM:3:8000:20:13200:1] ++++ is saved as a match'
    """

    kind: str
    remote: str | None
    local: str

    def text(self) -> str:
        """The line as FreeSWITCH logs it (without timestamp and source position).

        Returns
        -------
        str
        """
        if self.kind == "compare":
            return f"Audio Codec Compare [{self.remote}]/[{self.local}]"
        if self.kind == "match":
            return f"Audio Codec Compare [{self.local}] ++++ is saved as a match"
        if self.kind == "near-match":
            return f"Audio Codec Compare [{self.local}] is saved as a near-match"
        return self.local


@dataclass(frozen=True)
class Negotiation:
    """Result of :func:`simulate` (all fields plain data).

    Attributes
    ----------
    mode : str
        Negotiation mode used.
    local : tuple of Implementation
        The local list compared.
    lines : tuple of CompareLine
        Every line FreeSWITCH would log.
    matches, near_matches : tuple
        (RemoteCodec, Implementation) pairs.
    chosen : tuple or None
        The agreed (RemoteCodec, Implementation), None when nothing matched.
    substituted : str or None
        Implementation substituted for a near-match at the remote ptime.
    telephone_event : tuple or None
        (pt, rate [Hz]) of RFC 4733 events.
    refused : str or None
        Why the offer was refused before any comparison (SRTP, profile).
    t38_refused : bool
        An m=image udptl offer without fax_enable_t38.
    remote : tuple of RemoteCodec
        The remote entries of the audio m= line negotiated.
    events : tuple
        Always empty: :func:`simulate` does not fill it.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c ``switch_core_media_negotiate_sdp``.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.sip import offers_answers
    >>> neg = simulate(offers_answers(data.path("codec_mismatch_488")).sdp.iloc[0], "PCMA")
    >>> neg.ok, len(neg.compares)
    (False, 1)
    """

    mode: str
    local: tuple
    lines: tuple
    matches: tuple
    near_matches: tuple
    chosen: tuple | None
    substituted: str | None
    telephone_event: tuple | None
    refused: str | None
    t38_refused: bool = False
    remote: tuple = ()
    events: tuple = field(default=())

    @property
    def ok(self) -> bool:
        """True when an audio codec was agreed."""
        return self.chosen is not None

    @property
    def compares(self) -> list[CompareLine]:
        """Only the compare/match/near-match lines (what a log comparison uses)."""
        return [x for x in self.lines if x.kind in ("compare", "match", "near-match")]


# ---------------------------------------------------------------------------------------
# remote side


def _ptimes(sd: SessionDescription, media) -> tuple[int, int]:
    sess = {n: v for n, v in sd.attributes}
    ptime = int(media.ptime or _num(sess.get("ptime")) or 0)
    maxptime = int(media.maxptime or _num(sess.get("maxptime")) or 0)
    return ptime, maxptime


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def remote_codecs(sd: SessionDescription, media) -> tuple[list[RemoteCodec], tuple | None]:
    """Remote codec entries of one audio m= line, as FreeSWITCH logs them, and the
    telephone-event (pt, rate) it would use (the first one offered).

    Parameters
    ----------
    sd : SessionDescription
        The offer (:func:`labkit.sip.sdp.parse_sdp`), for session-level ptime/maxptime.
    media : labkit.sip.sdp.Media
        One of ``sd.media``.

    Returns
    -------
    (list of RemoteCodec, tuple or None)
        Entries in m= order without telephone-event and CN: name, pt, rate [Hz],
        ptime [ms], bitrate [bit/s] (0 = unknown), channels; and (pt, rate [Hz]) of the
        first telephone-event, else None.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c ``switch_core_media_negotiate_sdp``
    (ptime, maxptime, static bit rates); RFC 3551 table 4; RFC 4733 section 7.

    Examples
    --------
    The "Remote SDP" of a real FreeSWITCH 1.6 log (fusionpbx issue 1518): its first
    entry is what that log prints on the left, ``G722:9:16000:20:64000:1`` (the rtpmap's
    16000, not G722's RFC 3551 clock rate of 8000):

    >>> from labkit import data, freeswitch as fs
    >>> from labkit.sip.sdp import parse_sdp
    >>> log = fs.read_log(data.path("freeswitch_public_fusionpbx_1518_uuid_sdp"))
    >>> sd = parse_sdp(log.remote_sdps[0])
    >>> entries, te = remote_codecs(sd, sd.media[0])
    >>> [e.log_text() for e in entries], te
    (['G722:9:16000:20:64000:1', 'PCMU:0:8000:20:64000:1', 'PCMA:8:8000:20:64000:1', 'G729:18:8000:20:8000:1'], (101, 8000))
    """
    ptime, maxptime = _ptimes(sd, media)
    out, te = [], None
    for pt in media.formats:
        codec = media.codec(pt)
        name = codec.name if codec else ""
        if name.lower() == "telephone-event":
            te = te or (pt, codec.rate or 8000)
            continue
        if name.upper() == "CN" or not isinstance(pt, int):
            continue
        entry, maxptime = _remote_entry(pt, codec, media.fmtp.get(pt, ""), ptime, maxptime)
        out.append(entry)
    return out, te


def _remote_entry(pt, codec, fmtp, ptime, maxptime):
    name = codec.name if codec else ""
    low = name.lower()
    ms = ptime
    if maxptime and (not ms or ms > maxptime):
        ms = maxptime
    if not ms:
        ms = fs.default_ptime(name)
    bitrate = KNOWN_BITRATES.get(pt, 0)
    if not ptime and low == "g723":
        ms = 30
    channels = codec.channels if codec and codec.channels else 1
    fmtp_rate = 0
    if not fmtp:
        if low in ("ilbc", "isac"):
            ms, bitrate = 30, (13330 if low == "ilbc" else 32000)
    elif low in ("opus", "ilbc"):  # codecs with an fmtp parser in FreeSWITCH
        fmtp_rate, ms, bitrate, channels, maxptime = _parse_fmtp(low, fmtp, codec, ms, bitrate,
                                                                 channels, maxptime)
    rate = codec.rate if codec and codec.rate else 0
    return RemoteCodec(name, pt, rate, ms, bitrate, channels, fmtp, fmtp_rate), maxptime


def _params(fmtp: str) -> dict:
    out = {}
    for part in fmtp.split(";"):
        k, sep, v = part.strip().partition("=")
        if sep:
            out[k.strip().lower()] = v.strip()
    return out


def _parse_fmtp(low, fmtp, codec, ms, bitrate, channels, maxptime):
    p = _params(fmtp)
    rate = codec.rate or 0
    if low == "ilbc":
        mode = p.get("mode", "")
        if mode in ("20", "30"):
            ms, bitrate = int(mode), (15200 if mode == "20" else 13330)
        return rate, ms, bitrate, channels, maxptime
    if p.get("ptime", "").isdigit():
        ms = int(p["ptime"])
    if p.get("sprop-maxcapturerate", "").isdigit() and \
            int(p["sprop-maxcapturerate"]) in (8000, 12000, 16000, 24000, 48000):
        rate = int(p["sprop-maxcapturerate"])
    channels = 2 if p.get("stereo", "0").isdigit() and int(p.get("stereo", "0")) else 1
    if p.get("maxptime", "").isdigit():
        maxptime = int(p["maxptime"])
    return rate, ms, bitrate, channels, maxptime


# ---------------------------------------------------------------------------------------
# the compare loop


def _is_match(r: RemoteCodec, imp, remote_rate, ndlb_bad_iananame=False):
    if (not r.name or ndlb_bad_iananame) and r.pt < 96:
        return r.pt == imp.pt, remote_rate
    match = (r.name.lower() == imp.name.lower()
             and ((r.pt < 96 and imp.pt < 96) or (r.pt > 95 and imp.pt > 95))
             and (remote_rate == imp.rate or r.fmtp_rate == imp.actual_rate))
    if r.fmtp_rate:
        remote_rate = r.fmtp_rate
    return match, remote_rate


def _compare_one(r, imp, remote_rate, scrooge, ptime_attr, lines):
    """One local implementation against one remote codec -> 'match'/'near'/None."""
    lines.append(CompareLine("compare", r.log_text(remote_rate), imp.log_text()))
    match, remote_rate = _is_match(r, imp, remote_rate)
    low = r.name.lower()
    if match and imp.bitrate and r.bitrate and r.bitrate != imp.bitrate \
            and low not in ("ilbc", "isac"):
        match = False
    if match and remote_rate and imp.rate and remote_rate != imp.rate and low in ("pcma", "pcmu"):
        lines.append(CompareLine("info", None, "sampling rates have to match for G.711"))
        match = False
    if not match:
        return None, remote_rate
    if scrooge:
        lines.append(CompareLine("humbug", None, f"Bah HUMBUG! Sticking with "
                                 f"{imp.name}@{imp.rate}h@{imp.ptime}i"))
    elif (ptime_attr and r.ptime and imp.ptime != r.ptime) or remote_rate != imp.rate:
        lines.append(CompareLine("near-match", None, imp.log_text()))
        return "near", remote_rate
    lines.append(CompareLine("match", None, imp.log_text()))
    return "match", remote_rate


def _loop(remote, local, scrooge, ptime_attr):
    lines, matches, nears = [], [], []
    for r in remote:
        remote_rate = r.rate
        for imp in local:
            if imp.kind != "audio":
                continue
            result, rate_now = _compare_one(r, imp, remote_rate, scrooge, ptime_attr, lines)
            if result == "match":
                matches.append((r, imp))
            elif result == "near":
                nears.append((r, imp, rate_now))
            remote_rate = rate_now
    return lines, matches, nears


def _substitute(nears, codec_ms, maxptime, codecs):
    """Near-match fallback: the first near-match available at the remote ptime."""
    for r, imp, rate in nears:
        pref = fs.CodecPref(imp.name, rate=rate or imp.rate, ptime=codec_ms,
                            channels=imp.channels)
        found, _ = fs.load_codecs([pref], codecs)
        timp = found[0] if found else imp
        if not maxptime or timp.ptime <= maxptime:
            text = f"Substituting codec {timp.name}@{timp.ptime}i@{timp.actual_rate}h@{timp.channels}c"
            return (r, timp), text
    return None, None


def _greedy_sort(matches, local):
    tmp, out, f = list(matches), list(matches), 0
    for imp in local:
        for j, m in enumerate(tmp):
            if m is not None and m[1] is imp:
                out[f], tmp[j] = m, None
                f += 1
    return out


# ---------------------------------------------------------------------------------------
# public simulator


def _local_list(prefs):
    if isinstance(prefs, fs.EffectivePrefs):
        return list(prefs.implementations)
    if prefs and isinstance(prefs[0], fs.Implementation):
        return list(prefs)
    return fs.load_codecs(prefs)[0]


def simulate(offer, prefs="OPUS,G722,PCMU,PCMA,H264,VP8", mode: str = "generous", *,
             crypto: str = "optional", allow_crypto_in_avp: bool = False,
             fax_enable_t38: bool = False) -> Negotiation:
    """Negotiate an SDP offer against a local codec list as FreeSWITCH does.

    Parameters
    ----------
    offer : str or SessionDescription
        The remote SDP.
    prefs : str, list of CodecPref/Implementation, or freeswitch.EffectivePrefs
        Local codec list (a codec string such as ``"OPUS,G722,PCMU,PCMA"``).
    mode : {"generous", "greedy", "scrooge"}
        ``inbound-codec-negotiation`` / ``rtp_codec_negotiation``.
    crypto : {"optional", "mandatory", "forbidden"}
        ``rtp_secure_media`` (inbound default optional).
    allow_crypto_in_avp, fax_enable_t38 : bool
        ``rtp_allow_crypto_in_avp`` and ``fax_enable_t38`` channel variables.

    Returns
    -------
    Negotiation
        mode, local list, the log lines FreeSWITCH would print (``lines``, ``compares``),
        matches, near_matches, chosen (RemoteCodec, Implementation) or None, substituted,
        telephone_event (pt, rate [Hz]), refused (why the offer was refused before any
        comparison), t38_refused, remote entries; ``ok`` is True when a codec was agreed.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c ``switch_core_media_negotiate_sdp``
    (compare loop, near-match substitution, greedy/scrooge sorting, SAVP/crypto checks,
    T.38); RFC 3264 section 6.

    Examples
    --------
    The GSM-only offer of the real baresip capture against the bundled (vanilla)
    prefs: the four compare lines are those of the published seed log
    (data/freeswitch/seed_incompatible_destination.log), then no match:

    >>> from labkit import data, freeswitch as fs
    >>> from labkit.sip import offers_answers
    >>> offer = offers_answers(data.path("codec_mismatch_488")).sdp.iloc[0]
    >>> prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    >>> neg = simulate(offer, prefs)
    >>> for line in neg.compares:
    ...     print(line.text())
    Audio Codec Compare [GSM:3:8000:20:13200:1]/[opus:116:48000:20:0:1]
    Audio Codec Compare [GSM:3:8000:20:13200:1]/[G722:9:8000:20:64000:1]
    Audio Codec Compare [GSM:3:8000:20:13200:1]/[PCMU:0:8000:20:64000:1]
    Audio Codec Compare [GSM:3:8000:20:13200:1]/[PCMA:8:8000:20:64000:1]
    >>> neg.ok, neg.telephone_event
    (False, (101, 8000))
    >>> simulate(offer, "OPUS,GSM,PCMA").chosen[1].log_text()
    'GSM:3:8000:20:13200:1'
    """
    sd = offer if isinstance(offer, SessionDescription) else parse_sdp(offer)
    mode = (mode or "generous").lower()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    local = _local_list(prefs)
    state = {"lines": [], "refused": None, "t38": False, "savp": 0, "result": None}
    for m in sd.media:
        if _media_step(sd, m, local, mode, crypto, allow_crypto_in_avp, fax_enable_t38, state):
            break
    res = state["result"] or {}
    return Negotiation(mode=mode, local=tuple(local), lines=tuple(state["lines"]),
                       matches=tuple(res.get("matches", ())), near_matches=tuple(res.get("nears", ())),
                       chosen=res.get("chosen"), substituted=res.get("subst"),
                       telephone_event=res.get("te"), refused=state["refused"],
                       t38_refused=state["t38"], remote=tuple(res.get("remote", ())))


def _media_step(sd, m, local, mode, crypto, allow_avp, t38, state) -> bool:
    """One m= line; returns True when FreeSWITCH stops negotiating ("goto done")."""
    if m.port == 0:
        return False
    if m.kind == "image" and m.proto.lower() == "udptl":
        if not t38:
            state["t38"] = True
            state["lines"].append(CompareLine("info", None, "T38 REFUSE on request"))
        return False
    if m.kind != "audio" or not m.is_rtp:
        return False
    savp = "SAVP" in m.proto.upper()
    state["savp"] += savp
    if state["result"] and state["result"].get("chosen"):
        return False  # already have audio (a second audio m= line is not negotiated)
    if m.crypto and not savp and not allow_avp:
        state["refused"] = "a=crypto in RTP/AVP, refer to rfc3711"
        state["lines"].append(CompareLine("info", None, state["refused"]))
        return True
    got_crypto = _crypto_result(m, crypto)
    if got_crypto == -1 and savp:
        state["refused"] = "Received invite with SAVP but secure media is administratively disabled"
        state["lines"].append(CompareLine("info", None, state["refused"]))
        return False
    state["result"] = _negotiate_audio(sd, m, local, mode, state["lines"])
    if crypto == "mandatory" and got_crypto < 1:
        state["refused"] = "Crypto not negotiated but required."
        state["result"].update(matches=[], nears=[], chosen=None, subst=None)
    return False


def _crypto_result(m, crypto) -> int:
    if not m.crypto:
        return 0
    if crypto == "forbidden":
        return -1
    return 1 if any(c.suite.upper() in _SRTP_SUITES for c in m.crypto) else 0


def _negotiate_audio(sd, m, local, mode, lines) -> dict:
    remote, te = remote_codecs(sd, m)
    ptime_attr, maxptime = _ptimes(sd, m)
    new_lines, matches, nears = _loop(remote, local, mode == "scrooge", ptime_attr)
    lines += new_lines
    subst = None
    if not matches and nears:
        codec_ms = remote[-1].ptime if remote else 20  # C keeps the last map's codec_ms
        sub, subst = _substitute(nears, codec_ms, maxptime, fs.catalogue())
        if sub:
            matches = [sub]
            lines.append(CompareLine("info", None, subst))
    if matches and mode in ("greedy", "scrooge"):
        matches = _greedy_sort(matches, local)
    return {"matches": matches, "nears": nears, "chosen": matches[0] if matches else None,
            "subst": subst, "te": te, "remote": remote}


# ---------------------------------------------------------------------------------------
# presenting


def compare_table(neg: Negotiation) -> pd.DataFrame:
    """The compare sequence as a table: kind, remote, local (same shape as the log's).

    Parameters
    ----------
    neg : Negotiation
        What :func:`simulate` returned.

    Returns
    -------
    pandas.DataFrame
        kind ("compare", "match", "near-match"), remote and local as
        ``NAME:PT:RATE[Hz]:PTIME[ms]:BITRATE[bit/s]:CHANNELS``.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (the "Audio Codec Compare" DEBUG lines).

    Examples
    --------
    After a match FreeSWITCH goes on comparing the same remote codec with the rest of
    the local list, as the real log of fusionpbx issue 1695 in data/freeswitch/public/
    shows (``++++ is saved as a match``, then the next local codec):

    >>> from labkit import data, freeswitch as fs
    >>> from labkit.sip import offers_answers
    >>> offer = offers_answers(data.path("codec_mismatch_488")).sdp.iloc[0]
    >>> t = compare_table(simulate(offer, "OPUS,GSM,PCMA"))
    >>> t.values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['compare', 'GSM:3:8000:20:13200:1', 'opus:116:48000:20:0:1'],
     ['compare', 'GSM:3:8000:20:13200:1', 'GSM:3:8000:20:13200:1'],
     ['match', '', 'GSM:3:8000:20:13200:1'],
     ['compare', 'GSM:3:8000:20:13200:1', 'PCMA:8:8000:20:64000:1']]
    """
    return pd.DataFrame([{"kind": x.kind, "remote": x.remote or "", "local": x.local}
                         for x in neg.compares], columns=["kind", "remote", "local"])


def _names(items) -> str:
    return ",".join(dict.fromkeys(items)) or "none"


def outcome_sentence(neg: Negotiation, prefs=None) -> tuple[str, str]:
    """One sentence saying what FreeSWITCH does with the offer and why, and the fix.

    Parameters
    ----------
    neg : Negotiation
        What :func:`simulate` returned.
    prefs : EffectivePrefs, optional
        The list in force; with it the sentence and the fix name the setting it came
        from (e.g. ``global_codec_prefs`` in vars.xml).

    Returns
    -------
    (str, str)
        The sentence, and the fix ("none needed" when the call proceeds).

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (no match: the channel is hung up
    with INCOMPATIBLE_DESTINATION, answered 488); ITU-T Q.850 table 1 (cause 88).

    Examples
    --------
    >>> from labkit import data, freeswitch as fs
    >>> from labkit.sip import offers_answers
    >>> offer = offers_answers(data.path("codec_mismatch_488")).sdp.iloc[0]
    >>> prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    >>> text, fix = outcome_sentence(simulate(offer, prefs), prefs)
    >>> print(text)
    offer has GSM only; effective prefs OPUS,G722,PCMU,PCMA from global_codec_prefs; no match -> INCOMPATIBLE_DESTINATION, Q.850 88, SIP 488
    >>> print(fix)
    add GSM to global_codec_prefs in vars.xml, then reloadxml and restart the Sofia profile (sofia profile <name> restart)
    """
    offered = _names(r.name for r in neg.remote) if neg.remote else "no audio codec"
    if len(set(r.name for r in neg.remote)) == 1:
        offered += " only"
    local = _names(i.name.upper() if i.name.lower() == "opus" else i.name
                   for i in neg.local if i.kind == "audio")
    origin = ""
    if isinstance(prefs, fs.EffectivePrefs):
        origin = f" from {_origin_name(prefs)}"
    fail = "no match -> INCOMPATIBLE_DESTINATION, Q.850 88, SIP 488"
    if neg.refused:
        return (f"offer refused before codec comparison ({neg.refused}); {fail}",
                _crypto_fix(neg.refused))
    if neg.t38_refused and not neg.ok:
        return ("offer asks for T.38 fax (m=image udptl) but fax_enable_t38 is not set; "
                "FreeSWITCH answers 488 Not Acceptable Here (to a re-INVITE: 'Reinvite "
                "resulted in codec negotiation failure', the call stays on audio; to an "
                "initial INVITE: INCOMPATIBLE_DESTINATION, Q.850 88)",
                "set fax_enable_t38=true (mod_spandsp) for this call, or keep fax on G.711 "
                "passthrough")
    if not neg.ok:
        return (f"offer has {offered}; effective prefs {local}{origin}; {fail}",
                _missing_fix(neg, prefs))
    r, imp = neg.chosen
    how = f"{neg.mode} mode"
    if neg.substituted:
        return (f"offer has {offered}; {r.name} at {r.ptime} ms only near-matches local "
                f"{imp.name}; FreeSWITCH substitutes {imp.name}@{imp.ptime}i and answers "
                f"with {r.name}/{r.rate} (PT {r.pt}), {how}",
                f"none needed; to avoid the substitution add {imp.name}@{r.ptime}i to the prefs")
    return (f"offer has {offered}; effective prefs {local}{origin}; {how} picks "
            f"{r.name}/{r.rate} (PT {r.pt}) -> call proceeds", "none needed")


def _origin_name(prefs: fs.EffectivePrefs) -> str:
    for link in reversed(prefs.chain):
        if link.startswith("$${"):
            return link[3:link.index("}")]
    return prefs.source


def _missing_fix(neg: Negotiation, prefs) -> str:
    loaded = fs.catalogue()
    usable = [r.name for r in neg.remote if r.name.lower() in loaded]
    if not usable:
        return ("the offer's codecs are not available in FreeSWITCH: load a module for one "
                "of them or make the caller offer PCMU/PCMA")
    name = usable[0].upper() if usable[0].lower() == "opus" else usable[0]
    if isinstance(prefs, fs.EffectivePrefs):
        origin = _origin_name(prefs)
        if origin != prefs.source:
            return (f"add {name} to {origin} in vars.xml, then reloadxml and restart the "
                    f"Sofia profile (sofia profile <name> restart)")
        if prefs.source in ("absolute_codec_string", "codec_string"):
            return f"add {name} to the {prefs.source} channel variable set in the dialplan"
        if prefs.source != "fallback":
            return f"add {name} to the profile's {prefs.source}, then restart the profile"
    return f"add {name} to the codec prefs (global_codec_prefs in vars.xml) and reloadxml"


def _crypto_fix(refused: str) -> str:
    if "RTP/AVP" in refused:
        return ("make the caller offer RTP/SAVP with its a=crypto, or set "
                "rtp_allow_crypto_in_avp=true (profile NDLB-allow-crypto-in-avp)")
    if "administratively" in refused:
        return "set rtp_secure_media=optional (or mandatory) for this profile/call"
    return "make the caller offer SRTP (RTP/SAVP + a=crypto) or relax rtp_secure_media"


# ---------------------------------------------------------------------------------------
# per call, from a capture


def log_agreement(log, prefs, mode: str = "generous",
                  offers: list | None = None, **options) -> pd.DataFrame:
    """Does the simulator reproduce the log? One row per negotiation in `log`.

    With "Remote SDP:" dumps in the log, negotiation i is everything between the i-th dump
    and the next; otherwise the compare rounds are used with ``offers[i]`` as the SDP.
    ``agree`` is True when the compare/match/near-match lines are equal, in order, and the
    simulator refuses the offer (crypto, T.38) exactly when the log does.

    Parameters
    ----------
    log : FreeswitchLog
        A parsed debug log (:func:`labkit.freeswitch.read_log`).
    prefs : str or EffectivePrefs
        The local codec list FreeSWITCH had.
    mode : str
        Negotiation mode.
    offers : list of str or SessionDescription, optional
        Offer SDPs, one per compare round, for logs without "Remote SDP:" dumps.
    **options
        Passed to :func:`simulate`.

    Returns
    -------
    pandas.DataFrame
        negotiation (1-based), n_log, n_sim (compare lines), agree, first_difference.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (compare lines),
    src/mod/endpoints/mod_sofia/sofia.c ("Remote SDP:" dump).

    Examples
    --------
    The seed log (real FreeSWITCH, published) has no SDP dump; with the GSM-only offer
    of the bundled capture and the vanilla prefs the simulator prints its four lines:

    >>> from labkit import data, freeswitch as fs
    >>> from labkit.sip import offers_answers
    >>> offer = offers_answers(data.path("codec_mismatch_488")).sdp.iloc[0]
    >>> prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    >>> seed = fs.read_log(data.path("freeswitch_log_seed"))
    >>> log_agreement(seed, prefs, offers=[offer]).values.tolist()
    [[1, 4, 4, True, '']]
    """
    segments = _segments(log, offers)
    rows = []
    for i, (sdp, part, refusals) in enumerate(segments):
        got = [_log_line(r) for r in part.itertuples()]
        if sdp is None:
            rows.append({"negotiation": i + 1, "n_log": len(got), "n_sim": 0, "agree": False,
                         "first_difference": "no offer SDP for this negotiation"})
            continue
        neg = simulate(sdp, prefs, mode, **options)
        sim = [x.text() for x in neg.compares]
        diff = next((f"log {a!r} / simulator {b!r}" for a, b in zip(got, sim) if a != b),
                    "" if len(got) == len(sim) else f"log {len(got)} lines, simulator {len(sim)}")
        if not diff and bool(neg.refused) != bool(refusals):
            diff = f"refusal: log {refusals or 'none'} / simulator {neg.refused or 'none'}"
        rows.append({"negotiation": i + 1, "n_log": len(got), "n_sim": len(sim),
                     "agree": diff == "", "first_difference": diff})
    return pd.DataFrame(rows, columns=["negotiation", "n_log", "n_sim", "agree",
                                       "first_difference"])


def _segments(log, offers):
    """(offer SDP, compare rows, refusals) per negotiation; with uuids, only that channel's
    lines between its "Remote SDP" and the next one count."""
    comp, ev = log.compares, log.events
    refuse = ev[ev["kind"] == "refuse"] if not ev.empty else ev
    if log.remote_sdps:
        uuids = log.remote_sdp_uuids or (None,) * len(log.remote_sdps)
        out = []
        for i, (sdp, lo, uuid) in enumerate(zip(log.remote_sdps, log.remote_sdp_lines, uuids)):
            later = [n for n, u in zip(log.remote_sdp_lines[i + 1:], uuids[i + 1:]) if u == uuid]
            hi = later[0] if later else 10**12
            same = (comp["uuid"] == uuid) if uuid else comp["uuid"].isna() | True
            part = comp[same & (comp["line_no"] > lo) & (comp["line_no"] < hi)]
            ref = [t for n, u, t in zip(refuse["line_no"], refuse["uuid"], refuse["text"])
                   if lo < n < hi and (uuid is None or u == uuid)]
            out.append((sdp, part, ref))
        return out
    return [((offers[i] if offers and i < len(offers) else None), part, [])
            for i, (_, part) in enumerate(comp.groupby("round", sort=True))]


def _log_line(r) -> str:
    local = f"{r.l_name}:{r.l_pt}:{r.l_rate}:{r.l_ptime}:{r.l_bitrate}:{r.l_channels}"
    if r.kind == "compare":
        remote = f"{r.r_name}:{r.r_pt}:{r.r_rate}:{r.r_ptime}:{r.r_bitrate}:{r.r_channels}"
        return CompareLine("compare", remote, local).text()
    return CompareLine(r.kind, None, local).text()


_VERDICT_COLUMNS = ["call_id", "first_frame", "final_status", "reason", "q850_cause",
                    "offered", "answered", "verdict", "fix", "freeswitch", "findings"]


def call_verdicts(source, *, prefs=None, mode: str | None = None, **fs_options) -> pd.DataFrame:
    """One row per INVITE dialog: what was offered and answered, and why it ended so.

    Parameters
    ----------
    source : Packets or DataFrame
        A capture's packets or :func:`labkit.sip.sip_messages` output.
    prefs : str or freeswitch.EffectivePrefs, optional
        FreeSWITCH's local codec list; when given, the caller's first offer is also
        simulated against it (column ``freeswitch``).
    mode : str, optional
        Negotiation mode (default: that of `prefs`, else generous).
    **fs_options
        Passed to :func:`simulate` (crypto, allow_crypto_in_avp, fax_enable_t38).

    Returns
    -------
    pandas.DataFrame
        call_id, first_frame, final_status, reason (Reason header), q850_cause, offered
        and answered codecs ("GSM/8000,telephone-event/8000"), verdict (one sentence),
        fix, freeswitch (the simulator's sentence or ""), findings (list of Finding).

    References
    ----------
    RFC 3261 section 21.4.26 (488 Not Acceptable Here), RFC 3264 section 6, RFC 3326
    (Reason), ITU-T Q.850 table 1; signalwire/freeswitch src/switch_core_media.c for the
    ``freeswitch`` column.

    Examples
    --------
    The real baresip 488 (tshark: sdp.media "audio 10008 RTP/AVP 3 101", rtpmap
    GSM/8000 and telephone-event/8000, final response 488):

    >>> from labkit import data, freeswitch as fs
    >>> from labkit.capture import read_capture
    >>> prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    >>> v = call_verdicts(read_capture(data.path("codec_mismatch_488")), prefs=prefs).iloc[0]
    >>> print(v.final_status, v.offered, v.answered)
    488 GSM/8000,telephone-event/8000 none
    >>> print(v.verdict)  # doctest: +NORMALIZE_WHITESPACE
    offer GSM/8000,telephone-event/8000; the callee accepts none of these codecs: final
    response 488 Not Acceptable Here sent by 10.0.0.2 (Server: baresip v1.0.0
    (x86_64/linux)), with no Reason header and no Warning header
    >>> print(v.freeswitch)  # doctest: +NORMALIZE_WHITESPACE
    offer has GSM only; effective prefs OPUS,G722,PCMU,PCMA from global_codec_prefs; no
    match -> INCOMPATIBLE_DESTINATION, Q.850 88, SIP 488
    """
    from labkit import sip
    msgs = source if isinstance(source, pd.DataFrame) else sip.sip_messages(source)
    calls, oa = sip.sip_calls(msgs), sip.offers_answers(msgs)
    if mode is None:
        mode = prefs.mode if isinstance(prefs, fs.EffectivePrefs) else "generous"
    rows = [_verdict_row(c, oa[oa["call_id"] == c["call_id"]], msgs[msgs["call_id"] == c["call_id"]],
                         prefs, mode, fs_options) for _, c in calls.iterrows()]
    return pd.DataFrame(rows, columns=_VERDICT_COLUMNS)


def _codecs_text(sd) -> str:
    audio = [m for m in sd.media if m.kind == "audio" and m.port]
    return ",".join(str(c) for m in audio[:1] for c in m.codecs.values() if c) or "none"


def _call_findings(oa, msgs) -> list:
    from labkit.sip import sdp as sdpmod
    out, seen = [], set()
    offers = oa[oa["role"] == "offer"]
    for r in oa.itertuples():
        if r.role.endswith("(repeat)") or r.sdp.text in seen:
            continue
        seen.add(r.sdp.text)
        out += sdpmod.check_description(r.sdp, f"frame {r.frame} ({r.message})")
        if r.role == "answer" and pd.notna(r.offer_frame):
            offer = oa[oa["frame"] == r.offer_frame].iloc[0]["sdp"]
            out += sdpmod.check_answer(offer, r.sdp, f"frame {r.frame} ({r.message})")
    for (_, _), group in offers.groupby(["cseq", "cseq_method"]):
        first = group.iloc[0]
        for later in group.iloc[1:].itertuples():
            out += sdpmod.compare_offers(first["sdp"], later.sdp,
                                         f"frame {first['frame']} -> frame {later.frame}")
    out += _dialog_findings(oa, msgs)
    unique: dict = {}
    for f in out:  # the same finding on every hop: keep the first
        unique.setdefault((f.code, f.message), f)
    return list(unique.values())


def _dialog_findings(oa, msgs) -> list:
    from labkit.sip.sdp import Finding
    out = []
    invites = msgs[msgs["method"] == "INVITE"]
    first = invites.iloc[0] if not invites.empty else None
    if first is not None and not isinstance(first["sdp"], str):
        acks = msgs[(msgs["method"] == "ACK") & msgs["sdp"].apply(lambda x: isinstance(x, str))]
        late_offer = oa[(oa["role"] == "offer") & oa["message"].str.match(r"^[12]\d\d$")]
        sev = "info" if late_offer.empty or not acks.empty else "error"
        out.append(Finding(sev, "late-offer", "INVITE without SDP (late offer): the offer comes "
                           "in the 18x/200 and the answer in the ACK (RFC 3261 13.2.1)"
                           + ("" if sev == "info" else "; but no ACK carries an answer"),
                           "" if sev == "info" else "send the SDP answer in the ACK",
                           f"frame {first['frame']}"))
    for r in oa[oa["role"] == "offer"].itertuples():
        if any(m.kind == "image" and m.port for m in r.sdp.media):
            resp = msgs[(msgs["cseq"] == r.cseq) & (msgs["cseq_method"] == r.cseq_method)
                        & (msgs["status"].fillna(0) >= 300)]
            if not resp.empty:
                out.append(Finding("error", "t38-rejected", f"re-INVITE to T.38 fax answered "
                                   f"{int(resp.iloc[0]['status'])} {resp.iloc[0]['reason_phrase']}",
                                   "enable T.38 on the far end (FreeSWITCH: fax_enable_t38=true) "
                                   "or fax over G.711", f"frame {r.frame}"))
    return out


def _verdict_row(call, oa, msgs, prefs, mode, fs_options) -> dict:
    offers = oa[oa["role"] == "offer"]
    answers = oa[oa["role"] == "answer"]
    offer = offers.iloc[0]["sdp"] if not offers.empty else None
    answer = answers.iloc[-1]["sdp"] if not answers.empty else None
    findings = _call_findings(oa, msgs)
    fs_text, fs_fix, fs_ok = "", "", None
    if prefs is not None and offer is not None:
        neg = simulate(offer, prefs, mode, **fs_options)
        fs_ok = neg.ok
        fs_text, fs_fix = outcome_sentence(neg, prefs if isinstance(prefs, fs.EffectivePrefs) else None)
    final = _final_response(call, msgs)
    verdict, fix = _capture_sentence(call, offer, answer, findings, final)
    answered = pd.notna(call["final_status"]) and 200 <= call["final_status"] < 300
    # FreeSWITCH's reasoning explains the call only when FreeSWITCH sent the final response
    # and the simulator predicts what the capture shows; otherwise it is a what-if.
    by_freeswitch = final is not None and "freeswitch" in _agent(final).lower()
    if fs_text and by_freeswitch and fs_ok == answered and \
            not any(f.severity == "error" for f in findings):
        verdict, fix = f"{verdict}; {fs_text}", fs_fix
    return {"call_id": call["call_id"], "first_frame": call["first_frame"],
            "final_status": call["final_status"], "reason": call["reason"],
            "q850_cause": call["q850_cause"],
            "offered": _codecs_text(offer) if offer else "none",
            "answered": _codecs_text(answer) if answer else "none",
            "verdict": verdict, "fix": fix, "freeswitch": fs_text, "findings": findings}


def _final_response(call, msgs):
    """The message row of the call's final response to the INVITE, or None."""
    if pd.isna(call.get("final_frame")):
        return None
    rows = msgs[msgs["frame"] == call["final_frame"]]
    return rows.iloc[0] if len(rows) else None


def _header(msg, name: str) -> str:
    return next((v for k, v in (msg["headers"] or ()) if k == name), "")


def _agent(msg) -> str:
    return _header(msg, "server") or _header(msg, "user-agent")


def responder_text(msg) -> str:
    """Who sent a SIP response and which diagnostic headers it carries, from the capture.

    Parameters
    ----------
    msg : pandas.Series
        One response row of :func:`labkit.sip.sip_messages`.

    Returns
    -------
    str
        "<status> <phrase> sent by <address> (Server/User-Agent: ...)" and the Reason /
        Warning headers it carries or lacks.

    References
    ----------
    RFC 3261 sections 20.35 (Server), 20.41 (User-Agent), 20.43 (Warning); RFC 3326
    (Reason).

    Examples
    --------
    >>> from labkit import capture, data, sip
    >>> msgs = sip.sip_messages(capture.read_capture(data.path("codec_mismatch_488")))
    >>> responder_text(msgs[msgs["status"] == 488].iloc[0])
    '488 Not Acceptable Here sent by 10.0.0.2 (Server: baresip v1.0.0 (x86_64/linux)), with no Reason header and no Warning header'
    """
    agent = _agent(msg)
    who = f"{msg['src']}" + (f" ({'Server' if _header(msg, 'server') else 'User-Agent'}: {agent})"
                             if agent else " (no Server/User-Agent header)")
    extra = [f"{h.title()}: {_header(msg, h)}" for h in ("reason", "warning") if _header(msg, h)]
    missing = [f"no {h.title()} header" for h in ("reason", "warning") if not _header(msg, h)]
    text = f"{int(msg['status'])} {msg['reason_phrase']} sent by {who}"
    if extra:
        text += ", with " + ", ".join(extra)
    if missing:
        text += (" and " if extra else ", with ") + " and ".join(missing)
    return text


def _port_zero_only(offer) -> bool:
    audio = [m for m in offer.media if m.kind == "audio"] if offer is not None else []
    return bool(audio) and all(m.port == 0 for m in audio) and \
        not any(m.port for m in offer.media)


def _capture_sentence(call, offer, answer, findings, final=None) -> tuple[str, str]:
    status = call["final_status"]
    status_text = f"{int(status)} {call['final_phrase']}" if pd.notna(status) else "no final response"
    if final is not None and pd.notna(status) and int(status) >= 300:
        status_text = responder_text(final)
    errors = [f for f in findings if f.severity == "error"]
    offered = _codecs_text(offer) if offer else "no SDP"
    if pd.notna(status) and 200 <= status < 300:
        picked = _codecs_text(answer).split(",")[0] if answer else "no answer SDP"
        text = f"offer {offered}; answer picks {picked}; call established ({status_text})"
        if errors:
            return f"{text}, but {errors[0].message} ({errors[0].where})", errors[0].fix
        return text, "none needed"
    if offer is not None and _port_zero_only(offer):
        codecs = ",".join(str(c) for m in offer.media[:1] for c in m.codecs.values() if c)
        return (f"the offer's only audio stream has port 0: stream disabled (RFC 3264 "
                f"section 5.1/6), so there is nothing to negotiate ({codecs or 'no codec'} "
                f"listed but not offered); final response {status_text}",
                "offer the stream with a non-zero port (to hold a call use a=sendonly or "
                "a=inactive, RFC 3264 section 8.4, not port 0)")
    if errors:
        e = errors[0]
        return (f"offer {offered}; {e.message} ({e.where}); final response {status_text}", e.fix)
    if pd.notna(status) and int(status) in (488, 606, 415):
        return (f"offer {offered}; the callee accepts none of these codecs: final response "
                f"{status_text}", "offer a codec the callee allows, or enable one of the "
                "offered codecs on the callee")
    if pd.notna(status) and int(status) in (401, 407):
        return (f"offer {offered}; the INVITE was challenged ({status_text}) and not sent "
                "again with credentials: not a codec problem",
                "give the caller the right credentials for this realm")
    if pd.notna(status):
        return (f"offer {offered}; final response {status_text}: the call failed for a "
                "reason other than codec negotiation", "look at why the callee side refused "
                "(registration, busy, cancelled, routing)")
    return f"offer {offered}; no final response in the capture", "capture the whole call"


def offer_answer_codecs(oa: pd.DataFrame) -> pd.DataFrame:
    """One row per codec of every offer/answer of :func:`labkit.sip.offers_answers`.

    Columns: call_id, frame, message, role, m_index, media, port, proto, direction,
    pt, codec (name/rate[/channels]), ptime [ms], fmtp, crypto (suites).

    Parameters
    ----------
    oa : pandas.DataFrame
        :func:`labkit.sip.offers_answers` of a capture.

    Returns
    -------
    pandas.DataFrame
        One row per payload type of every m= line (a row with pt "" for an m= line
        without formats); codec as name/rate [Hz], ptime [ms].

    References
    ----------
    RFC 4566 sections 5.14 and 6 (m=, rtpmap, fmtp, ptime); RFC 3551 table 4; RFC 4568
    (a=crypto suites).

    Examples
    --------
    tshark on the real 488 shows ``rtpmap:3 GSM/8000``, ``rtpmap:101
    telephone-event/8000``, ``fmtp:101 0-15`` and ``ptime:20``:

    >>> from labkit import data
    >>> from labkit.sip import offers_answers
    >>> t = offer_answer_codecs(offers_answers(data.path("codec_mismatch_488")))
    >>> t[["frame", "role", "port", "pt", "codec", "ptime", "fmtp"]].values.tolist()
    [[1, 'offer', 10008, '3', 'GSM/8000', 20.0, ''], [1, 'offer', 10008, '101', 'telephone-event/8000', 20.0, '0-15']]
    """
    rows = []
    for r in oa.itertuples():
        for m in r.sdp.media:
            suites = ",".join(c.suite for c in m.crypto)
            for pt in m.formats or [None]:
                c = m.codec(pt) if pt is not None else None
                rows.append({"call_id": r.call_id, "frame": r.frame, "message": r.message,
                             "role": r.role, "m_index": m.index, "media": m.kind,
                             "port": m.port, "proto": m.proto, "direction": m.direction,
                             "pt": "" if pt is None else str(pt),
                             "codec": str(c) if c else "?", "ptime": m.ptime,
                             "fmtp": m.fmtp.get(pt, "") if isinstance(pt, int) else "",
                             "crypto": suites})
    return pd.DataFrame(rows, columns=["call_id", "frame", "message", "role", "m_index",
                                       "media", "port", "proto", "direction", "pt", "codec",
                                       "ptime", "fmtp", "crypto"])


# ---------------------------------------------------------------------------------------
# the simulator against a real log excerpt


def rebuilt_offer(log) -> str:
    """An SDP offer rebuilt from a log's compare lines (left side: name, PT, rate, ptime).

    For excerpts without a "Remote SDP" dump: one ``a=rtpmap`` per offered codec in the
    log's order, and ``a=ptime`` when every entry has the same non-default ptime. What the
    log cannot show (fmtp, channels) is not rebuilt.

    Parameters
    ----------
    log : FreeswitchLog
        A parsed log (:func:`labkit.freeswitch.parse_log`).

    Returns
    -------
    str
        SDP text.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c: the left entry is the remote codec as
    read from the offer's rtpmap and ptime.

    Examples
    --------
    >>> from labkit import data, freeswitch as fs
    >>> "m=audio 4000 RTP/AVP 3" in rebuilt_offer(fs.read_log(data.path("freeswitch_log_seed")))
    True
    """
    from labkit.capture.frames import sdp_body
    comp = log.compares
    seen = []
    for r in comp[comp["kind"] == "compare"].itertuples():
        if (r.r_name, int(r.r_pt)) not in [(s[0], s[1]) for s in seen]:
            seen.append((r.r_name, int(r.r_pt), int(r.r_rate), int(r.r_ptime)))
    lines = "".join(f"a=rtpmap:{pt} {n}/{rate}\r\n" for n, pt, rate, _ in seen)
    ptimes = {s[3] for s in seen}
    if len(ptimes) == 1 and ptimes != {20}:
        lines += f"a=ptime:{ptimes.pop()}\r\n"
    return sdp_body("10.0.0.1", 4000, " ".join(str(s[1]) for s in seen)) + lines


def replay_excerpt(log, offer=None, local=None, mode: str = "generous") -> pd.DataFrame:
    """The simulator against a log, line by line: does it print what FreeSWITCH printed?

    Parameters
    ----------
    log : FreeswitchLog
        A parsed log or excerpt.
    offer : str, optional
        The offer SDP (default: the log's first "Remote SDP", else :func:`rebuilt_offer`).
    local : str, optional
        Local codec string (default: the local codec names in the log's order).
    mode : str
        Negotiation mode.

    Returns
    -------
    pandas.DataFrame
        line (1-based), log, simulator, same; the simulator's extra lines past the end of
        an excerpt are not compared.

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c (switch_core_media_negotiate_sdp).

    Examples
    --------
    >>> from labkit import data, freeswitch as fs
    >>> table = replay_excerpt(fs.read_log(data.path("freeswitch_log_seed")))
    >>> len(table), bool(table["same"].all())
    (4, True)
    """
    comp = log.compares
    if local is None:
        local = ",".join(dict.fromkeys(comp.loc[comp["kind"] == "compare", "l_name"]))
    if offer is None:
        offer = log.remote_sdps[0] if log.remote_sdps else rebuilt_offer(log)
    got = [_log_line(r) for r in comp.itertuples()]
    sim = [x.text() for x in simulate(offer, local, mode).compares]
    rows = [{"line": i + 1, "log": g, "simulator": sim[i] if i < len(sim) else "",
             "same": i < len(sim) and sim[i] == g} for i, g in enumerate(got)]
    return pd.DataFrame(rows, columns=["line", "log", "simulator", "same"])

