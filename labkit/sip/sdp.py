"""SDP session descriptions (RFC 4566, RFC 3264) parsed into small dataclasses.

The line grammar is handled by the maintained ``sdp-transform`` parser; this module adds
what a troubleshooter needs on top of it:

- the RFC 3551 static payload type table (section 6, tables 4 and 5), so ``m=audio ... 0 8``
  without ``a=rtpmap`` still resolves to PCMU/8000 and PCMA/8000;
- the effective connection address of each media (media ``c=`` else session ``c=``,
  RFC 4566 section 5.7) and direction (media attribute else session attribute, default
  ``sendrecv``, RFC 3264 section 5.1);
- a list of ``problems`` found while parsing (malformed lines, dynamic payload types
  without ``a=rtpmap``, unparsable attribute values) instead of a traceback.

Example
-------
>>> sd = parse_sdp("v=0\\r\\no=- 1 1 IN IP4 10.0.0.1\\r\\ns=-\\r\\nc=IN IP4 10.0.0.1\\r\\n"
...                "t=0 0\\r\\nm=audio 4000 RTP/AVP 8 101\\r\\n"
...                "a=rtpmap:101 telephone-event/8000\\r\\n")
>>> [str(sd.media[0].codec(pt)) for pt in sd.media[0].formats]
['PCMA/8000', 'telephone-event/8000']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sdp_transform

from labkit.errors import DecodeError

__all__ = ["Codec", "Crypto", "Media", "SessionDescription", "STATIC_PAYLOAD_TYPES",
           "parse_sdp", "is_sdp", "Finding", "fmtp_params", "check_description",
           "check_answer", "check_amr_fmtp", "compare_offers"]


@dataclass(frozen=True)
class Codec:
    """One RTP payload format: encoding name, clock rate [Hz], channels (None = unspecified/video)."""

    name: str
    rate: int | None
    channels: int | None = 1

    def __str__(self) -> str:
        text = f"{self.name}/{self.rate}" if self.rate else self.name
        return f"{text}/{self.channels}" if self.channels and self.channels > 1 else text


# RFC 3551 section 6, tables 4 (audio) and 5 (video). Channels = 1 for audio except L16/10.
STATIC_PAYLOAD_TYPES: dict[int, Codec] = {
    0: Codec("PCMU", 8000), 3: Codec("GSM", 8000), 4: Codec("G723", 8000),
    5: Codec("DVI4", 8000), 6: Codec("DVI4", 16000), 7: Codec("LPC", 8000),
    8: Codec("PCMA", 8000), 9: Codec("G722", 8000), 10: Codec("L16", 44100, 2),
    11: Codec("L16", 44100), 12: Codec("QCELP", 8000), 13: Codec("CN", 8000),
    14: Codec("MPA", 90000, None), 15: Codec("G728", 8000), 16: Codec("DVI4", 11025),
    17: Codec("DVI4", 22050), 18: Codec("G729", 8000), 25: Codec("CelB", 90000, None),
    26: Codec("JPEG", 90000, None), 28: Codec("nv", 90000, None),
    31: Codec("H261", 90000, None), 32: Codec("MPV", 90000, None),
    33: Codec("MP2T", 90000, None), 34: Codec("H263", 90000, None),
}


@dataclass(frozen=True)
class Crypto:
    """One ``a=crypto`` line (RFC 4568 section 9.1): tag, crypto-suite, key params."""

    tag: int
    suite: str
    key_params: str


@dataclass(frozen=True)
class Media:
    """One ``m=`` section.

    Attributes
    ----------
    index : int
        Position of the m= line in the description (0-based; RFC 3264 section 6 says the
        answer keeps the same count and order).
    kind : str
        ``audio``, ``video``, ``image`` (T.38), ``application`` ...
    port : int
        Transport port; 0 means the stream is rejected/disabled (RFC 3264 section 6).
    proto : str
        ``RTP/AVP``, ``RTP/SAVP``, ``RTP/SAVPF``, ``udptl`` ...
    formats : list of int or str
        Payload types in preference order (int for RTP profiles, str otherwise, e.g. t38).
    connection : str or None
        Effective connection address (media ``c=`` or the session's).
    rtpmap : dict int -> Codec
        Only the explicit ``a=rtpmap`` lines (what Wireshark's SDP dissector stores).
    fmtp : dict int -> str
        ``a=fmtp`` parameter strings by payload type.
    direction : str
        sendrecv / sendonly / recvonly / inactive (media, else session, else sendrecv).
    ptime, maxptime : float or None
        Packet time and maximum packet time [ms] (RFC 4566 section 6).
    crypto : tuple of Crypto
        SDES keys (RFC 4568).
    attributes : tuple of (str, str)
        Every ``a=`` line of the section as (name, value), in order.
    """

    index: int
    kind: str
    port: int
    proto: str
    formats: list
    connection: str | None
    rtpmap: dict = field(default_factory=dict)
    fmtp: dict = field(default_factory=dict)
    direction: str = "sendrecv"
    ptime: float | None = None
    maxptime: float | None = None
    crypto: tuple = ()
    attributes: tuple = ()

    def codec(self, pt) -> Codec | None:
        """Codec of payload type `pt`: the a=rtpmap, else RFC 3551 static table, else None."""
        if pt in self.rtpmap:
            return self.rtpmap[pt]
        if isinstance(pt, int) and pt < 96:
            return STATIC_PAYLOAD_TYPES.get(pt)
        return None

    @property
    def codecs(self) -> dict:
        """Every format resolved: pt -> Codec (None where nothing is known)."""
        return {pt: self.codec(pt) for pt in self.formats}

    @property
    def is_rtp(self) -> bool:
        """True for RTP profiles (RTP/AVP, RTP/SAVP, RTP/AVPF, UDP/TLS/RTP/SAVPF ...)."""
        return "RTP/" in self.proto.upper()

    def attribute(self, name: str) -> list[str]:
        """Values of every ``a=name`` line of this media."""
        return [v for n, v in self.attributes if n == name]


@dataclass(frozen=True)
class SessionDescription:
    """A parsed SDP body.

    ``problems`` lists what could not be understood (with the line number, 1-based); the
    rest of the description is still usable.
    """

    origin: dict
    connection: str | None
    media: list
    direction: str = "sendrecv"
    attributes: tuple = ()
    problems: tuple = ()
    text: str = ""

    @property
    def session_version(self) -> int | None:
        """o= session version (RFC 3264 section 8: +1 for every new offer)."""
        return self.origin.get("sessionVersion")


_LINE = re.compile(r"^([a-z])=(.*)$")
_KNOWN_TYPES = set("vosiuepcbtrzkam")
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_M_LINE = re.compile(r"^m=(\S+) (\d+)(?:/\d+)? (\S+)(?: (.*))?$")


def is_sdp(text: str) -> bool:
    """True when `text` starts like an SDP body (``v=0``).

    Parameters
    ----------
    text : str
        A message body.

    Returns
    -------
    bool

    References
    ----------
    RFC 4566 section 5 (``v=`` is the first line).

    Examples
    --------
    >>> is_sdp("v=0\\r\\no=- 1 1 IN IP4 10.0.0.1\\r\\n"), is_sdp("<xml/>")
    (True, False)
    """
    return text.lstrip().startswith("v=")


def parse_sdp(text) -> SessionDescription:
    """Parse an SDP body (RFC 4566).

    Parameters
    ----------
    text : str or bytes
        The body; CRLF or LF line ends.

    Returns
    -------
    SessionDescription
        With ``problems`` listing malformed lines and dynamic payload types that have no
        ``a=rtpmap`` (RFC 4566 section 6: required for dynamic types).

    Raises
    ------
    DecodeError
        When the text is not SDP at all (no ``v=`` line first).

    References
    ----------
    RFC 4566 sections 5 and 6 (parsed with sdp-transform); RFC 3551 section 6 (static types).

    Examples
    --------
    >>> sd = parse_sdp("v=0\\r\\no=- 1 1 IN IP4 10.0.0.1\\r\\ns=-\\r\\nc=IN IP4 10.0.0.1\\r\\n"
    ...                "t=0 0\\r\\nm=audio 4000 RTP/AVP 8 0\\r\\n")
    >>> [c.name for c in sd.media[0].codecs.values()]     # static types without rtpmap
    ['PCMA', 'PCMU']
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not is_sdp(text):
        raise DecodeError(f"not SDP: body starts with {text.strip()[:20]!r}", None,
                          "pass the application/sdp body of the SIP message")
    lines = [ln.strip("\r") for ln in text.strip().split("\n")]
    problems = _line_problems(lines)
    parsed = sdp_transform.parse("\r\n".join(lines) + "\r\n")
    sections = _media_sections(lines)
    session_c = _address(parsed.get("connection"))
    session_dir = parsed.get("direction", "sendrecv")
    media = []
    for i, (raw, section) in enumerate(zip(parsed.get("media", []), sections)):
        media.append(_media(i, raw, section, session_c, session_dir, problems))
    return SessionDescription(origin=dict(parsed.get("origin", {})), connection=session_c,
                              media=media, direction=session_dir,
                              attributes=tuple(_attributes(_session_lines(lines))),
                              problems=tuple(problems), text=text)


def _line_problems(lines: list[str]) -> list[str]:
    problems = []
    for n, line in enumerate(lines, 1):
        if not line:
            continue
        m = _LINE.match(line)
        if not m or m.group(1) not in _KNOWN_TYPES:
            problems.append(f"line {n}: {line[:40]!r} is not an SDP type=value line")
        elif m.group(1) == "m" and not _M_LINE.match(line):
            problems.append(f"line {n}: malformed media line {line[:60]!r}")
        elif m.group(1) == "c" and len(m.group(2).split()) < 3:
            problems.append(f"line {n}: malformed connection line {line[:60]!r}")
    return problems


def _session_lines(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line.startswith("m="):
            break
        out.append(line)
    return out


def _media_sections(lines: list[str]) -> list[list[str]]:
    sections: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
    return sections


def _attributes(lines: list[str]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        if line.startswith("a="):
            name, _, value = line[2:].partition(":")
            out.append((name.strip(), value.strip()))
    return out


def _address(conn) -> str | None:
    return conn.get("ip") if isinstance(conn, dict) and conn.get("ip") else None


def _media(index, raw, section, session_c, session_dir, problems) -> Media:
    m = _M_LINE.match(section[0])
    if m:
        kind, port, proto, fmt_text = m.group(1), int(m.group(2)), m.group(3), m.group(4) or ""
    else:  # malformed m= line (already reported): keep its media type, treat as disabled
        kind, port, proto, fmt_text = (section[0][2:].split() or ["?"])[0], 0, "?", ""
    formats = [int(f) if f.isdigit() else f for f in fmt_text.split()]
    where = f"m= line {index + 1}"
    rtpmap = _rtpmap(section, where, problems)
    fmtp = {int(f["payload"]): str(f.get("config", "")) for f in raw.get("fmtp", [])
            if str(f.get("payload", "")).isdigit()}
    attrs = tuple(_attributes(section[1:]))
    if "RTP/" in proto.upper() and port != 0:
        for pt in formats:
            if isinstance(pt, int) and pt >= 96 and pt not in rtpmap:
                problems.append(f"{where}: dynamic payload type {pt} has no a=rtpmap")
    return Media(index=index, kind=kind, port=port, proto=proto, formats=formats,
                 connection=_address(raw.get("connection")) or session_c,
                 rtpmap=rtpmap, fmtp=fmtp, direction=raw.get("direction", session_dir),
                 ptime=_number(attrs, "ptime", where, problems),
                 maxptime=_number(attrs, "maxptime", where, problems),
                 crypto=_crypto(attrs, where, problems),
                 attributes=attrs)


_RTPMAP = re.compile(r"^(\d+)\s+([^/\s]+)(?:/(\d+))?(?:/(\d+))?\s*$")


def _rtpmap(section, where, problems) -> dict:
    """Explicit a=rtpmap lines (parsed here: sdp-transform drops channels on some lines)."""
    out = {}
    for name, value in _attributes(section[1:]):
        if name != "rtpmap":
            continue
        m = _RTPMAP.match(value)
        if not m:
            problems.append(f"{where}: malformed a=rtpmap:{value[:40]!r}")
            continue
        rate = int(m.group(3)) if m.group(3) else None
        channels = int(m.group(4)) if m.group(4) else 1
        out[int(m.group(1))] = Codec(m.group(2), rate, channels)
    return out


_CRYPTO = re.compile(r"^(\d+)\s+(\S+)\s+(\S.*)$")


def _crypto(attrs, where, problems) -> tuple:
    """``a=crypto:<tag> <suite> <key-params>`` lines (RFC 4568 9.1)."""
    out = []
    for name, value in attrs:
        if name != "crypto":
            continue
        m = _CRYPTO.match(value)
        if m:
            out.append(Crypto(int(m.group(1)), m.group(2), m.group(3)))
        else:
            problems.append(f"{where}: malformed a=crypto:{value[:40]!r}")
    return tuple(out)


def _number(attrs, name, where, problems) -> float | None:
    values = [v for n, v in attrs if n == name]
    if not values:
        return None
    value = values[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: a={name} value {value!r} is not a number")
        return None


# ---------------------------------------------------------------------------------------
# checks on one description and on an offer/answer pair


@dataclass(frozen=True)
class Finding:
    """One problem found: severity ("error"/"warning"/"info"), a short code, a sentence
    saying what and why (with the RFC clause), the fix, and where (frame, m= line)."""

    severity: str
    code: str
    message: str
    fix: str = ""
    where: str = ""


_FRAME_MS = {"amr": 20, "amr-wb": 20, "gsm": 20, "g729": 10, "g723": 30, "evs": 20,
             "ilbc": 10}  # codec frame length [ms] (iLBC: 20 or 30, both multiples of 10)
_AMR_PAYLOAD_PARAMS = ("octet-align", "crc", "robust-sorting", "interleaving")


def fmtp_params(text: str) -> dict[str, str]:
    """``a=fmtp`` parameter string as a dict (lower-case names, RFC 4566 6 / RFC 4867 8.1).

    Parameters
    ----------
    text : str
        The format-specific parameters of an ``a=fmtp`` line.

    Returns
    -------
    dict of str to str

    References
    ----------
    RFC 4566 section 6 (a=fmtp); RFC 4867 section 8.1 (AMR parameters).

    Examples
    --------
    >>> fmtp_params("octet-align=1; Mode-Set=0,2")
    {'octet-align': '1', 'mode-set': '0,2'}
    """
    out = {}
    for part in (text or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip() if sep else ""
    return out


def _audio_codecs(m: Media) -> list:
    return [(pt, c) for pt, c in m.codecs.items()
            if c is not None and c.name.lower() not in ("telephone-event", "cn")]


def check_description(sd: SessionDescription, where: str = "") -> list[Finding]:
    """Checks that need only one SDP: parse problems, telephone-event clock (RFC 4733
    2.1), SRTP keys (RFC 4568), ptime/maxptime (RFC 4566 6).

    Parameters
    ----------
    sd : SessionDescription
        From :func:`parse_sdp`.
    where : str
        Where the SDP was seen (frame, message), copied into the findings.

    Returns
    -------
    list of Finding

    References
    ----------
    RFC 4733 section 2.1; RFC 4568 section 9.1; RFC 4566 section 6.

    Examples
    --------
    >>> from labkit.capture.frames import sdp_body
    >>> sd = parse_sdp(sdp_body("10.0.0.1", 4000, [97, 101], attributes=[
    ...     "a=rtpmap:97 AMR-WB/16000", "a=rtpmap:101 telephone-event/8000"]))
    >>> [f.code for f in check_description(sd)]         # events must use the 16 kHz clock
    ['telephone-event-rate']
    """
    out = [Finding("warning", "sdp-parse", p, "fix the sender's SDP", where) for p in sd.problems]
    for m in sd.media:
        if m.port == 0 or not m.is_rtp:
            continue
        w = f"{where}, m= line {m.index + 1}".lstrip(", ")
        out += _check_te(m, w) + _check_srtp(m, w) + _check_ptime(m, w)
    return out


def _check_te(m: Media, where: str) -> list[Finding]:
    audio = _audio_codecs(m)
    te_rates = {c.rate for c in m.codecs.values()
                if c is not None and c.name.lower() == "telephone-event"}
    if not audio or not te_rates or audio[0][1].rate in te_rates:
        return []
    first = audio[0][1]
    return [Finding("warning", "telephone-event-rate",
                    f"telephone-event offered at {','.join(map(str, sorted(te_rates)))} Hz but "
                    f"the first codec {first} runs at {first.rate} Hz; RFC 4733 2.1 wants the "
                    "events on the audio codec's clock, so DTMF may be lost or mistimed",
                    f"also offer telephone-event/{first.rate}", where)]


def _check_srtp(m: Media, where: str) -> list[Finding]:
    savp = "SAVP" in m.proto.upper()
    if m.crypto and not savp:
        return [Finding("warning", "crypto-in-avp",
                        f"a=crypto in {m.proto}: SDES keys belong to RTP/SAVP (RFC 4568 3.1.4); "
                        "FreeSWITCH refuses it ('a=crypto in RTP/AVP, refer to rfc3711')",
                        "send RTP/SAVP, or allow crypto in AVP on the receiver", where)]
    if savp and not m.crypto and not m.attribute("fingerprint"):
        return [Finding("error", "savp-without-keys",
                        f"{m.proto} without a=crypto or a=fingerprint: no SRTP keys to use",
                        "add a=crypto (SDES) or DTLS-SRTP, or offer RTP/AVP", where)]
    return []


def _check_ptime(m: Media, where: str) -> list[Finding]:
    out = []
    if m.ptime and m.maxptime and m.ptime > m.maxptime:
        out.append(Finding("warning", "ptime-over-maxptime",
                           f"a=ptime:{m.ptime:g} exceeds a=maxptime:{m.maxptime:g} (RFC 4566 6)",
                           "lower ptime or raise maxptime", where))
    audio = _audio_codecs(m)
    if m.ptime and audio:
        frame = _FRAME_MS.get(audio[0][1].name.lower())
        if frame and m.ptime % frame:
            out.append(Finding("warning", "ptime-not-frame-multiple",
                               f"a=ptime:{m.ptime:g} is not a multiple of {audio[0][1].name}'s "
                               f"{frame} ms frame", f"use a multiple of {frame} ms", where))
    return out


def check_answer(offer: SessionDescription, answer: SessionDescription,
                 where: str = "") -> list[Finding]:
    """RFC 3264 section 6 rules for an answer, plus RFC 4867 8.3.1 for AMR/AMR-WB.

    Parameters
    ----------
    offer, answer : SessionDescription
        From :func:`parse_sdp`.
    where : str
        Where the answer was seen, copied into the findings.

    Returns
    -------
    list of Finding

    References
    ----------
    RFC 3264 section 6; RFC 4867 section 8.3.1.

    Examples
    --------
    >>> from labkit.capture.frames import sdp_body
    >>> offer = parse_sdp(sdp_body("10.0.0.1", 4000, [97], attributes=["a=rtpmap:97 AMR/8000",
    ...                                                           "a=fmtp:97 octet-align=1"]))
    >>> answer = parse_sdp(sdp_body("10.0.0.2", 5000, [97], attributes=["a=rtpmap:97 AMR/8000"]))
    >>> [f.code for f in check_answer(offer, answer)]   # octet-align=1 answered without it
    ['amr-octet-align']
    """
    if len(answer.media) != len(offer.media):
        return [Finding("error", "rfc3264-mline-count",
                        f"answer has {len(answer.media)} m= lines, the offer {len(offer.media)}; "
                        "RFC 3264 6 requires the same number, in the same order",
                        "answer every offered m= line (port 0 to reject one)", where)]
    out = []
    for o, a in zip(offer.media, answer.media):
        w = f"{where}, m= line {o.index + 1}".lstrip(", ")
        if o.kind != a.kind:
            out.append(Finding("error", "rfc3264-mline-order",
                               f"answer m= line {o.index + 1} is {a.kind}, the offer's is {o.kind}",
                               "keep the offer's m= order (RFC 3264 6)", w))
            continue
        out += _answer_media(o, a, w)
    if offer.media and all(a.port == 0 for a in answer.media):
        out.append(Finding("error", "all-streams-rejected",
                           "the answer rejects every stream (port 0)", "", where))
    return out


def _answer_media(o: Media, a: Media, where: str) -> list[Finding]:
    if a.port == 0:
        return [Finding("info", "stream-rejected", f"{o.kind} stream rejected (port 0 in the "
                        "answer, RFC 3264 6)", "", where)]
    out = []
    if o.proto.upper() != a.proto.upper():
        out.append(Finding("error", "rfc3264-transport",
                           f"answer uses {a.proto}, the offer {o.proto} (RFC 3264 6: same "
                           "transport); SRTP mismatch if one is SAVP", "answer with the "
                           "offered transport", where))
    out += _answer_codecs(o, a, where) + _answer_direction(o, a, where)
    return out


def _offered_pt(o: Media, pt, c: Codec):
    """The offer's payload type this answer entry refers to: the same PT when it carries
    the same codec (RFC 3264 6.1), else the first offered PT with that name and rate."""
    same = o.codec(pt) if pt in o.formats else None
    if same is not None and (same.name.lower(), same.rate) == (c.name.lower(), c.rate):
        return pt
    return next((opt for opt, oc in o.codecs.items()
                 if oc and (oc.name.lower(), oc.rate) == (c.name.lower(), c.rate)), None)


def _answer_codecs(o: Media, a: Media, where: str) -> list[Finding]:
    out = []
    for pt, c in a.codecs.items():
        if c is None:
            continue
        opt = _offered_pt(o, pt, c)
        if opt is None:
            out.append(Finding("error", "rfc3264-codec-not-offered",
                               f"answer lists {c} (PT {pt}) which the offer did not offer "
                               "(RFC 3264 6.1)", "answer only with offered codecs", where))
            continue
        if opt != pt and isinstance(pt, int) and pt >= 96:
            out.append(Finding("info", "rfc3264-pt-renumbered",
                               f"answer uses PT {pt} for {c}, the offer PT {opt} "
                               "(allowed, but RFC 3264 6.1 recommends the same number)", "", where))
        if c.name.lower() in ("amr", "amr-wb"):
            out += check_amr_fmtp(o.fmtp.get(opt, ""), a.fmtp.get(pt, ""), str(c), where)
    return out


_ANSWER_DIRECTIONS = {"sendonly": ("recvonly", "inactive"), "recvonly": ("sendonly", "inactive"),
                      "inactive": ("inactive",)}


def _answer_direction(o: Media, a: Media, where: str) -> list[Finding]:
    allowed = _ANSWER_DIRECTIONS.get(o.direction)
    if allowed and a.direction not in allowed:
        return [Finding("error", "rfc3264-direction",
                        f"offer is {o.direction}, answer {a.direction}; RFC 3264 6.1 allows "
                        f"only {' or '.join(allowed)}", f"answer {allowed[0]}", where)]
    return []


def check_amr_fmtp(offer_fmtp: str, answer_fmtp: str, codec: str = "AMR",
                   where: str = "") -> list[Finding]:
    """RFC 4867 8.3.1: octet-align, crc, robust-sorting, interleaving must be the same in
    offer and answer (absent = 0 = bandwidth-efficient, 8.1); the answer's mode-set must
    be a subset of the offer's.

    Parameters
    ----------
    offer_fmtp, answer_fmtp : str
        The ``a=fmtp`` parameters of the AMR payload type in offer and answer.
    codec : str
        "AMR" or "AMR-WB" (for the messages).
    where : str
        Copied into the findings.

    Returns
    -------
    list of Finding

    References
    ----------
    RFC 4867 sections 8.1 and 8.3.1.

    Examples
    --------
    >>> [f.code for f in check_amr_fmtp("octet-align=1", "")]
    ['amr-octet-align']
    >>> check_amr_fmtp("mode-set=0,2,4,7", "mode-set=2")
    []
    """
    o, a = fmtp_params(offer_fmtp), fmtp_params(answer_fmtp)
    out = []
    for name in _AMR_PAYLOAD_PARAMS:
        ov, av = o.get(name, "0") or "0", a.get(name, "0") or "0"
        if ov != av:
            out.append(Finding("error", f"amr-{name}",
                               f"{codec} {name}={ov} in the offer but {name}={av} in the answer: "
                               "a different payload format (RFC 4867 8.3.1), so the two sides "
                               "cannot decode each other", f"echo {name}={ov} or reject the "
                               "payload type", where))
    out += _mode_set(o, a, codec, where)
    return out


def _mode_set(o: dict, a: dict, codec: str, where: str) -> list[Finding]:
    if "mode-set" not in o or "mode-set" not in a:
        return []
    om, am = set(o["mode-set"].split(",")), set(a["mode-set"].split(","))
    if am <= om:
        return []
    return [Finding("error", "amr-mode-set",
                    f"{codec} answer mode-set={a['mode-set']} is not a subset of the offer's "
                    f"mode-set={o['mode-set']} (RFC 4867 8.3.1)", "answer a subset of the "
                    "offered modes", where)]


def compare_offers(first: SessionDescription, second: SessionDescription,
                   where: str = "") -> list[Finding]:
    """What changed between two copies of one offer (e.g. before/after a proxy):
    codecs added/removed, fmtp rewritten (AMR octet-align dropped = bandwidth-efficient).

    Parameters
    ----------
    first, second : SessionDescription
        The same offer as sent and as received.
    where : str
        Copied into the findings.

    Returns
    -------
    list of Finding

    References
    ----------
    RFC 3264 section 5 (an offer is the offerer's, not a proxy's, to change); RFC 4867
    section 8.1.

    Examples
    --------
    >>> from labkit.capture.frames import sdp_body
    >>> offer = parse_sdp(sdp_body("10.0.0.1", 4000, [97], attributes=["a=rtpmap:97 AMR/8000",
    ...                                                           "a=fmtp:97 octet-align=1"]))
    >>> answer = parse_sdp(sdp_body("10.0.0.2", 5000, [97], attributes=["a=rtpmap:97 AMR/8000"]))
    >>> [f.code for f in compare_offers(offer, answer)]
    ['offer-fmtp-rewritten']
    """
    out = []
    for f, s in zip(first.media, second.media):
        fc = {(c.name.lower(), c.rate): (pt, f.fmtp.get(pt, "")) for pt, c in f.codecs.items() if c}
        sc = {(c.name.lower(), c.rate): (pt, s.fmtp.get(pt, "")) for pt, c in s.codecs.items() if c}
        for key in fc.keys() - sc.keys():
            out.append(Finding("warning", "offer-codec-removed",
                               f"{key[0]}/{key[1]} removed from the offer in transit", "", where))
        for key in fc.keys() & sc.keys():
            if fmtp_params(fc[key][1]) != fmtp_params(sc[key][1]):
                out.append(_fmtp_changed(key, fc[key][1], sc[key][1], where))
    return out


def _fmtp_changed(key, before: str, after: str, where: str) -> Finding:
    name = key[0].upper()
    note = ""
    if key[0] in ("amr", "amr-wb") and (fmtp_params(before).get("octet-align", "0") !=
                                        fmtp_params(after).get("octet-align", "0")):
        note = (f"; octet-align {fmtp_params(before).get('octet-align', '0')} -> "
                f"{fmtp_params(after).get('octet-align', '0')} changes the payload format "
                "(no fmtp = bandwidth-efficient, RFC 4867 8.1)")
    return Finding("error" if note else "warning", "offer-fmtp-rewritten",
                   f"{name} fmtp rewritten in transit: {before or '(none)'!r} -> "
                   f"{after or '(none)'!r}{note}",
                   "stop the proxy from editing a=fmtp (e.g. kamailio subst_body/sdp_* rules)",
                   where)
