"""Real AMR encoders for test fixtures: storage files made from PCM the tests synthesize.

- AMR-NB: PyAV's ``libopencore_amrnb`` encoder (3GPP reference code via OpenCORE).
- AMR-WB: Debian ``libvo-amrwbenc0`` through ctypes (``E_IF_init``, ``E_IF_encode``,
  ``E_IF_exit``), which writes storage-format frames (header byte + bits).

Both return the complete storage file (magic included). Used by tests only.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np


def encode_nb(pcm: np.ndarray, *, bitrate: int = 12200, dtx: bool = False) -> bytes:
    """AMR storage file of 8 kHz int16 `pcm` (trailing partial frame zero padded)."""
    import av
    x = np.asarray(pcm, dtype=np.int16)
    x = np.pad(x, (0, -x.size % 160))
    enc = av.CodecContext.create("libopencore_amrnb", "w")
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = 8000, "mono", "s16", bitrate
    enc.options = {"dtx": "1" if dtx else "0"}
    enc.open()
    out = [b"#!AMR\n"]
    for i in range(0, x.size, 160):
        frame = av.AudioFrame.from_ndarray(x[None, i:i + 160], format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, i
        out += [bytes(p) for p in enc.encode(frame)]
    out += [bytes(p) for p in enc.encode(None)]
    return b"".join(out)


def _vo_lib():
    name = ctypes.util.find_library("vo-amrwbenc") or "libvo-amrwbenc.so.0"
    lib = ctypes.CDLL(name)
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_short),
                                ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
    lib.E_IF_encode.restype = ctypes.c_int
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    return lib


def encode_wb(pcm: np.ndarray, *, mode: int = 8, dtx: bool = False) -> bytes:
    """AMR-WB storage file of 16 kHz int16 `pcm`, mode 0..8 (6.60 .. 23.85 kbit/s)."""
    lib = _vo_lib()
    x = np.asarray(pcm, dtype=np.int16)
    x = np.ascontiguousarray(np.pad(x, (0, -x.size % 320)))
    state = lib.E_IF_init()
    buf = (ctypes.c_ubyte * 64)()
    out = [b"#!AMR-WB\n"]
    try:
        for i in range(0, x.size, 320):
            chunk = x[i:i + 320]
            n = lib.E_IF_encode(state, mode, chunk.ctypes.data_as(ctypes.POINTER(ctypes.c_short)),
                                buf, int(dtx))
            out.append(bytes(buf[:n]))
    finally:
        lib.E_IF_exit(state)
    return b"".join(out)
