"""Deterministic test signals (int16 PCM) that are not tones: speech-like, noise."""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def speech_like(rate: int, seconds: float, *, seed: int = 0, level: float = -20.0) -> np.ndarray:
    """A crude voiced-speech stand-in: glottal pulse train with a pitch gliding between
    100 and 220 Hz, shaped by three formant resonators that change every syllable
    (~4 per second), with syllable envelopes and short pauses. RMS of the voiced parts
    about `level` [dBFS]."""
    rng = np.random.default_rng(seed)
    n = int(round(rate * seconds))
    t = np.arange(n) / rate
    f0 = 160 + 60 * np.sin(2 * np.pi * 0.7 * t) + 20 * np.sin(2 * np.pi * 3.1 * t)
    phase = np.cumsum(f0 / rate)
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    syll = int(rate * 0.25)
    out = np.zeros(n)
    vowels = [(700, 1200, 2600), (300, 2300, 3000), (500, 900, 2400), (400, 2000, 2700)]
    for s in range(0, n, syll):
        seg = pulses[s:s + syll] + 0.05 * rng.standard_normal(min(syll, n - s))
        for f in vowels[rng.integers(len(vowels))]:
            if f >= rate / 2:
                continue
            r = np.exp(-np.pi * 120 / rate)
            seg = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / rate), r * r], seg)
        env = np.sin(np.pi * np.arange(seg.size) / syll) ** 2
        if rng.random() < 0.2:
            env[:] = 0.0  # a pause
        out[s:s + seg.size] = seg * env
    voiced = out[np.abs(out) > 0]
    rms = np.sqrt(np.mean(voiced ** 2)) if voiced.size else 1.0
    out *= 32768 * 10 ** (level / 20) / np.sqrt(2) / rms
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def white_noise(rate: int, seconds: float, *, level: float = -50.0, seed: int = 1) -> np.ndarray:
    """Gaussian white noise of RMS `level` [dBFS, full-scale sine = 0 dB]."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(round(rate * seconds))) * 32768 * 10 ** (level / 20) / np.sqrt(2)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
