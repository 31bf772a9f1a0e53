"""SIP digest authentication in a capture: why was the REGISTER refused?

A registrar (or an IMS S-CSCF) answers a request with 401 + ``WWW-Authenticate`` (a proxy
with 407 + ``Proxy-Authenticate``); the UA repeats the request with ``Authorization``
(``Proxy-Authorization``). This module pairs every challenge with the request that
answers it and the final response to that request, checks the credentials field by
field against the challenge and the request (realm, username, nonce, stale, nc, uri,
algorithm, qop, opaque) and, given the password or the HA1, recomputes the response with
:mod:`labkit.sip.digest` (whose names it re-exports); then it names the cause of each
refusal and the fix.

In fixed-line IMS (subscribers without a SIM, 3GPP TS 33.203 Annex N) the username is
the IMPI (``user@domain``), the HSS gives the S-CSCF the HA1 (TS 29.229 Digest-HA1), and
the S-CSCF makes the nonce and checks the response: the same arithmetic.
"""
from __future__ import annotations

import re

import pandas as pd

from labkit.errors import LabkitError
from labkit.sip.messages import as_messages
from labkit.sip.digest import *  # noqa: F401,F403
from labkit.sip.digest import __all__ as _digest_all
from labkit.sip.digest import (DigestCredentials, digest_ha1, digest_response,
                               parse_challenge, parse_credentials)

__all__ = [*_digest_all, "auth_challenges", "auth_attempts", "diagnose_auth", "auth_verdicts",
           "CHALLENGE_COLUMNS", "ATTEMPT_COLUMNS", "CHECK_COLUMNS", "VERDICT_COLUMNS"]


# ---------------------------------------------------------------------------------------
# In a capture: challenges, the requests that answer them, and what differs

CHALLENGE_COLUMNS = ["frame", "time", "status", "header", "call_id", "cseq", "cseq_method",
                     "realm", "nonce", "qop", "algorithm", "opaque", "stale", "problem"]
ATTEMPT_COLUMNS = ["frame", "time", "method", "request_uri", "call_id", "cseq", "header",
                   "username", "realm", "nonce", "uri", "algorithm", "qop", "nc", "cnonce",
                   "opaque", "response", "body", "challenge_frame", "answer_frame",
                   "answer_status", "answer_reason"]
CHECK_COLUMNS = ["frame", "field", "challenge", "sent", "ok", "why", "fix"]
VERDICT_COLUMNS = ["frame", "method", "username", "answer_frame", "answer_status", "cause",
                   "verdict", "fix"]
_CHALLENGE_HEADER = {401: "www-authenticate", 407: "proxy-authenticate"}
_CREDENTIALS_HEADER = {"www-authenticate": "authorization",
                       "proxy-authenticate": "proxy-authorization"}


def _header_values(headers, name: str) -> list[str]:
    return [v for n, v in headers if n == name]


def auth_challenges(packets_or_messages) -> pd.DataFrame:
    """Every Digest challenge in a capture: one row per WWW-/Proxy-Authenticate header.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        frame, time [s since the first frame], status (401/407), header, call_id, cseq,
        cseq_method, realm, nonce, qop (offered, comma-joined), algorithm, opaque, stale
        (bool), problem (a 401/407 without its challenge header, or one that does not
        parse; else None).

    References
    ----------
    RFC 3261 sections 22.1-22.3 (401 with WWW-Authenticate, 407 with
    Proxy-Authenticate), 20.27, 20.44.

    Examples
    --------
    >>> from labkit import data
    >>> ch = auth_challenges(data.path("register_digest_wrong_password"))
    >>> c = ch.iloc[0]
    >>> int(c.status), c.realm, c.algorithm, c.qop
    (401, 'lab.example', 'MD5', 'auth')
    """
    msgs = as_messages(packets_or_messages)
    rows = []
    for m in msgs[msgs["status"].isin(list(_CHALLENGE_HEADER))].itertuples():
        name = _CHALLENGE_HEADER[int(m.status)]
        base = {"frame": m.frame, "time": m.time, "status": int(m.status), "header": name,
                "call_id": m.call_id, "cseq": m.cseq, "cseq_method": m.cseq_method}
        values = _header_values(m.headers, name)
        if not values:
            rows.append({**base, "problem": f"{m.status} without {name} (RFC 3261 section 22)"})
        for v in values:
            try:
                c = parse_challenge(v, where=f"frame {m.frame}")
            except LabkitError as exc:
                rows.append({**base, "problem": str(exc)})
                continue
            rows.append({**base, "realm": c.realm, "nonce": c.nonce, "qop": ",".join(c.qop),
                         "algorithm": c.algorithm, "opaque": c.opaque, "stale": c.stale,
                         "problem": None})
    return pd.DataFrame(rows, columns=CHALLENGE_COLUMNS)


