"""Real-time AMR storage files from one RTP stream (RFC 4867 sections 4.1, 5).

Timestamp gaps (DTX, loss) become NO_DATA frames, duplicates are dropped, reordering is
undone, sequence and timestamp wrap are handled, and a damaged payload is counted and
skipped (its slot becomes NO_DATA), never shifting the bit stream. One-frame payloads
of equal length are parsed as a numpy matrix; the rest packet by packet.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from labkit.errors import DecodeError, LabkitError, LabkitWarning
from labkit.amr.payload import (GAP, NO_DATA, NO_DATA_SENT, SAMPLES_PER_FRAME, SID, SPEECH,
                                SPEECH_LOST, _table, depacketize_amr, frame_bits)
from labkit.amr.storage import storage_magic

__all__ = ["AmrExtract", "CapturePayloads", "amr_storage_from_rtp"]


@dataclass(frozen=True)
class AmrExtract:
    """A real-time storage file made from one RTP stream, with what it took.

    Attributes
    ----------
    data : bytes
        The storage file, magic included.
    wideband : bool
        AMR-WB (``#!AMR-WB``) or AMR (``#!AMR``).
    ft : np.ndarray
        int8, frame type of every 20 ms frame in the file (15 for inserted NO_DATA).
    kind : np.ndarray
        str, per frame: "speech", "SID", "NO_DATA" (sent), "lost" (WB FT 14 or Q=0)
        or "gap" (NO_DATA inserted for missing timestamps: DTX pause or loss).
    packets, duplicates, damaged, late, gap_frames, frames_total : int
        RTP packets used, duplicates dropped, damaged payloads skipped, frames dropped
        because their time slot was already written, NO_DATA frames inserted, frames.
    cmr : Counter
        CMR values seen.
    errors : tuple[str, ...]
        One line per damaged payload (sequence number and reason).
    """

    data: bytes
    wideband: bool
    ft: np.ndarray
    kind: np.ndarray
    packets: int
    duplicates: int
    damaged: int
    late: int
    gap_frames: int
    frames_total: int
    cmr: Counter = field(default_factory=Counter)
    errors: tuple = ()

    @property
    def duration_s(self) -> float:
        """Length of the file [s] (20 ms per frame)."""
        return self.frames_total * 0.02

    def ft_counts(self) -> dict[int, int]:
        """Frames per frame type (e.g. ``{7: 50, 8: 6, 15: 300}``)."""
        values, counts = np.unique(self.ft, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}


def _unwrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Extend wrapping counters (RTP seq: 16 bits, timestamp: 32 bits) to int64.

    Each step is taken modulo 2**bits into the signed range, so wrap-around and
    reordering by less than half the range are both undone (RFC 3550 appendix A.1).
    """
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0:
        return values
    half, full = 1 << (bits - 1), 1 << bits
    steps = (np.diff(values) + half) % full - half
    return values[0] + np.concatenate(([0], np.cumsum(steps)))


def _packet_order(seq, timestamp) -> tuple[np.ndarray, np.ndarray, int]:
    """Indices of unique packets in sequence order, extended timestamps, duplicates."""
    ext_seq, ext_ts = _unwrap(seq, 16), _unwrap(timestamp, 32)
    if (np.diff(ext_seq) > 0).all():                 # the usual case: nothing to sort
        return np.arange(len(ext_seq)), ext_ts, 0
    order = np.argsort(ext_seq, kind="stable")
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = ext_seq[order][1:] != ext_seq[order][:-1]
    return order[keep], ext_ts, int(len(order) - keep.sum())


@dataclass
class _FrameTable:
    """Frames of all packets (internal), in groups of equal frame width [bytes].

    Per group: position of the packet (in sequence order), index in the packet, FT, Q,
    and a 2-D uint8 array of the frame bits (padding zeroed).
    """

    groups: list = field(default_factory=list)
    slow: dict = field(default_factory=dict)       # width -> list of (pos, j, ft, q, bytes)

    def add(self, pos, j, ft, q, data) -> None:
        self.groups.append((np.asarray(pos, np.int64), np.asarray(j, np.int64),
                            np.asarray(ft, np.int64), np.asarray(q, np.int64),
                            np.asarray(data, np.uint8).reshape(len(pos), -1)))

    def flush(self) -> None:
        for width, rows in self.slow.items():
            data = np.frombuffer(b"".join(r[4] for r in rows), np.uint8).reshape(len(rows), width)
            self.add(*zip(*[r[:4] for r in rows]), data)
        self.slow = {}


class _ListPayloads:
    """Payloads given as a list of bytes (internal; see :class:`CapturePayloads`)."""

    def __init__(self, items):
        self.items = items if isinstance(items, list) else list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i) -> bytes:
        return bytes(self.items[i])

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(p) for p in self.items), np.int64, len(self.items))

    def matrix(self, idx, length: int) -> np.ndarray:
        joined = b"".join([bytes(self.items[i]) for i in np.asarray(idx).tolist()])
        return np.frombuffer(joined, np.uint8).reshape(len(idx), length)


