"""SIP digest arithmetic: challenge and credentials headers, HA1 and the response.

:mod:`labkit.sip.auth` uses it on captures (pairs challenges with retries and says why
one was refused).

A registrar (or an IMS S-CSCF) answers a request with 401 + ``WWW-Authenticate`` (a proxy
with 407 + ``Proxy-Authenticate``); the UA repeats the request with ``Authorization``
(``Proxy-Authorization``) whose ``response`` is a hash of the password and the
challenge. This module parses both headers (RFC 7235 section 2.1 auth-param grammar as
used by RFC 3261 section 25.1), computes responses (RFC 2617 section 3.2.2, RFC 7616
section 3.4: MD5, SHA-256, SHA-512-256, their ``-sess`` forms, qop ``auth`` and
``auth-int``; RFC 8760 brings SHA-256 and SHA-512-256 to SIP) from a password or an HA1,
pairs every challenged request with its retry in a capture, and says, field by field,
what differs and what to fix.

In fixed-line IMS (subscribers without a SIM, 3GPP TS 33.203 Annex N) the username is
the IMPI (``user@domain``), the HSS gives the S-CSCF the HA1 (TS 29.229 Digest-HA1), and
the S-CSCF makes the nonce and checks the response: the same arithmetic.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from labkit.errors import DecodeError, LabkitError

__all__ = ["parse_auth_header", "DigestChallenge", "DigestCredentials", "parse_challenge",
           "parse_credentials", "digest_hash", "digest_ha1", "digest_response", "ALGORITHMS"]

# RFC 7616 section 6.1 (IANA "HTTP Digest Hash Algorithms") -> hashlib name.
ALGORITHMS = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf"\s*({_TOKEN})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|([^\s,\"]+))\s*(,|$)")
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


def parse_auth_header(value: str, *, where: str = "") -> tuple[str, dict]:
    """Split a challenge or credentials header value into its scheme and parameters.

    Parameters
    ----------
    value : str
        The header value, e.g. ``Digest realm="a", nonce="b", qop="auth"``.
    where : str, optional
        Where it came from ("frame 3"), for error messages.

    Returns
    -------
    (str, dict)
        The scheme as written and the parameters: lower-case names, values unquoted
        (backslash escapes removed).

    Raises
    ------
    DecodeError
        On a value that does not follow the grammar, or a parameter given twice
        (RFC 7235 section 2.2: each parameter name at most once).

    References
    ----------
    RFC 7235 section 2.1 (auth-scheme, auth-param, quoted-string); RFC 3261 section 25.1
    (challenge, credentials, digest-response).

    Examples
    --------
    >>> parse_auth_header('Digest realm="a, b", qop="auth,auth-int", algorithm=MD5')
    ('Digest', {'realm': 'a, b', 'qop': 'auth,auth-int', 'algorithm': 'MD5'})
    """
    m = _SCHEME.match(value or "")
    if not m:
        raise DecodeError(f"no auth scheme in {value!r}", where or None,
                          "the header must start with a scheme such as Digest")
    params: dict = {}
    pos = m.end()
    while pos < len(value):
        p = _PARAM.match(value, pos)
        if not p:
            raise DecodeError(f"cannot parse the auth parameters at {value[pos:pos + 30]!r}",
                              where or None, "expected name=token or name=\"quoted string\", "
                              "separated by commas (RFC 7235 section 2.1)")
        name = p.group(1).lower()
        if name in params:
            raise DecodeError(f"auth parameter {name!r} given twice", where or None,
                              "each parameter may appear once (RFC 7235 section 2.2)")
        quoted = p.group(2)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else p.group(3)
        pos = p.end()
    return m.group(1), params


@dataclass(frozen=True)
class DigestChallenge:
    """A Digest challenge (WWW-Authenticate / Proxy-Authenticate)."""

    realm: str | None
    nonce: str | None
    qop: tuple = ()                 # offered qop values; () = RFC 2069 style, no qop
    algorithm: str = "MD5"          # RFC 2617 3.2.1: absent means MD5
    opaque: str | None = None
    stale: bool = False
    params: tuple = ()              # every parameter as (name, value), in order


@dataclass(frozen=True)
class DigestCredentials:
    """Digest credentials (Authorization / Proxy-Authorization)."""

    username: str | None
    realm: str | None
    nonce: str | None
    uri: str | None
    response: str | None
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None
    params: tuple = ()


def _digest_params(value: str, where: str) -> dict:
    scheme, params = parse_auth_header(value, where=where)
    if scheme.lower() != "digest":
        raise DecodeError(f"auth scheme {scheme!r} is not Digest", where or None,
                          "only the Digest scheme (RFC 3261 section 22.4) is analysed")
    return params


def parse_challenge(value: str, *, where: str = "") -> DigestChallenge:
    """Parse a ``WWW-Authenticate`` / ``Proxy-Authenticate`` Digest value.

    Parameters
    ----------
    value : str
        The header value.
    where : str, optional
        Where it came from, for error messages.

    Returns
    -------
    DigestChallenge

    Raises
    ------
    DecodeError
        Not Digest, or not parseable.

    References
    ----------
    RFC 2617 section 3.2.1; RFC 7616 section 3.3; RFC 3261 section 20.44.

    Examples
    --------
    >>> c = parse_challenge('Digest realm="testrealm@host.com", qop="auth,auth-int", '
    ...     'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    >>> c.realm, c.qop, c.algorithm, c.stale
    ('testrealm@host.com', ('auth', 'auth-int'), 'MD5', False)
    """
    p = _digest_params(value, where)
    qop = tuple(q.strip() for q in p.get("qop", "").split(",") if q.strip())
    return DigestChallenge(p.get("realm"), p.get("nonce"), qop, p.get("algorithm", "MD5"),
                           p.get("opaque"), p.get("stale", "").lower() == "true",
                           tuple(p.items()))


def parse_credentials(value: str, *, where: str = "") -> DigestCredentials:
    """Parse an ``Authorization`` / ``Proxy-Authorization`` Digest value.

    Parameters
    ----------
    value : str
        The header value.
    where : str, optional
        Where it came from, for error messages.

    Returns
    -------
    DigestCredentials

    Raises
    ------
    DecodeError
        Not Digest, or not parseable.

    References
    ----------
    RFC 2617 section 3.2.2; RFC 7616 section 3.4; RFC 3261 section 20.7.

    Examples
    --------
    >>> c = parse_credentials('Digest username="Mufasa", realm="testrealm@host.com", '
    ...     'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
    ...     'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1"')
    >>> c.username, c.qop, c.nc, c.algorithm
    ('Mufasa', 'auth', '00000001', 'MD5')
    """
    p = _digest_params(value, where)
    return DigestCredentials(p.get("username"), p.get("realm"), p.get("nonce"), p.get("uri"),
                             p.get("response"), p.get("algorithm", "MD5"), p.get("qop"),
                             p.get("nc"), p.get("cnonce"), p.get("opaque"), tuple(p.items()))


def _hash_name(algorithm: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    if base not in ALGORITHMS:
        raise LabkitError(f"digest algorithm {algorithm!r} cannot be verified here",
                          fix=f"known: {', '.join(ALGORITHMS)} and their -sess forms "
                              "(AKAv1-MD5 needs the SIM's keys, RFC 3310)")
    return ALGORITHMS[base]


def digest_hash(algorithm: str, data: str | bytes) -> str:
    """H(data) of a digest algorithm, as lower-case hex.

    Parameters
    ----------
    algorithm : str
        "MD5", "SHA-256", "SHA-512-256" (a "-sess" suffix is ignored).
    data : str or bytes
        Text (encoded as UTF-8) or bytes.

    Returns
    -------
    str
        32 (MD5) or 64 hex digits.

    References
    ----------
    RFC 7616 section 3.2 (H and KD), section 6.1 (algorithm names).

    Examples
    --------
    >>> digest_hash("MD5", b"")   # the empty body's H, used by qop=auth-int
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return hashlib.new(_hash_name(algorithm), raw).hexdigest()


def digest_ha1(username: str, realm: str, password: str, *, algorithm: str = "MD5") -> str:
    """HA1 = H(username:realm:password), what a registrar or HSS stores.

    Parameters
    ----------
    username, realm, password : str
        As the UA used them (username and realm unquoted).
    algorithm : str
        Digest algorithm; for "-sess" this is still the stored HA1 (the session key is
        made in :func:`digest_response`).

    Returns
    -------
    str
        Hex HA1.

    References
    ----------
    RFC 2617 section 3.2.2.2; RFC 7616 section 3.4.2; TS 29.229 Digest-HA1.

    Examples
    --------
    >>> digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    '939e7578ed9e3c518a452acee763bce9'
    """
    return digest_hash(algorithm, f"{username}:{realm}:{password}")


def digest_response(*, ha1: str, method: str, uri: str, nonce: str, algorithm: str = "MD5",
                    qop: str | None = None, nc: str | None = None, cnonce: str | None = None,
                    body: bytes = b"") -> str:
    """The request-digest a UA must send for one request.

    Parameters
    ----------
    ha1 : str
        H(username:realm:password) in hex (:func:`digest_ha1`, or the HSS's Digest-HA1).
    method : str
        The request method ("REGISTER").
    uri : str
        The ``uri`` parameter as sent (digest-uri).
    nonce, nc, cnonce : str
        From the challenge and the credentials (nc as its 8 hex digits).
    algorithm : str
        "MD5", "SHA-256", "SHA-512-256", with "-sess" for session keys.
    qop : str, optional
        "auth", "auth-int", or None (RFC 2069 compatibility: no nc/cnonce).
    body : bytes
        The message body, for qop=auth-int.

    Returns
    -------
    str
        Hex response.

    References
    ----------
    RFC 2617 section 3.2.2.1-3.2.2.3; RFC 7616 section 3.4.1-3.4.3; RFC 8760 section 2.

    Examples
    --------
    RFC 2617 section 3.5 (password "Circle Of Life"):

    >>> ha1 = digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    >>> digest_response(ha1=ha1, method="GET", uri="/dir/index.html",
    ...     nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth", nc="00000001",
    ...     cnonce="0a4f113b")
    '6629fae49393a05397450978507c4ef1'
    """
    if algorithm.upper().endswith("-SESS"):
        ha1 = digest_hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        ha2 = digest_hash(algorithm, f"{method}:{uri}:{digest_hash(algorithm, body)}")
    else:
        ha2 = digest_hash(algorithm, f"{method}:{uri}")
    if qop:
        return digest_hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return digest_hash(algorithm, f"{ha1}:{nonce}:{ha2}")
