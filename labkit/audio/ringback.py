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

The same steps one stream at a time (what :func:`analyze_ringback` does for each):
:func:`stream_packets` (one :class:`StreamPackets` per RTP stream), :func:`stream_codec`
(:func:`labkit.amr.identify_codec` on the stream, with its SDP), :func:`stream_call` (its
INVITE dialog of :func:`call_timelines`), :func:`stream_directions` (A->B / B->A),
:func:`stream_phases` (early media / after answer) and :func:`analyze_stream` (decode and
judge: one :class:`StreamAudio` per phase).

Times are seconds since the first frame of the capture (Wireshark's time origin).
A damaged or non-AMR stream is reported with a note and a :class:`LabkitWarning`; the
other directions are still processed.

References
----------
RFC 4867 sections 4 and 5 (AMR / AMR-WB RTP payload and storage format), section 8.1
(``octet-align``); 3GPP TS 26.101 and TS 26.201 (AMR and AMR-WB frame structure, 20 ms
frames); ITU-T G.711 (PCMA/PCMU); ITU-T E.180 and its Supplement 2 (ringing-tone plans,
:mod:`labkit.audio.tones`); RFC 3960 section 2 and RFC 3261 section 13.2.2.4 (early media
before the final response, the 2xx answers the call); 3GPP TS 24.628 clause 4.2.
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

__all__ = ["StreamAudio", "RingbackReport", "StreamPackets", "call_timeline", "call_timelines",
           "audio_streams", "analyze_ringback", "export_direction", "stream_packets",
           "stream_codec", "stream_call", "stream_directions", "stream_phases", "analyze_stream",
           "EVS_NOTE", "PHASES", "TONE_AFTER_ANSWER", "RINGBACK_EARLY_MEDIA", "tone_finding"]

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
        Stream id (row of :func:`audio_streams`).
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
        The stream table (:func:`audio_streams`).
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

    Parameters
    ----------
    packets : path or labkit.capture.Packets
        The capture (:func:`labkit.sip.call_progress` reads its SIP).

    Returns
    -------
    list of dict
        Per Call-ID with an INVITE: ``invite``, ``progress`` (first 18x to the INVITE
        carrying SDP, else first 18x), ``answer`` (first 2xx to the INVITE) [s since
        the first frame], ``caller`` / ``callee`` (IP of the INVITE's sender /
        receiver), ``call_id``. Empty, with a :class:`LabkitWarning`, when the SIP cannot
        be read; empty without SIP.

    References
    ----------
    RFC 3261 sections 13.2.2.4 (the 2xx to the INVITE answers the call) and 21.1 (18x
    provisional responses); RFC 3960 section 2 (early media in a 18x with SDP).

    Examples
    --------
    The real relay_stall capture holds two calls through one proxy (data/lab/MANIFEST.tsv:
    alice 10.0.0.1 and carol 10.0.0.3 call via 10.0.0.10; tshark shows the two INVITEs):

    >>> from labkit import data
    >>> calls = call_timelines(data.path("relay_stall"))
    >>> [(c["caller"], c["callee"]) for c in calls]
    [('10.0.0.1', '10.0.0.10'), ('10.0.0.3', '10.0.0.10')]
    >>> all(c["invite"] < c["progress"] < c["answer"] for c in calls)
    True
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
    """The first INVITE dialog of :func:`call_timelines`.

    Parameters
    ----------
    packets : path or labkit.capture.Packets
        The capture.

    Returns
    -------
    dict
        As one item of :func:`call_timelines` (times [s] since the first frame); an
        empty dict without SIP.

    References
    ----------
    RFC 3261 section 13 (the INVITE dialog).

    Examples
    --------
    The real baresip call (data/lab/MANIFEST.tsv): bob auto-answers, so tshark shows the
    180 and the 200 OK a few milliseconds after the INVITE (frames 2 and 4):

    >>> from labkit import data
    >>> t = call_timeline(data.path("ringback_amrwb"))
    >>> t["caller"], t["callee"], t["invite"], t["answer"] < 0.01
    ('10.0.0.1', '10.0.0.2', 0.0, True)
    """
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


def stream_call(stream: StreamPackets, calls: list[dict], sdp=None) -> dict:
    """The INVITE dialog a stream belongs to.

    A dialog whose SDP (INVITE or response to it) names one of the stream's ends is
    preferred, else any; among those, the latest INVITE sent before the stream's first
    packet (0.5 s of slack).

    Parameters
    ----------
    stream : StreamPackets
        One stream (:func:`stream_packets`).
    calls : list of dict
        :func:`call_timelines` of the capture.
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture (None: match by time only).

    Returns
    -------
    dict
        The item of `calls` (times [s] since the first frame); an empty dict when
        `calls` is empty.

    References
    ----------
    RFC 3264 section 5 (each side's SDP names where it receives media); RFC 3261
    section 13 (dialogs of INVITE).

    Examples
    --------
    Two simultaneous real calls through rtpengine (data/lab/MANIFEST.tsv): stream 5 is
    rtpengine's leg to carol (10.0.0.3), the second caller; the SDP of her call names it:

    >>> from labkit import data, sip
    >>> from labkit.capture import read_capture
    >>> packets = read_capture(data.path("relay_stall"))
    >>> sdp = sip.sdp_media(packets)
    >>> streams, calls = stream_packets(packets, sdp=sdp), call_timelines(packets)
    >>> (streams[5].dst, streams[5].dport)
    ('10.0.0.3', 10048)
    >>> stream_call(streams[5], calls, sdp)["caller"], stream_call(streams[0], calls, sdp)["caller"]
    ('10.0.0.3', '10.0.0.1')
    """
    raw = stream
    sdp_rows = sdp
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
class StreamPackets:
    """One RTP stream's packets of its main payload type, in arrival order.

    What :func:`stream_packets` gives per stream and the per-stream functions
    (:func:`stream_codec`, :func:`stream_call`, :func:`stream_directions`,
    :func:`analyze_stream`) take; build one by hand to judge RTP from elsewhere.

    Attributes
    ----------
    stream : int
        Stream id (row of :func:`labkit.rtp.rtp_streams`, Wireshark 4.0 rules).
    src, dst : str
        Source / destination IP address.
    sport, dport : int
        Source / destination UDP port.
    ssrc : int
        RTP SSRC.
    pt : int
        RTP payload type (the stream's most frequent one; the others, e.g.
        telephone-event, are left out).
    seq : numpy.ndarray of int
        RTP sequence numbers (as on the wire, 16 bit).
    timestamp : numpy.ndarray of int
        RTP timestamps [clock ticks].
    time : numpy.ndarray of float
        Arrival times [s] since the capture's first frame.
    payloads : list of bytes
        RTP payloads.
    lost : int
        Packets lost by Wireshark 4.0's count (RFC 3550 appendix A.3).
    codec_hint : str
        Codec name the RTP layer got from SDP, if any.
    """

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


def stream_codec(stream: StreamPackets, sdp=None, *, override=None) -> tuple[str, bool, str]:
    """Which codec a stream carries, in which AMR payload format, and the evidence.

    :func:`labkit.amr.identify_codec` (the one codec identification of labkit) on the
    stream's payload type and payloads, with the ``a=rtpmap`` / ``a=fmtp`` of the SDP
    m= line announcing one of its ends (:func:`labkit.amr.sdp_codec`).

    Parameters
    ----------
    stream : StreamPackets
        One stream (:func:`stream_packets`).
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture (None: payload structure only).
    override : str or tuple (str, bool), optional
        A codec given by the user (``"AMR-WB"`` or ``("AMR", True)`` for octet-aligned);
        wins over SDP and payloads.

    Returns
    -------
    tuple (str, bool, str)
        ``(codec, octet_aligned, source)``: ``"AMR"``, ``"AMR-WB"``, ``"EVS"``, an
        rtpmap / static name (``"PCMA"``) or ``"unknown"``; True for octet-aligned AMR;
        ``"given"``, ``"SDP"``, ``"heuristic (score)"`` or ``"static PT"``.

    References
    ----------
    RFC 4867 section 8.1 (``octet-align``; absent = bandwidth-efficient) and section 4
    (the payload structure the heuristic checks); RFC 4566 section 6 (a=rtpmap, a=fmtp);
    RFC 3551 section 6 (static payload types).

    Examples
    --------
    B's stream of the real AMR-WB call: the SDP says ``AMR-WB/16000`` with
    ``octet-align=1`` (tshark's SDP dissector shows the same); the payloads alone say
    the same by structure:

    >>> from labkit import data, sip
    >>> from labkit.capture import read_capture
    >>> packets = read_capture(data.path("ringback_amrwb"))
    >>> b = stream_packets(packets)[0]
    >>> stream_codec(b, sip.sdp_media(packets))
    ('AMR-WB', True, 'SDP')
    >>> stream_codec(b)[:2], stream_codec(b)[2].startswith("heuristic")
    (('AMR-WB', True), True)
    >>> stream_codec(b, override=("AMR", False))
    ('AMR', False, 'given')
    """
    pick = min(len(stream.payloads), 400) if override is not None else len(stream.payloads)
    codec, oa, source, _ = amr.identify_codec(stream.pt, stream.payloads[:pick],
                                              stream.timestamp[:pick],
                                              sdp=amr.sdp_codec(sdp, stream, stream.pt),
                                              override=override)
    return codec, oa, source


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


def _direction_of(raw: StreamPackets, call: dict, sdp_rows, first_src: str) -> str:
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


def stream_directions(streams: list[StreamPackets], calls: list[dict], sdp=None) -> dict[int, str]:
    """Which way each stream flows: "A->B" or "B->A", A being the caller.

    Each stream is judged with its own dialog (:func:`stream_call`): it is A's when it
    comes from (or goes to) a media address of the INVITE's SDP (of the answer's SDP),
    else when its source IP is the INVITE's sender. Without SIP, A is the sender of the
    stream that started first.

    Parameters
    ----------
    streams : list of StreamPackets
        The capture's streams (:func:`stream_packets`).
    calls : list of dict
        :func:`call_timelines` (empty: no SIP).
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture.

    Returns
    -------
    dict
        ``{stream id: "A->B" | "B->A"}``; ``"src->dst"`` (IPs) for a stream that touches
        neither party.

    References
    ----------
    RFC 3261 section 8.1 (the UAC sends the INVITE: the caller); RFC 3264 section 5
    (the offer is A's receive address, the answer B's).

    Examples
    --------
    The real AMR-WB call: alice (A, 10.0.0.1) calls bob (B, 10.0.0.2,
    data/lab/MANIFEST.tsv); stream 0 is bob's (tshark: 10.0.0.2:10024 -> 10.0.0.1:10010):

    >>> from labkit import data, sip
    >>> from labkit.capture import read_capture
    >>> packets = read_capture(data.path("ringback_amrwb"))
    >>> streams = stream_packets(packets)
    >>> stream_directions(streams, call_timelines(packets), sip.sdp_media(packets))
    {0: 'B->A', 1: 'A->B'}

    Without SIP the first sender (bob's packet at 10 ms, alice's at 21 ms) is A:

    >>> stream_directions(streams, [])
    {0: 'A->B', 1: 'B->A'}
    """
    raws, sdp_rows = streams, sdp
    if not raws:
        return {}
    first = min(raws, key=lambda r: (float(r.time[0]) if len(r.time) else 0.0, r.stream))
    return {r.stream: _direction_of(r, stream_call(r, calls, sdp_rows), sdp_rows, first.src)
            for r in raws}


def _frame_types(raw: StreamPackets, wideband: bool, oa: bool, limit: int = 2000) -> list[int]:
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


def stream_phases(t0: float, nframes: int, call: dict) -> list[tuple[str, int, int]]:
    """The phases of a stream: early media before the 200 OK, after answer after it.

    The stream is cut at the 20 ms frame nearest to the answer; a piece shorter than
    0.5 s is merged into the other one (too short to judge apart).

    Parameters
    ----------
    t0 : float
        Capture time of the stream's first frame [s] (:attr:`StreamAudio.t0`).
    nframes : int
        Length of the stream [20 ms frames].
    call : dict
        The stream's dialog (:func:`stream_call`): ``answer`` [s] if answered; an empty
        dict when the capture has no SIP.

    Returns
    -------
    list of tuple (str, int, int)
        ``(phase, first frame, end frame)`` pieces covering ``[0, nframes)``; phase is
        one of :data:`PHASES`: "whole stream" without SIP, "early media" while
        unanswered.

    References
    ----------
    RFC 3960 section 2 (early media comes before the final response); RFC 3261 section
    13.2.2.4 (the 2xx establishes the session); 3GPP TS 26.101 / TS 26.201 (20 ms frames).

    Examples
    --------
    A stream from 0.12 s, 600 frames (12 s), answered at 6.12 s: the cut is after
    (6.12 - 0.12) / 0.02 = 300 frames:

    >>> stream_phases(0.12, 600, {"invite": 0.0, "answer": 6.12})
    [('early media', 0, 300), ('after answer', 300, 600)]
    >>> stream_phases(0.12, 600, {"invite": 0.0}), stream_phases(0.12, 600, {})
    ([('early media', 0, 600)], [('whole stream', 0, 600)])

    In the real AMR-WB call bob answers (200 OK, 6 ms) before his first packet (10 ms):
    all of it is after the answer (tshark: 551 packets of one frame each):

    >>> from labkit import data
    >>> stream_phases(0.0104, 551, call_timeline(data.path("ringback_amrwb")))
    [('after answer', 0, 551)]
    """
    timeline = call
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


def _decode_raw(raw: StreamPackets, codec: str, oa: bool, where: str):
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


def _start_time(raw: StreamPackets, codec: str, oa: bool) -> float:
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


def _g711_audio(raw: StreamPackets, codec: str) -> tuple[audio.DecodedAudio, np.ndarray]:
    """Real-time PCM of a G.711 stream and per-frame kind (:func:`labkit.audio.g711_from_rtp`)."""
    pcm, kind = audio.g711_from_rtp(raw.timestamp, raw.payloads, codec)
    return audio.DecodedAudio(pcm, 8000, np.full(kind.size, -1, np.int8), False), kind


def _judge_pcm(decoded: audio.DecodedAudio, kind: np.ndarray, a: int, b: int, plans):
    """As :func:`_judge` for PCM without AMR frame types (G.711)."""
    part = audio.DecodedAudio(decoded.pcm[a * 160:b * 160], 8000, decoded.ft[a:b], False)
    frames = audio.classify_frames(part.pcm, 8000, None, kind[a:b])
    return part, frames, tones.detect_ringback(part.pcm, 8000, plans=plans)


def _analyze_raw(raw: StreamPackets, codec: str, oa: bool, direction: str, timeline: dict,
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
                      for phase, a, b in stream_phases(t0, kind.size, timeline)]
    if codec not in _AMR:
        return None, [StreamAudio(raw.stream, direction, "whole stream", t0, codec,
                                  note=f"{codec}: not decoded here (AMR, AMR-WB, G.711 are)")]
    extract, decoded, note = _decode_raw(raw, codec, oa, where)
    if decoded is None:
        return None, [StreamAudio(raw.stream, direction, "whole stream", t0, codec, note=note)]
    out = []
    for phase, a, b in stream_phases(t0, extract.frames_total, timeline):
        part, frames, result = _judge(decoded, extract, a, b, plans)
        out.append(StreamAudio(raw.stream, direction, phase, round(t0 + a * tones.FRAME_S, 3),
                               codec, part, extract, frames, result, note))
    return extract, out


def analyze_stream(stream: StreamPackets, *, codec=None, sdp=None, call: dict | None = None,
                   direction: str | None = None, plans=None, where: str | None = None
                   ) -> list[StreamAudio]:
    """Decode one stream and judge each of its phases: is there a ringback tone?

    What :func:`analyze_ringback` does for each stream: AMR / AMR-WB are rebuilt into a
    real-time storage file (gaps become NO_DATA) and decoded with OpenCORE, G.711 is
    placed on its RTP timestamps; the audio is cut into :func:`stream_phases` and
    :func:`labkit.audio.tones.detect_ringback` judges each phase. EVS and other codecs
    are reported, not decoded; a damaged or non-AMR stream gives a note and a
    :class:`LabkitWarning`.

    Parameters
    ----------
    stream : StreamPackets
        One stream (:func:`stream_packets`, or built by hand).
    codec : str or tuple (str, bool), optional
        ``"AMR-WB"``, ``("AMR", True)`` (octet-aligned), ``"PCMA"``...; default: from
        `sdp`, else the payloads (:func:`stream_codec`).
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture (codec and direction).
    call : dict, optional
        The stream's dialog (:func:`stream_call`); None or empty: no SIP, one phase
        "whole stream".
    direction : str, optional
        "A->B" / "B->A"; default :func:`stream_directions` of this stream alone.
    plans : list of str, optional
        Tone plans to try (default: every plan of :data:`labkit.audio.tones.TONE_PLANS`).
    where : str, optional
        Where the stream is, for warnings (default: its id and SSRC).

    Returns
    -------
    list of StreamAudio
        One per phase, in time order: ``t0`` [s since the first frame], the phase's PCM
        (``audio``), the whole stream's storage file (``extract``, AMR only), frame table
        and verdict (``result``).

    References
    ----------
    RFC 4867 sections 4 and 5 (payload and storage format); 3GPP TS 26.101 / TS 26.201
    (AMR / AMR-WB frames); ITU-T G.711; ITU-T E.180 Supplement 2 (ringing-tone plans);
    RFC 3960 section 2 (early media).

    Examples
    --------
    Bob's stream of the real AMR-WB call: he plays the Europe ringback file (425 Hz,
    1 s on / 4 s off, -10 dBFS peak, bursts at 0-1, 5-6, 10-11 s, data/lab/MANIFEST.tsv)
    after auto-answering, so the tone is after the answer:

    >>> from labkit import data, sip
    >>> from labkit.capture import read_capture
    >>> packets = read_capture(data.path("ringback_amrwb"))
    >>> sdp, calls = sip.sdp_media(packets), call_timelines(packets)
    >>> b = stream_packets(packets, sdp=sdp)[0]
    >>> [d] = analyze_stream(b, sdp=sdp, call=stream_call(b, calls, sdp))
    >>> d.direction, d.phase, d.codec, d.result.verdict, d.result.plan.key, d.result.frequencies
    ('B->A', 'after answer', 'AMR-WB', 'ringback', 'europe', (425.0,))
    >>> [round(r.start) for r in d.result.segments], d.finding
    ([0, 5, 10], 'tone after answer')
    >>> d.extract.frames_total       # tshark: 551 packets, one 20 ms frame each, no loss
    551
    """
    name, oa, _ = stream_codec(stream, sdp, override=codec)
    call = call or {}
    if direction is None:
        direction = stream_directions([stream], [call] if call else [], sdp)[stream.stream]
    where = where or f"stream {stream.stream} (SSRC 0x{stream.ssrc:08X})"
    return _analyze_raw(stream, name, oa, direction, call, plans, where)[1]


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


def _raw_streams(packets, sdp_rows, until=None) -> list[StreamPackets]:
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
        n, main, keep = _kept_packets((r.time_ns[idx].astype(np.int64) - np.int64(origin)) / 1e9,
                                      r.pt[idx], until)
        payloads = [p for p, k in zip(rtpmod.stream_payloads(r, s, limit=n), keep) if k]
        idx = idx[:n][keep]
        row = table.loc[s]
        out.append(StreamPackets(
            s, str(row["src"]), int(row["sport"]), str(row["dst"]), int(row["dport"]),
            int(row["ssrc"]), main, r.seq[idx].astype(np.int64),
            r.timestamp[idx].astype(np.int64),
            (r.time_ns[idx].astype(np.int64) - np.int64(origin)) / 1e9, payloads,
            int(row["lost"]), str(row["codec"])))
    return out


def _raw_streams_file(path, until=None, chunk_packets: int | None = None) -> list[StreamPackets]:
    """:func:`_raw_streams` of a capture file in two chunked passes (bounded memory: the
    header records of the RTP packets and the payloads kept, not the capture).

    Pass 1 finds the streams (:class:`labkit.rtp.scan.StreamScan`, the same stream ids
    and table as a whole-file read) and where each packet's payload lies in its
    datagram; pass 2 slices the payloads of the packets kept (main payload type, up to
    `until`) out of the same rows, found by frame number."""
    from labkit.capture import iter_capture
    from labkit.rtp.scan import CHUNK_PACKETS, StreamScan

    chunk_packets = chunk_packets or CHUNK_PACKETS
    scan = StreamScan(payloads=True)
    try:
        origin = None
        for pk in iter_capture(path, chunk_packets=chunk_packets):
            origin = pk.first_time_ns if origin is None else origin
            scan.add(pk)
            del pk
        n_streams = len(scan.streams()["keys"])
        kept = [None] * n_streams
        for g in scan.groups():
            for s in np.unique(g["s"]).tolist():
                kept[s] = _kept(g, np.flatnonzero(g["s"] == s), origin, until)
        table = scan.table()
    finally:
        scan.close()
    payloads = _payloads_by_frame(path, [k for k in kept if k is not None], chunk_packets)
    out = []
    for s, k in enumerate(kept):
        out.append(StreamPackets(
            s, str(table["src"][s]), int(table["sport"][s]), str(table["dst"][s]),
            int(table["dport"][s]), int(table["ssrc"][s]), k["pt"], k["seq"], k["ts"],
            k["time"], [payloads[f] for f in k["fr"].tolist()], int(table["lost"][s]),
            str(table["codec"][s])))
    return out


def _kept_packets(t: np.ndarray, pt: np.ndarray, until):
    """Which of a stream's packets are judged: the first n (up to ``until(t[0])`` [s]),
    and of those the ones of its most frequent payload type. Returns (n, that payload
    type, mask over the first n)."""
    n = len(t)
    if until is not None and n:
        inside = np.flatnonzero(t <= until(float(t[0])))
        n = int(inside[-1]) + 1 if len(inside) else 1
    pts, counts = np.unique(pt[:n], return_counts=True)
    main = int(pts[np.argmax(counts)])
    return n, main, pt[:n] == main


def _kept(g: dict, idx: np.ndarray, origin: int, until) -> dict:
    """One stream's records (a :meth:`StreamScan.groups` group, positions `idx`) as
    :func:`_raw_streams` keeps them (:func:`_kept_packets`)."""
    t = (g["ns"][idx].astype(np.int64) - np.int64(origin)) / 1e9
    n, main, keep = _kept_packets(t, g["pt"][idx], until)
    t, idx = t[:n][keep], idx[:n][keep]
    return {"pt": main, "seq": g["q"][idx].astype(np.int64), "ts": g["ts"][idx].astype(np.int64),
            "time": t, "fr": g["fr"][idx].astype(np.int64),
            "ho": g["ho"][idx].astype(np.int64), "bl": g["bl"][idx].astype(np.int64)}


def _payloads_by_frame(path, kept: list[dict], chunk_packets: int) -> dict:
    """{frame number: RTP payload} of the packets in `kept`, one more chunked pass."""
    from labkit.capture import iter_capture
    frames = np.concatenate([k["fr"] for k in kept]) if kept else np.zeros(0, np.int64)
    start = np.concatenate([k["ho"] for k in kept]) if kept else frames
    length = np.concatenate([k["bl"] for k in kept]) if kept else frames
    order = np.argsort(frames, kind="stable")
    frames, start, length = frames[order], start[order], length[order]
    out = {}
    if not len(frames):
        return out
    for pk in iter_capture(path, chunk_packets=chunk_packets):    # second bar: payloads
        fr = np.asarray(pk.frame)
        lo, hi = np.searchsorted(frames, [fr[0], fr[-1] + 1]) if len(fr) else (0, 0)
        for j in range(lo, hi):
            f = int(frames[j])
            row = int(np.searchsorted(fr, f))       # rows are in frame order
            while row < len(fr) and fr[row] == f and int(pk.proto[row]) != 17:
                row += 1                            # the frame's UDP row
            a = int(start[j])
            out[f] = bytes(pk.payload(row)[a:a + int(length[j])])
        del pk
    return out


def stream_packets(capture, *, sdp=None, chunk_packets: int | None = None) -> list[StreamPackets]:
    """Every RTP stream of a capture, as the per-stream functions take it.

    Parameters
    ----------
    capture : path or labkit.capture.Packets
        pcap/pcapng file, or :func:`labkit.capture.read_capture` output.
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture: streams announced by SDP are found
        on their ports (default: read from the capture; a :class:`LabkitWarning` if its
        SIP cannot be read).
    chunk_packets : int, optional
        A file (without `sdp`) is read this many frames at a time [frames], twice: the
        streams (:class:`labkit.rtp.scan.StreamScan`), then the payloads of their
        packets (default ``labkit.rtp.scan.CHUNK_PACKETS``). Memory holds the header
        records and payloads, not the capture.

    Returns
    -------
    list of StreamPackets
        One per stream id of :func:`labkit.rtp.rtp_streams` (Wireshark 4.0 rules), each
        with the packets of its main payload type.

    References
    ----------
    RFC 3550 section 5.1 (RTP header: SSRC, sequence number, timestamp); RFC 4566
    section 5.14 (m= lines announce the ports).

    Examples
    --------
    The real AMR-WB call; tshark's ``-z rtp,streams`` lists the same two streams with
    551 packets each and no loss:

    >>> from labkit import data
    >>> for s in stream_packets(data.path("ringback_amrwb")):
    ...     print(s.stream, f"{s.src}:{s.sport} -> {s.dst}:{s.dport}", s.pt, len(s.payloads),
    ...           s.lost)
    0 10.0.0.2:10024 -> 10.0.0.1:10010 96 551 0
    1 10.0.0.1:10010 -> 10.0.0.2:10024 96 551 0
    """
    import os

    from labkit.capture import as_packets
    if sdp is None and isinstance(capture, (str, os.PathLike)):
        return _raw_streams_file(capture, chunk_packets=chunk_packets)   # chunk by chunk
    packets = as_packets(capture)
    return _raw_streams(packets, _sdp_rows(packets) if sdp is None else sdp)


def _select(raws: list[StreamPackets], stream) -> list[StreamPackets]:
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

    References
    ----------
    RFC 4867 section 8.1 (octet-align); 3GPP TS 26.101 Table 1a / TS 26.201 Table 1a
    (frame type -> mode bit rate); RFC 3550 appendix A.3 (lost packets).

    Examples
    --------
    The builder's AMR-NB capture without signalling (tools/synth/make_amr.py: 10.2 kbit/s
    octet-aligned, 2 frames per packet, 11 s = 275 packets per direction):

    >>> from labkit import data
    >>> t = audio_streams(data.path("synth_amrnb_oa_nosdp"))
    >>> t[["codec", "format", "mode", "packets"]]
      codec         format  mode  packets
    0   AMR  octet-aligned  10.2      275
    1   AMR  octet-aligned  10.2      275
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
        Codec overrides per stream id (see :func:`audio_streams`).
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
        The stream table, one :class:`StreamAudio` per stream and phase, the calls, and
        the warnings raised on the way (each also re-issued as a :class:`LabkitWarning`).

    References
    ----------
    RFC 4867 sections 4 and 5; 3GPP TS 26.101 / TS 26.201; ITU-T G.711; ITU-T E.180
    Supplement 2; RFC 3960 section 2 (see the module docstring).

    Examples
    --------
    The real early-media call (data/lab/MANIFEST.tsv): rtpengine plays the Europe
    ringback (425 Hz, 1 s on / 4 s off, -10 dBFS) to the caller between the 183 and the
    200 OK; bursts at 0-1 and 5-6 s:

    >>> from labkit import data
    >>> report = analyze_ringback(data.path("early_media_ringback"))
    >>> rows = report.verdicts()
    >>> cols = ["direction", "phase", "codec", "verdict", "plan", "frequencies"]
    >>> rows[rows["finding"] != ""][cols]
      direction        phase codec   verdict    plan frequencies
    4      B->A  early media  PCMA  ringback  Europe         425
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = _analyze(capture, stream, codecs or {}, plans, decode, seconds)
    for w in caught:
        warnings.warn(w.message, w.category if issubclass(w.category, Warning) else
                      LabkitWarning, stacklevel=2)
    return RingbackReport(report.path, report.streams, report.directions, report.timeline,
                          tuple(str(w.message) for w in caught), report.calls)


