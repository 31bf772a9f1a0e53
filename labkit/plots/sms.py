"""Plots for the SMS notebooks: where the bytes go, and what the RP-DA fix changes.

Where the bytes go: the octets of each SMS-over-IMS message per layer, as counted by
:mod:`labkit.sms.overhead` from the frame (Ethernet, IP, UDP, GTP-U of 3GPP TS 29.281,
inner IP, ESP of RFC 4303, SIP of RFC 3261 section 7, the RP header of TS 24.011
section 7.3, the TP header and user data of TS 23.040 section 9.2). What the fix changes:
the RP-DATA PDU before and after the RP-Destination Address is emptied (TS 24.011
section 8.2.5.2: length 0 from the network to the MS; TS 24.341 annex B), octet by octet.
"""
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
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure 10 inch wide and 0.5 + 0.45 per row [inch] high when
        omitted.
    title : str, optional
        Axes title (default: "Where the bytes of an SMS over IMS go").

    Returns
    -------
    matplotlib.axes.Axes
        One bar per row (y tick: "frame N: message" or the scenario), one stacked segment
        per layer group with octets [bytes] (:data:`GROUP_COLOURS`), the total [bytes] and
        the efficiency [%] (user data / total) written after each bar.

    References
    ----------
    3GPP TS 29.281 section 5.1 (GTP-U header); RFC 4303 (ESP); RFC 3261 section 7 (SIP
    message); 3GPP TS 24.011 section 7.3 (RP messages); TS 23.040 section 9.2 (TPDU).

    Examples
    --------
    The MO "K" exchange: MESSAGE, 202 Accepted, the network's RP-ACK in a MESSAGE, 200 OK
    (data/sms/MANIFEST.tsv):

    >>> from labkit import data
    >>> from labkit.sms.overhead import sms_overhead
    >>> ax = plot_overhead(sms_overhead(data.path("sms_mo_submit")))
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['frame 1: MESSAGE', 'frame 2: 202 Accepted', 'frame 3: MESSAGE', 'frame 4: 200 OK']
    >>> ax.get_xlabel()
    'octets on the wire [bytes]'
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
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: "Waterfall: <total> octets on the wire").

    Returns
    -------
    matplotlib.axes.Axes
        One bar per layer group present, outermost first, each starting where the
        previous ended (cumulative octets [bytes]), its octets written on top.

    References
    ----------
    3GPP TS 29.281 section 5.1 (GTP-U); RFC 4303 (ESP); RFC 3261 section 7 (SIP);
    3GPP TS 24.011 section 7.3 (RP header); TS 23.040 section 9.2 (TP header); TS 23.038
    section 6.1.2.1 (GSM 7-bit packing of the user data).

    Examples
    --------
    The body of the MO "K" is one GSM 7-bit septet, packed into ceil(7 / 8) = 1 octet:

    >>> from labkit import data
    >>> from labkit.sms.overhead import sms_overhead
    >>> row = sms_overhead(data.path("sms_mo_submit")).iloc[0]
    >>> ax = plot_waterfall(row)
    >>> ax.get_xticklabels()[-1].get_text(), ax.texts[-1].get_text()
    ('body', '1')
    >>> ax.get_title() == f"Waterfall: {row['total']} octets on the wire"
    True
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

    Octets that exist only in `old` (removed) or differ are red, unchanged octets grey
    (common runs found by :class:`difflib.SequenceMatcher`).

    Parameters
    ----------
    old, new : bytes
        The two PDUs (e.g. an RP-DATA as sent and after
        :func:`labkit.sms.fix_rp_destination`).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure 10 inch wide and 0.8 + 0.32 per grid row [inch] high
        when omitted.
    per_row : int
        Octets per grid row.
    labels : tuple of (str, str)
        Names of `old` and `new`, written with their length [bytes] left of each grid.

    Returns
    -------
    matplotlib.axes.Axes
        One square (``ax.patches``) and hex text per octet, `old` above `new`; axis off.

    References
    ----------
    3GPP TS 24.011 sections 7.3.1 (RP-DATA) and 8.2.5.2 (RP-Destination Address, length 0
    from the network); TS 24.341 annex B.

    Examples
    --------
    The iPhone case's MT RP-DATA carries an RP-DA of 8 octets (length 07, type 91, six
    BCD octets); emptied it is the single octet 00, so 39 - 8 + 1 = 32 octets:

    >>> from labkit import data, sms
    >>> old = sms.sms_sip_messages(data.path("sms_mt_rpda_iphone")).body.iloc[0]
    >>> new = sms.fix_rp_destination(old)
    >>> ax = plot_pdu_diff(old, new, labels=("as sent", "fixed"))
    >>> [t.get_text() for t in ax.texts if t.get_text().endswith("B)")]
    ['as sent (39 B)', 'fixed (32 B)']
    >>> len(ax.patches) == len(old) + len(new)
    True
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
