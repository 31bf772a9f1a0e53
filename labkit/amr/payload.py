"""RFC 4867 RTP payloads of AMR and AMR-WB: depacketizer and packetizer.

Bandwidth-efficient (section 4.3) and octet-aligned (section 4.4) payloads with any number
of frames, the CMR, the ToC F/FT/Q bits, SID, NO_DATA and (AMR-WB) speech-lost frames.
"""
from __future__ import annotations

from dataclasses import dataclass

from labkit.errors import ConfigError, DecodeError, LabkitError

__all__ = ["NB_FRAME_BITS", "WB_FRAME_BITS", "NB_MODES_KBPS", "WB_MODES_KBPS", "NO_DATA",
           "SAMPLES_PER_FRAME", "AmrFrame", "AmrPacket", "frame_bits", "frame_kind",
           "depacketize_amr", "packetize_amr", "parse_amr_fmtp", "toc_table"]

# Speech bits per frame type (RFC 4867 section 3.6 / 3GPP TS 26.101 Table 1a,
# TS 26.201 Table 1a). -1 marks types a receiver must discard (RFC 4867 section 4.3.2:
# "FT value in the range 9-14 for AMR or 10-13 for AMR-WB, the whole packet SHOULD be
# discarded"). NB FT 8 and WB FT 9 are SID; WB FT 14 is speech lost; FT 15 is NO_DATA.
NB_FRAME_BITS = (95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0)
WB_FRAME_BITS = (132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0)
NB_MODES_KBPS = (4.75, 5.15, 5.90, 6.70, 7.40, 7.95, 10.2, 12.2)
WB_MODES_KBPS = (6.60, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85)
NO_DATA = 15
SAMPLES_PER_FRAME = {False: 160, True: 320}    # 20 ms at 8000 / 16000 Hz RTP clock

# frame kinds for timelines (the AUDIO plots colour these)
SPEECH, SID, NO_DATA_SENT, GAP, SPEECH_LOST = "speech", "SID", "NO_DATA", "gap", "lost"


@dataclass(frozen=True)
class AmrFrame:
    """One AMR frame: frame type, quality bit and its bits, left-aligned, zero padded.

    Attributes
    ----------
    ft : int
        Frame type (RFC 4867 section 4.3.2): speech mode, SID, speech lost or NO_DATA.
    q : bool
        Frame quality indicator (False = damaged frame).
    bits : bytes
        The frame's class-ordered speech bits padded with zero bits to whole octets,
        exactly as they follow the header byte in a storage file (section 5.3).
    """

    ft: int
    q: bool
    bits: bytes


@dataclass(frozen=True)
class AmrPacket:
    """A depacketized RTP payload: codec mode request and frames in time order."""

    cmr: int
    frames: tuple[AmrFrame, ...]


def _table(wideband: bool) -> tuple[int, ...]:
    return WB_FRAME_BITS if wideband else NB_FRAME_BITS


def frame_bits(ft: int, wideband: bool) -> int:
    """Number of speech bits of frame type `ft` (RFC 4867 section 3.6), -1 if reserved.

    Parameters
    ----------
    ft : int
        Frame type (FT field of the ToC, 0..15).
    wideband : bool
        AMR-WB (True) or AMR (False).

    Returns
    -------
    int
        Bits [bit] of the frame's core data.

    References
    ----------
    RFC 4867 section 3.6 (frame types); 3GPP TS 26.101 table 1a (AMR), TS 26.201 table 1a
    (AMR-WB).

    Examples
    --------
    >>> frame_bits(7, False), frame_bits(8, False), frame_bits(8, True), frame_bits(15, True)
    (244, 39, 477, 0)
    """
    return _table(wideband)[ft] if 0 <= ft <= 15 else -1


def frame_kind(ft: int, q: bool, wideband: bool) -> str:
    """"speech", "SID", "NO_DATA" or "lost" for a frame type (RFC 4867 section 4.3.2).

    Parameters
    ----------
    ft : int
        Frame type.
    q : bool
        Frame quality indicator.
    wideband : bool
        AMR-WB (True) or AMR (False).

    Returns
    -------
    str

    References
    ----------
    RFC 4867 section 4.3.2.

    Examples
    --------
    >>> frame_kind(7, True, False), frame_kind(8, True, False), frame_kind(15, True, True)
    ('speech', 'SID', 'NO_DATA')
    """
    sid = 9 if wideband else 8
    if ft == NO_DATA:
        return NO_DATA_SENT
    if ft == 14 and wideband or not q:
        return SPEECH_LOST
    return SID if ft == sid else SPEECH


def _reserved(ft: int, wideband: bool, where: str) -> DecodeError:
    name = "AMR-WB" if wideband else "AMR"
    return DecodeError(f"not {name}: ToC frame type {ft} is reserved (RFC 4867 4.3.2)", where,
                       "choose another stream, or check the codec and octet-align setting")


