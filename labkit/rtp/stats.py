"""Wireshark 4.0 RTP stream statistics, vectorised.

This is the arithmetic of Wireshark 4.0.17 ``rtppacket_analyse()``
(ui/tap-rtp-analysis.c) and ``rtpstream_info_calculate()`` (ui/tap-rtp-common.c),
re-implemented from reading them, on numpy arrays: one call computes every stream
of a capture. What it reproduces (RFC 3550 section 6.4.1 and A.8, as Wireshark does it):

- time base: arrival [ms] since the capture's first frame, as ``nstime_to_msec``;
- in-sequence test against the *first* packet's timestamp (not the previous one);
- sequence errors (forward jump = 1, late/duplicate = 1 and the tracked number does
  not move), wrap cycles, expected = last + cycles * 65536 - first + 1;
- jitter J += (|D| - J)/16 with D against the previous in-sequence packet and the
  nominal time from the timestamp at ``ts / (clock_rate // 1000)`` [ms];
- which packets feed min/mean/max delta and jitter (not first, marker, CN, after CN,
  wrong timestamp), the means' recursion ``m = (m * (n - 1) + x) / n`` with n the
  packet index, max starting at 0 and min at -1.

Sequence tracking is computed vectorised for packets that advance the sequence and in
an exact Python loop only over late/duplicate stretches. The jitter recursion
J = (15 J + D)/16 is a parallel prefix scan (log2(n) numpy passes; relative error
~1e-15) and the means use a cumulative-sum form. Wherever a result lies within 1e-6 of
a rounding tie of the printed 2 or 3 decimals (e.g. J = 5/16 = 0.3125 exactly), that
stream is recomputed with Wireshark's own sequential double arithmetic in Python, so
printed figures are Wireshark's to the last digit (a tie of the minimum or maximum
jitter only: just the packets that can hold it, by a bracketed sequential run of a
few thousand steps, :func:`_jitter_exact_at`).
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["StreamStats", "analyze_streams", "analyze_streams_batched", "rel_ms", "FLAG_FIRST", "FLAG_MARKER",
           "FLAG_WRONG_SEQ", "FLAG_PT_CHANGE", "FLAG_PT_CN", "FLAG_FOLLOW_PT_CN",
           "FLAG_REG_PT_CHANGE", "FLAG_WRONG_TIMESTAMP", "FLAG_PT_T_EVENT"]

# status flags, same bits as Wireshark's STAT_FLAG_* (ui/tap-rtp-analysis.h)
FLAG_FIRST, FLAG_MARKER, FLAG_WRONG_SEQ, FLAG_PT_CHANGE = 0x1, 0x2, 0x4, 0x8
FLAG_PT_CN, FLAG_FOLLOW_PT_CN, FLAG_REG_PT_CHANGE = 0x10, 0x20, 0x40
FLAG_WRONG_TIMESTAMP, FLAG_PT_T_EVENT = 0x80, 0x100

_NS = 1_000_000_000
_HALF = 0x80000000


def rel_ms(time_ns: np.ndarray, origin_ns: int) -> np.ndarray:
    """Time since `origin_ns` [ms], bit-identical to Wireshark's ``nstime_to_msec``.

    Wireshark splits the difference into seconds and nanoseconds of the same sign
    (``nstime_delta``) and computes ``secs * 1000.0 + nsecs / 1e6`` in double.

    Parameters
    ----------
    time_ns : int array
        Absolute times [ns since the epoch] (:attr:`labkit.capture.Packets.time_ns`).
    origin_ns : int
        Reference time [ns since the epoch], e.g. the capture's first frame.

    Returns
    -------
    numpy.ndarray of float64
        ``time_ns - origin_ns`` [ms], negative before the origin.

    References
    ----------
    Wireshark 4.0.17 wsutil/nstime.c (``nstime_delta``, ``nstime_to_msec``), as used by
    ui/tap-rtp-analysis.c ``rtppacket_analyse`` for the arrival time.

    Examples
    --------
    20 ms after and 0.5 ms before the origin:

    >>> t0 = 1_700_000_000_000_000_000
    >>> rel_ms([t0 + 20_000_000, t0 - 500_000], t0).tolist()
    [20.0, -0.5]
    """
    rel = np.asarray(time_ns, dtype=np.int64) - np.int64(origin_ns)
    secs = rel // _NS                  # floor; Wireshark truncates towards zero:
    nsecs = rel - secs * _NS
    neg = (rel < 0) & (nsecs != 0)     # a negative time not on a whole second
    if neg.any():
        secs[neg] += 1
        nsecs[neg] -= _NS
    out = secs.astype(np.float64)
    out *= 1000.0
    out += nsecs.astype(np.float64) / 1e6
    return out


@dataclass(frozen=True)
class StreamStats:
    """Per-packet and per-stream results of :func:`analyze_streams`.

    Per-packet arrays are in the order of the input (file order). Per-stream arrays are
    indexed by stream id 0..S-1.
    """

    delta: np.ndarray        # [ms] Wireshark's running "delta" after each packet
    jitter: np.ndarray       # [ms] running jitter after each packet
    skew: np.ndarray         # [ms] running skew after each packet
    flags: np.ndarray        # FLAG_* bits per packet
    packets: np.ndarray      # per stream: packet count
    expected: np.ndarray     # per stream: expected packets (uint32 as Wireshark)
    lost: np.ndarray         # per stream: expected - received (int32)
    lost_pct: np.ndarray     # per stream: [%]
    seq_errors: np.ndarray   # per stream: sequence errors
    cycles: np.ndarray       # per stream: sequence wrap cycles
    min_delta: np.ndarray    # [ms]
    mean_delta: np.ndarray   # [ms]
    max_delta: np.ndarray    # [ms]
    min_jitter: np.ndarray   # [ms]
    mean_jitter: np.ndarray  # [ms]
    max_jitter: np.ndarray   # [ms]
    max_skew: np.ndarray     # [ms]
    clock_rate: np.ndarray   # [Hz] last non-zero clock rate used
    problem: np.ndarray      # bool: wrong sequence or wrong timestamp seen


def _groups(stream: np.ndarray, n_streams: int):
    if len(stream) < 2 or bool(np.all(stream[1:] >= stream[:-1])):
        order = slice(None)  # already grouped by stream: no sort, no gathers
    else:
        key = stream.astype(np.uint16 if n_streams <= 65536 else np.int64)
        order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
    counts = np.bincount(stream, minlength=n_streams)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return order, counts, starts


def _advances(seq, s, in_seq):
    """Does a packet move Wireshark's tracked sequence number (4.0 rules)?"""
    return in_seq & ((seq == s + 1) | ((s == 65535) & (seq == 0)) | (s + 1 < seq)
                     | (s - seq > 0xFF00))


