"""The result of reading a capture: :class:`Packets` (one row per UDP datagram or TCP
segment, as numpy arrays) and :class:`Frame` (one raw frame).

Built by :mod:`labkit.capture`; import them from there. Addresses are kept once, as
text the way Wireshark prints them (inet_ntop, RFC 5952).
"""
from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from labkit import _jit
from labkit.capture import _kernel

__all__ = ["Packets", "Frame"]

_ARRAYS = {"frame": np.int64, "time_ns": np.int64, "proto": np.uint8,
           "ip_version": np.uint8, "src_id": np.int32, "dst_id": np.int32,
           "sport": np.uint16, "dport": np.uint16, "payload_offset": np.int64,
           "payload_len": np.int32, "tcp_seq": np.uint32, "tcp_flags": np.uint8,
           "teid": np.int64, "outer_src_id": np.int32, "outer_dst_id": np.int32,
           "vlan": np.int32, "esp_spi": np.int64, "frame_offset": np.int64,
           "caplen": np.int32, "wirelen": np.int32, "l3_offset": np.int32,
           "l4_offset": np.int32, "interface": np.int16}


@dataclass(frozen=True)
class Frame:
    """One raw frame of a capture.

    Attributes
    ----------
    number : int
        1-based frame number (Wireshark's).
    time_ns : int
        Timestamp [ns since the Unix epoch].
    linktype : int
        LINKTYPE_* of its interface (-1 for a pcapng record that is not a packet).
    data : bytes
        Captured bytes.
    orig_len : int
        Length on the wire [bytes].
    interface : int
        Interface index.
    """

    number: int
    time_ns: int
    linktype: int
    data: bytes
    orig_len: int
    interface: int


@dataclass(frozen=True)
class _Store:
    """Bytes behind the rows: the mapped file, then reassembled datagrams; optionally
    the first bytes of every row's payload (``Packets.head``), valid while the rows'
    ``payload_offset`` array is `head_for` (a selection of rows makes a new one)."""

    file: np.ndarray
    extra: np.ndarray
    head: np.ndarray | None = None
    head_for: np.ndarray | None = None

    def slice(self, off: int, n: int) -> bytes:
        size = len(self.file)
        if off >= size:
            return self.extra[off - size:off - size + n].tobytes()
        return self.file[off:off + n].tobytes()