class CapturePayloads:
    """RTP payloads of some packets of a :class:`labkit.rtp.RtpPackets`, read lazily.

    A sequence of bytes for :func:`amr_storage_from_rtp`, which also reads equal-length
    payloads as one uint8 matrix (``Packets.head``) instead of packet by packet.
    """

    def __init__(self, rtp, idx):
        self.packets, idx = rtp.packets, np.asarray(idx)
        self.rows = np.asarray(rtp.row)[idx]
        self.rel = (np.asarray(rtp.payload_offset)[idx]
                    - np.asarray(self.packets.payload_offset)[self.rows])
        self.len = np.asarray(rtp.payload_len)[idx].astype(np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i) -> bytes:
        start = int(self.rel[i])
        return self.packets.payload(int(self.rows[i]))[start:start + int(self.len[i])]

    def lengths(self) -> np.ndarray:
        return self.len

    def matrix(self, idx, length: int) -> np.ndarray:
        rel = self.rel[idx]
        if len(rel) and (rel == rel[0]).all():
            head = self.packets.select(self.rows[idx]).head(int(rel[0]) + length)
            return head[:, int(rel[0]):]
        return _ListPayloads([self[i] for i in np.asarray(idx).tolist()]).matrix(
            np.arange(len(idx)), length)


def _group_by_length(payloads, order) -> dict:
    """{payload length: positions in `order`} (positions ascending)."""
    lengths = payloads.lengths()[order]
    if len(lengths) and (lengths == lengths[0]).all():
        return {int(lengths[0]): np.arange(len(lengths))}
    by_len = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[by_len])) + 1
    return {int(lengths[g[0]]): g for g in np.split(by_len, bounds) if len(g)}


