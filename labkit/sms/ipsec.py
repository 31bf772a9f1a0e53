"""ESP integrity of the IMS security associations: the ICV a UE checks (TS 33.203).

SIP between a UE and its P-CSCF runs in ESP transport mode; in SMS captures usually with
NULL encryption (``ealg=null``) but always with integrity (``alg=hmac-sha-1-96`` or
``hmac-md5-96`` in Security-Verify). The receiver recomputes the ICV over the ESP header,
payload and trailer, and drops the packet when it differs (RFC 4303 3.4.4), or when its
sequence number was already seen (the anti-replay window, RFC 4303 3.4.3). So a capture
whose SIP body was edited is only replayable to a UE if its ICV is recomputed with the SA's
integrity key and its sequence number is new to that SA; without the keys it is an
artefact for analysis, and the replayable artefact is the corrected SIP message itself,
sent through a fresh SA.
"""
from __future__ import annotations

import hashlib
import hmac

from labkit.errors import LabkitError

__all__ = ["INTEGRITY_ALGORITHMS", "hmac_96", "esp_icv", "check_esp_icv"]

#: Security-Verify ``alg`` name -> hash of the HMAC (both truncated to 96 bits).
INTEGRITY_ALGORITHMS = {"hmac-sha-1-96": hashlib.sha1, "hmac-md5-96": hashlib.md5}


def _hash(alg: str):
    try:
        return INTEGRITY_ALGORITHMS[alg.lower()]
    except KeyError:
        raise LabkitError(f"unknown ESP integrity algorithm {alg!r}", None,
                          "use " + " or ".join(INTEGRITY_ALGORITHMS) + " (the alg= of Security-Verify)") from None


def hmac_96(alg: str, key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-1-96 or HMAC-MD5-96: the first 96 bits (12 octets) of the HMAC.

    Parameters
    ----------
    alg : {"hmac-sha-1-96", "hmac-md5-96"}
        As written in the Security-Verify / Security-Client ``alg`` parameter.
    key : bytes
        The SA's integrity key (IK_ESP of TS 33.203: 20 octets for SHA-1, 16 for MD5).
    data : bytes
        The octets the ICV covers.

    Returns
    -------
    bytes
        12 octets.

    References
    ----------
    RFC 2404 (HMAC-SHA-1-96 within ESP) and RFC 2403 (HMAC-MD5-96): HMAC (RFC 2104)
    truncated to its first 96 bits; RFC 2202 gives the HMAC test vectors.

    Examples
    --------
    >>> hmac_96("hmac-sha-1-96", bytes([0x0b]) * 20, b"Hi There").hex()   # RFC 2202 case 1
    'b617318655057264e28bc0b6'
    """
    return hmac.new(bytes(key), bytes(data), _hash(alg)).digest()[:12]


def _esp_span(frame: bytes, linktype: int) -> tuple[int, int, int]:
    """(start of the ESP header, start of the ICV, ICV length) in `frame`."""
    from labkit.sms.overhead import frame_layers
    by = {l.name: l for l in frame_layers(frame, linktype)}
    if "esp_header" not in by or "esp_icv" not in by:
        raise LabkitError("no ESP NULL packet in this frame", None,
                          "the ICV can only be computed for ESP with NULL encryption")
    icv = by["esp_icv"]
    return by["esp_header"].offset, icv.offset, icv.length


def esp_icv(frame: bytes, key: bytes, alg: str = "hmac-sha-1-96", *, linktype: int = 1) -> bytes:
    """The ICV the receiver expects for the ESP packet in `frame`, with the SA's key.

    Parameters
    ----------
    frame : bytes
        A captured or rebuilt frame carrying one ESP (NULL encryption) packet.
    key : bytes
        Integrity key of the SA (its SPI is in the packet).
    alg : str
        ``hmac-sha-1-96`` or ``hmac-md5-96``.
    linktype : int
        pcap LINKTYPE of `frame`.

    Returns
    -------
    bytes
        12 octets: HMAC over SPI, sequence number, payload, padding, pad length and next
        header (everything from the ESP header up to the ICV).

    References
    ----------
    RFC 4303 sections 2.8 (ICV) and 3.3.4 / 3.4.4 (computed by the sender over the ESP
    header, payload and trailer; checked by the receiver before anything else).

    Examples
    --------
    >>> from labkit.capture import frames
    >>> f = frames.udp_frame(b"x" * 10, "10.0.0.1", "10.0.0.2", 5060, 5060, esp={"spi": 1, "seq": 7})
    >>> len(esp_icv(f, b"k" * 20))
    12
    """
    start, icv_at, _ = _esp_span(frame, linktype)
    return hmac_96(alg, key, frame[start:icv_at])


def check_esp_icv(frame: bytes, key: bytes, alg: str = "hmac-sha-1-96", *, linktype: int = 1) -> bool:
    """True when the ICV in `frame` is the one :func:`esp_icv` computes with `key`.

    Parameters
    ----------
    frame : bytes
        A frame carrying one ESP NULL packet.
    key : bytes
        Integrity key of the SA.
    alg : str
        ``hmac-sha-1-96`` or ``hmac-md5-96``.
    linktype : int
        pcap LINKTYPE of `frame`.

    Returns
    -------
    bool

    References
    ----------
    RFC 4303 section 3.4.4 (integrity check value verification).

    Examples
    --------
    >>> from labkit.capture import frames
    >>> f = frames.udp_frame(b"x" * 10, "10.0.0.1", "10.0.0.2", 5060, 5060, esp={"spi": 1, "seq": 7})
    >>> check_esp_icv(f, b"k" * 20)        # the builder's placeholder ICV is not a real one
    False
    """
    start, icv_at, n = _esp_span(frame, linktype)
    return hmac.compare_digest(hmac_96(alg, key, frame[start:icv_at])[:n], frame[icv_at:icv_at + n])
