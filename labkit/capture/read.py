"""Read captures without tshark: every UDP datagram and TCP segment as numpy arrays.

>>> from labkit.capture import read_capture          # doctest: +SKIP
>>> pk = read_capture("call.pcapng")                  # doctest: +SKIP
>>> pk.to_dataframe().head()                          # doctest: +SKIP

What is read
------------
- Files: classic pcap (both byte orders, micro- and nanosecond magic, draft-ietf-opsawg-
  pcap) and pcapng (several sections and interfaces, per-interface link type,
  if_tsresol and if_tsoffset; EPB, SPB and the obsolete PB; other blocks skipped;
  draft-ietf-opsawg-pcapng). See :mod:`labkit.capture.pcapfile`.
- Link layers: Ethernet (802.1Q VLAN, QinQ 802.1ad, PPPoE session, MPLS), Linux cooked SLL
  and SLL2, raw IP (link types 101, 12, 14, 228, 229), BSD loopback NULL (either byte
  order; AF 2, 24, 28, 30) and LOOP.
- IPv4 (options) and IPv6 (RFC 8200 extension headers), IP-in-IP, GRE (RFC 2784 with
  IP, Ethernet or ERSPAN; PPTP's enhanced GRE with PPP, RFC 2637), VXLAN (RFC 7348,
  UDP 4789), IPv4 AH (RFC 4302); fragments reassembled (RFC 791 / RFC 815 / RFC 8200
  4.5) and reported at the frame that completed them, like Wireshark; fragments never
  completed are counted in ``stats`` and named in ``warnings``.
- gzip-compressed files (decompressed to an unlinked temporary file, then mapped).
- GTP-U G-PDUs on UDP port 2152 (3GPP TS 29.281: S/E/PN flags, extension header chain,
  inner IPv4/IPv6); ESP with NULL encryption detected like Wireshark 4.0's
  ``esp.enable_null_encryption_decode_heuristic`` (RFC 4303; ICV 12/16/24/32 bytes,
  padding 1..n, known next header), also inside UDP 4500 (RFC 3948, as Wireshark's
  ``udpencap``); encrypted ESP counted as ``esp_opaque``.

Rows are the *innermost* UDP datagram or TCP segment of a frame (after tunnels).

Deliberate differences from tshark 4.0
--------------------------------------
- A G-PDU whose inner packet carries neither UDP nor TCP (e.g. ICMP) gives no row
  (tshark's last UDP layer would be the outer GTP-U datagram); counted in
  ``stats["non_udp"]``. Other GTP-U messages (echo, end marker) are UDP rows.
- UDP/TCP inside ICMP error messages is not reported (counted as ``non_udp``).
- Only the tunnels above are opened (no Geneve, Teredo, GRE-in-UDP, ERSPAN III).
"""
from __future__ import annotations

import os

import heapq
import mmap
import queue
import threading
import warnings
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from labkit.capture.dissect import LINKTYPES, Dissector, Reassembler
from labkit.errors import CaptureError, LabkitWarning
from labkit.capture.packets import (_ARRAYS, Frame, Packets, _AddressBook, _Columns, _merge,
                                    _rows_of, _Store)
from labkit.capture.pcapfile import NO_LINK, CaptureFile, RecordChunk
from labkit.capture._rows import _cat, _n

__all__ = ["Packets", "Frame", "as_packets", "packet_chunks", "read_capture", "iter_capture", "iter_frames",
           "require_udp", "PROGRESS_BYTES", "show_progress", "progress_bar"]

