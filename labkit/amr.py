"""AMR and AMR-WB in RTP (RFC 4867) and the AMR storage file format.

The bit layer between RTP payloads and the ``.amr`` / ``.awb`` / ``.3ga`` storage files
that decoders and players read:

- :func:`depacketize_amr` / :func:`packetize_amr`: RFC 4867 section 4.3 (bandwidth-
  efficient) and 4.4 (octet-aligned) payloads with any number of frames, the CMR, the
  ToC F/FT/Q bits, SID, NO_DATA and (AMR-WB) speech-lost frames.
- :func:`write_amr_storage` / :func:`read_amr_storage`: RFC 4867 section 5
  (``#!AMR\\n`` / ``#!AMR-WB\\n`` single-channel files).
- :func:`amr_storage_from_rtp`: a real-time storage file from one RTP stream. RTP
  timestamp gaps (DTX, loss) become NO_DATA frames, duplicates are dropped, reordering
  is undone, sequence and timestamp wrap are handled, and a damaged payload is counted
  and skipped (its time slot becomes NO_DATA), never shifting the bit stream.
- :func:`detect_amr_format`: for streams without SDP, a payload-structure score for
  bandwidth-efficient vs octet-aligned and AMR vs AMR-WB, and an honest EVS flag.

Not supported (raise :class:`~labkit.errors.ConfigError` from :func:`parse_amr_fmtp`):
the octet-aligned options ``crc=1``, ``robust-sorting=1`` and ``interleaving``, and
multi-channel sessions; they are rare in IMS and change the payload layout.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labkit.errors import ConfigError, DecodeError, LabkitError, LabkitWarning

__all__ = [
    "NB_FRAME_BITS", "WB_FRAME_BITS", "NB_MODES_KBPS", "WB_MODES_KBPS", "NO_DATA",
    "AmrFrame", "AmrPacket", "AmrStorage", "AmrExtract", "AmrGuess",
    "frame_bits", "frame_kind", "depacketize_amr", "packetize_amr", "storage_magic",
    "write_amr_storage", "read_amr_storage", "amr_storage_from_rtp", "parse_amr_fmtp",
    "detect_amr_format", "looks_like_evs", "toc_table", "amr_streams", "extract_stream",
    "CapturePayloads", "read_sdp", "sip_candidates",
]

# Speech bits per frame type (RFC 4867 section 3.6 / 3GPP TS 26.101 Table 1a,
# TS 26.201 Table 1a). -1 marks types a receiver must discard (RFC 4867 section 4.3.2:
# "FT value in the range 9-14 for AMR or 10-13 for AMR-WB, the whole packet SHOULD be
# discarded"). NB FT 8 and WB FT 9 are SID; WB FT 14 is speech lost; FT 15 is NO_DATA.
NB_FRAME_BITS = (95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0)
WB_FRAME_BITS = (132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0)
NB_MODES_KBPS = (4.75, 5.15, 5.90, 6.70, 7.40, 7.95, 10.2, 12.2)
WB_MODES_KBPS = (6.60, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85)
NO_DATA = 15
SAMPLES_PER_FRAME = {False: 160, True: 320}    # 20 ms at 8000 / 16000 Hz RTP clock
_MAGIC = {False: b"#!AMR\n", True: b"#!AMR-WB\n"}
_MC_MAGIC = (b"#!AMR_MC1.0\n", b"#!AMR-WB_MC1.0\n")

# frame kinds for timelines (the AUDIO plots colour these)
SPEECH, SID, NO_DATA_SENT, GAP, SPEECH_LOST = "speech", "SID", "NO_DATA", "gap", "lost"


@dataclass(frozen=True)
class AmrFrame:
    """One AMR frame: frame type, quality bit and its bits, left-aligned, zero padded.

    Attributes
    ----------
    ft : int
        Frame type (RFC 4867 section 4.3.2): speech mode, SID, speech lost or NO_DATA.
    q : bool
        Frame quality indicator (False = damaged frame).
    bits : bytes
        The frame's class-ordered speech bits padded with zero bits to whole octets,
        exactly as they follow the header byte in a storage file (section 5.3).
    """

    ft: int
    q: bool
    bits: bytes


@dataclass(frozen=True)
class AmrPacket:
    """A depacketized RTP payload: codec mode request and frames in time order."""

    cmr: int
    frames: tuple[AmrFrame, ...]


@dataclass(frozen=True)
class AmrStorage:
    """A parsed single-channel storage file (RFC 4867 section 5.1-5.3)."""

    wideband: bool
    frames: tuple[AmrFrame, ...]


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


@dataclass(frozen=True)
class AmrGuess:
    """Result of :func:`detect_amr_format` for a stream without SDP.

    Attributes
    ----------
    codec : str
        "AMR", "AMR-WB", "EVS" (payload sizes of EVS compact format) or "unknown".
    octet_aligned : bool
        Octet-aligned (True) or bandwidth-efficient (False); meaningful for AMR only.
    confidence : float
        Fraction [0..1] of payloads that parse exactly under the chosen variant.
    scores : dict
        Score of every candidate ("AMR/be", "AMR/oa", "AMR-WB/be", "AMR-WB/oa").
    """

    codec: str
    octet_aligned: bool
    confidence: float
    scores: dict


def _table(wideband: bool) -> tuple[int, ...]:
    return WB_FRAME_BITS if wideband else NB_FRAME_BITS


def frame_bits(ft: int, wideband: bool) -> int:
    """Number of speech bits of frame type `ft` (RFC 4867 section 3.6), -1 if reserved."""
    return _table(wideband)[ft] if 0 <= ft <= 15 else -1


def frame_kind(ft: int, q: bool, wideband: bool) -> str:
    """"speech", "SID", "NO_DATA" or "lost" for a frame type (RFC 4867 section 4.3.2)."""
    sid = 9 if wideband else 8
    if ft == NO_DATA:
        return NO_DATA_SENT
    if ft == 14 and wideband or not q:
        return SPEECH_LOST
    return SID if ft == sid else SPEECH


def _reserved(ft: int, wideband: bool, where: str) -> DecodeError:
    name = "AMR-WB" if wideband else "AMR"
    return DecodeError(f"not {name}: ToC frame type {ft} is reserved (RFC 4867 4.3.2)", where,
                       "choose another stream, or check the codec and octet-align setting")


def _depacketize_be(payload: bytes, wideband: bool, where: str) -> AmrPacket:
    table, total = _table(wideband), len(payload) * 8
    value = int.from_bytes(payload, "big")
    if total < 10:
        raise DecodeError(f"payload of {len(payload)} bytes is too short for AMR", where)
    cmr = value >> (total - 4)
    pos, toc = 4, []
    while True:
        if pos + 6 > total:
            raise DecodeError("ToC runs past the end of the payload (F bit never 0)", where,
                              "the stream is not bandwidth-efficient AMR")
        entry = (value >> (total - pos - 6)) & 0x3F
        pos += 6
        toc.append(((entry >> 1) & 0xF, bool(entry & 1)))
        if not entry & 0x20:
            break
    frames = []
    for ft, q in toc:
        nbits = table[ft]
        if nbits < 0:
            raise _reserved(ft, wideband, where)
        if pos + nbits > total:
            raise DecodeError(f"payload has {total - pos} bits left for a {nbits}-bit frame "
                              f"(FT {ft})", where, "the payload is truncated or not this codec")
        bits = (value >> (total - pos - nbits)) & ((1 << nbits) - 1)
        pos += nbits
        frames.append(AmrFrame(ft, q, (bits << (-nbits % 8)).to_bytes((nbits + 7) // 8, "big")))
    if total - pos >= 8:
        raise DecodeError(f"{(total - pos) // 8} byte(s) left after the last frame", where,
                          "the stream is octet-aligned or not AMR")
    return AmrPacket(cmr, tuple(frames))


def _depacketize_oa(payload: bytes, wideband: bool, where: str) -> AmrPacket:
    table, n = _table(wideband), len(payload)
    if n < 2:
        raise DecodeError(f"payload of {n} bytes is too short for octet-aligned AMR", where)
    pos, toc = 1, []
    while True:
        if pos >= n:
            raise DecodeError("ToC runs past the end of the payload (F bit never 0)", where,
                              "the stream is not octet-aligned AMR")
        entry = payload[pos]
        pos += 1
        toc.append(((entry >> 3) & 0xF, bool(entry & 4)))
        if not entry & 0x80:
            break
    frames = []
    for ft, q in toc:
        nbits = table[ft]
        if nbits < 0:
            raise _reserved(ft, wideband, where)
        size = (nbits + 7) // 8
        if pos + size > n:
            raise DecodeError(f"payload has {n - pos} bytes left for a {size}-byte frame "
                              f"(FT {ft})", where, "the payload is truncated or not this codec")
        frames.append(AmrFrame(ft, q, payload[pos:pos + size]))
        pos += size
    if pos != n:
        raise DecodeError(f"{n - pos} byte(s) left after the last frame", where,
                          "the stream is bandwidth-efficient or not AMR")
    return AmrPacket(payload[0] >> 4, tuple(frames))


def depacketize_amr(payload: bytes, *, wideband: bool = False, octet_aligned: bool = False,
                    where: str = "payload") -> AmrPacket:
    """Split one RTP payload into its CMR and frames (RFC 4867 sections 4.3 and 4.4).

    Parameters
    ----------
    payload : bytes
        RTP payload (after header, CSRCs, extension; padding removed).
    wideband : bool
        AMR-WB (True) or AMR (False) frame sizes.
    octet_aligned : bool
        Octet-aligned mode (SDP fmtp ``octet-align=1``) or bandwidth-efficient.
    where : str
        Location for error messages ("call.pcap, frame 812").

    Returns
    -------
    AmrPacket
        CMR and the frames in time order; NO_DATA entries are kept (0 bits).

    Raises
    ------
    DecodeError
        Reserved frame type, ToC or frames running past the payload, or bytes left over:
        the payload is not this AMR variant (never returns a shifted bit stream).
    """
    payload = bytes(payload)
    if octet_aligned:
        return _depacketize_oa(payload, wideband, where)
    return _depacketize_be(payload, wideband, where)


def _check_frame(frame: AmrFrame, wideband: bool) -> int:
    nbits = frame_bits(frame.ft, wideband)
    if nbits < 0:
        raise LabkitError(f"frame type {frame.ft} is reserved", "packetize_amr",
                          "use speech modes, SID, speech lost (WB) or NO_DATA")
    if len(frame.bits) != (nbits + 7) // 8:
        raise LabkitError(f"FT {frame.ft} needs {(nbits + 7) // 8} bytes, got {len(frame.bits)}",
                          "packetize_amr", "pass the frame bits as in a storage file")
    return nbits


def packetize_amr(frames, *, wideband: bool = False, octet_aligned: bool = False,
                  cmr: int = 15) -> bytes:
    """Build one RTP payload from frames (RFC 4867 sections 4.3 and 4.4).

    Parameters
    ----------
    frames : sequence of AmrFrame
        Consecutive 20 ms frames, first frame at the packet's RTP timestamp.
    wideband, octet_aligned : bool
        Codec and payload format, as for :func:`depacketize_amr`.
    cmr : int
        Codec mode request, 15 = no request.

    Returns
    -------
    bytes
        The payload; bandwidth-efficient padding and octet-aligned reserved bits are 0.
    """
    frames = list(frames)
    if not frames:
        raise LabkitError("no frames to packetize", "packetize_amr", "pass at least one frame")
    sizes = [_check_frame(f, wideband) for f in frames]
    last = len(frames) - 1
    tocs = [((i < last) << 5) | (f.ft << 1) | int(f.q) for i, f in enumerate(frames)]
    if octet_aligned:
        return bytes([(cmr & 0xF) << 4] + [t << 2 for t in tocs]) + b"".join(f.bits for f in frames)
    value, nbits = cmr & 0xF, 4
    for toc in tocs:
        value, nbits = (value << 6) | toc, nbits + 6
    for frame, size in zip(frames, sizes):
        bits = int.from_bytes(frame.bits, "big") >> (-size % 8)
        value, nbits = (value << size) | bits, nbits + size
    pad = -nbits % 8
    return (value << pad).to_bytes((nbits + pad) // 8, "big")


def storage_magic(wideband: bool) -> bytes:
    """``#!AMR\\n`` or ``#!AMR-WB\\n`` (RFC 4867 section 5.1)."""
    return _MAGIC[bool(wideband)]