def _depacketize_be(payload: bytes, wideband: bool, where: str) -> AmrPacket:
    table, total = _table(wideband), len(payload) * 8
    value = int.from_bytes(payload, "big")
    if total < 10:
        raise DecodeError(f"payload of {len(payload)} bytes is too short for AMR", where)
    cmr = value >> (total - 4)
    pos, toc = 4, []
    while True:
        if pos + 6 > total:
            raise DecodeError("ToC runs past the end of the payload (F bit never 0)", where,
                              "the stream is not bandwidth-efficient AMR")
        entry = (value >> (total - pos - 6)) & 0x3F
        pos += 6
        toc.append(((entry >> 1) & 0xF, bool(entry & 1)))
        if not entry & 0x20:
            break
    frames = []
    for ft, q in toc:
        nbits = table[ft]
        if nbits < 0:
            raise _reserved(ft, wideband, where)
        if pos + nbits > total:
            raise DecodeError(f"payload has {total - pos} bits left for a {nbits}-bit frame "
                              f"(FT {ft})", where, "the payload is truncated or not this codec")
        bits = (value >> (total - pos - nbits)) & ((1 << nbits) - 1)
        pos += nbits
        frames.append(AmrFrame(ft, q, (bits << (-nbits % 8)).to_bytes((nbits + 7) // 8, "big")))
    if total - pos >= 8:
        raise DecodeError(f"{(total - pos) // 8} byte(s) left after the last frame", where,
                          "the stream is octet-aligned or not AMR")
    return AmrPacket(cmr, tuple(frames))


def _depacketize_oa(payload: bytes, wideband: bool, where: str) -> AmrPacket:
    table, n = _table(wideband), len(payload)
    if n < 2:
        raise DecodeError(f"payload of {n} bytes is too short for octet-aligned AMR", where)
    pos, toc = 1, []
    while True:
        if pos >= n:
            raise DecodeError("ToC runs past the end of the payload (F bit never 0)", where,
                              "the stream is not octet-aligned AMR")
        entry = payload[pos]
        pos += 1
        toc.append(((entry >> 3) & 0xF, bool(entry & 4)))
        if not entry & 0x80:
            break
    frames = []
    for ft, q in toc:
        nbits = table[ft]
        if nbits < 0:
            raise _reserved(ft, wideband, where)
        size = (nbits + 7) // 8
        if pos + size > n:
            raise DecodeError(f"payload has {n - pos} bytes left for a {size}-byte frame "
                              f"(FT {ft})", where, "the payload is truncated or not this codec")
        frames.append(AmrFrame(ft, q, payload[pos:pos + size]))
        pos += size
    if pos != n:
        raise DecodeError(f"{n - pos} byte(s) left after the last frame", where,
                          "the stream is bandwidth-efficient or not AMR")
    return AmrPacket(payload[0] >> 4, tuple(frames))


def depacketize_amr(payload: bytes, *, wideband: bool = False, octet_aligned: bool = False,
                    where: str = "payload") -> AmrPacket:
    """Split one RTP payload into its CMR and frames (RFC 4867 sections 4.3 and 4.4).

    Parameters
    ----------
    payload : bytes
        RTP payload (after header, CSRCs, extension; padding removed).
    wideband : bool
        AMR-WB (True) or AMR (False) frame sizes.
    octet_aligned : bool
        Octet-aligned mode (SDP fmtp ``octet-align=1``) or bandwidth-efficient.
    where : str
        Location for error messages ("call.pcap, frame 812").

    Returns
    -------
    AmrPacket
        CMR and the frames in time order; NO_DATA entries are kept (0 bits).

    Raises
    ------
    DecodeError
        Reserved frame type, ToC or frames running past the payload, or bytes left over:
        the payload is not this AMR variant (never returns a shifted bit stream).

    References
    ----------
    RFC 4867 sections 4.3 (bandwidth-efficient) and 4.4 (octet-aligned).

    Examples
    --------
    >>> depacketize_amr(bytes.fromhex("f07c"), octet_aligned=True).frames[0].ft   # CMR 15, NO_DATA
    15
    """
    payload = bytes(payload)
    if octet_aligned:
        return _depacketize_oa(payload, wideband, where)
    return _depacketize_be(payload, wideband, where)


def _check_frame(frame: AmrFrame, wideband: bool) -> int:
    nbits = frame_bits(frame.ft, wideband)
    if nbits < 0:
        raise LabkitError(f"frame type {frame.ft} is reserved", "packetize_amr",
                          "use speech modes, SID, speech lost (WB) or NO_DATA")
    if len(frame.bits) != (nbits + 7) // 8:
        raise LabkitError(f"FT {frame.ft} needs {(nbits + 7) // 8} bytes, got {len(frame.bits)}",
                          "packetize_amr", "pass the frame bits as in a storage file")
    return nbits


def packetize_amr(frames, *, wideband: bool = False, octet_aligned: bool = False,
                  cmr: int = 15) -> bytes:
    """Build one RTP payload from frames (RFC 4867 sections 4.3 and 4.4).

    Parameters
    ----------
    frames : sequence of AmrFrame
        Consecutive 20 ms frames, first frame at the packet's RTP timestamp.
    wideband, octet_aligned : bool
        Codec and payload format, as for :func:`depacketize_amr`.
    cmr : int
        Codec mode request, 15 = no request.

    Returns
    -------
    bytes
        The payload; bandwidth-efficient padding and octet-aligned reserved bits are 0.

    References
    ----------
    RFC 4867 sections 4.3 and 4.4.

    Examples
    --------
    >>> # Bandwidth-efficient NO_DATA: CMR 1111, F 0, FT 1111, Q 1, padded: 1111 0111 11|00 0000
    >>> packetize_amr([AmrFrame(15, True, b"")]).hex()
    'f7c0'
    """
    frames = list(frames)
    if not frames:
        raise LabkitError("no frames to packetize", "packetize_amr", "pass at least one frame")
    sizes = [_check_frame(f, wideband) for f in frames]
    last = len(frames) - 1
    tocs = [((i < last) << 5) | (f.ft << 1) | int(f.q) for i, f in enumerate(frames)]
    if octet_aligned:
        return bytes([(cmr & 0xF) << 4] + [t << 2 for t in tocs]) + b"".join(f.bits for f in frames)
    value, nbits = cmr & 0xF, 4
    for toc in tocs:
        value, nbits = (value << 6) | toc, nbits + 6
    for frame, size in zip(frames, sizes):
        bits = int.from_bytes(frame.bits, "big") >> (-size % 8)
        value, nbits = (value << size) | bits, nbits + size
    pad = -nbits % 8
    return (value << pad).to_bytes((nbits + pad) // 8, "big")


def parse_amr_fmtp(fmtp: str | None) -> dict:
    """Read the AMR fmtp parameters that change the payload layout (RFC 4867 section 8.1).

    Returns
    -------
    dict
        ``octet_aligned`` (bool), ``mode_set`` (list of int or None).

    Raises
    ------
    ConfigError
        For ``crc=1``, ``robust-sorting=1``, ``interleaving`` or ``channels`` > 1, which
        this module does not depacketize.

    Parameters
    ----------
    fmtp : str or None
        The value of an ``a=fmtp`` line for the AMR payload type (None: no fmtp).

    References
    ----------
    RFC 4867 section 8.1 (octet-align absent = bandwidth-efficient).

    Examples
    --------
    >>> parse_amr_fmtp("octet-align=1; mode-set=0,2,4,7")
    {'octet_aligned': True, 'mode_set': [0, 2, 4, 7]}
    >>> parse_amr_fmtp(None)
    {'octet_aligned': False, 'mode_set': None}
    """
    params = {}
    for item in (fmtp or "").split(";"):
        key, _, value = item.strip().partition("=")
        params[key.strip().split(" ")[-1].lower()] = value.strip()
    out = {"octet_aligned": params.get("octet-align") == "1", "mode_set": None}
    modes = params.get("mode-set")
    if modes:
        out["mode_set"] = [int(m) for m in modes.split(",") if m.strip().isdigit()]
    for key in ("crc", "robust-sorting"):
        if params.get(key) == "1":
            raise ConfigError(f"AMR fmtp {key}=1 is not supported", f"fmtp '{fmtp}'",
                              "only plain bandwidth-efficient and octet-aligned payloads")
    if "interleaving" in params:
        raise ConfigError("AMR interleaving is not supported", f"fmtp '{fmtp}'")
    return out


def toc_table(payloads, *, wideband: bool = False, octet_aligned: bool = False):
    """One row per frame of every payload: the fields tshark's AMR dissector shows.

    Returns
    -------
    pandas.DataFrame
        Columns packet (index into `payloads`), cmr, frame (index in the packet), f, ft,
        q, nbytes; a damaged payload gives one row with ft = -1 and the error.

    Parameters
    ----------
    payloads : sequence of bytes
        RTP payloads of one stream.
    wideband, octet_aligned : bool
        Codec and payload format.

    References
    ----------
    RFC 4867 section 4.3.2 (ToC); Wireshark 4.0 epan/dissectors/packet-amr.c (fields
    amr.toc.f, amr.nb.toc.ft / amr.wb.toc.ft, amr.toc.q).

    Examples
    --------
    >>> toc_table([bytes.fromhex("f07c")], octet_aligned=True)[["cmr", "f", "ft", "q"]].values.tolist()
    [[15, False, 15, True]]
    """
    import pandas as pd

    rows = []
    for i, payload in enumerate(payloads):
        try:
            packet = depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned)
        except DecodeError as exc:
            rows.append((i, -1, 0, False, -1, False, 0, str(exc)))
            continue
        last = len(packet.frames) - 1
        for j, fr in enumerate(packet.frames):
            rows.append((i, packet.cmr, j, j < last, fr.ft, fr.q, len(fr.bits), ""))
    return pd.DataFrame(rows, columns=["packet", "cmr", "frame", "f", "ft", "q", "nbytes",
                                       "error"])
