"""Real AMR encoders for test fixtures: storage files made from PCM the tests synthesize.

Thin wrappers over the project's encoder bindings in tools/synth/amr_codec.py
(AMR-NB: PyAV's ``libopencore_amrnb``; AMR-WB: Debian ``libvo-amrwbenc0`` through
ctypes), returning a complete storage file (RFC 4867 section 5, magic included).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.synth import amr_codec  # noqa: E402

_NB_MODE = {rate: mode for mode, rate in enumerate(amr_codec.NB_BITRATES)}


def encode_nb(pcm: np.ndarray, *, bitrate: int = 12200, dtx: bool = False) -> bytes:
    """AMR storage file of 8 kHz int16 `pcm` (trailing partial frame zero padded)."""
    x = np.asarray(pcm, dtype=np.int16)
    x = np.pad(x, (0, -x.size % 160))
    return b"#!AMR\n" + b"".join(amr_codec.encode_amrnb(x, _NB_MODE[bitrate], dtx=dtx))


def encode_wb(pcm: np.ndarray, *, mode: int = 8, dtx: bool = False) -> bytes:
    """AMR-WB storage file of 16 kHz int16 `pcm`, mode 0..8 (6.60 .. 23.85 kbit/s)."""
    x = np.asarray(pcm, dtype=np.int16)
    x = np.pad(x, (0, -x.size % 320))
    return b"#!AMR-WB\n" + b"".join(amr_codec.encode_amrwb(x, mode, dtx=dtx))
