"""Widgets for the RTP notebooks: pick a stream, see its timing.

:func:`stream_picker` takes the :class:`labkit.rtp.RtpPackets` of
:func:`labkit.rtp.find_rtp`; all figures come from :func:`labkit.rtp.stream_timing`
and :mod:`labkit.plots.rtp`.
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["stream_picker", "stream_label"]


def stream_label(row) -> str:
    """Menu text of one stream row of :func:`labkit.rtp.rtp_streams`.

    Parameters
    ----------
    row : mapping
        A row of :func:`labkit.rtp.rtp_streams` (stream, src, sport, dst, dport, ssrc,
        payloads, packets, problem).

    Returns
    -------
    str
        "id: src:port -> dst:port SSRC 0x... payloads, n pkts", " (problems)" appended
        when tshark would print its X flag.

    References
    ----------
    Wireshark 4.0.17 ui/cli/tap-rtp.c (the columns of ``-z rtp,streams``); RFC 3550
    section 5.1 (SSRC).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp, rtp_streams
    >>> row = rtp_streams(find_rtp(read_capture(data.path("ringback_amrwb")))).iloc[0]
    >>> stream_label(row)                # tshark's first row: A's stream, id 1
    '1: 10.0.0.1:10010 -> 10.0.0.2:10024 SSRC 0xA16B3231 AMR-WB, 551 pkts'
    """
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
    """A dropdown of the streams; the chosen one's timing plots are shown below it.

    Parameters
    ----------
    rtp : labkit.rtp.RtpPackets
        From :func:`labkit.rtp.find_rtp`.
    selected : int, optional
        Stream id shown first (default: the first stream).

    Returns
    -------
    ipywidgets.VBox
        A Dropdown (options ``(label, stream id)``, see :func:`stream_label`) above an
        Output with :func:`labkit.plots.plot_stream_timing` and
        :func:`labkit.plots.plot_delta_histogram` of the chosen stream.

    References
    ----------
    RFC 3550 section 6.4.1 (jitter); Wireshark 4.0.17 ui/tap-rtp-analysis.c (the
    per-packet figures of :func:`labkit.rtp.stream_timing`).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> import contextlib, io
    >>> rtp = find_rtp(read_capture(data.path("ringback_amrwb")))
    >>> with contextlib.redirect_stdout(io.StringIO()):   # outside a notebook: no Output area
    ...     pick, out = stream_picker(rtp, selected=1).children
    >>> [value for _, value in pick.options], pick.value
    ([0, 1], 1)
    >>> pick.label
    '1: 10.0.0.1:10010 -> 10.0.0.2:10024 SSRC 0xA16B3231 AMR-WB, 551 pkts'
    """
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
