"""Was there ringback? Per call and per direction: capture -> RTP -> AMR -> PCM -> verdict.

The chain, each step a labkit module:

1. :func:`labkit.capture.read_capture` finds the UDP datagrams (any link type, VLAN,
   GTP-U, IPv6, pcap or pcapng).
2. :mod:`labkit.rtp` finds the RTP streams (from SDP and by the UDP heuristic).
3. Each stream's codec: from the SDP of the call when the capture has it (``a=rtpmap``
   name, ``a=fmtp`` ``octet-align``), else by :func:`labkit.amr.detect_amr_format`
   (payload structure). EVS is reported as such: it cannot be decoded here.
4. :func:`labkit.amr.amr_storage_from_rtp` builds a real-time storage file (gaps become
   NO_DATA), :func:`labkit.audio.decode_storage` decodes it with OpenCORE,
   :func:`labkit.audio.tones.detect_ringback` gives the verdict. G.711 streams (PCMA/PCMU,
   e.g. a ringback played as early media by a media server) are decoded too, placed
   on their RTP timestamps; other codecs are listed but not decoded.
5. With SIP in the capture, the caller is party A; audio before the 200 OK of the
   INVITE (phase "early media", typically after a 183 with SDP) is judged separately
   from the audio after it (phase "after answer"). A ringback tone belongs before the
   answer: a tone heard after the 200 OK is its own finding, :data:`TONE_AFTER_ANSWER`
   (the call is answered and charged while the caller still hears "ringing"); the doctor
   check in :mod:`labkit.audio.checks` reports the same :attr:`StreamAudio.finding`.

Times are seconds since the first frame of the capture (Wireshark's time origin).
A damaged or non-AMR stream is reported with a note and a :class:`LabkitWarning`; the
other directions are still processed.
"""
from __future__ import annotations

import dataclasses

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labkit import amr
from labkit.audio import pcm as audio
from labkit.audio import tones
from labkit.errors import LabkitError, LabkitWarning

__all__ = ["StreamAudio", "RingbackReport", "call_timeline", "call_timelines", "audio_streams",
           "analyze_ringback", "export_direction", "EVS_NOTE", "PHASES", "TONE_AFTER_ANSWER",
           "RINGBACK_EARLY_MEDIA", "tone_finding"]

EVS_NOTE = "EVS, cannot decode here"
_AMR = ("AMR", "AMR-WB")
_G711 = ("PCMA", "PCMU")

#: Phases of a stream: before the 200 OK, after it, or no SIP to tell.
PHASES = ("early media", "after answer", "whole stream")
TONE_AFTER_ANSWER = "tone after answer"
RINGBACK_EARLY_MEDIA = "ringback as early media"


def tone_finding(phase: str, verdict: str) -> str:
    """What a tone verdict means in its phase: the one rule for notebook, CLI and doctor.

    Parameters
    ----------
    phase : str
        One of :data:`PHASES`.
    verdict : str
        The detector's verdict (:class:`labkit.audio.tones.RingbackResult`).

    Returns
    -------
    str
        :data:`RINGBACK_EARLY_MEDIA` for a ringback before the 200 OK,
        :data:`TONE_AFTER_ANSWER` for a ringback-like or other tone after it, else "".

    References
    ----------
    RFC 3960 section 2 (ringback is early media: before the final response); RFC 3261
    section 13.2.2.4 (the 2xx establishes the session); 3GPP TS 24.628 clause 4.2.

    Examples
    --------
    >>> tone_finding("after answer", "ringback")
    'tone after answer'
    >>> tone_finding("early media", "ringback")
    'ringback as early media'
    >>> tone_finding("after answer", "speech")
    ''
    """
    if verdict not in ("ringback", "tone"):
        return ""
    if phase == "after answer":
        return TONE_AFTER_ANSWER
    return RINGBACK_EARLY_MEDIA if phase == "early media" and verdict == "ringback" else ""


