"""iFC XML (3GPP TS 29.228 Annex B/E/F): the model, a safe parser, formulas and a lint.

:mod:`labkit.sip.ifc` evaluates these iFCs against requests (and re-exports these
names). The XML is parsed with defusedxml (no entity expansion, no DTD, nothing
fetched); an unknown element or a malformed file is a :class:`labkit.errors.ConfigError`
naming the line. Semantics (ConditionTypeCNF, Group, ConditionNegated, SessionCase,
DefaultHandling) are described in :mod:`labkit.sip.ifc`.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.errors import ConfigError

__all__ = ["SPT", "TriggerPoint", "InitialFilterCriteria", "IfcRequest", "parse_ifc",
           "describe_trigger", "condition_text", "lint_ifcs", "SESSION_CASES", "SPT_KINDS",
           "DEFAULT_HANDLING", "LINT_COLUMNS"]

SESSION_CASES = {0: "ORIGINATING_REGISTERED", 1: "TERMINATING_REGISTERED",
                 2: "TERMINATING_UNREGISTERED", 3: "ORIGINATING_UNREGISTERED",
                 4: "ORIGINATING_CDIV"}
DEFAULT_HANDLING = {0: "SESSION_CONTINUED", 1: "SESSION_TERMINATED"}
SPT_KINDS = ("Method", "RequestURI", "SIPHeader", "SessionCase", "SessionDescription",
             "RegistrationType")
# Elements of TS 29.228 Annex E (CxDataType.xsd) that may appear around iFCs.
_KNOWN = {"IMSSubscription", "PrivateID", "ServiceProfile", "PublicIdentity", "Identity",
          "BarringIndication", "IdentityType", "WildcardedPSI", "WildcardedIMPU",
          "DisplayName", "InitialFilterCriteria", "Priority", "TriggerPoint",
          "ConditionTypeCNF", "SPT", "ConditionNegated", "Group", "Method", "RequestURI",
          "SIPHeader", "Header", "Content", "SessionCase", "SessionDescription", "Line",
          "RegistrationType", "ApplicationServer", "ServerName", "DefaultHandling",
          "ServiceInfo", "IncludeRegisterRequest", "IncludeRegisterResponse",
          "ProfilePartIndicator", "Extension", "CoreNetworkServicesAuthorization",
          "SubscribedMediaProfileId", "SharedIFCSetID", "ListOfServiceIdentifiers",
          "ServiceIdentifier", "Session", "IMSSubscriptionType"}
_SIP_METHODS = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
                "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"}


@dataclass(frozen=True)
class SPT:
    """One Service Point Trigger."""

    index: int                 # position in its TriggerPoint, from 0
    kind: str                  # one of SPT_KINDS
    value: str                 # method, URI, header name, session case, SDP line type
    content: str | None = None  # SIPHeader/SessionDescription Content (regex), if any
    negated: bool = False
    groups: tuple = (0,)
    line: int = 0              # line in the XML file


@dataclass(frozen=True)
class TriggerPoint:
    """SPTs and how they combine (cnf True: AND of ORed groups)."""

    cnf: bool
    spts: tuple = ()


@dataclass(frozen=True)
class InitialFilterCriteria:
    """One iFC: priority, trigger (None = always), AS, default handling, its comment."""

    priority: int
    trigger: TriggerPoint | None
    server_name: str
    default_handling: int = 0
    comment: str | None = None
    line: int = 0


@dataclass(frozen=True)
class IfcRequest:
    """What an S-CSCF looks at in an initial request."""

    method: str
    request_uri: str
    headers: tuple = ()        # (lower-case name, value)
    sdp: str | None = None
    session_case: int = 0
    session_case_source: str = "given"
    registration_type: int | None = None
    frame: int | None = None


# ------------------------------------------------------------------------- parsing
def _parse_tree(text: str, where: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser
    lines: dict = {}

    class _Builder(ET.TreeBuilder):
        def start(self, tag, attrs):
            el = super().start(tag, attrs)
            lines[el] = parser.parser.CurrentLineNumber
            return el

    parser = DefusedXMLParser(target=_Builder(insert_comments=True), forbid_dtd=True)
    try:
        parser.feed(text)
        return parser.close(), lines
    except DefusedXmlException as exc:
        raise ConfigError(f"refused: {type(exc).__name__} (DTDs and entities are not "
                          f"allowed in an iFC)", where, "remove the DOCTYPE/ENTITY lines") from exc
    except ET.ParseError as exc:
        raise ConfigError(f"not well-formed XML: {exc}", where,
                          "fix the XML at that line (tags closed, one root)") from exc


def parse_ifc(source) -> list[InitialFilterCriteria]:
    """Read a subscriber's iFCs from XML (a file path, or the XML text).

    Parameters
    ----------
    source : str, bytes or path-like
        An IMSSubscription / ServiceProfile document, or bare InitialFilterCriteria
        elements as pasted from an HSS (several are wrapped in a ServiceProfile).

    Returns
    -------
    list of InitialFilterCriteria
        In document order, each with the XML comment just before it (if any).

    Raises
    ------
    ConfigError
        Not well-formed XML, a DTD or entity (never expanded), an unknown element, or a
        missing/invalid value, with the line number.

    References
    ----------
    3GPP TS 29.228 Annex B (information elements), Annex E (XML schema, tSePoTri,
    tInitialFilterCriteria), Annex F (DefaultHandling, SessionCase enumerations).

    Examples
    --------
    >>> from labkit import data
    >>> ifcs = parse_ifc(data.path("ifc_seed_profile"))
    >>> [(i.priority, i.server_name) for i in ifcs][:2]
    [(10, 'sip:mmtel.lab.example'), (25, 'sip:ussdgw:5060')]
    """
    text, where = _source_text(source)
    try:
        root, lines = _parse_tree(text, where)
        if root.tag not in _KNOWN:
            raise ConfigError(f"unknown element <{root.tag}>", f"{where}, line {lines[root]}",
                              "use the TS 29.228 Annex E element names")
    except ConfigError as exc:
        if "junk after document element" not in str(exc):
            raise
        body = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)   # several bare iFCs: one root
        root, lines = _parse_tree(f"<ServiceProfile>{body}</ServiceProfile>", where)
    if root.tag == "InitialFilterCriteria":   # one bare iFC
        wrapper = ET.Element("ServiceProfile")
        wrapper.append(root)
        root, lines[wrapper] = wrapper, 1
    for el in root.iter():
        if el.tag is not ET.Comment and el.tag not in _KNOWN:
            raise ConfigError(f"unknown element <{el.tag}>", f"{where}, line {lines[el]}",
                              "use the TS 29.228 Annex E element names")
    ifcs = []
    for parent in root.iter():
        children = list(parent)
        for i, el in enumerate(children):
            if el.tag == "InitialFilterCriteria":
                prev = children[i - 1] if i else None
                comment = prev.text.strip() if prev is not None and prev.tag is ET.Comment else None
                ifcs.append(_ifc(el, lines, where, comment))
    if not ifcs:
        raise ConfigError("no InitialFilterCriteria element", where,
                          "give a ServiceProfile with iFCs")
    return ifcs


def _source_text(source) -> tuple[str, str]:
    if isinstance(source, bytes):
        return source.decode("utf-8", "replace"), "iFC XML"
    if isinstance(source, str) and source.lstrip().startswith("<"):
        return source, "iFC XML"
    path = Path(source)
    if not path.is_file():
        raise ConfigError("iFC file not found", str(path), "check the path")
    return path.read_text(encoding="utf-8", errors="replace"), path.name


def _text(el, name, where, lines, *, required=True, default=None) -> str | None:
    sub = el.find(name)
    if sub is None or sub.text is None or not sub.text.strip():
        if required and default is None:
            raise ConfigError(f"<{el.tag}> has no <{name}>", f"{where}, line {lines[el]}",
                              f"add <{name}> (TS 29.228 Annex E)")
        return default
    return sub.text.strip()


def _int(el, name, where, lines, default=None, allowed=None) -> int:
    raw = _text(el, name, where, lines, default=None if default is None else str(default))
    if not re.fullmatch(r"-?\d+", raw or ""):
        raise ConfigError(f"<{name}> is {raw!r}, not a number", f"{where}, line {lines[el]}",
                          "write an integer")
    value = int(raw)
    if allowed is not None and value not in allowed:
        raise ConfigError(f"<{name}> is {value}, not one of {sorted(allowed)}",
                          f"{where}, line {lines[el]}", "see TS 29.228 Annex F")
    return value


def _ifc(el, lines, where, comment) -> InitialFilterCriteria:
    tp = el.find("TriggerPoint")
    trigger = None
    if tp is not None:
        cnf = _int(tp, "ConditionTypeCNF", where, lines, allowed={0, 1})
        trigger = TriggerPoint(bool(cnf), tuple(_spt(i, s, lines, where)
                                                for i, s in enumerate(tp.findall("SPT"))))
    asv = el.find("ApplicationServer")
    if asv is None:
        raise ConfigError("<InitialFilterCriteria> has no <ApplicationServer>",
                          f"{where}, line {lines[el]}", "add the AS (ServerName)")
    return InitialFilterCriteria(
        _int(el, "Priority", where, lines, default=0), trigger,
        _text(asv, "ServerName", where, lines),
        _int(asv, "DefaultHandling", where, lines, default=0, allowed={0, 1}),
        comment, lines[el])


def _spt(i, s, lines, where) -> SPT:
    loc = f"{where}, line {lines[s]}"
    kinds = [k for k in SPT_KINDS if s.find(k) is not None and k != "RegistrationType"]
    if not kinds and s.find("RegistrationType") is not None:
        kinds = ["RegistrationType"]
    if len(kinds) != 1:
        raise ConfigError(f"SPT has {len(kinds)} conditions ({', '.join(kinds) or 'none'})",
                          loc, "an SPT holds exactly one of " + ", ".join(SPT_KINDS[:5]))
    kind = kinds[0]
    negated = _int(s, "ConditionNegated", where, lines, default=0, allowed={0, 1})
    groups = tuple(int(g.text) for g in s.findall("Group") if (g.text or "").strip().isdigit())
    if not groups:
        raise ConfigError("SPT has no <Group>", loc, "add <Group>0</Group>")
    sub = s.find(kind)
    content = None
    if kind == "SIPHeader":
        value = _text(sub, "Header", where, lines)
        content = _text(sub, "Content", where, lines, required=False)
    elif kind == "SessionDescription":
        value = _text(sub, "Line", where, lines)
        content = _text(sub, "Content", where, lines, required=False)
    else:
        value = (sub.text or "").strip()
        if kind == "SessionCase" and value not in {str(k) for k in SESSION_CASES}:
            raise ConfigError(f"SessionCase {value!r} is not one of 0-4", loc,
                              "see TS 29.228 Annex F")
    return SPT(i, kind, value, content, bool(negated), groups, lines[s])


def describe_trigger(trigger: TriggerPoint | None) -> str:
    """The trigger point as a boolean formula, as the S-CSCF evaluates it.

    Parameters
    ----------
    trigger : TriggerPoint or None

    Returns
    -------
    str
        E.g. ``(Method = INVITE OR SessionCase = ORIGINATING_REGISTERED)``.

    References
    ----------
    TS 29.228 Annex B.2.2 (ConditionTypeCNF, Group, ConditionNegated).

    Examples
    --------
    >>> from labkit import data
    >>> print(describe_trigger(parse_ifc(data.path("ifc_seed_profile"))[2].trigger))
    (Method = INVITE OR SessionCase = ORIGINATING_REGISTERED)
    """
    if trigger is None:
        return "always (no TriggerPoint)"
    inner, outer = (" OR ", " AND ") if trigger.cnf else (" AND ", " OR ")
    groups = sorted({g for s in trigger.spts for g in s.groups})
    parts = []
    for g in groups:
        terms = [condition_text(s) for s in trigger.spts if g in s.groups]
        parts.append("(" + inner.join(terms) + ")")
    return outer.join(parts) or "(no SPT)"


def condition_text(s: SPT) -> str:
    """One SPT as a condition, e.g. ``NOT header Recv-Info ~ /g.3gpp.ussd/``.

    Parameters
    ----------
    s : SPT

    Returns
    -------
    str

    References
    ----------
    TS 29.228 Annex B.2.2 (SPT, ConditionNegated).

    Examples
    --------
    >>> condition_text(SPT(0, "Method", "INVITE", negated=True))
    'NOT Method = INVITE'
    """
    if s.kind == "SessionCase":
        text = f"SessionCase = {SESSION_CASES[int(s.value)]}"
    elif s.kind in ("SIPHeader", "SessionDescription"):
        label = "header" if s.kind == "SIPHeader" else "SDP line"
        text = f"{label} {s.value}" + (f" ~ /{s.content}/" if s.content else " present")
    else:
        text = f"{s.kind} = {s.value}"
    return f"NOT {text}" if s.negated else text


# ---------------------------------------------------------------------------- lint
LINT_COLUMNS = ["priority", "line", "severity", "what", "fix"]


def lint_ifcs(ifcs) -> pd.DataFrame:
    """What in the iFCs themselves is likely not what their author meant.

    Parameters
    ----------
    ifcs : list of InitialFilterCriteria

    Returns
    -------
    pandas.DataFrame
        priority, line, severity ("error", "warning", "info"), what, fix. Flags: SPTs of
        different kinds ORed in one group of a CNF trigger (or ANDed across groups of a
        DNF one), regexes that do not compile, Content in literal double quotes,
        methods that are not SIP methods, duplicate priorities, a DefaultHandling that
        ends the session, groups not in ascending order (kamailio assumes they are).

    References
    ----------
    TS 29.228 Annex B.2.2 (CNF/DNF, Group), Annex F (DefaultHandling); TS 24.390
    (Recv-Info: g.3gpp.ussd, a token without quotes); kamailio ims_isc checker.c.

    Examples
    --------
    >>> from labkit import data
    >>> lint = lint_ifcs(parse_ifc(data.path("ifc_seed_profile")))
    >>> sorted({int(p) for p in lint[lint.severity != "info"]["priority"]})
    [25, 30]
    """
    rows = []
    seen: dict = {}
    for ifc in ifcs:
        add = lambda sev, what, fix, line=ifc.line: rows.append(  # noqa: E731
            {"priority": ifc.priority, "line": line, "severity": sev, "what": what, "fix": fix})
        if ifc.priority in seen:
            add("warning", f"priority {ifc.priority} also used at line {seen[ifc.priority]}: "
                "the order between them is up to the engine", "give each iFC its own priority")
        seen.setdefault(ifc.priority, ifc.line)
        if ifc.default_handling == 1:
            add("info", f"DefaultHandling 1 (SESSION_TERMINATED): if {ifc.server_name} does "
                "not answer, the request fails", "use 0 unless the service must not be skipped")
        if ifc.trigger is None:
            add("info", "no TriggerPoint: every initial request goes to this AS", "")
            continue
        rows += [{"priority": ifc.priority, **r} for r in _lint_trigger(ifc)]
    return pd.DataFrame(rows, columns=LINT_COLUMNS)


def _lint_trigger(ifc) -> list[dict]:
    tp, out = ifc.trigger, []
    op, word = ("ORed", "CNF: SPTs in one group are ORed") if tp.cnf else \
        ("ANDed", "DNF: SPTs in one group are ANDed")
    groups = sorted({g for s in tp.spts for g in s.groups})
    for g in groups:
        members = [s for s in tp.spts if g in s.groups]
        kinds = {s.kind for s in members}
        if tp.cnf and len(members) > 1 and len(kinds) > 1:
            out.append({"line": members[0].line, "severity": "warning",
                        "what": f"group {g}: {' OR '.join(condition_text(s) for s in members)} "
                                f"({word}): any one of them sends the request to "
                                f"{ifc.server_name}; matches far more than "
                                f"{' AND '.join(condition_text(s) for s in members)}",
                        "fix": "to require all of them, give each SPT its own Group "
                               "number (CNF ANDs the groups)"})
    order = [s.groups[0] for s in tp.spts]
    if order != sorted(order):
        out.append({"line": tp.spts[0].line, "severity": "info",
                    "what": f"groups not in ascending order ({order}): kamailio ims_isc "
                            "assumes ordered groups", "fix": "list SPTs by group number"})
    for s in tp.spts:
        out += _lint_spt(s)
    return out


def _lint_spt(s: SPT) -> list[dict]:
    out = []
    for pattern in [p for p in (s.content, s.value if s.kind == "RequestURI" else None) if p]:
        try:
            re.compile(pattern)
        except re.error as exc:
            out.append({"line": s.line, "severity": "error",
                        "what": f"regex /{pattern}/ does not compile ({exc}): this SPT never "
                                "matches", "fix": "fix the regular expression (POSIX ERE)"})
    if s.content and len(s.content) > 1 and s.content[0] == s.content[-1] == '"':
        out.append({"line": s.line, "severity": "warning",
                    "what": f"Content {s.content} includes the double quotes: the regex "
                            f"needs them in the header value, and a {s.value} header "
                            f"written as a token (Recv-Info: g.3gpp.ussd, TS 24.390) has "
                            f"none: this SPT never matches it",
                    "fix": f"write <Content>{s.content[1:-1]}</Content> (escape dots: "
                           f"{re.escape(s.content[1:-1])})"})
    if s.kind == "Method" and s.value not in _SIP_METHODS:
        out.append({"line": s.line, "severity": "warning",
                    "what": f"Method {s.value!r} is not a SIP method the spec would match "
                            "(kamailio would match any method starting with it)",
                    "fix": "write the method in capitals, in full (INVITE)"})
    return out