def _storage_bytes(frames, wideband: bool) -> bytes:
    parts = [storage_magic(wideband)]
    for frame in frames:
        _check_frame(frame, wideband)
        parts.append(bytes([(frame.ft << 3) | (int(frame.q) << 2)]))
        parts.append(frame.bits)
    return b"".join(parts)


def write_amr_storage(frames, path=None, *, wideband: bool = False) -> bytes:
    """Write a single-channel AMR/AMR-WB storage file (RFC 4867 section 5.3).

    Each 20 ms frame is one header byte ``0 FT(4) Q 0 0`` then its bits padded to octets.

    Parameters
    ----------
    frames : sequence of AmrFrame
        One per 20 ms, NO_DATA frames included.
    path : str or Path, optional
        Where to write (``.amr``, ``.awb`` or ``.3ga``); None only returns the bytes.
    wideband : bool
        AMR-WB magic and frame sizes.

    Returns
    -------
    bytes
        The file content.
    """
    data = _storage_bytes(frames, wideband)
    if path is not None:
        Path(path).write_bytes(data)
    return data


def read_amr_storage(source) -> AmrStorage:
    """Parse a single-channel storage file (RFC 4867 section 5).

    Parameters
    ----------
    source : bytes or str or Path
        File content or path.

    Raises
    ------
    DecodeError
        Unknown magic, multi-channel file, reserved frame type, truncated last frame.
    """
    where = "storage data"
    if not isinstance(source, (bytes, bytearray, memoryview)):
        where, source = str(source), Path(source).read_bytes()
    data = bytes(source)
    if data.startswith(_MC_MAGIC):
        raise DecodeError("multi-channel AMR storage is not supported", where,
                          "extract one channel with another tool")
    wideband = data.startswith(_MAGIC[True])
    if not wideband and not data.startswith(_MAGIC[False]):
        raise DecodeError("no #!AMR or #!AMR-WB magic: not an AMR storage file", where)
    pos, frames, table = len(_MAGIC[wideband]), [], _table(wideband)
    while pos < len(data):
        header = data[pos]
        ft, nbits = (header >> 3) & 0xF, table[(header >> 3) & 0xF]
        if nbits < 0 or header & 0x83:
            raise DecodeError(f"bad frame header byte 0x{header:02x}", f"{where}, offset {pos}")
        size = (nbits + 7) // 8
        if pos + 1 + size > len(data):
            raise DecodeError("last frame is truncated", f"{where}, offset {pos}")
        frames.append(AmrFrame(ft, bool(header & 4), data[pos + 1:pos + 1 + size]))
        pos += 1 + size
    return AmrStorage(wideband, tuple(frames))