@dataclass(frozen=True)
class StreamAudio:
    """One direction (or one phase of it) decoded and judged.

    Attributes
    ----------
    stream : int
        Stream id (row of :func:`amr_streams`).
    direction : str
        "A->B", "B->A" (A = caller when SIP is present, else the first stream's sender).
    phase : str
        "early media" (before the 200 OK), "after answer" (after it) or "whole stream"
        (no SIP in the capture to tell).
    t0 : float
        Capture time of the first sample [s].
    codec : str
        "AMR", "AMR-WB", "EVS", or another name / "unknown".
    audio : DecodedAudio or None
        PCM of this phase (None when not decoded).
    extract : AmrExtract or None
        The whole stream's storage file and frame statistics.
    frames : DataFrame or None
        :func:`labkit.audio.classify_frames` of this phase.
    result : RingbackResult or None
    note : str
        Why nothing was decoded, or what was skipped.
    """

    stream: int
    direction: str
    phase: str
    t0: float
    codec: str
    audio: audio.DecodedAudio | None = None
    extract: amr.AmrExtract | None = None
    frames: pd.DataFrame | None = None
    result: tones.RingbackResult | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        """The verdict, or the note when nothing could be decoded."""
        return self.result.verdict if self.result is not None else self.note

    @property
    def finding(self) -> str:
        """:func:`tone_finding` of this phase and verdict ("tone after answer", ...)."""
        return tone_finding(self.phase, self.verdict)

    @property
    def summary(self) -> str:
        """``"B->A (early media): ringback tone present, Europe 425 Hz 1.0/4.0 s, ..."``
        with times in seconds since the first frame of the capture; a tone after the
        200 OK is named as such first."""
        what = self.result.describe(self.t0) if self.result is not None else self.note
        if self.finding == TONE_AFTER_ANSWER:
            what = f"TONE AFTER ANSWER (not ringback: the 200 OK came first): {what}"
        return f"{self.direction} ({self.phase}): {what}"


@dataclass(frozen=True)
class RingbackReport:
    """Everything :func:`analyze_ringback` found in one capture.

    Attributes
    ----------
    path : str
    streams : DataFrame
        The stream table (:func:`amr_streams`).
    directions : tuple of StreamAudio
        One entry per analysed stream and phase, sorted by direction then time.
    timeline : dict
        SIP times [s] of the first call: invite, progress (first 18x with SDP), answer
        (200 OK), or empty.
    warnings : tuple of str
    calls : tuple of dict
        Every INVITE dialog (:func:`call_timelines`); each stream is split into early
        media / call by its own dialog's 200 OK.
    """

    path: str
    streams: pd.DataFrame
    directions: tuple
    timeline: dict = field(default_factory=dict)
    warnings: tuple = ()
    calls: tuple = ()

    def verdicts(self) -> pd.DataFrame:
        """One row per direction and phase: the table ``labkit ringback`` prints.

        ``level`` is the tone level [dBFS], ``level_dbm0`` the same in dBm0
        (:func:`labkit.audio.tones.dbfs_to_dbm0`: mu-law for PCMU, else A-law);
        ``finding`` is :func:`tone_finding` of the phase and verdict."""
        rows = [_verdict_row(d, self.streams) for d in self.directions]
        return pd.DataFrame(rows, columns=_VERDICT_COLUMNS)

    def answer(self) -> str:
        """One line per direction and phase, for people (the stream id is added where
        several streams share a direction, e.g. both legs of a relay)."""
        keys = [(d.direction, d.phase) for d in self.directions]
        lines = []
        for d, key in zip(self.directions, keys):
            tag = f" [stream {d.stream}]" if keys.count(key) > 1 else ""
            lines.append(f"Direction {d.summary}{tag}")
        return "\n".join(lines) or "no RTP stream found"


_VERDICT_COLUMNS = ["stream", "direction", "phase", "codec", "ssrc", "verdict", "finding", "plan",
                    "frequencies", "cadence", "level", "level_dbm0", "start", "end", "note"]