PROGRESS_BYTES = 50 * 2**20   # files larger than this get a progress bar by default
RELEASE_BYTES = 64 * 2**20    # files larger than this are unmapped chunk by chunk
READ_CHUNK = 262_144          # frames dissected at a time by read_capture
HEAD_BYTES = 16               # payload bytes per row kept by iter_capture(keep_head=True)
# ---------------------------------------------------------------------------- reading
@dataclass
class _Reader:
    """State of one pass over a capture."""

    cf: CaptureFile
    gtp_ports: tuple
    esp_null: bool
    reassemble: bool
    keep_head: bool = False   # also keep each row's first HEAD_BYTES payload bytes
    cast: bool = True         # columns in their Packets dtypes (False: as computed; the
                              # caller casts while copying them, _Columns.append)
    stats: dict = field(default_factory=dict)
    book: _AddressBook = field(default_factory=_AddressBook)
    first_time_ns: int | None = None
    n_frames: int = 0

    def __post_init__(self):
        self.reasm = Reassembler() if self.reassemble else None

    def chunk_rows(self, ch: RecordChunk) -> dict:
        """Dissect one chunk of frames into finished columns (not yet Packets)."""
        if self.first_time_ns is None:
            self.first_time_ns = int(ch.time_ns[0])
        self.n_frames += len(ch)
        lt = self._linktypes(ch)
        d = Dissector(self.cf.data, self.stats, gtp_ports=self.gtp_ports,
                      esp_null=self.esp_null, reassembler=self.reasm, book=self.book)
        d.head_width = HEAD_BYTES if self.keep_head else 0
        rows = d.frames(ch.offset, ch.caplen, lt)
        extra = self._reassembled(d, rows)
        cols, head = self._columns(ch, rows, extra, d)
        if self.keep_head:
            cols["head"] = head
        return cols

    def _head(self, d: Dissector, off: np.ndarray, plen: np.ndarray, idx: np.ndarray,
              extra: np.ndarray) -> np.ndarray:
        """``Packets.head(HEAD_BYTES)`` of rows of the vectorised dissector (payload
        offsets `off`, lengths `plen`, frames `idx`): from the dissector's compact copy
        of the frames' first bytes where it holds them, else read from the buffer (no
        second pass over the file)."""
        n, size, w = len(off), len(self.cf.data), HEAD_BYTES
        out = np.zeros((n, w), np.uint8)
        if not n:
            return out
        got = np.zeros(n, bool)
        if d.h is not None:
            rel = off - d.base[idx]
            fits = (off < size) & (rel >= 0) & (rel + w <= d.h.shape[1])
            if fits.all():
                r = rel[0]
                if not (rel == r).all():
                    out[:] = d.h[idx[:, None], rel[:, None] + np.arange(w)]
                elif n == len(d.h) and idx[0] == 0 and (np.diff(idx) == 1).all():  # each frame
                    out[:] = d.h[:, r:r + w]
                else:
                    out[:] = d.h[idx, r:r + w]
            elif fits.any():
                k = np.flatnonzero(fits)
                out[k] = d.h[idx[k, None], rel[k, None] + np.arange(w)]
            got |= fits
        for buf, rest, base in ((self.cf.data, ~got & (off < size), 0),
                                (extra, ~got & (off >= size), size)):
            rest = np.flatnonzero(rest)
            if len(rest) and len(buf):
                out[rest] = _rows_of(buf, off[rest] - base, w)
        short = np.flatnonzero(plen < w)  # zero past the payload, as Packets.head
        if len(short):
            out[short] *= np.arange(w) < plen[short, None]
        return out

    def _linktypes(self, ch: RecordChunk) -> np.ndarray:
        lts = np.array([i.linktype for i in self.cf.interfaces] + [NO_LINK], np.int64)
        known = np.isin(lts, list(LINKTYPES) + [NO_LINK])
        if len(lts) == 2 and known.all() and not (ch.interface < 0).any():
            return np.full(len(ch), lts[0], np.int64)     # one interface (pcap)
        lt = lts[ch.interface]
        bad = ~known[ch.interface]
        if bad.any():
            self.stats["unsupported_link"] = self.stats.get("unsupported_link", 0) + int(bad.sum())
            lt = np.where(bad, NO_LINK, lt)
        return lt

    def _reassembled(self, d: Dissector, rows: list) -> np.ndarray:
        """Feed fragment events to the reassembler in frame order and dissect the
        datagrams they complete; their payloads go to the returned buffer.

        Fast path: all completed datagrams are dissected in one batch. If one of them
        holds fragments itself (a fragmented packet inside a fragmented tunnel), the
        chunk is redone one datagram at a time, so that inner fragments join the queue
        at their frame, as Wireshark sees them.
        """
        if not d.completed:
            return np.zeros(0, np.uint8)
        saved = self.reasm.snapshot()
        done = [(ev[3], g) for ev in sorted(d.completed, key=lambda e: e[0])
                if (g := self.reasm.add(ev[1], ev[2])) is not None]
        stats: dict = {}
        buf, out = self._dissect_batch(done, stats)
        if out is not None:
            for k, v in stats.items():
                self.stats[k] = self.stats.get(k, 0) + v
            rows.extend(out)
            return buf
        self.reasm.restore(saved)
        return self._one_by_one(d.completed, rows)

    def _dissect_batch(self, done: list, stats: dict):
        """(buffer, rows) for completed datagrams, or (None, None) if any of them
        contains fragments."""
        if not done:
            return np.zeros(0, np.uint8), []
        buf = np.frombuffer(b"".join(g for _, g in done), np.uint8)
        starts = np.cumsum([0] + [len(g) for _, g in done])[:-1]
        sub = Dissector(buf, stats, gtp_ports=self.gtp_ports, esp_null=self.esp_null,
                        reassembler=self.reasm)
        out = sub.datagrams([(int(s), len(g), r) for s, (r, g) in zip(starts, done)])
        if sub.completed:
            return None, None
        for r in out:
            r["poff"] = r["poff"] + len(self.cf.data)
            r["pos"] = np.full(len(r["idx"]), -1, np.int64)
        return buf, out

    def _one_by_one(self, events: list, rows: list) -> np.ndarray:
        """Exact order: a heap of fragment events; each completed datagram is
        dissected at once and its own fragment events are queued at its frame."""
        heap = [(ev[0], k, ev) for k, ev in enumerate(events)]
        heapq.heapify(heap)
        bufs, size, base, seq = [], len(self.cf.data), 0, len(heap)
        while heap:
            _, _, (idx, key, frag, row) = heapq.heappop(heap)
            dgram = self.reasm.add(key, frag)
            if dgram is None:
                continue
            sub = Dissector(np.frombuffer(dgram, np.uint8), self.stats,
                            gtp_ports=self.gtp_ports, esp_null=self.esp_null,
                            reassembler=self.reasm)
            for r in sub.datagrams([(0, len(dgram), row)]):
                r["poff"] = r["poff"] + size + base
                r["pos"] = np.full(len(r["idx"]), -1, np.int64)
                rows.append(r)
            for ev in sub.completed:
                heapq.heappush(heap, (ev[0], seq, ev))
                seq += 1
            bufs.append(dgram)
            base += len(dgram)
        return np.frombuffer(b"".join(bufs), np.uint8) if bufs else np.zeros(0, np.uint8)

    def _columns(self, ch: RecordChunk, rows: list, extra: np.ndarray, d: Dissector):
        """The chunk's columns, in the dtypes of :class:`Packets`, and the first payload
        bytes of each row (with `keep_head`): the frames of the compiled path
        (``d.fast``) and the `rows` of the vectorised dissector, in frame order.

        Address ids are given in one order whatever path a row took: outer tunnel
        addresses, then sources, then destinations, each in row order.
        """
        fast = d.fast if d.fast is not None and len(d.fast[0]) else None
        w = _cat(rows)
        if fast is None and not w:
            cols = {k: np.zeros(0, t) for k, t in _ARRAYS.items()}
            cols["extra"] = extra
            return cols, np.zeros((0, HEAD_BYTES), np.uint8)
        if _n(w) > 1 and (np.diff(w["idx"]) < 0).any():
            order = np.argsort(w["idx"], kind="stable")
            w = {k: v[order] for k, v in w.items()}
        parts = []                       # (frame index of each row, columns, keys, head)
        if fast is not None:
            parts.append(self._fast_part(ch, fast))
        if w:
            parts.append(self._row_part(ch, w, extra, d))
        if len(parts) == 1:
            _, cols, keys, head = parts[0]
        else:
            cols, keys, head = _interleave(parts)
        if keys["over"] is not None:     # rows inside a tunnel: their outer addresses
            has = keys["over"] > 0
            if has.any():
                ov = keys["over"][has]
                cols["outer_src_id"][has] = self.book.lookup(ov, keys["ohi_s"][has], keys["olo_s"][has])
                cols["outer_dst_id"][has] = self.book.lookup(ov, keys["ohi_d"][has], keys["olo_d"][has])
        if "ids" in keys:                # the compiled path read the IPv4 cache
            cols["src_id"] = self.book.fill_v4_misses(keys["ids"][0], keys["slo"])
            cols["dst_id"] = self.book.fill_v4_misses(keys["ids"][1], keys["dlo"])
        else:
            cols["src_id"] = self.book.lookup(keys["ver"], keys["shi"], keys["slo"])
            cols["dst_id"] = self.book.lookup(keys["ver"], keys["dhi"], keys["dlo"])
        cols = {k: cols[k] for k in _ARRAYS}
        cols["extra"] = extra
        return cols, head

    def _fast_part(self, ch: RecordChunk, fast: tuple):
        """Columns of the frames the compiled path took (``_kernel.plain_udp4``)."""
        idx, _, sport, dport, poff, plen, vlan, l3, l4, slo, dlo, head, sid, did = fast
        m = len(idx)
        pick = slice(None) if m == len(ch) else idx    # every frame: no gathers
        cols = {"frame": ch.number[pick], "time_ns": ch.time_ns[pick],
                "proto": np.full(m, 17, np.uint8), "ip_version": np.full(m, 4, np.uint8),
                "sport": sport, "dport": dport, "payload_offset": poff, "payload_len": plen,
                "tcp_seq": np.zeros(m, np.uint32), "tcp_flags": np.zeros(m, np.uint8),
                "teid": np.full(m, -1, np.int64), "outer_src_id": np.full(m, -1, np.int32),
                "outer_dst_id": np.full(m, -1, np.int32),
                "vlan": vlan, "esp_spi": np.full(m, -1, np.int64),
                "frame_offset": ch.offset[pick], "caplen": ch.caplen[pick],
                "wirelen": ch.wirelen[pick], "l3_offset": l3, "l4_offset": l4,
                "interface": ch.interface[pick]}
        cols = {k: v.astype(_ARRAYS[k], copy=False) for k, v in cols.items()}
        hi = np.zeros(m, np.int64)
        keys = {"ver": np.full(m, 4, np.int64), "shi": hi, "slo": slo, "dhi": hi, "dlo": dlo,
                "over": None, "ids": (sid, did)}
        return idx, cols, keys, head if self.keep_head else None

    def _row_part(self, ch: RecordChunk, w: dict, extra: np.ndarray, d: Dissector):
        """Columns of the rows of the vectorised dissector (frame order)."""
        idx = w["idx"]
        pick = idx
        if len(idx) == len(ch) and (len(idx) == 0 or idx[-1] == len(ch) - 1):
            pick = slice(None)  # every frame gave one row, in order: no gathers
        fo = ch.offset[pick]
        n = len(idx)
        get = lambda k: w.get(k, np.full(n, -1, np.int64))  # noqa: E731
        cols = {
            "frame": ch.number[pick], "time_ns": ch.time_ns[pick], "proto": w["proto"],
            "ip_version": w["ver"], "sport": w["sport"], "dport": w["dport"],
            "payload_offset": w["poff"], "payload_len": w["plen"], "tcp_seq": w["seq"],
            "tcp_flags": w["flags"], "teid": get("teid"), "vlan": get("vlan"),
            "outer_src_id": np.full(n, -1, np.int32), "outer_dst_id": np.full(n, -1, np.int32),
            "esp_spi": get("spi"), "frame_offset": fo, "caplen": ch.caplen[pick],
            "wirelen": ch.wirelen[pick], "l3_offset": w["l3"] - fo,
            "l4_offset": np.where(w["pos"] < 0, -1, w["pos"] - fo),
            "interface": ch.interface[pick],
        }
        if self.cast:
            cols = {k: np.asarray(v).astype(_ARRAYS[k], copy=False) for k, v in cols.items()}
        keys = {k: w[k] for k in ("ver", "shi", "slo", "dhi", "dlo")}
        keys["over"] = get("over")
        for k in ("ohi_s", "olo_s", "ohi_d", "olo_d"):
            keys[k] = w.get(k)
        head = None
        if self.keep_head:
            head = self._head(d, w["poff"], w["plen"], idx, extra)
        return idx, cols, keys, head

    def finish_stats(self) -> dict:
        st = self.stats
        if self.reasm is not None:
            st["fragments_reassembled"] = self.reasm.n_fragments_used
            st["fragments_unreassembled"] = self.reasm.n_pending_fragments()
            st["datagrams_reassembled"] = self.reasm.n_reassembled
        else:
            st["fragments_unreassembled"] = st.get("fragments", 0)
        return dict(sorted(st.items()))

    def warnings(self) -> tuple:
        out = list(self.cf.warnings)
        n = self.stats.get("fragments_unreassembled", 0)
        if n and self.reasm is None:
            out.append(f"{self.cf.name}: {n} IP fragments were not reassembled "
                       "(reassemble=False); their datagrams are not in the result")
        elif n:
            out.append(f"{self.cf.name}: {n} IP fragments could not be reassembled "
                       "(missing pieces); their datagrams are not in the result")
        k = self.stats.get("unsupported_link", 0)
        if k:
            out.append(f"{self.cf.name}: {k} frames on interfaces with an unsupported "
                       "link type were skipped")
        return tuple(out)