def parse_amr_fmtp(fmtp: str | None) -> dict:
    """Read the AMR fmtp parameters that change the payload layout (RFC 4867 section 8.1).

    Returns
    -------
    dict
        ``octet_aligned`` (bool), ``mode_set`` (list of int or None).

    Raises
    ------
    ConfigError
        For ``crc=1``, ``robust-sorting=1``, ``interleaving`` or ``channels`` > 1, which
        this module does not depacketize.
    """
    params = {}
    for item in (fmtp or "").split(";"):
        key, _, value = item.strip().partition("=")
        params[key.strip().split(" ")[-1].lower()] = value.strip()
    out = {"octet_aligned": params.get("octet-align") == "1", "mode_set": None}
    modes = params.get("mode-set")
    if modes:
        out["mode_set"] = [int(m) for m in modes.split(",") if m.strip().isdigit()]
    for key in ("crc", "robust-sorting"):
        if params.get(key) == "1":
            raise ConfigError(f"AMR fmtp {key}=1 is not supported", f"fmtp '{fmtp}'",
                              "only plain bandwidth-efficient and octet-aligned payloads")
    if "interleaving" in params:
        raise ConfigError("AMR interleaving is not supported", f"fmtp '{fmtp}'")
    return out


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
                rest = positions[~ok]
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


