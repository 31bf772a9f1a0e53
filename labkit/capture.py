"""Read captures without tshark: every UDP datagram and TCP segment as numpy arrays.

>>> from labkit.capture import read_capture          # doctest: +SKIP
>>> pk = read_capture("call.pcapng")                  # doctest: +SKIP
>>> pk.to_dataframe().head()                          # doctest: +SKIP

What is read
------------
- Files: classic pcap (both byte orders, micro- and nanosecond magic, draft-ietf-opsawg-
  pcap) and pcapng (several sections and interfaces, per-interface link type,
  if_tsresol and if_tsoffset; EPB, SPB and the obsolete PB; other blocks skipped;
  draft-ietf-opsawg-pcapng). See :mod:`labkit.pcapfile`.
- Link layers: Ethernet (802.1Q VLAN, QinQ 802.1ad, PPPoE session, MPLS), Linux cooked SLL
  and SLL2, raw IP (link types 101, 12, 14, 228, 229), BSD loopback NULL (either byte
  order; AF 2, 24, 28, 30) and LOOP.
- IPv4 (options) and IPv6 (RFC 8200 extension headers), IP-in-IP, GRE (RFC 2784 with
  IP, Ethernet or ERSPAN; PPTP's enhanced GRE with PPP, RFC 2637), VXLAN (RFC 7348,
  UDP 4789), IPv4 AH (RFC 4302); fragments reassembled (RFC 791 / RFC 815 / RFC 8200
  4.5) and reported at the frame that completed them, like Wireshark; fragments never
  completed are counted in ``stats`` and named in ``warnings``.
- gzip-compressed files (decompressed in memory).
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

import heapq
import ipaddress
import mmap
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from labkit.dissect import LINKTYPES, Dissector, Reassembler
from labkit.errors import CaptureError, LabkitWarning
from labkit.pcapfile import NO_LINK, CaptureFile, RecordChunk

__all__ = ["Packets", "Frame", "read_capture", "iter_capture", "iter_frames",
           "require_udp", "PROGRESS_BYTES"]

PROGRESS_BYTES = 50 * 2**20   # files larger than this get a progress bar by default
RELEASE_BYTES = 64 * 2**20    # files larger than this are unmapped chunk by chunk
READ_CHUNK = 262_144          # frames dissected at a time by read_capture
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
    """Bytes behind the rows: the mapped file, then reassembled datagrams."""

    file: np.ndarray
    extra: np.ndarray

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

    def __init__(self):
        self.ids: dict[tuple, int] = {}
        self.text: list[str] = []

    def lookup(self, ver, hi, lo) -> np.ndarray:
        """Ids for arrays of keys (vectorised: only distinct keys are formatted)."""
        if not len(ver):
            return np.zeros(0, np.int32)
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
    import pandas as pd

    if not hi.any() and (ver == 4).all():
        codes, uniq = pd.factorize(lo)
    else:
        c_hi, u_hi = pd.factorize(hi)
        c_lo, u_lo = pd.factorize(lo)
        codes, uniq = pd.factorize((c_hi * len(u_lo) + c_lo) * 2 + (ver == 6))
    first = np.empty(len(uniq), np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, first


# ---------------------------------------------------------------------------- reading
@dataclass
class _Reader:
    """State of one pass over a capture."""

    cf: CaptureFile
    gtp_ports: tuple
    esp_null: bool
    reassemble: bool
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
                      esp_null=self.esp_null, reassembler=self.reasm)
        rows = d.frames(ch.offset, ch.caplen, lt)
        extra = self._reassembled(d, rows)
        return self._columns(ch, rows, extra)

    def _linktypes(self, ch: RecordChunk) -> np.ndarray:
        lts = np.array([i.linktype for i in self.cf.interfaces] + [NO_LINK], np.int64)
        lt = lts[ch.interface]
        bad = ~np.isin(lt, list(LINKTYPES) + [NO_LINK])
        if bad.any():
            self.stats["unsupported_link"] = self.stats.get("unsupported_link", 0) + int(bad.sum())
            lt = np.where(bad, NO_LINK, lt)
        return lt

    def _reassembled(self, d: Dissector, rows: list) -> np.ndarray:
        """Feed fragment events to the reassembler in frame order; dissect each
        completed datagram at once (its own fragments join the queue at its frame)."""
        heap = [(ev[0], k, ev) for k, ev in enumerate(d.completed)]
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
            for r in sub.datagram(row):
                r["poff"] = r["poff"] + size + base
                r["pos"] = np.full(len(r["idx"]), -1, np.int64)
                rows.append(r)
            for ev in sub.completed:
                heapq.heappush(heap, (ev[0], seq, ev))
                seq += 1
            bufs.append(dgram)
            base += len(dgram)
        return np.frombuffer(b"".join(bufs), np.uint8) if bufs else np.zeros(0, np.uint8)

    def _columns(self, ch: RecordChunk, rows: list, extra: np.ndarray) -> dict:
        from labkit.dissect import _cat

        w = _cat(rows)
        if not w:
            return {"extra": extra, **{k: np.zeros(0, t) for k, t in _ARRAYS.items()}}
        if len(w["idx"]) > 1 and (np.diff(w["idx"]) < 0).any():
            order = np.argsort(w["idx"], kind="stable")
            w = {k: v[order] for k, v in w.items()}
        idx = w["idx"]
        if len(idx) == len(ch) and (len(idx) == 0 or idx[-1] == len(ch) - 1):
            idx = slice(None)  # every frame gave one row, in order: no gathers
        fo = ch.offset[idx]
        n = len(w["idx"])
        get = lambda k: w.get(k, np.full(n, -1, np.int64))  # noqa: E731
        has_outer = get("over") > 0
        outer_s = np.full(n, -1, np.int32)
        outer_d = outer_s.copy()
        if has_outer.any():
            ov = w["over"][has_outer]
            outer_s[has_outer] = self.book.lookup(ov, w["ohi_s"][has_outer], w["olo_s"][has_outer])
            outer_d[has_outer] = self.book.lookup(ov, w["ohi_d"][has_outer], w["olo_d"][has_outer])
        cols = {
            "frame": ch.number[idx], "time_ns": ch.time_ns[idx], "proto": w["proto"],
            "ip_version": w["ver"],
            "src_id": self.book.lookup(w["ver"], w["shi"], w["slo"]),
            "dst_id": self.book.lookup(w["ver"], w["dhi"], w["dlo"]),
            "sport": w["sport"], "dport": w["dport"], "payload_offset": w["poff"],
            "payload_len": w["plen"], "tcp_seq": w["seq"], "tcp_flags": w["flags"],
            "teid": get("teid"), "outer_src_id": outer_s, "outer_dst_id": outer_d,
            "vlan": get("vlan"), "esp_spi": get("spi"), "frame_offset": fo,
            "caplen": ch.caplen[idx], "wirelen": ch.wirelen[idx],
            "l3_offset": w["l3"] - fo, "l4_offset": np.where(w["pos"] < 0, -1, w["pos"] - fo),
            "interface": ch.interface[idx],
        }
        cols = {k: np.asarray(v).astype(_ARRAYS[k], copy=False) for k, v in cols.items()}
        cols["extra"] = extra
        return cols

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


def _packets(reader: _Reader, cols: dict, extra: np.ndarray) -> Packets:
    cf = reader.cf
    stats = reader.finish_stats()
    stats["udp"] = int((cols["proto"] == 17).sum())
    stats["tcp"] = int((cols["proto"] == 6).sum())
    return Packets(**cols, addresses=tuple(reader.book.text), path=cf.path,
                   first_time_ns=reader.first_time_ns or 0, n_frames=reader.n_frames,
                   stats=dict(sorted(stats.items())), warnings=reader.warnings(),
                   _store=_Store(cf.data, extra))


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


def _progress(cf: CaptureFile, progress):
    show = cf.size > PROGRESS_BYTES if progress is None else bool(progress)
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cf.size, unit="B", unit_scale=True, desc=cf.name, leave=False)


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


def read_capture(path, *, progress=None, reassemble=True, gtp_ports=(2152,),
                 esp_null=True) -> Packets:
    """Read every UDP datagram and TCP segment of a pcap/pcapng file.

    Parameters
    ----------
    path : str or Path
        Capture file (pcap or pcapng).
    progress : bool or None
        Show a tqdm progress bar; None = only for files over 50 MiB.
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
    """
    reader = _open(path, gtp_ports, esp_null, reassemble)
    out = _Columns(reader.cf.size)
    for cols in _chunks(reader, READ_CHUNK, progress):
        out.append(cols, reader.cf.size)
    if reader.n_frames == 0 and reader.cf.warnings:
        where, _, what = reader.cf.warnings[0].partition(": ")
        raise CaptureError("no complete frame: " + what.split(";")[0], where,
                           "the file is damaged from the start; capture again")
    pk = _packets(reader, *out.finish())
    if pk.n_frames and pk.stats.get("unsupported_link", 0) == pk.n_frames:
        _unsupported(reader.cf)
    _warn(pk)
    return pk


def _warn(pk: Packets):
    for w in pk.warnings:
        warnings.warn(w, LabkitWarning, stacklevel=3)


class _Columns:
    """Growing result columns: chunks are copied into arrays sized from an estimate
    (the untouched tail of an over-estimate costs address space, not memory), so no
    final concatenation doubles the peak."""

    def __init__(self, size: int):
        self.n, self.cap, self.cols, self.extras, self.shift = 0, 0, {}, [], 0
        self.done = 0  # file bytes covered so far

    def append(self, cols: dict, size: int):
        extra = cols.pop("extra")
        m = len(cols["frame"])
        if m and len(extra) and self.shift:
            cols["payload_offset"][cols["l4_offset"] < 0] += self.shift
        self.shift += len(extra)
        self.extras.append(extra)
        if not m:
            return
        if self.n + m > self.cap:
            self._grow(self.n + m, cols, size)
        for k, v in cols.items():
            self.cols[k][self.n:self.n + m] = v
        self.n += m

    def _grow(self, need: int, cols: dict, size: int):
        end = int(cols["frame_offset"][-1]) if len(cols["frame"]) else size
        est = int(need * size / max(end, 1) * 1.1) + 1024  # rows per byte so far
        cap = max(need, est, int(self.cap * 1.5))
        new = {k: np.empty(cap, t) for k, t in _ARRAYS.items()}
        for k, v in self.cols.items():
            new[k][:self.n] = v[:self.n]
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


def iter_capture(path, *, chunk_packets=1_000_000, progress=None, reassemble=True,
                 gtp_ports=(2152,), esp_null=True) -> Iterator[Packets]:
    """Read a capture in chunks of frames, in bounded memory.

    Parameters
    ----------
    path : str or Path
        Capture file.
    chunk_packets : int
        Frames per chunk (each chunk yields one :class:`Packets`, possibly empty).
    progress, reassemble, gtp_ports, esp_null
        As :func:`read_capture`.

    Yields
    ------
    Packets
        Rows of the chunk. All chunks share `first_time_ns` (frame 1 of the file);
        address ids index each chunk's `addresses`, which grows (ids stay valid).
        ``stats`` and ``warnings`` are cumulative so far (``udp``/``tcp``: rows of the
        chunk).
    """
    reader = _open(path, gtp_ports, esp_null, reassemble)
    pk, parts, start = None, [], 0
    for cols in _chunks(reader, min(chunk_packets, READ_CHUNK), progress):
        parts.append(cols)  # dissect in small batches (bounded temporaries), yield big
        if reader.n_frames - start >= chunk_packets:
            pk = _packets(reader, *_merge(parts))
            parts, start = [], reader.n_frames
            yield pk
    if parts:
        pk = _packets(reader, *_merge(parts))
        yield pk
    if pk is not None:
        _warn(pk)


def iter_frames(path) -> Iterator[Frame]:
    """Every frame of a capture, raw (no dissection).

    Yields
    ------
    Frame
        In file order, numbered as Wireshark numbers them.
    """
    cf = CaptureFile(path)
    for ch in cf.chunks(65536):
        lts = [i.linktype for i in cf.interfaces]
        for k in range(len(ch)):
            i, off, cap = int(ch.interface[k]), int(ch.offset[k]), int(ch.caplen[k])
            yield Frame(int(ch.number[k]), int(ch.time_ns[k]),
                        lts[i] if i >= 0 else NO_LINK, cf.buf[off:off + cap],
                        int(ch.wirelen[k]), i)
    for w in cf.warnings:
        warnings.warn(w, LabkitWarning, stacklevel=2)


def require_udp(packets: Packets) -> Packets:
    """Return `packets` if it holds any UDP datagram, else raise a :class:`CaptureError`.

    :func:`read_capture` returns an empty :class:`Packets` for a capture without UDP
    (that is a valid answer); analyses that need UDP (RTP, SIP over UDP) call this to
    turn it into a clear error naming the file and what was found instead.
    """
    if (packets.proto == 17).any():
        return packets
    name = packets.path.name if packets.path else "capture"
    s = packets.stats
    found = ", ".join(f"{k} {v}" for k, v in s.items() if v and k != "udp") or "nothing"
    raise CaptureError(f"no UDP datagram in {packets.n_frames} frames ({found})", name,
                       "check the capture filter (e.g. capture with `udp` or without a "
                       "filter) or pick the file that holds the call")
