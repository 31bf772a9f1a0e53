"""Plots for notebook 05 (host or network?): lateness timeline with stalls, stall raster,
PDV CDF, RFC 3550 jitter vs PDV, jitter-buffer outcomes.

They take what :mod:`labkit.quality` returned (a StreamTrack, a JitterReport, a
buffer sweep), draw on `ax` (a new fixed-size figure when omitted) and return the Axes.
"""
from __future__ import annotations

import numpy as np

from labkit.plots._base import new_axes

__all__ = ["plot_lateness", "plot_stall_raster", "plot_pdv_cdf", "plot_jitter_vs_pdv",
           "plot_buffer_sweep"]


def _t0(track):
    return float(track.t_ms[0]) / 1000.0


def plot_lateness(track, stalls=None, ax=None, *, buffer_ms: float | None = None, late=None,
                  title: str | None = None):
    """How late each packet arrived against its RTP timestamp (PDV [ms]) over time [s].

    Parameters
    ----------
    track : labkit.quality.delay.StreamTrack
    stalls : pandas.DataFrame, optional
        :func:`labkit.quality.delay.find_stalls` rows, shaded (gap start to end).
    buffer_ms : float, optional
        Draw a fixed buffer's playout deadline (PDV above it = late) [ms].
    late : numpy.ndarray of bool, optional
        Packets the buffer discarded, marked in red.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: the stream key).

    Returns
    -------
    matplotlib.axes.Axes
        The PDV dots (first line), one shaded span per stall, the buffer deadline and the
        red crosses of the late packets.

    References
    ----------
    RFC 5481 section 4.2 (PDV); REFERENCE.md section 5 (stall then burst).

    Examples
    --------
    The relay frozen 4 times: 4 shaded stalls; a 50 ms buffer drops 10 packets:

    >>> from labkit import data
    >>> from labkit.quality import analyze_jitter, jbuf
    >>> rep = analyze_jitter(data.path("jitter_host_egress"))
    >>> tr = next(iter(rep.tracks.values()))
    >>> late = jbuf.fixed_buffer(tr.t_ms, tr.nominal_ms, 50.0)
    >>> ax = plot_lateness(tr, rep.stalls[rep.stalls.key == tr.key], buffer_ms=50.0, late=late)
    >>> len(ax.patches), len(ax.lines[-1].get_xdata())
    (4, 10)
    """
    ax = new_axes(ax)
    pdv = track.transit_ms - track.transit_ms.min()
    x = track.t_ms / 1000.0
    ax.plot(x, pdv, ".", ms=2.5, color="tab:blue", label="PDV = arrival - expected [ms]")
    if stalls is not None:
        for r in stalls.itertuples():
            ax.axvspan(r.start_ms / 1000.0, r.start_ms / 1000.0 + r.duration_ms / 1000.0,
                       color="tab:orange", alpha=0.25, lw=0)
        if len(stalls):
            ax.plot([], [], color="tab:orange", alpha=0.4, lw=6, label=f"stall ({len(stalls)})")
    if buffer_ms is not None:
        # fixed buffer: deadline = first arrival + N + nominal, i.e. PDV > N + D(0) - D_min
        line = buffer_ms + track.transit_ms[0] - track.transit_ms.min()
        ax.axhline(line, color="tab:red", lw=0.8, ls="--", label=f"{buffer_ms:g} ms buffer deadline")
    if late is not None and np.any(late):
        ax.plot(x[late], pdv[late], "x", color="tab:red", ms=5, label=f"late ({int(np.sum(late))})")
    ax.set_xlabel("arrival since the capture's first frame [s]")
    ax.set_ylabel("lateness [ms]")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(title or track.key)
    return ax