def _tracked_seq(seq, in_seq, first):
    """Tracked sequence number *before* each packet (sorted by stream).

    Vectorised assuming every packet advances; late/duplicate stretches are replayed
    exactly in Python until the sequence advances again.
    """
    s_prev = np.empty_like(seq)
    s_prev[1:] = seq[:-1]
    s_prev[first] = seq[first]
    bad = np.flatnonzero(~_advances(seq, s_prev, in_seq) & ~first)
    done = -1
    n = len(seq)
    for b in bad.tolist():
        if b <= done:
            continue
        s, k = int(s_prev[b]), b
        while True:
            s_prev[k] = s
            q = int(seq[k])
            if in_seq[k] and (q == s + 1 or (s == 65535 and q == 0) or s + 1 < q
                              or s - q > 0xFF00):
                break
            k += 1
            if k >= n or first[k]:
                break
        done = k
    return s_prev


def _cycles(seq, in_seq, first, gid, start_seq, n_streams):
    prev = np.empty_like(seq)
    prev[1:] = seq[:-1]
    prev[first] = seq[first]
    st = start_seq[gid]
    ok = in_seq & ~first
    a = ok & ((seq < st) | ((seq == 0) & (prev == 65535)))
    b = ok & (seq > st)
    ev = np.flatnonzero(a | b)
    ev_a, ev_g = a[ev], gid[ev]
    prev_a = np.zeros_like(ev_a)
    if len(ev):
        prev_a[1:] = ev_a[:-1] & (ev_g[1:] == ev_g[:-1])
    return np.bincount(ev_g[ev_a & ~prev_a], minlength=n_streams)