def toc_table(payloads, *, wideband: bool = False, octet_aligned: bool = False):
    """One row per frame of every payload: the fields tshark's AMR dissector shows.

    Returns
    -------
    pandas.DataFrame
        Columns packet (index into `payloads`), cmr, frame (index in the packet), f, ft,
        q, nbytes; a damaged payload gives one row with ft = -1 and the error.
    """
    import pandas as pd

    rows = []
    for i, payload in enumerate(payloads):
        try:
            packet = depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned)
        except DecodeError as exc:
            rows.append((i, -1, 0, False, -1, False, 0, str(exc)))
            continue
        last = len(packet.frames) - 1
        for j, fr in enumerate(packet.frames):
            rows.append((i, packet.cmr, j, j < last, fr.ft, fr.q, len(fr.bits), ""))
    return pd.DataFrame(rows, columns=["packet", "cmr", "frame", "f", "ft", "q", "nbytes",
                                       "error"])


# EVS compact-format payload sizes [bytes] (3GPP TS 26.445 Table A.1): primary modes
# 2.8 .. 128 kbit/s, primary SID, and AMR-WB IO modes (with the 3-bit CMR) + IO SID.
EVS_COMPACT_SIZES = frozenset({6, 7, 18, 20, 24, 33, 41, 61, 80, 120, 160, 240, 320,
                               17, 23, 32, 36, 40, 46, 50, 58, 60, 5})