@dataclass(frozen=True, eq=False)
class Packets:
    """Every UDP datagram / TCP segment of a capture as equal-length numpy arrays.

    Attributes
    ----------
    frame : ndarray of int64
        Wireshark frame number (a reassembled datagram: the frame that completed it).
    time_ns : ndarray of int64
        Capture time [ns since the Unix epoch].
    proto : ndarray of uint8
        17 UDP, 6 TCP.
    ip_version : ndarray of uint8
        Version of the innermost IP header (4 or 6).
    src_id, dst_id : ndarray of int32
        Index into `addresses` (innermost IP).
    sport, dport : ndarray of uint16
        Ports.
    payload_offset : ndarray of int64
        Start of the UDP/TCP payload: an offset in the capture file, or, for reassembled
        datagrams, ``file size + offset`` in a buffer of reassembled bytes. Use
        :meth:`payload` / :meth:`head` rather than reading it directly.
    payload_len : ndarray of int32
        UDP payload length per the UDP length field, clipped to the captured bytes;
        TCP: segment payload [bytes].
    tcp_seq : ndarray of uint32
        TCP sequence number (0 for UDP).
    tcp_flags : ndarray of uint8
        TCP flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16; 0 for UDP).
    teid : ndarray of int64
        GTP-U tunnel endpoint id, -1 when not tunnelled in GTP-U.
    outer_src_id, outer_dst_id : ndarray of int32
        Addresses of the outermost IP header when the row is inside a tunnel (GTP-U,
        IP-in-IP, GRE, VXLAN), -1 = none.
    vlan : ndarray of int32
        Innermost 802.1Q VLAN id (the C-tag of QinQ), -1 = untagged.
    esp_spi : ndarray of int64
        SPI of the NULL-encrypted ESP the row was inside, -1 = none.
    frame_offset : ndarray of int64
        Offset of the frame in the file [bytes].
    caplen, wirelen : ndarray of int32
        Captured / wire length of the frame [bytes].
    l3_offset : ndarray of int32
        Start of the outermost IP header within the frame [bytes].
    l4_offset : ndarray of int32
        Start of the UDP/TCP header within the frame, -1 for reassembled datagrams.
    interface : ndarray of int16
        Capture interface index.
    addresses : tuple of str
        Addresses as Wireshark prints them ("10.0.0.1", "2001:db8::1").
    path : Path
        The capture file.
    first_time_ns : int
        Time of frame 1 of the whole capture (Wireshark's time origin) [ns].
    n_frames : int
        Frames read.
    stats : dict
        Counts (absent = 0): ``udp`` / ``tcp`` rows; frames or packets that gave no row:
        ``non_ip`` (ARP, LLDP, ...), ``non_udp`` (ICMP, SCTP, ...), ``truncated``
        (headers cut by the snap length), ``esp_opaque`` (encrypted ESP),
        ``gtp_non_ip``, ``unsupported_link``; ``fragments`` seen,
        ``fragments_reassembled`` (used in ``datagrams_reassembled`` datagrams),
        ``fragments_unreassembled`` (still missing pieces at the end).
    warnings : tuple of str
        Problems found (damaged tail, incomplete fragments).
    """

    frame: np.ndarray
    time_ns: np.ndarray
    proto: np.ndarray
    ip_version: np.ndarray
    src_id: np.ndarray
    dst_id: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    payload_offset: np.ndarray
    payload_len: np.ndarray
    tcp_seq: np.ndarray
    tcp_flags: np.ndarray
    teid: np.ndarray
    outer_src_id: np.ndarray
    outer_dst_id: np.ndarray
    vlan: np.ndarray
    esp_spi: np.ndarray
    frame_offset: np.ndarray
    caplen: np.ndarray
    wirelen: np.ndarray
    l3_offset: np.ndarray
    l4_offset: np.ndarray
    interface: np.ndarray
    addresses: tuple = ()
    path: Path | None = None
    first_time_ns: int = 0
    n_frames: int = 0
    stats: dict = field(default_factory=dict)
    warnings: tuple = ()
    _store: _Store | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        name = self.path.name if self.path else "?"
        return f"<Packets {len(self)} rows from {self.n_frames} frames of {name}>"

    def select(self, which) -> "Packets":
        """Rows chosen by a boolean mask or integer indices, as a new :class:`Packets`."""
        which = np.asarray(which)
        return replace(self, **{k: getattr(self, k)[which] for k in _ARRAYS})

    def payload(self, i: int) -> bytes:
        """UDP/TCP payload of row `i`."""
        return self._store.slice(int(self.payload_offset[i]), int(self.payload_len[i]))

    def frame_bytes(self, i: int) -> bytes:
        """Captured bytes of the frame of row `i` (the last fragment when reassembled)."""
        return self._store.slice(int(self.frame_offset[i]), int(self.caplen[i]))

    def head(self, width: int) -> np.ndarray:
        """First `width` payload bytes of every row, zero-padded: uint8 array [N, width].

        The vectorised path for header parsing (e.g. RTP, RFC 3550 section 5.1).
        """
        st = self._store
        if st.head is not None and st.head_for is self.payload_offset and width <= st.head.shape[1]:
            return st.head[:, :width].copy()   # kept while reading (iter_capture)
        size = len(self._store.file)
        off, n = self.payload_offset, self.payload_len
        infile = off < size
        if infile.all() and len(self):
            out = _rows_of(self._store.file, off, width)
        else:
            out = np.zeros((len(self), width), np.uint8)
            for buf, rows, base in ((self._store.file, np.flatnonzero(infile), 0),
                                    (self._store.extra, np.flatnonzero(~infile), size)):
                if len(rows) and len(buf):
                    out[rows] = _rows_of(buf, off[rows] - base, width)
        short = np.flatnonzero(n < width)
        if len(short):
            out[short] *= np.arange(width) < n[short, None]
        return out

    def src(self, i: int) -> str:
        """Source address of row `i`."""
        return self.addresses[self.src_id[i]]

    def dst(self, i: int) -> str:
        """Destination address of row `i`."""
        return self.addresses[self.dst_id[i]]

    def to_dataframe(self):
        """Readable table: frame, time [s since frame 1], src, sport, dst, dport, proto,
        length [bytes], vlan, teid."""
        import pandas as pd

        addr = np.asarray(self.addresses + ("",), dtype=object)
        return pd.DataFrame({
            "frame": self.frame,
            "time": (self.time_ns - self.first_time_ns) / 1e9,
            "src": pd.array(addr[self.src_id], dtype="str"),
            "sport": self.sport,
            "dst": pd.array(addr[self.dst_id], dtype="str"),
            "dport": self.dport,
            "proto": pd.Categorical.from_codes(
                np.where(self.proto == 6, 1, 0), ["UDP", "TCP"]),
            "length": self.payload_len,
            "vlan": self.vlan,
            "teid": self.teid,
        })


