"""USSD over IMS (3GPP TS 24.390): the XML bodies, the session, and what is wrong with it.

A UE dials a USSD string (``*100#``) as an INVITE to a ``user=dialstring`` Request-URI
with ``Recv-Info: g.3gpp.ussd`` and a multipart body (SDP + ``application/vnd.3gpp.ussd+xml``).
The network answers in that dialog: menus in INFO (``Info-Package: g.3gpp.ussd``,
``Content-Disposition: Info-Package``, RFC 6086), the UE's choices in INFO, and the last
string in the BYE. The bodies are ``<ussd-data>`` with ``<language>``, ``<ussd-string>``,
``<error-code>`` and ``<anyExt>``; some gateways (Restcomm, the seed post's kamailio
script) write ``<ussd-string value="..."/>`` instead, which is read and flagged.

Bodies in a capture are untrusted: they are parsed with defusedxml (no DTD entities,
no external references, no network) after a size check, and a body that fails gives a
finding, never an exception.
"""
from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass


from labkit.sip.headers import FINDING_COLUMNS, header_values
from labkit.sip.messages import as_messages, sip_messages

__all__ = ["UssdData", "parse_ussd_xml", "ussd_body", "ussd_messages", "ussd_sessions",
           "ussd_findings", "USSD_CONTENT_TYPE", "USSD_PACKAGE", "MAX_BODY"]

USSD_CONTENT_TYPE = "application/vnd.3gpp.ussd+xml"
USSD_PACKAGE = "g.3gpp.ussd"
MAX_BODY = 16384   # [bytes] a USSD string is at most 182 characters (TS 23.038); far above it


@dataclass(frozen=True)
class UssdData:
    """One ``<ussd-data>`` body: its fields, which form it used, and what failed."""

    language: str | None = None
    ussd_string: str | None = None
    error_code: int | None = None
    any_ext: str | None = None
    form: str | None = None          # "standard", "value-attribute" (Restcomm style) or None
    problem: str | None = None


