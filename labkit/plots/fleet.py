"""The day of a fleet: every call on a timeline per host, coloured by how it went."""
from __future__ import annotations

import numpy as np
import pandas as pd

from labkit.plots._base import new_axes

__all__ = ["plot_fleet_day"]

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
