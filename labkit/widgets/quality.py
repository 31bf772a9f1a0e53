"""Widget for notebook 05: change the jitter buffer, see which packets it drops and the MOS.

:func:`jitter_buffer_explorer` takes the :class:`labkit.quality.JitterReport` of
:func:`labkit.quality.analyze_jitter`; the numbers come from
:func:`labkit.quality.buffer_outcome`, the pictures from :mod:`labkit.plots.quality`.

References
----------
ITU-T G.107 (E-model: R and MOS, with the buffer's delay in the delay term) and G.107.1
(wideband), as :mod:`labkit.quality.emodel` implements them; the fixed and adaptive
buffers of :mod:`labkit.quality.jbuf` (VoIPmonitor rtp.cpp, Asterisk main/jitterbuf.c).
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["jitter_buffer_explorer"]


def _show(report, key: str, buffer_ms: float, codec) -> None:
    from labkit import plots
    from labkit.quality import buffer_outcome, jbuf
    from labkit.quality.emodel import codec_constants
    tr = report.tracks[key]
    o = buffer_outcome(tr, float(buffer_ms), codec_constants(tr.codec, codec))
    late = jbuf.fixed_buffer(tr.t_ms, tr.nominal_ms, float(buffer_ms))
    print(f"{buffer_ms:g} ms buffer: {o['discards']} late discards, loss+discards "
          f"{o['effective_loss_pct']:.1f} %, mouth-to-ear >= {o['delay_ms']:.0f} ms, "
          f"R {o['R']:.1f}, MOS {o['MOS']:.2f}")
    stalls = report.stalls[report.stalls["key"] == tr.key] if len(report.stalls) else None
    fig, ax = plots.new_figure(1, (10, 3.5))
    plots.plot_lateness(tr, stalls, ax, buffer_ms=float(buffer_ms), late=late)
    plots.show(fig)


def jitter_buffer_explorer(report, *, buffer_ms: int = 50, codec: str | None = None):
    """A stream menu and a buffer-size slider [ms]; shows the late packets and the MOS.

    Parameters
    ----------
    report : labkit.quality.JitterReport
        From :func:`labkit.quality.analyze_jitter`.
    buffer_ms : int
        Initial fixed buffer [ms] (slider 10-400 ms).
    codec : str, optional
        E-model constants override.

    Returns
    -------
    ipywidgets.VBox
        The stream Dropdown, the IntSlider and the Output with the numbers and the
        :func:`labkit.plots.plot_lateness` picture.

    References
    ----------
    As :func:`labkit.quality.buffer_outcome` (fixed buffer, G.107).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.quality import analyze_jitter
    >>> import contextlib, io
    >>> rep = analyze_jitter(data.path("jitter_host_egress"))
    >>> with contextlib.redirect_stdout(io.StringIO()) as text:   # outside a notebook
    ...     pick, size, out = jitter_buffer_explorer(rep, buffer_ms=200).children
    >>> size.value, "200 ms buffer: 0 late discards" in text.getvalue()
    (200, True)
    """
    keys = list(report.tracks)
    pick = widgets.Dropdown(options=keys, value=keys[0] if keys else None, description="stream",
                            layout=widgets.Layout(width="95%"))
    size = widgets.IntSlider(value=int(buffer_ms), min=10, max=400, step=10,
                             description="buffer [ms]", continuous_update=False)
    out = widgets.Output()

    def redraw(*_):
        out.clear_output(wait=True)
        with out:
            if pick.value is not None:
                _show(report, pick.value, size.value, codec)

    pick.observe(redraw, names="value")
    size.observe(redraw, names="value")
    redraw()
    return widgets.VBox([pick, size, out])