def parse_ussd_xml(body) -> UssdData:
    """Parse an ``application/vnd.3gpp.ussd+xml`` body, safely.

    Parameters
    ----------
    body : bytes or str
        The body (untrusted). At most :data:`MAX_BODY` bytes are accepted.

    Returns
    -------
    UssdData
        language, ussd_string (text content, or the ``value`` attribute in the
        non-standard form), error_code (int), any_ext (the XML of ``<anyExt>``), form
        ("standard" or "value-attribute"), problem (why it could not be read: too large,
        entities/DTD/external references forbidden, not well-formed, root not
        ``ussd-data``); never raises on bad input.

    References
    ----------
    3GPP TS 24.390 (the ussd-data XML schema: language, ussd-string, error-code,
    anyExt); defusedxml (billion-laughs and external-entity defences).

    Examples
    --------
    >>> parse_ussd_xml(b"<ussd-data><language>en</language><ussd-string>*100#</ussd-string></ussd-data>")
    UssdData(language='en', ussd_string='*100#', error_code=None, any_ext=None, form='standard', problem=None)
    >>> parse_ussd_xml("<ussd-data><ussd-string value='Hola'/></ussd-data>").form
    'value-attribute'
    >>> bomb = '<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><ussd-data>&b;</ussd-data>'
    >>> parse_ussd_xml(bomb).problem
    'XML entity declarations are not accepted (EntitiesForbidden)'
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException
    from xml.etree.ElementTree import ParseError
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_BODY:
        return UssdData(problem=f"body of {len(raw)} bytes is larger than {MAX_BODY}: not parsed")
    try:
        root = SafeET.fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        what = "entity declarations" if "Entit" in type(exc).__name__ else "external references or DTDs"
        return UssdData(problem=f"XML {what} are not accepted ({type(exc).__name__})")
    except ParseError as exc:
        return UssdData(problem=f"not well-formed XML: {exc}")
    return _ussd_fields(root)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ussd_fields(root) -> UssdData:
    if _local(root.tag) != "ussd-data":
        return UssdData(problem=f"root element is <{_local(root.tag)}>, not <ussd-data>")
    fields, attr_form = {}, False
    for child in root:
        name = _local(child.tag)
        text = (child.text or "").strip()
        if not text and "value" in child.attrib:
            text, attr_form = child.attrib["value"], True
        fields[name] = text if name != "anyExt" else _xml_text(child)
    code = fields.get("error-code")
    problem = None
    if code is not None and not code.isdigit():
        problem, code = f"error-code {code!r} is not a number", None
    return UssdData(language=fields.get("language"), ussd_string=fields.get("ussd-string"),
                    error_code=int(code) if code is not None else None, any_ext=fields.get("anyExt"),
                    form="value-attribute" if attr_form else "standard", problem=problem)


def _xml_text(elem) -> str:
    from xml.etree.ElementTree import tostring
    return tostring(elem, encoding="unicode").strip()


def ussd_body(content_type, body: bytes) -> tuple[bytes, dict] | None:
    """The USSD part of a SIP body, and that part's headers.

    Parameters
    ----------
    content_type : str or None
        The message's Content-Type.
    body : bytes

    Returns
    -------
    (bytes, dict) or None
        The ``application/vnd.3gpp.ussd+xml`` body (the whole body, or the multipart part
        with that type) and the part's headers (lower-case names; {} for a whole body);
        None when there is none.

    References
    ----------
    RFC 2046 section 5.1 (multipart), RFC 5621 (message bodies in SIP); 3GPP TS 24.390.

    Examples
    --------
    >>> part = (b"--b\\r\\nContent-Type: application/sdp\\r\\n\\r\\nv=0\\r\\n"
    ...         b"--b\\r\\nContent-Type: application/vnd.3gpp.ussd+xml\\r\\n\\r\\n<ussd-data/>\\r\\n--b--\\r\\n")
    >>> ussd_body("multipart/mixed;boundary=b", part)
    (b'<ussd-data/>', {'content-type': 'application/vnd.3gpp.ussd+xml'})
    """
    content_type = content_type if isinstance(content_type, str) else ""
    ctype = content_type.strip().lower()
    if not isinstance(body, (bytes, bytearray)) or not body:
        return None
    if ctype.startswith(USSD_CONTENT_TYPE):
        return bytes(body), {}
    if not ctype.startswith("multipart/"):
        return None
    head = f"Content-Type: {content_type}\r\n\r\n".encode("utf-8", "replace")
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + bytes(body))
    if not msg.is_multipart():
        return None
    for part in msg.walk():
        if part.get_content_type() == USSD_CONTENT_TYPE:
            payload = part.get_payload(decode=True) or b""
            return payload.rstrip(b"\r\n"), {k.lower(): v for k, v in part.items()}
    return None


# --------------------------------------------------------------------------------------
# The session


_MSG_COLUMNS = ["frame", "time", "src", "dst", "label", "method", "status", "request_uri", "call_id", "cseq",
                "cseq_method", "from_tag", "to_tag", "in_dialog", "recv_info", "info_package",
                "content_disposition", "has_ussd", "language", "ussd_string", "error_code",
                "form", "problem"]


def _is_ussd_call(group: pd.DataFrame) -> bool:
    for r in group.itertuples():
        if USSD_PACKAGE in _tokens(r.headers, "recv-info") + _tokens(r.headers, "info-package"):
            return True
        if ussd_body(r.content_type, r.body) is not None:
            return True
    return False


def _tokens(headers, name) -> list[str]:
    return [v.split(";")[0].strip().lower() for v in header_values(headers, name)]


def _message_row(r) -> dict:
    found = ussd_body(r["content_type"], r["body"])
    data = parse_ussd_xml(found[0]) if found is not None else UssdData()
    disposition = (found[1].get("content-disposition") if found and found[1] else None) or \
        next(iter(header_values(r["headers"], "content-disposition")), None)
    phrase = r["reason_phrase"] if isinstance(r["reason_phrase"], str) else ""
    label = r["method"] if isinstance(r["method"], str) else f"{int(r['status'])} {phrase}".strip()
    return {"frame": int(r["frame"]), "time": float(r["time"]), "src": f"{r['src']}:{int(r['sport'])}",
            "dst": f"{r['dst']}:{int(r['dport'])}", "label": label, "method": r["method"],
            "status": r["status"], "request_uri": r["request_uri"], "call_id": r["call_id"], "cseq": r["cseq"], "cseq_method": r["cseq_method"],
            "from_tag": r["from_tag"], "to_tag": r["to_tag"],
            "in_dialog": isinstance(r["method"], str) and isinstance(r["to_tag"], str),
            "recv_info": ", ".join(_tokens(r["headers"], "recv-info")) or None,
            "info_package": ", ".join(_tokens(r["headers"], "info-package")) or None,
            "content_disposition": disposition, "has_ussd": found is not None,
            "language": data.language, "ussd_string": data.ussd_string, "error_code": data.error_code,
            "form": data.form, "problem": data.problem}


def ussd_messages(source) -> pd.DataFrame:
    """Every SIP message of every USSD session (a Call-ID with a USSD body or package).

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        frame, time [s], src, dst ("ip:port"), label, method, status, call_id, cseq,
        cseq_method, from_tag, to_tag, in_dialog (request with a To tag), recv_info,
        info_package (tokens of Recv-Info / Info-Package), content_disposition (of the
        USSD part, else of the message), has_ussd, and the body's language,
        ussd_string, error_code, form and problem (:func:`parse_ussd_xml`).

    References
    ----------
    3GPP TS 24.390; RFC 6086 sections 4 and 5 (INFO, Info-Package, Recv-Info).

    Examples
    --------
    >>> from labkit import data
    >>> m = ussd_messages(data.path("ussd_in_dialog"))
    >>> m[m["has_ussd"]]["ussd_string"].drop_duplicates().tolist()
    ['*100#', 'Balance menu: 1 balance, 2 top-up', '1', 'Your balance is 5.00 EUR']
    """
    import pandas as pd
    msgs = as_messages(source)
    calls = [cid for cid, g in msgs.groupby("call_id", sort=False) if _is_ussd_call(g)]
    rows = [_message_row(r) for r in msgs[msgs["call_id"].isin(calls)].to_dict("records")]
    df = pd.DataFrame(rows, columns=_MSG_COLUMNS)
    for col in ("status", "cseq", "error_code"):
        df[col] = df[col].astype("Int64")
    for col in _TEXT_COLUMNS:   # None, not NaN, for text that is absent
        df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


_TEXT_COLUMNS = ("method", "request_uri", "call_id", "cseq_method", "from_tag", "to_tag", "recv_info",
                 "info_package", "content_disposition", "language", "ussd_string", "form", "problem")


_SESSION_COLUMNS = ["call_id", "ue", "dialstring", "request", "network", "ue_answers", "result",
                    "info_responses", "outcome"]


def _ue_hop(group: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The UE (sender of the first INVITE) and the messages on its own hop."""
    inv = group[group["method"] == "INVITE"]
    ue = inv.iloc[0]["src"] if len(inv) else group.iloc[0]["src"]
    return ue, group[(group["src"] == ue) | (group["dst"] == ue)]