def _verdict_row(d: StreamAudio, streams: pd.DataFrame) -> dict:
    r = d.result
    ssrc = streams.loc[streams["stream"] == d.stream, "ssrc"]
    row = {"stream": d.stream, "direction": d.direction, "phase": d.phase, "codec": d.codec,
           "ssrc": ssrc.iloc[0] if len(ssrc) else "", "verdict": d.verdict,
           "finding": d.finding, "plan": "",
           "frequencies": "", "cadence": "", "level": np.nan, "level_dbm0": np.nan,
           "start": round(d.t0, 2),
           "end": np.nan, "note": d.note}
    if r is None:
        return row
    row["end"] = round(d.t0 + r.duration, 2)
    if r.verdict in ("ringback", "tone"):
        row.update(plan=r.plan.name if r.plan else "",
                   frequencies="+".join(f"{f:.0f}" for f in r.frequencies),
                   cadence="/".join(f"{c:.2f}" for c in r.cadence), level=r.level,
                   level_dbm0=tones.dbfs_to_dbm0(r.level, "mu" if d.codec == "PCMU" else "A"),
                   start=round(d.t0 + r.time_range[0], 2), end=round(d.t0 + r.time_range[1], 2))
    return row


# --------------------------------------------------------------------------- SIP timeline

def call_timelines(packets) -> list[dict]:
    """Times [s] and parties of every INVITE dialog in the capture, in time order.

    Returns
    -------
    list of dict
        Per Call-ID with an INVITE: ``invite``, ``progress`` (first 18x to the INVITE
        carrying SDP, else first 18x), ``answer`` (first 2xx to the INVITE) [s since
        the first frame], ``caller`` / ``callee`` (IP of the INVITE's sender /
        receiver), ``call_id``. Empty without SIP.
    """
    try:
        from labkit import sip
        table = sip.call_progress(packets)
    except Exception as exc:  # no SIP layer or unparseable signalling: judge without it
        warnings.warn(f"SIP not analysed ({exc}); early media not separated", LabkitWarning,
                      stacklevel=2)
        return []
    return [_timeline(r) for r in table.itertuples()]


def call_timeline(packets) -> dict:
    """The first INVITE dialog of :func:`call_timelines` (empty dict without SIP)."""
    calls = call_timelines(packets)
    return calls[0] if calls else {}


def _timeline(r) -> dict:
    """A :func:`labkit.sip.call_progress` row as the dict :func:`call_timelines` gives."""
    out = {"invite": r.invite_time, "caller": _ip(r.caller), "callee": _ip(r.callee),
           "call_id": r.call_id}
    if r.progress_time == r.progress_time and r.progress_time is not None:
        out["progress"] = r.progress_time
    if r.answer_time == r.answer_time and r.answer_time is not None:
        out["answer"] = r.answer_time
    return out


def _call_of(raw: "_RawStream", calls: list[dict], sdp_rows) -> dict:
    """The dialog a stream belongs to: one whose SDP names one of the stream's ends,
    else any; among those, the latest INVITE sent before the stream started."""
    if len(calls) <= 1:
        return calls[0] if calls else {}
    ends = {(raw.src, raw.sport), (raw.dst, raw.dport)}
    hits = [c for c in calls if ends & set().union(*_media_ends(sdp_rows, c))]
    pool = hits or calls
    t = float(raw.time.min()) if len(raw.time) else 0.0
    before = [c for c in pool if c["invite"] <= t + 0.5]
    return (before or pool)[-1]


def _ip(addr) -> str:
    """IP part of "ip:port", "[v6]:port" or a bare address."""
    s = str(addr)
    if s.startswith("["):
        return s[1:s.index("]")]
    return s.rsplit(":", 1)[0] if s.count(":") == 1 else s


# --------------------------------------------------------------------------- streams

@dataclass(frozen=True)
class _RawStream:
    """One RTP stream's packets in arrival order (internal)."""

    stream: int
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int
    pt: int
    seq: np.ndarray
    timestamp: np.ndarray
    time: np.ndarray          # [s] since the capture's first frame
    payloads: list
    lost: int = 0
    codec_hint: str = ""      # codec name the RTP layer got from SDP, if any


