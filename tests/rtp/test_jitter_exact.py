"""Printed jitter figures of a stream whose minimum lies on a rounding tie.

Oracle: Wireshark 4.0.17 ui/tap-rtp-analysis.c's sequential double arithmetic, written
out here for a plain stream (in sequence, no marker, one clock rate):
D = |(t_k - t_(k-1)) - (ts_k - ts_(k-1)) / (clock / 1000)|, J = (15 J + D) / 16.
"""
import numpy as np

from labkit.rtp.stats import analyze_streams, jitter_recursion


def _oracle(t_ms, ts, clock):
    j, out = 0.0, []
    for k in range(1, len(t_ms)):
        d = abs((t_ms[k] - t_ms[k - 1]) - (ts[k] - ts[k - 1]) / (clock // 1000))
        j = (15 * j + d) / 16
        out.append(j)
    return out


def test_min_jitter_on_a_tie_is_wireshark_s_to_the_last_bit():
    n = 12000
    # packets 20.0625 ms apart (plus sub-ns noise) after 10 that are 3 ms late each:
    # the jitter falls to 1/16 ms = 0.0625, within 1e-6 of the 3-decimal tie 0.0625
    gap = 20.0625 + np.random.default_rng(1).uniform(0, 1e-9, n - 1)
    gap[:10] = 23.0
    t = np.concatenate(([0.0], np.cumsum(gap)))
    ts = 160 * np.arange(n)
    j = _oracle(t.tolist(), ts.tolist(), 8000)
    assert abs(min(j) - 0.0625) < 1e-6
    d = np.abs(np.diff(t) - 20.0)
    assert jitter_recursion(d, check=False).min() != min(j)   # the fast scan is 1 ulp off
    s = analyze_streams(np.zeros(n, int), t, np.arange(n) % 65536, ts, np.zeros(n, int),
                        np.zeros(n, bool), np.full(n, 8000), 1, per_packet=False)
    assert float(s.min_jitter[0]) == min(j) and float(s.max_jitter[0]) == max(j)
