"""Wireshark 4.0 RTP stream statistics.

This is the arithmetic of Wireshark 4.0.17 ``rtppacket_analyse()``
(ui/tap-rtp-analysis.c) and ``rtpstream_info_calculate()`` (ui/tap-rtp-common.c),
re-implemented from reading them: one call computes every stream of a capture. What it
reproduces (RFC 3550 section 6.4.1 and A.8, as Wireshark does it):

- time base: arrival [ms] since the capture's first frame, as ``nstime_to_msec``;
- in-sequence test against the *first* packet's timestamp (not the previous one);
- sequence errors (forward jump = 1, late/duplicate = 1 and the tracked number does
  not move), wrap cycles, expected = last + cycles * 65536 - first + 1;
- jitter J += (|D| - J)/16 with D against the previous in-sequence packet and the
  nominal time from the timestamp at ``ts / (clock_rate // 1000)`` [ms];
- which packets feed min/mean/max delta and jitter (not first, marker, CN, after CN,
  wrong timestamp), the means' recursion ``m = (m * (n - 1) + x) / n`` with n the
  packet index, max starting at 0 and min at -1.

The per-packet loop is Wireshark's own order of operations, compiled
(:mod:`labkit.rtp._kernel`, numba): a sequential pass over all streams at once, in
double arithmetic step for step, so printed figures are Wireshark's to the last digit
(rounding ties included) at tens of millions of packets per second.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit import _jit
from labkit.rtp import _kernel

__all__ = ["StreamStats", "analyze_streams", "RunningAnalysis", "rel_ms", "FLAG_FIRST", "FLAG_MARKER",
           "FLAG_WRONG_SEQ", "FLAG_PT_CHANGE", "FLAG_PT_CN", "FLAG_FOLLOW_PT_CN",
           "FLAG_REG_PT_CHANGE", "FLAG_WRONG_TIMESTAMP", "FLAG_PT_T_EVENT"]

# status flags, same bits as Wireshark's STAT_FLAG_* (ui/tap-rtp-analysis.h)
FLAG_FIRST, FLAG_MARKER, FLAG_WRONG_SEQ, FLAG_PT_CHANGE = 0x1, 0x2, 0x4, 0x8
FLAG_PT_CN, FLAG_FOLLOW_PT_CN, FLAG_REG_PT_CHANGE = 0x10, 0x20, 0x40
FLAG_WRONG_TIMESTAMP, FLAG_PT_T_EVENT = 0x80, 0x100

_NS = 1_000_000_000


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
    stream = _stream_ids(stream, n_streams, "analyze_streams")
    state = _kernel.new_state(int(n_streams))
    delta, jitter, skew, flags = _feed(state, stream, t_ms, seq, ts, pt, marker, clock,
                                       tevent, per_packet)
    per = _per_stream(state)
    if not per_packet:
        return StreamStats(delta=None, jitter=None, skew=None, flags=None, **per)
    return StreamStats(delta=delta, jitter=jitter, skew=skew, flags=flags, **per)


def _stream_ids(stream, n_streams: int, who: str) -> np.ndarray:
    """`stream` as an array, every id a row of the state (the compiled pass does not check)."""
    stream = np.asarray(stream)
    if len(stream) and (stream.min() < 0 or stream.max() >= n_streams):
        raise ValueError(f"{who}: stream ids must lie in 0..{n_streams - 1}, "
                         f"got {int(stream.min())}..{int(stream.max())}")
    return stream


def _feed(state, stream, t_ms, seq, ts, pt, marker, clock, tevent, per_packet):
    """Run the pass over these packets from `state` (:func:`labkit.rtp._kernel.new_state`)."""
    n = len(stream)
    c = np.ascontiguousarray   # integer columns keep their width: the pass reads int64
    te = np.zeros(n, bool) if tevent is None else c(tevent, dtype=bool)
    return _jit.run(_kernel.analyze_into, n, *state, c(stream), c(t_ms, dtype=np.float64),
                    c(seq), c(ts), c(pt), c(marker, dtype=bool), c(clock), te,
                    bool(per_packet))


def _per_stream(state) -> dict:
    """The per-stream fields of :class:`StreamStats` from the pass's state (RFC 3550
    A.3: expected = highest extended sequence number - first + 1, in Wireshark's
    32-bit arithmetic; lost = expected - received as a signed 32-bit number)."""
    ints, floats, bools = state
    i = {k: ints[:, j] for j, k in enumerate(_kernel.INT_STATE)}
    f = {k: floats[:, j].copy() for j, k in enumerate(_kernel.FLOAT_STATE)}
    counts, start, stop, cycles = i["count"].copy(), i["start_seq"], i["prev_seq"], i["cycles"].copy()
    expected = (stop + cycles * 0x10000 - start + 1) & 0xFFFFFFFF
    expected = np.where(counts > 0, expected, 0)
    lost = ((expected - counts + 2**31) % 2**32 - 2**31).astype(np.int64)
    lost100 = (lost * 100 + 2**31) % 2**32 - 2**31
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(expected != 0, lost100 / np.where(expected == 0, 1, expected), 0.0)
    return dict(packets=counts, expected=expected.astype(np.int64), lost=lost,
                lost_pct=pct.astype(np.float64), seq_errors=i["seq_errors"].copy(),
                cycles=cycles, min_delta=f["min_delta"], mean_delta=f["mean_delta"],
                max_delta=f["max_delta"], min_jitter=f["min_jitter"],
                mean_jitter=f["mean_jitter"], max_jitter=f["max_jitter"],
                max_skew=f["max_skew"], clock_rate=i["rate"].copy(),
                problem=bools[:, 1].copy())


class RunningAnalysis:
    """:func:`analyze_streams` fed in pieces: the per-stream results of a capture whose
    RTP packets come chunk after chunk (file order), without keeping them.

    The pass keeps, per stream, what Wireshark's ``rtppacket_analyse`` keeps between
    packets; each :meth:`add` continues it, so the result is the one a single pass
    over all packets gives, value for value (:mod:`labkit.rtp.scan` reads captures of
    any size this way).

    References
    ----------
    As :func:`analyze_streams`.

    Examples
    --------
    The packets of the :func:`analyze_streams` example, in two pieces:

    >>> r = RunningAnalysis()
    >>> r.add(stream=[0, 0], t_ms=[0.0, 20.0], seq=[1, 2], ts=[0, 160], pt=[0, 0],
    ...       marker=[False] * 2, clock=[8000] * 2, n_streams=1)
    >>> r.add(stream=[0, 0], t_ms=[45.0, 60.0], seq=[4, 5], ts=[320, 480], pt=[0, 0],
    ...       marker=[False] * 2, clock=[8000] * 2, n_streams=1)
    >>> s = r.result()
    >>> int(s.lost[0]), float(s.max_jitter[0])
    (1, 0.60546875)
    """

    def __init__(self):
        self._state = _kernel.new_state(0)   # rows: room for streams (doubling)
        self.n_streams = 0                    # streams known so far

    def add(self, stream, t_ms, seq, ts, pt, marker, clock, n_streams, tevent=None) -> None:
        """Continue the pass with these packets (arrays as :func:`analyze_streams`);
        `n_streams`: streams known so far (ids 0..n_streams-1), which only grows."""
        if n_streams < self.n_streams:
            raise ValueError(f"RunningAnalysis.add: n_streams went down from "
                             f"{self.n_streams} to {n_streams}")
        stream = _stream_ids(stream, n_streams, "RunningAnalysis.add")
        room = len(self._state[0])
        if n_streams > room:
            self._state = _kernel.new_state(max(int(n_streams), 2 * room), self._state)
        self.n_streams = int(n_streams)
        _feed(self._state, stream, t_ms, seq, ts, pt, marker, clock, tevent, False)

    def result(self) -> StreamStats:
        """Per-stream fields of :class:`StreamStats` so far (per-packet fields None)."""
        state = tuple(a[:self.n_streams] for a in self._state)
        return StreamStats(delta=None, jitter=None, skew=None, flags=None,
                           **_per_stream(state))


