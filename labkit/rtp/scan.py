"""The RTP stream table of a capture of any size, in bounded memory.

:func:`scan_streams` answers the question of :func:`labkit.rtp.stream_table` (the table
``tshark -q -z rtp,streams`` prints) for a capture file too big to hold in memory: a
20 GB probe capture on a laptop. It reads the file in chunks of frames
(:func:`labkit.capture.iter_capture`) and carries across chunks everything Wireshark's
RTP analysis remembers between packets:

- the SDP conversations seen so far (an offer in chunk 1 sets up RTP in chunk 9), and
  the flows already taken by the ``rtp_udp`` heuristic before their SDP (Wireshark
  reuses that conversation, with its empty payload-type map);
- the stream of each (src, sport, dst, dport, SSRC), numbered by first appearance;
- per stream: first and last packet, the payload names seen;
- per stream, the state of Wireshark's per-packet analysis (sequence tracking, jitter,
  deltas, skew: :class:`labkit.rtp.stats.RunningAnalysis`), continued chunk by chunk,
  so that nothing per packet is kept for the table.

Readers that need the streams' packets afterwards (``StreamScan(packets=True)``: the
jitter analysis and the audio of a big file) also get their header records, kept in
memory up to `memory_bytes` and spilled beyond that to temporary files, one per group of
streams, read back a group at a time (:meth:`StreamScan.groups`).

The result is the same table, value for value, as ``stream_table(find_rtp(
read_capture(path)))`` (tests/rtp/test_scan.py checks it on every capture the tests use,
with chunks down to a few frames); peak memory is bounded by the chunk and the number
of streams, not by the file.

Limits: a SIP message whose TCP segments fall in two different chunks is not joined, so
its SDP (and the RTP it sets up, found then by the heuristic) may differ from a whole-
file read; chunks of 125,000 frames make that rare.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from labkit.rtp import stats as _st
from labkit.rtp.detect import _flow_heur_before, _sdp_table, _take
from labkit.rtp.streams import (_detect, _names_and_clock, _rel_s, _stream_ids,
                                _table_columns)

__all__ = ["scan_streams", "StreamScan", "CHUNK_PACKETS", "MEMORY_BYTES"]

CHUNK_PACKETS = 125_000        # [frames] per chunk read (smaller: less memory; the last
                               # chunk's work is what the read-ahead cannot overlap)
MEMORY_BYTES = 96 * 2**20      # [bytes] of RTP header records kept before spilling
N_GROUPS = 64                  # stream groups (spill files); stream id % N_GROUPS
# the header fields the statistics need, per RTP packet (26 bytes)
_FIELDS = {"s": np.int32, "t": np.float64, "q": np.int32, "ts": np.uint32, "pt": np.uint8,
           "mk": np.bool_, "ck": np.int32}
# with packets=True also the arrival [ns since the epoch] and frame number (16 more bytes)
_PACKET_FIELDS = {**_FIELDS, "ns": np.int64, "fr": np.int64}
# with payloads=True also where the payload starts in the datagram [octets: RTP header,
# CSRC list, extension] and its length without padding [octets] (6 more bytes)
_PAYLOAD_FIELDS = {**_PACKET_FIELDS, "ho": np.uint16, "bl": np.int32}


def _by_group(cols: dict) -> tuple[dict, list]:
    """`cols` reordered by stream group (file order kept within a group) and the group
    bounds: group k is rows cuts[k]:cuts[k + 1]."""
    g = (cols["s"] % N_GROUPS).astype(np.uint8)
    order = np.argsort(g, kind="stable")  # radix sort; file order kept in a group
    cuts = np.zeros(N_GROUPS + 1, np.int64)
    np.cumsum(np.bincount(g, minlength=N_GROUPS), out=cuts[1:])
    del g
    return {name: col[order] for name, col in cols.items()}, cuts.tolist()


@dataclass
class _Records:
    """Header fields of RTP packets (columns), in memory up to a budget, then in
    temporary files, one per field: each spilled part is written ordered by group of
    streams (stream id % N_GROUPS), and ``segments`` says where each group's rows are."""

    memory_bytes: int
    directory: str | None = None
    parts: list = field(default_factory=list)   # dicts of columns, file order
    held: int = 0
    tmp: object = None
    fields: dict = field(default_factory=lambda: _FIELDS)
    files: dict = field(default_factory=dict)   # field -> open file
    segments: list = field(default_factory=list)  # per spilled part: (first row, cuts)
    rows: int = 0                               # rows written to each file
    sorted_parts: list = field(default_factory=list)  # in memory, by group: (cols, cuts)

    def add(self, cols: dict):
        if len(cols["s"]):
            self.parts.append(cols)
            self.held += len(cols["s"]) * sum(np.dtype(t).itemsize for t in self.fields.values())
            if self.held > self.memory_bytes:
                self._spill()

    @property
    def spilled(self) -> bool:
        return self.tmp is not None

    def _spill(self):
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="labkit-scan-", dir=self.directory)
            self.files = {name: open(os.path.join(self.tmp.name, name), "w+b")
                          for name in self.fields}
        parts, self.parts = self.parts, []
        for part in parts:
            cols, cuts = _by_group(part)
            part.clear()
            for name, col in cols.items():
                self.files[name].write(col.data)
            self.segments.append((self.rows, cuts))
            self.rows += cuts[-1]
            del cols
        self.held = 0

    def _joined(self) -> dict:
        parts, self.parts = self.parts, []
        if not parts:
            return {k: np.zeros(0, t) for k, t in self.fields.items()}
        if len(parts) == 1:
            return parts[0]
        return {k: np.concatenate([p.pop(k) for p in parts]) for k in self.fields}

    def all(self) -> dict:
        """Every record, file order (only when nothing was spilled)."""
        return self._joined()

    def groups(self):
        """Records of each group of streams in turn, file order within a group: the
        spilled parts' rows from the files, then those still in memory (ordered by group
        once and kept, so that the groups can be read again)."""
        self.sorted_parts += [_by_group(p) for p in self.parts]
        self.parts = []
        held = self.sorted_parts
        for fh in self.files.values():
            fh.flush()
        for k in range(N_GROUPS):
            spans = [(base + cuts[k], cuts[k + 1] - cuts[k]) for base, cuts in self.segments]
            spans = [(a, n) for a, n in spans if n]
            total = sum(n for _, n in spans) + sum(c[k + 1] - c[k] for _, c in held)
            if not total:
                continue
            out = {}
            for name, t in self.fields.items():
                col = out[name] = np.empty(total, t)
                at, size, fh = 0, col.itemsize, self.files.get(name)
                for a, n in spans:
                    fh.seek(a * size)
                    if fh.readinto(memoryview(col[at:at + n]).cast("B")) != n * size:
                        raise OSError(f"temporary file {fh.name} is short")  # pragma: no cover
                    at += n
                for cols, cuts in held:
                    n = cuts[k + 1] - cuts[k]
                    col[at:at + n] = cols[name][cuts[k]:cuts[k + 1]]
                    at += n
            yield out

    def close(self):
        for fh in self.files.values():
            fh.close()
        self.files = {}
        if self.tmp is not None:
            self.tmp.cleanup()


