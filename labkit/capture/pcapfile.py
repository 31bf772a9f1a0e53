"""The record layer of capture files: classic pcap and pcapng, read from a mmap.

This module only finds frames (where each frame's bytes are, their lengths, time and
interface); :mod:`labkit.capture` dissects them. Record headers are walked with a tight
``struct.unpack_from`` loop, except that runs of equal-length records (the common case
for RTP: every packet of a codec has the same size) are validated in bulk with a strided
numpy view, which is exact: a run is accepted only while every record in it carries the
length that puts the next record where the view expects it. Long stretches of records
of varying length (several codecs) are walked by one compiled loop
(:mod:`labkit.capture._kernel`: ``walk_pcap``, ``walk_epbs``) once numba is worth loading;
below that, classic pcap by numpy chains in lockstep, each taken over only from where the
true walk lands on it (``CaptureFile._chain_pcap``). Either way a damaged record stops the
fast walk, and the one-by-one walk reports it.

References
----------
- pcap: draft-ietf-opsawg-pcap (magic 0xa1b2c3d4 microseconds, 0xa1b23c4d nanoseconds,
  either byte order; 24-byte file header; 16-byte record headers).
- pcapng: draft-ietf-opsawg-pcapng (Section Header Block 0x0A0D0D0A with byte-order magic
  0x1A2B3C4D, Interface Description Block 1 with if_tsresol (9) and if_tsoffset (14),
  Enhanced Packet Block 6, Simple Packet Block 3, obsolete Packet Block 2; all other
  blocks are skipped).
- gzip-compressed files are read too, as Wireshark reads them (decompressed to an
  unlinked temporary file, then mapped: disk, not memory).
- Wireshark 4.0 also shows pcapng custom blocks (0x00000BAD, 0x40000BAD) and systemd
  journal export blocks (9) as frames; they are counted here too, so frame numbers agree.
"""
from __future__ import annotations

import gzip
import shutil
import tempfile
import itertools
import mmap
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from labkit import _jit
from labkit.capture import _kernel
from labkit.errors import CaptureError

__all__ = ["CaptureFile", "RecordChunk", "Interface", "NO_LINK"]

NO_LINK = -1            # link type of a pcapng record that is not a packet (custom block)
MAX_RECORD = 0x4000000  # 64 MiB: larger record lengths mean a damaged file
_RUN_MIN = 16           # records: try a bulk run when at least this many could follow
_RUN_MAX = 65536        # records per bulk run
_RUN_BACKOFF = 64       # records read one by one after a failed bulk attempt
_CHAINS = 1024          # lockstep chains of the vectorised walk of varying-length records
_CHAIN_MIN = 16384      # records: fewer left in a chunk, or a shorter file, walk one by one
_PROBE = 256            # records walked one by one to size the chains' blocks
_PCAP_MAGICS = {0xA1B2C3D4: (1000, 16), 0xA1B23C4D: (1, 16), 0xA1B2CD34: (1000, 24)}
_PCAPNG_SHB = 0x0A0D0D0A
_FRAME_BLOCKS = {0x00000BAD, 0x40000BAD, 9}


@dataclass(frozen=True)
class Interface:
    """One capture interface: link type and timestamp units.

    Attributes
    ----------
    linktype : int
        LINKTYPE_* value (tcpdump.org/linktypes.html).
    units : int
        Timestamp ticks per second (1e6 for classic microsecond pcap).
    offset_s : int
        if_tsoffset: seconds added to every timestamp [s].
    name : str
        if_name, if present.
    snaplen : int
        Maximum captured length per packet [bytes] (0 = no limit).
    """

    linktype: int
    units: int = 1_000_000
    offset_s: int = 0
    name: str = ""
    snaplen: int = 0


