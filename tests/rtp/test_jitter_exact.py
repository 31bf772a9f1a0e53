"""The bracketed exact jitter at a few packets equals Wireshark's sequential recursion.

Oracle: the plain sequential double recursion J = (15 J + D) / 16 of Wireshark 4.0.17
ui/tap-rtp-analysis.c, run over the whole stream (``_jitter_exact``).
"""
import numpy as np

from labkit.rtp import stats as st


def test_exact_at_points_matches_sequential_recursion():
    rng = np.random.default_rng(7)
    # |D| values as the stream table sees them: mostly small, some bursts, exact zeros
    diff = np.abs(rng.normal(0.0, 2.0, 30000))
    diff[rng.integers(0, 30000, 300)] += 40.0
    diff[5000:5200] = 0.0
    exact = st._jitter_exact(diff)
    approx = st.jitter_recursion(diff, check=False)
    assert not np.array_equal(exact, approx)          # the scan is not bit-exact
    points = np.array([0, 1, 100, 2047, 2048, 2049, 5100, 5199, 17000, 29999])
    got = st._jitter_exact_at(diff, approx, points)
    assert got is not None
    assert {i: exact[i] for i in points.tolist()} == got


def test_exact_extremes_patch_min_and_max():
    rng = np.random.default_rng(11)
    diff = np.abs(rng.normal(0.0, 1.0, 20000))
    exact = st._jitter_exact(diff)
    seq = st.jitter_recursion(diff, check=False)
    at = np.arange(1, 20000, 3)                       # the "regular" packets
    assert st._exact_extremes(seq, diff, at)
    assert seq[at].min() == exact[at].min() and seq[at].max() == exact[at].max()


def test_too_many_candidates_asks_for_the_whole_stream():
    diff = np.ones(5000)                              # J climbs to 1: many near the max
    seq = st.jitter_recursion(diff, check=False)
    assert st._jitter_exact_at(diff, seq, np.arange(4000, 5000)) is None
