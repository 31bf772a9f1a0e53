"""Pictures for notebooks 08 and 09: the REGISTER ladder with verdicts, the iFC truth table.

The ladder shows a digest exchange (RFC 3261 section 22.4, RFC 2617 / RFC 7616): each
REGISTER and its 401/407 challenge or final answer, coloured by the verdict of
:func:`labkit.sip.auth.auth_verdicts` (green accepted, red refused, grey no verdict). The
truth table shows how an S-CSCF evaluates a subscriber's Initial Filter Criteria (3GPP
TS 29.228 Annex B and F, TS 24.229 section 5.4.3.2): per Service Point Trigger its
result and the result of its iFC, from :func:`labkit.sip.ifc.evaluate_ifcs`.
"""
from __future__ import annotations

import pandas as pd

from labkit.plots._base import new_axes

__all__ = ["plot_auth_ladder", "plot_ifc_trace"]

_OK, _BAD, _NA = "#2e7d32", "#c62828", "#757575"


def plot_auth_ladder(messages: pd.DataFrame, verdicts: pd.DataFrame, ax=None, *,
                     max_rows: int = 12):
    """Ladder of the digest exchange: requests right, responses left, refusals in red.

    Parameters
    ----------
    messages : DataFrame
        :func:`labkit.sip.sip_messages` of the capture.
    verdicts : DataFrame
        :func:`labkit.sip.auth.auth_verdicts` of the same capture.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure 10 inch wide and 0.8 + 0.42 per message [inch] high
        when omitted.
    max_rows : int
        Draw at most this many messages (the first ones).

    Returns
    -------
    matplotlib.axes.Axes
        One arrow per message (requests UA -> registrar, responses back), its label in
        the verdict's colour (green accepted, red refused, grey none), the frame number
        on the left, the cause of a refusal right of the request; axis off.

    References
    ----------
    RFC 3261 sections 22.4 (digest in SIP), 21.4.2 (401) and 21.4.4 (403); RFC 2617
    section 3.2.2 (the response); :func:`labkit.sip.auth.auth_verdicts`.

    Examples
    --------
    Real Kamailio challenging a wrong password: the second REGISTER's response does not
    match, and Kamailio answers 401 again:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.sip import sip_messages
    >>> from labkit.sip.auth import auth_verdicts
    >>> msgs = sip_messages(read_capture(data.path("register_digest_wrong_password")))
    >>> ax = plot_auth_ladder(msgs, auth_verdicts(msgs, password="secret-alice"))
    >>> [t.get_text() for t in ax.texts if t.get_color() == "#c62828"]
    ['REGISTER (CSeq 2) + Authorization', 'response', '401 Unauthorized']
    """
    msgs = messages.head(max_rows)
    ax = new_axes(ax, figsize=(10.0, 0.8 + 0.42 * max(len(msgs), 2)))
    cause = dict(zip(verdicts["frame"], verdicts["cause"]))
    answer = dict(zip(verdicts["answer_frame"], verdicts["cause"]))
    for y, m in enumerate(msgs.itertuples()):
        req = isinstance(m.method, str)
        x0, x1 = (0.1, 0.9) if req else (0.9, 0.1)
        label = f"{m.method} (CSeq {m.cseq})" if req else f"{m.status} {m.reason_phrase}"
        c = cause.get(m.frame) if req else answer.get(m.frame)
        colour = _NA if c is None else (_OK if c == "accepted" else _BAD)
        if req and any(n in ("authorization", "proxy-authorization") for n, _ in m.headers):
            label += " + Authorization"
        ax.annotate("", xy=(x1, -y), xytext=(x0, -y),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.6})
        ax.text(0.5, -y + 0.12, label, ha="center", va="bottom", fontsize=9, color=colour)
        ax.text(0.0, -y, f"#{m.frame}", ha="right", va="center", fontsize=8, color=_NA)
        if c not in (None, "accepted") and req:
            ax.text(0.92, -y, c, ha="left", va="center", fontsize=9, color=_BAD)
    ax.set_xlim(-0.08, 1.15)
    ax.set_ylim(-len(msgs) + 0.4, 0.9)
    ax.axvline(0.1, color="#bdbdbd", lw=1)
    ax.axvline(0.9, color="#bdbdbd", lw=1)
    ax.text(0.1, 0.7, "UA", ha="center", fontweight="bold")
    ax.text(0.9, 0.7, "registrar", ha="center", fontweight="bold")
    ax.set_axis_off()
    return ax


def plot_ifc_trace(trace: pd.DataFrame, ax=None, *, title: str | None = None):
    """The iFC truth table: one row per SPT, grouped by priority; green true, red false.

    Parameters
    ----------
    trace : DataFrame
        :func:`labkit.sip.ifc.evaluate_ifcs` (or ``route_request(...).trace``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure 10 inch wide and 0.9 + 0.38 per row [inch] high when
        omitted.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Per trace row two boxes (``ax.patches``: the SPT's result, then its iFC's; green
        true, red false), the priority, group and condition, and what the request showed;
        axis off.

    References
    ----------
    3GPP TS 29.228 Annex B (TriggerPoint, SPT, ConditionTypeCNF) and Annex F; TS 24.229
    section 5.4.3.2 (the S-CSCF checks iFCs in increasing priority).

    Examples
    --------
    The seed profile asks for ``Recv-Info ~ /"g.3gpp.ussd"/`` (with the quotes); the
    request's Recv-Info has none, so priority 25 fails and only 10 and 30 match (as the
    builder's truth file, ifc_truth, says):

    >>> from matplotlib.colors import to_rgb
    >>> from labkit import data
    >>> from labkit.sip.ifc import ifc_request, parse_ifc, route_request
    >>> route = route_request(parse_ifc(data.path("ifc_seed_profile")),
    ...                       ifc_request(data.path("ifc_request_ussd_invite")))
    >>> ax = plot_ifc_trace(route.trace)
    >>> green = [b.get_facecolor()[:3] == to_rgb("#2e7d32") for b in ax.patches[1::2]]
    >>> len(ax.patches), sorted({int(p) for p, g in zip(route.trace.priority, green) if g})
    (10, [10, 30])
    """
    ax = new_axes(ax, figsize=(10.0, 0.9 + 0.38 * max(len(trace), 2)))
    for y, r in enumerate(trace.itertuples()):
        for x, value in ((0.0, r.spt_result), (1.1, r.ifc_result)):
            ax.add_patch(_box(x, -y, _OK if value else _BAD))
            ax.text(x + 0.5, -y + 0.4, "true" if value else "false", ha="center",
                    va="center", fontsize=8, color="white")
        ax.text(2.3, -y + 0.4, f"prio {r.priority}  grp {r.groups}  {r.condition}",
                va="center", fontsize=9)
        ax.text(8.2, -y + 0.4, str(r.seen)[:38], va="center", fontsize=8, color=_NA)
    ax.text(0.5, 1.1, "SPT", ha="center", fontsize=9, fontweight="bold")
    ax.text(1.6, 1.1, "iFC", ha="center", fontsize=9, fontweight="bold")
    ax.text(8.2, 1.1, "seen in the request", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.2, 11.5)
    ax.set_ylim(-len(trace) + 0.8, 1.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _box(x, y, colour):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), 1.0, 0.8, color=colour)
