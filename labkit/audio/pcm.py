"""AMR / AMR-WB storage files to PCM, WAV export, and what each 20 ms frame contains.

Decoding uses PyAV's ``libopencore_amrnb`` / ``libopencore_amrwb`` decoders, chosen by
name: FFmpeg's native ``amrnb`` / ``amrwb`` decoders reject SID frames, so DTX pauses
would vanish and the audio would no longer keep real time. The OpenCORE decoders turn
SID and NO_DATA frames into comfort noise of full length (3GPP TS 26.092 / 26.192), so
the PCM has exactly 20 ms per storage frame: 160 samples at 8 kHz (AMR) or 320 at
16 kHz (AMR-WB).

:func:`classify_frames` labels each 20 ms frame "tone", "speech", "comfort noise" or
"digital silence" from the PCM (see :mod:`labkit.audio.tones` for the tone test) and, when
known, from the frame types of the storage file (SID / NO_DATA = comfort noise).
"""
from __future__ import annotations

import io
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.errors import DecodeError, LabkitWarning, ToolMissingError
from labkit.audio import tones
from labkit.audio.tones import classify_pcm_frames

__all__ = ["DecodedAudio", "decode_storage", "decode_amr", "decode_g711", "g711_from_rtp",
           "split_storage",
           "write_wav",
           "read_wav", "classify_frames", "FRAME_CLASSES"]

# Speech bits per frame type, RFC 4867 section 3.6 (-1: reserved). Same table as
# labkit.amr; repeated here so that decoding a file needs no RTP layer.
_NB_BITS = (95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0)
_WB_BITS = (132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0)
_MAGIC = {False: b"#!AMR\n", True: b"#!AMR-WB\n"}
_DECODER = {False: "libopencore_amrnb", True: "libopencore_amrwb"}

FRAME_CLASSES = ("tone", "speech", "comfort noise", "digital silence")


@dataclass(frozen=True)
class DecodedAudio:
    """PCM decoded from a storage file.

    Attributes
    ----------
    pcm : numpy.ndarray
        int16 mono samples, 20 ms per storage frame.
    rate : int
        8000 (AMR) or 16000 (AMR-WB) [Hz].
    ft : numpy.ndarray
        int8 frame type of every 20 ms frame (RFC 4867 section 4.3.2).
    wideband : bool
    """

    pcm: np.ndarray
    rate: int
    ft: np.ndarray
    wideband: bool

    @property
    def duration(self) -> float:
        """[s]"""
        return self.pcm.size / float(self.rate)


def _read_source(source) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "storage data"
    return Path(source).read_bytes(), str(source)


def split_storage(source) -> tuple[bool, list[bytes]]:
    """Cut a storage file (RFC 4867 section 5) into frames: header byte + frame bits.

    Parameters
    ----------
    source : bytes or path-like
        The storage file's bytes, or its path.

    Returns
    -------
    (wideband, frames)
        bool (``#!AMR-WB`` magic) and the list of frames, each its header octet
        ``0 FT(4) Q 00`` followed by ceil(bits / 8) octets of speech bits. A truncated
        last frame is dropped with a :class:`LabkitWarning`.

    Raises
    ------
    DecodeError
        No ``#!AMR`` / ``#!AMR-WB`` magic, or a reserved frame type (bit stream broken).

    References
    ----------
    RFC 4867 sections 5.1 (magic numbers) and 5.3 (speech frames); 3GPP TS 26.101 and
    TS 26.201 table 1a (speech bits per frame type).

    Examples
    --------
    Four NO_DATA frames (header 0x7C = "|", no speech bits):

    >>> split_storage(b"#!AMR\\n||||")
    (False, [b'|', b'|', b'|', b'|'])

    The encoder's reference file of a built AMR 12.2 call: 11 s = 550 frames, each a
    header 0x3C (FT 7, Q 1) and ceil(244 / 8) = 31 octets:

    >>> from labkit import data
    >>> wideband, frames = split_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> wideband, len(frames), len(frames[0]), hex(frames[0][0])
    (False, 550, 32, '0x3c')
    """
    data, where = _read_source(source)
    wideband = data.startswith(_MAGIC[True])
    if not wideband and not data.startswith(_MAGIC[False]):
        raise DecodeError("no #!AMR or #!AMR-WB magic: not an AMR storage file", where,
                          "pass a .amr/.awb/.3ga file written by labkit.amr or a phone")
    table, pos, frames = (_WB_BITS if wideband else _NB_BITS), len(_MAGIC[wideband]), []
    while pos < len(data):
        nbits = table[(data[pos] >> 3) & 0xF]
        if nbits < 0:
            raise DecodeError(f"reserved frame type {(data[pos] >> 3) & 0xF}",
                              f"{where}, offset {pos}", "the file is damaged or not AMR")
        end = pos + 1 + (nbits + 7) // 8
        if end > len(data):
            warnings.warn(f"{where}: last frame at offset {pos} is truncated; dropped",
                          LabkitWarning, stacklevel=2)
            break
        frames.append(data[pos:end])
        pos = end
    return wideband, frames