def _codec_of(raw: _RawStream, sdp_rows: pd.DataFrame | None, override=None) -> tuple[str, bool, str]:
    """(codec, octet_aligned, source) of a stream: override, SDP, or payload heuristic.

    The SDP m-line whose (address, port) is the stream's destination (the receiver's
    offer/answer) or source gives the ``a=rtpmap`` name and the ``octet-align`` fmtp
    (RFC 4867 section 8.1; absent = bandwidth-efficient).
    """
    pick = min(len(raw.payloads), 400) if override is not None else len(raw.payloads)
    codec, oa, source, _ = amr.identify_codec(raw.pt, raw.payloads[:pick], raw.timestamp[:pick],
                                              sdp=_sdp_match(raw, sdp_rows), override=override)
    return codec, oa, source


def _sdp_match(raw: _RawStream, sdp_rows: pd.DataFrame | None):
    """(codec name, fmtp) for the stream's PT from the SDP announcing its address/port."""
    if sdp_rows is None or len(sdp_rows) == 0:
        return None
    for addr, port in ((raw.dst, raw.dport), (raw.src, raw.sport)):
        rows = sdp_rows[(sdp_rows["address"] == addr) & (sdp_rows["port"] == port)]
        for _, row in rows.iloc[::-1].iterrows():   # latest offer/answer wins
            codecs = row["codecs"] if isinstance(row["codecs"], dict) else {}
            if raw.pt in codecs:
                fmtp = (row["fmtp"] or {}).get(raw.pt) if isinstance(row["fmtp"], dict) else None
                return codecs[raw.pt][0], fmtp
    return None


def _media_ends(sdp_rows: pd.DataFrame | None, timeline: dict) -> tuple[set, set]:
    """(A's, B's) media (address, port) from the SDP of the INVITE dialog: the INVITE's
    m-lines are A's, those of the responses to it are B's."""
    if sdp_rows is None or len(sdp_rows) == 0 or "call_id" not in timeline:
        return set(), set()
    rows = sdp_rows[(sdp_rows["call_id"] == timeline["call_id"])
                    & (sdp_rows["cseq_method"] == "INVITE")]
    ends = {True: set(), False: set()}
    for _, row in rows.iterrows():
        ends[row["message"] == "INVITE"].add((str(row["address"]), int(row["port"])))
    return ends[True], ends[False]


def _direction_of(raw: "_RawStream", call: dict, sdp_rows, first_src: str) -> str:
    """"A->B" / "B->A". A = the caller: the stream is A's when it comes from (or goes
    to) a media address of the INVITE's SDP (of the answer's SDP), else when its source
    IP is the INVITE's sender. Without SIP, A is the first stream's sender."""
    media_a, media_b = _media_ends(sdp_rows, call)
    src, dst = (raw.src, raw.sport), (raw.dst, raw.dport)
    if src in media_a or dst in media_b:
        return "A->B"
    if src in media_b or dst in media_a:
        return "B->A"
    a_ip = call.get("caller", first_src)
    return "A->B" if raw.src == a_ip else ("B->A" if raw.dst == a_ip else f"{raw.src}->{raw.dst}")


def _directions(raws: list["_RawStream"], calls: list[dict], sdp_rows=None) -> dict[int, str]:
    """Direction of every stream (:func:`_direction_of`, each with its own dialog)."""
    if not raws:
        return {}
    first = min(raws, key=lambda r: (float(r.time[0]) if len(r.time) else 0.0, r.stream))
    return {r.stream: _direction_of(r, _call_of(r, calls, sdp_rows), sdp_rows, first.src)
            for r in raws}


def _frame_types(raw: _RawStream, wideband: bool, oa: bool, limit: int = 2000) -> list[int]:
    """Frame types of the first `limit` payloads that depacketize (RFC 4867 ToC)."""
    out = []
    for p in raw.payloads[:limit]:
        try:
            out += [f.ft for f in amr.depacketize_amr(p, wideband=wideband, octet_aligned=oa).frames]
        except LabkitError:
            continue
    return out


