"""SIP header checks: lists, option tags, and the 420 Bad Extension case.

Headers are read as RFC 3261 7.3 says: names case-insensitive with compact forms
(:data:`labkit.sip.COMPACT_HEADERS`), folded lines joined by one space (done by
:func:`labkit.sip.parse_sip`), and repeated lines of a comma-list header (Via,
Record-Route, Route, Require, Supported, X- headers...) equal to one line with the
values joined by commas, except the headers whose values contain commas
(WWW-Authenticate, Authorization and the like, RFC 3261 7.3.1).

:func:`header_findings` lists what is wrong in a capture's headers, naming the frames:
a 420 Bad Extension (RFC 3261 8.2.2.3) with the option tag it refused, which hop kept
that tag and where to strip it (sec-agree, RFC 3329, belongs to the UE-P-CSCF hop only,
TS 24.229); in-dialog requests refused while the initial INVITE worked; in-dialog
requests without a To tag; a Call-ID reused by unrelated dialogs.
"""
from __future__ import annotations

import re


from labkit.sip.messages import COMPACT_HEADERS, as_messages, sip_messages

__all__ = ["header_values", "option_tags", "via_count", "header_findings", "FINDING_COLUMNS",
           "NOT_COMMA_SEPARATED", "IN_DIALOG_METHODS"]

#: Headers whose single values contain commas: repeated lines are kept apart, never split
#: (RFC 3261 7.3.1 and 20.7, 20.27, 20.28, 20.44; RFC 3329 Security-* are lists).
NOT_COMMA_SEPARATED = frozenset({"www-authenticate", "authorization", "proxy-authenticate",
                                 "proxy-authorization", "date", "authentication-info",
                                 "subject", "user-agent", "server", "organization"})

#: Requests that only exist inside a dialog, so they must carry a To tag (RFC 3261 15,
#: 12.2; RFC 3262 PRACK; RFC 3311 UPDATE; RFC 6086 4.2.1 INFO).
IN_DIALOG_METHODS = ("ACK", "BYE", "INFO", "PRACK", "UPDATE")

FINDING_COLUMNS = ["frame", "severity", "check", "finding", "fix", "reference"]

_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)(?![^<]*>)')


def _name(name: str) -> str:
    name = name.strip().lower()
    return COMPACT_HEADERS.get(name, name)


def header_values(headers, name: str) -> list[str]:
    """Every value of header `name`, repeated lines and comma lists flattened.

    Parameters
    ----------
    headers : tuple of (name, value)
        :attr:`labkit.sip.SipMessage.headers` or the ``headers`` column of
        :func:`labkit.sip.sip_messages` (lower-case full names).
    name : str
        Header name in any case, or its compact form ("v" for Via).

    Returns
    -------
    list of str
        One item per value, in order; commas inside quotes or <> do not split.

    References
    ----------
    RFC 3261 section 7.3.1 (multiple header field rows = one comma-separated row) and
    7.3.3 (compact forms).

    Examples
    --------
    >>> h = (("via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2"),
    ...      ("via", "SIP/2.0/UDP c;branch=z9hG4bK3"), ("x-nicktest", "one"), ("x-nicktest", "two"))
    >>> len(header_values(h, "v")), header_values(h, "X-NickTest")
    (3, ['one', 'two'])
    >>> header_values((("www-authenticate", 'Digest realm="a", nonce="b"'),), "WWW-Authenticate")
    ['Digest realm="a", nonce="b"']
    """
    name = _name(name)
    lines = [v for n, v in headers if n == name]
    if name in NOT_COMMA_SEPARATED:
        return [v.strip() for v in lines]
    return [part.strip() for line in lines for part in _SPLIT.split(line) if part.strip()]


