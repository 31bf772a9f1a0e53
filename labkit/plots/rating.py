"""Plots for notebook 13: what each DECIMAL schema of ``tp_rates.rate`` costs per month.

They show money: per CDR and per month, what CGrateS bills when the tariff's rates are
stored in a ``DECIMAL(M,D)`` column (MariaDB rounds to D decimals, or refuses a value
with more than M-D integer digits in strict mode) minus what the tariff as written
would bill, and what the refused rows leave unbilled. The costs come from
:mod:`labkit.ops.rating` (cgrates engine/calldesc.go; the ``tp_rates`` table of cgrates
data/storage/mysql/create_tariffplan_tables.sql; MariaDB's DECIMAL data type). Amounts
are in the tariff's currency, as written in Rates.csv.
"""
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
    figsize : tuple of float
        Figure size [inch].

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes, one tick per month: on top one bar per schema, ``<schema> - written``
        [currency] (negative: under-billed); below, ``<schema> unbilled`` [currency]
        (hatched: cost as written of the CDRs the schema could not rate).

    References
    ----------
    cgrates engine/calldesc.go (the cost of a CDR) and
    data/storage/mysql/create_tariffplan_tables.sql (``tp_rates.rate DECIMAL(10,4)``);
    MariaDB DECIMAL data type (M digits, D after the point).

    Examples
    --------
    36 CDRs over three months, three schemas: 3 x 3 bars per panel:

    >>> from labkit import data
    >>> from labkit.ops.rating import monthly_costs, rate_cdrs, read_cdrs, read_rates
    >>> costs = rate_cdrs(read_rates(data.path("rating_rates")), read_cdrs(data.path("rating_cdrs")))
    >>> fig = plot_rating_differences(monthly_costs(costs))
    >>> top, bottom = fig.axes
    >>> [t.get_text() for t in top.get_xticklabels()], len(top.patches), len(bottom.patches)
    (['2026-01', '2026-02', '2026-03'], 9, 9)
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
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    schemas : list of str, optional
        Columns to draw (default: every schema column).

    Returns
    -------
    matplotlib.axes.Axes
        One tick per CDR (its origin_id), one bar per schema: cost under the schema minus
        cost as written [currency]; an x on the zero line where the schema refused the
        CDR's rate (not rated).

    References
    ----------
    cgrates engine/calldesc.go (GetCost); MariaDB DECIMAL data type and strict
    sql_mode (error 1264, out of range).

    Examples
    --------
    cdr-001 costs 0.1244 as written and 0.1242 with DECIMAL(10,4)
    (:func:`labkit.ops.rating.rate_cdrs`): its first bar is -0.0002. DECIMAL(10,10)
    refuses the rates of 1 or more, so six CDRs get an x:

    >>> from labkit import data
    >>> from labkit.ops.rating import rate_cdrs, read_cdrs, read_rates
    >>> costs = rate_cdrs(read_rates(data.path("rating_rates")), read_cdrs(data.path("rating_cdrs")))
    >>> ax = plot_cdr_differences(costs)
    >>> ax.get_xticklabels()[0].get_text(), round(float(ax.patches[0].get_height()), 4)
    ('cdr-001', -0.0002)
    >>> len(ax.patches), len(ax.lines[0].get_xdata())      # 36 CDRs x 3 schemas; refused
    (108, 6)
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