def auth_attempts(packets_or_messages, challenges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every request carrying Digest credentials, with its challenge and its answer.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    challenges : pandas.DataFrame, optional
        :func:`auth_challenges` of the same messages (computed when not given).

    Returns
    -------
    pandas.DataFrame
        frame, time [s], method, request_uri, call_id, cseq, header, the credentials'
        username, realm, nonce, uri, algorithm, qop, nc, cnonce, opaque, response; body
        (bytes, for auth-int); challenge_frame (the last earlier challenge of the same
        kind in the same Call-ID, the one with this nonce when several; else an earlier
        challenge anywhere with this nonce; else None); answer_frame, answer_status,
        answer_reason (the first final response with the same Call-ID, CSeq and method).

    Raises
    ------
    DecodeError
        When a credentials header does not parse (the message names the frame).

    References
    ----------
    RFC 3261 sections 22.2 and 22.3 (the retried request has a new CSeq, the same
    Call-ID), 17.1.1 (final responses).

    Examples
    --------
    >>> from labkit import data
    >>> at = auth_attempts(data.path("register_digest_wrong_password"))
    >>> a = at.iloc[0]
    >>> a.method, a.username, int(a.answer_status), a.uri == a.request_uri
    ('REGISTER', 'alice', 401, False)
    """
    msgs = as_messages(packets_or_messages)
    ch = auth_challenges(msgs) if challenges is None else challenges
    ch = ch[ch["problem"].isna()]
    finals = msgs[msgs["status"].fillna(0) >= 200]
    rows = []
    for m in msgs[msgs["method"].notna()].itertuples():
        for kind, name in _CREDENTIALS_HEADER.items():
            for v in _header_values(m.headers, name):
                c = parse_credentials(v, where=f"frame {m.frame}")
                rows.append(_attempt_row(m, name, c, _challenge_for(ch, m, kind, c.nonce),
                                         finals))
    return pd.DataFrame(rows, columns=ATTEMPT_COLUMNS)


def _challenge_for(ch, m, kind, nonce):
    earlier = ch[(ch["frame"] < m.frame) & (ch["header"] == kind)]
    same = earlier[earlier["call_id"] == m.call_id]
    for pool in (same[same["nonce"] == nonce], same, earlier[earlier["nonce"] == nonce]):
        if len(pool):
            return int(pool["frame"].iloc[-1])
    return None


def _attempt_row(m, name, c: DigestCredentials, challenge_frame, finals) -> dict:
    ans = finals[(finals["call_id"] == m.call_id) & (finals["cseq"] == m.cseq) &
                 (finals["cseq_method"] == m.method) & (finals["frame"] > m.frame)]
    a = ans.iloc[0] if len(ans) else None
    return {"frame": m.frame, "time": m.time, "method": m.method,
            "request_uri": m.request_uri, "call_id": m.call_id, "cseq": m.cseq,
            "header": name, "username": c.username, "realm": c.realm, "nonce": c.nonce,
            "uri": c.uri, "algorithm": c.algorithm, "qop": c.qop, "nc": c.nc,
            "cnonce": c.cnonce, "opaque": c.opaque, "response": c.response, "body": m.body,
            "challenge_frame": challenge_frame,
            "answer_frame": None if a is None else int(a["frame"]),
            "answer_status": None if a is None else int(a["status"]),
            "answer_reason": None if a is None else a["reason_phrase"]}


def _check(field, challenge, sent, ok, why="", fix=""):
    return {"field": field, "challenge": challenge, "sent": sent, "ok": ok, "why": why,
            "fix": fix}


def _check_nonce(a, c, ch):
    if c is None:
        return _check("nonce", None, a.nonce, False,
                      "no 401/407 in the capture issued this nonce",
                      "capture from before the first REGISTER; or the UA reuses a nonce "
                      "the registrar never gave it")
    if a.nonce == c["nonce"]:
        return _check("nonce", c["nonce"], a.nonce, True)
    older = ch[(ch["nonce"] == a.nonce) & (ch["frame"] < a.frame)]
    why = (f"an older nonce (frame {int(older['frame'].iloc[-1])}), not the one of the last "
           f"challenge" if len(older) else "not the nonce of the challenge")
    return _check("nonce", c["nonce"], a.nonce, False, why,
                  "answer the latest challenge with its nonce (RFC 2617 section 3.2.2)")


def _check_stale(a, ch):
    nxt = ch[(ch["call_id"] == a.call_id) & (ch["frame"] == a.answer_frame)]
    if not len(nxt) or not bool(nxt["stale"].iloc[0]):
        return _check("stale", None, None, True)
    return _check("stale", "true", "", False,
                  "the server found the nonce stale (expired or from before a restart): "
                  "the response itself was right",
                  "retry with the new nonce without asking for the password "
                  "(RFC 2617 section 3.2.1 stale); shorten the UA's re-REGISTER interval "
                  "or lengthen the registrar's nonce lifetime")


def _check_same(field, expected, sent, why, fix, known=True):
    if not known:
        return _check(field, None, sent, None, "no challenge to compare with")
    ok = (sent or "").lower() == (expected or "").lower() if field == "algorithm" \
        else sent == expected
    return _check(field, expected, sent, ok, "" if ok else why, "" if ok else fix)


def _check_username(a):
    user = a.username or ""
    if re.match(r"(?i)(sips?|tel):", user):
        return _check("username", None, user, False,
                      "a public identity (IMPU, SIP/tel URI) where the private identity "
                      "belongs", "set the auth username to the IMPI, user@domain "
                      "(3GPP TS 33.203 Annex N; TS 23.003 section 13.3)")
    if not user:
        return _check("username", None, user, False, "empty username", "set the auth user")
    why = "" if "@" in user else ("no domain: right for a plain SIP registrar; an IMS "
                                 "S-CSCF/HSS knows the IMPI as user@domain")
    return _check("username", None, user, True, why)


def _check_qop(a, c):
    offered = [q for q in (c["qop"] or "").split(",") if q] if c is not None else []
    if c is None:
        return _check("qop", None, a.qop, None, "no challenge to compare with")
    if not offered:
        ok = a.qop is None
        return _check("qop", "", a.qop, ok, "" if ok else "qop sent but none offered",
                      "" if ok else "send no qop/nc/cnonce when the challenge has no qop")
    if a.qop not in offered:
        return _check("qop", ",".join(offered), a.qop, False,
                      "qop missing or not one of the offered values",
                      "choose one offered qop (RFC 2617 section 3.2.2: MUST when offered)")
    if not a.cnonce or not re.fullmatch(r"[0-9a-fA-F]{8}", a.nc or ""):
        return _check("qop", ",".join(offered), a.qop, False,
                      "qop needs cnonce and nc (8 hex digits)", "send cnonce and nc")
    return _check("qop", ",".join(offered), a.qop, True)


def _check_nc(a, attempts):
    if not a.qop or not re.fullmatch(r"[0-9a-fA-F]{8}", a.nc or ""):
        return _check("nc", None, a.nc, True, "no qop: no nonce count")
    before = attempts[(attempts["nonce"] == a.nonce) & (attempts["frame"] < a.frame)
                      & attempts["nc"].notna()]
    used = [int(n, 16) for n in before["nc"] if re.fullmatch(r"[0-9a-fA-F]{8}", n)]
    if used and int(a.nc, 16) <= max(used):
        return _check("nc", f"> {max(used):08x}", a.nc, False,
                      "nonce count not increasing for this nonce: the server sees a replay",
                      "count nc up by one for every request with the same nonce "
                      "(RFC 2617 section 3.2.2)")
    return _check("nc", f"> {max(used):08x}" if used else None, a.nc, True)


def _hss_ha1(a, hss):
    """The last HA1 a Cx MAA gave for this username (and realm) before the attempt."""
    if hss is None or not len(hss):
        return None, None
    rows = hss[(hss["user"] == a.username) & (hss["frame"] < a.frame) &
               ((hss["realm"] == a.realm) | hss["realm"].isna())]
    return (None, None) if not len(rows) else (rows["ha1"].iloc[-1], int(rows["frame"].iloc[-1]))


def _check_response(a, password, ha1, hss=None):
    source = ""
    if password is None and ha1 is None:
        ha1, frame = _hss_ha1(a, hss)
        if ha1 is None:
            return _check("response", None, a.response, None,
                          "not checked: needs the password or the HA1")
        source = f" (HA1 from the HSS's Multimedia-Auth-Answer, frame {frame})"
    try:
        key = ha1 if ha1 is not None else digest_ha1(a.username or "", a.realm or "",
                                                     password, algorithm=a.algorithm)
        want = digest_response(ha1=key, method=a.method, uri=a.uri or "",
                               nonce=a.nonce or "", algorithm=a.algorithm, qop=a.qop,
                               nc=a.nc, cnonce=a.cnonce, body=a.body or b"")
    except LabkitError as exc:
        return _check("response", None, a.response, None, str(exc))
    ok = (a.response or "").lower() == want
    return _check("response", want, a.response, ok,
                  source.strip(" ()") if ok else "the UA hashed another password (or this "
                  f"HA1 is not the subscriber's){source}",
                  "" if ok else "set the same password on the UA and the registrar/HSS")


def diagnose_auth(packets_or_messages, *, password: str | None = None,
                  ha1: str | None = None, cx: pd.DataFrame | None = None) -> pd.DataFrame:
    """Check every Digest attempt of a capture field by field against its challenge.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    password : str, optional
        The subscriber's password: the response is recomputed from it.
    ha1 : str, optional
        Or its HA1 = H(username:realm:password) in hex (from the registrar's database
        or the HSS's Digest-HA1).
    cx : pandas.DataFrame, optional
        :func:`labkit.sip.cx.cx_digest_ha1` of the capture; read from the capture itself
        when a path or packets are given. Without a password or HA1, the response is
        checked with the HA1 the HSS sent for that username (and realm).

    Returns
    -------
    pandas.DataFrame
        One row per (attempt, field): frame, field (nonce, stale, realm, username, uri,
        algorithm, qop, opaque, nc, response), challenge (what the challenge or the
        request asks for; the expected response), sent, ok (True, False, or None when it
        cannot be checked), why, fix.

    References
    ----------
    RFC 2617 sections 3.2.1, 3.2.2 (qop, nc, cnonce, opaque, digest-uri = Request-URI),
    3.2.2.5; RFC 7616 section 3.4; RFC 3261 section 22.4; 3GPP TS 33.203 Annex N.

    Examples
    --------
    >>> from labkit import data
    >>> d = diagnose_auth(data.path("register_digest_wrong_password"), password="secret-alice")
    >>> d[d["field"] == "response"][["frame", "ok"]].values.tolist()
    [[3, False]]
    """
    if cx is None and not isinstance(packets_or_messages, pd.DataFrame):
        from labkit.sip.cx import cx_digest_ha1
        cx = cx_digest_ha1(packets_or_messages)     # a path: read chunk by chunk
    msgs = as_messages(packets_or_messages)
    ch = auth_challenges(msgs)
    ok_ch = ch[ch["problem"].isna()]
    at = auth_attempts(msgs, ch)
    rows = []
    for a in at.itertuples():
        c = ok_ch[ok_ch["frame"] == a.challenge_frame]
        c = c[c["nonce"] == a.nonce].iloc[0] if (c["nonce"] == a.nonce).any() else \
            (c.iloc[0] if len(c) else None)
        checks = [
            _check_nonce(a, c, ok_ch), _check_stale(a, ok_ch),
            _check_same("realm", None if c is None else c["realm"], a.realm,
                        "realm differs from the challenge's: the server's HA1 is made with "
                        "its own realm", "use the challenge's realm (in IMS: the home "
                        "domain the HSS has as Digest-Realm)", c is not None),
            _check_username(a),
            _check_same("uri", a.request_uri, a.uri, "uri differs from the Request-URI",
                        "send the Request-URI unchanged as uri (RFC 2617 section 3.2.2.5)"),
            _check_same("algorithm", None if c is None else c["algorithm"], a.algorithm,
                        "algorithm not the one challenged", "answer with the challenge's "
                        "algorithm (RFC 7616 section 3.4)", c is not None),
            _check_qop(a, c),
            _check_same("opaque", None if c is None else c["opaque"], a.opaque,
                        "opaque not returned unchanged", "echo opaque as received",
                        c is not None),
            _check_nc(a, at), _check_response(a, password, ha1, cx)]
        rows += [{"frame": a.frame, **k} for k in checks]
    out = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    out["ok"] = pd.Series([r["ok"] for r in rows], index=out.index, dtype=object)  # True/False/None
    return out


_CAUSE_ORDER = ("nonce", "realm", "username", "algorithm", "qop", "opaque", "nc", "stale",
                "response")
_SOFT = ("uri",)   # RFC 2617 3.2.2.5 says SHOULD check; kamailio 5.6 does not


def auth_verdicts(packets_or_messages, *, password: str | None = None,
                  ha1: str | None = None, diagnosis: pd.DataFrame | None = None) -> pd.DataFrame:
    """One verdict per Digest attempt: accepted, or why it was refused and what to fix.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    password, ha1 : str, optional
        As for :func:`diagnose_auth`.
    diagnosis : pandas.DataFrame, optional
        :func:`diagnose_auth` of the same capture (computed when not given).

    Returns
    -------
    pandas.DataFrame
        frame, method, username, answer_frame, answer_status, cause (the first failing
        field in the order nonce, realm, username, algorithm, qop, opaque, nc, stale,
        response (an nc replay comes before stale: kamailio answers it with stale=true);
        uri only when nothing else explains a refusal (servers that do not compare it
        with the Request-URI, such as kamailio 5.6, accept it); "policy" for a 403 after a correct response; "password?" when a
        refusal has no other cause and the hash could not be checked; "policy?" for such
        a 403; "accepted" for a 2xx; "unanswered"), verdict (a sentence), fix.

    References
    ----------
    RFC 3261 sections 21.4.2 (401), 21.4.4 (403), 22.4; RFC 2617 section 3.2.2.

    Examples
    --------
    >>> from labkit import data
    >>> v = auth_verdicts(data.path("register_digest_wrong_password"), password="secret-alice")
    >>> int(v.loc[0, "answer_status"]), v.loc[0, "cause"]
    (401, 'response')
    """
    if not isinstance(packets_or_messages, pd.DataFrame):
        from labkit.sip.cx import cx_digest_ha1
        cx = cx_digest_ha1(packets_or_messages) if diagnosis is None else None
        packets_or_messages = as_messages(packets_or_messages)   # a path: chunk by chunk
    else:
        cx = None
    if diagnosis is None:
        diagnosis = diagnose_auth(packets_or_messages, password=password, ha1=ha1, cx=cx)
    msgs = as_messages(packets_or_messages)
    diag = diagnosis
    at = auth_attempts(msgs)
    rows = []
    for a in at.itertuples():
        d = diag[diag["frame"] == a.frame].set_index("field")
        rows.append({"frame": a.frame, "method": a.method, "username": a.username,
                     "answer_frame": a.answer_frame, "answer_status": a.answer_status,
                     **_verdict(a, d)})
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _verdict(a, d) -> dict:
    status = a.answer_status
    failed = [f for f in _CAUSE_ORDER if f in d.index and _is(d.loc[f, "ok"], False)]
    soft = [f for f in _SOFT if f in d.index and _is(d.loc[f, "ok"], False)]
    if status is not None and 200 <= status < 300:
        note = "".join(f"; {f} looked wrong ({d.loc[f, 'why']}): this server does not check "
                       f"it, a stricter one would refuse" for f in failed + soft)
        return {"cause": "accepted", "verdict": f"accepted ({status}){note}",
                "fix": "; ".join(d.loc[f, "fix"] for f in failed + soft)}
    if status is None:
        return {"cause": "unanswered", "verdict": "no final answer in the capture", "fix": ""}
    if failed:
        f = failed[0]
        return {"cause": f, "verdict": f"{_answer(status)}: {f}: {d.loc[f, 'why']}",
                "fix": d.loc[f, "fix"]}
    checked = "response" in d.index and _is(d.loc["response", "ok"], True)
    if status == 403 and checked:
        return {"cause": "policy", "verdict": "403 after a correct response: the password is "
                "right; the registrar refuses for another reason (identity not provisioned, "
                "barred, IMPI/IMPU not associated)", "fix": "check the subscriber's "
                "provisioning in the registrar/HSS, not the password"}
    if soft and checked:
        f = soft[0]
        return {"cause": f, "verdict": f"{_answer(status)}: {f}: {d.loc[f, 'why']}",
                "fix": d.loc[f, "fix"]}
    if status in (401, 407) and checked:
        return {"cause": "server credentials", "verdict": f"{_answer(status)} although the "
                "response matches the password given here: the registrar holds another "
                "password/HA1 for this user (or another realm)", "fix": "compare the "
                "registrar's or HSS's stored credentials with the UA's"}
    also = "".join(f" ({f} differs too: {d.loc[f, 'why']})" for f in soft)
    if status == 403:
        return {"cause": "policy?", "verdict": f"refused with 403, not 401: the server does "
                f"not ask again, so it is not the password it doubts; provisioning or "
                f"policy is the likely cause{also}", "fix": "check the subscriber's "
                "provisioning; give the password or HA1 to confirm the response"}
    return {"cause": "password?", "verdict": f"{_answer(status)}: every field matches the "
            f"challenge; the hash could not be checked (no password or HA1 given): the "
            f"password is the likely cause{also}", "fix": "run again with the password or HA1"}


def _is(value, want: bool) -> bool:
    return value is not None and not pd.isna(value) and bool(value) == want


def _answer(status) -> str:
    return "no answer" if status is None else f"refused with {status}"
