"""The common case of the dissector compiled (numba): Ethernet / IPv4 / UDP frames.

Internal fast path of :class:`labkit.capture.dissect.Dissector`. On a probe or SBC
capture almost every frame is RTP in UDP in IPv4 in Ethernet, perhaps behind 802.1Q
tags. This kernel walks each such frame once and writes the finished row fields the
vectorised stages would compute (same rules, same names); every frame it does not take
(other link types, IPv6, TCP, IP options cut by the snapshot length, fragments,
tunnel ports) goes through the vectorised dissector unchanged, so what it decides is
only "this frame is the plain case".

Plain Python functions, run compiled (numba) by :func:`labkit._jit.run` for large inputs.

References
----------
IEEE 802.3 (Ethernet II), IEEE 802.1Q / 802.1ad (tags), RFC 791 (IPv4 header,
fragments: the MF flag and fragment offset), RFC 768 (UDP).
"""
from __future__ import annotations

import numpy as np

# row fields written by the kernel, in the order of its output matrix
FIELDS = ("pos", "end", "l3", "ipend", "cut", "slo", "dlo", "sport", "dport", "poff",
          "plen", "vlan")


def plain_udp4(b, offset, caplen, ethernet, tunnel_ports, head_width):
    """Frames of a batch that are Ethernet [802.1Q]* / IPv4 unfragmented / UDP not on a
    tunnel port.

    Parameters
    ----------
    b : uint8 array
        The bytes the offsets point into.
    offset, caplen : int64 arrays
        Start [byte] and captured length [bytes] of each frame.
    ethernet : bool array
        The frame's link type is Ethernet.
    tunnel_ports : int64 array
        UDP ports decapsulated by later stages (GTP-U, ESP in UDP, VXLAN): frames on them
        are left to the vectorised dissector.
    head_width : int
        Payload bytes to copy per frame taken (0: none), zero past the payload.

    Returns
    -------
    (idx, rows, rest, head)
        Frame indices taken, an int64 matrix [len(idx), len(FIELDS)] of their row
        fields, the indices of the frames not taken, and the first `head_width` payload
        bytes of each frame taken (uint8 matrix).
    """
    n = len(offset)
    idx = np.empty(n, np.int64)
    rest = np.empty(n, np.int64)
    rows = np.empty((n, len(FIELDS)), np.int64)
    head = np.zeros((n if head_width else 0, head_width), np.uint8)
    m = 0
    r = 0
    for i in range(n):
        p = offset[i]
        end = p + caplen[i]
        ok = ethernet[i] and p + 14 <= end
        vlan = -1
        et = 0
        if ok:
            et = ((np.int64(b[p + 12]) << 8) | np.int64(b[p + 13]))
            p += 14
            for _ in range(3):              # 802.1Q, QinQ (802.1ad) and one more level
                if (et == 0x8100 or et == 0x88A8 or et == 0x9100) and p + 4 <= end:
                    vlan = ((np.int64(b[p]) << 8) | np.int64(b[p + 1])) & 0x0FFF
                    et = ((np.int64(b[p + 2]) << 8) | np.int64(b[p + 3]))
                    p += 4
                else:
                    break
            ok = et == 0x0800 and p < end and (b[p] >> 4) == 4
        if ok:
            l3 = p
            ihl = np.int64(b[p] & 15) * 4
            ok = ihl >= 20 and p + ihl <= end and b[p + 9] == 17 \
                and (((np.int64(b[p + 6]) << 8) | np.int64(b[p + 7])) & 0x3FFF) == 0
        if ok:
            tot = ((np.int64(b[p + 2]) << 8) | np.int64(b[p + 3]))
            if tot == 0:                    # TSO captures: total length 0
                tot = end - p
            full = p + max(tot, ihl)
            ipend = min(full, end)
            cut = 1 if full > end else 0
            slo = ((np.int64(b[p + 12]) << 24) | (np.int64(b[p + 13]) << 16)
                   | (np.int64(b[p + 14]) << 8) | np.int64(b[p + 15]))
            dlo = ((np.int64(b[p + 16]) << 24) | (np.int64(b[p + 17]) << 16)
                   | (np.int64(b[p + 18]) << 8) | np.int64(b[p + 19]))
            p += ihl
            ok = p + 8 <= end
        if ok:
            sport = ((np.int64(b[p]) << 8) | np.int64(b[p + 1]))
            dport = ((np.int64(b[p + 2]) << 8) | np.int64(b[p + 3]))
            for port in tunnel_ports:
                if sport == port or dport == port:
                    ok = False
        if not ok:
            rest[r] = i
            r += 1
            continue
        ulen = ((np.int64(b[p + 4]) << 8) | np.int64(b[p + 5]))
        plen = min(ulen - 8, min(ipend, end) - p - 8)
        if plen < 0:
            plen = 0
        row = rows[m]
        row[0] = p
        row[1] = end
        row[2] = l3
        row[3] = ipend
        row[4] = cut
        row[5] = slo
        row[6] = dlo
        row[7] = sport
        row[8] = dport
        row[9] = p + 8
        row[10] = plen
        row[11] = vlan
        if head_width:
            for j in range(min(head_width, plen)):
                head[m, j] = b[p + 8 + j]
        idx[m] = i
        m += 1
    return idx[:m], rows[:m], rest[:r], head[:m]


def rows_of(buf, starts, width):
    """``buf[s:s + width]`` for every start s, zero past the end of `buf` (uint8 matrix
    [len(starts), width])."""
    n = len(starts)
    out = np.zeros((n, width), np.uint8)
    size = len(buf)
    for i in range(n):
        s = starts[i]
        stop = min(s + width, size)
        for j in range(stop - s):
            out[i, j] = buf[s + j]
    return out


def v4_cached(lo, keys, ids, shift):
    """Ids of IPv4 addresses `lo` from a direct-mapped cache (slot = Knuth's
    multiplicative hash of the address, `keys` = address + 1, 0 = empty); -1 where the
    slot holds another address or none."""
    n = len(lo)
    out = np.empty(n, np.int32)
    for i in range(n):
        a = np.int64(lo[i]) & 0xFFFFFFFF
        slot = ((a * 0x9E3779B1) & 0xFFFFFFFF) >> shift
        out[i] = ids[slot] if keys[slot] == a + 1 else -1
    return out