def option_tags(headers, name: str) -> list[str]:
    """Lower-case option tags of Require, Proxy-Require, Supported or Unsupported.

    Parameters
    ----------
    headers : tuple of (name, value)
    name : str
        "Require", "Proxy-Require", "Supported" (or "k") or "Unsupported".

    Returns
    -------
    list of str

    References
    ----------
    RFC 3261 sections 19.2 (option tags are case-sensitive tokens; compared here
    lower-cased as every registered tag is lower case), 20.29, 20.32, 20.37, 20.40.

    Examples
    --------
    >>> option_tags((("require", "sec-agree"), ("supported", "100rel, Timer")), "k")
    ['100rel', 'timer']
    """
    return [t.lower() for t in header_values(headers, name)]


def via_count(headers) -> int:
    """Number of Via values (hops the message has been through), over every Via line.

    Parameters
    ----------
    headers : tuple of (name, value)

    Returns
    -------
    int

    References
    ----------
    RFC 3261 sections 8.1.1.7 and 16.6 (each proxy adds one Via value).

    Examples
    --------
    >>> via_count((("via", "SIP/2.0/UDP a;branch=z9hG4bK1,SIP/2.0/UDP b;branch=z9hG4bK2"),))
    2
    """
    return len(header_values(headers, "via"))


# --------------------------------------------------------------------------------------
# Findings


def _request_of(msgs: pd.DataFrame, resp) -> pd.Series | None:
    """The request a response answers on the same hop (Call-ID, CSeq, reversed addresses)."""
    hit = msgs[(msgs["call_id"] == resp["call_id"]) & (msgs["cseq"] == resp["cseq"])
               & (msgs["method"] == resp["cseq_method"]) & (msgs["src"] == resp["dst"])
               & (msgs["sport"] == resp["dport"]) & (msgs["dst"] == resp["src"])
               & (msgs["frame"] < resp["frame"])]
    return hit.iloc[-1] if len(hit) else None


def _upstream(msgs: pd.DataFrame, req) -> pd.Series | None:
    """The same request as it arrived at the host that sent `req` (the previous hop)."""
    hit = msgs[(msgs["call_id"] == req["call_id"]) & (msgs["cseq"] == req["cseq"])
               & (msgs["method"] == req["method"]) & (msgs["dst"] == req["src"])
               & (msgs["frame"] < req["frame"])]
    return hit.iloc[-1] if len(hit) else None


def _required(req) -> list[str]:
    return sorted(set(option_tags(req["headers"], "require")) | set(option_tags(req["headers"], "proxy-require")))


def _hop(row) -> str:
    return f"{row['src']}:{int(row['sport'])} -> {row['dst']}:{int(row['dport'])}"


def _initial_ok(msgs, req) -> pd.Series | None:
    """The 2xx to the initial INVITE of `req`'s dialog on the same hop, if any."""
    ok = msgs[(msgs["call_id"] == req["call_id"]) & (msgs["cseq_method"] == "INVITE")
              & (msgs["status"].fillna(0) >= 200) & (msgs["status"].fillna(0) < 300)
              & (msgs["src"] == req["dst"]) & (msgs["dst"] == req["src"]) & (msgs["frame"] < req["frame"])
              & (msgs["cseq"] < req["cseq"])]
    return ok.iloc[0] if len(ok) else None


def _bad_extension(msgs, resp) -> list[dict]:
    req = _request_of(msgs, resp)
    refused = option_tags(resp["headers"], "unsupported")
    where = f"frame {int(resp['frame'])}"
    if req is None:
        return [_finding(resp, "error", "sip.bad_extension",
                         f"{where}: 420 Bad Extension (Unsupported: {', '.join(refused) or 'none'}) "
                         f"to a request not in the capture", "capture the hop the request took",
                         "RFC 3261 8.2.2.3")]
    kind = "in-dialog " if isinstance(req["to_tag"], str) else ""
    text = (f"{where}: {resp['src']}:{int(resp['sport'])} answered the {kind}{req['method']} of frame "
            f"{int(req['frame'])} with 420 Bad Extension, Unsupported: {', '.join(refused) or '(none)'}; "
            f"the request required {', '.join(_required(req)) or 'nothing'}")
    ok = _initial_ok(msgs, req) if kind else None
    if ok is not None:
        text += f"; the initial INVITE on this hop was answered {int(ok['status'])} (frame {int(ok['frame'])})"
    return [_finding(resp, "error", "sip.bad_extension", text, _fix(msgs, req, refused),
                     "RFC 3261 8.2.2.3, 20.32, 20.40; RFC 3329 2.3; 3GPP TS 24.229 5.2.2, 5.4.1")]


