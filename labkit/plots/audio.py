"""Plots for the audio notebooks: waveform, spectrogram, per-frame timeline.

They show what a decoded RTP direction sounds like: the samples over time with the
call-progress tone runs shaded (ETSI ES 201 970 and ITU-T E.180 Supplement 2 tones,
found by :mod:`labkit.audio.tones`), the spectrum in dBFS (0 dB: a full-scale sine)
where a 425 Hz or 440+480 Hz ringback shows as a line, and per 20 ms frame what RTP
carried (AMR frame types of 3GPP TS 26.101 / 26.201, RFC 4867) next to what the audio
contains (tone, speech, comfort noise of TS 26.092 / 26.192, digital silence).

All take the data the analysis functions returned (int16 PCM and its rate, the frame
table of :func:`labkit.audio.classify_frames`, tone runs of :mod:`labkit.audio.tones`), draw
on `ax` (a new fixed-size figure when omitted) and return the Axes.
"""
from __future__ import annotations

import numpy as np

from labkit.plots._base import new_axes

__all__ = ["plot_waveform", "plot_spectrogram", "plot_frame_timeline", "KIND_COLORS",
           "CLASS_COLORS"]

# RTP-layer frame kinds (labkit.amr) and audio classes (labkit.audio), fixed colours
KIND_COLORS = {"speech": "tab:blue", "SID": "tab:purple", "NO_DATA": "tab:gray",
               "lost": "tab:red", "gap": "lightgray"}
CLASS_COLORS = {"tone": "tab:orange", "speech": "tab:green", "comfort noise": "tab:olive",
                "digital silence": "black"}
FRAME_S = 0.020  # [s]


def _shade_runs(ax, runs, t0: float) -> None:
    for r in runs or ():
        ax.axvspan(t0 + r.start, t0 + r.end, color="tab:orange", alpha=0.15, lw=0)


