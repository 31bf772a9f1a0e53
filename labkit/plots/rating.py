"""Plots for notebook 13: what each DECIMAL schema of ``tp_rates.rate`` costs per month."""
from __future__ import annotations

import numpy as np

from labkit.plots._base import new_figure

__all__ = ["plot_rating_differences", "plot_cdr_differences"]


def plot_rating_differences(monthly, *, figsize=(10.0, 5.0)):
    """Two panels per month and schema: billed minus as written, and what was not billed.

    Parameters
    ----------
    monthly : pandas.DataFrame
        :func:`labkit.ops.rating.monthly_costs`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    schemas = [c[: -len(" - written")] for c in monthly.columns if c.endswith(" - written")]
    fig, (top, bottom) = new_figure(2, figsize=figsize)
    x = np.arange(len(monthly))
    width = 0.8 / max(len(schemas), 1)
    for i, s in enumerate(schemas):
        off = x - 0.4 + width * (i + 0.5)
        top.bar(off, [float(v) for v in monthly[f"{s} - written"]], width, label=s)
        bottom.bar(off, [float(v) for v in monthly[f"{s} unbilled"]], width, label=s, hatch="//")
    top.axhline(0, color="black", linewidth=0.8)
    top.set_ylabel("billed - as written")
    top.set_title("Rounding: what the stored rates bill minus what the tariff says (rated CDRs)")
    bottom.set_ylabel("not billed")
    bottom.set_title("Refused rows: cost (as written) of the CDRs that could not be rated")
    for ax in (top, bottom):
        ax.set_xticks(x, list(monthly["month"]))
        ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_cdr_differences(costs, ax=None, *, schemas=None):
    """Per CDR and schema: cost under the schema minus cost as written; x where refused.

    Parameters
    ----------
    costs : pandas.DataFrame
        :func:`labkit.ops.rating.rate_cdrs`.
    schemas : list of str, optional
        Columns to draw (default: every schema column).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from labkit.plots._base import new_axes
    ax = new_axes(ax)
    schemas = schemas or list(costs.columns[6:])
    x = np.arange(len(costs))
    width = 0.8 / max(len(schemas), 1)
    for i, s in enumerate(schemas):
        off = x - 0.4 + width * (i + 0.5)
        diff = [float(c - w) if c is not None and c == c else 0.0 for c, w in zip(costs[s], costs["as written"])]
        bars = ax.bar(off, diff, width, label=s)
        refused = [k for k, c in enumerate(costs[s]) if c is None or c != c]
        if refused:
            ax.plot(off[refused], [0] * len(refused), "x", color=bars.patches[0].get_facecolor(),
                    markersize=8, label=f"{s}: refused (not rated)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, list(costs["origin_id"]), rotation=90, fontsize=7)
    ax.set_ylabel("cost - as written")
    ax.set_title("Per CDR: what each schema bills minus the tariff as written")
    ax.legend(fontsize=7, loc="lower left")
    return ax