def _ffill_index(mask):
    """Index of the last True at or before each position (-1 when none)."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _exact_mean(values, ns):
    m = 0.0
    for x, n in zip(values.tolist(), ns.tolist()):
        m = (m * (n - 1) + x) / n
    return m


def _recursive_mean(values, ns):
    """Wireshark's m = (m*(n-1) + x)/n over one stream; n = packet index [1..]."""
    if len(values) == 0:
        return 0.0
    n = ns.astype(np.float64)
    g = np.ones(len(n))
    g[1:] = (n[1:] - 1.0) / n[:-1]
    big = np.cumprod(g)
    w = big * np.cumsum(values / big)
    m = float(w[-1] / n[-1])
    frac = abs(m) * 1000.0 % 1.0
    if abs(frac - 0.5) < 1e-6 or not math.isfinite(m):
        m = _exact_mean(values, ns)
    return m


def _sentinel_min(values):
    """Wireshark's min with -1 as 'unset' (a value equal to -1 makes it unset again)."""
    if len(values) == 0:
        return -1.0
    if not np.any(values[:-1] == -1.0):  # never unset again: the plain minimum
        return float(values.min())
    m = -1.0
    for x in values.tolist():
        m = x if (m == -1.0 or x < m) else m
    return m


def _near_tie(values, scale):
    """Values within 1e-6 of a rounding tie when printed with log10(scale) decimals."""
    frac = np.abs(values) * scale % 1.0
    return np.abs(frac - 0.5) < 1e-6


def _jitter_exact(diff) -> np.ndarray:
    out = np.empty(len(diff))
    j = 0.0
    for i, d in enumerate(diff.tolist()):
        j = (15 * j + d) / 16
        out[i] = j
    return out


def _stats_near_tie(jv, ns) -> bool:
    """Would min/max/mean of these jitter values print differently with 1-ulp noise?"""
    vals = np.array([jv.min(), jv.max(), _recursive_mean(jv, ns)])
    return bool(np.any(_near_tie(vals, 1000.0)))


_WINDOW = 2048        # steps of the bracketed exact recursion before a wanted packet
_BRACKET = 1e-9       # half-width of the start bracket, relative to the largest |D|
_MAX_POINTS = 32      # more candidates than this: recompute the whole stream instead


def _jitter_exact_at(diff, approx, points):
    """Wireshark's sequential jitter (:func:`_jitter_exact`) at a few positions, without
    running the recursion over the whole stream; None when that cannot be proven.

    The step J -> (15 J + D) / 16 in double arithmetic is monotone in J (each rounding
    is), so two sequential runs started below and above the true value bracket it at
    every later step; where they meet, both equal it exactly. Each run starts
    `_WINDOW` steps before a wanted position, at the prefix-scan value plus or minus
    `_BRACKET` times the largest |D| (the scan's and the sequential recursion's errors
    are both below ~1e-14 of it: sums of non-negative terms), and the bracket shrinks by
    15/16 a step, so it closes after a few hundred steps.
    """
    pts = np.unique(points).tolist()
    if len(pts) > _MAX_POINTS:
        return None
    half = _BRACKET * float(np.max(diff)) if len(diff) else 0.0
    out = {}
    for i in pts:
        k0 = i - _WINDOW
        if k0 < 0:  # close to the start: the exact run from J_0 = 0 is short
            lo = hi = 0.0
            k0 = -1
        else:
            lo, hi = float(approx[k0]) - half, float(approx[k0]) + half
        for d in diff[k0 + 1:i + 1].tolist():
            lo = (15 * lo + d) / 16
            hi = (15 * hi + d) / 16
        if lo != hi:
            return None
        out[i] = lo
    return out


def _exact_extremes(jitter_js, diff_js, at_rj, lo: bool, hi: bool) -> bool:
    """Replace the jitter values that can be the minimum (`lo`) or maximum (`hi`) of a
    stream's regular packets by Wireshark's exact sequential ones (in place); False when
    the whole stream must be recomputed. `at_rj`: index into the jitter sequence of
    every regular packet."""
    jv = jitter_js[at_rj]
    margin = 2 * _BRACKET * float(np.max(diff_js))
    cand = np.concatenate([at_rj[jv <= jv.min() + margin] if lo else at_rj[:0],
                           at_rj[jv >= jv.max() - margin] if hi else at_rj[:0]])
    exact = _jitter_exact_at(diff_js, jitter_js, cand)
    if exact is None:
        return False
    for i, v in exact.items():
        jitter_js[i] = v
    return True


