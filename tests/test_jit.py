"""labkit._jit: the compiled loops give what the same code gives as plain Python.

Oracle for the values: the tshark comparisons of tests/capture, tests/rtp and
tests/quality, which run both ways (tests/conftest.py ``jit``). Here: the switch itself,
and the compiled RTP analysis against its plain-Python run on random streams with every
impairment (reorder, duplicates, wraps, CN, markers, timestamp jumps, unknown clocks).
"""
import numpy as np
import pytest

from labkit import _jit
from labkit.rtp import _kernel


def _random(seed, n=3000, k=7):
    rng = np.random.default_rng(seed)
    stream = rng.integers(0, k, n)
    t = np.sort(rng.uniform(0, 60_000, n))
    seq = (np.arange(n) + rng.integers(-3, 4, n)) % 65536
    ts = rng.integers(0, 2**32, n) if seed % 2 else (np.arange(n) * 160 + rng.integers(-500, 500, n)) % 2**32
    pt = rng.choice([0, 8, 13, 19, 96, 101], n)
    mk = rng.random(n) < 0.05
    clock = np.where(pt >= 96, 0, 8000)
    te = pt == 101
    return (stream.astype(np.int64), t, seq.astype(np.int64), ts.astype(np.int64),
            pt.astype(np.int64), mk, clock.astype(np.int64), te, k, True)


def _pass(fn, args, pieces=1):
    """State and per-packet outputs of the analysis of `args`, fed in `pieces`."""
    *cols, k, per_packet = args
    state = _kernel.new_state(k)
    outs = []
    for part in np.array_split(np.arange(len(cols[0])), pieces):
        outs.append(fn(*state, *(c[part] for c in cols), per_packet))
    return state, [np.concatenate(o) for o in zip(*outs)]


@pytest.mark.parametrize("seed", range(4))
def test_compiled_analysis_equals_the_same_code_in_python(seed):
    args = _random(seed)
    a = _pass(_kernel.analyze_into, args)
    b = _pass(_jit.compiled(_kernel.analyze_into), args)
    for x, y in zip([*a[0], *a[1]], [*b[0], *b[1]]):
        assert np.array_equal(x, y), (x, y)    # bit for bit (NaN-free)


@pytest.mark.parametrize("pieces", [2, 7, 3000])
def test_the_analysis_fed_in_pieces_equals_one_pass(pieces):
    args = _random(11)
    whole = _pass(_kernel.analyze_into, args)
    cut = _pass(_jit.compiled(_kernel.analyze_into), args, pieces)
    for x, y in zip([*whole[0], *whole[1]], [*cut[0], *cut[1]]):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("mode", ["python", "compiled"])
def test_stream_keys_number_tuples_by_first_appearance(mode):
    rng = np.random.default_rng(5)
    n = 200_000 if mode == "compiled" else 5_000    # plain Python: a slow loop
    # few values per field, so that tuples differ in one field only; SSRCs with high
    # and low halves that would collide if the fields were mixed carelessly
    cols = [rng.integers(0, 9, n), rng.integers(0, 3, n) * 20_000, rng.integers(0, 9, n),
            rng.integers(0, 3, n), rng.choice([0, 1, 0x10000, 0xFFFF0000, 2**32 - 1], n)]
    fn = _kernel.stream_keys if mode == "python" else _jit.compiled(_kernel.stream_keys)
    with np.errstate(over="ignore"):    # the hash wraps modulo 2**64 by design
        codes, first = fn(*cols)
    # oracle: numpy's sort-based unique of the exact tuples, renumbered by first occurrence
    rows = np.stack(cols, axis=1)
    uniq, first_at, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first_at)] = np.arange(len(uniq))
    assert np.array_equal(codes, rank[inverse.ravel()])
    assert np.array_equal(first, np.sort(first_at))


def test_the_threshold_picks_the_version(monkeypatch):
    calls = []
    monkeypatch.setattr(_jit, "compiled", lambda fn: (calls.append(fn), fn)[1])
    monkeypatch.setattr(_jit, "COMPILE_MIN", 100)
    _jit.forget()
    _jit.run(len, 99, [1])
    assert calls == []
    _jit.run(len, 100, [1])
    assert calls == [len]


def test_once_numba_is_loaded_smaller_inputs_run_compiled(monkeypatch):
    monkeypatch.setattr(_jit, "COMPILE_MIN", 1 << 40)
    _jit.forget()
    assert not _jit.use_compiled(20_000)
    _jit.compiled(_kernel.stream_keys)
    assert _jit.use_compiled(20_000) and not _jit.use_compiled(_jit.WARM_MIN - 1)