def _rows_of(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``buf[s:s+width]`` for every start s (bytes past the end of `buf` are 0)."""
    starts = np.asarray(starts, np.int64)
    if _jit.use_compiled(len(starts)) and starts.min() >= 0:
        return _jit.compiled(_kernel.rows_of)(buf, starts, width)
    if len(buf) < width:
        buf = np.concatenate([buf, np.zeros(width, np.uint8)])
    last = len(buf) - width
    safe = np.minimum(starts, last)
    d = np.diff(safe)
    if len(safe) > 1 and d.min() == d.max() and d[0] > 0:  # constant stride: no gather
        view = np.ndarray((len(safe), width), np.uint8, buffer=buf, offset=int(safe[0]),
                          strides=(int(d[0]), 1))
        rows = view.copy()
    else:
        rows = np.lib.stride_tricks.as_strided(buf, (last + 1, width), (1, 1))[safe]
    for k in np.flatnonzero(starts > last):  # the few rows that end past the buffer
        tail = buf[starts[k]:starts[k] + width]
        rows[k] = 0
        rows[k, :len(tail)] = tail
    return rows


# ---------------------------------------------------------------------------- addresses
def _address_text(ver: int, hi: int, lo: int) -> str:
    """Address as Wireshark 4.0 prints it (inet_ntop: RFC 5952 compression, and the
    last 32 bits dotted for ::a.b.c.d and ::ffff:a.b.c.d)."""
    if ver == 4:
        return str(ipaddress.IPv4Address(lo))
    hi, lo = hi & (2**64 - 1), lo & (2**64 - 1)
    v4 = ipaddress.IPv4Address(lo & 0xFFFFFFFF)
    if hi == 0 and lo >> 32 == 0xFFFF:
        return f"::ffff:{v4}"
    if hi == 0 and lo >> 32 == 0 and lo >> 16 & 0xFFFF:
        return f"::{v4}"
    return ipaddress.IPv6Address((hi << 64) | lo).compressed


class _AddressBook:
    """Maps (version, hi, lo) address keys to ids in one growing tuple of strings."""

    _BITS = 16   # slots of the IPv4 cache: 2**_BITS

    def __init__(self):
        self.ids: dict[tuple, int] = {}
        self.text: list[str] = []
        # IPv4 cache, direct-mapped by a multiplicative hash: address + 1 (0 = empty), id
        self.v4_key = np.zeros(1 << self._BITS, np.int64)
        self.v4_id = np.zeros(1 << self._BITS, np.int32)

    def _slot(self, lo) -> np.ndarray:
        h = np.asarray(lo).astype(np.uint32)
        h *= np.uint32(0x9E3779B1)          # Knuth's multiplicative hash (mod 2**32)
        h >>= np.uint32(32 - self._BITS)
        return h

    def lookup(self, ver, hi, lo) -> np.ndarray:
        """Ids for arrays of keys (vectorised: only distinct keys are formatted)."""
        if not len(ver):
            return np.zeros(0, np.int32)
        if (ver == 4).all() and not hi.any():
            return self._lookup_v4(lo)
        return self._lookup(ver, hi, lo)

    def _lookup_v4(self, lo) -> np.ndarray:
        """IPv4 keys: ids from the cache; the addresses not in it (new, or sharing a
        slot with another) through :meth:`_lookup`, in order of first appearance."""
        lo = np.asarray(lo)
        if _jit.use_compiled(len(lo)):
            ids = _jit.compiled(_kernel.v4_cached)(lo, self.v4_key, self.v4_id, 32 - self._BITS)
        else:
            slot = self._slot(lo)
            with np.errstate(over="ignore"):
                hit = self.v4_key[slot] == lo.astype(np.int64) + 1
            ids = self.v4_id[slot]
            ids[~hit] = -1
        return self.fill_v4_misses(ids, lo)

    def fill_v4_misses(self, ids, lo) -> np.ndarray:
        """`ids` of IPv4 addresses `lo` from the cache (-1 = not in it) completed: the
        missing ones through :meth:`_lookup`, in order of first appearance, and the
        cache updated."""
        miss = np.flatnonzero(ids < 0)
        if not len(miss):
            return ids
        m_lo = lo[miss]
        slot = self._slot(m_lo)
        ids[miss] = got = self._lookup(np.full(len(miss), 4), np.zeros(len(miss), np.int64), m_lo)
        self.v4_key[slot] = m_lo.astype(np.int64) + 1   # newest of a slot stays
        self.v4_id[slot] = got
        return ids

    def _lookup(self, ver, hi, lo) -> np.ndarray:
        codes, first = _factorize(ver, hi, lo)
        ids = np.empty(len(first), np.int32)
        for k, i in enumerate(first):
            key = (int(ver[i]), int(hi[i]), int(lo[i]))
            if key not in self.ids:
                self.ids[key] = len(self.text)
                self.text.append(_address_text(*key))
            ids[k] = self.ids[key]
        return ids[codes]


def _factorize(ver, hi, lo):
    """Codes in order of first appearance and the first row of each code."""
    if not hi.any() and (ver == 4).all():
        codes, n_uniq = _codes(lo)
    else:
        c_hi, _ = _codes(hi)
        c_lo, n_lo = _codes(lo)
        codes, n_uniq = _codes((c_hi * n_lo + c_lo) * 2 + (ver == 6))
    first = np.empty(n_uniq, np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, first


_SORTED_ROWS = [0]   # rows factorised by sorting so far (see _codes)
_SORT_BUDGET = 1 << 20  # [rows] then pandas' hash table is cheaper than its import (~0.2 s)


def _codes(key) -> tuple[np.ndarray, int]:
    """``pandas.factorize(key)``: codes by first appearance, and the number of values.

    Until pandas is loaded and for the first ~1M rows of a process the same codes
    come from a sort, so that a small capture read by the command line does not pay
    for the pandas import; larger inputs use pandas' faster hash table.
    """
    if "pandas" not in sys.modules and _SORTED_ROWS[0] + len(key) <= _SORT_BUDGET:
        _SORTED_ROWS[0] += len(key)
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        rank = np.empty(len(uniq), np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
        return rank[inv.reshape(-1)], len(uniq)
    import pandas as pd
    codes, uniq = pd.factorize(key)
    return codes, len(uniq)


class _Columns:
    """Growing result columns: chunks are copied into arrays sized from an estimate
    (the untouched tail of an over-estimate costs address space, not memory), so no
    final concatenation doubles the peak."""

    def __init__(self, size: int):
        self.n, self.cap, self.cols, self.extras, self.shift = 0, 0, {}, [], 0
        self.head = None  # first payload bytes of every row, when the reader keeps them
        self.done = 0  # file bytes covered so far

    def append(self, cols: dict, size: int):
        extra = cols.pop("extra")
        head = cols.pop("head", None)
        m = len(cols["frame"])
        if m and len(extra) and self.shift:
            cols["payload_offset"][cols["l4_offset"] < 0] += self.shift
        self.shift += len(extra)
        self.extras.append(extra)
        if not m:
            return
        if self.n + m > self.cap:
            self._grow(self.n + m, cols, size, head)
        for k, v in cols.items():
            self.cols[k][self.n:self.n + m] = v
        if head is not None:
            self.head[self.n:self.n + m] = head
        self.n += m

    def _grow(self, need: int, cols: dict, size: int, head=None):
        end = int(cols["frame_offset"][-1]) if len(cols["frame"]) else size
        est = int(need * size / max(end, 1) * 1.1) + 1024  # rows per byte so far
        cap = max(need, est, int(self.cap * 1.5))
        new = {k: np.empty(cap, t) for k, t in _ARRAYS.items()}
        for k, v in self.cols.items():
            new[k][:self.n] = v[:self.n]
        if head is not None:
            grown = np.empty((cap, head.shape[1]), np.uint8)
            if self.head is not None:
                grown[:self.n] = self.head[:self.n]
            self.head = grown
        self.cols, self.cap = new, cap

    def finish(self) -> tuple[dict, np.ndarray]:
        if not self.cols:
            return {k: np.zeros(0, t) for k, t in _ARRAYS.items()}, np.zeros(0, np.uint8)
        extra = np.concatenate(self.extras) if self.extras else np.zeros(0, np.uint8)
        return {k: v[:self.n] for k, v in self.cols.items()}, extra


def _merge(parts: list[dict]) -> tuple[dict, np.ndarray]:
    """Concatenate chunk columns one array at a time (peak memory ~ result + 1 column)."""
    extras = [p.pop("extra") for p in parts]
    shift = 0
    for p, e in zip(parts, extras):  # reassembled rows: offsets into the joined buffer
        if shift:
            p["payload_offset"][p["l4_offset"] < 0] += shift
        shift += len(e)
    if len(parts) == 1:
        return parts[0], extras[0]
    cols = {}
    for k, t in _ARRAYS.items():
        cols[k] = np.concatenate([p.pop(k) for p in parts]) if parts else np.zeros(0, t)
    return cols, np.concatenate(extras) if extras else np.zeros(0, np.uint8)
