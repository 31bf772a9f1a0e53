"""Plots for the RTP notebooks: per-packet timing of a stream, inter-arrival histogram.

They take the DataFrame of :func:`labkit.rtp.stream_timing` (Wireshark 4.0 / sharkd
``rtp-analyse`` figures), draw on `ax` (a new fixed-size figure when omitted) and return
the Axes.
"""
from __future__ import annotations

import numpy as np

from labkit.plots._base import new_axes

__all__ = ["plot_stream_timing", "plot_delta_histogram", "TIMING_COLORS"]

TIMING_COLORS = {"delta": "tab:blue", "jitter": "tab:red", "skew": "tab:green"}


def plot_stream_timing(timing, ax=None, *, what=("delta", "jitter", "skew"),
                       title: str | None = None, mark_problems: bool = True):
    """Delta, jitter and skew [ms] of every packet over arrival time [s].

    Parameters
    ----------
    timing : pandas.DataFrame
        From :func:`labkit.rtp.stream_timing` (columns arrival [ms], delta, jitter,
        skew [ms], status).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    what : sequence of {"delta", "jitter", "skew"}
        Curves to draw (RFC 3550 A.8 jitter as Wireshark computes it).
    title : str, optional
        Axes title.
    mark_problems : bool
        Red ticks at packets with a sequence or timestamp problem (sharkd status).

    Returns
    -------
    matplotlib.axes.Axes
        One line per curve of `what` (labelled "delta [ms]"...), then one vertical
        line per problem packet.

    References
    ----------
    RFC 3550 section 6.4.1 and appendix A.8 (jitter); Wireshark 4.0.17
    ui/tap-rtp-analysis.c (delta, jitter, skew, status) and
    ui/qt/rtp_analysis_dialog.cpp (the same three curves in its graph).

    Examples
    --------
    The built AMR-WB stream with duplicates and reordering: three curves and a red
    line at each of the 11 packets sharkd also flags "Wrong sequence number":

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp, stream_timing
    >>> timing = stream_timing(find_rtp(read_capture(
    ...     data.path("synth_amrwb_be_dtx_dup_reorder"))), 0)
    >>> ax = plot_stream_timing(timing)
    >>> len(ax.lines), [t.get_text() for t in ax.get_legend().get_texts()]
    (14, ['delta [ms]', 'jitter [ms]', 'skew [ms]'])
    >>> ax.get_ylabel()
    '[ms]'
    """
    ax = new_axes(ax)
    t = np.asarray(timing["arrival"], float) / 1000.0
    for name in what:
        ax.plot(t, np.asarray(timing[name], float), lw=0.8, label=f"{name} [ms]",
                color=TIMING_COLORS.get(name))
    if mark_problems and "status" in timing:
        bad = timing["status"].isin(["Wrong sequence number", "Incorrect timestamp"])
        for x in t[np.asarray(bad)]:
            ax.axvline(x, color="tab:red", alpha=0.3, lw=0.6)
    ax.set_xlabel("arrival since the stream's first packet [s]")
    ax.set_ylabel("[ms]")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_delta_histogram(timing, ax=None, *, bins=None, title: str | None = None):
    """Histogram of inter-arrival deltas [ms] (first packet excluded).

    A bimodal shape (bursts after gaps) points at scheduling stalls rather than network
    jitter (REFERENCE.md section 5).

    Parameters
    ----------
    timing : pandas.DataFrame
        From :func:`labkit.rtp.stream_timing` (column delta [ms]).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    bins : int or sequence of float, optional
        Histogram bins [ms]; default 59 equal bins from 0 to 1.05 * the largest delta.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per bin, packets on a log scale.

    References
    ----------
    RFC 3550 section 6.4.1 (interarrival time); Wireshark 4.0.17
    ui/tap-rtp-analysis.c (``delta``: arrival minus the previous packet's arrival).

    Examples
    --------
    A's PCMA stream through rtpengine: 550 packets, so 549 deltas in 59 bars:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp, stream_timing
    >>> ax = plot_delta_histogram(stream_timing(find_rtp(read_capture(
    ...     data.path("relay_rtpengine"))), 0))
    >>> len(ax.patches), int(sum(p.get_height() for p in ax.patches)), ax.get_yscale()
    (59, 549, 'log')
    """
    ax = new_axes(ax)
    d = np.asarray(timing["delta"], float)[1:]
    if bins is None:
        hi = max(float(d.max()) if len(d) else 1.0, 1.0)
        bins = np.linspace(0.0, hi * 1.05, 60)
    ax.hist(d, bins=bins, color=TIMING_COLORS["delta"])
    ax.set_xlabel("delta [ms]")
    ax.set_ylabel("packets")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    return ax
