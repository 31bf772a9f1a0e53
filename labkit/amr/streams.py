"""AMR streams of a capture: codec from SDP or payload structure, storage extraction.

Which RTP stream carries AMR or AMR-WB, in which payload format, and the real-time
storage file of one of them. The codec comes from the SDP m= line announcing the
stream's address and port (``a=rtpmap``, ``a=fmtp`` octet-align, RFC 4867 section 8.1
and RFC 4566 section 6), else from the payload structure
(:func:`labkit.amr.codec.identify_codec`); the file is RFC 4867 section 5.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labkit.errors import DecodeError, LabkitError, LabkitWarning
from labkit.amr.codec import codec_name, identify_codec
from labkit.amr.realtime import AmrExtract, CapturePayloads, amr_storage_from_rtp

__all__ = ["amr_streams", "extract_stream", "read_sdp", "sdp_codec", "sip_candidates"]


_STREAM_COLUMNS = ["stream", "src", "sport", "dst", "dport", "ssrc", "pt", "packets", "codec",
                   "octet_aligned", "source", "fmtp"]


@dataclass(frozen=True)
class AmrStreamRow:
    """One row of :func:`amr_streams` (the same fields as its columns, in order)."""

    stream: int
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int
    pt: int
    packets: int
    codec: str
    octet_aligned: bool
    source: str
    fmtp: str | None


def sdp_codec(sdp, key, pt: int) -> tuple[str, str | None] | None:
    """(a=rtpmap name, a=fmtp) of `pt` in the SDP m= line announcing a stream's end.

    The one rule by which amr and audio read a stream's codec from signalling: the m= line
    whose connection address and port are the stream's destination (the receiver's offer
    or answer) is looked at first, then its source; among several, the latest wins.

    Parameters
    ----------
    sdp : pandas.DataFrame or list of dict or None
        :func:`labkit.sip.sdp_media` (or :func:`read_sdp`) of the capture, or its rows
        as dicts; None or empty: no SDP.
    key : object
        The stream's ends as attributes ``src``, ``sport``, ``dst``, ``dport``
        (e.g. a :class:`labkit.audio.ringback.StreamPackets`).
    pt : int
        The stream's RTP payload type.

    Returns
    -------
    tuple (str, str or None) or None
        The rtpmap encoding name of `pt` and its fmtp value (None without one); None
        when no m= line announces the stream's ends with `pt`.

    References
    ----------
    RFC 4566 sections 5.7 (c=), 5.14 (m=) and 6 (a=rtpmap, a=fmtp); RFC 3264 section 5
    (the offerer's m= line says where it wants to receive); RFC 4867 section 8.1.

    Examples
    --------
    B's AMR-WB stream of the real baresip call (10.0.0.2:10024 -> 10.0.0.1:10010); the
    INVITE's SDP announces A's port 10010 with ``a=rtpmap:96 AMR-WB/16000`` and
    ``a=fmtp:96 octet-align=1`` (tshark shows the same lines):

    >>> from types import SimpleNamespace
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> sdp = read_sdp(read_capture(data.path("ringback_amrwb")))
    >>> b = SimpleNamespace(src="10.0.0.2", sport=10024, dst="10.0.0.1", dport=10010)
    >>> sdp_codec(sdp, b, 96)
    ('AMR-WB', 'octet-align=1')
    >>> sdp_codec(sdp, b, 8) is None
    True
    """
    if sdp is None or len(sdp) == 0:
        return None
    for addr, port in ((key.dst, key.dport), (key.src, key.sport)):
        for codecs, fmtp in _m_lines(sdp, addr, port):           # the latest offer/answer
            codecs = codecs if isinstance(codecs, dict) else {}
            if pt in codecs:
                return str(codecs[pt][0]), fmtp.get(pt) if isinstance(fmtp, dict) else None
    return None


def _m_lines(sdp, addr, port) -> list[tuple]:
    """(codecs, fmtp) of the m= lines announcing `addr`/`port`, latest first."""
    if hasattr(sdp, "columns"):
        rows = sdp[(sdp["address"] == addr) & (sdp["port"] == port)]
        return [(r.codecs, r.fmtp) for r in rows.iloc[::-1].itertuples(index=False)]
    return [(r.get("codecs"), r.get("fmtp")) for r in reversed(sdp)
            if r.get("address") == addr and r.get("port") == port]


@dataclass(frozen=True)
class _Key:
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int


def _stream_keys(rtp) -> list[_Key]:
    """rtp.keys (row = stream id) without building a DataFrame."""
    k = rtp.key_arrays
    return [_Key(str(k["src"][s]), int(k["sport"][s]), str(k["dst"][s]), int(k["dport"][s]),
                 int(k["ssrc"][s])) for s in range(rtp.n_streams)]


def _first_rows(rtp, stream: int, n: int) -> np.ndarray:
    return np.flatnonzero(np.asarray(rtp.stream) == stream)[:n]


def _payloads_at(rtp, idx) -> list[bytes]:
    source = CapturePayloads(rtp, idx)
    return [source[i] for i in range(len(source))]


def _classify_stream(rtp, s, key, sdp, sample) -> tuple[str, bool, str, str | None]:
    idx = _first_rows(rtp, s, 1)
    pt = int(rtp.pt[idx[0]])
    found = sdp_codec(sdp, key, pt)
    if found is not None:
        return identify_codec(pt, (), (), sdp=found)
    rows = _first_rows(rtp, s, sample)
    return identify_codec(pt, _payloads_at(rtp, rows), np.asarray(rtp.timestamp)[rows])


def amr_streams(rtp, *, sdp=None, sample: int = 400):
    """Every RTP stream with its codec from SDP, else from the payload structure.

    Parameters
    ----------
    rtp : labkit.rtp.RtpPackets
        From :func:`labkit.rtp.find_rtp`.
    sdp : pandas.DataFrame, optional
        :func:`labkit.sip.sdp_media` of the capture (read when omitted). The m= line
        whose address/port is the stream's destination (else source) gives the
        ``a=rtpmap`` name and ``a=fmtp`` octet-align (RFC 4867 section 8.1).
    sample : int
        Payloads per stream given to :func:`detect_amr_format` when there is no SDP.

    Returns
    -------
    pandas.DataFrame
        stream, src, sport, dst, dport, ssrc, pt, packets, codec ("AMR", "AMR-WB",
        "EVS", another rtpmap name, "PT n" or "unknown"), octet_aligned, source
        ("SDP", "heuristic (confidence)", "static PT"), fmtp.

    References
    ----------
    RFC 4867 sections 4.1 (payload formats) and 8.1 (octet-align); RFC 4566 section 6
    (``a=rtpmap``, ``a=fmtp``); RFC 3551 section 6 (static payload types).

    Examples
    --------
    The real AMR-WB call announces PT 96 as AMR-WB/16000 with octet-align=1:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> rtp = find_rtp(read_capture(data.path("ringback_amrwb")))
    >>> amr_streams(rtp)[["stream", "src", "dst", "packets", "codec", "octet_aligned",
    ...                   "source"]]
       stream       src       dst  packets   codec  octet_aligned source
    0       0  10.0.0.2  10.0.0.1      551  AMR-WB           True    SDP
    1       1  10.0.0.1  10.0.0.2      551  AMR-WB           True    SDP

    Without signalling the payload structure decides (the builder wrote AMR 10.2
    octet-aligned):

    >>> rtp = find_rtp(read_capture(data.path("synth_amrnb_oa_nosdp")))
    >>> amr_streams(rtp)[["stream", "codec", "octet_aligned", "source"]]
       stream codec  octet_aligned            source
    0       0   AMR           True  heuristic (1.00)
    1       1   AMR           True  heuristic (1.00)
    """
    import pandas as pd

    if sdp is None:
        sdp = read_sdp(rtp.packets)
    rows = [tuple(getattr(r, c) for c in _STREAM_COLUMNS)
            for r in _amr_stream_rows(rtp, sdp=sdp, sample=sample)]
    return pd.DataFrame(rows, columns=_STREAM_COLUMNS)


def _amr_stream_rows(rtp, *, sdp=None, sample: int = 400) -> list[AmrStreamRow]:
    """The rows of :func:`amr_streams` as dataclasses, without pandas.

    `sdp` as for :func:`amr_streams` or a list of :func:`labkit.sip.sdp_media` rows as
    dicts; when None it is read as dicts (the command line starts faster without pandas).
    """
    if sdp is None:
        sdp = _read_sdp_rows(rtp.packets)
    counts = np.bincount(np.asarray(rtp.stream), minlength=rtp.n_streams)
    rows = []
    for s, key in enumerate(_stream_keys(rtp)):
        if counts[s] == 0:
            continue
        codec, oa, source, fmtp = _classify_stream(rtp, s, key, sdp, sample)
        pt = int(rtp.pt[_first_rows(rtp, s, 1)[0]])
        rows.append(AmrStreamRow(s, key.src, key.sport, key.dst, key.dport, key.ssrc, pt,
                                 int(counts[s]), codec, oa, source, fmtp))
    return rows


def sip_candidates(packets):
    """Rows that can hold SIP: TCP segments, and UDP payloads starting with a letter.

    A SIP start line begins with a method token or "SIP/2.0" (RFC 3261 section 7);
    RTP (first byte 0x80-0xBF), RTCP, DNS, GTP-U ... never start with an ASCII letter.
    Scanning only these rows keeps SDP look-up cheap on media-heavy captures.

    Parameters
    ----------
    packets : labkit.capture.Packets
        From :func:`labkit.capture.read_capture`.

    Returns
    -------
    labkit.capture.Packets
        The selected rows, in capture order.

    References
    ----------
    RFC 3261 section 7 (a message starts with a Request-Line or Status-Line); RFC 3550
    section 5.1 (RTP version 2: first byte 0x80-0xBF).

    Examples
    --------
    Of 1115 frames of the real AMR-WB call, the six SIP messages remain:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> sip_candidates(read_capture(data.path("ringback_amrwb"))).frame.tolist()
    [1, 2, 4, 7, 1113, 1115]
    """
    first = packets.head(1)[:, 0]
    letter = ((first >= 0x41) & (first <= 0x5A)) | ((first >= 0x61) & (first <= 0x7A))
    return packets.select((np.asarray(packets.proto) == 6) | letter)


def _sdp_or_warn(reader, packets):
    """`reader` (a labkit.sip SDP table function) on the SIP candidate rows, None + warning if unreadable."""
    try:
        return reader(sip_candidates(packets))
    except LabkitError as exc:
        warnings.warn(f"SDP not read ({exc}); codecs from payload structure only",
                      LabkitWarning, stacklevel=4)
        return None


def read_sdp(packets):
    """:func:`labkit.sip.sdp_media` of the SIP candidate rows (None if unreadable).

    Parameters
    ----------
    packets : labkit.capture.Packets
        From :func:`labkit.capture.read_capture`.

    Returns
    -------
    pandas.DataFrame or None
        One row per SDP m= line (frame, address, port, codecs, fmtp, ...); None, with a
        :class:`labkit.errors.LabkitWarning`, when the SIP cannot be read.

    References
    ----------
    RFC 4566 sections 5.7 (c=), 5.14 (m=) and 6 (a=rtpmap, a=fmtp); RFC 3264
    (offer/answer).

    Examples
    --------
    The offer (frame 1, A's port) and the answer (frame 4, B's port) of the real
    AMR-WB call:

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> read_sdp(read_capture(data.path("ringback_amrwb")))[["frame", "address", "port"]]
       frame   address   port
    0      1  10.0.0.1  10010
    1      4  10.0.0.2  10024
    """
    from labkit import sip
    return _sdp_or_warn(sip.sdp_media, packets)


def _read_sdp_rows(packets) -> list[dict] | None:
    """:func:`read_sdp` as a list of row dicts, without pandas (None if unreadable)."""
    from labkit import sip
    return _sdp_or_warn(sip.sdp_media_rows, packets)


def extract_stream(rtp, stream: int, *, codec: str, octet_aligned: bool,
                   where: str = "capture") -> AmrExtract:
    """Real-time storage file of one stream of `rtp` (see :func:`amr_storage_from_rtp`).

    Parameters
    ----------
    rtp : labkit.rtp.RtpPackets
        From :func:`labkit.rtp.find_rtp`.
    stream : int
        Stream id (the ``stream`` column of :func:`amr_streams`).
    codec : str
        "AMR" or "AMR-WB" (any spelling :func:`labkit.amr.codec.codec_name` knows).
    octet_aligned : bool
        Payload format: octet-aligned, else bandwidth-efficient (RFC 4867 section 4.1).
    where : str
        Capture description for messages.

    Returns
    -------
    AmrExtract
        The storage file (``data``) and its frame statistics.

    Raises
    ------
    DecodeError
        `codec` is not AMR / AMR-WB (EVS and others cannot be written as AMR storage), or
        no payload of the stream is this AMR variant.

    References
    ----------
    RFC 4867 sections 4.1 (payload formats) and 5 (storage format); RFC 3550
    section 5.1 (sequence number, timestamp).

    Examples
    --------
    B's ringback of the built AMR 12.2 octet-aligned call, byte for byte the storage
    file its encoder wrote (550 frames of FT 7 = 11 s):

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> rtp = find_rtp(read_capture(data.path("synth_amrnb_oa_ringback")))
    >>> x = extract_stream(rtp, 1, codec="AMR", octet_aligned=True)
    >>> x.ft_counts(), x.duration_s
    ({7: 550}, 11.0)
    >>> x.data == data.path("synth_amrnb_oa_ringback_ref").read_bytes()
    True
    """
    name = codec_name(codec)
    if name not in ("AMR", "AMR-WB"):
        note = "EVS, cannot decode here" if name == "EVS" else f"codec {name}"
        raise DecodeError(f"stream {stream} is not AMR ({note})", where,
                          "choose an AMR or AMR-WB stream (or force --codec if SDP is wrong)")
    idx = np.flatnonzero(np.asarray(rtp.stream) == stream)
    return amr_storage_from_rtp(np.asarray(rtp.seq)[idx], np.asarray(rtp.timestamp)[idx],
                                CapturePayloads(rtp, idx), wideband=name == "AMR-WB",
                                octet_aligned=octet_aligned,
                                time_ns=np.asarray(rtp.time_ns)[idx], where=where)
