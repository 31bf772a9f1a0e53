"""Jitter-buffer simulations: which packets a receiver would play and which it drops late.

Two kinds, as VoIPmonitor runs them (mos_f1 / mos_f2 fixed 50 / 200 ms, mos_adapt
adaptive up to 500 ms):

- :func:`fixed_buffer`: playout(i) = first arrival + N + (ts_i - ts_0)/rate; a packet
  arriving after its playout instant is discarded ("late").
- :func:`adaptive_buffer`: a simplified model of the Asterisk ``jitterbuf`` algorithm
  (main/jitterbuf.c): the last 500 delays, 3 % trimmed at each end, target = 97th
  percentile + 40 ms capped at 3rd percentile + max; grow by one frame when the target
  is above the current playout delay (at most every 40 ms), shrink by one frame when it
  is more than 40 ms below (at most every 500 ms). Not modelled: resynchronisation after
  3 packets with large delay jumps, talkspurt (silence) handling. A simulation, not
  Asterisk's exact output.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fixed_buffer", "adaptive_buffer", "late_discards"]


def fixed_buffer(t_ms: np.ndarray, nominal_ms: np.ndarray, buffer_ms: float) -> np.ndarray:
    """Late packets of a fixed jitter buffer of `buffer_ms`.

    Parameters
    ----------
    t_ms : numpy.ndarray
        Arrival [ms] of each packet, capture order; the first is the stream's first packet.
    nominal_ms : numpy.ndarray
        RTP timestamp [ms] since the first packet.
    buffer_ms : float
        Buffer depth N [ms].

    Returns
    -------
    numpy.ndarray of bool
        True = arrived after its playout instant t_0 + N + nominal (discarded).

    References
    ----------
    REFERENCE.md section 5 (fixed buffer, VoIPmonitor mos_f1/mos_f2 [src]); Wireshark's
    RTP player uses the same idea with |arrival - rtp_time| > 50 ms.

    Examples
    --------
    20 ms packets; a 200 ms stall holds the packets of 60..240 ms, released back to back
    at 260 ms. A 60 ms buffer plays packet ts at 60 + ts: the ones due before 260 ms
    (ts 60, 80, ..., 180: seven) are late (REFERENCE.md section 5: "drops 7").

    >>> nom = np.arange(0, 300, 20.0)
    >>> arr = np.where((nom >= 60) & (nom <= 240), 260.0, nom)
    >>> int(fixed_buffer(arr, nom, 60).sum())
    7
    """
    t = np.asarray(t_ms, dtype=np.float64)
    nom = np.asarray(nominal_ms, dtype=np.float64)
    if len(t) == 0:
        return np.zeros(0, bool)
    return t > t[0] + buffer_ms + nom


def adaptive_buffer(t_ms: np.ndarray, nominal_ms: np.ndarray, ptime_ms: float,
                    max_ms: float = 500.0, extra_ms: float = 40.0, history: int = 500):
    """Late packets of an adaptive buffer modelled on Asterisk's jitterbuf.

    Parameters
    ----------
    t_ms, nominal_ms : numpy.ndarray
        Arrival [ms] and RTP timestamp [ms since the first packet], capture order.
    ptime_ms : float
        Frame length [ms]: the step by which the buffer grows or shrinks.
    max_ms : float
        Largest playout delay above the minimum delay [ms] (VoIPmonitor's mos_adapt: 500).
    extra_ms : float
        JB_TARGET_EXTRA [ms] (Asterisk: 40).
    history : int
        Delays kept (JB_HISTORY_SZ, Asterisk: 500).

    Returns
    -------
    late : numpy.ndarray of bool
        Discarded packets.
    playout_ms : numpy.ndarray
        Playout delay in force when each packet arrived [ms] (delay = arrival - nominal).

    References
    ----------
    Asterisk main/jitterbuf.c (JB_HISTORY_SZ 500, JB_HISTORY_DROPPCT 3, JB_TARGET_EXTRA
    40, JB_ADJUST_DELAY 40) as REFERENCE.md section 5 summarises it [src];
    VoIPmonitor rtp.cpp mos_adapt.

    Examples
    --------
    A steady stream (delay 5 ms) is never late. With delay 0 the playout delay starts at
    0 + 40 ms; a stall holds the packets of 1000..1180 ms until 1200 ms: their delays are
    200, 180, ..., 20 ms. With the third held packet the 97th percentile of the
    53 delays kept so far is 160 ms, the target rises and the buffer grows one frame to
    60 ms: the packets with delays 200 ... 80 ms (7) are late, 60 and 40 are not.

    >>> nom = np.arange(0, 2000, 20.0)
    >>> late, _ = adaptive_buffer(nom + 5.0, nom, 20.0)
    >>> int(late.sum())
    0
    >>> arr = np.where((nom >= 1000) & (nom <= 1180), 1200.0, nom)
    >>> int(adaptive_buffer(arr, nom, 20.0)[0].sum())
    7
    """
    t = np.asarray(t_ms, dtype=np.float64)
    d = t - np.asarray(nominal_ms, dtype=np.float64)
    n = len(d)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0)
    target = _targets(d, max_ms, extra_ms, history)
    starts, values = [0], [float(d[0]) + extra_ms]
    cur, last_grow, last_shrink, i = values[0], float(t[0]), float(t[0]), 0
    while i < n:
        j = _next_candidate(target, i, cur, extra_ms)
        if j < 0:
            break
        if target[j] > cur:
            if t[j] - last_grow < extra_ms:   # not yet: look again once 40 ms have passed
                i = max(j + 1, int(np.searchsorted(t, last_grow + extra_ms, side="left")))
                continue
            cur, last_grow = cur + ptime_ms, float(t[j])
        else:
            if t[j] - last_shrink < 500.0:
                i = max(j + 1, int(np.searchsorted(t, last_shrink + 500.0, side="left")))
                continue
            cur, last_shrink = cur - ptime_ms, float(t[j])
        starts.append(j + 1)   # the packet at j was judged before the change
        values.append(cur)
        i = j + 1
    playout = np.repeat(values, np.diff(np.append(starts, n)))
    return d > playout, playout


def _targets(d, max_ms, extra_ms, history):
    """target_i = min(97th + extra, 3rd + max) over the last `history` delays (incl. i),
    order statistics at int(q (m - 1)) as Asterisk's trimmed history (pandas' skiplist).
    The 3rd percentile is only needed where the window spans more than max - extra
    (its minimum bounds it): computed exactly there, rarely."""
    import pandas as pd
    roll = pd.Series(d).rolling(history, min_periods=1)
    hi = roll.quantile(0.97, interpolation="lower").to_numpy()
    target = hi + extra_ms
    wide = np.flatnonzero(hi - roll.min().to_numpy() > max_ms - extra_ms)
    for i in wide.tolist():
        w = d[max(0, i - history + 1):i + 1]
        lo = float(np.partition(w, int(0.03 * (len(w) - 1)))[int(0.03 * (len(w) - 1))])
        target[i] = min(target[i], lo + max_ms)
    return target


def _next_candidate(target, i, cur, extra_ms, chunk=4096) -> int:
    """First index >= i where the target asks to grow or to shrink (-1: none)."""
    n = len(target)
    while i < n:
        part = target[i:i + chunk]
        hit = np.flatnonzero((part > cur) | (part < cur - extra_ms))
        if len(hit):
            return i + int(hit[0])
        i += chunk
    return -1


def late_discards(late: np.ndarray, seq: np.ndarray) -> int:
    """Number of distinct packets discarded as late (a duplicate counts once, and not
    at all when another copy was in time).

    Parameters
    ----------
    late : numpy.ndarray of bool
        Per received packet.
    seq : numpy.ndarray
        Extended sequence numbers of the same packets.

    Returns
    -------
    int

    References
    ----------
    RFC 3611 section 4.7.1 (discard rate: packets discarded on arrival, late or early).

    Examples
    --------
    >>> late_discards(np.array([True, False, True, True]), np.array([1, 1, 2, 3]))
    2
    """
    seq = np.asarray(seq)
    late = np.asarray(late, bool)
    if not late.any():
        return 0
    dropped = np.unique(seq[late])
    return int(len(dropped) - np.count_nonzero(np.isin(dropped, seq[~late])))
