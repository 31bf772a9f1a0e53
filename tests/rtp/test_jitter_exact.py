"""Printed jitter figures of a stream whose minimum lies on a rounding tie.

Oracle: Wireshark 4.0.17 ui/tap-rtp-analysis.c's sequential double arithmetic, written
out here for a plain stream (in sequence, no marker, one clock rate):
D = |(t_k - t_(k-1)) - (ts_k - ts_(k-1)) / (clock / 1000)|, J = (15 J + D) / 16.
"""
import numpy as np

from labkit.rtp.stats import analyze_streams


def _oracle(t_ms, ts, clock):
    j, out = 0.0, []
    for k in range(1, len(t_ms)):
        d = abs((t_ms[k] - t_ms[k - 1]) - (ts[k] - ts[k - 1]) / (clock // 1000))
        j = (15 * j + d) / 16
        out.append(j)
    return out


def _stream(n):
    """20 ms packets, 0-1 ms random lateness (3 late by 5 ms first), scaled so that
    the smallest jitter of the stream lands on the 3-decimal tie x.xxx5."""
    late = np.random.default_rng(0).uniform(0, 1, n - 1)
    late[:3] = 5.0
    lowest = min(_oracle(np.concatenate(([0.0], np.cumsum(20.0 + late))).tolist(),
                         (160 * np.arange(n)).tolist(), 8000))
    late *= (np.floor(lowest * 1000) + 0.5) / 1000 / lowest
    return np.concatenate(([0.0], np.cumsum(20.0 + late))), 160 * np.arange(n)


def test_min_jitter_on_a_tie_is_wireshark_s_to_the_last_bit():
    n = 12000
    t, ts = _stream(n)
    j = _oracle(t.tolist(), ts.tolist(), 8000)
    assert abs(min(j) * 1000 % 1.0 - 0.5) < 1e-6              # on a tie
    d = np.abs(np.diff(t) - 20.0)
    fast = d * 0.0625                  # a parallel prefix scan of the recursion is 1 ulp off
    step, coef = 1, 0.9375
    while step < len(fast):
        fast[step:] = fast[step:] + coef * fast[:-step]
        step, coef = step * 2, coef * coef
    assert fast.min() != min(j)
    s = analyze_streams(np.zeros(n, int), t, np.arange(n) % 65536, ts, np.zeros(n, int),
                        np.zeros(n, bool), np.full(n, 8000), 1, per_packet=False)
    assert float(s.min_jitter[0]) == min(j) and float(s.max_jitter[0]) == max(j)
