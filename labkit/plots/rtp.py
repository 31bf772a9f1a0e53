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
    what : sequence of {"delta", "jitter", "skew"}
        Curves to draw (RFC 3550 A.8 jitter as Wireshark computes it).
    mark_problems : bool
        Red ticks at packets with a sequence or timestamp problem (sharkd status).
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
