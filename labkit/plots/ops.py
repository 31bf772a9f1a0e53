"""Plots for notebooks 10 and 11: a call's ladder, and counters' rates over time."""
from __future__ import annotations

import matplotlib.pyplot as plt

from labkit.plots._base import new_axes

__all__ = ["plot_ladder", "plot_rate_comparison"]


def _label(row) -> str:
    if isinstance(row["method"], str):
        return row["method"]
    return f"{int(row['status'])} {row['reason_phrase'] or ''}".strip()


def plot_ladder(messages, ax=None, *, names: dict | None = None, title: str | None = None):
    """Sequence (ladder) diagram of SIP messages: one column per address, time down.

    Parameters
    ----------
    messages : DataFrame
        :func:`labkit.sip.sip_messages` rows of one call (time [s], src, sport, dst,
        dport, method, status, reason_phrase).
    names : dict, optional
        ``"ip:port"`` -> label shown on top (e.g. HOMER aliases).
    """
    ends = [f"{h}:{p}" for h, p in zip(messages["src"], messages["sport"])] + \
           [f"{h}:{p}" for h, p in zip(messages["dst"], messages["dport"])]
    columns = list(dict.fromkeys(ends))
    x = {c: i for i, c in enumerate(columns)}
    ax = new_axes(ax, figsize=(10.0, 0.9 + 0.32 * len(messages)))
    t0 = float(messages["time"].min()) if len(messages) else 0.0
    for i, c in enumerate(columns):
        ax.axvline(i, color="#bdbdbd", lw=1)
        ax.text(i, -0.7, (names or {}).get(c, c), ha="center", va="bottom", fontsize=8)
    for k, (_, row) in enumerate(messages.iterrows()):
        a, b = x[f"{row['src']}:{row['sport']}"], x[f"{row['dst']}:{row['dport']}"]
        color = "#1565c0" if isinstance(row["method"], str) else "#2e7d32"
        ax.annotate("", xy=(b, k), xytext=(a, k),
                    arrowprops=dict(arrowstyle="->", color=color, lw=1.2))
        ax.text((a + b) / 2, k - 0.12, _label(row), ha="center", va="bottom", fontsize=7,
                color=color)
        ax.text(len(columns) - 0.55, k, f"{float(row['time']) - t0:7.3f} s", va="center",
                fontsize=7, family="monospace")
    ax.set_ylim(len(messages) - 0.3, -1.0)
    ax.set_xlim(-0.6, len(columns) - 0.1)
    ax.axis("off")
    ax.set_title(title or "Call flow")
    return ax


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
