"""Plots for notebook 11: counters' rates over time (a call's ladder: labkit.plots.sip).

What Kamailio counted between two Prometheus scrapes against what the capture shows in
the same interval, as per-second rates: Kamailio's core statistics
(``kamailio_core_rcv_requests_<method>``, ``kamailio_core_rcv_replies_<N>xx``, served by
its xhttp_prom module in the Prometheus text exposition format 0.0.4) beside the
requests and replies of RFC 3261 section 7 counted in the capture by
:mod:`labkit.ops.metrics`.
"""
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
    title : str, optional
        Figure title (default: "What Kamailio counted vs what the capture shows").

    Returns
    -------
    matplotlib.figure.Figure
        One panel (Axes) per pair, sharing the time axis [s]: the capture's rate as one
        bar per scrape interval (height [1/s], width 0.9 x the interval) and Kamailio's
        rate as a step line.

    References
    ----------
    Kamailio 5.6 xhttp_prom module and core statistics (src/core/counters.c,
    src/core/receive.c); Prometheus text exposition format 0.0.4; RFC 3261 section 7
    (requests, responses).

    Examples
    --------
    tshark counts 13 INVITEs sent to Kamailio (127.0.0.1:47200) in the burst, so the
    bars (rate [1/s] x interval [s]) add up to 13:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.ops import capture_rates, rates, read_metrics, scrape_times
    >>> from labkit.sip import sip_messages
    >>> samples = read_metrics(data.path("kamailio_metrics"))
    >>> msgs = sip_messages(read_capture(data.path("kamailio_burst")))
    >>> k = rates(samples, ["kamailio_core_rcv_requests_invite"])
    >>> c = capture_rates(msgs, "127.0.0.1", 47200, scrape_times(samples))
    >>> fig = plot_rate_comparison(k, c, [("kamailio_core_rcv_requests_invite",
    ...                                    "requests_invite", "INVITE")])
    >>> ax = fig.axes[0]
    >>> len(fig.axes), ax.get_ylabel(), round(sum(p.get_height() * p.get_width() / 0.9
    ...                                           for p in ax.patches))
    (1, 'INVITE\\n[1/s]', 13)
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
