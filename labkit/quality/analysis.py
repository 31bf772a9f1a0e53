"""Everything of notebook 05 for one capture (or a relay's ingress + egress): the verdict.

:func:`analyze_jitter` reads the capture(s), takes Wireshark's per-packet numbers for every
RTP stream, and returns a :class:`JitterReport`: per-stream PDV, stalls, loss pattern,
jitter-buffer outcomes and E-model scores, the cross-stream stall events, the relay hops
(same SSRC seen twice), and the cause with its evidence. ``labkit jitter`` prints it.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from labkit.errors import LabkitError
from labkit.quality import bursts, emodel, hostnet, jbuf
from labkit.quality.delay import (StreamTrack, clock_drift, find_stalls, interarrival_shape,
                                  ipdv, pdv_percentiles, stream_track, track_of)

__all__ = ["JitterReport", "analyze_jitter", "buffer_outcome", "buffer_sweep", "tracks_for_plots",
           "MIN_PACKETS", "DEFAULT_BUFFERS", "INTERVAL_S", "TRACKS_BYTES"]

MIN_PACKETS = 10                       # fewer packets: too short to analyse
TRACKS_BYTES = 50 * 2**20              # [bytes] files up to this keep their StreamTracks
DEFAULT_BUFFERS = (50.0, 200.0, "adaptive")   # VoIPmonitor's mos_f1, mos_f2, mos_adapt
INTERVAL_S = 10.0                      # [s] MOS per interval, minimum kept (VoIPmonitor)


@dataclass
class JitterReport:
    """Result of :func:`analyze_jitter` (plain data; ``to_dict()`` is the JSON)."""

    files: list
    streams: list                  # one dict per analysed stream
    skipped: list                  # {"key", "reason"} per stream not analysed
    stalls: object                 # pandas.DataFrame: every stall, with stream and src
    events: object                 # pandas.DataFrame: cross-stream events
    hops: object                   # pandas.DataFrame: relay hops (same SSRC twice)
    verdict: dict                  # cause, confidence, verdict, evidence
    notes: list = field(default_factory=list)
    tracks: dict = field(default_factory=dict, repr=False)   # key -> StreamTrack
    timings: dict = field(default_factory=dict, repr=False)  # key -> labkit.rtp.stream_timing
    # key -> (first, last arrival [s since epoch], the capture's first frame [s since epoch])
    # of every analysed stream, kept or not (the stall raster's rows)
    spans: dict = field(default_factory=dict, repr=False)

    @property
    def cause(self) -> str:
        return self.verdict["cause"]

    def to_dict(self) -> dict:
        """The JSON of ``labkit jitter --json``."""
        ev = [dict(start=r.start, end=r.end, streams=int(r.streams), stream_ids=r.stream_ids,
                   src=r.src, spread_ms=r.spread_ms, kind=r.kind) for r in self.events.itertuples()]
        hops = self.hops.to_dict("records") if len(self.hops) else []
        return {"files": self.files, "verdict": self.verdict["verdict"], "cause": self.cause,
                "confidence": self.verdict["confidence"],
                "evidence": {k: v for k, v in self.verdict.items()
                             if k not in ("verdict", "cause", "confidence")},
                "streams": self.streams, "skipped": self.skipped, "events": ev,
                "relay_hops": hops, "notes": self.notes}


def _label(b) -> str:
    return "adaptive" if b == "adaptive" else f"fixed_{float(b):g}"


def buffer_outcome(track: StreamTrack, buffer, constants: dict) -> dict:
    """One jitter buffer on one stream: discards, effective loss, burst metrics, R, MOS.

    Parameters
    ----------
    track : StreamTrack
    buffer : float or "adaptive"
        Fixed depth [ms] or the adaptive (Asterisk-like) buffer, up to 500 ms.
    constants : dict
        Codec constants (:func:`labkit.quality.emodel.codec_constants`).

    Returns
    -------
    dict
        buffer, discards, effective_loss_pct [%] (network loss + discards), burst_gap
        (RFC 3611), burst_r, delay_ms (buffer + packetisation [ms]; the network's one-way
        delay is not visible in one capture and not included), R, MOS (whole stream),
        mos_min (lowest of the 10 s intervals), intervals.

    References
    ----------
    RFC 3611 section 4.7 (loss + discards, burst/gap); ITU-T G.107 (R, MOS);
    VoIPmonitor mos_f1/mos_f2/mos_adapt (per 10 s interval, minimum kept).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> tr = stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0)
    >>> o = buffer_outcome(tr, 50.0, emodel.codec_constants("g729"))
    >>> o["discards"] > 0, o["MOS"] < 4.0
    (True, True)
    """
    if buffer == "adaptive":
        late, playout = jbuf.adaptive_buffer(track.t_ms, track.nominal_ms, track.ptime_ms)
        base = float(np.min(track.t_ms - track.nominal_ms))
        delay = float(np.mean(playout) - base) + track.ptime_ms
    else:
        late = jbuf.fixed_buffer(track.t_ms, track.nominal_ms, float(buffer))
        delay = float(buffer) + track.ptime_ms
    discards = jbuf.late_discards(late, track.seq)
    pattern = bursts.loss_pattern(track.seq, late)
    expected = max(len(pattern), 1)
    ppl = 100.0 * float(pattern.sum()) / expected
    br = bursts.burst_ratio(pattern)
    e = emodel.e_model(ppl, br, delay, constants)
    intervals = _intervals(track, pattern, delay, constants)
    return {"buffer": _label(buffer), "discards": int(discards),
            "effective_loss_pct": round(ppl, 3), "burst_gap": bursts.burst_gap(pattern, track.ptime_ms),
            "burst_r": br, "delay_ms": round(delay, 1), "R": round(e["R"], 2),
            "MOS": round(e["MOS"], 3), "mos_min": min(i["MOS"] for i in intervals) if intervals else None,
            "intervals": intervals}


def buffer_sweep(track: StreamTrack, sizes_ms, codec: str | None = None):
    """Fixed jitter buffers of every size in `sizes_ms` on one stream: discards and MOS.

    Parameters
    ----------
    track : StreamTrack
    sizes_ms : sequence of float
        Buffer depths [ms].
    codec : str, optional
        E-model constants override (default: the stream's codec).

    Returns
    -------
    pandas.DataFrame
        buffer_ms, discards, effective_loss_pct [%], delay_ms, R, MOS, mos_min.

    References
    ----------
    As :func:`buffer_outcome` (ITU-T G.107: the delay term grows with the buffer while
    discards fall, so MOS has a best size).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> tr = stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0)
    >>> sw = buffer_sweep(tr, [40, 160])
    >>> sw["discards"].tolist()[0] > sw["discards"].tolist()[1]
    True
    """
    import pandas as pd
    const = emodel.codec_constants(track.codec, codec)
    rows = []
    for size in sizes_ms:
        o = buffer_outcome(track, float(size), const)
        rows.append(dict(buffer_ms=float(size), discards=o["discards"],
                         effective_loss_pct=o["effective_loss_pct"], delay_ms=o["delay_ms"],
                         R=o["R"], MOS=o["MOS"], mos_min=o["mos_min"]))
    return pd.DataFrame(rows)


def _intervals(track, pattern, delay, constants) -> list:
    """MOS per 10 s of media (by RTP timestamp), as VoIPmonitor keeps its minimum."""
    per = max(int(round(INTERVAL_S * 1000 / track.ptime_ms)), 1)
    out = []
    for k in range(0, len(pattern), per):
        part = pattern[k:k + per]
        ppl = 100.0 * float(part.sum()) / len(part)
        e = emodel.e_model(ppl, bursts.burst_ratio(part), delay, constants)
        out.append({"start_s": round(k * track.ptime_ms / 1000, 3), "loss_pct": round(ppl, 3),
                    "MOS": round(e["MOS"], 3)})
    return out


def _stream_summary(tr: StreamTrack, buffers, k: float, codec: str | None, wireshark: dict):
    st = find_stalls(tr, k)
    const = emodel.codec_constants(tr.codec, codec)
    pdv = pdv_percentiles(tr.transit_ms)
    iv = ipdv(tr)
    net = bursts.loss_pattern(tr.seq)
    summary = {
        "stream": tr.stream, "key": tr.key, "src": tr.src, "ssrc": f"0x{tr.ssrc:08X}",
        "codec": tr.codec, "packets": int(len(tr.seq)), "expected": tr.expected, "lost": tr.lost,
        "loss_pct": round(100.0 * tr.lost / tr.expected, 3) if tr.expected else 0.0,
        "ptime_ms": tr.ptime_ms, "jitter_max_ms": wireshark.get("max_jitter"),
        "jitter_mean_ms": wireshark.get("mean_jitter"), "pdv_ms": pdv,
        "ipdv_p99_ms": round(float(np.percentile(np.abs(iv), 99)), 3) if len(iv) else 0.0,
        "ipdv_max_ms": round(float(iv.max()), 3) if len(iv) else 0.0,
        "interarrival": interarrival_shape(tr), "drift_ppm": clock_drift(tr),
        "network_burst_gap": bursts.burst_gap(net, tr.ptime_ms),
        "stalls": [{"start": r.start, "duration_ms": round(r.duration_ms, 3),
                    "excess_ms": round(r.excess_ms, 3), "held": bool(r.held), "burst": int(r.burst)}
                   for r in st.itertuples()],
        "codec_constants": const,
        "buffers": {_label(b): buffer_outcome(tr, b, const) for b in buffers},
    }
    st = st.assign(stream=tr.stream, src=tr.src, key=tr.key)
    return summary, st


def _tracks(rtp, side: str, streams, notes, skipped):
    counts = np.bincount(rtp.stream, minlength=rtp.n_streams) if len(rtp) else np.zeros(0, int)
    out = []
    if len(rtp) > 1 and bool(np.any(np.diff(rtp.time_ns) < 0)):
        i = int(np.flatnonzero(np.diff(rtp.time_ns) < 0)[0]) + 1
        notes.append(f"{side}: capture timestamps go backwards at frame {int(rtp.frame[i])}: "
                     "arrivals are taken in file order, as Wireshark does (reordercap sorts "
                     "the file by time)")
    for s in range(rtp.n_streams):
        if streams is not None and s not in streams:
            continue
        n = int(counts[s])
        k = rtp.key_arrays
        key = f"{k['src'][s]}:{k['sport'][s]} -> {k['dst'][s]}:{k['dport'][s]} 0x{int(k['ssrc'][s]):08X}"
        if n < MIN_PACKETS:
            skipped.append({"key": key, "side": side,
                            "reason": f"{n} packet(s): too short to analyse (need {MIN_PACKETS})"})
            continue
        try:
            tr = stream_track(rtp, s)
        except LabkitError as exc:
            skipped.append({"key": key, "side": side, "reason": str(exc)})
            continue
        st = rtp.stream_stats(s)[1]   # computed once for stream_track, cached
        ws = {"max_jitter": round(float(st.max_jitter[0]), 3),
              "mean_jitter": round(float(st.mean_jitter[0]), 3)}
        out.append((tr, ws))
    return out


def analyze_jitter(capture, compare=None, *, buffers=DEFAULT_BUFFERS, k: float = 2.0,
                   clock_rates=None, codec: str | None = None, streams=None,
                   keep_tracks: bool | None = None, progress=None, chunk_packets: int | None = None,
                   memory_bytes: int | None = None, spill_dir=None) -> JitterReport:
    """Host or network? Every RTP stream of a capture (and of a second capture).

    Parameters
    ----------
    capture : path, labkit.capture.Packets or labkit.rtp.RtpPackets
        The capture (e.g. the relay's egress, or both of its legs).
    compare : path or Packets, optional
        A second capture of the same relay (e.g. its ingress): streams with the same SSRC
        are compared packet by packet.
    buffers : sequence
        Jitter buffers to simulate: depths [ms] and/or "adaptive".
    k : float
        Stall threshold in packet intervals (:func:`labkit.quality.delay.find_stalls`).
    clock_rates : dict, optional
        PT -> rate or codec name for dynamic payload types without SDP (as
        :func:`labkit.rtp.find_rtp`).
    codec : str, optional
        Codec whose E-model constants to use for every stream (override).
    streams : iterable of int, optional
        Only these stream ids of `capture`.
    keep_tracks : bool, None or collection of int
        Keep analysed streams' :class:`~labkit.quality.delay.StreamTrack` (per-packet
        arrays, about 50 bytes per packet) in ``JitterReport.tracks`` and their
        :func:`labkit.rtp.stream_timing` (Wireshark's per-packet delta, jitter, skew
        [ms]; about 60 bytes per packet) in ``JitterReport.timings``, both keyed like
        ``streams[i]["key"]``, for plots and widgets. True: every stream's. False: none.
        None: every stream's for captures given in memory and for files up to 50 MiB
        (:data:`TRACKS_BYTES`), none for bigger files. Stream ids of `capture` (e.g.
        ``[0]``): only those streams' (none of `compare`), so that a file of any size
        keeps one stream's arrays for its plots (:func:`tracks_for_plots` picks them).
    progress : bool or None
        tqdm progress bar while a file is read; None = only for files over 50 MiB.
    chunk_packets, memory_bytes, spill_dir
        A file is read in chunks of `chunk_packets` frames and its RTP header records
        (42 bytes per packet) kept in memory up to `memory_bytes`, beyond that in
        temporary files in `spill_dir` (defaults of :func:`labkit.rtp.scan_streams`:
        1,000,000 frames, 96 MiB, the system's temporary directory); the streams are
        then analysed one group at a time. The report is the same as for the packets
        of the whole file read at once.

    Returns
    -------
    JitterReport

    References
    ----------
    RFC 5481 (PDV, IPDV), RFC 3611 section 4.7 (burst/gap, discards), ITU-T G.107 and
    G.107.1 (R, MOS), REFERENCE.md section 5 (host-stall signature).

    Examples
    --------
    >>> from labkit import data
    >>> rep = analyze_jitter(data.path("jitter_host_egress"))
    >>> rep.cause, rep.verdict["host_events"], len(rep.streams)
    ('host', 4, 4)
    >>> analyze_jitter(data.path("jitter_network_egress")).cause
    'network'

    Only stream 2's per-packet arrays kept (what a plot of one stream needs):

    >>> rep = analyze_jitter(data.path("jitter_host_egress"), keep_tracks=[2])
    >>> [rep.tracks[k].stream for k in rep.tracks], len(rep.timings[rep.streams[2]["key"]])
    ([2], 400)
    """
    from labkit.capture import as_packets
    from labkit.rtp import RtpPackets, find_rtp, stream_timing
    keep_ids = _keep_ids(keep_tracks)
    caps = [("capture", capture)] + ([("compare", compare)] if compare is not None else [])
    if any(isinstance(cap, (str, os.PathLike)) for _, cap in caps):
        return _analyze_files(caps, buffers, k, clock_rates, codec, streams, keep_tracks,
                              progress, chunk_packets, memory_bytes, spill_dir)
    notes: list = []
    skipped: list = []
    files, pairs, rtps = [], [], {}
    for side, cap in caps:
        if isinstance(cap, RtpPackets):
            rtp = cap
        else:
            rtp = find_rtp(as_packets(cap), clock_rates=clock_rates)
        rtps[side] = rtp
        files.append(_file_name(cap, rtp))
        if rtp.n_streams == 0:
            notes.append(f"{side}: no RTP stream found")
        pairs += [(side, tr, ws) for tr, ws in
                  _tracks(rtp, side, streams if side == "capture" else None, notes, skipped)]
    rep = _report(files, pairs, buffers, k, codec, notes, skipped)
    keep = {_track_key(side, tr): (side, tr.stream) for side, tr, _ in pairs
            if _kept(keep_ids, True if keep_tracks is None else keep_tracks, side, tr.stream)}
    rep.tracks = {key: tr for key, tr in rep.tracks.items() if key in keep}
    rep.timings = {key: stream_timing(rtps[side], s) for key, (side, s) in keep.items()}
    return rep


def tracks_for_plots(capture, table, streams=None, *, limit_bytes: int = TRACKS_BYTES):
    """The `keep_tracks` of :func:`analyze_jitter` for a notebook that plots one stream.

    Parameters
    ----------
    capture : path, Packets or RtpPackets
        What :func:`analyze_jitter` will read.
    table : dict or pandas.DataFrame
        Its stream table (:func:`labkit.rtp.scan_streams`, :func:`labkit.rtp.stream_table`
        or :func:`labkit.rtp.rtp_streams`): columns stream, packets, clock_rate.
    streams : iterable of int, optional
        The `streams` given to :func:`analyze_jitter`.
    limit_bytes : int
        Files up to this size [bytes] keep every track (default :data:`TRACKS_BYTES`,
        50 MiB, as ``keep_tracks=None``).

    Returns
    -------
    None or list of int
        None (every track) for captures in memory and files up to `limit_bytes`; for
        bigger files the id of the first stream that :func:`analyze_jitter` will
        analyse (at least :data:`MIN_PACKETS` packets, a known clock rate, among
        `streams`), or [] when there is none: memory then holds that one stream's
        arrays, not the file's.

    References
    ----------
    README.md, bounded memory (issue 12: peak RSS under 1 GiB whatever the file size).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.rtp import scan_streams
    >>> path = data.path("jitter_host_egress")               # 4 streams of 400 packets
    >>> tracks_for_plots(path, scan_streams(path)) is None  # a small file: every track
    True
    >>> tracks_for_plots(path, scan_streams(path), streams=[3, 2], limit_bytes=0)
    [2]
    """
    if not isinstance(capture, (str, os.PathLike)) or os.path.getsize(capture) <= limit_bytes:
        return None
    ids = np.asarray(table["stream"], np.int64)
    ok = (np.asarray(table["packets"], np.int64) >= MIN_PACKETS) & (
        np.asarray(table["clock_rate"], np.int64) > 0)
    if streams is not None:
        ok &= np.isin(ids, [int(s) for s in streams])
    return [int(s) for s in np.sort(ids[ok])[:1]]


def _keep_ids(keep_tracks):
    """None for a bool/None `keep_tracks`, else the set of stream ids it names."""
    if keep_tracks is None or isinstance(keep_tracks, (bool, np.bool_)):
        return None
    try:
        ids = frozenset(int(s) for s in keep_tracks)
        if any(int(s) != s for s in keep_tracks):
            raise ValueError
    except (TypeError, ValueError):
        raise LabkitError(f"bad keep_tracks {keep_tracks!r}", None,
                          "give True, False, None or stream ids of the capture, e.g. [0]") from None
    return ids


def _kept(ids, keep: bool, side: str, stream: int) -> bool:
    """Whether the track of `stream` of `side` stays in the report."""
    if ids is None:
        return bool(keep)
    return side == "capture" and int(stream) in ids


def _track_key(side: str, tr) -> str:
    return f"{side}:{tr.key}" if side != "capture" else tr.key


def _analyze_files(caps, buffers, k, clock_rates, codec, streams, keep_tracks, progress,
                   chunk_packets, memory_bytes, spill_dir) -> JitterReport:
    """:func:`analyze_jitter` with files read in chunks (:class:`labkit.rtp.scan.StreamScan`)
    and their streams analysed a group at a time: memory holds a chunk, the header
    records up to `memory_bytes` and one group of streams, not the file."""
    from collections import Counter
    from functools import partial
    from pathlib import Path

    from labkit.capture import as_packets, iter_capture, progress_bar
    from labkit.rtp import RtpPackets, find_rtp, stream_timing
    from labkit.rtp import scan as _scan
    from labkit.rtp.stats import analyze_streams
    keep_ids = _keep_ids(keep_tracks)
    chunk_packets = chunk_packets or _scan.CHUNK_PACKETS
    memory_bytes = _scan.MEMORY_BYTES if memory_bytes is None else memory_bytes
    notes: list = []
    sides, ssrcs = [], Counter()
    try:
        for side, cap in caps:
            if isinstance(cap, (str, os.PathLike)):
                sc = _scan.StreamScan(clock_rates=clock_rates, memory_bytes=memory_bytes,
                                      spill_dir=spill_dir, packets=True)
                sides.append((side, cap, sc))
                for chunk in iter_capture(cap, chunk_packets=chunk_packets, progress=progress,
                                          read_ahead=True):
                    sc.add(chunk)
                    del chunk
                ssrcs.update(key[4] for key in sc.streams()["keys"])
            else:
                rtp = cap if isinstance(cap, RtpPackets) else find_rtp(as_packets(cap),
                                                                      clock_rates=clock_rates)
                sides.append((side, cap, rtp))
                ssrcs.update(int(x) for x in rtp.key_arrays["ssrc"])
        with tempfile.TemporaryDirectory(prefix="labkit-jitter-", dir=spill_dir) as tmp:
            files, items, skipped = [], [], []
            for n_side, (side, cap, src) in enumerate(sides):
                wanted = streams if side == "capture" else None
                keep = keep_tracks
                if isinstance(src, RtpPackets):
                    files.append(_file_name(cap, src))
                    if src.n_streams == 0:
                        notes.append(f"{side}: no RTP stream found")
                    skip: list = []
                    found = [(int(tr.stream), tr, ws, partial(stream_timing, src, int(tr.stream)))
                             for tr, ws in _tracks(src, side, wanted, notes, skip)]
                    skipped += [(n_side, i, x) for i, x in enumerate(skip)]
                    keep = True if keep is None else keep
                else:
                    files.append(Path(cap).name)
                    info = src.streams()
                    if not info["keys"]:
                        notes.append(f"{side}: no RTP stream found")
                    if info["backwards_frame"] is not None:
                        notes.append(f"{side}: capture timestamps go backwards at frame "
                                     f"{info['backwards_frame']}: arrivals are taken in file "
                                     "order, as Wireshark does (reordercap sorts the file by time)")
                    if keep is None:
                        keep = os.path.getsize(cap) <= TRACKS_BYTES
                    bar = progress_bar(len(info["keys"]), size_bytes=os.path.getsize(cap),
                                       progress=progress, desc=f"{Path(cap).name} streams",
                                       unit="stream")
                    found = _group_tracks(src, info, side, wanted, skipped, n_side,
                                          analyze_streams, bar)
                for stream, tr, ws, timing in found:
                    res = _one_stream(side, tr, ws, buffers, k, codec)
                    kept = _kept(keep_ids, keep, side, stream)
                    hop = None
                    if ssrcs[tr.ssrc] > 1:
                        hop = tr if kept else _OnDisk(tr, tmp, len(items))
                    items.append(((n_side, stream), side, res, hop,
                                  (tr, timing()) if kept else None))
                    del tr, timing
            items.sort(key=lambda x: x[0])
            skipped.sort(key=lambda x: (x[0], x[1]))
            tracks = {_track_key(side, kt[0]): kt[0] for _, side, _, _, kt in items if kt}
            timings = {_track_key(side, kt[0]): kt[1] for _, side, _, _, kt in items if kt}
            results = [(side, *res) for _, side, res, _, _ in items]
            hop_tracks = [h for *_, h, _ in items if h is not None]
            rep = _assemble(files, results, hop_tracks, len({side for _, side, *_ in items}),
                            notes, [x for *_, x in skipped], tracks)
            rep.timings = timings
            return rep
    finally:
        for _, _, src in sides:
            if isinstance(src, _scan.StreamScan):
                src.close()


def _group_tracks(scan, info, side, wanted, skipped, n_side, analyze_streams, bar=None):
    """(stream, StreamTrack, Wireshark jitter) of every stream of a scan, group by group
    (as :func:`_tracks` does on packets in memory); skipped ones into `skipped`; `bar`
    (tqdm or None) counts the streams."""
    try:
        yield from _group_tracks_of(scan, info, side, wanted, skipped, n_side, analyze_streams,
                                    bar)
    finally:
        if bar is not None:
            bar.close()


def _group_tracks_of(scan, info, side, wanted, skipped, n_side, analyze_streams, bar):
    from functools import partial

    from labkit.rtp import timing_of
    for g in scan.groups():
        if not len(g["s"]):
            continue
        order = np.argsort(g["s"], kind="stable")    # file order kept within a stream
        ids, starts = np.unique(g["s"][order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for s, a, b in zip(ids.tolist(), starts.tolist(), ends.tolist()):
            if bar is not None:
                bar.update()
            if wanted is not None and s not in wanted:
                continue
            src, sport, dst, dport, ssrc = kk = info["keys"][s]
            key = f"{src}:{sport} -> {dst}:{dport} 0x{int(ssrc):08X}"
            n = b - a
            if n < MIN_PACKETS:
                skipped.append((n_side, s, {"key": key, "side": side, "reason":
                                f"{n} packet(s): too short to analyse (need {MIN_PACKETS})"}))
                continue
            i = order[a:b]
            c = {f: g[f][i] for f in g}
            st = analyze_streams(np.zeros(n, np.int64), c["t"], c["q"], c["ts"], c["pt"], c["mk"],
                                 c["ck"], 1)
            try:
                tr = track_of(s, kk, info["codec"][s], st, c["t"], c["ns"], c["q"], c["pt"], c["fr"])
            except LabkitError as exc:
                skipped.append((n_side, s, {"key": key, "side": side, "reason": str(exc)}))
                continue
            ws = {"max_jitter": round(float(st.max_jitter[0]), 3),
                  "mean_jitter": round(float(st.mean_jitter[0]), 3)}
            timing = partial(timing_of, st, c["ns"], c["fr"], c["q"], c["ts"], c["mk"], c["pt"])
            del c, i, st
            yield s, tr, ws, timing
            del timing
        del g, order


def _file_name(cap, rtp) -> str:
    from pathlib import Path
    if isinstance(cap, (str, Path)):
        return Path(cap).name
    return Path(str(getattr(rtp.packets, "path", "") or "capture")).name


def _one_stream(side: str, tr: StreamTrack, ws: dict, buffers, k, codec):
    """Summary, stall rows and the few numbers the cross-stream steps need of one stream."""
    s, st = _stream_summary(tr, buffers, k, codec, ws)
    group = tr.src if side == "capture" else f"{tr.src} ({side})"
    s["side"] = side
    brief = _Brief(tr.stream, tr.key, tr.src, tr.ssrc, tr.ptime_ms, float(tr.time_s[0]),
                   float(tr.time_s[-1]), tr.time_s[0], tr.time_s[-1],
                   float(tr.time_s[0] - tr.t_ms[0] / 1000.0), _track_key(side, tr))
    return s, st.assign(src=group, side=side), group, brief


@dataclass(frozen=True)
class _Brief:
    """What the cross-stream steps need of a stream once its arrays are dropped."""

    stream: int
    key: str
    src: str
    ssrc: int
    ptime_ms: float
    first_s: float
    last_s: float
    first: object          # the same, numpy scalars (as the whole-file path adds them)
    last: object
    origin_s: float        # [s since epoch] the capture's first frame (from this stream)
    track_key: str         # key in JitterReport.tracks


class _OnDisk:
    """seq, time_s and transit_ms of one stream in a temporary directory, for
    :func:`labkit.quality.hostnet.relay_hops` (read back memory-mapped, a pair at a time)."""

    def __init__(self, tr: StreamTrack, directory: str, n: int):
        self.stream, self.key, self.src, self.ssrc = tr.stream, tr.key, tr.src, tr.ssrc
        self._base = os.path.join(directory, str(n))
        for name in ("seq", "time_s", "transit_ms"):
            np.save(f"{self._base}.{name}.npy", getattr(tr, name))

    def _load(self, name):
        return np.load(f"{self._base}.{name}.npy", mmap_mode="r")

    seq = property(lambda self: self._load("seq"))
    time_s = property(lambda self: self._load("time_s"))
    transit_ms = property(lambda self: self._load("transit_ms"))


def _report(files, pairs, buffers, k, codec, notes, skipped) -> JitterReport:
    results, tracks = [], {}
    for side, tr, ws in pairs:
        results.append((side, *_one_stream(side, tr, ws, buffers, k, codec)))
        tracks[f"{side}:{tr.key}" if side != "capture" else tr.key] = tr
    trs = [tr for _, tr, _ in pairs]
    return _assemble(files, results, trs, len({sd for sd, _, _ in pairs}), notes, skipped, tracks)


def _assemble(files, results, hop_tracks, n_sides, notes, skipped, tracks) -> JitterReport:
    """The report from every stream's result (side, summary, stalls, group, brief), in
    stream order; `hop_tracks`: the tracks (or :class:`_OnDisk`) relay hops compare."""
    import pandas as pd
    summaries, stall_rows, active = [], [], {}
    for side, s, st, group, b in results:
        summaries.append(s)
        stall_rows.append(st)
        active.setdefault(group, []).append((b.stream, b.first_s, b.last_s))
    stalls = pd.concat(stall_rows, ignore_index=True) if stall_rows else pd.DataFrame()
    if len(stalls):
        stalls["stream"] = [f"{sd}:{i}" if sd != "capture" else i
                            for sd, i in zip(stalls["side"], stalls["stream"])]
    events = hostnet.stall_events(stalls, active)
    hops = hostnet.relay_hops(hop_tracks, hop_tracks)
    if n_sides == 2 and not len(hops):
        notes.append("the two captures have no RTP stream in common (same SSRC): no relay hop "
                     "compared; each capture was analysed on its own")
    briefs = [r[-1] for r in results]
    span = [t for b in briefs for t in (b.first, b.last)]
    dur = float(max(span) - min(span)) if span else 0.0
    ptime = float(np.median([b.ptime_ms for b in briefs])) if briefs else 20.0
    verdict = hostnet.host_or_network(
        events, [len(s["stalls"]) for s in summaries], [s["pdv_ms"]["p99.9"] for s in summaries],
        [s["loss_pct"] for s in summaries], dur, hops, ptime)
    if any("assumed" in s["codec_constants"]["source"] for s in summaries):
        notes.append("E-model codec constants assumed (not verified) for: " + ", ".join(sorted(
            {s["codec_constants"]["codec"] for s in summaries if "assumed" in s["codec_constants"]["source"]})))
    spans = {b.track_key: (b.first, b.last, b.origin_s) for b in briefs}
    return JitterReport(files=files, streams=summaries, skipped=skipped, stalls=stalls,
                        events=events, hops=hops, verdict=verdict, notes=notes, tracks=tracks,
                        spans=spans)
