"""Which codec does an RTP stream carry? The one answer used by amr, audio and overview.

Order of evidence: a codec the user gave, then the SDP that set the stream up (the
``a=rtpmap`` name and, for AMR, the ``octet-align`` fmtp), then the payload structure
(:func:`~labkit.amr.detect.detect_amr_format`), then the RFC 3551 static payload type.
"""
from __future__ import annotations

from labkit.amr.detect import detect_amr_format
from labkit.amr.payload import parse_amr_fmtp
from labkit.errors import LabkitError

__all__ = ["AMR_CODECS", "codec_name", "identify_codec"]

AMR_CODECS = ("AMR", "AMR-WB")
# Spellings seen in a=rtpmap lines, tools and users' overrides -> the RFC 4867 names.
_AMR_SPELLINGS = {"AMR": "AMR", "AMR-NB": "AMR", "AMR_NB": "AMR", "AMRNB": "AMR",
                  "AMR-WB": "AMR-WB", "AMR_WB": "AMR-WB", "AMRWB": "AMR-WB", "EVS": "EVS"}


def codec_name(name) -> str:
    """The canonical name of a codec: AMR spellings folded to ``AMR`` / ``AMR-WB`` / ``EVS``.

    Parameters
    ----------
    name : str
        A codec name as an ``a=rtpmap`` line, a tool or a user writes it.

    Returns
    -------
    str
        ``"AMR"``, ``"AMR-WB"`` or ``"EVS"`` for their spellings (any case); anything
        else unchanged.

    References
    ----------
    RFC 4867 section 8.1 (media type names AMR and AMR-WB); 3GPP TS 26.445 Annex A (EVS).

    Examples
    --------
    >>> codec_name("amr_wb"), codec_name("AMR-NB"), codec_name("PCMA")
    ('AMR-WB', 'AMR', 'PCMA')
    """
    return _AMR_SPELLINGS.get(str(name).upper(), str(name))


def _static_name(pt: int) -> str:
    from labkit.sip.sdp import STATIC_PAYLOAD_TYPES
    codec = STATIC_PAYLOAD_TYPES.get(pt)
    return codec.name if codec is not None else f"PT {pt}"


def identify_codec(pt: int, payloads, timestamps, *, sdp=None, override=None
                   ) -> tuple[str, bool, str, str | None]:
    """Codec, AMR framing and the evidence for one RTP stream.

    Parameters
    ----------
    pt : int
        The stream's RTP payload type.
    payloads : sequence of bytes
        RTP payloads (a sample is enough: the first few hundred).
    timestamps : array_like of int
        Their RTP timestamps [clock ticks].
    sdp : tuple (str, str or None), optional
        ``(a=rtpmap name, a=fmtp value)`` of `pt` in the SDP that announced the stream.
    override : str or tuple (str, bool), optional
        A codec given by the user, optionally with ``octet_aligned``.

    Returns
    -------
    tuple
        ``(codec, octet_aligned, source, fmtp)``: codec name (``"AMR"``, ``"AMR-WB"``,
        ``"EVS"``, an rtpmap or static name, ``"PT n"`` or ``"unknown"``); True for
        octet-aligned AMR; the evidence (``"given"``, ``"SDP"``, ``"SDP (unsupported
        fmtp)"``, ``"heuristic (0.97)"``, ``"static PT"``); the fmtp used.

    References
    ----------
    RFC 4867 section 8.1 (octet-align, absent = bandwidth-efficient); RFC 3551 section 6
    (static payload types).

    Examples
    --------
    >>> identify_codec(8, [], [])
    ('PCMA', False, 'static PT', None)
    >>> identify_codec(97, [], [], sdp=("AMR-WB", "octet-align=1"))
    ('AMR-WB', True, 'SDP', 'octet-align=1')
    """
    if override is not None:
        name, oa = override if isinstance(override, tuple) else (override, None)
        name = codec_name(name)
        if oa is None and name in AMR_CODECS:
            oa = detect_amr_format(list(payloads)[:400], list(timestamps)[:400]).octet_aligned
        return name, bool(oa), "given", None
    if sdp is not None:
        name, fmtp = codec_name(sdp[0]), sdp[1]
        if name not in AMR_CODECS:
            return name, False, "SDP", fmtp
        try:
            return name, bool(parse_amr_fmtp(fmtp)["octet_aligned"]), "SDP", fmtp
        except LabkitError:
            return name, False, "SDP (unsupported fmtp)", fmtp
    guess = detect_amr_format(payloads, timestamps)
    if guess.codec not in AMR_CODECS and pt < 96:   # an RFC 3551 static type wins
        return _static_name(pt), False, "static PT", None
    return guess.codec, guess.octet_aligned, f"heuristic ({guess.confidence:.2f})", None