@dataclass
class _State:
    """What the scan remembers between chunks."""

    heuristic: bool
    clock_rates: dict | None
    decode_as: dict | None
    sdp: list = field(default_factory=list)          # _sdp_table entries so far
    heur_flows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    index: dict = field(default_factory=dict)        # stream key -> id
    keys: list = field(default_factory=list)         # (src, sport, dst, dport, ssrc)
    first: list = field(default_factory=list)        # (time_ns, frame, codec) per stream
    last: list = field(default_factory=list)         # (time_ns, frame) per stream
    names: dict = field(default_factory=dict)        # (stream, pt) -> payload name
    running: _st.RunningAnalysis = field(default_factory=_st.RunningAnalysis)
    origin_ns: int | None = None
    last_ns: int | None = None                       # arrival of the last RTP packet so far
    backwards_frame: int | None = None               # first RTP frame earlier than the one before


def _sdp_so_far(state: _State, packets):
    def rows_of(first_byte):
        state.sdp = state.sdp + _sdp_table(packets, None, first_byte)
        return state.sdp
    return rows_of


def _heur_before(state: _State, packets, sel, by_sdp, local, first) -> np.ndarray:
    """:func:`labkit.rtp.detect._flow_heur_before` with the flows of earlier chunks.

    `local` is the chunk's stream index of every packet and `first` the first packet of
    each stream: a flow key (dst, dport, sport) is part of the stream key, so the new
    heuristic flows are those of the streams with a packet not set up by SDP.
    """
    out = _flow_heur_before(packets, sel, by_sdp)

    def flow(rows):
        return (np.asarray(packets.dst_id)[rows].astype(np.int64) << 32) | (
            np.asarray(packets.dport)[rows].astype(np.int64) << 16) | np.asarray(packets.sport)[rows]

    if len(state.heur_flows) and by_sdp.any():
        out |= by_sdp & np.isin(flow(sel), state.heur_flows)
    if not by_sdp.all():
        heur = first
        if by_sdp.any():
            has = np.zeros(len(first), bool)
            has[local[~by_sdp]] = True
            heur = first[has]
        state.heur_flows = np.union1d(state.heur_flows, np.unique(flow(sel[heur])))
    return out


