"""Real AMR / AMR-WB encoders for the synthetic fixtures, and their source audio.

- AMR-NB: PyAV's ``libopencore_amrnb`` encoder (FFmpeg option ``dtx`` gives SID and
  NO_DATA frames; ``bit_rate`` picks the mode). Each packet it returns is one
  storage-format frame (header byte + bits, RFC 4867 section 5.3).
- AMR-WB: Debian ``libvo-amrwbenc0`` through ctypes (``E_IF_init``, ``E_IF_encode(state,
  mode, int16[320], out, dtx)``, ``E_IF_exit``), which also writes storage-format frames.

The encoder output, with the ``#!AMR`` / ``#!AMR-WB`` magic, is the reference storage
file: what a perfect depacketizer must rebuild from the RTP capture.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

NB_RATE, WB_RATE = 8000, 16000
NB_BITRATES = (4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200)


def ringback(seconds: float, rate: int, *, freq: float = 425.0, on: float = 1.0,
             off: float = 4.0, dbfs: float = -12.0) -> np.ndarray:
    """Europe ringback (ITU-T E.180 supplement: 425 Hz, 1 s on, 4 s off) as int16 PCM."""
    t = np.arange(int(seconds * rate)) / rate
    amp = 32767 * 10 ** (dbfs / 20)
    gate = (t % (on + off)) < on
    return np.round(amp * np.sin(2 * np.pi * freq * t) * gate).astype(np.int16)


def noise(seconds: float, rate: int, *, dbfs: float = -50.0, seed: int = 1) -> np.ndarray:
    """Low-level white noise (seeded), int16 PCM: the silent direction of a call."""
    rng = np.random.default_rng(seed)
    amp = 32767 * 10 ** (dbfs / 20)
    return np.round(rng.normal(0, amp, int(seconds * rate))).clip(-32768, 32767).astype(np.int16)


def encode_amrnb(pcm: np.ndarray, modes, *, dtx: bool = False) -> list[bytes]:
    """Encode 8 kHz PCM to AMR-NB storage frames with PyAV's libopencore_amrnb.

    `modes` is one mode (0..7) or one per 20 ms frame; a mode change reopens the
    encoder at the new bit rate, which is how FFmpeg's wrapper switches modes.
    """
    import av

    nframes = len(pcm) // 160
    modes = [modes] * nframes if np.isscalar(modes) else list(modes)
    out, start = [], 0
    while start < nframes:
        end = start
        while end < nframes and modes[end] == modes[start]:
            end += 1
        out.extend(_encode_nb_run(av, pcm[start * 160:end * 160], modes[start], dtx))
        start = end
    return out


def _encode_nb_run(av, pcm, mode, dtx) -> list[bytes]:
    ctx = av.codec.CodecContext.create("libopencore_amrnb", "w")
    ctx.sample_rate, ctx.layout, ctx.format = NB_RATE, "mono", "s16"
    ctx.bit_rate = NB_BITRATES[mode]
    ctx.options = {"dtx": "1" if dtx else "0"}
    ctx.open()
    out = []
    for i in range(len(pcm) // 160):
        frame = av.AudioFrame.from_ndarray(pcm[None, i * 160:(i + 1) * 160], format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = NB_RATE, i * 160
        out.extend(bytes(p) for p in ctx.encode(frame))
    out.extend(bytes(p) for p in ctx.encode(None))
    return out[:len(pcm) // 160]


def _vo_amrwbenc():
    lib = ctypes.CDLL(ctypes.util.find_library("vo-amrwbenc") or "libvo-amrwbenc.so.0")
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_short),
                                ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
    lib.E_IF_encode.restype = ctypes.c_int
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    return lib


def encode_amrwb(pcm: np.ndarray, modes, *, dtx: bool = False) -> list[bytes]:
    """Encode 16 kHz PCM to AMR-WB storage frames with libvo-amrwbenc (mode per frame)."""
    lib = _vo_amrwbenc()
    nframes = len(pcm) // 320
    modes = [modes] * nframes if np.isscalar(modes) else list(modes)
    state, out, buf = lib.E_IF_init(), [], (ctypes.c_ubyte * 64)()
    try:
        for i in range(nframes):
            chunk = np.ascontiguousarray(pcm[i * 320:(i + 1) * 320], dtype=np.int16)
            n = lib.E_IF_encode(state, int(modes[i]),
                                chunk.ctypes.data_as(ctypes.POINTER(ctypes.c_short)), buf,
                                int(dtx))
            out.append(bytes(buf[:n]))
    finally:
        lib.E_IF_exit(state)
    return out
