"""Wireshark 4.0's per-packet RTP analysis as one sequential pass, compiled (numba).

Internal engine of :func:`labkit.rtp.stats.analyze_streams` and
:class:`labkit.rtp.stats.RunningAnalysis`. Wireshark's
``rtppacket_analyse()`` (ui/tap-rtp-analysis.c) is a loop over packets with a little
state per stream; this is that loop, compiled by numba, over every stream of a capture
at once (state arrays indexed by stream id). Being sequential, its double arithmetic is
Wireshark's, step for step: the jitter J = (15 J + D)/16, the means
m = (m (n - 1) + x)/n with n the packet's index in its stream, min with -1 as unset,
max from 0, the skew of largest magnitude (the first on ties).

Plain Python functions, run compiled by :func:`labkit._jit.run` for large inputs (the
first compilation on a machine takes a few seconds and is cached next to this file).

References
----------
Wireshark 4.0.17 ui/tap-rtp-analysis.c (``rtppacket_analyse``) and ui/tap-rtp-common.c
(``rtpstream_info_calculate``); RFC 3550 section 6.4.1 and appendix A.1, A.3, A.8.
"""
from __future__ import annotations

import numpy as np

_HALF = 0x80000000
_U32 = 0xFFFFFFFF
# status flags, same bits as Wireshark's STAT_FLAG_* (ui/tap-rtp-analysis.h)
_FIRST, _MARKER, _WRONG_SEQ, _PT_CHANGE = 0x1, 0x2, 0x4, 0x8
_PT_CN, _FOLLOW_PT_CN, _REG_PT_CHANGE = 0x10, 0x20, 0x40
_WRONG_TIMESTAMP, _PT_T_EVENT = 0x80, 0x100


# the per-stream state of the pass, one row per stream: integer, float and bool columns
INT_STATE = ("count", "first_ts", "tracked", "start_seq", "prev_seq", "prev_pt", "reg_pt",
             "cycles", "seq_errors", "rate")
FLOAT_STATE = ("first_t", "t_ref", "last_nom", "jit_now", "run_delta", "run_skew",
               "min_delta", "mean_delta", "max_delta", "min_jitter", "mean_jitter",
               "max_jitter", "max_skew")
BOOL_STATE = ("last_ev_a", "problem")


def new_state(n_streams, old=None):
    """State of `n_streams` streams before their first packet: (int64, float64, bool)
    matrices with a row per stream (min delta and min jitter -1 = unset); with `old`,
    the rows of `old` kept (streams seen so far) and new rows added."""
    ints = np.zeros((n_streams, len(INT_STATE)), np.int64)
    floats = np.zeros((n_streams, len(FLOAT_STATE)), np.float64)
    floats[:, FLOAT_STATE.index("min_delta")] = -1.0
    floats[:, FLOAT_STATE.index("min_jitter")] = -1.0
    bools = np.zeros((n_streams, len(BOOL_STATE)), np.bool_)
    if old is not None:
        for new, prev in zip((ints, floats, bools), old):
            new[:len(prev)] = prev
    return ints, floats, bools


