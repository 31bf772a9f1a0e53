"""Widgets for the negotiation notebooks: edit FreeSWITCH's codec prefs and mode, and see
the outcome of :func:`labkit.freeswitch.negotiation.simulate` change as you type.

The simulation follows FreeSWITCH src/switch_core_media.c
(``switch_core_media_negotiate_sdp``) on an RFC 3264 offer.
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
        Initial ``inbound-codec-negotiation`` mode.
    **options
        Passed to :func:`labkit.freeswitch.negotiation.simulate` (crypto, fax_enable_t38 ...).

    Returns
    -------
    ipywidgets.VBox
        An HBox (Text with the codec string, Dropdown with the mode) above an Output
        with the outcome sentence, the fix and :func:`labkit.plots.plot_compare_matrix`.

    References
    ----------
    FreeSWITCH src/switch_core_media.c (``switch_core_media_negotiate_sdp``) and
    conf/vanilla/vars.xml (``global_codec_prefs``); RFC 3264 section 6 (answer to an
    offer).

    Examples
    --------
    The real GSM-only offer; with GSM in the prefs the call proceeds, without it
    FreeSWITCH answers 488. (Outside a notebook the Output's text goes to stdout; a
    notebook shows it under the widgets.)

    >>> import contextlib, io
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.sip import offers_answers, sip_messages
    >>> calls = offers_answers(sip_messages(read_capture(data.path("codec_mismatch_488"))))
    >>> offer = calls[calls.role == "offer"].sdp.iloc[0]
    >>> shown = io.StringIO()
    >>> with contextlib.redirect_stdout(shown):
    ...     box = negotiation_explorer(offer, "OPUS,GSM,PCMA")
    >>> (text, menu), out = box.children[0].children, box.children[1]
    >>> text.value, menu.options, menu.value
    ('OPUS,GSM,PCMA', ('generous', 'greedy', 'scrooge'), 'generous')
    >>> print(shown.getvalue().split("\\r")[-1].strip())
    offer has GSM only; effective prefs OPUS,GSM,PCMA; generous mode picks GSM/8000 (PT 3)
    -> call proceeds
    fix: none needed
    >>> shown = io.StringIO()
    >>> with contextlib.redirect_stdout(shown):
    ...     text.value = "PCMA"
    >>> print(shown.getvalue().split("\\r")[-1].strip())
    offer has GSM only; effective prefs PCMA; no match -> INCOMPATIBLE_DESTINATION,
    Q.850 88, SIP 488
    fix: add GSM to the codec prefs (global_codec_prefs in vars.xml) and reloadxml
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