def _interleave(parts: list):
    """Join the columns, address keys and heads of two sets of rows by frame index
    (each set in frame order; a frame's rows are all in one set)."""
    (ia, ca, ka, ha), (ib, cb, kb, hb) = parts
    n = len(ia) + len(ib)
    at_a = np.arange(len(ia)) + np.searchsorted(ib, ia)
    at_b = np.arange(len(ib)) + np.searchsorted(ia, ib, side="right")

    def join(x, y, dtype=None):
        out = np.empty((n,) + np.shape(x)[1:], dtype or np.result_type(x, y))
        out[at_a] = x
        out[at_b] = y
        return out

    cols = {k: join(ca[k], cb[k], _ARRAYS[k]) for k in ca}
    keys = {k: join(ka[k], kb[k], np.int64) for k in ("ver", "shi", "slo", "dhi", "dlo")}
    keys["over"] = None
    if kb["over"] is not None and (kb["over"] > 0).any():
        keys["over"] = join(np.full(len(ia), -1, np.int64), kb["over"], np.int64)
        for k in ("ohi_s", "olo_s", "ohi_d", "olo_d"):
            keys[k] = join(np.zeros(len(ia), np.int64), kb[k], np.int64)
    head = None if ha is None else join(ha, hb, np.uint8)
    return cols, keys, head