def analyze_into(ints, floats, bools, stream, t_ms, seq, ts, pt, marker, clock, tevent,
                 per_packet):
    """One pass over packets in file order, continuing from the per-stream state of
    :func:`new_state` (updated in place): a capture's packets fed in pieces, in file
    order, leave the state one pass over all of them leaves.

    Parameters are the state matrices, then equal-length arrays: stream id (int, a row
    of the state), arrival [ms] (float64), RTP sequence number, timestamp [ticks],
    payload type, marker (bool), clock rate [Hz] (0 = no jitter), telephone-event
    (bool); and `per_packet` (bool). Integer inputs of any width: each value is read
    as int64.

    Returns the per-packet delta, jitter, skew [ms] and flags of these packets (length 0
    unless `per_packet`); the per-stream results are the state's columns (packets,
    first and last sequence number, cycles, seq_errors, problem, min/mean/max delta and
    jitter [ms], max_skew [ms], clock_rate [Hz]).
    """
    n = len(stream)
    count, first_ts, tracked, start_seq = ints[:, 0], ints[:, 1], ints[:, 2], ints[:, 3]
    prev_seq, prev_pt, reg_pt, cycles = ints[:, 4], ints[:, 5], ints[:, 6], ints[:, 7]
    seq_errors, rate = ints[:, 8], ints[:, 9]
    first_t, t_ref, last_nom, jit_now = floats[:, 0], floats[:, 1], floats[:, 2], floats[:, 3]
    run_delta, run_skew, min_delta = floats[:, 4], floats[:, 5], floats[:, 6]
    mean_delta, max_delta, min_jitter = floats[:, 7], floats[:, 8], floats[:, 9]
    mean_jitter, max_jitter, max_skew = floats[:, 10], floats[:, 11], floats[:, 12]
    last_ev_a, problem = bools[:, 0], bools[:, 1]
    m = n if per_packet else 0
    o_delta = np.zeros(m, np.float64)
    o_jitter = np.zeros(m, np.float64)
    o_skew = np.zeros(m, np.float64)
    o_flags = np.zeros(m, np.int32)
    for k in range(n):
        g = stream[k]
        pos = count[g]
        count[g] = pos + 1
        q = np.int64(seq[k])
        tk = t_ms[k]
        tsk = np.int64(ts[k])
        p = np.int64(pt[k])
        ck = np.int64(clock[k])
        mk = marker[k]
        first = pos == 0
        if first:
            first_ts[g] = tsk
            first_t[g] = tk
            tracked[g] = q
            start_seq[g] = q
            prev_seq[g] = q
            prev_pt[g] = p
            reg_pt[g] = p
            t_ref[g] = tk
        d = (tsk - first_ts[g]) & _U32
        in_seq = first or ((d < _HALF) if tsk >= first_ts[g] else (d <= _HALF))
        wrong_ts = not in_seq
        s = tracked[g]
        adv = in_seq and (q == s + 1 or (s == 65535 and q == 0) or s + 1 < q
                          or s - q > 0xFF00)
        clean = q == s + 1 or (s == 65535 and q == 0)
        wrong_seq = (not first) and ((adv and not clean) or ((not adv) and s + 1 > q))
        if first or adv:
            tracked[g] = q
        if in_seq and not first:              # wrap cycles (A.1 as Wireshark counts them)
            is_a = q < start_seq[g] or (q == 0 and prev_seq[g] == 65535)
            if is_a or q > start_seq[g]:
                if is_a and not last_ev_a[g]:
                    cycles[g] += 1
                last_ev_a[g] = is_a
        cn = p == 13 or p == 19
        follow_cn = (not first) and (prev_pt[g] == 13 or prev_pt[g] == 19)
        upd = in_seq and not first
        jit = upd and ck != 0
        t_prev = t_ref[g]
        nominal = 0.0
        if jit:
            div = ck // 1000
            if div < 1:
                div = 1
            nominal = np.float64(d) / np.float64(div)
        delta_now = tk - t_prev
        if jit:
            expected_t = t_prev + (nominal - last_nom[g])
            diff = abs(tk - expected_t)
            jit_now[g] = (15 * jit_now[g] + diff) / 16
            skew_now = nominal - (tk - first_t[g])
            run_skew[g] = skew_now
            last_nom[g] = nominal
            if abs(skew_now) > abs(max_skew[g]):
                max_skew[g] = skew_now
            rate[g] = ck
        if upd:
            run_delta[g] = delta_now
        regular = (not first) and (not mk) and (not cn) and (not wrong_ts) and (not follow_cn)
        if regular:
            if delta_now > max_delta[g]:
                max_delta[g] = delta_now
            if min_delta[g] == -1.0 or delta_now < min_delta[g]:
                min_delta[g] = delta_now
            mean_delta[g] = (mean_delta[g] * (pos - 1) + delta_now) / pos
            if ck != 0:
                jv = jit_now[g]
                if jv > max_jitter[g]:
                    max_jitter[g] = jv
                if min_jitter[g] == -1.0 or jv < min_jitter[g]:
                    min_jitter[g] = jv
                mean_jitter[g] = (mean_jitter[g] * (pos - 1) + jv) / pos
        if wrong_seq:
            seq_errors[g] += 1
        if wrong_seq or wrong_ts:
            problem[g] = True
        if per_packet:
            o_delta[k] = run_delta[g]
            o_jitter[k] = jit_now[g]
            o_skew[k] = run_skew[g]
            f = 0
            if first:
                f |= _FIRST
            if mk:
                f |= _MARKER
            if wrong_seq:
                f |= _WRONG_SEQ
            if (not first) and p != prev_pt[g]:
                f |= _PT_CHANGE
            if cn and not first:
                f |= _PT_CN
            if follow_cn:
                f |= _FOLLOW_PT_CN
            if wrong_ts:
                f |= _WRONG_TIMESTAMP
            if (not first) and (not cn) and p != reg_pt[g]:
                f |= _REG_PT_CHANGE
            if tevent[k] and not first:
                f |= _PT_T_EVENT
            o_flags[k] = f
        if in_seq:
            t_ref[g] = tk
        if not cn:
            reg_pt[g] = p
        prev_pt[g] = p
        prev_seq[g] = q
    return o_delta, o_jitter, o_skew, o_flags


