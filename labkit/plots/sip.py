"""The ladder diagram of a call flow (rows of :func:`labkit.sip.ladder`).

One column per ``ip:port`` (left to right in order of first appearance, as sngrep), one
arrow per message, top to bottom in capture order at even spacing; on the left the time
[s] and the delta to the previous arrow [ms]; on each arrow the method or status, with
the SDP summary under offers and answers. Requests are black, provisional responses
grey, 2xx green, failures red; retransmissions dashed; highlighted frames in bold.
Plain matplotlib: no JavaScript, so it shows in nbval, HTML reports and offline.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["plot_ladder", "ladder_color"]

ROW_INCH = 0.34      # [inch] vertical space per arrow
COL_INCH = 2.7       # [inch] horizontal space per column


def ladder_color(row) -> str:
    """Arrow colour of one ladder row: request, 1xx, 2xx, or failure (3xx-6xx)."""
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
