"""Transit delay, packet delay variation (RFC 5481) and stalls of one RTP stream.

Everything here starts from Wireshark's own per-packet numbers
(:meth:`labkit.rtp.RtpPackets.stream_stats`, the arithmetic of Wireshark 4.0
``rtppacket_analyse``): Wireshark's *skew* is ``nominal - (arrival - first arrival)``, so
the one-way transit delay relative to the first packet is ``D(i) = -skew(i)`` [ms]
(RFC 5481 section 4.1: D(i) = arrival - send time, here up to a constant, the send time
being the RTP timestamp). Nothing is recomputed a second way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.errors import LabkitError

__all__ = ["StreamTrack", "stream_track", "track_of", "pdv_percentiles", "ipdv", "find_stalls",
           "interarrival_shape", "clock_drift", "PDV_LEVELS"]

PDV_LEVELS = (50.0, 95.0, 99.0, 99.9)   # [%] RFC 5481 section 6.2 / ITU-T Y.1541 (99.9)
_FLAG_FIRST, _FLAG_WRONG_TS = 0x1, 0x80  # Wireshark STAT_FLAG_FIRST / _WRONG_TIMESTAMP


@dataclass(frozen=True)
class StreamTrack:
    """One stream's packets in capture order, with what delay analysis needs.

    Arrays cover the packets with a usable timestamp (Wireshark's in-sequence test passed
    and a known clock rate), in capture (file) order.
    """

    stream: int            # stream id in the RtpPackets
    key: str               # "src:sport -> dst:dport 0xSSRC"
    src: str
    ssrc: int
    codec: str
    clock: int             # [Hz]
    ptime_ms: float        # [ms] packet interval from the timestamps (median)
    time_s: np.ndarray     # [s since epoch] capture timestamp
    t_ms: np.ndarray       # [ms since the capture's first frame] (Wireshark's time base)
    seq: np.ndarray        # extended sequence number (wraps unrolled)
    nominal_ms: np.ndarray  # [ms] RTP timestamp since the stream's first packet
    transit_ms: np.ndarray  # [ms] D(i) - D(first) = -skew (Wireshark)
    frame: np.ndarray      # frame numbers
    expected: int          # packets expected (Wireshark)
    lost: int              # packets lost (Wireshark: expected - received)


def _extend(seq: np.ndarray) -> np.ndarray:
    d = np.diff(seq.astype(np.int64))
    d = (d + 32768) % 65536 - 32768
    return np.concatenate(([int(seq[0])], int(seq[0]) + np.cumsum(d))) if len(seq) else seq


def stream_track(rtp, stream: int) -> StreamTrack:
    """Per-packet arrival, timestamp and transit delay of one stream.

    Parameters
    ----------
    rtp : labkit.rtp.RtpPackets
        From :func:`labkit.rtp.find_rtp`.
    stream : int
        Stream id.

    Returns
    -------
    StreamTrack
        Arrival [s since epoch and ms since the first frame], extended sequence numbers,
        nominal time [ms] and transit delay D(i) - D(0) [ms] = -Wireshark skew.

    Raises
    ------
    LabkitError
        The stream has no clock rate (dynamic payload type without SDP): say which codec.

    References
    ----------
    RFC 5481 section 4.1 (one-way delay D(i)); Wireshark 4.0 ui/tap-rtp-analysis.c
    (skew = nominal - (arrival - start)).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> tr = stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0)
    >>> tr.codec, tr.clock, tr.ptime_ms, len(tr.seq)      # G.729, 20 ms, 8 s
    ('g729', 8000, 20.0, 400)
    """
    idx, st = rtp.stream_stats(stream)
    k = rtp.key_arrays
    key = tuple(k[c][stream] for c in ("src", "sport", "dst", "dport", "ssrc"))
    codec = rtp.names[rtp.name_code[idx[0]]] if len(idx) else ""
    return track_of(stream, key, codec, st, rtp.t_ms[idx], rtp.time_ns[idx], rtp.seq[idx],
                    rtp.pt[idx], rtp.frame[idx])


def track_of(stream: int, key: tuple, codec: str, st, t_ms, time_ns, seq, pt, frame) -> StreamTrack:
    """:func:`stream_track` from one stream's own packets (what a chunked reader holds).

    Parameters
    ----------
    stream : int
        Stream id.
    key : tuple
        (src, sport, dst, dport, ssrc) of the stream.
    codec : str
        Payload name of its first packet.
    st : labkit.rtp.stats.StreamStats
        :func:`labkit.rtp.stats.analyze_streams` of these packets alone (one stream,
        with the per-packet fields).
    t_ms, time_ns, seq, pt, frame : numpy.ndarray
        The stream's packets in file order: arrival [ms since the capture's first
        frame] and [ns since the epoch], RTP sequence number, payload type, frame number.

    Returns
    -------
    StreamTrack

    Raises
    ------
    LabkitError
        As :func:`stream_track`.

    References
    ----------
    As :func:`stream_track`.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> rtp = find_rtp(read_capture(data.path("jitter_host_egress")))
    >>> idx, st = rtp.stream_stats(0)
    >>> key = tuple(rtp.key_arrays[c][0] for c in ("src", "sport", "dst", "dport", "ssrc"))
    >>> tr = track_of(0, key, "g729", st, rtp.t_ms[idx], rtp.time_ns[idx], rtp.seq[idx],
    ...               rtp.pt[idx], rtp.frame[idx])
    >>> tr.ptime_ms, len(tr.seq)      # as stream_track(rtp, 0): 20 ms, 400 packets
    (20.0, 400)
    """
    src, sport, dst, dport, ssrc = key
    key = f"{src}:{sport} -> {dst}:{dport} 0x{int(ssrc):08X}"
    clock = int(st.clock_rate[0])
    if clock == 0:
        raise LabkitError(f"stream {key}: no clock rate for payload type {int(pt[0])} "
                          f"({codec})", f"frame {int(frame[0])}",
                          "give the codec, e.g. clock_rates={96: 'AMR-WB'} (--clock-rate 96=AMR-WB)")
    ok = (st.flags & _FLAG_WRONG_TS) == 0
    t_ms = t_ms[ok]
    rel = t_ms - t_ms[0]
    transit = -st.skew[ok]
    nominal = rel + st.skew[ok]
    seq = _extend(seq[ok])
    steps = np.diff(nominal)[np.diff(seq) == 1]
    ptime = float(np.median(steps)) if len(steps) else 20.0
    return StreamTrack(stream=int(stream), key=key, src=str(src),
                       ssrc=int(ssrc), codec=codec, clock=clock,
                       ptime_ms=round(ptime, 3), time_s=time_ns[ok] / 1e9, t_ms=t_ms,
                       seq=seq, nominal_ms=nominal, transit_ms=transit,
                       frame=frame[ok], expected=int(st.expected[0]),
                       lost=int(st.lost[0]))


def pdv_percentiles(transit_ms: np.ndarray, levels=PDV_LEVELS) -> dict:
    """PDV(i) = D(i) - D_min and its percentiles and maximum [ms].

    Parameters
    ----------
    transit_ms : numpy.ndarray
        D(i) [ms], any constant offset (e.g. :attr:`StreamTrack.transit_ms`).
    levels : sequence of float
        Percentiles [%] (numpy's linear interpolation between order statistics).

    Returns
    -------
    dict
        ``{"p50": ..., "p95": ..., "p99": ..., "p99.9": ..., "max": ...}`` [ms].

    References
    ----------
    RFC 5481 section 4.2 (PDV relative to the minimum delay) and 6.2 (percentiles for
    buffer sizing); ITU-T Y.1541 (PDV objective 50 ms at the 99.9th percentile).

    Examples
    --------
    >>> pdv_percentiles([10.0, 12.0, 10.0, 30.0, 11.0])   # PDV 0, 2, 0, 20, 1
    {'p50': 1.0, 'p95': 16.4, 'p99': 19.28, 'p99.9': 19.928, 'max': 20.0}
    """
    d = np.asarray(transit_ms, dtype=np.float64)
    if len(d) == 0:
        return {**{_name(p): float("nan") for p in levels}, "max": float("nan")}
    pdv = d - d.min()
    out = {_name(p): round(float(np.percentile(pdv, p)), 6) for p in levels}
    out["max"] = round(float(pdv.max()), 6)
    return out


def _name(p: float) -> str:
    return f"p{p:g}"


def ipdv(track: StreamTrack) -> np.ndarray:
    """IPDV(i) = D(i) - D(i-1) for packets consecutive in sequence [ms].

    Parameters
    ----------
    track : StreamTrack

    Returns
    -------
    numpy.ndarray
        One value per pair of packets whose extended sequence numbers differ by 1, in
        sequence order [ms]; positive = this packet was later than the one before.

    References
    ----------
    RFC 5481 section 4.1 (IPDV, "selection function": consecutive packets).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> v = ipdv(stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0))
    >>> bool(v.max() > 40)            # a host stall: one packet ~100 ms later than the one before
    True
    """
    order = np.argsort(track.seq, kind="stable")
    s, d = track.seq[order], track.transit_ms[order]
    pair = np.diff(s) == 1
    return np.diff(d)[pair]


def find_stalls(track: StreamTrack, k: float = 2.0):
    """Gaps in arrival longer than k x ptime that are not explained by loss, and the burst after.

    A stall: the arrival gap between two consecutive packets exceeds ``k * ptime`` and
    exceeds the gap of their RTP timestamps by more than ``(k - 1) * ptime`` (so a gap
    left by lost packets arriving on time is not a stall). ``held`` says the sequence
    numbers around the gap are contiguous (the packets were held back, not lost);
    ``burst`` counts the packets that then arrive back to back (inter-arrival below half
    a ptime), the first one included.

    Parameters
    ----------
    track : StreamTrack
    k : float
        Threshold in packet intervals.

    Returns
    -------
    pandas.DataFrame
        One row per stall: start [s since epoch] (arrival of the last packet before the
        gap), end [s since epoch] (first packet after), start_ms [ms since the first frame],
        duration_ms [ms] (the gap), excess_ms [ms] (gap minus timestamp gap), held (bool),
        lost (packets missing in the gap), burst (packets), frame (first after the gap).

    References
    ----------
    REFERENCE.md section 5: signature of a stalled relay (gap >> ptime, then back-to-back
    packets with contiguous sequence numbers); RFC 5481 section 4.1 (IPDV).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> st = find_stalls(stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0))
    >>> len(st), bool(st.held.all()), bool((st.burst >= 2).all())   # 4 SIGSTOPs of rtpengine
    (4, True, True)
    """
    import pandas as pd
    t, nom, seq, p = track.t_ms, track.nominal_ms, track.seq, track.ptime_ms
    gap = np.diff(t)
    excess = gap - np.diff(nom)
    hit = np.flatnonzero((gap > k * p) & (excess > (k - 1) * p))
    back = np.concatenate((gap < p / 2, [False]))
    rows = []
    for i in hit.tolist():
        j = i + 1
        while j < len(back) and back[j]:
            j += 1
        rows.append(dict(start=float(track.time_s[i]), end=float(track.time_s[i + 1]),
                         start_ms=float(t[i]), duration_ms=float(gap[i]), excess_ms=float(excess[i]),
                         held=bool(seq[i + 1] - seq[i] == 1), lost=int(max(seq[i + 1] - seq[i] - 1, 0)),
                         burst=int(j - i), frame=int(track.frame[i + 1])))
    cols = ["start", "end", "start_ms", "duration_ms", "excess_ms", "held", "lost", "burst", "frame"]
    return pd.DataFrame(rows, columns=cols)


def interarrival_shape(track: StreamTrack) -> dict:
    """How far the inter-arrival times are from one mode at ptime.

    Parameters
    ----------
    track : StreamTrack

    Returns
    -------
    dict
        back_to_back_pct [%] (inter-arrival < ptime/2), late_pct [%] (> 1.5 ptime),
        bimodality: Sarle's coefficient (skewness^2 + 1) / (excess kurtosis + 3(n-1)^2 /
        ((n-2)(n-3))); above 5/9 suggests two modes (the burst mode and the ptime mode).

    References
    ----------
    Sarle's bimodality coefficient (SAS Institute, SAS/STAT User's Guide, "bimodality
    coefficient"); REFERENCE.md section 5 (bimodal inter-arrival histogram of a stalled host).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> sh = interarrival_shape(stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0))
    >>> sh["back_to_back_pct"] > 1.0
    True
    """
    gap = np.diff(track.t_ms)
    n, p = len(gap), track.ptime_ms
    if n < 4 or float(gap.std()) == 0.0:
        return {"back_to_back_pct": 0.0, "late_pct": 0.0, "bimodality": 0.0}
    z = (gap - gap.mean()) / gap.std()
    z2 = z * z
    g = float(np.mean(z2 * z)) * np.sqrt(n * (n - 1)) / (n - 2)
    kurt = float(np.mean(z2 * z2)) - 3.0
    kurt = ((n + 1) * kurt + 6) * (n - 1) / ((n - 2) * (n - 3))
    b = (g * g + 1) / (kurt + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    return {"back_to_back_pct": round(100.0 * float(np.mean(gap < p / 2)), 3),
            "late_pct": round(100.0 * float(np.mean(gap > 1.5 * p)), 3),
            "bimodality": round(float(b), 4)}


def clock_drift(track: StreamTrack) -> float:
    """Sender clock drift against the capture clock [ppm]: slope of D(i) over time.

    Parameters
    ----------
    track : StreamTrack

    Returns
    -------
    float
        Least-squares slope of transit delay [ms] over arrival [ms], times 1e6 [ppm];
        positive = the sender's clock runs slow (delay grows). 0 with fewer than 3 packets.

    References
    ----------
    RFC 3550 section 6.4.1 (timestamps drive the receiver's clock); Wireshark's skew.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> abs(clock_drift(stream_track(find_rtp(read_capture(data.path("jitter_network_ingress"))), 0))) < 1000
    True
    """
    if len(track.t_ms) < 3:
        return 0.0
    t = track.t_ms - track.t_ms[0]
    slope = np.polyfit(t, track.transit_ms, 1)[0]
    return round(float(slope) * 1e6, 1)
