"""Initial Filter Criteria (iFC): which application server gets this request, and why.

The HSS gives the S-CSCF each subscriber's iFCs (3GPP TS 29.228 Annex B, XML schema
CxDataType, Annex E/F); the S-CSCF checks every initial request against them in
increasing Priority and sends it to the first matching iFC's ApplicationServer; when the
AS returns it, evaluation goes on with the next priorities (TS 24.229 section 5.4.3.2,
5.4.3.3; TS 23.218 section 6). A TriggerPoint is a boolean expression of Service Point
Triggers (SPT):

- ConditionTypeCNF 1 (CNF): the groups are ANDed, the SPTs within one Group are ORed;
  0 (DNF): the groups are ORed, the SPTs within one Group are ANDed. One SPT may be in
  several groups. ConditionNegated 1 flips one SPT. No TriggerPoint: always matches.
- SPT kinds: Method, RequestURI, SIPHeader (Header, optional Content: a regular
  expression; no Content = the header is present), SessionCase (0 ORIGINATING_REGISTERED,
  1 TERMINATING_REGISTERED, 2 TERMINATING_UNREGISTERED, 3 ORIGINATING_UNREGISTERED,
  4 ORIGINATING_CDIV), SessionDescription (Line, optional Content), RegistrationType
  (REGISTER only: 0 initial, 1 re-registration, 2 de-registration).

Engines read the same XML differently; ``dialect`` picks one: ``"spec"`` (TS 29.228 as
written), ``"kamailio"`` (ims_isc checker.c: Method compared with strncasecmp over the
SPT's length, so "INV" matches INVITE; regexes POSIX extended, case-insensitive,
unanchored, RequestURI matched against the whole URI), ``"sprout"`` (Clearwater
ifc.cpp: Method matched exactly).

The XML model, its parser and the lint are in :mod:`labkit.sip.ifc_xml` (re-exported
here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labkit.errors import ConfigError
from labkit.sip.ifc_xml import *  # noqa: F401,F403
from labkit.sip.ifc_xml import __all__ as _xml_all
from labkit.sip.ifc_xml import (DEFAULT_HANDLING, SESSION_CASES, SPT, IfcRequest,
                                TriggerPoint, condition_text, describe_trigger)

__all__ = [*_xml_all, "ifc_request", "evaluate_ifcs", "route_request", "compare_dialects",
           "initial_requests", "Routing", "DIALECTS", "TRACE_COLUMNS"]

DIALECTS = ("spec", "kamailio", "sprout")
TRACE_COLUMNS = ["priority", "server_name", "spt", "groups", "condition", "negated",
                 "seen", "spt_result", "group_values", "ifc_result", "why"]


# ---------------------------------------------------------------------- evaluation
def ifc_request(source, *, session_case: int | None = None,
                registration_type: int | None = None) -> IfcRequest:
    """The request an S-CSCF evaluates, from a SIP message (text, bytes, file or row).

    Parameters
    ----------
    source : str, bytes, path-like, SipMessage or pandas.Series
        A raw SIP request (as typed or saved), a :class:`labkit.sip.SipMessage`, or one
        row of :func:`labkit.sip.sip_messages`.
    session_case : int, optional
        0-4 (SESSION_CASES). When not given: from P-Served-User ``sescase``/``regstate``
        (RFC 5502), else a Route with ``;orig`` (TS 24.229 section 5.4.3.2) means
        originating registered, else terminating registered; the source says which.
    registration_type : int, optional
        For REGISTER: 0 initial, 1 re-registration, 2 de-registration (default: 2 when
        Expires is 0, else 0).

    Returns
    -------
    IfcRequest

    Raises
    ------
    ConfigError
        When `source` is not a SIP request.

    References
    ----------
    TS 24.229 section 5.4.3.2 (originating, "orig" parameter), 5.4.3.3 (terminating);
    RFC 5502 (P-Served-User); TS 29.228 Annex B.2.2.

    Examples
    --------
    >>> r = ifc_request("INVITE sip:bob@lab.example SIP/2.0\\r\\nP-Served-User: "
    ...                 "<sip:alice@lab.example>;sescase=orig;regstate=reg\\r\\n\\r\\n")
    >>> r.method, r.session_case, r.session_case_source
    ('INVITE', 0, 'P-Served-User')
    """
    method, uri, headers, sdp, frame = _request_parts(source)
    case, how = (session_case, "given") if session_case is not None else _session_case(headers)
    if registration_type is None and method == "REGISTER":
        expires = next((v for n, v in headers if n == "expires"), "")
        registration_type = 2 if expires.strip() == "0" else 0
    return IfcRequest(method, uri, tuple(headers), sdp, case, how, registration_type, frame)


def _request_parts(source):
    from labkit.sip.messages import SipMessage, parse_sip
    if isinstance(source, pd.Series):
        return (source["method"], source["request_uri"], list(source["headers"]),
                source["sdp"], int(source["frame"]))
    if not isinstance(source, SipMessage):
        if isinstance(source, (str, bytes)) and (isinstance(source, bytes) or "\n" in source
                                                 or " SIP/2.0" in source):
            raw = source.encode() if isinstance(source, str) else source
        else:
            path = Path(source)
            if not path.is_file():
                raise ConfigError("request file not found", str(path), "check the path")
            raw = path.read_bytes()
        raw = re.sub(rb"(?<!\r)\n", b"\r\n", raw)
        parsed = parse_sip(raw if b"\r\n\r\n" in raw else raw + b"\r\n", datagram=True)
        if parsed is None:
            raise ConfigError("not a SIP request (no 'METHOD uri SIP/2.0' first line)",
                              "request", "give the request as it appears on the wire")
        source = parsed[0]
    if source.method is None:
        raise ConfigError("a SIP response, not a request", "request",
                          "iFCs are evaluated on initial requests")
    from labkit.sip.messages import _sdp_text  # noqa: PLC2701 (same subpackage)
    return source.method, source.request_uri, list(source.headers), _sdp_text(source), None


def _session_case(headers) -> tuple[int, str]:
    psu = next((v for n, v in headers if n == "p-served-user"), None)
    if psu:
        orig = re.search(r";\s*sescase\s*=\s*orig", psu, re.I) is not None
        unreg = re.search(r";\s*regstate\s*=\s*unreg", psu, re.I) is not None
        return ({(True, False): 0, (False, False): 1, (False, True): 2,
                 (True, True): 3}[(orig, unreg)], "P-Served-User")
    routes = [v for n, v in headers if n == "route"]
    if any(re.search(r";\s*orig\b", r, re.I) for r in routes):
        return 0, "Route ;orig"
    return 1, "assumed (no P-Served-User, no Route ;orig)"


def _spt_result(s: SPT, r: IfcRequest, dialect: str) -> tuple[bool, str]:
    """(matches before negation, what was looked at)."""
    flags = re.I if dialect == "kamailio" else 0
    if s.kind == "Method":
        if dialect == "kamailio":
            return r.method.upper().startswith(s.value.upper()), r.method
        return r.method == s.value, r.method
    if s.kind == "SessionCase":
        return r.session_case == int(s.value), SESSION_CASES[r.session_case]
    if s.kind == "RegistrationType":
        return (r.method == "REGISTER" and r.registration_type == int(s.value or -1),
                f"{r.method} type {r.registration_type}")
    if s.kind == "RequestURI":
        target = r.request_uri if dialect == "kamailio" else _uri_part(r.request_uri)
        return _search(s.value, target, flags), target
    if s.kind == "SIPHeader":
        from labkit.sip.messages import COMPACT_HEADERS
        name = COMPACT_HEADERS.get(s.value.lower(), s.value.lower())
        values = [v for n, v in r.headers if n == name]
        if s.content is None:
            return bool(values), f"{s.value}: {'present' if values else 'absent'}"
        return (any(_search(s.content, v, flags) for v in values),
                f"{s.value}: {' | '.join(values) or 'absent'}")
    lines = [ln.strip() for ln in (r.sdp or "").splitlines()]
    hits = [ln for ln in lines if _search(f"^(?:{s.value})=", ln, flags)]
    if s.content is None:
        return bool(hits), f"{len(hits)} {s.value}= line(s)"
    return (any(_search(s.content, ln.split("=", 1)[1], flags) for ln in hits),
            "; ".join(hits) or f"no {s.value}= line")


def _uri_part(uri: str) -> str:
    """hostport of a SIP URI, the number of a tel URI (TS 29.228 B.2.2 RequestURI)."""
    m = re.match(r"(?i)sips?:(?:[^@;?]*@)?([^;?>]+)", uri or "")
    if m:
        return m.group(1)
    m = re.match(r"(?i)tel:([^;]+)", uri or "")
    return m.group(1) if m else (uri or "")


def _search(pattern: str, text: str, flags: int) -> bool:
    try:
        return re.search(pattern, text or "", flags) is not None
    except re.error:
        return False


def _group_values(tp: TriggerPoint | None, spt_ok: dict) -> dict:
    """{group: value}: OR of its SPTs in CNF, AND in DNF (TS 29.228 B.2.2)."""
    if tp is None:
        return {}
    groups = sorted({g for s in tp.spts for g in s.groups})
    combine = any if tp.cnf else all
    return {g: combine(spt_ok[s.index] for s in tp.spts if g in s.groups) for g in groups}


def _trigger_result(tp: TriggerPoint | None, spt_ok: dict) -> bool:
    values = _group_values(tp, spt_ok)
    if not values:
        return True
    return all(values.values()) if tp.cnf else any(values.values())


def evaluate_ifcs(ifcs, request: IfcRequest, *, dialect: str = "spec") -> pd.DataFrame:
    """The truth table: every SPT of every iFC (in priority order) for one request.

    Parameters
    ----------
    ifcs : list of InitialFilterCriteria
        From :func:`parse_ifc`.
    request : IfcRequest
        From :func:`ifc_request`.
    dialect : {"spec", "kamailio", "sprout"}
        Whose matching rules (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per SPT (one row for an iFC without TriggerPoint): priority,
        server_name, spt (index), groups, condition (as written, with NOT), negated,
        seen (what the request has), spt_result (after negation), group_values (each
        group's value, e.g. "0=True 1=False": OR of its SPTs in CNF, AND in DNF),
        ifc_result (the whole trigger point), why (the iFC's formula).

    References
    ----------
    TS 29.228 Annex B.2.2, Annex C (trigger point examples); TS 24.229 section 5.4.3.2.

    Examples
    --------
    >>> from labkit import data
    >>> ifcs = parse_ifc(data.path("ifc_seed_profile"))
    >>> t = evaluate_ifcs(ifcs, ifc_request("MESSAGE sip:bob@lab.example SIP/2.0\\r\\n\\r\\n",
    ...                                     session_case=0))
    >>> t[t.priority == 30][["condition", "spt_result", "ifc_result"]].values.tolist()
    [['Method = INVITE', False, True], ['SessionCase = ORIGINATING_REGISTERED', True, True]]
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown dialect {dialect!r}", None, f"one of {', '.join(DIALECTS)}")
    rows = []
    for ifc in sorted(ifcs, key=lambda i: i.priority):
        spts = ifc.trigger.spts if ifc.trigger else ()
        seen = {s.index: _spt_result(s, request, dialect) for s in spts}
        ok = {i: hit != s.negated for s in spts for i, (hit, _) in [(s.index, seen[s.index])]}
        result = _trigger_result(ifc.trigger, ok)
        why = describe_trigger(ifc.trigger)
        gv = " ".join(f"{g}={v}" for g, v in _group_values(ifc.trigger, ok).items())
        base = {"priority": ifc.priority, "server_name": ifc.server_name,
                "group_values": gv, "ifc_result": result, "why": why}
        if not spts:
            rows.append({**base, "spt": None, "groups": "", "condition": why,
                         "negated": False, "seen": "", "spt_result": result})
        for s in spts:
            rows.append({**base, "spt": s.index, "groups": ",".join(map(str, s.groups)),
                         "condition": condition_text(s), "negated": s.negated,
                         "seen": seen[s.index][1], "spt_result": ok[s.index]})
    return pd.DataFrame(rows, columns=TRACE_COLUMNS)


@dataclass(frozen=True)
class Routing:
    """Where a request goes: the AS chain in order, and a sentence saying why."""

    first_as: str | None
    chain: tuple
    answer: str
    trace: pd.DataFrame = field(repr=False, default=None)


def route_request(ifcs, request: IfcRequest, *, dialect: str = "spec") -> Routing:
    """Which application server gets this request first, then which follow, and why.

    Parameters
    ----------
    ifcs : list of InitialFilterCriteria
    request : IfcRequest
    dialect : {"spec", "kamailio", "sprout"}

    Returns
    -------
    Routing
        first_as (None when no iFC matches), chain of (priority, server_name,
        default_handling) of every matching iFC in the order the S-CSCF visits them,
        answer (a sentence), trace (:func:`evaluate_ifcs`).

    References
    ----------
    TS 24.229 section 5.4.3.2/5.4.3.3 (the S-CSCF forwards to the AS of the first
    matching iFC and, when the request comes back, checks the next); TS 29.228 Annex F
    (DefaultHandling).

    Examples
    --------
    >>> from labkit import data
    >>> ifcs = parse_ifc(data.path("ifc_seed_profile"))
    >>> route_request(ifcs, ifc_request(data.path("ifc_request_ussd_invite"))).first_as
    'sip:mmtel.lab.example'
    """
    trace = evaluate_ifcs(ifcs, request, dialect=dialect)
    hits = trace[trace["ifc_result"]].drop_duplicates("priority")
    by_prio = {i.priority: i for i in ifcs}
    chain = tuple((int(p), s, DEFAULT_HANDLING[by_prio[p].default_handling])
                  for p, s in zip(hits["priority"], hits["server_name"]))
    case = SESSION_CASES[request.session_case]
    if not chain:
        answer = (f"no iFC matches this {request.method} ({case}): the S-CSCF routes it on "
                  f"without any application server")
        return Routing(None, (), answer, trace)
    p, server, dh = chain[0]
    answer = (f"{request.method} ({case}) goes first to {server} (iFC priority {p}: "
              f"{by_prio[p].trigger and describe_trigger(by_prio[p].trigger) or 'always'}"
              f" is true)")
    if len(chain) > 1:
        answer += "; then " + ", ".join(f"{s} (priority {q})" for q, s, _ in chain[1:])
    answer += f". If {server} does not answer: {dh}."
    return Routing(server, chain, answer, trace)


def compare_dialects(ifcs, request: IfcRequest) -> pd.DataFrame:
    """Each iFC's result under every dialect, and whether the engines disagree.

    Parameters
    ----------
    ifcs : list of InitialFilterCriteria
    request : IfcRequest

    Returns
    -------
    pandas.DataFrame
        priority, server_name, one bool column per dialect, agree.

    References
    ----------
    TS 29.228 Annex B.2.2; kamailio ims_isc checker.c; Clearwater sprout ifc.cpp.

    Examples
    --------
    >>> from labkit.sip.ifc import InitialFilterCriteria, TriggerPoint, SPT
    >>> inv = [InitialFilterCriteria(1, TriggerPoint(True, (SPT(0, "Method", "INV"),)), "sip:as")]
    >>> c = compare_dialects(inv, ifc_request("INVITE sip:b@x SIP/2.0\\r\\n\\r\\n", session_case=0))
    >>> [bool(c.loc[0, k]) for k in ("spec", "kamailio", "sprout", "agree")]
    [False, True, False, False]
    """
    out = None
    for d in DIALECTS:
        t = evaluate_ifcs(ifcs, request, dialect=d).drop_duplicates("priority")
        col = t[["priority", "server_name", "ifc_result"]].rename(columns={"ifc_result": d})
        out = col if out is None else out.merge(col, on=["priority", "server_name"])
    out["agree"] = out[list(DIALECTS)].nunique(axis=1) == 1
    return out.reset_index(drop=True)


def initial_requests(packets_or_messages, *, session_case: int | None = None) -> list:
    """Every initial request of a capture (no To tag; retransmissions once) as IfcRequest.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    session_case : int, optional
        Force this session case on every request (else inferred per request).

    Returns
    -------
    list of IfcRequest
        In capture order (frame set).

    References
    ----------
    RFC 3261 section 12 (a request without To tag starts a dialog or stands alone);
    TS 24.229 section 5.4.3.

    Examples
    --------
    >>> from labkit import data
    >>> [r.method for r in initial_requests(data.path("register_digest_ok"))]
    ['REGISTER', 'REGISTER']
    """
    if isinstance(packets_or_messages, pd.DataFrame):
        msgs = packets_or_messages
    else:
        from labkit.capture import as_packets
        from labkit.sip.messages import sip_messages
        msgs = sip_messages(as_packets(packets_or_messages))
    req = msgs[msgs["method"].notna() & msgs["to_tag"].isna() &
               ~msgs["method"].isin(["ACK", "CANCEL"])]
    req = req.drop_duplicates(["call_id", "cseq", "method"])
    return [ifc_request(row, session_case=session_case) for _, row in req.iterrows()]