def jitter_recursion(diff: np.ndarray, check: bool = True) -> np.ndarray:
    """J_k = (15 J_(k-1) + D_k) / 16 from J_0 = 0 (RFC 3550 A.8, Wireshark's order).

    Parallel prefix scan in numpy; with `check`, when any result is near a printing tie
    (2 or 3 decimals) the sequence is recomputed exactly with sequential double
    arithmetic (the stream table checks only the min/max/mean it prints).
    """
    diff = np.asarray(diff, dtype=np.float64)
    y = diff * 0.0625
    step, coef = 1, 0.9375
    while step < len(y) and coef > 0.0:
        y[step:] = y[step:] + coef * y[:-step]
        step, coef = step * 2, coef * coef
    if check and np.any(_near_tie(y, 1000.0) | _near_tie(y, 100.0)):
        return _jitter_exact(diff)
    return y


def _nominal(ts, first_ts, clock):
    diff = ((ts - first_ts) & 0xFFFFFFFF).astype(np.float64)
    div = np.maximum(clock // 1000, 1).astype(np.float64)
    return diff / div


def analyze_streams(stream, t_ms, seq, ts, pt, marker, clock, n_streams,
                    tevent=None, per_packet=True) -> StreamStats:
    """Run Wireshark 4.0's per-packet RTP analysis for every stream at once.

    Parameters
    ----------
    stream : int array
        Stream id 0..n_streams-1 of each packet (file order).
    t_ms : float64 array
        Arrival [ms] since the capture's first frame (:func:`rel_ms`).
    seq, ts, pt : int arrays
        RTP sequence number, timestamp [clock ticks], payload type.
    marker : bool array
        RTP marker bit.
    clock : int array
        Clock rate [Hz] per packet as Wireshark resolves it (0 = unknown or
        telephone-event: no jitter).
    n_streams : int
        Number of streams S (ids 0..S-1).
    tevent : bool array, optional
        Packets whose payload is telephone-event (RFC 4733), for FLAG_PT_T_EVENT.
    per_packet : bool
        Also return the per-packet delta/jitter/skew/flags (else those are None; the
        stream table does not need them, and skipping them saves memory and time).

    Returns
    -------
    StreamStats
        Per packet (input order): delta, jitter, skew [ms] and FLAG_* bits; per stream:
        packets, expected, lost, lost_pct [%], seq_errors, cycles, min/mean/max delta
        and jitter [ms], max_skew [ms], clock_rate [Hz], problem.

    References
    ----------
    RFC 3550 section 6.4.1 (interarrival jitter) and appendix A.1, A.3 (sequence
    numbers, expected and lost packets), A.8 (jitter); Wireshark 4.0.17
    ui/tap-rtp-analysis.c (``rtppacket_analyse``) and ui/tap-rtp-common.c
    (``rtpstream_info_calculate``).

    Examples
    --------
    One 8 kHz stream, 20 ms (160-tick) packets arriving at 0, 20, 45 and 60 ms, sequence
    number 3 missing. Deltas 20, 25, 15 ms; the transit differences |D| are 0, 5, 5 ms, so
    the jitter runs 0, 0 + (5 - 0)/16 = 0.3125, 0.3125 + (5 - 0.3125)/16 = 0.60546875 ms;
    expected = 5 - 1 + 1 = 5 packets, lost = 5 - 4 = 1 (20 %); the third packet is 5 ms
    later than its timestamp says (skew -5 ms):

    >>> import numpy as np
    >>> s = analyze_streams(stream=[0, 0, 0, 0], t_ms=[0.0, 20.0, 45.0, 60.0],
    ...                     seq=[1, 2, 4, 5], ts=[0, 160, 320, 480], pt=[0, 0, 0, 0],
    ...                     marker=[False] * 4, clock=[8000] * 4, n_streams=1)
    >>> s.delta.tolist(), s.jitter.tolist(), s.skew.tolist()
    ([0.0, 20.0, 25.0, 15.0], [0.0, 0.0, 0.3125, 0.60546875], [0.0, 0.0, -5.0, 0.0])
    >>> s.flags.tolist() == [FLAG_FIRST, 0, FLAG_WRONG_SEQ, 0]
    True
    >>> int(s.expected[0]), int(s.lost[0]), float(s.lost_pct[0]), bool(s.problem[0])
    (5, 1, 20.0, True)
    >>> float(s.min_delta[0]), float(s.mean_delta[0]), float(s.max_delta[0])
    (15.0, 20.0, 25.0)
    >>> round(float(s.mean_jitter[0]), 6), float(s.max_jitter[0])    # (0 + 0.3125 + 0.60546875) / 3
    (0.30599, 0.60546875)
    """
    order, counts, starts = _groups(np.asarray(stream, dtype=np.int64), n_streams)
    t = np.asarray(t_ms, dtype=np.float64)[order]
    n = len(t)
    sq = np.asarray(seq, dtype=np.int32)[order]
    tsa = np.asarray(ts, dtype=np.int64)[order]
    p = np.asarray(pt, dtype=np.int16)[order]
    mk = np.asarray(marker, dtype=bool)[order]
    ck = np.asarray(clock, dtype=np.int32)[order]
    gid = np.repeat(np.arange(n_streams), counts)
    pos = np.arange(n) - starts[gid]
    first = pos == 0
    fidx = starts[gid]
    d = (tsa - tsa[fidx]) & 0xFFFFFFFF
    in_seq = np.where(tsa >= tsa[fidx], d < _HALF, d <= _HALF) | first
    wrong_ts = ~in_seq

    s_prev = _tracked_seq(sq, in_seq, first)
    adv = _advances(sq, s_prev, in_seq)
    clean = (sq == s_prev + 1) | ((s_prev == 65535) & (sq == 0))
    wrong_seq = ~first & ((adv & ~clean) | (~adv & (s_prev + 1 > sq)))
    start_seq = sq[starts] if n else np.zeros(0, np.int64)
    cycles = _cycles(sq, in_seq, first, gid, start_seq, n_streams)

    cn = (p == 13) | (p == 19)
    prev_pt = np.empty_like(p)
    prev_pt[1:] = p[:-1]
    prev_pt[first] = p[first]
    follow_cn = ~first & ((prev_pt == 13) | (prev_pt == 19))
    del prev_pt

    # arrival of the previous in-sequence packet ("statinfo->time")
    ref = _ffill_index(in_seq)
    prev_ref = np.empty(n, np.int64)
    prev_ref[1:] = ref[:-1]
    prev_ref[first] = fidx[first]
    t_prev = t[prev_ref]
    upd = in_seq & ~first
    jit = upd & (ck != 0)
    nominal = np.where(jit, _nominal(tsa, tsa[fidx], ck), 0.0)
    lastj = _ffill_index(jit | first)
    lastnom_idx = np.empty(n, np.int64)
    lastnom_idx[1:] = lastj[:-1]
    lastnom_idx[first] = fidx[first]
    lastnom = np.where(first[lastnom_idx], 0.0, nominal[lastnom_idx])
    expected_t = t_prev + (nominal - lastnom)
    del lastj, lastnom_idx, lastnom, ref, prev_ref
    diff = np.abs(t - expected_t)
    del expected_t
    delta_now = t - t_prev
    skew_now = nominal - (t - t[fidx])
    del t_prev, nominal

    jitter_now = np.zeros(n)
    for g in range(n_streams):
        sl = slice(starts[g], starts[g] + counts[g])
        sel = np.flatnonzero(jit[sl]) + starts[g]
        if len(sel):
            jitter_now[sel] = jitter_recursion(diff[sel], check=per_packet)

    regular = ~first & ~mk & ~cn & ~wrong_ts & ~follow_cn
    reg_jit = regular & (ck != 0)
    out = _per_stream(n_streams, counts, starts, gid, pos, regular, reg_jit, delta_now,
                      jitter_now, skew_now, jit, ck, sq, cycles, wrong_seq, wrong_ts, diff)
    if not per_packet:
        return StreamStats(delta=None, jitter=None, skew=None, flags=None, **out)
    if isinstance(order, slice):
        order = np.arange(n)
    te = (np.zeros(n, bool) if tevent is None else np.asarray(tevent, bool)[order]) & ~first
    flags = _flags(p, first, mk, cn, wrong_seq, wrong_ts, follow_cn, te, fidx)
    states = [_carry(np.where(m, v, np.nan), first)
              for m, v in ((upd, delta_now), (jit, jitter_now), (jit, skew_now))]
    inv = np.empty(n, np.int64)
    inv[order] = np.arange(n)
    return StreamStats(delta=states[0][inv], jitter=states[1][inv], skew=states[2][inv],
                       flags=flags[inv].astype(np.int32), **out)


def analyze_streams_batched(stream, t_ms, seq, ts, pt, marker, clock, n_streams,
                            batch: int = 1 << 17) -> StreamStats:
    """Per-stream results of :func:`analyze_streams`, computed on batches of whole
    streams of about `batch` packets each (bounded temporary memory).

    Parameters
    ----------
    stream, t_ms, seq, ts, pt, marker, clock, n_streams
        As :func:`analyze_streams` (arrays in file order; `t_ms` [ms], `ts` [clock
        ticks], `clock` [Hz]).
    batch : int
        Packets per batch [packets]; a stream is never split, so a batch holds at least
        one whole stream.

    Returns
    -------
    StreamStats
        The per-stream fields of :func:`analyze_streams`; the per-packet ones (delta,
        jitter, skew, flags) are None.

    References
    ----------
    As :func:`analyze_streams`: RFC 3550 section 6.4.1 and appendix A.8; Wireshark
    4.0.17 ui/tap-rtp-analysis.c and ui/tap-rtp-common.c.

    Examples
    --------
    The real AMR-WB call; ``tshark -q -z rtp,streams`` prints 551 packets, none lost, and
    max jitter 2.848 / 2.271 ms for the two directions. One batch or one per stream
    gives the same:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> r = find_rtp(read_capture(data.path("ringback_amrwb")))
    >>> args = (r.stream, r.t_ms, r.seq, r.timestamp, r.pt, r.marker, r.clock, r.n_streams)
    >>> s = analyze_streams_batched(*args)
    >>> s.packets.tolist(), s.lost.tolist(), s.max_jitter.round(3).tolist(), s.delta
    ([551, 551], [0, 0], [2.848, 2.271], None)
    >>> analyze_streams_batched(*args, batch=100).max_jitter.round(3).tolist()
    [2.848, 2.271]
    """
    stream = np.asarray(stream)
    key = stream.astype(np.uint16 if n_streams <= 65536 else np.int64)
    order = np.argsort(key, kind="stable")
    counts = np.bincount(stream, minlength=n_streams)
    ends = np.cumsum(counts)
    spans, g0, p0 = [], 0, 0
    while g0 < n_streams:
        g1 = int(np.searchsorted(ends, p0 + batch, side="right"))
        g1 = max(g1, g0 + 1)
        p1 = int(ends[g1 - 1])
        spans.append((g0, g1, p0, p1))
        g0, p0 = g1, p1

    def one(span):
        g0, g1, p0, p1 = span
        idx = order[p0:p1]
        take = lambda a: np.take(np.asarray(a), idx)  # noqa: E731  (twice as fast as a[idx])
        return analyze_streams(take(stream) - g0, take(t_ms), take(seq), take(ts), take(pt),
                               take(marker), take(clock), g1 - g0, per_packet=False)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(2, cpus or 1, len(spans))
    if workers > 1:   # numpy releases the GIL in its loops: two batches at a time
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(one, spans))
    else:
        parts = [one(sp) for sp in spans]
    if not parts:
        return analyze_streams(stream, t_ms, seq, ts, pt, marker, clock, 0, per_packet=False)
    if len(parts) == 1:
        return parts[0]
    per = {f: np.concatenate([getattr(x, f) for x in parts])
           for f in StreamStats.__dataclass_fields__ if f not in ("delta", "jitter", "skew", "flags")}
    return StreamStats(delta=None, jitter=None, skew=None, flags=None, **per)