def _mode_label(ft, wideband: bool) -> str:
    """Bit rate(s) of the speech frames: "23.85", "4.75-12.2 (mixed)" or ""."""
    table = amr.WB_MODES_KBPS if wideband else amr.NB_MODES_KBPS
    modes = sorted({int(f) for f in ft if 0 <= f < len(table)})
    if len(ft) == 0:
        return ""
    if not modes:
        return "SID/NO_DATA only"
    if len(modes) == 1:
        return f"{table[modes[0]]:g}"
    return f"{table[modes[0]]:g}-{table[modes[-1]]:g} (mixed)"


# --------------------------------------------------------------------------- analysis

_MIN_PHASE_S = 0.5   # [s] a phase shorter than this is merged into the other one


def _phases(t0: float, nframes: int, timeline: dict) -> list[tuple[str, int, int]]:
    """(phase, first frame, end frame) pieces of a stream starting at capture time t0."""
    if not timeline:
        return [("whole stream", 0, nframes)]
    answer = timeline.get("answer")
    if answer is None:
        return [("early media", 0, nframes)]
    cut = int(round((answer - t0) / tones.FRAME_S))
    min_frames = int(_MIN_PHASE_S / tones.FRAME_S)
    if cut < min_frames:
        return [("after answer", 0, nframes)]
    if cut > nframes - min_frames:
        return [("early media", 0, nframes)]
    return [("early media", 0, cut), ("after answer", cut, nframes)]


def _judge(decoded: audio.DecodedAudio, extract: amr.AmrExtract, a: int, b: int, plans):
    """(audio slice, frame table, verdict) of frames [a, b) of a decoded stream."""
    spf = decoded.rate // 50
    part = audio.DecodedAudio(decoded.pcm[a * spf:b * spf], decoded.rate, decoded.ft[a:b],
                              decoded.wideband)
    frames = audio.classify_frames(part.pcm, part.rate, part.ft, extract.kind[a:b])
    result = tones.detect_ringback(part.pcm, part.rate, plans=plans, ft=part.ft,
                                   wideband=part.wideband)
    return part, frames, result