def _packets(reader: _Reader, cols: dict, extra: np.ndarray, head=None) -> Packets:
    cf = reader.cf
    stats = reader.finish_stats()
    stats["udp"] = int((cols["proto"] == 17).sum())
    stats["tcp"] = int((cols["proto"] == 6).sum())
    store = _Store(cf.data, extra, head, None if head is None else cols["payload_offset"])
    return Packets(**cols, addresses=tuple(reader.book.text), path=cf.path,
                   first_time_ns=reader.first_time_ns or 0, n_frames=reader.n_frames,
                   stats=dict(sorted(stats.items())), warnings=reader.warnings(),
                   _store=store)


def _open(path, gtp_ports, esp_null, reassemble) -> _Reader:
    cf = CaptureFile(path)
    if cf.format == "pcap" and cf.interfaces[0].linktype not in LINKTYPES:
        _unsupported(cf)
    return _Reader(cf, tuple(gtp_ports), esp_null, reassemble)


def _unsupported(cf: CaptureFile):
    lts = sorted({i.linktype for i in cf.interfaces} - set(LINKTYPES))
    raise CaptureError(
        "link type " + ", ".join(map(str, lts)) + " is not supported (supported: "
        + ", ".join(f"{k} {v}" for k, v in sorted(LINKTYPES.items())) + ")",
        cf.name, "if the frames really are Ethernet or IP, relabel the file with "
        "`editcap -T ether IN OUT` (or -T rawip); otherwise export the UDP packets "
        "from Wireshark as pcapng")