@dataclass
class RecordChunk:
    """Consecutive frames of a capture as arrays (one element per frame).

    Attributes
    ----------
    number : ndarray of int64
        1-based frame numbers (Wireshark numbering).
    offset : ndarray of int64
        Offset of the frame's first byte in the file [bytes].
    caplen, wirelen : ndarray of int32
        Captured and original length [bytes].
    time_ns : ndarray of int64
        Timestamp [ns since the Unix epoch].
    interface : ndarray of int16
        Interface index (capture-wide; classic pcap: 0).
    """

    number: np.ndarray
    offset: np.ndarray
    caplen: np.ndarray
    wirelen: np.ndarray
    time_ns: np.ndarray
    interface: np.ndarray

    def __len__(self) -> int:
        return len(self.number)


class _Acc:
    """Record fields written into preallocated arrays (pages untouched until used)."""

    def __init__(self, capacity: int):
        self.offset = np.empty(capacity, np.int64)
        self.caplen = np.empty(capacity, np.int32)
        self.wirelen = np.empty(capacity, np.int32)
        self.ticks = np.empty(capacity, np.int64)
        self.iface = np.empty(capacity, np.int16)
        self.n = 0
        self.single: list = []

    def add_single(self, off, cap, wire, ticks, iface):
        self.single.append((off, cap, min(wire, 2**31 - 1), ticks & (2**63 - 1), iface))

    def add_run(self, off, stride, cap, wire, sec, frac, units, iface):
        """Store `len(cap)` records at offsets off, off + stride, ..."""
        self.flush()
        a, b = self.n, self.n + len(cap)
        self.offset[a:b] = np.arange(off, off + (b - a) * stride, stride, dtype=np.int64)
        self.caplen[a:b] = cap
        self.wirelen[a:b] = np.minimum(wire, 2**31 - 1)
        t = self.ticks[a:b]
        t[:] = sec
        t *= units
        t += frac
        self.iface[a:b] = iface
        self.n = b

    def add_arrays(self, off, cap, wire, ticks, iface):
        """Store records given as arrays (`iface` array or scalar)."""
        self.flush()
        a, b = self.n, self.n + len(off)
        self.offset[a:b] = off
        self.caplen[a:b] = cap
        self.wirelen[a:b] = np.minimum(wire, 2**31 - 1)
        self.ticks[a:b] = ticks & (2**63 - 1)
        self.iface[a:b] = iface
        self.n = b

    def flush(self):
        if self.single:
            a, b = self.n, self.n + len(self.single)
            cols = list(zip(*self.single))
            for arr, col in zip((self.offset, self.caplen, self.wirelen, self.ticks,
                                 self.iface), cols):
                arr[a:b] = col
            self.n, self.single = b, []

    def count(self) -> int:
        return self.n + len(self.single)

    def arrays(self):
        self.flush()
        n = self.n
        return (self.offset[:n], self.caplen[:n], self.wirelen[:n], self.ticks[:n],
                self.iface[:n])