def plot_stall_raster(report, ax=None, *, title: str | None = None):
    """One row per stream, a mark per stall; host events as vertical bands.

    Host stalls line up vertically (every stream the host relays, the same instant);
    network stalls do not.

    Parameters
    ----------
    report : labkit.quality.JitterReport
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: "stalls per stream: <cause>").

    Returns
    -------
    matplotlib.axes.Axes
        A grey bar per stream (its time span), a red mark per stall, a purple band per
        host event.

    References
    ----------
    REFERENCE.md section 5 (host stalls hit every relayed stream at once).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.quality import analyze_jitter
    >>> ax = plot_stall_raster(analyze_jitter(data.path("jitter_host_egress")))
    >>> len(ax.patches), ax.get_title()          # 4 host events
    (4, 'stalls per stream: host')
    """
    ax = new_axes(ax)
    keys = list(report.spans)      # every analysed stream, whether its track was kept or not
    origin = min(o for _, _, o in report.spans.values()) if keys else 0.0
    for row, key in enumerate(keys):
        first, last, _ = report.spans[key]
        ax.hlines(row, (first - origin), (last - origin), color="0.85", lw=6)
    if len(report.stalls):
        lab = {k: i for i, k in enumerate(keys)}
        for r in report.stalls.itertuples():
            k = r.key if r.side == "capture" else f"{r.side}:{r.key}"
            ax.plot([r.start - origin, r.end - origin], [lab[k], lab[k]], color="tab:red", lw=6,
                    solid_capstyle="butt")
    for e in report.events.itertuples():
        if e.kind == "host":
            ax.axvspan(e.start - origin, e.end - origin, color="tab:purple", alpha=0.15, lw=0)
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([k.split(" 0x")[0] for k in keys], fontsize="small")
    ax.set_ylim(-0.7, len(keys) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("time since the capture's first frame [s]  (red: stall; purple: host event)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title or f"stalls per stream: {report.cause}")
    return ax


def plot_pdv_cdf(report, ax=None, *, objective_ms: float = 50.0, title: str | None = None):
    """Cumulative distribution of PDV [ms] per stream, with the Y.1541 objective.

    Parameters
    ----------
    report : labkit.quality.JitterReport
    objective_ms : float
        ITU-T Y.1541 PDV objective (99.9th percentile - minimum) [ms].
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One curve per stream, then the objective line.

    References
    ----------
    RFC 5481 section 4.2 and 6.2; ITU-T Y.1541 (PDV objective).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.quality import analyze_jitter
    >>> len(plot_pdv_cdf(analyze_jitter(data.path("jitter_network_egress"))).lines)
    5
    """
    ax = new_axes(ax)
    for key, tr in report.tracks.items():
        pdv = np.sort(tr.transit_ms - tr.transit_ms.min())
        ax.plot(pdv, np.arange(1, len(pdv) + 1) / len(pdv), lw=1.0, label=key.split(" 0x")[0])
    ax.axvline(objective_ms, color="tab:red", ls="--", lw=0.8, label=f"Y.1541 {objective_ms:g} ms")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0.0)
    ax.set_xlabel("PDV [ms]")
    ax.set_ylabel("fraction of packets")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="x-small")
    ax.set_title(title or "PDV (RFC 5481) per stream")
    return ax


def plot_jitter_vs_pdv(track, timing, ax=None, *, title: str | None = None):
    """RFC 3550 jitter (Wireshark) next to PDV on the same stream: why jitter misleads.

    Parameters
    ----------
    track : labkit.quality.delay.StreamTrack
    timing : pandas.DataFrame
        :func:`labkit.rtp.stream_timing` of the same stream (Wireshark's jitter).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: the stream key).

    Returns
    -------
    matplotlib.axes.Axes
        Two lines: PDV [ms], then RFC 3550 jitter [ms].

    References
    ----------
    RFC 3550 appendix A.8 (jitter); RFC 5481 (PDV); REFERENCE.md section 5.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp, stream_timing
    >>> from labkit.quality.delay import stream_track
    >>> rtp = find_rtp(read_capture(data.path("jitter_host_egress")))
    >>> ax = plot_jitter_vs_pdv(stream_track(rtp, 0), stream_timing(rtp, 0))
    >>> bool(max(ax.lines[1].get_ydata()) < 20 < max(ax.lines[0].get_ydata()))   # jitter hides it
    True
    """
    ax = new_axes(ax)
    x = track.t_ms / 1000.0
    ax.plot(x, track.transit_ms - track.transit_ms.min(), lw=0.8, color="tab:blue",
            label="PDV [ms] (RFC 5481)")
    rows = np.isin(np.asarray(timing["frame"]), track.frame)
    ax.plot(x, np.asarray(timing["jitter"], float)[rows], lw=1.2, color="tab:red",
            label="RFC 3550 jitter [ms] (Wireshark)")
    ax.set_xlabel("arrival since the capture's first frame [s]")
    ax.set_ylabel("[ms]")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(title or track.key)
    return ax


def plot_buffer_sweep(sweep, ax=None, *, title: str | None = None):
    """MOS (G.107) and late discards against fixed buffer size.

    Parameters
    ----------
    sweep : pandas.DataFrame
        :func:`labkit.quality.buffer_sweep` (buffer_ms, discards, MOS).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The MOS line (its twin Axes holds the discard bars).

    References
    ----------
    ITU-T G.107 (the delay term grows with the buffer, the loss term falls).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> from labkit.quality import buffer_sweep
    >>> from labkit.quality.delay import stream_track
    >>> tr = stream_track(find_rtp(read_capture(data.path("jitter_host_egress"))), 0)
    >>> len(plot_buffer_sweep(buffer_sweep(tr, [40, 80, 160])).lines[0].get_xdata())
    3
    """
    ax = new_axes(ax)
    ax.plot(sweep["buffer_ms"], sweep["MOS"], "o-", color="tab:green", label="MOS (G.107)")
    ax.set_xlabel("fixed jitter buffer [ms]")
    ax.set_ylabel("MOS", color="tab:green")
    ax.set_ylim(1.0, 4.5)
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    ax2.bar(sweep["buffer_ms"], sweep["discards"], width=6, color="tab:red", alpha=0.4,
            label="late discards")
    ax2.set_ylabel("late discards [packets]", color="tab:red")
    ax.set_title(title or "jitter buffer: discards fall, delay grows")
    return ax
