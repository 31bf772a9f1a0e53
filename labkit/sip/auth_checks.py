"""Doctor checks of SIP digest authentication and iFC routing (notebooks 08 and 09).

Named ``auth_checks`` (not ``checks``) so it never collides with the SIP header checks
of another notebook; :func:`labkit.doctor.discover_checks` imports every ``*_checks``
module. References: RFC 2617, RFC 7616, RFC 3261 section 22; 3GPP TS 29.228 Annex B.
"""
from __future__ import annotations

from labkit.findings import Finding, Skip, register_check

__all__: list[str] = []

_NB08 = "08_register_digest_auth.ipynb"
_NB09 = "09_ifc_which_as.ipynb"


@register_check("sip.auth", notebook=_NB08)
def _digest(ctx) -> list[Finding]:
    """Digest attempts refused (and why), or accepted with a field a stricter server refuses."""
    from labkit.sip.auth import auth_attempts, auth_verdicts, diagnose_auth
    from labkit.sip.cx import cx_digest_ha1
    if not len(auth_attempts(ctx.sip)):
        raise Skip("no request with Authorization / Proxy-Authorization")
    d = diagnose_auth(ctx.sip, password=ctx.password, ha1=ctx.ha1, cx=cx_digest_ha1(ctx.packets))
    v = auth_verdicts(ctx.sip, diagnosis=d)
    out = []
    for cause, rows in v.groupby("cause", sort=True):
        if cause == "unanswered":
            continue
        first = rows.iloc[0]
        frames = ", ".join(str(f) for f in rows["frame"][:8]) + (" ..." if len(rows) > 8 else "")
        if cause == "accepted":
            if not first["fix"]:
                continue
            out.append(Finding("info", "sip.auth", f"{len(rows)} digest attempt(s) accepted "
                               f"although a field differs", f"frame(s) {frames}",
                               first["verdict"], first["fix"], f"{_NB08} -p CAPTURE <file>"))
            continue
        sev = "warning" if cause in ("stale", "password?", "policy?") else "error"
        out.append(Finding(sev, "sip.auth", f"{len(rows)} {first['method']} refused "
                           f"({first['answer_status']}): {cause}", f"frame(s) {frames}",
                           first["verdict"], first["fix"],
                           f"{_NB08} -p CAPTURE <file> -p PASSWORD <password>"))
    return out


@register_check("sip.ifc", notebook=_NB09, needs=("ifc",))
def _ifc(ctx) -> list[Finding]:
    """The iFC lint, and where each initial request goes (and engines that disagree)."""
    from labkit.sip.ifc import compare_dialects, initial_requests, lint_ifcs, parse_ifc, route_request
    ifcs = parse_ifc(ctx.ifc)
    out = [Finding(f.severity, "sip.ifc", f.what, f"{ctx.ifc.name} line {f.line} "
                   f"(priority {f.priority})", "TS 29.228 Annex B.2.2", f.fix,
                   f"{_NB09} -p IFC <xml>") for f in lint_ifcs(ifcs).itertuples()]
    requests = initial_requests(ctx.sip)
    if not requests and not out:
        raise Skip("no initial SIP request in the capture")
    for r in requests:
        out.append(Finding("info", "sip.ifc", route_request(ifcs, r).answer,
                           f"frame {r.frame}", f"session case from {r.session_case_source}",
                           "", f"{_NB09} -p IFC <xml> -p CAPTURE <file>"))
        d = compare_dialects(ifcs, r)
        for row in d[~d["agree"]].itertuples():
            out.append(Finding("warning", "sip.ifc", f"engines disagree on iFC priority "
                               f"{row.priority}: spec {row.spec}, kamailio {row.kamailio}, "
                               f"sprout {row.sprout}", f"frame {r.frame}",
                               "Method prefix / case-insensitive regex in kamailio ims_isc",
                               "write methods in full and regexes that do not depend on case",
                               f"{_NB09} -p DIALECT kamailio"))
    return out
