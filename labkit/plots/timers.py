"""Plots for notebook 12: each B-leg's SIP timeline against the FreeSWITCH timer windows.

Per leg of a bridge/originate, the SIP events seen in the capture (INVITE, 100, 180,
183 with SDP, 200, CANCEL, the final response: RFC 3261 sections 9.1 and 13.2.2, early
media RFC 3960) over the windows in which each FreeSWITCH timer would fire
(originate_timeout, progress_timeout, leg_timeout, leg_progress_timeout,
bridge_answer_timeout, and SIP timer B of RFC 3261 section 17.1.1.2), as
:mod:`labkit.freeswitch.timers` reads them from FreeSWITCH's src/switch_ivr_originate.c
and src/switch_ivr_bridge.c.
"""
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
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
    xmax : float, optional
        Right end of the time axis [s]; default: a little after the last event or window.

    Returns
    -------
    matplotlib.axes.Axes
        One row per leg (y tick "leg N", leg 1 on top), a band per timer window [s]
        (:data:`TIMER_COLORS`, hatched when it no longer applies) labelled with the timer's
        name, one marker line per SIP event labelled with the method or status; x is the
        time since the first B-leg INVITE [s].

    References
    ----------
    FreeSWITCH src/switch_ivr_originate.c (progress_timeout line 3357, originate_timeout
    3366, per-leg timers 360 and 370, early media 777) and src/switch_ivr_bridge.c
    422-425 (bridge_answer_timeout); RFC 3261 sections 9.1 (CANCEL) and 17.1.1.2
    (timer B).

    Examples
    --------
    The scripted peer sends 100 Trying at 50 ms and nothing else; the UAC (standing in
    for FreeSWITCH with progress_timeout=4) CANCELs at 4500 ms (data/timers/MANIFEST.tsv):

    >>> from labkit import data
    >>> from labkit.freeswitch import timers
    >>> tl = timers.leg_timelines(data.path("timers_progress_timeout"))
    >>> dl = timers.timer_deadlines(timers.parse_vars("progress_timeout=4"), tl)
    >>> ax = plot_leg_timers(tl, dl, xmax=12)
    >>> [t.get_text() for t in ax.get_yticklabels()], [t.get_text() for t in ax.texts]
    (['leg 1'], ['progress_timeout', 'INVITE', '100', 'CANCEL', '487'])
    >>> [round(float(line.get_xdata()[0]), 1) for line in ax.lines]   # [s]
    [0.0, 0.1, 4.5, 4.5]
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
