"""AMR and AMR-WB storage files (RFC 4867 section 5, single channel).

``#!AMR\n`` or ``#!AMR-WB\n``, then per 20 ms frame one header byte ``0 FT(4) Q 0 0`` and
the frame bits padded to octets. ``.amr``, ``.awb`` and ``.3ga`` files use this format.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.errors import DecodeError
from labkit.amr.payload import AmrFrame, _check_frame, _table

__all__ = ["AmrStorage", "storage_magic", "write_amr_storage", "read_amr_storage"]

_MAGIC = {False: b"#!AMR\n", True: b"#!AMR-WB\n"}
_MC_MAGIC = (b"#!AMR_MC1.0\n", b"#!AMR-WB_MC1.0\n")


@dataclass(frozen=True)
class AmrStorage:
    """A parsed single-channel storage file (RFC 4867 section 5.1-5.3)."""

    wideband: bool
    frames: tuple[AmrFrame, ...]


def storage_magic(wideband: bool) -> bytes:
    """``#!AMR\\n`` or ``#!AMR-WB\\n`` (RFC 4867 section 5.1).

    Parameters
    ----------
    wideband : bool
        AMR-WB (True) or AMR (False).

    Returns
    -------
    bytes

    References
    ----------
    RFC 4867 section 5.1.

    Examples
    --------
    >>> storage_magic(True), storage_magic(False)
    (b'#!AMR-WB\\n', b'#!AMR\\n')
    """
    return _MAGIC[bool(wideband)]


def _storage_bytes(frames, wideband: bool) -> bytes:
    parts = [storage_magic(wideband)]
    for frame in frames:
        _check_frame(frame, wideband)
        parts.append(bytes([(frame.ft << 3) | (int(frame.q) << 2)]))
        parts.append(frame.bits)
    return b"".join(parts)


def write_amr_storage(frames, path=None, *, wideband: bool = False) -> bytes:
    """Write a single-channel AMR/AMR-WB storage file (RFC 4867 section 5.3).

    Each 20 ms frame is one header byte ``0 FT(4) Q 0 0`` then its bits padded to octets.

    Parameters
    ----------
    frames : sequence of AmrFrame
        One per 20 ms, NO_DATA frames included.
    path : str or Path, optional
        Where to write (``.amr``, ``.awb`` or ``.3ga``); None only returns the bytes.
    wideband : bool
        AMR-WB magic and frame sizes.

    Returns
    -------
    bytes
        The file content.

    References
    ----------
    RFC 4867 section 5.1 (header byte 0 FT Q 0 0 per frame, core bits padded to a byte).

    Examples
    --------
    >>> write_amr_storage([AmrFrame(15, True, b"")])      # NO_DATA header byte 0x7C = "|"
    b'#!AMR\\n|'
    """
    data = _storage_bytes(frames, wideband)
    if path is not None:
        Path(path).write_bytes(data)
    return data


def read_amr_storage(source) -> AmrStorage:
    """Parse a single-channel storage file (RFC 4867 section 5).

    Parameters
    ----------
    source : bytes or str or Path
        File content or path.

    Raises
    ------
    DecodeError
        Unknown magic, multi-channel file, reserved frame type, truncated last frame.

    Returns
    -------
    AmrStorage
        ``wideband`` and the frames in order.

    References
    ----------
    RFC 4867 section 5.1.

    Examples
    --------
    >>> read_amr_storage(b"#!AMR\\n|").frames[0].ft
    15
    """
    where = "storage data"
    if not isinstance(source, (bytes, bytearray, memoryview)):
        where, source = str(source), Path(source).read_bytes()
    data = bytes(source)
    if data.startswith(_MC_MAGIC):
        raise DecodeError("multi-channel AMR storage is not supported", where,
                          "extract one channel with another tool")
    wideband = data.startswith(_MAGIC[True])
    if not wideband and not data.startswith(_MAGIC[False]):
        raise DecodeError("no #!AMR or #!AMR-WB magic: not an AMR storage file", where)
    pos, frames, table = len(_MAGIC[wideband]), [], _table(wideband)
    while pos < len(data):
        header = data[pos]
        ft, nbits = (header >> 3) & 0xF, table[(header >> 3) & 0xF]
        if nbits < 0 or header & 0x83:
            raise DecodeError(f"bad frame header byte 0x{header:02x}", f"{where}, offset {pos}")
        size = (nbits + 7) // 8
        if pos + 1 + size > len(data):
            raise DecodeError("last frame is truncated", f"{where}, offset {pos}")
        frames.append(AmrFrame(ft, bool(header & 4), data[pos + 1:pos + 1 + size]))
        pos += 1 + size
    return AmrStorage(wideband, tuple(frames))
