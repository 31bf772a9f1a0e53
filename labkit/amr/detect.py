"""Which AMR variant is a stream without SDP? Payload-structure heuristics, and EVS.

Without the SDP's ``a=rtpmap``/``a=fmtp`` a capture does not say whether a dynamic
payload type is AMR or AMR-WB, bandwidth-efficient or octet-aligned.
:func:`detect_amr_format` parses every payload under the four layouts and keeps the one
under which they parse exactly (valid CMR, frame types, padding) and, with RTP
timestamps, advance by 160 (AMR, 8 kHz) or 320 (AMR-WB, 16 kHz) per 20 ms frame;
:func:`looks_like_evs` flags payload sizes of the EVS compact format instead.

References
----------
RFC 4867 sections 4.3 (bandwidth-efficient mode: CMR 4.3.1, ToC and frame types 4.3.2,
padding 4.3.5.3) and 4.4 (octet-aligned mode, reserved bits 4.4.1); 3GPP TS 26.101 and
TS 26.201 (AMR and AMR-WB frame types and sizes); TS 26.093 (DTX: SID and NO_DATA);
TS 26.445 Annex A.2.1 (EVS compact-format payload sizes).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from labkit.errors import DecodeError
from labkit.amr.payload import SAMPLES_PER_FRAME, depacketize_amr, frame_bits

__all__ = ["AmrGuess", "EVS_COMPACT_SIZES", "detect_amr_format", "looks_like_evs"]


@dataclass(frozen=True)
class AmrGuess:
    """Result of :func:`detect_amr_format` for a stream without SDP.

    Attributes
    ----------
    codec : str
        "AMR", "AMR-WB", "EVS" (payload sizes of EVS compact format) or "unknown".
    octet_aligned : bool
        Octet-aligned (True) or bandwidth-efficient (False); meaningful for AMR only.
    confidence : float
        Fraction [0..1] of payloads that parse exactly under the chosen variant.
    scores : dict
        Score of every candidate ("AMR/be", "AMR/oa", "AMR-WB/be", "AMR-WB/oa").
    """

    codec: str
    octet_aligned: bool
    confidence: float
    scores: dict


# EVS compact-format payload sizes [bytes] (3GPP TS 26.445 Table A.1): primary modes
# 2.8 .. 128 kbit/s, primary SID, and AMR-WB IO modes (with the 3-bit CMR) + IO SID.
EVS_COMPACT_SIZES = frozenset({6, 7, 18, 20, 24, 33, 41, 61, 80, 120, 160, 240, 320,
                               17, 23, 32, 36, 40, 46, 50, 58, 60, 5})
_G711_SIZES = frozenset({80, 160, 240, 320})
_CANDIDATES = {"AMR/be": (False, False), "AMR/oa": (False, True),
               "AMR-WB/be": (True, False), "AMR-WB/oa": (True, True)}


def _strict_ok(payload: bytes, wideband: bool, octet_aligned: bool) -> int:
    """Frames in `payload` if it is a clean payload of this variant, else -1.

    Clean means: parses exactly (no byte left), CMR valid (0-7 NB, 0-8 WB, or 15),
    zero padding bits (BE) or zero reserved bits (OA). 0 for a clean packet with NO_DATA
    (or WB speech-lost) frames only: valid DTX evidence, but the same bits under AMR and
    AMR-WB, so it cannot tell them apart.
    """
    try:
        packet = depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned)
    except DecodeError:
        return -1
    if not (packet.cmr <= (8 if wideband else 7) or packet.cmr == 15):
        return -1
    if octet_aligned:
        tocs = payload[1:1 + len(packet.frames)]
        if payload[0] & 0x0F or any(t & 3 for t in tocs):
            return -1
    else:
        used = 4 + 6 * len(packet.frames) + sum(frame_bits(f.ft, wideband) for f in packet.frames)
        if int.from_bytes(payload, "big") & ((1 << (len(payload) * 8 - used)) - 1):
            return -1
    if all(f.ft >= 14 for f in packet.frames):
        return 0
    return len(packet.frames)


def _variant_score(nframes) -> float:
    """Fraction of clean packets (NO_DATA-only ones included), when the packets that carry
    speech or SID mostly parse; else the fraction of those that do."""
    telling = [n for n in nframes if n != 0]
    if not telling or not any(n > 0 for n in telling):
        return 0.0
    parsed = float(np.mean([n > 0 for n in telling]))
    return float(np.mean([n >= 0 for n in nframes])) if parsed >= 0.5 else parsed


def _timestamp_score(nframes, timestamps, spf) -> float:
    """Fraction of consecutive packets whose timestamp step is n_frames * spf."""
    ts = np.asarray(timestamps, dtype=np.int64)
    steps = (np.diff(ts) % (1 << 32))
    n = np.asarray(nframes[:-1])
    ok = (n > 0) & (steps != 0)           # steps of 0 are duplicate copies
    if ok.sum() == 0:
        return 0.0
    return float(np.mean(steps[ok] == n[ok] * spf))


def detect_amr_format(payloads, timestamps=None, *, sample: int = 400) -> AmrGuess:
    """Guess AMR vs AMR-WB and bandwidth-efficient vs octet-aligned from payloads.

    For streams without SDP. Every candidate is scored by the fraction of payloads that
    parse cleanly (see below); with `timestamps`, by the fraction whose RTP timestamp
    steps equal frames x 160 (AMR) or x 320 (AMR-WB) too. A clean parse is exact to the
    byte, with a valid CMR (RFC 4867 section 4.3.1), zero padding (4.3.5.3) or zero
    reserved bits (4.4.1), and no reserved frame type (4.3.2). With DTX (TS 26.093) most
    packets carry a SID or NO_DATA (FT 15) frame: both count as clean packets, as long as
    most of the packets with speech or SID parse under the candidate (NO_DATA alone is the
    same bits under AMR and AMR-WB and cannot choose between them).

    Parameters
    ----------
    payloads : sequence of bytes
        Payloads of one stream in arrival order.
    timestamps : array-like of int, optional
        Their RTP timestamps.
    sample : int
        At most this many consecutive payloads from the middle of the stream are used.

    Returns
    -------
    AmrGuess
        The best candidate; codec "EVS" when AMR fails and most payload sizes are EVS
        compact-format sizes; "unknown" when nothing fits (confidence < 0.5).

    References
    ----------
    RFC 4867 sections 4.3 and 4.4 (the layouts a payload must parse as), 3GPP TS 26.445
    Annex A.2.1 (EVS compact sizes).

    Examples
    --------
    >>> from labkit.amr import packetize_amr, AmrFrame
    >>> pays = [packetize_amr([AmrFrame(7, True, bytes(31))], octet_aligned=True)] * 50
    >>> g = detect_amr_format(pays)
    >>> g.codec, g.octet_aligned
    ('AMR', True)
    """
    payloads = list(payloads)
    start = max(0, (len(payloads) - sample) // 2)
    part = [bytes(p) for p in payloads[start:start + sample]]
    ts = None if timestamps is None else np.asarray(timestamps)[start:start + sample]
    scores = {}
    for name, (wb, oa) in _CANDIDATES.items():
        nframes = [_strict_ok(p, wb, oa) for p in part]
        score = _variant_score(nframes) if part else 0.0
        if ts is not None and len(part) > 1 and score > 0:
            score = score * (0.75 + 0.25 * _timestamp_score(nframes, ts, SAMPLES_PER_FRAME[wb]))
        scores[name] = round(score, 4)
    best = max(scores, key=lambda k: (scores[k], -list(_CANDIDATES).index(k)))
    wb, oa = _CANDIDATES[best]
    if scores[best] >= 0.5:
        return AmrGuess("AMR-WB" if wb else "AMR", oa, scores[best], scores)
    evs = looks_like_evs(part)
    codec = "EVS" if evs >= 0.8 else "unknown"
    return AmrGuess(codec, False, evs if codec == "EVS" else scores[best], scores)


def looks_like_evs(payloads) -> float:
    """Fraction [0..1] of payloads whose size is an EVS compact-format size.

    3GPP TS 26.445 Annex A.2.1: in the compact format the payload size alone tells the
    bit rate. This is a plausibility flag ("EVS, cannot decode here"), not a decoder.
    Streams whose most common size is 80, 160, 240 or 320 bytes score 0: those are
    G.711 packet sizes, far more common than EVS at 32-128 kbit/s.

    Parameters
    ----------
    payloads : sequence of bytes
        RTP payloads of one stream.

    Returns
    -------
    float
        Fraction [0..1].

    References
    ----------
    3GPP TS 26.445 Annex A.2.1.

    Examples
    --------
    >>> looks_like_evs([bytes(33)] * 10)        # 33 octets = EVS 13.2 kbit/s compact
    1.0
    """
    sizes = [len(p) for p in payloads]
    if not sizes:
        return 0.0
    common = Counter(sizes).most_common(1)[0][0]
    if common in _G711_SIZES:          # 10/20/30/40 ms of G.711 look like EVS 32..128 kbit/s
        return 0.0
    return float(np.mean([s in EVS_COMPACT_SIZES for s in sizes]))
