"""Plots for the negotiation notebooks.

:func:`plot_compare_matrix` draws what :func:`labkit.freeswitch.negotiation.simulate` (or a
FreeSWITCH log) compared: one row per offered codec, one column per local codec, each cell
coloured by the result of that "Audio Codec Compare" line.

References
----------
FreeSWITCH src/switch_core_media.c (``switch_core_media_negotiate_sdp``: one "Audio
Codec Compare [remote]/[local]" log line per pair compared); RFC 3264 section 6 (the
answerer picks from the offer's formats).
"""
from __future__ import annotations

from matplotlib.patches import Patch

from labkit.plots._base import new_axes

__all__ = ["plot_compare_matrix", "RESULT_COLORS"]

RESULT_COLORS = {"no match": "#e8e8e8", "near-match": "tab:orange", "match": "tab:green",
                 "chosen": "darkgreen", "not compared": "white"}


def _cells(neg):
    remote = list(dict.fromkeys(x.remote for x in neg.compares if x.kind == "compare"))
    local = list(dict.fromkeys(x.local for x in neg.compares if x.kind == "compare"))
    result = {}
    last = None
    for x in neg.compares:
        if x.kind == "compare":
            last = (x.remote, x.local)
            result[last] = "no match"
        elif last is not None:
            result[last] = x.kind
    if neg.chosen is not None:
        key = next((k for k, v in result.items() if v in ("match", "near-match")
                    and k[0].split(":")[:2] == [neg.chosen[0].name, str(neg.chosen[0].pt)]
                    and k[1].split(":")[0] == neg.chosen[1].name), None)
        if key:
            result[key] = "chosen"
    return remote, local, result


def plot_compare_matrix(neg, ax=None, *, title: str | None = None):
    """Offered codecs (rows, remote order) against local codecs (columns, local order).

    Parameters
    ----------
    neg : labkit.freeswitch.negotiation.Negotiation
        Result of :func:`labkit.freeswitch.negotiation.simulate`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Default: the mode and the chosen codec.

    Returns
    -------
    matplotlib.axes.Axes
        One square patch per (offered, local) pair, coloured by :data:`RESULT_COLORS`
        and labelled with its result; tick labels "NAME/rate PTn ptime".

    References
    ----------
    FreeSWITCH src/switch_core_media.c (``switch_core_media_negotiate_sdp``: one
    "Audio Codec Compare [remote]/[local]" line per pair it compares).

    Examples
    --------
    The real baresip offer with GSM only against FreeSWITCH's default prefs: GSM is
    compared with each of the four audio codecs and matches none:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.freeswitch.negotiation import simulate
    >>> from labkit.sip import offers_answers, sip_messages
    >>> calls = offers_answers(sip_messages(read_capture(data.path("codec_mismatch_488"))))
    >>> offer = calls[calls.role == "offer"].sdp.iloc[0]
    >>> ax = plot_compare_matrix(simulate(offer))
    >>> ax.get_title(), len(ax.patches), sorted({t.get_text() for t in ax.texts})
    ('generous: no codec', 4, ['no match'])
    >>> [t.get_text() for t in ax.get_yticklabels()], len(ax.get_xticklabels())
    (['GSM/8000 PT3 20ms'], 4)
    """
    ax = new_axes(ax)
    remote, local, result = _cells(neg)
    for i, r in enumerate(remote):
        for j, loc in enumerate(local):
            kind = result.get((r, loc), "not compared")
            ax.add_patch(_rect(j, i, RESULT_COLORS[kind]))
            ax.text(j + 0.5, i + 0.5, kind, ha="center", va="center", fontsize=8,
                    color="white" if kind == "chosen" else "black")
    ax.set_xlim(0, max(len(local), 1))
    ax.set_ylim(max(len(remote), 1), 0)
    ax.set_xticks([j + 0.5 for j in range(len(local))], [_short(x) for x in local], fontsize=8)
    ax.set_yticks([i + 0.5 for i in range(len(remote))], [_short(x) for x in remote], fontsize=8)
    ax.set_xlabel("local codec (FreeSWITCH prefs, in order)")
    ax.set_ylabel("offered codec (remote order)")
    chosen = f"{neg.chosen[0].name}/{neg.chosen[0].rate}" if neg.chosen else "no codec"
    ax.set_title(title or f"{neg.mode}: {chosen}" + (f" ({neg.refused})" if neg.refused else ""))
    ax.legend(handles=[Patch(color=c, label=k) for k, c in RESULT_COLORS.items()
                       if k != "not compared"], loc="upper center", bbox_to_anchor=(0.5, -0.25),
              ncol=4, fontsize=8, frameon=False)
    return ax


def _rect(x, y, color):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), 1, 1, facecolor=color, edgecolor="white", lw=2)


def _short(text: str) -> str:
    """``GSM:3:8000:20:13200:1`` -> ``GSM/8000 PT3 20ms``."""
    name, pt, rate, ptime, *_ = text.split(":")
    return f"{name or '?'}/{rate} PT{pt} {ptime}ms"
