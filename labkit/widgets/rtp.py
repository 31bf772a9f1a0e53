"""Widgets for the RTP notebooks: pick a stream, see its timing.

:func:`stream_picker` takes the :class:`labkit.rtp.RtpPackets` of
:func:`labkit.rtp.find_rtp`; all figures come from :func:`labkit.rtp.stream_timing`
and :mod:`labkit.plots.rtp`.
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["stream_picker", "stream_label"]


def stream_label(row) -> str:
    """Menu text of one stream row of :func:`labkit.rtp.rtp_streams`."""
    flag = " (problems)" if row["problem"] else ""
    return (f"{row['stream']}: {row['src']}:{row['sport']} -> {row['dst']}:{row['dport']} "
            f"SSRC 0x{row['ssrc']:08X} {row['payloads']}, {row['packets']} pkts{flag}")


def _show(rtp, stream) -> None:

    from labkit import plots
    from labkit.rtp import stream_timing

    tm = stream_timing(rtp, stream)
    fig, axes = plots.new_figure(2, (10, 6))
    plots.plot_stream_timing(tm, axes[0], title=f"stream {stream}: delta, jitter, skew")
    plots.plot_delta_histogram(tm, axes[1], title="inter-arrival deltas")
    plots.show(fig)


def stream_picker(rtp, *, selected: int | None = None):
    """A dropdown of the streams; the chosen one's timing plots are shown below it."""
    from labkit.rtp import rtp_streams

    table = rtp_streams(rtp).sort_values("stream")
    options = [(stream_label(r), int(r["stream"])) for _, r in table.iterrows()]
    pick = widgets.Dropdown(options=options, description="stream",
                            layout=widgets.Layout(width="95%"),
                            value=selected if selected is not None else
                            (options[0][1] if options else None))
    out = widgets.Output()

    def redraw(*_):
        out.clear_output(wait=True)
        with out:
            if pick.value is not None:
                _show(rtp, pick.value)

    pick.observe(redraw, names="value")
    redraw()
    return widgets.VBox([pick, out])
