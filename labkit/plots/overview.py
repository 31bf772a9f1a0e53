"""The capture at a glance: RTP streams as bars, SIP messages as labelled ticks.

Streams are those of ``tshark -z rtp,streams`` (:func:`labkit.overview.overview`, RFC
3550); SIP messages (RFC 3261) less than 0.5 s apart share one label.
"""
from __future__ import annotations

import numpy as np

from labkit.plots._base import new_axes

__all__ = ["plot_capture_timeline"]


def _stream_label(row) -> str:
    return f"{row['src']}:{row['sport']} -> {row['dst']}:{row['dport']}  {row['payloads']}"


def _sip_groups(messages, gap_s: float = 0.5) -> list[tuple[float, str]]:
    """SIP messages closer than `gap_s` [s] merged into one "INVITE/180/200/ACK" label."""
    groups: list[tuple[float, list[str]]] = []
    for _, m in messages.sort_values("time").iterrows():
        label = m["method"] if isinstance(m["method"], str) else str(m["status"])
        if groups and m["time"] - groups[-1][0] < gap_s:
            groups[-1][1].append(label)
        else:
            groups.append((float(m["time"]), [label]))
    return [(t, "/".join(labels)) for t, labels in groups]


def plot_capture_timeline(ov, ax=None, *, title: str | None = None):
    """One row per RTP stream (start to end [s]), SIP messages as ticks on top.

    Parameters
    ----------
    ov : labkit.overview.Overview
        From :func:`labkit.overview.overview`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure (height grows with the number of streams) when
        omitted.
    title : str, optional
        Default: the capture's file name and the legend of the colours.

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal bar per stream (red when tshark flags a problem), y tick labels
        "src:port -> dst:port  payloads" and "SIP", one annotation per SIP group.

    References
    ----------
    Wireshark 4.0.17 ui/cli/tap-rtp.c (stream start and end [s] of ``-z rtp,streams``);
    RFC 3550 section 5.1; RFC 3261 section 7 (requests and responses).

    Examples
    --------
    The real AMR-WB call: two streams from about 0.01 s to 11 s (tshark: 0.021227 to
    11.016660 and 0.010364 to 11.008346), the call set-up and the BYE:

    >>> from labkit import data
    >>> from labkit.overview import overview
    >>> ax = plot_capture_timeline(overview(data.path("ringback_amrwb")))
    >>> len(ax.patches), [t.get_text() for t in ax.get_yticklabels()]
    (2, ['10.0.0.2:10024 -> 10.0.0.1:10010  AMR-WB',
         '10.0.0.1:10010 -> 10.0.0.2:10024  AMR-WB', 'SIP'])
    >>> [t.get_text() for t in ax.texts]
    ['INVITE/180/200/ACK', 'BYE/200']
    """
    streams = ov.streams.sort_values(["start", "src", "sport"]).reset_index(drop=True)
    ax = new_axes(ax, figsize=(10.0, 1.2 + 0.45 * (len(streams) + 1)))
    for i, row in streams.iterrows():
        colour = "tab:red" if row["problem"] else "tab:blue"
        ax.barh(i, row["end"] - row["start"], left=row["start"], height=0.6, color=colour, alpha=0.7)
    y_sip = len(streams)
    for t, label in _sip_groups(ov.messages):
        ax.plot([t], [y_sip], marker="|", markersize=14, color="black")
        ax.annotate(label, (t, y_sip), xytext=(0, 9), textcoords="offset points", fontsize=7,
                    ha="center")
    ax.set_yticks(np.arange(len(streams) + 1), [_stream_label(r) for _, r in streams.iterrows()] + ["SIP"])
    ax.set_xlabel("time since first frame [s]")
    ax.set_ylim(-0.7, y_sip + 1.2)
    ax.set_title(title or f"{ov.path.name}: RTP streams (red = problem flag) and SIP messages")
    return ax