def show_progress(size_bytes: int, progress=None) -> bool:
    """Whether a long read shows a progress bar: the one rule of every reader.

    Parameters
    ----------
    size_bytes : int
        Size of the input [bytes] (the file, or all files of a fleet).
    progress : bool or None
        True / False: as asked. None: ``$LABKIT_PROGRESS`` when set ("0": never, "1":
        always; the test suite sets "0", so notebooks under nbval stay quiet), else
        only inputs over ``$LABKIT_PROGRESS_BYTES`` or :data:`PROGRESS_BYTES` (50 MiB).

    Returns
    -------
    bool

    References
    ----------
    tqdm documentation (``tqdm.auto``: a widget in Jupyter, text on stderr elsewhere).

    Examples
    --------
    >>> show_progress(10, True), show_progress(2**40, False)
    (True, False)
    """
    if progress is not None:
        return bool(progress)
    env = os.environ.get("LABKIT_PROGRESS", "").strip()
    if env in ("0", "1"):
        return env == "1"
    limit = os.environ.get("LABKIT_PROGRESS_BYTES", "").strip()
    return size_bytes > (int(limit) if limit.isdigit() else PROGRESS_BYTES)


def progress_bar(total, *, size_bytes=None, progress=None, desc=None, unit="B"):
    """A ``tqdm.auto`` bar when :func:`show_progress` says so, else None.

    Parameters
    ----------
    total : int
        Units to count (bytes of a file, streams, files).
    size_bytes : int, optional
        Size of the input [bytes] the rule looks at (default: `total`).
    progress : bool or None
        As :func:`show_progress`.
    desc : str, optional
        Label (e.g. the file name).
    unit : str
        "B" (bytes, scaled) or another unit name.

    Returns
    -------
    tqdm.auto.tqdm or None
        Call ``update(n)`` and ``close()``; the bar does not stay after it closes.

    References
    ----------
    tqdm documentation (``tqdm.auto``).

    Examples
    --------
    >>> progress_bar(100, progress=False) is None
    True
    """
    if not show_progress(total if size_bytes is None else size_bytes, progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit == "B", desc=desc, leave=False)