def _fix(msgs, req, refused) -> str:
    up = _upstream(msgs, req)
    relay = f"{req['src']}:{int(req['sport'])}"
    if "sec-agree" in refused:
        kept = up is not None and "sec-agree" in _required(up)
        origin = f" (it came in from {up['src']}:{int(up['sport'])}, frame {int(up['frame'])})" if kept else ""
        return (f"sec-agree belongs to the UE-P-CSCF hop only: {relay} forwarded Require/Proxy-Require: "
                f"sec-agree{origin}. Strip Require/Proxy-Require sec-agree and Security-Verify there "
                f"(P-CSCF; or in the S-CSCF before the AS), for in-dialog requests too")
    if up is not None and set(refused) & set(_required(up)):
        return (f"{relay} relayed the Require tags it received; strip them there or give the far end "
                f"the extension")
    return f"the sender {relay} required an extension the far end lacks: do not require it"


def _relayed(msgs, resp) -> bool:
    """True when `resp` is a proxy's copy of the same response it received downstream."""
    return bool(((msgs["call_id"] == resp["call_id"]) & (msgs["cseq"] == resp["cseq"])
                 & (msgs["status"] == resp["status"]) & (msgs["dst"] == resp["src"])
                 & (msgs["frame"] < resp["frame"])).any())


def _sec_agree_beyond_first_hop(msgs) -> list[dict]:
    out, seen = [], set()
    for _, req in msgs[msgs["method"].notna()].iterrows():
        if "sec-agree" not in _required(req):
            continue
        up = _upstream(msgs, req)
        key = (req["src"], req["dst"], req["method"])
        if up is None or key in seen:
            continue
        seen.add(key)
        out.append(_finding(req, "warning", "sip.sec_agree_forwarded",
                            f"frame {int(req['frame'])}: {req['method']} on {_hop(req)} still requires "
                            f"sec-agree, relayed from frame {int(up['frame'])}",
                            f"strip sec-agree (Require, Proxy-Require, Security-Verify) at {req['src']}",
                            "RFC 3329 2.3; 3GPP TS 24.229 5.2.2"))
    return out


def _refused_in_dialog(msgs) -> list[dict]:
    out = []
    for _, resp in msgs[(msgs["status"].fillna(0) >= 400) & msgs["cseq_method"].isin(["INVITE", "UPDATE"])].iterrows():
        if int(resp["status"]) == 420:
            continue   # explained by sip.bad_extension
        req = _request_of(msgs, resp)
        if req is None or not isinstance(req["to_tag"], str):
            continue
        ok = _initial_ok(msgs, req)
        if ok is not None:
            out.append(_finding(resp, "warning", "sip.in_dialog_refused",
                                f"frame {int(resp['frame'])}: {int(resp['status'])} {resp['reason_phrase']} to the "
                                f"in-dialog {req['method']} of frame {int(req['frame'])}, while the initial INVITE "
                                f"worked (frame {int(ok['frame'])})",
                                "compare the re-INVITE's headers and SDP with the initial INVITE's",
                                "RFC 3261 14.2"))
    return out


