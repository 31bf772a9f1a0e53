"""Widgets for the audio notebooks: pick directions of a ringback report, hear and see them.

:func:`direction_picker` takes the :class:`labkit.audio.ringback.RingbackReport` that
:func:`labkit.audio.ringback.analyze_ringback` returned; it holds no analysis of its own.
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["direction_picker", "direction_label", "default_selection"]


def direction_label(d) -> str:
    """Menu text of one analysed direction/phase: ``"1: B->A early media (AMR-WB)"``."""
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
    """Indices of the directions shown first: tone verdicts, else the first decoded one."""
    decoded = [i for i, d in enumerate(report.directions) if d.audio is not None]
    tones = [i for i in decoded if report.directions[i].verdict in ("ringback", "tone")]
    return (tones or decoded[:1])[:most]


def direction_picker(report, *, selected=None):
    """A multi-select of the report's directions; each selected one is played and plotted.

    Parameters
    ----------
    report : labkit.audio.ringback.RingbackReport
    selected : list of int, optional
        Indices into ``report.directions`` selected at start. Default: the decoded
        directions with a tone verdict, else the first decoded one, at most two (the
        picker is for choosing; a notebook cell can show every direction at once, and
        nbclient/papermill stall on an Output widget holding many audio players).

    Returns
    -------
    ipywidgets.VBox
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