def _fast_single(matrix, length, wideband, octet_aligned):
    """Vectorised parse of equal-length payloads holding exactly one frame.

    Returns (ok mask, cmr, ft, q, frame bytes of the ok rows); the other rows go to
    :func:`depacketize_amr` one by one (several frames, damaged, ...).
    """
    b0, b1 = matrix[:, 0].astype(np.int64), matrix[:, 1].astype(np.int64)
    if octet_aligned:
        f, ft, q, head = b1 >> 7, (b1 >> 3) & 0xF, (b1 >> 2) & 1, 16
    else:
        f, ft, q, head = (b0 >> 3) & 1, ((b0 & 7) << 1) | (b1 >> 7), (b1 >> 6) & 1, 10
    nbits = np.array(_table(wideband))[ft]
    size = 2 + (nbits + 7) // 8 if octet_aligned else (head + nbits + 7) // 8
    ok = (f == 0) & (nbits >= 0) & (size == length)
    if ok.any():
        ok &= nbits == nbits[ok][0]          # one length, one frame: one frame size
    width = int((nbits[ok][0] + 7) // 8) if ok.any() else 0
    rows = matrix[ok]
    if octet_aligned:
        data = rows[:, 2:2 + width].copy()
    else:
        padded = np.concatenate([rows, np.zeros((len(rows), 2), np.uint8)], axis=1)
        data = ((padded[:, 1:1 + width].astype(np.uint16) << 2)
                | (padded[:, 2:2 + width] >> 6)).astype(np.uint8)
    if width:
        data[:, -1] &= (0xFF << (8 * width - int(nbits[ok][0]))) & 0xFF
    return ok, (b0 >> 4)[ok], ft[ok], q[ok], data


_MAX_FAST_FRAMES = 12       # packets with more frames take the packet-by-packet path
_CHUNK = 32768              # rows per vectorised multi-frame step (bounded memory)


def _toc(matrix, bits, octet_aligned):
    """Per row: ToC entries k (0 = more than _MAX_FAST_FRAMES or none), FT and Q [n, 12]."""
    n, length = matrix.shape
    ft, q = np.zeros((n, _MAX_FAST_FRAMES), np.int64), np.zeros((n, _MAX_FAST_FRAMES), np.int64)
    k, alive = np.zeros(n, np.int64), np.ones(n, bool)
    for i in range(_MAX_FAST_FRAMES):
        if octet_aligned and 1 + i < length:
            e = matrix[:, 1 + i].astype(np.int64)
            f, t, qq = e >> 7, (e >> 3) & 0xF, (e >> 2) & 1
        elif not octet_aligned and 10 + 6 * i <= 8 * length:
            e = bits[:, 4 + 6 * i:10 + 6 * i].astype(np.int64) @ np.array([32, 16, 8, 4, 2, 1])
            f, t, qq = e >> 5, (e >> 1) & 0xF, e & 1
        else:
            break
        ft[alive, i], q[alive, i] = t[alive], qq[alive]
        k[alive & (f == 0)] = i + 1
        alive &= f == 1
    return k, ft, q


def _fast_multi(matrix, positions, wideband, octet_aligned, table, cmrs) -> np.ndarray:
    """Vectorised parse of equal-length payloads grouped by their ToC (any frames).

    Returns the mask of rows parsed; the others go packet by packet.
    """
    nbits_of = np.array(_table(wideband))
    bits = None if octet_aligned else np.unpackbits(matrix, axis=1)
    k, ft, q = _toc(matrix, bits, octet_aligned)
    code = k * 16 ** _MAX_FAST_FRAMES + ft @ (16 ** np.arange(_MAX_FAST_FRAMES))
    done = np.zeros(len(matrix), bool)
    for c in np.unique(code[k > 0]).tolist():
        rows = np.flatnonzero(code == c)
        n_fr = int(k[rows[0]])
        fts = ft[rows[0], :n_fr]
        nb = nbits_of[fts]
        size = (1 + n_fr + ((nb + 7) // 8).sum() if octet_aligned
                else (4 + 6 * n_fr + nb.sum() + 7) // 8)
        if (nb < 0).any() or size != matrix.shape[1]:
            continue
        start = 1 + n_fr if octet_aligned else 4 + 6 * n_fr
        for j in range(n_fr):
            width, n_bits = int((nb[j] + 7) // 8), int(nb[j])
            if octet_aligned:
                data = matrix[rows, start:start + width].copy()
                if width:
                    data[:, -1] &= (0xFF << (8 * width - n_bits)) & 0xFF
                start += width
            else:
                data = np.packbits(bits[rows, start:start + n_bits], axis=1)
                start += n_bits
            table.add(positions[rows], np.full(len(rows), j), np.full(len(rows), fts[j]),
                      q[rows, j], data.reshape(len(rows), width))
        cmrs.update((matrix[rows, 0] >> 4).tolist())
        done[rows] = True
    return done


def _parse_all(payloads, order, wideband, octet_aligned, seq, errors, cmrs) -> _FrameTable:
    """Depacketize the packets `order`: vectorised where possible, else one by one."""
    table = _FrameTable()
    for length, positions in _group_by_length(payloads, order).items():
        rest = positions
        if length >= 2:
            matrix = payloads.matrix(order[positions], length)
            ok, cmr, ft, q, data = _fast_single(matrix, length, wideband, octet_aligned)
            if ok.any():
                table.add(positions[ok], np.zeros(int(ok.sum())), ft, q, data)
                cmrs.update(cmr.tolist())
                rest, matrix = positions[~ok], matrix[~ok]
            if len(rest) >= 8:                     # several frames per packet
                left = [rest[c:c + _CHUNK][~_fast_multi(matrix[c:c + _CHUNK], rest[c:c + _CHUNK],
                                                        wideband, octet_aligned, table, cmrs)]
                        for c in range(0, len(rest), _CHUNK)]
                rest = np.concatenate(left)
        for p in rest.tolist():
            _parse_one(payloads[order[p]], p, seq[order[p]], wideband, octet_aligned, table,
                       errors, cmrs)
    table.flush()
    return table


def _parse_one(payload, p, seq, wideband, octet_aligned, table, errors, cmrs) -> None:
    try:
        packet = depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned,
                                 where=f"RTP seq {seq}")
    except DecodeError as exc:
        errors.append((p, str(exc)))
        return
    cmrs[packet.cmr] += 1
    for j, fr in enumerate(packet.frames):
        bits = bytearray(fr.bits)
        if bits:                                       # zero the padding (section 5.3)
            bits[-1] &= (0xFF << (8 * len(bits) - frame_bits(fr.ft, wideband))) & 0xFF
        table.slow.setdefault(len(bits), []).append((p, j, fr.ft, int(fr.q), bytes(bits)))


def amr_storage_from_rtp(seq, timestamp, payloads, *, wideband: bool = False,
                         octet_aligned: bool = False, time_ns=None, where: str = "stream",
                         max_gap_s: float = 60.0) -> AmrExtract:
    """Real-time storage file from one RTP stream (RFC 4867 sections 4.1 and 5).

    Packets are put in sequence order (wrap and reordering undone); duplicates (same
    extended sequence number) are dropped, keeping the first copy. Frame ``j`` of a
    packet belongs to time slot ``(timestamp - first_timestamp) / spf + j`` with
    ``spf`` = 160 (AMR, 8 kHz clock) or 320 (AMR-WB, 16 kHz) samples per 20 ms frame.
    Empty slots (DTX pauses, lost or damaged packets) become NO_DATA frames (0x7C), so
    the file plays in real time; a frame whose slot is not after every earlier frame's
    is dropped (counted in ``late``). Frame padding bits are written as 0.

    Parameters
    ----------
    seq, timestamp : array-like of int
        RTP sequence numbers and timestamps, in arrival order.
    payloads : sequence of bytes or CapturePayloads
        RTP payloads in the same order.
    wideband, octet_aligned : bool
        Codec and payload format.
    time_ns : array-like of int, optional
        Arrival times [ns]; used only to size a timestamp jump larger than `max_gap_s`.
    where : str
        Stream description for messages ("call.pcap, SSRC 0x1234").
    max_gap_s : float
        Largest timestamp gap [s] filled from timestamps alone; a larger jump is
        warned about and filled from the arrival times instead (or not at all).

    Returns
    -------
    AmrExtract
        The file and its frame statistics. Damaged payloads (not this AMR variant,
        truncated) are counted in ``damaged`` with a line in ``errors``.

    Raises
    ------
    DecodeError
        If no payload at all depacketizes: the stream is not this AMR variant.

    References
    ----------
    RFC 4867 sections 4.1-4.4 (payload formats, CMR, ToC) and 5.1, 5.3 (storage
    format: magic, frame header ``0 FT Q 00``); 3GPP TS 26.101 table 1a and TS 26.201
    table 1a (frame type 15 = NO_DATA); RFC 3550 section 5.1 and appendix A.1 (sequence
    numbers and their wrap).

    Examples
    --------
    Three octet-aligned payloads, each CMR 15 + one NO_DATA ToC (F=0, FT=15, Q=1:
    0x7C), at timestamps 0, 160 and 480: the 160-sample slot at 320 is empty and gets a
    NO_DATA frame, so the file holds 4 frame headers 0x7C ("|") after ``#!AMR\\n``:

    >>> x = amr_storage_from_rtp([1, 2, 3], [0, 160, 480], [b"\\xf0\\x7c"] * 3,
    ...                          octet_aligned=True)
    >>> x.data, x.frames_total, x.gap_frames, x.kind.tolist()
    (b'#!AMR\\n||||', 4, 1, ['NO_DATA', 'NO_DATA', 'gap', 'NO_DATA'])

    One direction of the real AMR-WB call (octet-aligned, mode 8 = 23.85 kbit/s):

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> rtp = find_rtp(read_capture(data.path("ringback_amrwb")))
    >>> rows = (rtp.stream == 0).nonzero()[0]
    >>> x = amr_storage_from_rtp(rtp.seq[rows], rtp.timestamp[rows], CapturePayloads(rtp, rows),
    ...                          wideband=True, octet_aligned=True)
    >>> x.data[:9], x.packets, x.damaged, x.duplicates
    (b'#!AMR-WB\\n', 551, 0, 0)
    """
    if not hasattr(payloads, "matrix"):
        payloads = _ListPayloads(payloads)
    if len(payloads) == 0:
        raise LabkitError("the stream has no RTP packets", where, "choose another stream")
    seq = np.asarray(seq)
    order, ext_ts, duplicates = _packet_order(seq, timestamp)
    errors, cmrs = [], Counter()
    table = _parse_all(payloads, order, wideband, octet_aligned, seq, errors, cmrs)
    errors = [text for _, text in sorted(errors)]
    if not table.groups:
        raise DecodeError(f"none of {len(order)} payloads is {'AMR-WB' if wideband else 'AMR'} "
                          f"{'octet-aligned' if octet_aligned else 'bandwidth-efficient'}",
                          where, f"first problem: {errors[0] if errors else '?'}; "
                          "choose another stream or payload format")
    pos, j, ft, q, gid, row = _concat(table)
    good = pos[np.concatenate(([True], pos[1:] != pos[:-1]))]   # positions with frames
    pkt_slot = _packet_slots(ext_ts[order[good]], SAMPLES_PER_FRAME[bool(wideband)],
                             int(max_gap_s * 50), time_ns, order[good], where)
    slot = pkt_slot[np.searchsorted(good, pos)] + j
    return _assemble(table, slot, ft, q, gid, row, wideband, len(good), duplicates,
                     errors, cmrs)


def _concat(table: _FrameTable):
    """Frame arrays of all groups, sorted by (packet position, index in packet)."""
    pos = np.concatenate([g[0] for g in table.groups])
    j = np.concatenate([g[1] for g in table.groups])
    ft = np.concatenate([g[2] for g in table.groups])
    q = np.concatenate([g[3] for g in table.groups])
    gid = np.concatenate([np.full(len(g[0]), k) for k, g in enumerate(table.groups)])
    row = np.concatenate([np.arange(len(g[0])) for g in table.groups])
    if len(table.groups) == 1 and not j.any() and (np.diff(pos) > 0).all():
        return pos, j, ft, q, gid, row                # one frame per packet, in order
    idx = np.lexsort((j, pos))
    return pos[idx], j[idx], ft[idx], q[idx], gid[idx], row[idx]


def _packet_slots(ts, spf, max_gap, time_ns, arrival_idx, where) -> np.ndarray:
    """20 ms slot of every good packet (sequence order), timestamp jumps bounded."""
    slots = (ts - ts[0] + spf // 2) // spf
    jumps = np.flatnonzero(np.abs(np.diff(slots)) > max_gap) + 1
    for k in jumps.tolist():
        nxt = int(slots[:k].max()) + 1
        gap = 0
        if time_ns is not None:
            t = np.asarray(time_ns)
            gap = max(0, int(round((int(t[arrival_idx[k]]) - int(t[arrival_idx[k - 1]])) / 20e6)) - 1)
        warnings.warn(f"{where}: RTP timestamp jumps by {int(slots[k] - nxt)} frames; "
                      f"continuing after {gap} NO_DATA frames", LabkitWarning, stacklevel=3)
        slots[k:] += nxt + gap - slots[k]
    return slots


def _assemble(table, slot, ft, q, gid, row, wideband, used, duplicates, errors, cmrs):
    """Write accepted frames at their slots, NO_DATA (0x7C) in the empty ones."""
    prev_max = np.concatenate(([np.iinfo(np.int64).min], np.maximum.accumulate(slot)[:-1]))
    ok = slot > prev_max
    slot, ft, q, gid, row = slot[ok], ft[ok], q[ok], gid[ok], row[ok]
    rel = slot - slot[0]
    n = int(rel[-1]) + 1
    widths = np.array([g[4].shape[1] for g in table.groups])[gid]
    size = np.ones(n, np.int64)
    size[rel] = 1 + widths
    magic = storage_magic(wideband)
    start = len(magic) + np.concatenate(([0], np.cumsum(size)[:-1]))
    buf = np.full(len(magic) + int(size.sum()), 0x7C, np.uint8)
    buf[:len(magic)] = np.frombuffer(magic, np.uint8)
    buf[start[rel]] = (ft << 3) | (q << 2)
    for k, group in enumerate(table.groups):
        width, sel = group[4].shape[1], np.flatnonzero(gid == k)
        if width and len(sel):
            buf[start[rel[sel]][:, None] + 1 + np.arange(width)] = group[4][row[sel]]
    ft_all = np.full(n, NO_DATA, np.int8)
    ft_all[rel] = ft
    q_all = np.ones(n, bool)
    q_all[rel] = q.astype(bool)
    gap = np.ones(n, bool)
    gap[rel] = False
    return AmrExtract(buf.tobytes(), bool(wideband), ft_all, _kinds(ft_all, q_all, gap, wideband),
                      used, duplicates, len(errors), int((~ok).sum()), int(gap.sum()), n,
                      cmrs, tuple(errors))


def _kinds(ft, q, gap, wideband) -> np.ndarray:
    code = np.zeros(len(ft), np.int8)                 # 0 speech
    code[ft == (9 if wideband else 8)] = 1
    code[~q | ((ft == 14) & wideband)] = 4
    code[ft == NO_DATA] = 2
    code[gap] = 3
    return np.array([SPEECH, SID, NO_DATA_SENT, GAP, SPEECH_LOST])[code]