def _ticks_to_ns(ticks: np.ndarray, units: int) -> np.ndarray:
    """Timestamp ticks to ns, truncating like Wireshark's pcapng reader."""
    if units == 1_000_000_000:
        return ticks
    if 1_000_000_000 % units == 0:
        return ticks * (1_000_000_000 // units)
    sec, frac = np.divmod(ticks, units)
    if units <= 2**33:
        return sec * 1_000_000_000 + frac * 1_000_000_000 // units
    return sec * 1_000_000_000 + (frac.astype(np.float64) * 1e9 / units).astype(np.int64)


class CaptureFile:
    """An open pcap or pcapng file, memory-mapped, yielding frames in chunks.

    Parameters
    ----------
    path : str or Path
        The capture.

    Raises
    ------
    CaptureError
        Empty file, not a capture, truncated file header, unsupported format.

    Attributes
    ----------
    path : Path
    format : {"pcap", "pcapng"}
    size : int
        File size [bytes].
    buf : mmap.mmap
        Read-only map of the whole file.
    data : ndarray of uint8
        The same bytes as a numpy array (no copy).
    interfaces : list of Interface
        Capture-wide interfaces (pcapng: in order of their IDBs over all sections).
    warnings : list of str
        Damage found so far (truncated or absurd last record).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        self.warnings: list[str] = []
        self.interfaces: list[Interface] = []
        self._open()
        self.data = np.frombuffer(self.buf, dtype=np.uint8)
        self._sniff()
        self.next_frame = 1

    # ---------------------------------------------------------------- opening
    def _open(self):
        try:
            fh = open(self.path, "rb")
        except OSError as exc:
            raise CaptureError(f"cannot open: {exc.strerror}", str(self.path),
                               "check the path") from None
        with fh:
            self.size = os.fstat(fh.fileno()).st_size
            if self.size == 0:
                raise CaptureError("empty file (0 bytes)", self.name,
                                   "the capture was not written; record it again")
            self.buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if self.buf[:2] == b"\x1f\x8b":
            self._gunzip()

    def _gunzip(self):
        """A gzip-compressed capture (Wireshark reads these too): decompressed in 1 MiB
        blocks into an unlinked temporary file that is then mapped like any capture, so
        a big compressed file costs disk, not memory."""
        self.buf.close()
        out = tempfile.TemporaryFile(prefix="labkit-gunzip-")
        try:
            with gzip.open(self.path, "rb") as gz:
                shutil.copyfileobj(gz, out, 1 << 20)
            size = out.tell()
            if not size:
                raise CaptureError("empty file after gzip decompression", self.name,
                                   "the capture was not written; record it again")
            out.flush()
            self.buf, self.size = mmap.mmap(out.fileno(), 0, access=mmap.ACCESS_READ), size
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError(f"damaged gzip-compressed file ({exc})", self.name,
                               "decompress it with `gunzip -c` and read what it gives") from None
        finally:
            out.close()  # the map keeps the data; the file has no name

    def _sniff(self):
        if self.size < 4:
            raise CaptureError(f"not a capture file ({self.size} bytes)", self.name,
                               "give a pcap or pcapng file")
        head = bytes(self.buf[:4])
        for e in "<>":
            magic = struct.unpack(e + "I", head)[0]
            if magic in _PCAP_MAGICS:
                return self._pcap_header(e, magic)
        if head == b"\x0a\x0d\x0d\x0a":
            return self._pcapng_start()
        fix = "save it from Wireshark as pcap or pcapng (File > Save As)"
        for magic, kind in ((b"\x28\xb5\x2f\xfd", "zstd"), (b"\x04\x22\x4d\x18", "lz4")):
            if head == magic:
                fix = f"it is {kind}-compressed: decompress it first ({kind} -d FILE)"
        raise CaptureError(f"not a pcap or pcapng file (starts with {head.hex()})", self.name,
                           fix)

    def _pcap_header(self, e: str, magic: int):
        if self.size < 24:
            raise CaptureError(f"truncated pcap file header ({self.size} of 24 bytes)",
                               self.name, "the file is damaged; capture again")
        self.format, self.endian = "pcap", e
        self.frac_mult, self.rec_hdr = _PCAP_MAGICS[magic]
        major, minor, _, _, self.snaplen, lt = struct.unpack_from(e + "HHiIII", self.buf, 4)
        self.interfaces.append(Interface(lt & 0xFFFF, 1_000_000_000 // self.frac_mult,
                                         snaplen=self.snaplen))
        self.start = 24

    def _pcapng_start(self):
        self.format = "pcapng"
        if self.size < 28:
            raise CaptureError(f"truncated pcapng section header ({self.size} bytes)",
                               self.name, "the file is damaged; capture again")
        self.start = 0
        self.endian = self._shb_endian(0)
        self._iface_base = 0

    def _shb_endian(self, off: int) -> str:
        bom = bytes(self.buf[off + 8:off + 12])
        if bom == b"\x4d\x3c\x2b\x1a":
            return "<"
        if bom == b"\x1a\x2b\x3c\x4d":
            return ">"
        raise CaptureError(f"pcapng section header at byte {off} has a bad byte-order magic "
                           f"{bom.hex()}", self.name, "the file is damaged")

    def close(self):
        """Unmap the file (arrays that view it must not be used afterwards)."""
        if isinstance(self.buf, mmap.mmap):
            self.buf.close()

    # ---------------------------------------------------------------- chunks
    def chunks(self, chunk_frames: int = 1_000_000) -> Iterator[RecordChunk]:
        """Yield consecutive :class:`RecordChunk` of at most `chunk_frames` frames."""
        walk = self._walk_pcap if self.format == "pcap" else self._walk_pcapng
        self._pos = self.start
        while self._pos is not None:
            self._quiet, self._no_chain = 0, False
            per = 16 if self.format == "pcap" else 12
            acc = _Acc(max(1, min(chunk_frames, (self.size - self._pos) // per + 1)))
            self._pos = walk(self._pos, acc, chunk_frames)
            chunk = self._finish(acc)
            if len(chunk):
                yield chunk

    def _finish(self, acc: _Acc) -> RecordChunk:
        off, cap, wire, ticks, iface = acc.arrays()  # views; untouched tail pages cost no RAM
        if len(self.interfaces) == 1 and not (iface < 0).any():
            time_ns = _ticks_to_ns(ticks, self.interfaces[0].units)
            time_ns += self.interfaces[0].offset_s * 1_000_000_000
        else:
            time_ns = np.zeros(len(off), np.int64)
            for i, itf in enumerate(self.interfaces):
                sel = iface == i
                time_ns[sel] = _ticks_to_ns(ticks[sel], itf.units) + itf.offset_s * 10**9
        n = len(off)
        number = np.arange(self.next_frame, self.next_frame + n, dtype=np.int64)
        self.next_frame += n
        return RecordChunk(number, off, cap, wire, time_ns, iface)

    def _damaged(self, what: str, frame: int, fix: str = "the frames before it are used"):
        msg = f"{self.name}, frame {frame}: {what}; {fix}"
        self.warnings.append(msg)

    # ---------------------------------------------------------------- classic pcap
    def _walk_pcap(self, off: int, acc: _Acc, limit: int) -> int | None:
        """Walk pcap records from `off`; return where to resume (None at the end).

        A tight scalar scan collects record offsets; when a streak of equal lengths
        shows up, the rest of the streak is validated in bulk (:meth:`_pcap_run`).
        """
        while acc.count() < limit:
            room = limit - acc.count()
            if room >= _CHAIN_MIN and not self._quiet and not self._no_chain:
                nxt = self._chain_pcap(off, acc, room)
                if nxt is not None and nxt > off:
                    # chains that did not meet cost a whole chunk's work for part of
                    # it: then the rest of the chunk is walked one by one
                    self._no_chain = limit - acc.count() > room // 2
                    off = nxt
                    continue
            offs, off, why = self._scan_pcap(off, acc, limit - acc.count())
            self._store_pcap(acc, offs)
            if why != "streak":
                return off if why == "limit" else None
            cap = struct.unpack_from(self.endian + "I", self.buf, off + 8)[0]
            stride = self.rec_hdr + cap
            k = min((self.size - off) // stride, _RUN_MAX, limit - acc.count())
            run = self._pcap_run(acc, off, stride, cap, k) if k >= _RUN_MIN else 0
            if run >= _RUN_MIN:
                off += run * stride
            else:
                self._quiet = _RUN_BACKOFF
        return off

    def _scan_pcap(self, off: int, acc: _Acc, room: int):
        """Record offsets from `off` until `room` records, the end, damage or a streak
        of equal lengths (8, or 64 right after a failed bulk attempt)."""
        hl, end, buf = self.rec_hdr, self.size, self.buf
        caplen = struct.Struct(self.endian + "I").unpack_from
        maxcap = min(max(self.snaplen, 262144, 65535), MAX_RECORD)
        offs: list[int] = []
        add, lim = offs.append, end - hl
        last, streak, stop = -1, 0, (_RUN_BACKOFF if self._quiet else 8)
        self._quiet = 0
        for _ in itertools.repeat(None, room):
            if off > lim:
                if off < end:
                    self._damaged(f"record header truncated ({end - off} of {hl} bytes)",
                                  self.next_frame + acc.count() + len(offs))
                return offs, off, "end"
            cap = caplen(buf, off + 8)[0]
            nxt = off + hl + cap
            if cap > maxcap or nxt > end:
                what = (f"record length {cap} bytes is absurd (snap length {self.snaplen})"
                        if cap > maxcap else
                        f"record truncated ({end - off - hl} of {cap} bytes)")
                self._damaged(what, self.next_frame + acc.count() + len(offs))
                return offs, off, "end"
            if cap == last:
                streak += 1
                if streak >= stop:
                    return offs, off, "streak"
            else:
                last, streak = cap, 0
            add(off)
            off = nxt
        return offs, off, "limit"

    def _u32s(self, pos: np.ndarray) -> np.ndarray:
        """The 32-bit header fields at byte positions `pos` (all within the file)."""
        win = np.lib.stride_tricks.as_strided(self.data, (self.size - 3, 4), (1, 1))
        return win[pos].view(self.endian + "u4")[:, 0].astype(np.int64)

    def _chain_pcap(self, off: int, acc: _Acc, room: int) -> int | None:
        """Walk up to `room` records of varying length from `off` in numpy; store them
        and return where to resume, or None to walk one by one.

        The file is cut into `_CHAINS` blocks. Chain 0 starts at `off`; chain k at the
        first position of block k whose header and the three it points to look like
        records. All chains step at once (next = position + header + caplen: the walk's
        own recurrence), each until it is past the next block's start. Chain k-1 is the
        true walk (by induction); where it lands on a position of chain k, chain k is
        the true walk from there on. Where it does not (no plausible start, a false
        one), the walk so far is stored and the caller resumes at the true position
        reached. Records of equal length are left to the bulk run (:meth:`_pcap_run`);
        damage (an absurd length, a truncated record) ends the chains before it, so the
        one-by-one walk finds and reports it as before.
        """
        hl, end, buf = self.rec_hdr, self.size, self.buf
        caplen = struct.Struct(self.endian + "I").unpack_from
        maxcap = min(max(self.snaplen, 262144, 65535), MAX_RECORD)
        p, caps = off, []
        for _ in range(_PROBE):
            if p + hl > end:
                return None
            cap = caplen(buf, p + 8)[0]
            if cap > maxcap or p + hl + cap > end:
                return None
            caps.append(cap)
            p += hl + cap
        c = np.array(caps)
        same = np.flatnonzero(np.diff(c) != 0)
        if len(same) == 0 or np.diff(same, prepend=-1, append=len(c) - 1).max() >= 8:
            return None   # streaks of equal lengths: the strided bulk run is faster
        avg = (p - off) / _PROBE                  # [bytes] per record so far
        if _jit.use_compiled(min(room, int((end - off) / avg))):  # one compiled walk, no chains
            acc.flush()
            room = min(room, len(acc.offset) - acc.n)
            k, nxt = _jit.compiled(_kernel.walk_pcap)(
                self.data, off, end, hl, maxcap, self.endian == ">",
                1_000_000_000 // self.frac_mult, acc.offset, acc.caplen, acc.wirelen,
                acc.ticks, acc.n, room)
            acc.iface[acc.n:acc.n + k] = 0
            acc.n += k
            return nxt if k else None
        big = hl + max(caps)
        span = min(end - off, int(room * avg * 1.02) + 4 * big)
        k = max(1, min(_CHAINS, span // (64 * big)))
        if k < 2:
            return None
        block, win = span // k, big
        starts = np.full(k, -1, np.int64)
        starts[0] = off
        sec0 = struct.unpack_from(self.endian + "I", buf, off)[0]
        cand = ((off + block * np.arange(1, k, dtype=np.int64))[:, None]
                + np.arange(win)).reshape(-1)
        q = cand[cand + hl <= end]   # a cheap first sieve: the caplen field alone
        c = self._u32s(q + 8)
        sieve = (c > 0) & (c <= maxcap) & (q + hl + c <= end)
        q, keep = q[sieve], np.flatnonzero(cand + hl <= end)[sieve]
        for _ in range(4):   # a header, and the next three it points to, look like records
            q, keep = q[q + hl <= end], keep[q + hl <= end]
            sec, frac = self._u32s(q), self._u32s(q + 4)
            c, w = self._u32s(q + 8), self._u32s(q + 12)
            ok = ((c > 0) & (c <= maxcap) & (w >= c) & (q + hl + c <= end)
                  & (np.abs(sec - sec0) < 86400 * 366)
                  & (frac < 1_000_000_000 // self.frac_mult))
            q, keep = (q + hl + c)[ok], keep[ok]
        if len(keep):
            first = keep[np.unique(keep // win, return_index=True)[1]]
            starts[1:][first // win] = cand[first]
        stop = np.empty(k, np.int64)
        stop[:-1] = off + block * np.arange(1, k, dtype=np.int64) + win
        stop[-1] = off + span
        pos, live = starts.copy(), starts >= 0
        broke = np.zeros(k, bool)
        steps, limit = [], (block + win) // hl + 2
        for _ in range(limit):
            live &= pos < stop
            if not live.any():
                break
            at = np.where(live, pos, off)
            fits = at + hl <= end
            c = self._u32s(np.where(fits, at, off) + 8)
            nxt = at + hl + c
            bad = live & (~fits | (c > maxcap) | (nxt > end))
            broke |= bad
            live &= ~bad        # a damaged record is no step: its chain stops before it
            steps.append(np.where(live, pos, -1))
            pos = np.where(live, nxt, pos)
        else:
            return None
        m = np.array(steps).T if steps else np.zeros((k, 0), np.int64)
        chains = [row[row >= 0] for row in m]
        out, cur, cur_end, cur_broke = [], chains[0], int(pos[0]), bool(broke[0])
        resume = None
        for j in range(1, k):
            g = int(starts[j])
            if g < 0:
                at = len(cur)
                resume = cur_end
                break
            at = int(np.searchsorted(cur, g))
            q0 = int(cur[at]) if at < len(cur) else cur_end
            nxt_chain = chains[j]
            i = int(np.searchsorted(nxt_chain, q0))
            if cur_broke and at >= len(cur) or i >= len(nxt_chain) or nxt_chain[i] != q0:
                resume = q0
                break
            out.append(cur[:at])
            cur, cur_end, cur_broke = nxt_chain[i:], int(pos[j]), bool(broke[j])
        if resume is None:
            out.append(cur)
            resume = cur_end
        else:
            out.append(cur[:at])
        offs = np.concatenate(out) if out else np.zeros(0, np.int64)
        if len(offs) > room:
            resume, offs = int(offs[room]), offs[:room]
        self._store_pcap(acc, offs)
        return resume

    def _store_pcap(self, acc: _Acc, offs: list):
        """Read the headers of records at `offs` in one gather and store them."""
        if not len(offs):
            return
        o = np.array(offs, np.int64)
        win = np.lib.stride_tricks.as_strided(self.data, (self.size - 15, 16), (1, 1))
        v = win[o].view(self.endian + "u4").astype(np.int64)
        units = 1_000_000_000 // self.frac_mult
        acc.add_arrays(o + self.rec_hdr, v[:, 2], v[:, 3], v[:, 0] * units + v[:, 1], 0)

    def _pcap_run(self, acc: _Acc, off: int, stride: int, cap: int, k: int) -> int:
        """Validate up to `k` records of equal length at `off` in bulk; store them."""
        e = self.endian
        view = np.ndarray((k, 4), dtype=e + "u4", buffer=self.buf, offset=off,
                          strides=(stride, 4))
        if (view[:_RUN_MIN, 2] != cap).any():  # cheap probe before copying k records
            return 0
        view = view.copy()  # one pass over the records
        bad = np.flatnonzero(view[:, 2] != cap)
        run = int(bad[0]) if bad.size else k
        if run < _RUN_MIN:
            return run
        v = view[:run]
        acc.add_run(off + self.rec_hdr, stride, v[:, 2], v[:, 3], v[:, 0], v[:, 1],
                    1_000_000_000 // self.frac_mult, 0)
        return run

    # ---------------------------------------------------------------- pcapng
    def _walk_pcapng(self, off: int, acc: _Acc, limit: int) -> int | None:
        """Walk pcapng blocks: EPBs by a tight scan (bulk for streaks), others one by one."""
        while acc.count() < limit:
            offs, off, why = self._scan_pcapng(off, acc, limit - acc.count())
            self._store_epbs(acc, offs)
            if why in ("limit", "end"):
                return off if why == "limit" else None
            if why == "varying":   # EPBs of varying lengths: one compiled walk
                acc.flush()
                room = min(limit - acc.count(), len(acc.offset) - acc.n)
                k, off = _jit.compiled(_kernel.walk_epbs)(
                    self.data, off, self.size, self.endian == ">", self._iface_base,
                    len(self.interfaces), acc.offset, acc.caplen, acc.wirelen, acc.ticks,
                    acc.iface, acc.n, room)
                acc.n += k
                continue
            btype = struct.unpack_from(self.endian + "I", self.buf, off)[0]
            if btype == _PCAPNG_SHB:
                self._section(off)
            blen = struct.unpack_from(self.endian + "I", self.buf, off + 4)[0]
            if blen < 12 or blen % 4 or off + blen > self.size:
                self._damaged(f"block length {blen} is invalid", self.next_frame + acc.count())
                return None
            if why == "streak":
                k = min((self.size - off) // blen, _RUN_MAX, limit - acc.count())
                run = self._epb_run(acc, off, blen, k) if k >= _RUN_MIN else 0
                if run >= _RUN_MIN:
                    off += run * blen
                else:
                    self._quiet = _RUN_BACKOFF
                continue
            self._block(btype, off, blen, acc)
            off += blen
        return off

    def _scan_pcapng(self, off: int, acc: _Acc, room: int):
        """EPB offsets from `off` until another block type, `room`, the end, a streak
        of equal block lengths (8, or 64 right after a failed bulk attempt) or, when
        compiled loops are worth it for `room` records, `_PROBE` EPBs of varying
        lengths ("varying")."""
        end, buf = self.size, self.buf
        head = struct.Struct(self.endian + "II").unpack_from
        offs: list[int] = []
        add = offs.append
        last, streak, stop = -1, 0, (_RUN_BACKOFF if self._quiet else 8)
        self._quiet = 0
        start, varying = off, _PROBE
        for _ in itertools.repeat(None, room):
            if len(offs) == varying:   # worth a compiled walk for the records left?
                if _jit.use_compiled(min(room, (end - off) * _PROBE // (off - start))):
                    return offs, off, "varying"
                varying = -1
            if off + 12 > end:
                if off < end:
                    self._damaged(f"block header truncated ({end - off} bytes)",
                                  self.next_frame + acc.count() + len(offs))
                return offs, off, "end"
            btype, blen = head(buf, off)
            if btype == _PCAPNG_SHB:  # new section (maybe new byte order): walker's job
                return offs, off, "block"
            if blen < 12 or blen % 4 or blen > MAX_RECORD or off + blen > end:
                what = (f"block length {blen} is invalid" if blen < 12 or blen % 4
                        or blen > MAX_RECORD else
                        f"block truncated ({end - off} of {blen} bytes)")
                self._damaged(what, self.next_frame + acc.count() + len(offs))
                return offs, off, "end"
            if btype != 6 or blen < 32:
                return offs, off, "block"
            if blen == last:
                streak += 1
                if streak >= stop:
                    return offs, off, "streak"
            else:
                last, streak = blen, 0
            add(off)
            off += blen
        return offs, off, "limit"

    def _section(self, off: int):
        """A Section Header Block: new byte order, interfaces numbered after the old."""
        self.endian = self._shb_endian(off)
        self._iface_base = len(self.interfaces)

    def _store_epbs(self, acc: _Acc, offs: list):
        """Read the headers of EPBs at `offs` in one gather, validate and store them."""
        if not len(offs):
            return
        o = np.array(offs, np.int64)
        win = np.lib.stride_tricks.as_strided(self.data, (self.size - 27, 28), (1, 1))
        v = win[o].view(self.endian + "u4").astype(np.int64)
        iface = v[:, 2] + self._iface_base
        bad = np.flatnonzero((iface >= len(self.interfaces)) | (v[:, 5] > v[:, 1] - 32))
        if len(bad):
            i = int(bad[0])
            self._check_iface(int(iface[i]))
            raise CaptureError(f"frame {self.next_frame + acc.count() + i}: captured length "
                               f"{v[i, 5]} exceeds its block", self.name,
                               "the file is damaged")
        acc.add_arrays(o + 28, v[:, 5], v[:, 6], (v[:, 3] << 32) | v[:, 4], iface)

    def _epb_run(self, acc: _Acc, off: int, blen: int, k: int) -> int:
        """Bulk-validate up to `k` EPBs of total length `blen` at `off`; store them."""
        e = self.endian
        view = np.ndarray((k, 7), dtype=e + "u4", buffer=self.buf, offset=off,
                          strides=(blen, 4))
        p = view[:_RUN_MIN]
        if ((p[:, 0] != 6) | (p[:, 1] != blen) | (p[:, 2] != p[0, 2])).any():
            return 0
        view = view.copy()
        first = view[0]
        ok = (view[:, 0] == 6) & (view[:, 1] == blen) & (view[:, 2] == first[2]) \
            & (view[:, 5] == first[5])
        bad = np.flatnonzero(~ok)
        run = int(bad[0]) if bad.size else k
        if run < _RUN_MIN:
            return run
        v = view[:run]
        iface = self._iface_base + int(first[2])
        self._check_iface(iface)
        if int(first[5]) > blen - 32:
            return 0  # let the scalar path report the damage
        acc.add_run(off + 28, blen, v[:, 5], v[:, 6], v[:, 3], v[:, 4], 2**32, iface)
        return run

    def _check_iface(self, iface: int):
        if iface >= len(self.interfaces):
            raise CaptureError(f"packet refers to interface {iface - self._iface_base}, "
                               "which has no Interface Description Block", self.name,
                               "the file is damaged; re-save it with Wireshark")

    def _block(self, btype: int, off: int, blen: int, acc: _Acc):
        e, buf = self.endian, self.buf
        if btype == 6:
            i, hi, lo, cap, wire = struct.unpack_from(e + "IIIII", buf, off + 8)
            self._packet(acc, off + 28, cap, wire, (hi << 32) | lo, i, blen - 32)
        elif btype == 2:
            i, _, hi, lo, cap, wire = struct.unpack_from(e + "HHIIII", buf, off + 8)
            self._packet(acc, off + 28, cap, wire, (hi << 32) | lo, i, blen - 32)
        elif btype == 3:  # SPB: interface 0; captured = min(original, snaplen, room)
            (wire,) = struct.unpack_from(e + "I", buf, off + 8)
            self._check_iface(self._iface_base)
            snap = self.interfaces[self._iface_base].snaplen or wire
            self._packet(acc, off + 12, min(wire, snap, blen - 16), wire, 0, 0, blen - 16)
        elif btype == 1:
            self._idb(off, blen)
        elif btype in _FRAME_BLOCKS:
            acc.add_single(off, 0, 0, 0, -1)

    def _packet(self, acc, data_off, cap, wire, ticks, iface, room):
        iface += self._iface_base
        self._check_iface(iface)
        if cap > room:
            raise CaptureError(f"frame {self.next_frame + acc.count()}: captured length {cap} "
                               f"exceeds its block", self.name, "the file is damaged")
        acc.add_single(data_off, cap, wire, ticks, iface)

    def _idb(self, off: int, blen: int):
        e = self.endian
        linktype, _, snaplen = struct.unpack_from(e + "HHI", self.buf, off + 8)
        units, offset_s, name = 1_000_000, 0, ""
        for code, value in self._options(off + 16, off + blen - 4):
            if code == 9 and value:
                r = value[0]
                units = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
            elif code == 14 and len(value) == 8:
                offset_s = struct.unpack(e + "q", value)[0]
            elif code == 2:
                name = value.decode("utf-8", "replace")
        self.interfaces.append(Interface(linktype, units, offset_s, name, snaplen))

    def _options(self, off: int, end: int):
        e = self.endian
        while off + 4 <= end:
            code, length = struct.unpack_from(e + "HH", self.buf, off)
            if code == 0:
                return
            yield code, bytes(self.buf[off + 4:off + 4 + length])
            off += 4 + length + (-length % 4)