def _window(raw: StreamPackets, timeline: dict, seconds: float | None) -> StreamPackets:
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
    import os

    from labkit.capture import as_packets
    on_file = isinstance(capture, (str, os.PathLike))
    if on_file:        # chunk by chunk: the SIP messages once, then the RTP (two passes)
        from labkit.sip import as_messages
        name = str(capture)
        try:
            signalling = as_messages(capture)
        except Exception:  # noqa: BLE001 - call_timelines/_sdp_rows warn about it below
            signalling = capture
    else:
        packets = as_packets(capture)
        name = str(getattr(packets, "path", ""))
        signalling = packets
    calls = call_timelines(signalling)
    sdp_rows = _sdp_rows(signalling)
    until = None
    if seconds is not None:   # no call is judged past its answer + seconds: slice no more
        answers = [c["answer"] for c in calls if c.get("answer") is not None]
        latest = max(answers, default=None)
        until = (lambda first: max(first, latest) + seconds) if latest is not None else \
            (lambda first: first + seconds)
    raws = _raw_streams_file(capture, until) if on_file else _raw_streams(packets, sdp_rows, until)
    dirs = stream_directions(raws, calls, sdp_rows)
    chosen = {r.stream for r in _select(raws, stream)}
    rows, results = [], []
    for raw in raws:
        codec, oa, source = stream_codec(raw, sdp_rows, override=codecs.get(raw.stream))
        extract = None
        if decode and raw.stream in chosen:
            where = f"{Path(name or 'capture').name}, stream {raw.stream} " \
                    f"(SSRC 0x{raw.ssrc:08X})"
            call = stream_call(raw, calls, sdp_rows)
            extract, parts = _analyze_raw(_window(raw, call, seconds), codec, oa,
                                          dirs[raw.stream], call, plans, where)
            results += parts
        rows.append(_stream_row(raw, codec, oa, source, dirs[raw.stream], extract))
    table = pd.DataFrame(rows, columns=_STREAM_COLUMNS)
    results.sort(key=lambda d: (d.direction, d.t0, d.stream))
    return RingbackReport(name, table, tuple(results),
                          calls[0] if calls else {}, calls=tuple(calls))


