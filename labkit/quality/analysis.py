"""Everything of notebook 05 for one capture (or a relay's ingress + egress): the verdict.

:func:`analyze_jitter` reads the capture(s), takes Wireshark's per-packet numbers for every
RTP stream, and returns a :class:`JitterReport`: per-stream PDV, stalls, loss pattern,
jitter-buffer outcomes and E-model scores, the cross-stream stall events, the relay hops
(same SSRC seen twice), and the cause with its evidence. ``labkit jitter`` prints it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit.errors import LabkitError
from labkit.quality import bursts, emodel, hostnet, jbuf
from labkit.quality.delay import (StreamTrack, clock_drift, find_stalls, interarrival_shape,
                                  ipdv, pdv_percentiles, stream_track)

__all__ = ["JitterReport", "analyze_jitter", "buffer_outcome", "buffer_sweep", "MIN_PACKETS",
           "DEFAULT_BUFFERS", "INTERVAL_S"]

MIN_PACKETS = 10                       # fewer packets: too short to analyse
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
                   clock_rates=None, codec: str | None = None, streams=None) -> JitterReport:
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
    """
    from labkit.capture import as_packets
    from labkit.rtp import RtpPackets, find_rtp
    notes: list = []
    skipped: list = []
    caps = [("capture", capture)] + ([("compare", compare)] if compare is not None else [])
    files, pairs = [], []
    for side, cap in caps:
        if isinstance(cap, RtpPackets):
            rtp = cap
        else:
            rtp = find_rtp(as_packets(cap), clock_rates=clock_rates)
        files.append(_file_name(cap, rtp))
        if rtp.n_streams == 0:
            notes.append(f"{side}: no RTP stream found")
        pairs += [(side, tr, ws) for tr, ws in
                  _tracks(rtp, side, streams if side == "capture" else None, notes, skipped)]
    return _report(files, pairs, buffers, k, codec, notes, skipped)


def _file_name(cap, rtp) -> str:
    from pathlib import Path
    if isinstance(cap, (str, Path)):
        return Path(cap).name
    return Path(str(getattr(rtp.packets, "path", "") or "capture")).name


def _report(files, pairs, buffers, k, codec, notes, skipped) -> JitterReport:
    import pandas as pd
    summaries, stall_rows, active, tracks = [], [], {}, {}
    for side, tr, ws in pairs:
        s, st = _stream_summary(tr, buffers, k, codec, ws)
        group = tr.src if side == "capture" else f"{tr.src} ({side})"
        s["side"] = side
        summaries.append(s)
        stall_rows.append(st.assign(src=group, side=side))
        active.setdefault(group, []).append((tr.stream, float(tr.time_s[0]), float(tr.time_s[-1])))
        tracks[f"{side}:{tr.key}" if side != "capture" else tr.key] = tr
    stalls = pd.concat(stall_rows, ignore_index=True) if stall_rows else pd.DataFrame()
    if len(stalls):
        stalls["stream"] = [f"{sd}:{i}" if sd != "capture" else i
                            for sd, i in zip(stalls["side"], stalls["stream"])]
    events = hostnet.stall_events(stalls, active)
    trs = [tr for _, tr, _ in pairs]
    hops = hostnet.relay_hops(trs, trs)
    if len({sd for sd, _, _ in pairs}) == 2 and not len(hops):
        notes.append("the two captures have no RTP stream in common (same SSRC): no relay hop "
                     "compared; each capture was analysed on its own")
    span = [t for tr in trs for t in (tr.time_s[0], tr.time_s[-1])]
    dur = float(max(span) - min(span)) if span else 0.0
    ptime = float(np.median([tr.ptime_ms for tr in trs])) if trs else 20.0
    verdict = hostnet.host_or_network(
        events, [len(s["stalls"]) for s in summaries], [s["pdv_ms"]["p99.9"] for s in summaries],
        [s["loss_pct"] for s in summaries], dur, hops, ptime)
    if any("assumed" in s["codec_constants"]["source"] for s in summaries):
        notes.append("E-model codec constants assumed (not verified) for: " + ", ".join(sorted(
            {s["codec_constants"]["codec"] for s in summaries if "assumed" in s["codec_constants"]["source"]})))
    return JitterReport(files=files, streams=summaries, skipped=skipped, stalls=stalls,
                        events=events, hops=hops, verdict=verdict, notes=notes, tracks=tracks)