def plot_waveform(pcm: np.ndarray, rate: int, ax=None, *, title: str | None = None,
                  tone_runs=None, t0: float = 0.0):
    """Samples over time [s], in dBFS-consistent full scale (+/-1 = +/-32768).

    Long signals are drawn as the min and max of blocks (at most ~20 000 points), so
    peaks stay visible.

    Parameters
    ----------
    pcm : numpy.ndarray
        int16 samples (e.g. :attr:`labkit.audio.DecodedAudio.pcm`).
    rate : int
        Sample rate [Hz] (8000 for AMR and G.711, 16000 for AMR-WB).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: "waveform").
    tone_runs : sequence of labkit.audio.tones.ToneRun, optional
        Shaded in orange (one span per run, from its start to its end [s]).
    t0 : float
        Time of the first sample [s] (e.g. the stream's start in the capture).

    Returns
    -------
    matplotlib.axes.Axes
        One line (the samples, amplitude in full scale, -1..1) and one shaded span per
        tone run; x from `t0` to `t0` + the duration [s].

    References
    ----------
    AES17 (full scale: +/-32768 for 16-bit PCM); ETSI ES 201 970 (the 425 Hz, 1 s on /
    4 s off ringing tone) and ITU-T E.180 Supplement 2 (national tones), the shaded runs
    of :func:`labkit.audio.tones.tone_runs`.

    Examples
    --------
    The builder wrote B's ringback as 425 Hz, 1 s on and 4 s off, for 11 s: three tone
    runs, starting at 0, 5 and 10 s:

    >>> from labkit import data
    >>> from labkit.audio import decode_storage, tone_runs
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> runs = tone_runs(audio.pcm, audio.rate)
    >>> ax = plot_waveform(audio.pcm, audio.rate, tone_runs=runs)
    >>> len(ax.lines), len(ax.patches), [float(x) for x in ax.get_xlim()]
    (1, 3, [0.0, 11.0])
    >>> ax.get_ylabel()
    'amplitude [full scale]'
    """
    ax = new_axes(ax)
    x = np.asarray(pcm, dtype=np.float64).ravel() / 32768.0
    t = t0 + np.arange(x.size) / float(rate)
    step = max(1, x.size // 20000)  # draw at most ~20k points per trace (min/max kept)
    if step > 1:
        k = x.size // step
        blocks = x[: k * step].reshape(k, step)
        tt = np.repeat(t[: k * step: step], 2)
        xx = np.column_stack([blocks.min(axis=1), blocks.max(axis=1)]).ravel()
        ax.plot(tt, xx, lw=0.6, color="tab:blue")
    else:
        ax.plot(t, x, lw=0.6, color="tab:blue")
    _shade_runs(ax, tone_runs, t0)
    ax.set_xlim(t0, t0 + max(x.size, 1) / float(rate))
    ax.set_ylim(-1.0, 1.0)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("amplitude [full scale]")
    ax.set_title(title or "waveform")
    return ax


def plot_spectrogram(pcm: np.ndarray, rate: int, ax=None, *, title: str | None = None,
                     fmax: float | None = None, t0: float = 0.0, colorbar: bool = False):
    """Spectrogram: 40 ms Hann windows, 20 ms hop, power in dBFS, colour -100..0 dB.

    Power per bin is scaled so that a full-scale sine on a bin reads 0 dBFS; bins are
    rate / (0.040 * rate) = 25 Hz apart. Shorter than one window: "no audio" is written
    instead.

    Parameters
    ----------
    pcm : numpy.ndarray
        int16 samples.
    rate : int
        Sample rate [Hz].
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: "spectrogram").
    fmax : float, optional
        Upper end of the frequency axis [Hz] (default: half the sample rate).
    t0 : float
        Time of the first sample [s].
    colorbar : bool
        Add a colour scale [dBFS] (it narrows the Axes, so it is off when plots are
        stacked).

    Returns
    -------
    matplotlib.axes.Axes
        One QuadMesh (``ax.collections[0]``: power [dBFS], one row per frequency bin,
        one column per 20 ms hop).

    References
    ----------
    scipy.signal.spectrogram (``scaling="spectrum"``, one-sided); AES17 (dBFS relative
    to a full-scale sine); ETSI ES 201 970 (425 Hz ringing tone) and ITU-T E.180
    Supplement 2 (national tone frequencies).

    Examples
    --------
    40 ms at 8 kHz is 320 samples, so bins are 8000 / 320 = 25 Hz apart and 425 Hz is
    row 425 / 25 = 17; the builder wrote the tone at -12 dBFS:

    >>> from labkit import data
    >>> from labkit.audio import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> ax = plot_spectrogram(audio.pcm, audio.rate, fmax=1000)
    >>> power = ax.collections[0].get_array()            # [dBFS], rows 0, 25 ... 1000 Hz
    >>> power.shape[0], int(power.max(axis=1).argmax()) * 25, round(float(power.max()))
    (41, 425, -12)
    """
    from scipy.signal import spectrogram
    ax = new_axes(ax)
    x = np.asarray(pcm, dtype=np.float64).ravel() / 32768.0
    nper = int(rate * 0.040)
    if x.size < nper:
        ax.text(0.5, 0.5, "no audio", ha="center", va="center", transform=ax.transAxes)
        return ax
    f, t, s = spectrogram(x, fs=rate, window="hann", nperseg=nper, noverlap=nper // 2,
                          scaling="spectrum", mode="psd")
    db = 10 * np.log10(np.maximum(s * 2, 1e-12))
    keep = f <= (fmax or rate / 2)
    mesh = ax.pcolormesh(t0 + t, f[keep], db[keep], shading="auto", vmin=-100, vmax=0,
                         cmap="viridis", rasterized=True)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="[dBFS]", pad=0.01)
    ax.set_xlim(t0, t0 + x.size / float(rate))
    ax.set_xlabel("time [s]")
    ax.set_ylabel("frequency [Hz]")
    ax.set_title(title or "spectrogram")
    return ax