def _decode_raw(raw: _RawStream, codec: str, oa: bool, where: str):
    """(extract, decoded, note) of one AMR stream; note explains a failure."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            extract = amr.amr_storage_from_rtp(raw.seq, raw.timestamp, raw.payloads,
                                               wideband=codec == "AMR-WB", octet_aligned=oa,
                                               time_ns=(raw.time * 1e9).astype(np.int64),
                                               where=where)
        for w in caught:
            warnings.warn(str(w.message), LabkitWarning, stacklevel=3)
    except LabkitError as exc:
        warnings.warn(f"{where}: not decoded: {exc}", LabkitWarning, stacklevel=3)
        return None, None, f"not {codec}: {exc.what}"
    note = f"{extract.damaged} damaged payload(s) skipped" if extract.damaged else ""
    if extract.damaged:
        warnings.warn(f"{where}: {note}", LabkitWarning, stacklevel=3)
    return extract, audio.decode_storage(extract.data), note


def _start_time(raw: _RawStream, codec: str, oa: bool) -> float:
    """Capture time [s] of the stream's first audio frame: the first packet's arrival,
    less 20 ms per further frame in it (a packet leaves once its last frame is
    complete), so that streams with 1 or 3 frames per packet line up."""
    if not len(raw.time):
        return 0.0
    i = int(np.argmin(raw.time))
    try:
        n = len(amr.depacketize_amr(raw.payloads[i], wideband=codec == "AMR-WB",
                                    octet_aligned=oa).frames)
    except LabkitError:
        n = 1
    return round(float(raw.time[i]) - (n - 1) * tones.FRAME_S, 6)


def _g711_audio(raw: _RawStream, codec: str) -> tuple[audio.DecodedAudio, np.ndarray]:
    """Real-time PCM of a G.711 stream and per-frame kind (:func:`labkit.audio.g711_from_rtp`)."""
    pcm, kind = audio.g711_from_rtp(raw.timestamp, raw.payloads, codec)
    return audio.DecodedAudio(pcm, 8000, np.full(kind.size, -1, np.int8), False), kind


def _judge_pcm(decoded: audio.DecodedAudio, kind: np.ndarray, a: int, b: int, plans):
    """As :func:`_judge` for PCM without AMR frame types (G.711)."""
    part = audio.DecodedAudio(decoded.pcm[a * 160:b * 160], 8000, decoded.ft[a:b], False)
    frames = audio.classify_frames(part.pcm, 8000, None, kind[a:b])
    return part, frames, tones.detect_ringback(part.pcm, 8000, plans=plans)


def _analyze_raw(raw: _RawStream, codec: str, oa: bool, direction: str, timeline: dict,
                 plans, where: str) -> tuple[amr.AmrExtract | None, list[StreamAudio]]:
    t0 = _start_time(raw, codec, oa) if codec in _AMR else (
        float(raw.time.min()) if len(raw.time) else 0.0)
    if codec == "EVS":
        return None, [StreamAudio(raw.stream, direction, "whole stream", t0, codec,
                                  note=EVS_NOTE)]
    if codec in _G711:
        decoded, kind = _g711_audio(raw, codec)
        return None, [StreamAudio(raw.stream, direction, phase, round(t0 + a * tones.FRAME_S, 3),
                                  codec, *_reorder(_judge_pcm(decoded, kind, a, b, plans)))
                      for phase, a, b in _phases(t0, kind.size, timeline)]
    if codec not in _AMR:
        return None, [StreamAudio(raw.stream, direction, "whole stream", t0, codec,
                                  note=f"{codec}: not decoded here (AMR, AMR-WB, G.711 are)")]
    extract, decoded, note = _decode_raw(raw, codec, oa, where)
    if decoded is None:
        return None, [StreamAudio(raw.stream, direction, "whole stream", t0, codec, note=note)]
    out = []
    for phase, a, b in _phases(t0, extract.frames_total, timeline):
        part, frames, result = _judge(decoded, extract, a, b, plans)
        out.append(StreamAudio(raw.stream, direction, phase, round(t0 + a * tones.FRAME_S, 3),
                               codec, part, extract, frames, result, note))
    return extract, out


def _reorder(judged):
    """(part, frames, result) -> the StreamAudio fields audio, extract, frames, result."""
    part, frames, result = judged
    return part, None, frames, result


# --------------------------------------------------------------------------- capture level

def _sdp_rows(packets) -> pd.DataFrame | None:
    try:
        from labkit import sip
        return sip.sdp_media(packets)
    except Exception as exc:  # unparseable signalling must not stop the audio analysis
        warnings.warn(f"SDP not analysed ({exc}); codecs found from payloads",
                      LabkitWarning, stacklevel=3)
        return None


def _raw_streams(packets, sdp_rows, until=None) -> list[_RawStream]:
    """Every RTP stream (labkit.rtp, Wireshark 4.0 rules), its main payload type only.

    `until(first_s) -> end_s`: keep only packets up to that time [s] (payloads of the
    rest are never sliced out of the capture)."""
    from labkit import rtp as rtpmod
    r = rtpmod.find_rtp(packets, sdp=sdp_rows)
    table = rtpmod.rtp_streams(r).set_index("stream")
    origin = packets.first_time_ns
    out = []
    for s in range(r.n_streams):
        idx = np.flatnonzero(r.stream == s)
        if until is not None and len(idx):
            t = (r.time_ns[idx].astype(np.int64) - np.int64(origin)) / 1e9
            inside = np.flatnonzero(t <= until(float(t[0])))
            idx = idx[:int(inside[-1]) + 1 if len(inside) else 1]
        pts, counts = np.unique(r.pt[idx], return_counts=True)
        main = int(pts[np.argmax(counts)])
        keep = r.pt[idx] == main
        payloads = [p for p, k in zip(rtpmod.stream_payloads(r, s, limit=len(idx)), keep) if k]
        idx = idx[keep]
        row = table.loc[s]
        out.append(_RawStream(
            s, str(row["src"]), int(row["sport"]), str(row["dst"]), int(row["dport"]),
            int(row["ssrc"]), main, r.seq[idx].astype(np.int64),
            r.timestamp[idx].astype(np.int64),
            (r.time_ns[idx].astype(np.int64) - np.int64(origin)) / 1e9, payloads,
            int(row["lost"]), str(row["codec"])))
    return out


def _select(raws: list[_RawStream], stream) -> list[_RawStream]:
    """Streams chosen by id, SSRC, or a list of them (None: all)."""
    if stream is None:
        return raws
    wanted = stream if isinstance(stream, (list, tuple, set)) else [stream]
    out = []
    for w in wanted:
        hit = [r for r in raws if r.stream == int(w)] or [r for r in raws if r.ssrc == int(w)]
        if not hit:
            raise LabkitError(f"no RTP stream {w!r}", None,
                              f"use a stream id 0..{len(raws) - 1} or an SSRC from the table")
        out += [h for h in hit if h not in out]
    return out


def _stream_row(raw, codec, oa, source, direction, extract) -> dict:
    wb = codec == "AMR-WB"
    if codec in _AMR:
        fmt = "octet-aligned" if oa else "bandwidth-efficient"
    else:
        fmt = ""
    a_side = direction.startswith("A")
    party = (f"A {raw.src}:{raw.sport} -> B {raw.dst}:{raw.dport}" if a_side else
             f"B {raw.src}:{raw.sport} -> A {raw.dst}:{raw.dport}")
    return {"stream": raw.stream, "direction": direction, "party": party,
            "ssrc": f"0x{raw.ssrc:08X}", "pt": raw.pt, "codec": codec, "format": fmt,
            "codec_from": source,
            "mode": _mode_label(extract.ft if extract is not None else
                                _frame_types(raw, wb, oa), wb) if codec in _AMR else "",
            "packets": len(raw.payloads), "lost": raw.lost,
            "start": round(float(raw.time.min()), 3) if len(raw.time) else np.nan,
            "end": round(float(raw.time.max()), 3) if len(raw.time) else np.nan}


_STREAM_COLUMNS = ["stream", "direction", "party", "ssrc", "pt", "codec", "format",
                   "codec_from", "mode", "packets", "lost", "start", "end"]


def audio_streams(capture, *, codecs: dict | None = None) -> pd.DataFrame:
    """The stream table: one row per RTP stream with its codec and AMR mode.

    Parameters
    ----------
    capture : path or Packets
    codecs : dict, optional
        ``{stream id: "AMR-WB"}`` or ``{stream id: ("AMR", True)}`` (octet-aligned)
        to override SDP and the heuristic.

    Returns
    -------
    pandas.DataFrame
        stream, direction ("A->B"/"B->A"), party, ssrc ("0x..."), pt, codec, format
        ("bandwidth-efficient"/"octet-aligned"), codec_from ("SDP", "heuristic (score)",
        "given"), mode [kbit/s], packets, lost (Wireshark 4.0), start, end [s].
    """
    return analyze_ringback(capture, codecs=codecs, decode=False).streams


def analyze_ringback(capture, *, stream=None, codecs: dict | None = None, plans=None,
                     decode: bool = True, seconds: float | None = None) -> RingbackReport:
    """Decode and judge every AMR direction of a capture (module docstring).

    Parameters
    ----------
    capture : path or Packets
        pcap/pcapng file, or :func:`labkit.capture.read_capture` output.
    stream : int or list of int, optional
        Stream ids or SSRCs to analyse (default: all).
    codecs : dict, optional
        Codec overrides per stream id (see :func:`amr_streams`).
    plans : list of str, optional
        Tone plans to try (default: every plan of :data:`labkit.audio.tones.TONE_PLANS`).
    decode : bool
        False: only build the stream table (faster).
    seconds : float, optional
        Judge only the audio up to `seconds` [s] after the call's answer (after the
        stream's first packet when unanswered or without SIP): enough for the ringback
        phase and a tone after answer, not the whole conversation (``labkit doctor``
        uses 30 s; the report's stream table then covers the packets judged). Default:
        the whole stream.

    Returns
    -------
    RingbackReport
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = _analyze(capture, stream, codecs or {}, plans, decode, seconds)
    for w in caught:
        warnings.warn(w.message, w.category if issubclass(w.category, Warning) else
                      LabkitWarning, stacklevel=2)
    return RingbackReport(report.path, report.streams, report.directions, report.timeline,
                          tuple(str(w.message) for w in caught), report.calls)


def _window(raw: _RawStream, timeline: dict, seconds: float | None) -> _RawStream:
    """The stream's packets up to `seconds` [s] after the answer (or its first packet)."""
    if seconds is None or not len(raw.time):
        return raw
    start = timeline.get("answer") if timeline else None
    end = (float(raw.time[0]) if start is None else max(float(start), float(raw.time[0]))) + seconds
    inside = np.flatnonzero(raw.time <= end)      # arrival order: times need not be sorted
    n = int(inside[-1]) + 1 if len(inside) else 0
    if n >= len(raw.time):
        return raw
    return dataclasses.replace(raw, seq=raw.seq[:n], timestamp=raw.timestamp[:n],
                               time=raw.time[:n], payloads=raw.payloads[:n])


def _analyze(capture, stream, codecs, plans, decode, seconds=None) -> RingbackReport:
    from labkit.capture import as_packets
    packets = as_packets(capture)
    calls = call_timelines(packets)
    sdp_rows = _sdp_rows(packets)
    until = None
    if seconds is not None:   # no call is judged past its answer + seconds: slice no more
        answers = [c["answer"] for c in calls if c.get("answer") is not None]
        latest = max(answers, default=None)
        until = (lambda first: max(first, latest) + seconds) if latest is not None else \
            (lambda first: first + seconds)
    raws = _raw_streams(packets, sdp_rows, until)
    dirs = _directions(raws, calls, sdp_rows)
    chosen = {r.stream for r in _select(raws, stream)}
    rows, results = [], []
    for raw in raws:
        codec, oa, source = _codec_of(raw, sdp_rows, codecs.get(raw.stream))
        extract = None
        if decode and raw.stream in chosen:
            where = f"{Path(str(getattr(packets, 'path', 'capture'))).name}, stream {raw.stream} " \
                    f"(SSRC 0x{raw.ssrc:08X})"
            call = _call_of(raw, calls, sdp_rows)
            extract, parts = _analyze_raw(_window(raw, call, seconds), codec, oa,
                                          dirs[raw.stream], call, plans, where)
            results += parts
        rows.append(_stream_row(raw, codec, oa, source, dirs[raw.stream], extract))
    table = pd.DataFrame(rows, columns=_STREAM_COLUMNS)
    results.sort(key=lambda d: (d.direction, d.t0, d.stream))
    return RingbackReport(str(getattr(packets, "path", "")), table, tuple(results),
                          calls[0] if calls else {}, calls=tuple(calls))


def export_direction(d: StreamAudio, out_dir, *, stem: str | None = None) -> dict:
    """Write the direction's storage file (.amr / .awb, the whole stream; AMR only) and
    its WAV (this phase) into `out_dir`; returns ``{"storage": path, "wav": path}``."""
    if d.audio is None:
        raise LabkitError(f"stream {d.stream} was not decoded ({d.note})", None,
                          "export only AMR, AMR-WB or G.711 directions")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"stream{d.stream}_{d.direction.replace('->', '2')}"
    files = {}
    if d.extract is not None:
        files["storage"] = out / f"{stem}.{'awb' if d.extract.wideband else 'amr'}"
        files["storage"].write_bytes(d.extract.data)
    files["wav"] = audio.write_wav(out / f"{stem}_{d.phase.replace(' ', '_')}.wav",
                                   d.audio.pcm, d.audio.rate)
    return files
