"""Widgets for the audio notebooks: pick directions of a ringback report, hear and see them.

:func:`direction_picker` takes the :class:`labkit.audio.ringback.RingbackReport` that
:func:`labkit.audio.ringback.analyze_ringback` returned; it holds no analysis of its own.
The question it answers: "which direction carries the tone, and what does it sound and
look like?". The verdicts follow :mod:`labkit.audio.tones` (ITU-T E.180 Supplement 2,
ETSI ES 201 970 ringing tones); the plots are drawn by :mod:`labkit.plots`.
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["direction_picker", "direction_label", "default_selection"]


def direction_label(d) -> str:
    """Menu text of one analysed direction/phase: ``"1: B->A early media (AMR-WB)"``.

    Parameters
    ----------
    d : labkit.audio.ringback.StreamAudio
        One entry of ``RingbackReport.directions``.

    Returns
    -------
    str
        ``"<stream id>: <direction> <phase> (<codec>)"``; the phase is "early media"
        (before the 200 OK, RFC 3960) or "after answer".

    References
    ----------
    RFC 3960 section 3 (early media before the final response); the codec name is the
    SDP rtpmap encoding name (RFC 4867 section 8.1 for AMR / AMR-WB).

    Examples
    --------
    The real baresip AMR-WB call: A speaks, B plays the Europe ringback (data/lab
    MANIFEST; tshark -z rtp,streams shows both streams as AMR-WB, 551 packets each):

    >>> from labkit import data
    >>> from labkit.audio.ringback import analyze_ringback
    >>> report = analyze_ringback(data.path("ringback_amrwb"))
    >>> [direction_label(d) for d in report.directions]
    ['1: A->B after answer (AMR-WB)', '0: B->A after answer (AMR-WB)']
    """
    return f"{d.stream}: {d.direction} {d.phase} ({d.codec})"


def _show_direction(d) -> None:
    """Verdict, player and the three plots of one direction (inside an Output)."""
    from IPython.display import Audio, display

    from labkit import plots

    print(f"Direction {d.summary}")
    if d.audio is None:
        return
    display(Audio(d.audio.pcm / 32768.0, rate=d.audio.rate, normalize=False))
    fig, axes = plots.new_figure(3, (10, 8))
    runs = d.result.segments if d.result is not None else ()
    plots.plot_waveform(d.audio.pcm, d.audio.rate, axes[0], tone_runs=runs, t0=d.t0,
                        title=f"{d.direction} {d.phase}: waveform")
    plots.plot_spectrogram(d.audio.pcm, d.audio.rate, axes[1], t0=d.t0,
                           title="spectrogram")
    plots.plot_frame_timeline(d.frames, axes[2], t0=d.t0)
    plots.show(fig)


def default_selection(report, most: int = 2) -> list[int]:
    """Indices of the directions shown first: tone verdicts, else the first decoded one.

    Parameters
    ----------
    report : labkit.audio.ringback.RingbackReport
        What :func:`labkit.audio.ringback.analyze_ringback` returned.
    most : int
        Largest number of indices returned.

    Returns
    -------
    list of int
        Indices into ``report.directions``: those decoded with a "ringback" or "tone"
        verdict, else the first decoded one; at most `most`.

    References
    ----------
    Verdicts of :func:`labkit.audio.tones.detect_ringback` (ITU-T E.180 Supplement 2
    cadences).

    Examples
    --------
    In the real early-media call through rtpengine only rtpengine's own stream to A
    (the fifth direction) carries the ringback it played (data/lab MANIFEST):

    >>> from labkit import data
    >>> from labkit.audio.ringback import analyze_ringback
    >>> report = analyze_ringback(data.path("early_media_ringback"))
    >>> i = default_selection(report)
    >>> i, direction_label(report.directions[i[0]]), report.directions[i[0]].verdict
    ([4], '0: B->A early media (PCMA)', 'ringback')
    """
    decoded = [i for i, d in enumerate(report.directions) if d.audio is not None]
    tones = [i for i in decoded if report.directions[i].verdict in ("ringback", "tone")]
    return (tones or decoded[:1])[:most]


def direction_picker(report, *, selected=None):
    """A multi-select of the report's directions; each selected one is played and plotted.

    Parameters
    ----------
    report : labkit.audio.ringback.RingbackReport
        What :func:`labkit.audio.ringback.analyze_ringback` returned.
    selected : list of int, optional
        Indices into ``report.directions`` selected at start. Default: the decoded
        directions with a tone verdict, else the first decoded one, at most two (the
        picker is for choosing; a notebook cell can show every direction at once, and
        nbclient/papermill stall on an Output widget holding many audio players).

    Returns
    -------
    ipywidgets.VBox
        A SelectMultiple of :func:`direction_label` texts above an Output holding, per
        selected direction, its verdict, an audio player and waveform, spectrogram and
        frame-timeline plots.

    References
    ----------
    ipywidgets SelectMultiple and Output; the verdicts of
    :func:`labkit.audio.tones.detect_ringback` (ITU-T E.180 Supplement 2, ETSI ES 201 970).

    Examples
    --------
    Built on the real AMR-WB call; B->A (index 1) is selected and its verdict printed
    (outside a notebook the Output's text goes to stdout; a notebook shows it, with the
    player and the plots, under the menu):

    >>> import contextlib, io
    >>> from labkit import data
    >>> from labkit.audio.ringback import analyze_ringback
    >>> report = analyze_ringback(data.path("ringback_amrwb"))
    >>> shown = io.StringIO()
    >>> with contextlib.redirect_stdout(shown):
    ...     box = direction_picker(report)
    >>> pick, out = box.children
    >>> pick.options
    (('1: A->B after answer (AMR-WB)', 0), ('0: B->A after answer (AMR-WB)', 1))
    >>> pick.value
    (1,)
    >>> print(shown.getvalue().splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
    Direction B->A (after answer): TONE AFTER ANSWER (not ringback: the 200 OK came
    first): ringback tone present, Europe 425 Hz 1.0/4.0 s, -10.3 dBFS, 0.0-11.0 s
    """
    options = [(direction_label(d), i) for i, d in enumerate(report.directions)]
    if selected is None:
        selected = default_selection(report)
    pick = widgets.SelectMultiple(options=options, value=tuple(selected),
                                  description="directions",
                                  layout=widgets.Layout(width="60%"))
    out = widgets.Output()

    def refresh(change=None):
        if change is not None:  # first fill: nothing to clear (nbclient stalls on it)
            out.clear_output(wait=True)
        with out:
            for i in pick.value:
                _show_direction(report.directions[i])

    pick.observe(refresh, names="value")
    refresh()
    return widgets.VBox([pick, out])