_G711_SIZES = frozenset({80, 160, 240, 320})
_CANDIDATES = {"AMR/be": (False, False), "AMR/oa": (False, True),
               "AMR-WB/be": (True, False), "AMR-WB/oa": (True, True)}


def _strict_ok(payload: bytes, wideband: bool, octet_aligned: bool) -> int:
    """Frames in `payload` if it is a clean payload of this variant, else -1.

    Clean means: parses exactly (no byte left), CMR valid (0-7 NB, 0-8 WB, or 15),
    zero padding bits (BE) or zero reserved bits (OA), a speech/SID frame present.
    """
    try:
        packet = depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned)
    except DecodeError:
        return -1
    if not (packet.cmr <= (8 if wideband else 7) or packet.cmr == 15):
        return -1
    if octet_aligned:
        tocs = payload[1:1 + len(packet.frames)]
        if payload[0] & 0x0F or any(t & 3 for t in tocs):
            return -1
    else:
        used = 4 + 6 * len(packet.frames) + sum(frame_bits(f.ft, wideband) for f in packet.frames)
        if int.from_bytes(payload, "big") & ((1 << (len(payload) * 8 - used)) - 1):
            return -1
    if all(f.ft >= 14 for f in packet.frames):
        return -1
    return len(packet.frames)


def _timestamp_score(nframes, timestamps, spf) -> float:
    """Fraction of consecutive packets whose timestamp step is n_frames * spf."""
    ts = np.asarray(timestamps, dtype=np.int64)
    steps = (np.diff(ts) % (1 << 32))
    n = np.asarray(nframes[:-1])
    ok = (n > 0) & (steps != 0)           # steps of 0 are duplicate copies
    if ok.sum() == 0:
        return 0.0
    return float(np.mean(steps[ok] == n[ok] * spf))