def _progress(cf: CaptureFile, progress):
    return progress_bar(cf.size, progress=progress, desc=cf.name)


def _chunks(reader: _Reader, chunk_packets: int, progress) -> Iterator[dict]:
    cf = reader.cf
    bar = _progress(cf, progress)
    done = 0
    try:
        for ch in cf.chunks(chunk_packets):
            yield reader.chunk_rows(ch)
            end = int(ch.offset[-1] + ch.caplen[-1])
            _release(cf, done, end)
            if bar is not None:
                bar.update(end - done)
            done = end
    finally:
        if bar is not None:
            bar.close()


def _release(cf: CaptureFile, start: int, end: int):
    """Drop pages of a processed region of a big file from our resident set (they stay
    in the page cache; re-reading a payload faults them back in)."""
    page = mmap.PAGESIZE
    a, b = (start // page) * page, (end // page) * page
    if cf.size > RELEASE_BYTES and b - a >= 64 * page and hasattr(cf.buf, "madvise"):
        cf.buf.madvise(mmap.MADV_DONTNEED, a, b - a)


def as_packets(source, **kwargs) -> Packets:
    """`source` as :class:`Packets`: already-read packets as they are, a path read.

    The one way from "a capture the user named" to packets, for every analysis that
    accepts either.

    Parameters
    ----------
    source : Packets, str or os.PathLike
        Packets from :func:`read_capture`, or a pcap/pcapng(.gz) file.
    **kwargs
        Passed to :func:`read_capture` when `source` is a path.

    Returns
    -------
    Packets

    Raises
    ------
    CaptureError
        When `source` is neither (the message names its type).

    Examples
    --------
    >>> from labkit import data
    >>> pk = as_packets(data.path("relay_rtpengine"))
    >>> as_packets(pk) is pk
    True

    References
    ----------
    DESIGN.md principle 5 (one way from a path to packets); the readers follow
    draft-ietf-opsawg-pcap and draft-ietf-opsawg-pcapng.
    """
    if isinstance(source, Packets) or (hasattr(source, "head") and hasattr(source, "payload_len")):
        return source   # (the second test admits stand-ins with the same columns, as tests use)
    if isinstance(source, (str, os.PathLike)):
        return read_capture(source, **kwargs)
    raise CaptureError(f"cannot read a capture from a {type(source).__name__}", None,
                       "give a pcap/pcapng path or the Packets of read_capture()")


def packet_chunks(source, **kwargs) -> Iterator[Packets]:
    """`source` as consecutive :class:`Packets`: a path read chunk by chunk
    (:func:`iter_capture`, bounded memory), packets already read as one chunk.

    For readers that keep a little of each chunk (the Diameter segments, the datagrams
    to one port) and so never need the whole capture in memory.

    Parameters
    ----------
    source : Packets, str or os.PathLike
        Packets from :func:`read_capture`, or a pcap/pcapng(.gz) file.
    **kwargs
        Passed to :func:`iter_capture` when `source` is a path (e.g. chunk_packets).

    Yields
    ------
    Packets
        Consecutive frames of the capture, in file order.

    Raises
    ------
    CaptureError
        When `source` is neither (as :func:`as_packets`).

    Examples
    --------
    >>> from labkit import data
    >>> [len(pk) for pk in packet_chunks(data.path("relay_rtpengine"), chunk_packets=1000)]
    [1000, 1000, 228]

    References
    ----------
    As :func:`as_packets`.
    """
    if isinstance(source, (str, os.PathLike)):
        yield from iter_capture(source, **kwargs)
    else:
        yield as_packets(source)


def read_capture(path, *, progress=None, reassemble=True, gtp_ports=(2152,),
                 esp_null=True) -> Packets:
    """Read every UDP datagram and TCP segment of a pcap/pcapng file.

    Parameters
    ----------
    path : str or Path
        Capture file (pcap or pcapng).
    progress : bool or None
        Show a tqdm progress bar; None = only for files over 50 MiB
        (:func:`show_progress`).
    reassemble : bool
        Reassemble IPv4/IPv6 fragments (RFC 791, RFC 815, RFC 8200 4.5).
    gtp_ports : tuple of int
        UDP ports whose G-PDUs are decapsulated (GTP-U, 3GPP TS 29.281: 2152).
    esp_null : bool
        Detect NULL-encrypted ESP (RFC 4303) like Wireshark's heuristic.

    Returns
    -------
    Packets
        One row per innermost UDP datagram / TCP segment, in frame order. May be empty;
        see :func:`require_udp`.

    Raises
    ------
    CaptureError
        Not a capture, empty, truncated header, unsupported link type, or damaged before
        the first frame. A damaged tail gives the frames before it and a
        :class:`~labkit.errors.LabkitWarning` naming the frame.

    References
    ----------
    libpcap and pcapng file formats (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng);
    RFC 791 / RFC 8200 (IP), RFC 768 (UDP), RFC 9293 (TCP). The rows match tshark's
    ``-Y "udp || tcp"`` frames (tests/capture/test_read.py).

    Examples
    --------
    >>> from labkit import data
    >>> pk = read_capture(data.path("relay_rtpengine"))   # tshark -Y udp: 2228 frames
    >>> len(pk)
    2228
    """
    reader = _open(path, gtp_ports, esp_null, reassemble)
    reader.keep_head = True   # 16 bytes per row: RTP header parsing needs no second pass
    reader.cast = False       # _Columns.append casts while it copies (one pass, not two)
    out = _Columns(reader.cf.size)
    for cols in _chunks(reader, READ_CHUNK, progress):
        out.append(cols, reader.cf.size)
    if reader.n_frames == 0 and reader.cf.warnings:
        where, _, what = reader.cf.warnings[0].partition(": ")
        raise CaptureError("no complete frame: " + what.split(";")[0], where,
                           "the file is damaged from the start; capture again")
    pk = _packets(reader, *out.finish(), None if out.head is None else out.head[:out.n])
    if pk.n_frames and pk.stats.get("unsupported_link", 0) == pk.n_frames:
        _unsupported(reader.cf)
    _warn(pk)
    return pk


def _warn(pk: Packets):
    for w in pk.warnings:
        warnings.warn(w, LabkitWarning, stacklevel=3)


def iter_capture(path, *, chunk_packets=1_000_000, progress=None, reassemble=True,
                 gtp_ports=(2152,), esp_null=True, read_ahead=False) -> Iterator[Packets]:
    """Read a capture in chunks of frames, in bounded memory.

    Parameters
    ----------
    path : str or Path
        Capture file.
    chunk_packets : int
        Frames per chunk (each chunk yields one :class:`Packets`, possibly empty).
    progress, reassemble, gtp_ports, esp_null
        As :func:`read_capture`.
    read_ahead : bool
        Read and dissect the next chunk in a second thread while the caller works on
        this one (on a machine with two CPUs or more; two chunks in memory instead of
        one). Errors of the reading thread are raised in the caller's.

    Yields
    ------
    Packets
        Rows of the chunk. All chunks share `first_time_ns` (frame 1 of the file);
        address ids index each chunk's `addresses`, which grows (ids stay valid).
        ``stats`` and ``warnings`` are cumulative so far (``udp``/``tcp``: rows of the
        chunk).

    References
    ----------
    As :func:`read_capture`.

    Examples
    --------
    >>> from labkit import data
    >>> sizes = [len(c) for c in iter_capture(data.path("relay_rtpengine"), chunk_packets=1000)]
    >>> sizes, sum(sizes)
    ([1000, 1000, 228], 2228)
    """
    if read_ahead:
        yield from _read_ahead(lambda: iter_capture(
            path, chunk_packets=chunk_packets, progress=progress, reassemble=reassemble,
            gtp_ports=gtp_ports, esp_null=esp_null))
        return
    reader = _open(path, gtp_ports, esp_null, reassemble)
    reader.keep_head = True   # RTP/... header parsing needs no second pass over the file
    pk, parts, start, done = None, [], 0, 0
    for cols in _chunks(reader, min(chunk_packets, READ_CHUNK), progress):
        parts.append(cols)  # dissect in small batches (bounded temporaries), yield big
        if reader.n_frames - start >= chunk_packets:
            pk = _packets(reader, *_merge_with_head(parts))
            parts, start = [], reader.n_frames
            yield pk
            # the caller is done with this chunk: drop the pages its payloads faulted in
            # again (they stay in the page cache; a later read faults them back)
            if len(pk):
                end = int(pk.frame_offset[-1] + pk.caplen[-1])
                _release(reader.cf, done, end)
                done = end
    if parts:
        pk = _packets(reader, *_merge_with_head(parts))
        yield pk
    if pk is not None:
        _warn(pk)


def _workers() -> int:
    """Threads worth running side by side: the machine's CPUs, at most 2 (numpy releases
    the GIL in its array loops, so a second thread gains; a third gains little)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(2, cpus or 1))


_END = object()


def _read_ahead(make_chunks):
    """The items of ``make_chunks()``, the next one made in a thread while the caller
    works on the current one (at most two alive: memory as two chunks, not one).

    Exceptions of the reader are raised here, in the caller's thread; on one CPU it is
    plain iteration.
    """
    if _workers() < 2:
        yield from make_chunks()
        return
    ready: queue.Queue = queue.Queue()
    slots = threading.Semaphore(1)    # chunks the reader may read beyond the caller's
    stop = threading.Event()

    def read():
        try:
            for item in make_chunks():
                ready.put((item, None))
                del item
                slots.acquire()
                if stop.is_set():
                    return
            ready.put((_END, None))
        except BaseException as exc:   # handed to the caller
            ready.put((_END, exc))

    reader = threading.Thread(target=read, name="labkit-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item, exc = ready.get()
            if exc is not None:
                raise exc
            if item is _END:
                return
            yield item
            del item
            slots.release()
    finally:
        stop.set()
        slots.release()
        reader.join()


def _merge_with_head(parts: list[dict]):
    heads = [p.pop("head") for p in parts]
    cols, extra = _merge(parts)
    return cols, extra, heads[0] if len(heads) == 1 else np.concatenate(heads)


def iter_frames(path, *, progress=None) -> Iterator[Frame]:
    """Every frame of a capture, raw (no dissection).

    Yields
    ------
    Frame
        In file order, numbered as Wireshark numbers them.

    Parameters
    ----------
    path : str or Path
        Capture file (pcap, pcapng, or either gzip-compressed).
    progress : bool or None
        As :func:`read_capture` (tqdm bar; None = only for files over 50 MiB).

    References
    ----------
    draft-ietf-opsawg-pcap section 5 (records), draft-ietf-opsawg-pcapng section 4.3
    (enhanced packet blocks).

    Examples
    --------
    >>> from labkit import data
    >>> first = next(iter_frames(data.path("relay_rtpengine")))
    >>> first.number, first.linktype, b"INVITE" in first.data
    (1, 1, True)
    """
    cf = CaptureFile(path)
    bar, done = _progress(cf, progress), 0
    try:
        for ch in cf.chunks(65536):
            lts = [i.linktype for i in cf.interfaces]
            for k in range(len(ch)):
                i, off, cap = int(ch.interface[k]), int(ch.offset[k]), int(ch.caplen[k])
                yield Frame(int(ch.number[k]), int(ch.time_ns[k]),
                            lts[i] if i >= 0 else NO_LINK, cf.buf[off:off + cap],
                            int(ch.wirelen[k]), i)
            if bar is not None and len(ch):
                end = int(ch.offset[-1] + ch.caplen[-1])
                bar.update(end - done)
                done = end
    finally:
        if bar is not None:
            bar.close()
    for w in cf.warnings:
        warnings.warn(w, LabkitWarning, stacklevel=2)


def require_udp(packets: Packets) -> Packets:
    """Return `packets` if it holds any UDP datagram, else raise a :class:`CaptureError`.

    :func:`read_capture` returns an empty :class:`Packets` for a capture without UDP
    (that is a valid answer); analyses that need UDP (RTP, SIP over UDP) call this to
    turn it into a clear error naming the file and what was found instead.

    Parameters
    ----------
    packets : Packets
        From :func:`read_capture`.

    Returns
    -------
    Packets
        `packets` itself.

    Raises
    ------
    CaptureError
        When it holds no UDP datagram.

    References
    ----------
    RFC 768 (UDP).

    Examples
    --------
    >>> from labkit import data
    >>> len(require_udp(read_capture(data.path("relay_rtpengine"))))
    2228
    """
    if (packets.proto == 17).any():
        return packets
    name = packets.path.name if packets.path else "capture"
    s = packets.stats
    found = ", ".join(f"{k} {v}" for k, v in s.items() if v and k != "udp") or "nothing"
    raise CaptureError(f"no UDP datagram in {packets.n_frames} frames ({found})", name,
                       "check the capture filter (e.g. capture with `udp` or without a "
                       "filter) or pick the file that holds the call")
