"""Plots for the audio notebooks: waveform, spectrogram, per-frame timeline.

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

    Parameters
    ----------
    tone_runs : sequence of labkit.audio.tones.ToneRun, optional
        Shaded in orange.
    t0 : float
        Time of the first sample [s] (e.g. the stream's start in the capture).
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

    `fmax` [Hz] limits the frequency axis (default: half the sample rate); `colorbar`
    adds a colour scale (it narrows the Axes, so it is off when plots are stacked)."""
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
        ``kind``).
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