def _first_last(codes: np.ndarray, m: int):
    """First and last position of each code 0..m-1 in `codes` (every code occurs)."""
    pos = np.arange(len(codes))
    first = np.empty(m, np.int64)
    first[codes[::-1]] = pos[::-1]     # of repeated indices the last assignment stays
    last = np.empty(m, np.int64)
    last[codes] = pos
    return first, last


def _first_of_each(codes: np.ndarray, bound: int):
    """(code, first position) of the distinct values of `codes` (in 0..bound-1), ascending."""
    if bound > 4 * len(codes) + 4096:  # sparse: a sort costs less than a table
        uniq, at = np.unique(codes, return_index=True)
        return zip(uniq.tolist(), at.tolist())
    first = np.full(bound, -1, np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    present = np.flatnonzero(first >= 0)
    return zip(present.tolist(), first[present].tolist())


def _chunk(state: _State, packets, records: _Records | None):
    """Find the RTP of one chunk; update the per-stream state and statistics; hand the
    header fields to `records` (if kept)."""
    if state.origin_ns is None:
        state.origin_ns = packets.first_time_ns
    sel, hd, hdr, pad, plen, owner, by_sdp, sdp_rows = _detect(
        packets, state.heuristic, _sdp_so_far(state, packets))
    if not len(sel):
        return
    n = len(packets)
    src, dst = _take(packets.src_id, sel, n), _take(packets.dst_id, sel, n)
    sp, dp = _take(packets.sport, sel, n), _take(packets.dport, sel, n)
    local, keys = _stream_ids(packets, src, sp, dst, dp, hd["ssrc"])
    pt = (hd["b1"] & 0x7F).astype(np.uint8)
    m = len(keys["ssrc"])
    first, last = _first_last(local, m)
    code, clock, names = _names_and_clock(pt, owner, by_sdp,
                                          _heur_before(state, packets, sel, by_sdp, local, first),
                                          sdp_rows, state.clock_rates, state.decode_as)
    time_ns = _take(packets.time_ns, sel, n)
    frame = _take(packets.frame, sel, n)
    lut = np.empty(m, np.int64)
    for j in range(m):
        key = (str(keys["src"][j]), int(keys["sport"][j]), str(keys["dst"][j]),
               int(keys["dport"][j]), int(keys["ssrc"][j]))
        gid = state.index.get(key)
        if gid is None:
            gid = state.index[key] = len(state.keys)
            state.keys.append(key)
            i = int(first[j])
            state.first.append((int(time_ns[i]), int(frame[i]), names[code[i]]))
            state.last.append(None)
        lut[j] = gid
        i = int(last[j])
        state.last[gid] = (int(time_ns[i]), int(frame[i]))
    for c, i in _first_of_each(local.astype(np.int64) * 128 + pt, m * 128):
        state.names.setdefault((int(lut[c // 128]), c % 128), names[code[i]])
    gid = lut[local]
    cols = {"s": gid.astype(np.int32), "t": _st.rel_ms(time_ns, state.origin_ns),
            "q": hd["seq"].astype(np.int32), "ts": hd["ts"].astype(np.uint32), "pt": pt,
            "mk": (hd["b1"] & 0x80) != 0, "ck": clock.astype(np.int32)}
    state.running.add(cols["s"], cols["t"], cols["q"], cols["ts"], cols["pt"], cols["mk"],
                      cols["ck"], len(state.keys))
    if records is None:
        return
    if "ho" in records.fields:   # RFC 3550 5.1: after header, CSRCs, extension; no padding
        cols["ho"] = hdr.astype(np.uint16)
        cols["bl"] = np.maximum(plen - hdr - np.where((hd["b0"] & 0x20) != 0, pad, 0),
                                0).astype(np.int32)
    if "ns" in records.fields:
        cols["ns"], cols["fr"] = time_ns.astype(np.int64), frame.astype(np.int64)
        if state.backwards_frame is None:
            back = np.flatnonzero(np.diff(time_ns, prepend=time_ns[0] if state.last_ns is None
                                          else state.last_ns) < 0)
            if len(back):
                state.backwards_frame = int(frame[back[0]])
        state.last_ns = int(time_ns[-1])
    records.add(cols)


def _table(state: _State) -> dict:
    r = state.running.result()
    st = {f: getattr(r, f) for f in _st.StreamStats.__dataclass_fields__
          if f not in ("delta", "jitter", "skew", "flags")}
    ns = len(state.keys)
    origin = state.origin_ns or 0
    first_ns = np.array([f[0] for f in state.first], np.int64)
    last_ns = np.array([x[0] for x in state.last], np.int64)
    payloads: list = [[] for _ in range(ns)]
    for (s, pt) in sorted(state.names):
        payloads[s].append(state.names[(s, pt)])
    col = lambda i, t: np.array([k[i] for k in state.keys], t)  # noqa: E731
    keys = {"src": col(0, str), "sport": col(1, int), "dst": col(2, str), "dport": col(3, int),
            "ssrc": col(4, np.int64)}
    return _table_columns(
        _rel_s(first_ns, origin), _rel_s(last_ns, origin), keys,
        [", ".join(p) for p in payloads], st, [f[2] for f in state.first],
        np.array([f[1] for f in state.first], np.int64),
        np.array([x[1] for x in state.last], np.int64))


class StreamScan:
    """The stream table built chunk by chunk: feed it every chunk of a capture in file
    order (:func:`labkit.capture.iter_capture`), then ask for :meth:`table`.

    For a reader that already walks the chunks for its own purposes (the overview
    counts frames and SIP messages in the same pass); :func:`scan_streams` is the
    one-call form.

    Parameters
    ----------
    heuristic, clock_rates, decode_as
        As :func:`labkit.rtp.find_rtp`.
    memory_bytes : int
        With `packets`: RTP header records kept in memory [bytes] before spilling to
        `spill_dir`.
    spill_dir : str or Path, optional
        Directory of the temporary files (default: the system's).
    packets : bool
        Keep each RTP packet's header fields, arrival [ns] and frame number (42 bytes
        per packet), for readers that walk the streams' packets with :meth:`groups`
        (``labkit.quality.analyze_jitter`` on a file). Without it nothing per packet is
        kept: the table's statistics run chunk by chunk
        (:class:`labkit.rtp.stats.RunningAnalysis`).
    payloads : bool
        Also (implies `packets`) where each RTP payload starts in its datagram and its
        length without padding (48 bytes per packet), so that a second pass can slice
        the payloads of chosen packets (``labkit.audio.stream_packets`` on a file).

    References
    ----------
    As :func:`scan_streams`.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_capture
    >>> scan = StreamScan()
    >>> for chunk in iter_capture(data.path("relay_rtpengine"), chunk_packets=1000):
    ...     scan.add(chunk)
    >>> [int(n) for n in scan.table()["packets"]]    # tshark -z rtp,streams: 4 x 550
    [550, 550, 550, 550]
    """

    def __init__(self, *, heuristic=True, clock_rates=None, decode_as=None,
                 memory_bytes: int = MEMORY_BYTES, spill_dir=None, packets: bool = False,
                 payloads: bool = False):
        self._state = _State(heuristic, clock_rates, decode_as)
        self._records = None
        if packets or payloads:
            self._records = _Records(memory_bytes,
                                     None if spill_dir is None else str(spill_dir),
                                     fields=_PAYLOAD_FIELDS if payloads else _PACKET_FIELDS)

    def add(self, packets) -> None:
        """Take the next chunk (a :class:`labkit.capture.Packets` of consecutive frames)."""
        _chunk(self._state, packets, self._records)

    def table(self) -> dict:
        """The columns of :func:`labkit.rtp.stream_table` for every chunk added (the
        statistics ran chunk by chunk); the temporary files of kept records are
        removed (call after the last :meth:`groups`)."""
        try:
            return _table(self._state)
        finally:
            self.close()

    def close(self) -> None:
        """Remove the temporary files of the kept records (``packets=True``)."""
        if self._records is not None:
            self._records.close()

    def streams(self) -> dict:
        """The streams found so far, in stream id order (oldest first).

        Returns
        -------
        dict
            keys: list of (src, sport, dst, dport, ssrc) per stream; codec: payload name
            of each stream's first packet; first_frame; backwards_frame: first RTP frame
            that arrived earlier than the RTP packet before it (None if none; only with
            ``packets=True``).
        """
        st = self._state
        return {"keys": list(st.keys), "codec": [f[2] for f in st.first],
                "first_frame": [f[1] for f in st.first], "backwards_frame": st.backwards_frame}

    def groups(self):
        """The header records of whole streams, a group of streams at a time.

        Call after the last :meth:`add`; may be called again (and :meth:`table` after
        it). Records in memory come as one group; spilled ones one group (stream id %
        64) at a time, so memory holds one group.

        Yields
        ------
        dict of str to numpy.ndarray
            Columns, one value per RTP packet of the group's streams, file order: s
            (stream id), t (arrival [ms since the first frame]), q (sequence number), ts
            (RTP timestamp), pt, mk (marker), ck (clock rate [Hz]); with ``packets=True``
            also ns (arrival [ns since the epoch]) and fr (frame number); with
            ``payloads=True`` also ho (payload start in the datagram [octets]) and bl
            (payload length without padding [octets]).

        Examples
        --------
        >>> from labkit import data
        >>> from labkit.capture import iter_capture
        >>> scan = StreamScan(memory_bytes=1, packets=True)   # every record spilled
        >>> for chunk in iter_capture(data.path("relay_rtpengine"), chunk_packets=1000):
        ...     scan.add(chunk)
        >>> sorted(int(s) for g in scan.groups() for s in set(g["s"].tolist()))
        [0, 1, 2, 3]
        >>> scan.close()
        """
        rec = self._records
        if rec is None:
            raise ValueError("StreamScan.groups(): the header records are kept only with "
                             "StreamScan(packets=True) or payloads=True")
        if rec.spilled:
            yield from rec.groups()
            return
        cols = rec.all()
        rec.parts = [cols]
        yield cols


def scan_streams(path, *, heuristic=True, clock_rates=None, decode_as=None,
                 chunk_packets: int = CHUNK_PACKETS, progress=None) -> dict:
    """The RTP stream table of a capture file, read in chunks (bounded memory).

    Parameters
    ----------
    path : str or Path
        pcap or pcapng file, possibly gzip-compressed.
    heuristic, clock_rates, decode_as
        As :func:`labkit.rtp.find_rtp`.
    chunk_packets : int
        Frames per chunk [frames]; memory grows with it (about 150 bytes per frame),
        not with the file: nothing per packet is kept between chunks.
    progress : bool or None
        tqdm progress bar over the file; None = only for files over 50 MiB.

    Returns
    -------
    dict of str to numpy.ndarray or list
        The columns of :func:`labkit.rtp.stream_table`, one value per stream in stream
        id order (oldest first): start/end [s since the first frame], src, sport, dst,
        dport, ssrc, payloads, packets, lost, lost_pct [%], min/mean/max delta and
        jitter [ms], problem, stream, codec, clock_rate [Hz], first/last frame,
        seq_errors, expected, max_skew [ms].

    Raises
    ------
    CaptureError
        As :func:`labkit.capture.read_capture` (not a capture, damaged header, ...).

    References
    ----------
    Wireshark 4.0.17 ui/tap-rtp-common.c (``rtpstream_info_calculate``) and
    ui/tap-rtp-analysis.c (``rtppacket_analyse``); RFC 3550 section 6.4.1 and appendix
    A.1, A.3, A.8; epan/dissectors/packet-sdp.c for conversations set up by SDP.

    Examples
    --------
    The real rtpengine relay capture (tshark -z rtp,streams: 4 streams of 550 packets,
    none lost), read 500 frames at a time, gives what a whole-file read gives:

    >>> from labkit import data
    >>> t = scan_streams(data.path("relay_rtpengine"), chunk_packets=500)
    >>> [int(n) for n in t["packets"]], [int(n) for n in t["lost"]]
    ([550, 550, 550, 550], [0, 0, 0, 0])
    """
    from labkit.capture import iter_capture

    scan = StreamScan(heuristic=heuristic, clock_rates=clock_rates, decode_as=decode_as)
    try:
        for packets in iter_capture(path, chunk_packets=chunk_packets, progress=progress,
                                    read_ahead=True):
            scan.add(packets)
            del packets
        return scan.table()
    finally:
        scan.close()