def _decoder(wideband: bool):
    import av
    name = _DECODER[wideband]
    try:
        return av.CodecContext.create(name, "r")
    except Exception as exc:  # PyAV built without OpenCORE
        raise ToolMissingError(f"PyAV has no {name} decoder ({exc})", None,
                               "install the PyAV wheel from PyPI (pip install av)") from exc


def decode_storage(source) -> DecodedAudio:
    """Decode an AMR / AMR-WB storage file (bytes or path) to int16 PCM.

    Every storage frame gives exactly 20 ms of audio: if the decoder returns nothing
    for a frame (it should not), 20 ms of zeros keep the timeline.

    Parameters
    ----------
    source : bytes or path-like
        An AMR (``#!AMR``) or AMR-WB (``#!AMR-WB``) storage file.

    Returns
    -------
    DecodedAudio
        pcm (int16), rate [Hz] (8000 or 16000), ft per 20 ms frame, wideband.

    Raises
    ------
    DecodeError
        Not a storage file (see :func:`split_storage`).
    ToolMissingError
        PyAV lacks the OpenCORE decoder.

    References
    ----------
    RFC 4867 section 5 (storage format); 3GPP TS 26.090 / TS 26.190 (AMR / AMR-WB
    speech codecs) and TS 26.092 / TS 26.192 (comfort noise for SID and NO_DATA
    frames), as implemented by OpenCORE AMR (``libopencore_amrnb``/``amrwb``).

    Examples
    --------
    550 frames of 20 ms at 8 kHz: 550 * 160 = 88000 samples, 11 s:

    >>> from labkit import data
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> audio.rate, audio.pcm.size, audio.duration, audio.ft[:3].tolist()
    (8000, 88000, 11.0, [7, 7, 7])
    """
    import av
    wideband, frames = split_storage(source)
    rate, n = (16000, 320) if wideband else (8000, 160)
    dec = _decoder(wideband)
    out = np.zeros(len(frames) * n, dtype=np.int16)
    for i, frame in enumerate(frames):
        try:
            chunk = np.concatenate([f.to_ndarray().reshape(-1) for f in dec.decode(av.Packet(frame))]
                                   or [np.zeros(0, np.int16)])
        except av.error.FFmpegError:
            chunk = np.zeros(0, np.int16)
        out[i * n: i * n + min(n, chunk.size)] = chunk[:n].astype(np.int16)
    ft = np.array([(f[0] >> 3) & 0xF for f in frames], dtype=np.int8)
    return DecodedAudio(out, rate, ft, wideband)