def _bars(ax, y: float, labels: np.ndarray, colors: dict, t0: float, prefix: str) -> list:
    """One row of coloured 20 ms boxes per label value; returns legend handles."""
    from matplotlib.patches import Patch
    handles = []
    labels = np.asarray(labels).astype(str)
    for name, color in colors.items():
        idx = np.flatnonzero(labels == name)
        if idx.size == 0:
            continue
        # group consecutive frames into bars
        cuts = np.flatnonzero(np.diff(idx) > 1) + 1
        spans = [(t0 + g[0] * FRAME_S, (g[-1] - g[0] + 1) * FRAME_S) for g in np.split(idx, cuts)]
        ax.broken_barh(spans, (y - 0.4, 0.8), color=color)
        handles.append(Patch(color=color, label=f"{prefix}{name}"))
    return handles


def plot_frame_timeline(frames, ax=None, *, title: str | None = None, t0: float = 0.0):
    """Per 20 ms frame: what the RTP stream carried (speech / SID / NO_DATA / lost / gap)
    and what the audio contains (tone / speech / comfort noise / digital silence).

    Parameters
    ----------
    frames : pandas.DataFrame
        From :func:`labkit.audio.classify_frames` (columns ``class`` and optionally
        ``kind``), one row per 20 ms frame.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of the fixed size when omitted.
    title : str, optional
        Axes title (default: "frame timeline (20 ms frames)").
    t0 : float
        Time of the first frame [s].

    Returns
    -------
    matplotlib.axes.Axes
        Row "audio" (and row "RTP frames" when `frames` has ``kind``), one coloured bar
        per run of frames of a kind (:data:`KIND_COLORS`, :data:`CLASS_COLORS`), a legend
        naming the kinds present; x from `t0` to `t0` + 0.020 s per frame.

    References
    ----------
    3GPP TS 26.101 / TS 26.201 table 1a (AMR / AMR-WB frame types: speech, SID,
    NO_DATA); RFC 4867 sections 4.3 and 4.4 (frames in an RTP payload); TS 26.092 /
    TS 26.192 (comfort noise).

    Examples
    --------
    Stream 0 of the DTX capture (the builder scripted DTX: SID frames in the pauses):

    >>> from labkit import data
    >>> from labkit.amr import CapturePayloads, amr_storage_from_rtp
    >>> from labkit.audio import classify_frames, decode_storage
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> rtp = find_rtp(read_capture(data.path("synth_amrnb_oa_dtx_loss")))
    >>> rows = (rtp.stream == 0).nonzero()[0]
    >>> x = amr_storage_from_rtp(rtp.seq[rows], rtp.timestamp[rows], CapturePayloads(rtp, rows),
    ...                          octet_aligned=True)
    >>> audio = decode_storage(x.data)
    >>> ax = plot_frame_timeline(classify_frames(audio.pcm, audio.rate, audio.ft, x.kind))
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['RTP frames', 'audio']
    >>> "RTP SID" in [t.get_text() for t in ax.get_legend().get_texts()]
    True
    """
    ax = new_axes(ax)
    rows, handles = [], []
    if "kind" in frames:
        handles += _bars(ax, 1.0, frames["kind"].to_numpy(), KIND_COLORS, t0, "RTP ")
        rows.append((1.0, "RTP frames"))
    handles += _bars(ax, 0.0, frames["class"].to_numpy(), CLASS_COLORS, t0, "audio ")
    rows.append((0.0, "audio"))
    ax.set_yticks([r[0] for r in rows], [r[1] for r in rows])
    ax.set_xlim(t0, t0 + max(len(frames), 1) * FRAME_S)
    ax.set_xlabel("time [s]")
    ax.set_title(title or "frame timeline (20 ms frames)")
    ax.set_ylim(-0.6, 1.0 + (1.0 if "kind" in frames else 0.0))
    ax.legend(handles=handles, loc="upper center", ncol=max(len(handles), 1),
              fontsize="small", frameon=False, handlelength=1.0)
    return ax