def _carry(values, first):
    """Wireshark's running value: NaN (not updated) takes the previous packet's."""
    values[first] = 0.0
    return values[_ffill_index(~np.isnan(values))]


def _flags(p, first, mk, cn, wrong_seq, wrong_ts, follow_cn, te, fidx):
    """STAT_FLAG bits of every packet (sorted by stream)."""
    n = len(p)
    prev_pt = np.empty_like(p)
    prev_pt[1:] = p[:-1]
    prev_pt[first] = p[first]
    reg_src = _ffill_index(first | ~cn)
    reg_before = np.empty(n, np.int64)
    reg_before[1:] = reg_src[:-1]
    reg_before[first] = fidx[first]
    reg_change = ~first & ~cn & (p != p[reg_before])
    bits = ((first, FLAG_FIRST), (mk, FLAG_MARKER), (wrong_seq, FLAG_WRONG_SEQ),
            (~first & (p != prev_pt), FLAG_PT_CHANGE), (cn & ~first, FLAG_PT_CN),
            (follow_cn, FLAG_FOLLOW_PT_CN), (wrong_ts, FLAG_WRONG_TIMESTAMP),
            (reg_change, FLAG_REG_PT_CHANGE), (te, FLAG_PT_T_EVENT))
    flags = np.zeros(n, np.int32)
    for mask, bit in bits:
        flags[mask] |= bit
    return flags


