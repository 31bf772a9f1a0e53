"""Pictures for notebooks 08 and 09: the REGISTER ladder with verdicts, the iFC truth table."""
from __future__ import annotations

import pandas as pd

from labkit.plots._base import new_axes

__all__ = ["plot_auth_ladder", "plot_ifc_trace"]

_OK, _BAD, _NA = "#2e7d32", "#c62828", "#757575"


def plot_auth_ladder(messages: pd.DataFrame, verdicts: pd.DataFrame, ax=None, *,
                     max_rows: int = 12):
    """Ladder of the digest exchange: requests right, responses left, refusals in red.

    Parameters
    ----------
    messages : DataFrame
        :func:`labkit.sip.sip_messages` of the capture.
    verdicts : DataFrame
        :func:`labkit.sip.auth.auth_verdicts` of the same capture.
    ax : matplotlib Axes, optional
    max_rows : int
        Draw at most this many messages (the first ones).

    Returns
    -------
    matplotlib Axes
    """
    msgs = messages.head(max_rows)
    ax = new_axes(ax, figsize=(10.0, 0.8 + 0.42 * max(len(msgs), 2)))
    cause = dict(zip(verdicts["frame"], verdicts["cause"]))
    answer = dict(zip(verdicts["answer_frame"], verdicts["cause"]))
    for y, m in enumerate(msgs.itertuples()):
        req = isinstance(m.method, str)
        x0, x1 = (0.1, 0.9) if req else (0.9, 0.1)
        label = f"{m.method} (CSeq {m.cseq})" if req else f"{m.status} {m.reason_phrase}"
        c = cause.get(m.frame) if req else answer.get(m.frame)
        colour = _NA if c is None else (_OK if c == "accepted" else _BAD)
        if req and any(n in ("authorization", "proxy-authorization") for n, _ in m.headers):
            label += " + Authorization"
        ax.annotate("", xy=(x1, -y), xytext=(x0, -y),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.6})
        ax.text(0.5, -y + 0.12, label, ha="center", va="bottom", fontsize=9, color=colour)
        ax.text(0.0, -y, f"#{m.frame}", ha="right", va="center", fontsize=8, color=_NA)
        if c not in (None, "accepted") and req:
            ax.text(0.92, -y, c, ha="left", va="center", fontsize=9, color=_BAD)
    ax.set_xlim(-0.08, 1.15)
    ax.set_ylim(-len(msgs) + 0.4, 0.9)
    ax.axvline(0.1, color="#bdbdbd", lw=1)
    ax.axvline(0.9, color="#bdbdbd", lw=1)
    ax.text(0.1, 0.7, "UA", ha="center", fontweight="bold")
    ax.text(0.9, 0.7, "registrar", ha="center", fontweight="bold")
    ax.set_axis_off()
    return ax


def plot_ifc_trace(trace: pd.DataFrame, ax=None, *, title: str | None = None):
    """The iFC truth table: one row per SPT, grouped by priority; green true, red false.

    Parameters
    ----------
    trace : DataFrame
        :func:`labkit.sip.ifc.evaluate_ifcs` (or ``route_request(...).trace``).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax, figsize=(10.0, 0.9 + 0.38 * max(len(trace), 2)))
    for y, r in enumerate(trace.itertuples()):
        for x, value in ((0.0, r.spt_result), (1.1, r.ifc_result)):
            ax.add_patch(_box(x, -y, _OK if value else _BAD))
            ax.text(x + 0.5, -y + 0.4, "true" if value else "false", ha="center",
                    va="center", fontsize=8, color="white")
        ax.text(2.3, -y + 0.4, f"prio {r.priority}  grp {r.groups}  {r.condition}",
                va="center", fontsize=9)
        ax.text(8.2, -y + 0.4, str(r.seen)[:38], va="center", fontsize=8, color=_NA)
    ax.text(0.5, 1.1, "SPT", ha="center", fontsize=9, fontweight="bold")
    ax.text(1.6, 1.1, "iFC", ha="center", fontsize=9, fontweight="bold")
    ax.text(8.2, 1.1, "seen in the request", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.2, 11.5)
    ax.set_ylim(-len(trace) + 0.8, 1.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _box(x, y, colour):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), 1.0, 0.8, color=colour)
