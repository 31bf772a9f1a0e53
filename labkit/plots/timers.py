"""Plots for notebook 12: each B-leg's SIP timeline against the FreeSWITCH timer windows."""
from __future__ import annotations

from matplotlib.patches import Patch

from labkit.plots._base import new_axes

__all__ = ["plot_leg_timers", "TIMER_COLORS"]

TIMER_COLORS = {"originate_timeout": "tab:red", "progress_timeout": "tab:orange",
                "leg_timeout": "tab:purple", "leg_progress_timeout": "tab:brown",
                "bridge_answer_timeout": "tab:blue", "sip_timer_b": "tab:gray"}
_EVENTS = [("invite", "INVITE", "k", ">"), ("trying", "100", "0.5", "|"), ("ringing", "180", "tab:green", "o"),
           ("early_media", "183+SDP", "tab:cyan", "D"), ("answer", "200", "darkgreen", "*"),
           ("cancel", "CANCEL", "tab:red", "X"), ("final", "final", "k", "s")]


def _present(v) -> bool:
    return v is not None and v == v


def plot_leg_timers(timelines, deadlines, ax=None, *, title: str | None = None, xmax: float | None = None):
    """One row per leg: its SIP events (markers) over the timers' firing windows (bands).

    Parameters
    ----------
    timelines : pandas.DataFrame
        :func:`labkit.freeswitch.timers.leg_timelines`.
    deadlines : pandas.DataFrame
        :func:`labkit.freeswitch.timers.timer_deadlines`; a window whose timer no longer
        applied (the leg had progressed or ended) is drawn hatched and pale.
    title : str, optional
    xmax : float, optional
        Right end of the time axis [s]; default: a little after the last event or window.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = new_axes(ax)
    starts = {}
    for d in deadlines.to_dict("records"):
        key = (d["attempt"], d["group"])
        starts.setdefault(key, float(timelines.iloc[int(d["leg"]) - 1]["invite"]))
    last = 0.0
    for i, tl in enumerate(timelines.to_dict("records")):
        y = len(timelines) - i
        rows = deadlines[deadlines["leg"] == i + 1].to_dict("records")
        for d in rows:
            t0 = starts.get((d["attempt"], d["group"]), tl["invite"])
            lo, hi = t0 + d["window_from"], t0 + d["window_to"]
            ax.axvspan(lo, hi, ymin=(y - 0.45) / (len(timelines) + 1), ymax=(y + 0.45) / (len(timelines) + 1),
                       color=TIMER_COLORS.get(d["timer"], "gray"), alpha=0.35 if d["applies"] else 0.08,
                       hatch=None if d["applies"] else "//", linewidth=0)
            if d["applies"] and (xmax is None or lo < xmax):
                ax.text(lo, y + 0.3, d["timer"], fontsize=7, color=TIMER_COLORS.get(d["timer"], "gray"))
            last = max(last, hi if d["applies"] else 0)
        prev, up = None, False
        for col, label, color, marker in _EVENTS:
            if _present(tl[col]):
                if col == "final" and _present(tl["final_status"]):
                    label = str(int(tl["final_status"]))
                up = (not up) if prev is not None and tl[col] - prev < 0.4 else False
                ax.plot(tl[col], y, marker=marker, color=color, linestyle="none", markersize=8)
                ax.annotate(label, (tl[col], y), textcoords="offset points", xytext=(0, 9 if up else -14),
                            ha="center", fontsize=7)
                prev, last = tl[col], max(last, tl[col])
    ax.set_yticks(range(1, len(timelines) + 1),
                  [f"leg {len(timelines) - k}" for k in range(len(timelines))])
    ax.set_ylim(0.3, len(timelines) + 0.8)
    ax.set_xlim(-0.3, xmax if xmax is not None else last + 1)
    ax.set_xlabel("time since the first B-leg INVITE [s]")
    handles = [Patch(color=c, alpha=0.35, label=t) for t, c in TIMER_COLORS.items()
               if t in set(deadlines["timer"])]
    ax.legend(handles=handles, loc="upper right", fontsize=7)
    ax.set_title(title or "B-leg events and timer windows (hatched: no longer applies)")
    return ax