def ussd_sessions(source, *, messages: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per USSD session, as the UE saw it on its own hop.

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    messages : pandas.DataFrame, optional
        :func:`ussd_messages` of `source`, when already computed.

    Returns
    -------
    pandas.DataFrame
        call_id; ue ("ip:port"); dialstring (user part of the INVITE's Request-URI,
        %23 decoded); request (the UE's first USSD string); network (strings sent to
        the UE in INFO, in order); ue_answers (the UE's strings in INFO); result (the
        string in a BYE, or in the final response); info_responses (status codes
        answering INFOs on the UE's hop); outcome ("completed", "INFO refused: 405" ...).

    References
    ----------
    3GPP TS 24.390 (UE-initiated USSD: INVITE, INFO in the dialog, BYE with the last
    string); RFC 6086 4.2.

    Examples
    --------
    >>> from labkit import data
    >>> s = ussd_sessions(data.path("ussd_seed_405"))
    >>> s.loc[0, ["dialstring", "request", "outcome"]].tolist()
    ['*100#', '*100#', 'INFO refused: 405']
    """
    import pandas as pd
    m = ussd_messages(source) if messages is None else messages
    rows = []
    for call_id, group in m.groupby("call_id", sort=False):
        ue, hop = _ue_hop(group)
        rows.append(_session_row(call_id, ue, hop))
    return pd.DataFrame(rows, columns=_SESSION_COLUMNS)


def _session_row(call_id, ue, hop) -> dict:
    ussd = hop[hop["has_ussd"]]
    first = ussd[ussd["src"] == ue]
    info = ussd[ussd["method"] == "INFO"]
    last = ussd[(ussd["method"] == "BYE") | ussd["status"].notna()]
    codes = [int(s) for s in hop[(hop["cseq_method"] == "INFO") & hop["status"].notna()]["status"]]
    refused = [c for c in codes if c >= 300]
    ended = (hop["method"] == "BYE").any()
    outcome = f"INFO refused: {', '.join(map(str, refused))}" if refused else \
        ("completed" if ended else "incomplete")
    return {"call_id": call_id, "ue": ue, "dialstring": _dialstring(hop),
            "request": first.iloc[0]["ussd_string"] if len(first) else None,
            "network": list(info[info["dst"] == ue]["ussd_string"]),
            "ue_answers": list(info[info["src"] == ue]["ussd_string"]),
            "result": last.iloc[-1]["ussd_string"] if len(last) else None,
            "info_responses": codes, "outcome": outcome}


def _dialstring(hop) -> str | None:
    """User part of the first INVITE's Request-URI, %-decoded (``*100%23`` -> ``*100#``)."""
    from urllib.parse import unquote
    inv = hop[hop["method"] == "INVITE"]
    if not len(inv) or not isinstance(inv.iloc[0]["request_uri"], str):
        return None
    user = inv.iloc[0]["request_uri"].split(":", 1)[-1].split("@")[0].split(";")[0]
    return unquote(user)


# --------------------------------------------------------------------------------------
# Findings


def _s(value) -> str | None:
    """`value` when it is a string, else None (pandas gives NaN for missing text)."""
    return value if isinstance(value, str) else None


def _f(row, severity, check, finding, fix, reference) -> dict:
    return {"frame": int(row["frame"]), "severity": severity, "check": check, "finding": finding,
            "fix": fix, "reference": reference}


def _dialog_tags(group) -> set:
    """Tags of the INVITE dialog: the INVITE's From tag and the To tag of its 2xx."""
    inv = group[group["method"] == "INVITE"]
    ok = group[(group["cseq_method"] == "INVITE") & (group["status"].fillna(0) >= 200)
               & (group["status"].fillna(0) < 300)]
    tags = {t for t in list(inv["from_tag"][:1]) + list(ok["to_tag"][:1]) if isinstance(t, str)}
    return tags


def _answer_to(group, req):
    hit = group[(group["cseq"] == req["cseq"]) & (group["cseq_method"] == req["method"])
                & group["status"].notna() & (group["src"] == req["dst"]) & (group["frame"] > req["frame"])]
    return hit.iloc[0] if len(hit) else None


def _info_findings(group, req, tags) -> list[dict]:
    out = []
    where = f"frame {int(req['frame'])}"
    ans = _answer_to(group, req)
    got = f", answered {int(ans['status'])} {ans['label'].split(' ', 1)[-1]}" if ans is not None else ""
    if ans is not None and int(ans["status"]) == 405:
        got += " (the UE refuses INFO outside a dialog; RFC 6086 would have it answer 481)"
    in_dialog = isinstance(req["to_tag"], str) and {req["from_tag"], req["to_tag"]} <= tags
    if not in_dialog:
        why = "no To tag" if not isinstance(req["to_tag"], str) else "tags not of the INVITE dialog"
        if isinstance(req["from_tag"], str) and req["from_tag"] not in tags:
            why += ", a new From tag"
        out.append(_f(req, "error", "ussd.info_outside_dialog",
                      f"{where}: USSD INFO from {req['src']} outside the INVITE dialog ({why}, same "
                      f"Call-ID){got}",
                      "send the INFO inside the dialog the 200 OK created: From tag = the tag of your "
                      "200, To = the UE's From with its tag, the same Call-ID, your own CSeq and the "
                      "route set. kamailio's uac_req_send makes a new dialog; use a UAS/B2BUA that "
                      "keeps the dialog (or tm's in-dialog t_uac_dlg)",
                      "RFC 6086 4.2 (INFO only in an invite dialog usage: 481 otherwise); "
                      "RFC 3261 12.2; 3GPP TS 24.390"))
    if _s(req["info_package"]) != USSD_PACKAGE:
        out.append(_f(req, "error", "ussd.info_package",
                      f"{where}: INFO with a USSD body and Info-Package {_s(req['info_package']) or '(none)'}",
                      f"add Info-Package: {USSD_PACKAGE}", "RFC 6086 4.2.1, 7.2; 3GPP TS 24.390"))
    disp = (_s(req["content_disposition"]) or "").split(";")[0].strip().lower()
    if disp != "info-package":
        out.append(_f(req, "warning", "ussd.content_disposition",
                      f"{where}: USSD body with Content-Disposition {_s(req['content_disposition']) or '(none)'}",
                      "send Content-Disposition: Info-Package with the USSD body of an INFO",
                      "RFC 6086 4.2.1, 9.3"))
    return out


def _pending_info(group) -> list[dict]:
    """A second INFO from the same side before the first one had its final response."""
    out = []
    infos = group[group["method"] == "INFO"]
    for src, mine in infos.groupby("src", sort=False):
        prev = None
        for _, req in mine.iterrows():
            if prev is not None:
                ans = _answer_to(group, prev)
                if ans is None or ans["frame"] > req["frame"]:
                    out.append(_f(req, "warning", "ussd.info_overlap",
                                  f"frame {int(req['frame'])}: {src} sent another INFO before the INFO of "
                                  f"frame {int(prev['frame'])} was answered",
                                  "wait for the final response before the next USSD operation",
                                  "RFC 6086 4.2.1; 3GPP TS 24.390 (one USSD operation at a time)"))
            prev = req
    return out


def _body_findings(group) -> list[dict]:
    out = []
    for _, r in group[group["has_ussd"]].iterrows():
        if _s(r["problem"]):
            out.append(_f(r, "error", "ussd.body", f"frame {int(r['frame'])}: USSD body not read: {r['problem']}",
                          "send a well-formed <ussd-data> without DTD or entities", "3GPP TS 24.390"))
        elif r["form"] == "value-attribute":
            out.append(_f(r, "warning", "ussd.nonstandard_body",
                          f"frame {int(r['frame'])}: USSD body uses <ussd-string value=\"...\"/> (Restcomm "
                          f"style), not the element text of TS 24.390's schema",
                          "write <ussd-string>text</ussd-string> and <language>en</language>",
                          "3GPP TS 24.390 (ussd-data schema)"))
    return out


def _peer_package(hop, ue) -> list[dict]:
    """A USSD INFO from the UE to a network side that never sent Recv-Info: g.3gpp.ussd."""
    out = []
    for _, req in hop[(hop["method"] == "INFO") & hop["has_ussd"] & (hop["src"] == ue)].iterrows():
        told = hop[(hop["src"] == req["dst"]) & (hop["frame"] < req["frame"])]["recv_info"]
        if any(USSD_PACKAGE in (_s(v) or "") for v in told):
            continue
        ans = _answer_to(hop, req)
        got = f"; answered {ans['label']}" if ans is not None else ""
        out.append(_f(req, "warning", "ussd.package_not_accepted",
                      f"frame {int(req['frame'])}: the UE sent a USSD INFO, but {req['dst']} never said "
                      f"Recv-Info: {USSD_PACKAGE} in this dialog (so 469 Bad Info Package is its due answer){got}",
                      f"the network side must send Recv-Info: {USSD_PACKAGE} in its 200 OK to the INVITE",
                      "RFC 6086 4.2.2, 5.2.3; 3GPP TS 24.390"))
    return out


def _recv_info_findings(group) -> list[dict]:
    inv = group[(group["method"] == "INVITE") & group["to_tag"].isna()]
    if not len(inv) or not inv.iloc[0]["has_ussd"]:
        return []
    first = inv.iloc[0]
    if USSD_PACKAGE in (_s(first["recv_info"]) or ""):
        return []
    return [_f(first, "error", "ussd.recv_info",
               f"frame {int(first['frame'])}: USSD INVITE without Recv-Info: {USSD_PACKAGE} (has "
               f"{_s(first['recv_info']) or 'none'})", f"the UE must send Recv-Info: {USSD_PACKAGE}",
               "RFC 6086 5.2.2; 3GPP TS 24.390")]


def ussd_findings(source, *, messages: pd.DataFrame | None = None) -> pd.DataFrame:
    """What is wrong in the USSD sessions of a capture, frame by frame.

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    messages : pandas.DataFrame, optional
        :func:`ussd_messages` of `source`, when already computed.

    Returns
    -------
    pandas.DataFrame
        frame, severity, check (``ussd.info_outside_dialog``, ``ussd.info_package``,
        ``ussd.content_disposition``, ``ussd.info_overlap``, ``ussd.body``,
        ``ussd.nonstandard_body``, ``ussd.recv_info``, ``ussd.package_not_accepted``),
        finding, fix, reference. Only
        the UE's hop is checked, so a proxy's copy of a message is not reported twice.

    References
    ----------
    RFC 6086 sections 4.2 (INFO within an invite dialog usage, 469 Bad Info Package),
    5 (Recv-Info, Info-Package), 9.3 (Content-Disposition Info-Package); RFC 3261 12.2;
    3GPP TS 24.390.

    Examples
    --------
    >>> from labkit import data
    >>> ussd_findings(data.path("ussd_seed_405"))["check"].tolist()
    ['ussd.info_outside_dialog', 'ussd.info_package', 'ussd.content_disposition', 'ussd.nonstandard_body']
    >>> len(ussd_findings(data.path("ussd_in_dialog")))
    0
    """
    import pandas as pd
    m = ussd_messages(source) if messages is None else messages
    rows = []
    for _, group in m.groupby("call_id", sort=False):
        ue, hop = _ue_hop(group)
        tags = _dialog_tags(hop)
        for _, req in hop[(hop["method"] == "INFO") & hop["has_ussd"]].iterrows():
            rows += _info_findings(hop, req, tags)
        rows += _pending_info(hop) + _body_findings(hop) + _recv_info_findings(hop) + _peer_package(hop, ue)
    df = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return df.sort_values(["frame"], kind="stable").reset_index(drop=True)