def decode_amr(source) -> np.ndarray:
    """int16 PCM of an AMR / AMR-WB storage file (8 or 16 kHz, see :func:`decode_storage`).

    Parameters
    ----------
    source : bytes or path-like
        An AMR or AMR-WB storage file.

    Returns
    -------
    numpy.ndarray
        int16 samples, 20 ms per storage frame (160 at 8 kHz, 320 at 16 kHz).

    References
    ----------
    RFC 4867 section 5; 3GPP TS 26.090 (AMR) and TS 26.190 (AMR-WB).

    Examples
    --------
    The AMR-WB reference file of 550 frames: 550 * 320 = 176000 samples at 16 kHz:

    >>> from labkit import data
    >>> pcm = decode_amr(data.path("synth_amrwb_be_ringback_ref"))
    >>> pcm.size, pcm.dtype
    (176000, dtype('int16'))
    """
    return decode_storage(source).pcm


def _alaw_table() -> np.ndarray:
    """ITU-T G.711 A-law expansion (section 2, Table 1a): 256 codes -> int16."""
    a = np.arange(256) ^ 0x55
    mant, seg = (a & 0x0F) << 4, (a & 0x70) >> 4
    mag = np.where(seg == 0, mant + 8, (mant + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, mag, -mag).astype(np.int16)


def _ulaw_table() -> np.ndarray:
    """ITU-T G.711 mu-law expansion (section 3, Table 2a): 256 codes -> int16."""
    u = ~np.arange(256) & 0xFF
    mag = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - mag, mag - 0x84).astype(np.int16)


_G711 = {"PCMA": _alaw_table(), "PCMU": _ulaw_table()}


def decode_g711(data: bytes, law: str) -> np.ndarray:
    """G.711 payload bytes to int16 PCM at 8 kHz (ITU-T G.711; `law` "PCMA" or "PCMU").

    Parameters
    ----------
    data : bytes
        G.711 codes, one per sample.
    law : str
        "PCMA" (A-law) or "PCMU" (mu-law), any case.

    Returns
    -------
    numpy.ndarray
        int16 samples (the 13/14-bit G.711 values scaled to 16 bits).

    References
    ----------
    ITU-T G.711 (11/1988) tables 1a, 1b (A-law) and 2a, 2b (mu-law); RFC 3551
    section 4.5.14 (PCMA, PCMU).

    Examples
    --------
    A-law 0xD5 is the smallest positive value (0xD5 ^ 0x55 = 0x80: sign +, segment 0,
    mantissa 0 -> 8); 0x2A / 0xAA are the extremes (segment 7, mantissa 15:
    (240 + 264) << 6 = 32256). mu-law 0xFF is 0 and 0x80 the largest,
    ((15 << 3) + 132) << 7 - 132 = 32124:

    >>> decode_g711(bytes([0xD5, 0x2A, 0xAA]), "PCMA").tolist()
    [8, -32256, 32256]
    >>> decode_g711(bytes([0xFF, 0x80, 0x00]), "pcmu").tolist()
    [0, 32124, -32124]
    """
    try:
        table = _G711[law.upper()]
    except KeyError:
        raise DecodeError(f"{law} is not G.711", None, "use PCMA or PCMU") from None
    return table[np.frombuffer(bytes(data), dtype=np.uint8)]