def _per_stream(n_streams, counts, starts, gid, pos, regular, reg_jit, delta_now,
                jitter_now, skew_now, jit, ck, sq, cycles, wrong_seq, wrong_ts, diff):
    ends = starts + counts - 1
    stop = sq[ends] if len(sq) else np.zeros(0, np.int64)
    start = sq[starts] if len(sq) else np.zeros(0, np.int64)
    expected = (stop + cycles * 0x10000 - start + 1) & 0xFFFFFFFF
    lost = ((expected - counts + 2**31) % 2**32 - 2**31).astype(np.int64)
    lost100 = (lost * 100 + 2**31) % 2**32 - 2**31
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(expected != 0, lost100 / np.where(expected == 0, 1, expected), 0.0)
    res = {k: np.zeros(n_streams) for k in ("min_delta", "mean_delta", "max_delta",
                                             "min_jitter", "mean_jitter", "max_jitter",
                                             "max_skew")}
    rate = np.zeros(n_streams, np.int64)
    reg_g = np.bincount(gid[regular], minlength=n_streams)
    for g in range(n_streams):
        sl = slice(starts[g], starts[g] + counts[g])
        rd = np.flatnonzero(regular[sl]) + starts[g]
        rj = np.flatnonzero(reg_jit[sl]) + starts[g]
        dv, jv = delta_now[rd], jitter_now[rj]
        if len(jv):
            mean_j = _recursive_mean(jv, pos[rj])
            tie = _near_tie(np.array([jv.min(), jv.max(), mean_j]), 1000.0)
            if tie.any():
                js = np.flatnonzero(jit[sl]) + starts[g]
                seq_j, d_j = jitter_now[js], diff[js]
                # a tie of the min or max only: exact values at the candidates; of the
                # mean: the exact sequential recursion over the whole stream
                if tie[2] or not _exact_extremes(seq_j, d_j, np.searchsorted(js, rj),
                                                   tie[0], tie[1]):
                    seq_j = _jitter_exact(d_j)
                    mean_j = None
                jitter_now[js] = seq_j
                jv = jitter_now[rj]
        res["max_delta"][g] = max(0.0, float(dv.max())) if len(dv) else 0.0
        res["min_delta"][g] = _sentinel_min(dv)
        res["mean_delta"][g] = _recursive_mean(dv, pos[rd]) if reg_g[g] else 0.0
        res["max_jitter"][g] = max(0.0, float(jv.max())) if len(jv) else 0.0
        res["min_jitter"][g] = _sentinel_min(jv)
        res["mean_jitter"][g] = (mean_j if len(jv) and mean_j is not None
                                 else _recursive_mean(jv, pos[rj]))
        js = np.flatnonzero(jit[sl]) + starts[g]
        res["max_skew"][g] = _max_abs(skew_now[js])
        rate[g] = ck[js[-1]] if len(js) else 0
    prob = np.bincount(gid[wrong_seq | wrong_ts], minlength=n_streams) > 0
    seq_err = np.bincount(gid[wrong_seq], minlength=n_streams)
    return dict(packets=counts.astype(np.int64), expected=expected.astype(np.int64),
                lost=lost, lost_pct=pct.astype(np.float64), seq_errors=seq_err,
                cycles=cycles.astype(np.int64), clock_rate=rate, problem=prob, **res)


def _max_abs(values):
    """Wireshark keeps the skew whose absolute value is largest (first one on ties)."""
    m = 0.0
    if len(values):
        i = int(np.argmax(np.abs(values)))
        if abs(values[i]) > 0.0:
            m = float(values[i])
    return m
