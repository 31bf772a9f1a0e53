"""Widgets for the negotiation notebooks: edit FreeSWITCH's codec prefs and mode, and see
the outcome of :func:`labkit.freeswitch.negotiation.simulate` change as you type.
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["negotiation_explorer"]


def _show(offer, prefs_text, mode, options) -> None:
    """Outcome sentence, fix and compare matrix (inside an Output)."""

    from labkit import freeswitch as fs
    from labkit.freeswitch import negotiation as ng
    from labkit import plots

    prefs = fs.effective_prefs(None, channel_vars={"absolute_codec_string": prefs_text},
                               mode=mode)
    for name in prefs.missing:
        print(f"note: {name} is not a codec FreeSWITCH has loaded; it is ignored")
    neg = ng.simulate(offer, prefs, mode, **options)
    text, fix = ng.outcome_sentence(neg)
    print(text)
    print(f"fix: {fix}")
    if neg.compares:
        fig, ax = plots.new_figure(1, (10, 3.5))
        plots.plot_compare_matrix(neg, ax)
        plots.show(fig)


def negotiation_explorer(offer, prefs: str = "OPUS,G722,PCMU,PCMA,H264,VP8",
                         mode: str = "generous", **options):
    """A text box for the codec string and a mode menu; the outcome updates live.

    Parameters
    ----------
    offer : str or labkit.sip.sdp.SessionDescription
        The SDP offer FreeSWITCH receives.
    prefs : str
        Initial codec string (``NAME@8000h@20i@13200b@1c``, comma separated).
    mode : {"generous", "greedy", "scrooge"}
    **options
        Passed to :func:`labkit.freeswitch.negotiation.simulate` (crypto, fax_enable_t38 ...).

    Returns
    -------
    ipywidgets.VBox
    """
    text = widgets.Text(value=prefs, description="codec prefs",
                        layout=widgets.Layout(width="70%"), continuous_update=False)
    menu = widgets.Dropdown(options=["generous", "greedy", "scrooge"], value=mode,
                            description="mode")
    out = widgets.Output()

    def refresh(_=None):
        out.clear_output(wait=True)
        with out:
            _show(offer, text.value, menu.value, options)

    text.observe(refresh, names="value")
    menu.observe(refresh, names="value")
    refresh()
    return widgets.VBox([widgets.HBox([text, menu]), out])
