"""The ladder diagram of a call flow (rows of :func:`labkit.sip.ladder`).

One column per ``ip:port`` (left to right in order of first appearance, as sngrep), one
arrow per message, top to bottom in capture order at even spacing; on the left the time
[s] and the delta to the previous arrow [ms]; on each arrow the method or status, with
the SDP summary under offers and answers. Requests are black, provisional responses
grey, 2xx green, failures red; retransmissions dashed; highlighted frames in bold.
Plain matplotlib: no JavaScript, so it shows in nbval, HTML reports and offline.

What it draws follows RFC 3261: requests and responses (section 7), the status classes
1xx-6xx (section 21), retransmissions of a transaction (sections 17.1.1.2 and 17.2.1),
and the SDP offers and answers of RFC 3264; the layout is sngrep's call flow.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["plot_ladder", "ladder_color"]

ROW_INCH = 0.34      # [inch] vertical space per arrow
COL_INCH = 2.7       # [inch] horizontal space per column


def ladder_color(row) -> str:
    """Arrow colour of one ladder row: request, 1xx, 2xx, or failure (3xx-6xx).

    Parameters
    ----------
    row : dict or pandas.Series
        One row of :func:`labkit.sip.ladder` (``method``: str for a request; ``status``:
        the response code, None or NaN for a request).

    Returns
    -------
    str
        A matplotlib colour: "black" (request), "grey" (1xx provisional), "tab:green"
        (2xx success), "tab:red" (3xx-6xx).

    References
    ----------
    RFC 3261 sections 7.1 and 7.2 (requests and responses) and 21 (status classes 1xx to
    6xx).

    Examples
    --------
    The re-INVITE of the sec-agree capture is refused with 420 (the far end's own log
    says so: ``reinvite_final`` in its truth file):

    >>> from labkit import data
    >>> from labkit.sip import ladder
    >>> rows = ladder(data.path("flow_sec_agree_420")).to_dict("records")
    >>> [(r["label"][:3], ladder_color(r)) for r in rows[:5]]
    [('INV', 'black'), ('100', 'grey'), ('INV', 'black'), ('200', 'tab:green'), ('200', 'tab:green')]
    >>> rows[10]["label"], ladder_color(rows[10])
    ('420 Bad Extension', 'tab:red')
    """
    status = row["status"]
    if isinstance(row["method"], str) or status is None or status != status:
        return "black"
    status = int(status)
    return "grey" if status < 200 else ("tab:green" if status < 300 else "tab:red")


def _size(n_rows: int, n_cols: int) -> tuple[float, float]:
    return (max(7.0, COL_INCH * n_cols + 1.6), max(2.5, ROW_INCH * n_rows + 1.3))


def plot_ladder(rows, ax=None, *, names: dict | None = None, highlight=(), title: str | None = None,
                sdp: bool = True):
    """Draw a ladder diagram.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`labkit.sip.ladder` rows (or a slice of them).
    ax : matplotlib Axes, optional
        Drawn into; a figure sized to the rows and columns is made when omitted.
    names : dict, optional
        "ip:port" -> a role shown over the column ("UE", "P-CSCF"...).
    highlight : iterable of int
        Frame numbers drawn bold (the evidence of a finding).
    title : str, optional
    sdp : bool
        Write the SDP summary under arrows that carry SDP.

    Returns
    -------
    matplotlib.axes.Axes
        One grey lifeline per ``ip:port`` (``ax.lines``), one arrow and label per row,
        the time [s], delta [ms] and frame number left of each arrow; axis off. A new
        figure is ROW_INCH x rows + 1.3 high and COL_INCH x columns + 1.6 wide [inch]
        (at least 7 x 2.5).

    References
    ----------
    RFC 3261 sections 7 (messages), 17.1.1.2 and 17.2.1 (retransmissions) and 21 (status
    codes); RFC 3264 (offer/answer, the SDP summaries); sngrep's call flow (one column
    per address:port).

    Examples
    --------
    Three hosts (caller, Kamailio, callee), 18 messages: a 7.42 inch high figure
    (0.34 x 18 + 1.3) 9.7 inch wide (2.7 x 3 + 1.6); the highlighted 420 is bold:

    >>> from labkit import data
    >>> from labkit.sip import ladder
    >>> rows = ladder(data.path("flow_sec_agree_420"))
    >>> ax = plot_ladder(rows, highlight=[11])
    >>> len(ax.lines), [round(float(x), 2) for x in ax.figure.get_size_inches()]
    (3, [9.7, 7.42])
    >>> [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"][-1]
    '420 Bad Extension'
    """
    from labkit.sip import ladder_hosts
    hosts = ladder_hosts(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=_size(len(rows), len(hosts)))
    x = {h: i for i, h in enumerate(hosts)}
    n = len(rows)
    for h, i in x.items():
        ax.plot([i, i], [-0.6, n - 0.4], color="0.75", lw=1, zorder=0)
        label = h if not names or h not in names else f"{names[h]}\n{h}"
        ax.text(i, -0.9, label, ha="center", va="bottom", fontsize=8, fontweight="bold")
    marked = set(int(f) for f in highlight)
    for y, r in enumerate(rows.to_dict("records")):
        _arrow(ax, r, x[r["src"]], x[r["dst"]], y, int(r["frame"]) in marked, sdp)
        ax.text(-0.55, y, f"{r['time']:.3f} s  +{r['delta_ms']:.1f} ms  #{int(r['frame'])}",
                ha="right", va="center", fontsize=7, family="monospace", color="0.3")
    ax.set_xlim(-1.9, max(len(hosts) - 0.5, 1.5))
    ax.set_ylim(n - 0.3, -1.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10, pad=24)
    return ax


def _arrow(ax, r, x0, x1, y, bold, sdp):
    color = ladder_color(r)
    style = "--" if r.get("retransmission") else "-"
    ax.annotate("", xy=(x1, y), xytext=(x0, y),
                arrowprops=dict(arrowstyle="-|>", color=color, lw=2.2 if bold else 1.1, linestyle=style))
    text = r["label"] if len(r["label"]) <= 34 else r["label"][:33] + "…"
    mid = (x0 + x1) / 2
    ax.text(mid, y - 0.08, text, ha="center", va="bottom", fontsize=7.5, color=color,
            fontweight="bold" if bold else "normal")
    if sdp and r.get("sdp"):
        ax.text(mid, y + 0.08, r["sdp"][:60], ha="center", va="top", fontsize=6, color="tab:blue")
