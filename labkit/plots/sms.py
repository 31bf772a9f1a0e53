"""Plots for the SMS notebooks: where the bytes go, and what the RP-DA fix changes."""
from __future__ import annotations

import difflib

import matplotlib.pyplot as plt
import pandas as pd

from labkit.sms.overhead import GROUPS, grouped
from labkit.plots._base import new_axes

__all__ = ["plot_overhead", "plot_waterfall", "plot_pdu_diff", "GROUP_COLOURS"]

GROUP_COLOURS = {
    "Ethernet": "#9e9e9e", "IP": "#90caf9", "UDP": "#64b5f6", "GTP": "#ffcc80",
    "IP (inner)": "#42a5f5", "ESP": "#ce93d8", "UDP (inner)": "#1e88e5", "SIP": "#ef9a9a",
    "SMS header": "#a5d6a7", "body": "#1b5e20", "other": "#eeeeee",
}


def _labels(table: pd.DataFrame) -> list[str]:
    if "scenario" in table.columns:
        return list(table["scenario"])
    return [f"frame {f}: {m}" for f, m in zip(table["frame"], table["message"])]


def plot_overhead(table: pd.DataFrame, ax=None, *, title: str | None = None):
    """Stacked horizontal bars, one per message (or what-if scenario), octets per layer.

    Parameters
    ----------
    table : DataFrame
        :func:`labkit.sms.overhead.sms_overhead` or :func:`labkit.sms.overhead.what_if` output.
    """
    ax = new_axes(ax, figsize=(10.0, 0.5 + 0.45 * max(len(table), 2)))
    g = grouped(table)
    labels = _labels(table)
    left = [0] * len(g)
    for name in GROUPS:
        widths = list(g[name])
        if not any(widths):
            continue
        ax.barh(labels, widths, left=left, color=GROUP_COLOURS[name], label=name, edgecolor="white",
                linewidth=0.5)
        left = [a + b for a, b in zip(left, widths)]
    for y, (total, eff) in enumerate(zip(table["total"], table["efficiency_percent"])):
        ax.text(total, y, f"  {total} B, {eff:.2f} %", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("octets on the wire [bytes]")
    ax.set_xlim(0, max(left) * 1.25 if left else 1)
    ax.legend(ncol=6, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.6 / max(len(table), 2)),
              frameon=False)
    ax.set_title(title or "Where the bytes of an SMS over IMS go")
    return ax


def plot_waterfall(row: pd.Series | dict, ax=None, *, title: str | None = None):
    """Waterfall of one message: each layer's octets stacked up to the frame length.

    Parameters
    ----------
    row : Series or dict
        One row of :func:`labkit.sms.overhead.sms_overhead` (layer columns, total).
    """
    ax = new_axes(ax)
    g = grouped(pd.DataFrame([dict(row)]))
    names = [n for n in GROUPS if int(g[n].iloc[0])]
    bottom = 0
    for i, name in enumerate(names):
        value = int(g[name].iloc[0])
        ax.bar(i, value, bottom=bottom, color=GROUP_COLOURS[name], edgecolor="black", linewidth=0.4)
        ax.text(i, bottom + value, f"{value}", ha="center", va="bottom", fontsize=8)
        bottom += value
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("cumulative octets [bytes]")
    ax.set_title(title or f"Waterfall: {bottom} octets on the wire")
    return ax


def _diff_marks(old: bytes, new: bytes) -> tuple[list[bool], list[bool]]:
    """Which octets of old/new are not part of a common run (difflib opcodes)."""
    mo, mn = [True] * len(old), [True] * len(new)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            mo[i1:i2] = [False] * (i2 - i1)
            mn[j1:j2] = [False] * (j2 - j1)
    return mo, mn


def plot_pdu_diff(old: bytes, new: bytes, ax=None, *, per_row: int = 24,
                  labels: tuple[str, str] = ("old", "new")):
    """Old and new PDU as hex grids, changed or removed octets highlighted in red.

    Returns the Axes; octets that exist only in `old` (removed) or differ are red,
    unchanged octets grey.
    """
    rows_old = (len(old) + per_row - 1) // per_row
    rows_new = (len(new) + per_row - 1) // per_row
    height = 0.8 + 0.32 * (rows_old + rows_new + 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(10.0, height))
    mo, mn = _diff_marks(old, new)
    y = 0
    for name, data, marks in ((labels[0], old, mo), (labels[1], new, mn)):
        ax.text(-0.6, y, f"{name} ({len(data)} B)", ha="right", va="center", fontsize=8)
        for i, octet in enumerate(data):
            r, c = divmod(i, per_row)
            colour = "#e53935" if marks[i] else "#eeeeee"
            ax.add_patch(plt.Rectangle((c - 0.45, y + r - 0.4), 0.9, 0.8, color=colour))
            ax.text(c, y + r, f"{octet:02x}", ha="center", va="center", fontsize=7, family="monospace",
                    color="white" if marks[i] else "black")
        y += max((len(data) + per_row - 1) // per_row, 1) + 1
    ax.set_xlim(-5, per_row)
    ax.set_ylim(y - 0.5, -0.7)
    ax.axis("off")
    ax.set_title("PDU bytes: changed or removed octets in red")
    return ax
