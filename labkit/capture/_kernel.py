"""The common case of the dissector compiled (numba): Ethernet / IPv4 / UDP frames.

Internal fast path of :class:`labkit.capture.dissect.Dissector` (``Dissector.fast``). On a probe or SBC
capture almost every frame is RTP in UDP in IPv4 in Ethernet, perhaps behind 802.1Q
tags. This kernel walks each such frame once and writes the finished columns the
vectorised stages would compute (same rules); every frame it does not take
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


def plain_udp4(b, offset, caplen, ethernet, tunnel_ports, head_width, v4_key, v4_id, shift):
    """Frames of a batch that are Ethernet [802.1Q]* / IPv4 unfragmented / UDP not on a
    tunnel port, dissected into finished row columns.

    Parameters
    ----------
    b : uint8 array
        The bytes the offsets point into.
    offset : int64 array
        Start of each frame [byte].
    caplen : integer array
        Captured length of each frame [bytes].
    ethernet : bool array
        The frame's link type is Ethernet.
    tunnel_ports : int64 array
        UDP ports decapsulated by later stages (GTP-U, ESP in UDP, VXLAN): frames on them
        are left to the vectorised dissector.
    head_width : int
        Payload bytes to copy per frame taken (0: none), zero past the payload.
    v4_key, v4_id, shift
        The address book's IPv4 cache (:func:`v4_cached`).

    Returns
    -------
    (idx, rest, sport, dport, poff, plen, vlan, l3, l4, slo, dlo, head, src_id, dst_id)
        Frame indices taken and those not taken (int64); then, per frame taken, in the
        dtypes of :class:`labkit.capture.Packets`: UDP ports (uint16), payload offset
        [byte of `b`] (int64), payload length [bytes] (int32: within the UDP length, the
        IP total length and the captured bytes), VLAN id of the innermost tag or -1,
        IPv4 and UDP header offsets from the frame start [bytes] (int32), source and
        destination IPv4 addresses (uint32), the first `head_width` payload bytes
        (uint8 matrix), and the address ids the cache holds for the source and the
        destination (int32, -1 where it holds none).
    """
    n = len(offset)
    idx = np.empty(n, np.int64)
    rest = np.empty(n, np.int64)
    o_sport = np.empty(n, np.uint16)
    o_dport = np.empty(n, np.uint16)
    o_poff = np.empty(n, np.int64)
    o_plen = np.empty(n, np.int32)
    o_vlan = np.empty(n, np.int32)
    o_l3 = np.empty(n, np.int32)
    o_l4 = np.empty(n, np.int32)
    o_slo = np.empty(n, np.uint32)
    o_dlo = np.empty(n, np.uint32)
    o_sid = np.empty(n, np.int32)
    o_did = np.empty(n, np.int32)
    head = np.zeros((n if head_width else 0, head_width), np.uint8)
    m = 0
    r = 0
    size = len(b)
    for i in range(n):
        start = offset[i]
        p = start
        # never past the buffer, whatever a record says (the walk already ensures it;
        # compiled code has no bounds checks of its own)
        end = min(p + np.int64(caplen[i]), size)
        vlan = -1
        ihl = 0
        # the usual layout first: Ethernet II, IPv4 without options, UDP, unfragmented.
        # Its fields sit at fixed offsets, so all its loads can start at once instead
        # of each waiting for the length read before it (memory latency, not work,
        # bounds this loop)
        ok = (ethernet[i] and start + 42 <= end and b[start + 12] == 8 and b[start + 13] == 0
              and b[start + 14] == 0x45 and b[start + 23] == 17
              and (b[start + 20] & 0x3F) == 0 and b[start + 21] == 0)
        if ok:
            p = start + 14
            ihl = 20
        else:
            ok = ethernet[i] and p + 14 <= end
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
                ihl = np.int64(b[p] & 15) * 4
                ok = ihl >= 20 and p + ihl <= end and b[p + 9] == 17 \
                    and (((np.int64(b[p + 6]) << 8) | np.int64(b[p + 7])) & 0x3FFF) == 0
        l3 = p
        ipend = end
        slo = 0
        dlo = 0
        if ok:
            tot = ((np.int64(b[p + 2]) << 8) | np.int64(b[p + 3]))
            if tot == 0:                    # TSO captures: total length 0
                tot = end - p
            ipend = min(p + max(tot, ihl), end)
            slo = ((np.int64(b[p + 12]) << 24) | (np.int64(b[p + 13]) << 16)
                   | (np.int64(b[p + 14]) << 8) | np.int64(b[p + 15]))
            dlo = ((np.int64(b[p + 16]) << 24) | (np.int64(b[p + 17]) << 16)
                   | (np.int64(b[p + 18]) << 8) | np.int64(b[p + 19]))
            p += ihl
            ok = p + 8 <= end
        sport = 0
        dport = 0
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
        plen = min(ulen - 8, ipend - p - 8)
        if plen < 0:
            plen = 0
        o_sport[m] = sport
        o_dport[m] = dport
        o_poff[m] = p + 8
        o_plen[m] = plen
        o_vlan[m] = vlan
        o_l3[m] = l3 - start
        o_l4[m] = p - start
        o_slo[m] = slo
        o_dlo[m] = dlo
        slot = ((slo * 0x9E3779B1) & 0xFFFFFFFF) >> shift
        o_sid[m] = v4_id[slot] if v4_key[slot] == slo + 1 else -1
        slot = ((dlo * 0x9E3779B1) & 0xFFFFFFFF) >> shift
        o_did[m] = v4_id[slot] if v4_key[slot] == dlo + 1 else -1
        if head_width:
            for j in range(min(head_width, plen)):
                head[m, j] = b[p + 8 + j]
        idx[m] = i
        m += 1
    return (idx[:m], rest[:r], o_sport[:m], o_dport[:m], o_poff[:m], o_plen[:m], o_vlan[:m],
            o_l3[:m], o_l4[:m], o_slo[:m], o_dlo[:m], head[:m], o_sid[:m], o_did[:m])


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


def walk_pcap(b, off, end, hl, maxcap, big, units, offset, caplen, wirelen, ticks, at, room):
    """Walk classic pcap records from byte `off`, writing each into the output arrays
    from index `at`, until `room` records, the end of the file or a damaged record.

    Parameters
    ----------
    b : uint8 array
        The file.
    off, end : int
        First record header [byte] and the file size [bytes].
    hl : int
        Record header length [bytes] (16; 24 in Kuznetzov's modified pcap).
    maxcap : int
        Largest plausible captured length [bytes].
    big : bool
        The file is big-endian.
    units : int
        Nanoseconds per fraction unit of the timestamp (1000 for microsecond files).
    offset, caplen, wirelen, ticks : int64, int32, int32, int64 arrays
        Outputs: frame data offset [byte], captured and original length [bytes] (the
        latter at most 2**31 - 1), seconds * 1e9 / units + fraction.
    at, room : int
        First output index and the most records to write.

    Returns
    -------
    (written, next)
        Records written and the offset of the next record header (where a damaged one
        starts: the caller's one-by-one walk reports it).

    References
    ----------
    draft-ietf-opsawg-pcap section 5 (packet record: timestamp seconds and fraction,
    captured length, original length).
    """
    k = 0
    w = np.zeros(4, np.int64)
    while k < room and off + hl <= end:
        for f in range(4):            # seconds, fraction, captured and original length
            p = off + 4 * f
            if big:
                w[f] = ((np.int64(b[p]) << 24) | (np.int64(b[p + 1]) << 16)
                        | (np.int64(b[p + 2]) << 8) | np.int64(b[p + 3]))
            else:
                w[f] = ((np.int64(b[p + 3]) << 24) | (np.int64(b[p + 2]) << 16)
                        | (np.int64(b[p + 1]) << 8) | np.int64(b[p]))
        sec, frac, cap, wire = w[0], w[1], w[2], w[3]
        nxt = off + hl + cap
        if cap > maxcap or nxt > end:
            break
        i = at + k
        offset[i] = off + hl
        caplen[i] = cap
        wirelen[i] = min(wire, 2**31 - 1)
        ticks[i] = (sec * units + frac) & 0x7FFFFFFFFFFFFFFF
        k += 1
        off = nxt
    return k, off


def walk_epbs(b, off, end, big, iface_base, n_ifaces, offset, caplen, wirelen, ticks,
              iface, at, room):
    """Walk pcapng Enhanced Packet Blocks from byte `off`, writing each into the output
    arrays from index `at`, until `room` records, the end of the file, or a block that
    is not a well-formed EPB (another block type, a bad length, an unknown interface, a
    captured length beyond the block): the caller's one-by-one walk takes it from there.

    Parameters
    ----------
    b : uint8 array
        The file.
    off, end : int
        First block [byte] and the file size [bytes].
    big : bool
        The section is big-endian.
    iface_base, n_ifaces : int
        Interfaces of earlier sections, and the interfaces known so far.
    offset, caplen, wirelen, ticks, iface : output arrays
        Frame data offset [byte], captured and original length [bytes] (the latter at
        most 2**31 - 1), timestamp (high << 32 | low), interface index.
    at, room : int
        First output index and the most records to write.

    Returns
    -------
    (written, next)
        Records written and the offset of the block that stopped the walk.

    References
    ----------
    draft-ietf-opsawg-pcapng section 4.3 (Enhanced Packet Block).
    """
    k = 0
    w = np.zeros(7, np.int64)
    while k < room and off + 28 <= end:
        for f in range(7):            # the seven 32-bit fields of the block header
            p = off + 4 * f
            if big:
                w[f] = ((np.int64(b[p]) << 24) | (np.int64(b[p + 1]) << 16)
                        | (np.int64(b[p + 2]) << 8) | np.int64(b[p + 3]))
            else:
                w[f] = ((np.int64(b[p + 3]) << 24) | (np.int64(b[p + 2]) << 16)
                        | (np.int64(b[p + 1]) << 8) | np.int64(b[p]))
        blen = w[1]
        if w[0] != 6 or blen < 32 or blen % 4 != 0 or off + blen > end:
            break
        i = w[2] + iface_base
        cap = w[5]
        if i >= n_ifaces or cap > blen - 32:
            break
        j = at + k
        offset[j] = off + 28
        caplen[j] = cap
        wirelen[j] = min(w[6], 2**31 - 1)
        ticks[j] = ((w[3] << 32) | w[4]) & 0x7FFFFFFFFFFFFFFF
        iface[j] = i
        k += 1
        off += blen
    return k, off

