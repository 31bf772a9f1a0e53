"""The day of a fleet: every call on a timeline per host, coloured by how it went."""
from __future__ import annotations

import numpy as np
import pandas as pd

from labkit.plots._base import new_axes

__all__ = ["plot_fleet_day", "plot_shared_stalls"]

_OUTCOMES = (("failed set-up", "tab:red"), ("answered, loss or jitter", "tab:orange"),
             ("answered", "tab:green"))


def _outcome(calls: pd.DataFrame, jitter_ms: float) -> pd.Series:
    failed = pd.to_numeric(calls["final_status"], errors="coerce") >= 300
    bad = (calls["rtp_lost"] > 0) | (pd.to_numeric(calls["max_jitter"], errors="coerce") > jitter_ms)
    return pd.Series(np.where(failed, _OUTCOMES[0][0], np.where(bad, _OUTCOMES[1][0], _OUTCOMES[2][0])),
                     index=calls.index)


def plot_fleet_day(fleet, ax=None, *, host: str = "callee", jitter_ms: float = 5.0):
    """Each call as a dot at its start time (UTC), one row per host.

    Parameters
    ----------
    fleet : labkit.fleet.Fleet
    ax : matplotlib Axes, optional
    host : str
        The calls column naming the host (``"callee"``: where the INVITE went).
    jitter_ms : float
        Max jitter [ms] above which an answered call is drawn as impaired.

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    RFC 3550 appendix A.8 (jitter); RFC 3261 section 21 (final status).

    Examples
    --------
    >>> from labkit import data, fleet
    >>> day = fleet.run_fleet(data.path("ringback_amrwb").parent, scheduler="serial")
    >>> ax = plot_fleet_day(day)
    >>> [t.get_text() for t in ax.get_legend().get_texts()][0]
    'failed set-up'
    """
    calls = fleet.calls
    hosts = sorted(calls[host].astype(str).unique())
    ax = new_axes(ax, figsize=(10.0, 1.4 + 0.5 * max(len(hosts), 1)))
    kind = _outcome(calls, jitter_ms)
    y = calls[host].astype(str).map({h: i for i, h in enumerate(hosts)})
    t = calls["start_utc"].dt.tz_convert(None)
    for label, color in _OUTCOMES:
        sel = kind == label
        ax.scatter(t[sel], y[sel], s=60, color=color, label=label, zorder=3)
    ax.set_yticks(range(len(hosts)), hosts)
    ax.set_ylim(-0.6, len(hosts) - 0.4)
    ax.set_xlabel("call start [UTC]")
    ax.set_ylabel(host)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.set_title(f"{len(calls)} calls in {len(fleet.files) or calls['file'].nunique()} captures")
    return ax


def _window(table: pd.DataFrame, groups: list):
    """The UTC span to draw: the first group's common capture time, else the stalled relays'."""
    rows = table[table["relay"].isin(groups[0]["relays"])] if groups else table[table["cause"] != "none"]
    if not len(rows):
        rows = table
    if groups:
        return rows["first_utc"].max(), rows["last_utc"].min()
    return rows["first_utc"].min(), rows["last_utc"].max()


def plot_shared_stalls(verdict: dict, ax=None, *, relays=None):
    """Stall instants per relay on one UTC time axis; instants shared by relays highlighted.

    Parameters
    ----------
    verdict : dict
        From :func:`labkit.fleet.fleet_verdict` (its ``relays`` and ``instants`` tables).
    ax : matplotlib Axes, optional
    relays : list of str, optional
        Which relays to draw, one row each; default: every relay captured during the time
        drawn (the capture time common to the first group of relays that stalled together,
        else the span of the relays that stalled).

    Returns
    -------
    matplotlib.axes.Axes
        Grey line: the time the relay was captured; a bar per stall (from the last packet
        before the gap to the first after): red when other relays stalled at the same
        instant (a red band across the rows), orange when the relay stalled alone.

    References
    ----------
    REFERENCE.md section 5 (a paused host holds every stream of its guests at once).

    Examples
    --------
    >>> from labkit import data, fleet
    >>> v = fleet.fleet_verdict(fleet.run_fleet(data.path("fleet_relay1").parent, scheduler="serial"))
    >>> ax = plot_shared_stalls(v)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['10.47.1.10', '10.47.2.10', '10.47.3.10']
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['captured', 'stall shared with another relay', 'stall of this relay alone']
    """
    table, inst = verdict["relays"], verdict["instants"]
    t0, t1 = _window(table, verdict.get("groups", []))
    if relays is None:
        relays = table[(table["first_utc"] <= t1) & (table["last_utc"] >= t0)]["relay"].tolist()
    relays = sorted(relays)
    ax = new_axes(ax, figsize=(10.0, 1.6 + 0.6 * max(len(relays), 1)))
    row = {r: i for i, r in enumerate(relays)}
    naive = lambda t: t.tz_convert(None)  # noqa: E731  (matplotlib dates, UTC)
    for r in table[table["relay"].isin(relays)].itertuples():
        ax.plot([naive(max(r.first_utc, t0)), naive(min(r.last_utc, t1))], [row[r.relay]] * 2,
                color="0.75", lw=2, zorder=1, label="captured" if row[r.relay] == 0 else None)
    seen = set()
    for e in inst.itertuples() if len(inst) else []:
        if e.end_utc < t0 or e.start_utc > t1:
            continue
        hit = [x for x in e.relay_list.split(",") if x in row]
        if not hit:
            continue
        color, label = (("tab:red", "stall shared with another relay") if e.shared
                        else ("tab:orange", "stall of this relay alone"))
        if e.shared:
            ax.axvspan(naive(e.start_utc), naive(e.end_utc), color="tab:red", alpha=0.15, zorder=0)
        for x in hit:
            ax.plot([naive(e.start_utc), naive(e.end_utc)], [row[x]] * 2, color=color, lw=9,
                    solid_capstyle="butt", zorder=3, label=None if label in seen else label)
            seen.add(label)
    ax.set_yticks(range(len(relays)), relays)
    ax.set_ylim(len(relays) - 0.4, -0.6)      # the first relay on top
    ax.set_xlabel("time [UTC]")
    ax.set_ylabel("relay (sender of the stalled streams)")
    ax.grid(axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    order = ["captured", "stall shared with another relay", "stall of this relay alone"]
    pairs = sorted(zip(labels, handles), key=lambda p: order.index(p[0]))
    ax.legend([h for _, h in pairs], [l for l, _ in pairs], loc="upper left",
              bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.set_title(f"{verdict['cause']} ({verdict['confidence']}): stall instants of "
                 f"{len(relays)} relays on one time axis")
    return ax