def export_direction(d: StreamAudio, out_dir, *, stem: str | None = None) -> dict:
    """Write a direction's audio to files: to listen to it, or to decode it elsewhere.

    Parameters
    ----------
    d : StreamAudio
        One direction and phase (:attr:`RingbackReport.directions`, :func:`analyze_stream`).
    out_dir : path
        Folder to write into (created if missing).
    stem : str, optional
        File name stem (default ``stream<id>_<A2B|B2A>``).

    Returns
    -------
    dict
        ``{"storage": Path, "wav": Path}``: the whole stream's storage file (.amr /
        .awb, AMR only, no "storage" key otherwise) and this phase's 16-bit WAV
        (8 kHz, 16 kHz for AMR-WB).

    Raises
    ------
    LabkitError
        When the direction was not decoded (EVS, another codec, damaged payloads).

    References
    ----------
    RFC 4867 section 5 (storage format: ``#!AMR\\n`` / ``#!AMR-WB\\n`` magic, then frames).

    Examples
    --------
    >>> import tempfile
    >>> from labkit import data
    >>> [d] = [d for d in analyze_ringback(data.path("ringback_amrwb")).directions
    ...        if d.direction == "B->A"]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = export_direction(d, tmp)
    ...     magic = files["storage"].read_bytes()[:9]
    ...     names = sorted(f.name for f in files.values())
    >>> magic, names
    (b'#!AMR-WB\\n', ['stream0_B2A.awb', 'stream0_B2A_after_answer.wav'])
    """
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