def detect_amr_format(payloads, timestamps=None, *, sample: int = 400) -> AmrGuess:
    """Guess AMR vs AMR-WB and bandwidth-efficient vs octet-aligned from payloads.

    For streams without SDP. Every candidate is scored by the fraction of payloads that
    parse cleanly (see below); with `timestamps`, by the fraction whose RTP timestamp
    steps equal frames x 160 (AMR) or x 320 (AMR-WB) too. A clean parse is exact to the
    byte, with a valid CMR (RFC 4867 section 4.3.1), zero padding (4.3.5.3) or zero
    reserved bits (4.4.1), and no reserved frame type (4.3.2).

    Parameters
    ----------
    payloads : sequence of bytes
        Payloads of one stream in arrival order.
    timestamps : array-like of int, optional
        Their RTP timestamps.
    sample : int
        At most this many consecutive payloads from the middle of the stream are used.

    Returns
    -------
    AmrGuess
        The best candidate; codec "EVS" when AMR fails and most payload sizes are EVS
        compact-format sizes; "unknown" when nothing fits (confidence < 0.5).
    """
    payloads = list(payloads)
    start = max(0, (len(payloads) - sample) // 2)
    part = [bytes(p) for p in payloads[start:start + sample]]
    ts = None if timestamps is None else np.asarray(timestamps)[start:start + sample]
    scores = {}
    for name, (wb, oa) in _CANDIDATES.items():
        nframes = [_strict_ok(p, wb, oa) for p in part]
        score = float(np.mean([n > 0 for n in nframes])) if part else 0.0
        if ts is not None and len(part) > 1 and score > 0:
            score = score * (0.75 + 0.25 * _timestamp_score(nframes, ts, SAMPLES_PER_FRAME[wb]))
        scores[name] = round(score, 4)
    best = max(scores, key=lambda k: (scores[k], -list(_CANDIDATES).index(k)))
    wb, oa = _CANDIDATES[best]
    if scores[best] >= 0.5:
        return AmrGuess("AMR-WB" if wb else "AMR", oa, scores[best], scores)
    evs = looks_like_evs(part)
    codec = "EVS" if evs >= 0.8 else "unknown"
    return AmrGuess(codec, False, evs if codec == "EVS" else scores[best], scores)


def looks_like_evs(payloads) -> float:
    """Fraction [0..1] of payloads whose size is an EVS compact-format size.

    3GPP TS 26.445 Annex A.2.1: in the compact format the payload size alone tells the
    bit rate. This is a plausibility flag ("EVS, cannot decode here"), not a decoder.
    Streams whose most common size is 80, 160, 240 or 320 bytes score 0: those are
    G.711 packet sizes, far more common than EVS at 32-128 kbit/s.
    """
    sizes = [len(p) for p in payloads]
    if not sizes:
        return 0.0
    common = Counter(sizes).most_common(1)[0][0]
    if common in _G711_SIZES:          # 10/20/30/40 ms of G.711 look like EVS 32..128 kbit/s
        return 0.0
    return float(np.mean([s in EVS_COMPACT_SIZES for s in sizes]))


# ------------------------------------------------------------ streams of a capture
_AMR_NAMES = {"AMR": "AMR", "AMR-NB": "AMR", "AMR-WB": "AMR-WB", "AMR_WB": "AMR-WB",
              "AMRWB": "AMR-WB", "EVS": "EVS"}
_STREAM_COLUMNS = ["stream", "src", "sport", "dst", "dport", "ssrc", "pt", "packets", "codec",
                   "octet_aligned", "source", "fmtp"]


def _sdp_codec(sdp, key, pt):
    """(name, fmtp) of `pt` in the SDP m= line announcing the stream's dst (else src)."""
    if sdp is None or len(sdp) == 0:
        return None
    for addr, port in ((key.dst, key.dport), (key.src, key.sport)):
        rows = sdp[(sdp["address"] == addr) & (sdp["port"] == port)]
        for row in rows.iloc[::-1].itertuples(index=False):     # the latest offer/answer
            codecs = row.codecs if isinstance(row.codecs, dict) else {}
            if pt in codecs:
                fmtp = row.fmtp.get(pt) if isinstance(row.fmtp, dict) else None
                return str(codecs[pt][0]), fmtp
    return None


def _first_rows(rtp, stream: int, n: int) -> np.ndarray:
    return np.flatnonzero(np.asarray(rtp.stream) == stream)[:n]


def _payloads_at(rtp, idx) -> list[bytes]:
    source = CapturePayloads(rtp, idx)
    return [source[i] for i in range(len(source))]


def _classify_stream(rtp, s, key, sdp, sample) -> tuple[str, bool, str, str | None]:
    idx = _first_rows(rtp, s, 1)
    pt = int(rtp.pt[idx[0]])
    found = _sdp_codec(sdp, key, pt)
    if found is not None:
        name = _AMR_NAMES.get(found[0].upper(), found[0])
        try:
            oa = name != "EVS" and parse_amr_fmtp(found[1])["octet_aligned"]
        except ConfigError:
            return name, False, "SDP (unsupported fmtp)", found[1]
        return name, bool(oa), "SDP", found[1]
    rows = _first_rows(rtp, s, sample)
    guess = detect_amr_format(_payloads_at(rtp, rows), np.asarray(rtp.timestamp)[rows])
    if guess.codec == "unknown" and pt < 96:
        return f"PT {pt}", False, "static PT", None
    return guess.codec, guess.octet_aligned, f"heuristic ({guess.confidence:.2f})", None


def amr_streams(rtp, *, sdp=None, sample: int = 400):
    """Every RTP stream with its codec from SDP, else from the payload structure.

    Parameters
    ----------
    rtp : labkit.rtp.RtpPackets
        From :func:`labkit.rtp.find_rtp`.
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture (read when omitted). The m= line
        whose address/port is the stream's destination (else source) gives the
        ``a=rtpmap`` name and ``a=fmtp`` octet-align (RFC 4867 section 8.1).
    sample : int
        Payloads per stream given to :func:`detect_amr_format` when there is no SDP.

    Returns
    -------
    pandas.DataFrame
        stream, src, sport, dst, dport, ssrc, pt, packets, codec ("AMR", "AMR-WB",
        "EVS", another rtpmap name, "PT n" or "unknown"), octet_aligned, source
        ("SDP", "heuristic (confidence)", "static PT"), fmtp.
    """
    import pandas as pd

    if sdp is None:
        sdp = read_sdp(rtp.packets)
    counts = np.bincount(np.asarray(rtp.stream), minlength=rtp.n_streams)
    rows = []
    for s, key in enumerate(rtp.keys.itertuples(index=False)):
        if counts[s] == 0:
            continue
        codec, oa, source, fmtp = _classify_stream(rtp, s, key, sdp, sample)
        pt = int(rtp.pt[_first_rows(rtp, s, 1)[0]])
        rows.append((s, key.src, int(key.sport), key.dst, int(key.dport), int(key.ssrc), pt,
                     int(counts[s]), codec, oa, source, fmtp))
    return pd.DataFrame(rows, columns=_STREAM_COLUMNS)


def sip_candidates(packets):
    """Rows that can hold SIP: TCP segments, and UDP payloads starting with a letter.

    A SIP start line begins with a method token or "SIP/2.0" (RFC 3261 section 7);
    RTP (first byte 0x80-0xBF), RTCP, DNS, GTP-U ... never start with an ASCII letter.
    Scanning only these rows keeps SDP look-up cheap on media-heavy captures.
    """
    first = packets.head(1)[:, 0]
    letter = ((first >= 0x41) & (first <= 0x5A)) | ((first >= 0x61) & (first <= 0x7A))
    return packets.select((np.asarray(packets.proto) == 6) | letter)


def read_sdp(packets):
    """:func:`labkit.sip.sdp_media` of the SIP candidate rows (None if unreadable)."""
    try:
        from labkit import sip
        return sip.sdp_media(sip_candidates(packets))
    except LabkitError as exc:
        warnings.warn(f"SDP not read ({exc}); codecs from payload structure only",
                      LabkitWarning, stacklevel=3)
        return None


def extract_stream(rtp, stream: int, *, codec: str, octet_aligned: bool,
                   where: str = "capture") -> AmrExtract:
    """Real-time storage file of one stream of `rtp` (see :func:`amr_storage_from_rtp`).

    Raises
    ------
    DecodeError
        `codec` is not AMR / AMR-WB (EVS and others cannot be written as AMR storage), or
        no payload of the stream is this AMR variant.
    """
    name = _AMR_NAMES.get(str(codec).upper(), str(codec))
    if name not in ("AMR", "AMR-WB"):
        note = "EVS, cannot decode here" if name == "EVS" else f"codec {name}"
        raise DecodeError(f"stream {stream} is not AMR ({note})", where,
                          "choose an AMR or AMR-WB stream (or force --codec if SDP is wrong)")
    idx = np.flatnonzero(np.asarray(rtp.stream) == stream)
    return amr_storage_from_rtp(np.asarray(rtp.seq)[idx], np.asarray(rtp.timestamp)[idx],
                                CapturePayloads(rtp, idx), wideband=name == "AMR-WB",
                                octet_aligned=octet_aligned,
                                time_ns=np.asarray(rtp.time_ns)[idx], where=where)
