"""Loss pattern metrics: RFC 3611 burst/gap (VoIP Metrics block) and the burst ratio.

Input is a boolean "lost" per expected packet in sequence order: lost in the network or
discarded by the jitter buffer (RFC 3611 section 4.7.2 counts both).
"""
from __future__ import annotations

import numpy as np

__all__ = ["loss_pattern", "burst_gap", "burst_ratio", "GMIN"]

GMIN = 16   # RFC 3611 section 4.7.2: recommended Gmin


def loss_pattern(seq: np.ndarray, discarded: np.ndarray | None = None) -> np.ndarray:
    """Lost-or-discarded flag of every expected packet, first to last sequence number.

    Parameters
    ----------
    seq : numpy.ndarray
        Extended sequence numbers received (any order, duplicates allowed).
    discarded : numpy.ndarray of bool, optional
        Per received packet: dropped by the jitter buffer (late).

    Returns
    -------
    numpy.ndarray of bool
        Length last - first + 1; True = lost or discarded (a packet counts as received
        when at least one copy was received and not discarded).

    References
    ----------
    RFC 3611 section 4.7.2 ("lost or discarded").

    Examples
    --------
    >>> loss_pattern(np.array([10, 11, 13, 14]), np.array([False, True, False, False])).tolist()
    [False, True, True, False, False]
    """
    seq = np.asarray(seq, dtype=np.int64)
    if len(seq) == 0:
        return np.zeros(0, bool)
    first = int(seq.min())
    got = np.zeros(int(seq.max()) - first + 1, bool)
    keep = np.ones(len(seq), bool) if discarded is None else ~np.asarray(discarded, bool)
    got[seq[keep] - first] = True
    return ~got


def burst_gap(lost: np.ndarray, ptime_ms: float, gmin: int = GMIN) -> dict:
    """RFC 3611 burst and gap densities [%] and mean durations [ms].

    A burst is the longest run that starts and ends with a lost/discarded packet and
    contains no ``gmin`` consecutive received packets; an isolated loss (no other loss
    within ``gmin`` packets) belongs to the gap, as in the counter of RFC 3611 appendix
    A.2 (c14). Everything outside bursts is gap.

    Parameters
    ----------
    lost : numpy.ndarray of bool
        Per expected packet, in sequence order (:func:`loss_pattern`).
    ptime_ms : float
        Packet interval [ms], to turn packets into durations.
    gmin : int
        Minimum gap length [packets].

    Returns
    -------
    dict
        bursts (count), burst_density [%], gap_density [%], burst_duration_ms (mean),
        gap_duration_ms (mean), loss_pct [%].

    References
    ----------
    RFC 3611 section 4.7.2 (burst/gap metrics) and appendix A.2 (the 4-state counter).

    Examples
    --------
    Two losses 3 packets apart make one burst of 5 packets (2 lost: 40 %); the isolated
    loss 20 packets later is gap loss: 1 lost in the 25 other packets (4 %).

    >>> lost = np.zeros(30, bool); lost[[2, 6, 26]] = True
    >>> burst_gap(lost, 20.0)
    {'bursts': 1, 'burst_density': 40.0, 'gap_density': 4.0, 'burst_duration_ms': 100.0, 'gap_duration_ms': 250.0, 'loss_pct': 10.0}
    """
    lost = np.asarray(lost, bool)
    n = len(lost)
    where = np.flatnonzero(lost)
    in_burst = np.zeros(n, bool)
    bursts = 0
    if len(where):
        cut = np.flatnonzero(np.diff(where) - 1 >= gmin) + 1
        for grp in np.split(where, cut):
            if len(grp) >= 2:
                in_burst[grp[0]:grp[-1] + 1] = True
                bursts += 1
    b_pk, b_lost = int(in_burst.sum()), int((lost & in_burst).sum())
    g_pk, g_lost = n - b_pk, int((lost & ~in_burst).sum())
    edges = np.diff(np.concatenate(([1], in_burst.astype(np.int8), [1])))
    gaps = int(np.sum(edges == -1))   # starts of non-burst runs
    return {"bursts": bursts,
            "burst_density": round(100.0 * b_lost / b_pk, 3) if b_pk else 0.0,
            "gap_density": round(100.0 * g_lost / g_pk, 3) if g_pk else 0.0,
            "burst_duration_ms": round(b_pk * ptime_ms / bursts, 3) if bursts else 0.0,
            "gap_duration_ms": round(g_pk * ptime_ms / gaps, 3) if gaps else 0.0,
            "loss_pct": round(100.0 * len(where) / n, 3) if n else 0.0}


def burst_ratio(lost: np.ndarray) -> float:
    """BurstR = 1 / (p + q) of the 2-state Markov model of the loss pattern.

    p = P(lost | previous received), q = P(received | previous lost); BurstR = 1 for
    random loss, > 1 when losses cluster. 1.0 when nothing (or everything) is lost.

    Parameters
    ----------
    lost : numpy.ndarray of bool
        Per expected packet, in sequence order.

    Returns
    -------
    float

    References
    ----------
    ITU-T G.107 (BurstR = 1/(p + q) in the effective equipment impairment Ie,eff), as
    REFERENCE.md section 5 gives it (read from a secondary source).

    Examples
    --------
    Pattern R R L L R R R R L L: from R, 2 of 6 transitions go to L (p = 1/3); from L,
    1 of 3 goes to R (q = 1/3; the last L has no successor): BurstR = 1 / (2/3) = 1.5.

    >>> burst_ratio(np.array([0, 0, 1, 1, 0, 0, 0, 0, 1, 1], bool))
    1.5
    >>> burst_ratio(np.array([0] * 8 + [1] * 4 + [0] * 8, bool))   # p = 1/15, q = 1/4
    3.1579
    """
    lost = np.asarray(lost, bool)
    a, b = lost[:-1], lost[1:]
    from_r, from_l = int(np.sum(~a)), int(np.sum(a))
    if from_r == 0 or from_l == 0:
        return 1.0
    p = np.sum(~a & b) / from_r
    q = np.sum(a & ~b) / from_l
    return round(float(1.0 / (p + q)), 4) if p + q > 0 else 1.0