def _missing_to_tag(msgs) -> list[dict]:
    out = []
    for _, req in msgs[msgs["method"].isin(IN_DIALOG_METHODS) & msgs["to_tag"].isna()].iterrows():
        answer = msgs[(msgs["call_id"] == req["call_id"]) & (msgs["cseq"] == req["cseq"])
                      & (msgs["cseq_method"] == req["method"]) & msgs["status"].notna()
                      & (msgs["frame"] > req["frame"])]
        got = f"; answered {int(answer.iloc[0]['status'])} (frame {int(answer.iloc[0]['frame'])})" if len(answer) else ""
        out.append(_finding(req, "error", "sip.missing_to_tag",
                            f"frame {int(req['frame'])}: {req['method']} without a To tag: outside any dialog{got}",
                            "send it inside the dialog: To and From tags, Call-ID and route set of the dialog",
                            "RFC 3261 12.2.1.1, 15; RFC 6086 4.2.1 (INFO), 481 per RFC 3261 12.2.2"))
    return out


def _call_id_reused(msgs) -> list[dict]:
    out = []
    initial = msgs[msgs["method"].notna() & msgs["to_tag"].isna() & ~msgs["method"].isin(["ACK", "CANCEL"])]
    for call_id, group in initial.groupby("call_id", sort=False):
        tags = list(dict.fromkeys(t for t in group["from_tag"] if isinstance(t, str)))
        if len(tags) > 1:
            second = group[group["from_tag"] == tags[1]].iloc[0]
            out.append(_finding(second, "warning", "sip.call_id_reused",
                                f"frame {int(second['frame'])}: Call-ID {call_id} used by unrelated requests "
                                f"(From tags {', '.join(tags)}): {second['method']} starts a new dialog",
                                "a new dialog needs a new Call-ID; a request of an existing dialog needs its tags",
                                "RFC 3261 8.1.1.4, 12"))
    return out


def _finding(row, severity, check, finding, fix, reference) -> dict:
    return {"frame": int(row["frame"]), "severity": severity, "check": check, "finding": finding,
            "fix": fix, "reference": reference}


def header_findings(source) -> pd.DataFrame:
    """What is wrong in the headers of a capture's SIP messages, frame by frame.

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        frame, severity ("error", "warning"), check (``sip.bad_extension``,
        ``sip.sec_agree_forwarded``, ``sip.in_dialog_refused``, ``sip.missing_to_tag``,
        ``sip.call_id_reused``), finding, fix, reference; sorted by frame.

    References
    ----------
    RFC 3261 sections 8.2.2.3 (420 and Unsupported), 12 (dialogs), 16 (proxies ignore
    Require but honour Proxy-Require); RFC 3329 (sec-agree, UE-P-CSCF only); 3GPP TS
    24.229 5.2.2 (the P-CSCF removes sec-agree); RFC 6086 4.2.1 (INFO only in a dialog).

    Examples
    --------
    >>> from labkit import data
    >>> f = header_findings(data.path("flow_sec_agree_420"))
    >>> f[["frame", "check"]].values.tolist()
    [[10, 'sip.sec_agree_forwarded'], [11, 'sip.bad_extension']]
    >>> print(f.loc[1, "fix"])  # doctest: +NORMALIZE_WHITESPACE
    sec-agree belongs to the UE-P-CSCF hop only: 127.0.42.10:42060 forwarded Require/Proxy-Require:
    sec-agree (it came in from 127.0.42.1:42001, frame 8). Strip Require/Proxy-Require sec-agree and
    Security-Verify there (P-CSCF; or in the S-CSCF before the AS), for in-dialog requests too
    >>> len(header_findings(data.path("flow_sec_agree_fixed")))
    0
    """
    import pandas as pd
    msgs = as_messages(source)
    if not len(msgs):
        return pd.DataFrame(columns=FINDING_COLUMNS)
    rows = []
    for _, resp in msgs[msgs["status"] == 420].iterrows():
        if not _relayed(msgs, resp):   # a proxy's copy of the far end's 420: same story
            rows += _bad_extension(msgs, resp)
    rows += _sec_agree_beyond_first_hop(msgs) + _refused_in_dialog(msgs)
    rows += _missing_to_tag(msgs) + _call_id_reused(msgs)
    df = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return df.sort_values(["frame", "check"], kind="stable").reset_index(drop=True)
