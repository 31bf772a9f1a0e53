"""Deterministic source audio for the lab calls (mono S16LE WAV files).

- :func:`ringback_tone`: the Europe ringback tone (ETSI ES 201 970 / ITU-T E.180
  supplement 2: 425 Hz, 1 s on, 4 s off), peak amplitude 10**(-10/20) of full scale,
  i.e. -10 dBFS with the full-scale sine as 0 dB reference (AES17), 5 ms raised-cosine
  edges so the gating does not click.
- :func:`speech`: a sentence spoken by espeak-ng, resampled and padded with silence.
- :func:`silence`: digital silence.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

TONE_HZ = 425.0              # [Hz] ITU-T E.180 Suppl. 2, most European networks
TONE_ON_S, TONE_OFF_S = 1.0, 4.0   # [s] cadence
TONE_DBFS = -10.0            # [dBFS] peak re full-scale sine
SPEECH_TEXT = "This is the calling party speaking. One, two, three, four, five."


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> Path:
    """Write mono int16 `pcm` [samples] at `rate` [Hz] as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return path


def ringback_tone(rate: int, seconds: float) -> np.ndarray:
    """425 Hz 1 s on / 4 s off ringback at -10 dBFS, starting with a burst [int16]."""
    t = np.arange(int(round(rate * seconds))) / rate
    period = TONE_ON_S + TONE_OFF_S
    phase_in_cycle = np.mod(t, period)
    gate = (phase_in_cycle < TONE_ON_S).astype(float)
    ramp = 0.005  # [s] raised-cosine edge
    rise = np.clip(phase_in_cycle / ramp, 0, 1)
    fall = np.clip((TONE_ON_S - phase_in_cycle) / ramp, 0, 1)
    env = gate * 0.5 * (1 - np.cos(np.pi * np.minimum(rise, fall)))
    amp = 32767 * 10 ** (TONE_DBFS / 20)
    return np.round(amp * env * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)


def silence(rate: int, seconds: float) -> np.ndarray:
    """Digital silence [int16]."""
    return np.zeros(int(round(rate * seconds)), dtype=np.int16)


def speech(rate: int, seconds: float, text: str = SPEECH_TEXT) -> np.ndarray:
    """`text` spoken by espeak-ng (voice en, 150 wpm), peak -6 dBFS, padded to `seconds`.

    Raises RuntimeError when espeak-ng is missing (tools/setup.sh installs it).
    """
    exe = shutil.which("espeak-ng")
    if not exe:
        raise RuntimeError("espeak-ng not installed: run tools/setup.sh (as root) or apt-get install espeak-ng")
    wav = subprocess.run([exe, "-v", "en", "-s", "150", "--stdout", text],
                         check=True, capture_output=True, timeout=60).stdout
    with wave.open(io.BytesIO(wav)) as w:
        src_rate = w.getframerate()
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    ratio = Fraction(rate, src_rate)
    pcm = resample_poly(raw, ratio.numerator, ratio.denominator)
    pcm *= 32767 * 10 ** (-6 / 20) / max(np.max(np.abs(pcm)), 1.0)
    out = silence(rate, seconds).astype(float)
    start = int(0.3 * rate)  # [samples] a short pause before speaking
    n = min(len(pcm), len(out) - start)
    out[start:start + n] = pcm[:n]
    return np.round(out).astype(np.int16)