def _unwrap32(ts) -> np.ndarray:
    """RTP timestamps extended to int64 across the 2**32 wrap (steps taken modulo 2**32
    into the signed range, RFC 3550 appendix A.1)."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.size == 0:
        return ts
    steps = (np.diff(ts) + (1 << 31)) % (1 << 32) - (1 << 31)
    return ts[0] + np.concatenate(([0], np.cumsum(steps)))


def g711_from_rtp(timestamps, payloads, law: str) -> tuple[np.ndarray, np.ndarray]:
    """Real-time PCM of one G.711 RTP stream (RFC 3551 section 4.5.14, 8000 Hz clock).

    Each payload is placed at its RTP timestamp (wrap handled), so duplicates overlap
    and reordering is undone; missing time is left as zeros.

    Parameters
    ----------
    timestamps : array-like of int
        RTP timestamps [samples at 8000 Hz], one per packet.
    payloads : sequence of bytes
        G.711 payloads in the same order.
    law : str
        "PCMA" or "PCMU".

    Returns
    -------
    (pcm, kind)
        int16 samples (whole 20 ms frames) and per 20 ms frame "speech" (samples
        received) or "gap".

    References
    ----------
    RFC 3551 section 4.5.14 (PCMA/PCMU, 8000 Hz clock); RFC 3550 section 5.1 and
    appendix A.1 (timestamps, wrap); ITU-T G.711.

    Examples
    --------
    Two 20 ms packets at timestamps 0 and 320: the 160 samples between them stay
    zero; a timestamp wrap (2**32 - 160, then 0) is contiguous:

    >>> pcm, kind = g711_from_rtp([0, 320], [b"\\xd5" * 160] * 2, "PCMA")
    >>> pcm.size, kind.tolist()
    (480, ['speech', 'gap', 'speech'])
    >>> g711_from_rtp([2**32 - 160, 0], [b"\\xd5" * 160] * 2, "PCMA")[1].tolist()
    ['speech', 'speech']

    A's PCMA stream in the real rtpengine call, 550 packets without a gap:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp, stream_payloads
    >>> rtp = find_rtp(read_capture(data.path("relay_rtpengine")))
    >>> pcm, kind = g711_from_rtp(rtp.timestamp[rtp.stream == 0], stream_payloads(rtp, 0),
    ...                           "PCMA")
    >>> pcm.size, set(kind.tolist())                # 550 * 160 samples
    (88000, {'speech'})
    """
    payloads = list(payloads)
    if not payloads:
        return np.zeros(0, np.int16), np.zeros(0, dtype=str)
    ts = _unwrap32(timestamps)
    order = np.argsort(ts, kind="stable")
    base = int(ts[order[0]])
    n = int(ts[order[-1]] - base) + len(payloads[order[-1]])
    n += -n % 160
    pcm = np.zeros(n, np.int16)
    got = np.zeros(n, bool)
    for i in order.tolist():
        start = int(ts[i]) - base
        chunk = decode_g711(payloads[i], law)[: max(n - start, 0)]
        pcm[start:start + chunk.size] = chunk
        got[start:start + chunk.size] = True
    return pcm, np.where(got.reshape(-1, 160).any(axis=1), "speech", "gap")


def write_wav(path, pcm: np.ndarray, rate: int) -> Path:
    """Write mono 16-bit PCM WAV with the standard-library ``wave`` module.

    Parameters
    ----------
    path : str or Path or file-like
        Where to write (a file-like object such as ``io.BytesIO`` works too).
    pcm : numpy.ndarray
        int16 samples (floats are rounded and clipped).
    rate : int
        Sample rate [Hz].

    Returns
    -------
    pathlib.Path or file-like
        `path` (as a Path when a name was given).

    References
    ----------
    Microsoft/IBM "Multimedia Programming Interface and Data Specifications 1.0"
    (1991), RIFF WAVE format, PCM ``fmt`` chunk; Python's :mod:`wave` module.

    Examples
    --------
    A 44-octet header and 2 octets per sample; 0.4 -> 0, 1.6 -> 2, out-of-range values
    clipped to the int16 limits:

    >>> import io
    >>> buf = io.BytesIO()
    >>> _ = write_wav(buf, [0.4, 1.6, 40000.0, -40000.0], 8000)
    >>> len(buf.getvalue()), read_wav(buf.getvalue())[0].tolist()
    (52, [0, 2, 32767, -32768])
    """
    x = np.clip(np.round(np.asarray(pcm, dtype=np.float64)), -32768, 32767).astype("<i2")
    with wave.open(str(path) if isinstance(path, (str, Path)) else path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(x.tobytes())
    return Path(path) if isinstance(path, (str, Path)) else path


def read_wav(source) -> tuple[np.ndarray, int]:
    """Read a mono 16-bit WAV (path or bytes): (int16 samples, rate [Hz]).

    Parameters
    ----------
    source : path-like or bytes
        The WAV file or its bytes. Of a multi-channel file the first channel is read.

    Returns
    -------
    (numpy.ndarray, int)
        int16 samples and the sample rate [Hz].

    Raises
    ------
    DecodeError
        Samples not 16 bits wide.

    References
    ----------
    Microsoft/IBM "Multimedia Programming Interface and Data Specifications 1.0"
    (1991), RIFF WAVE format; Python's :mod:`wave` module.

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO()
    >>> _ = write_wav(buf, [1, -1, 300], 16000)
    >>> pcm, rate = read_wav(buf.getvalue())
    >>> pcm.tolist(), rate
    ([1, -1, 300], 16000)
    """
    fh = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else str(source)
    with wave.open(fh, "rb") as w:
        if w.getsampwidth() != 2:
            raise DecodeError(f"{w.getsampwidth() * 8}-bit WAV", str(source)[:60],
                              "convert to 16-bit PCM")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return x.reshape(-1, w.getnchannels())[:, 0].astype(np.int16), w.getframerate()


def classify_frames(pcm: np.ndarray, rate: int, ft: np.ndarray | None = None,
                    kind: np.ndarray | None = None) -> pd.DataFrame:
    """One row per 20 ms frame: frame, time [s], level [dBFS], ft, kind, class.

    `kind` is the RTP-layer frame kind from :class:`labkit.amr.AmrExtract` ("speech",
    "SID", "NO_DATA", "lost", "gap"); `class` is what the audio contains
    (:func:`classify_pcm_frames`).

    Parameters
    ----------
    pcm : numpy.ndarray
        int16 samples.
    rate : int
        Sample rate [Hz] (8000 or 16000).
    ft : numpy.ndarray, optional
        Frame type per 20 ms frame (SID / NO_DATA mark comfort noise); adds an ``ft``
        column (-1 past its end).
    kind : numpy.ndarray, optional
        RTP-layer kind per frame; adds a ``kind`` column ("" past its end).

    Returns
    -------
    pandas.DataFrame
        frame, time [s], level [dBFS, floor -120], class (one of
        :data:`FRAME_CLASSES`), and ft / kind when given.

    References
    ----------
    ITU-T E.180 (tone characteristics; see :mod:`labkit.audio.tones`); 3GPP TS 26.092
    and TS 26.192 (comfort noise); 3GPP TS 26.101 / 26.201 table 1a (frame types).

    Examples
    --------
    The builder wrote B's ringback as the European tone, 425 Hz at -12 dBFS, 1 s on
    and 4 s off, so the tone starts at 0, 5 and 10 s:

    >>> import numpy as np
    >>> from labkit import data
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> frames = classify_frames(audio.pcm, audio.rate, audio.ft)
    >>> len(frames), frames.columns.tolist()
    (550, ['frame', 'time', 'level', 'class', 'ft'])
    >>> tone = (frames["class"] == "tone").to_numpy()
    >>> frames.time[tone & ~np.r_[False, tone[:-1]]].tolist()
    [0.0, 5.0, 10.0]
    >>> round(float(frames.level[1]))                      # dBFS
    -12
    """
    cls = classify_pcm_frames(pcm, rate, ft)
    n = cls.size
    levels = tones.frame_levels(np.asarray(pcm).ravel(), rate)
    df = pd.DataFrame({
        "frame": np.arange(n, dtype=np.int64),
        "time": np.round(np.arange(n) * tones.FRAME_S, 3),
        "level": np.round(np.maximum(levels, -120.0), 1),
        "class": cls,
    })
    if ft is not None:
        df["ft"] = np.pad(np.asarray(ft, dtype=np.int16)[:n], (0, max(0, n - len(ft))),
                          constant_values=-1)
    if kind is not None:
        k = np.asarray(kind, dtype=object)[:n]
        df["kind"] = np.concatenate([k, np.full(n - k.size, "", dtype=object)]).astype(str)
    return df