def stream_keys(src, sport, dst, dport, ssrc):
    """Codes 0..k-1 of the distinct (src, sport, dst, dport, ssrc) tuples in order of
    first appearance, and the position of each code's first occurrence (increasing).

    Address ids (int, below 2**32), ports (below 2**16) and the SSRC (32 bits) fill two
    64-bit words exactly, so the open-addressing table compares whole keys: no
    collision to check afterwards.
    """
    n = len(src)
    bits = 10
    cap = 1 << bits
    slot_code = np.full(cap, -1, np.int64)
    key_a = np.empty(max(n, 1), np.uint64)
    key_b = np.empty(max(n, 1), np.uint64)
    codes = np.empty(n, np.int64)
    first = np.empty(max(n, 1), np.int64)
    m = 0
    mult = np.uint64(0x9E3779B97F4A7C15)
    for i in range(n):
        s = np.uint64(ssrc[i])
        a = (np.uint64(src[i]) << np.uint64(16)) | np.uint64(sport[i]) | ((s >> np.uint64(16)) << np.uint64(48))
        b = (np.uint64(dst[i]) << np.uint64(16)) | np.uint64(dport[i]) | ((s & np.uint64(0xFFFF)) << np.uint64(48))
        h = np.int64(((a ^ (b * np.uint64(0xC2B2AE3D27D4EB4F))) * mult) >> np.uint64(64 - bits))
        while True:
            c = slot_code[h]
            if c < 0:
                slot_code[h] = m
                key_a[m] = a
                key_b[m] = b
                first[m] = i
                codes[i] = m
                m += 1
                if 2 * m > cap:                 # grow: load factor at most 1/2
                    bits += 1
                    cap = 1 << bits
                    slot_code = np.full(cap, -1, np.int64)
                    for j in range(m):
                        g = np.int64(((key_a[j] ^ (key_b[j] * np.uint64(0xC2B2AE3D27D4EB4F)))
                                      * mult) >> np.uint64(64 - bits))
                        while slot_code[g] >= 0:
                            g = (g + 1) & (cap - 1)
                        slot_code[g] = j
                break
            if key_a[c] == a and key_b[c] == b:
                codes[i] = c
                break
            h = (h + 1) & (cap - 1)
    return codes, first[:m]


def header_fields(head, rows, payload_len):
    """RTP header fields of candidate rows from their first 16 payload bytes.

    Parameters
    ----------
    head : uint8 matrix [n_packets, 16]
        First payload bytes of every packet (zero past the payload).
    rows : int64 array
        Candidate rows.
    payload_len : int array
        Payload length of every packet [bytes].

    Returns
    -------
    (b0, b1, seq, ts, ssrc, ext16, plen, hdr, slow)
        Per candidate: the first two octets, sequence number, timestamp, SSRC and the
        16-bit length word after a CSRC-free header (RFC 3550 5.1, 5.3.1); the payload
        length [bytes]; the header length [bytes] with CSRCs and, when there are no
        CSRCs, the extension; and whether the packet needs a look at its whole payload
        (an extension after CSRCs, or padding: RFC 3550 5.1 P bit).
    """
    n = len(rows)
    b0 = np.empty(n, np.int32)
    b1 = np.empty(n, np.int32)
    seq = np.empty(n, np.int32)
    ts = np.empty(n, np.uint32)
    ssrc = np.empty(n, np.uint32)
    ext16 = np.empty(n, np.int32)
    plen = np.empty(n, np.int64)
    hdr = np.empty(n, np.int32)
    slow = np.zeros(n, np.bool_)
    for k in range(n):
        r = rows[k]
        h = head[r]
        x = np.int32(h[0])
        b0[k] = x
        b1[k] = h[1]
        seq[k] = (np.int32(h[2]) << 8) | np.int32(h[3])
        ts[k] = ((np.uint32(h[4]) << 24) | (np.uint32(h[5]) << 16) | (np.uint32(h[6]) << 8)
                 | np.uint32(h[7]))
        ssrc[k] = ((np.uint32(h[8]) << 24) | (np.uint32(h[9]) << 16)
                   | (np.uint32(h[10]) << 8) | np.uint32(h[11]))
        e = (np.int32(h[14]) << 8) | np.int32(h[15])
        ext16[k] = e
        plen[k] = payload_len[r]
        cc = x & 0x0F
        ext = (x & 0x10) != 0
        hdr[k] = 12 + 4 * cc + (4 + 4 * e if ext and cc == 0 else 0)
        slow[k] = (ext and cc > 0) or (x & 0x20) != 0
    return b0, b1, seq, ts, ssrc, ext16, plen, hdr, slow
