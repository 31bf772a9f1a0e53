"""Plots for notebook 11: counters' rates over time (a call's ladder: labkit.plots.sip)."""
from __future__ import annotations

import matplotlib.pyplot as plt

from labkit.plots._base import new_axes

__all__ = ["plot_rate_comparison"]  # ladders: plots.sip.plot_ladder (one ladder)


def plot_rate_comparison(kamailio, capture, pairs, *, title: str | None = None):
    """Per-second rates between scrapes: Kamailio's counters (steps) over the capture (bars).

    Parameters
    ----------
    kamailio : DataFrame
        :func:`labkit.ops.metrics.rates` (index: interval start [s], ``duration`` [s], one
        column per metric [1/s]).
    capture : DataFrame
        :func:`labkit.ops.metrics.capture_rates` on the same scrape times.
    pairs : sequence of (str, str, str)
        (Kamailio column, capture column, label), one panel each.

    Returns
    -------
    Figure
    """
    fig, axes = plt.subplots(len(pairs), 1, figsize=(10.0, 1.9 * len(pairs)), sharex=True,
                             constrained_layout=True, squeeze=False)
    t = kamailio.index.to_numpy()
    d = kamailio["duration"].to_numpy()
    for ax, (kcol, ccol, label) in zip(axes[:, 0], pairs):
        cap = capture[ccol].to_numpy() if ccol in capture else 0 * d
        ax.bar(t + d / 2, cap, width=d * 0.9, color="#90caf9", label="capture")
        k = kamailio[kcol].to_numpy()
        ax.step(list(t) + [t[-1] + d[-1]], list(k) + [k[-1]], where="post", color="#c62828",
                lw=1.6, label="Kamailio counter")
        ax.set_ylabel(f"{label}\n[1/s]", fontsize=8)
        ax.legend(fontsize=7, loc="upper right", frameon=False)
    axes[-1, 0].set_xlabel("time since the first scrape [s] (one bar per scrape interval)")
    fig.suptitle(title or "What Kamailio counted vs what the capture shows")
    return fig
