"""Doctor checks of SIP headers and USSD: the findings of :func:`labkit.sip.header_findings`
and :func:`labkit.sip.ussd_findings`.

References: RFC 3261 8.2.2.3 (420 Bad Extension), 12 (dialogs); RFC 3329 (sec-agree);
RFC 6086 (INFO); 3GPP TS 24.229, TS 24.390.
"""
from __future__ import annotations

from labkit.findings import Finding, Skip, register_check

__all__: list[str] = []

_FLOW = "06_call_flow_ladder.ipynb"
_USSD = "07_ussd_over_ims.ipynb"


@register_check("sip.headers", notebook=_FLOW)
def _headers(ctx) -> list[Finding]:
    """420 Bad Extension and the hop that kept sec-agree; in-dialog refusals; missing To tags; reused Call-IDs."""
    from labkit.sip import header_findings
    if not len(ctx.sip):
        raise Skip("no SIP in the capture")
    rows = header_findings(ctx.sip)
    return [Finding(r.severity, "sip.headers", r.finding, f"frame {r.frame}", f"{r.check}; {r.reference}",
                    r.fix, f"{_FLOW} -p CAPTURE <file>") for r in rows.itertuples()]


@register_check("sip.ussd", notebook=_USSD)
def _ussd(ctx) -> list[Finding]:
    """USSD over IMS: INFO outside the dialog, Info-Package, Content-Disposition, bodies."""
    from labkit.sip import ussd_findings, ussd_messages
    msgs = ussd_messages(ctx.sip)
    if not len(msgs):
        raise Skip("no USSD session (no application/vnd.3gpp.ussd+xml body or g.3gpp.ussd package)")
    rows = ussd_findings(ctx.sip, messages=msgs)
    return [Finding(r.severity, "sip.ussd", r.finding, f"frame {r.frame}", f"{r.check}; {r.reference}",
                    r.fix, f"{_USSD} -p CAPTURE <file>") for r in rows.itertuples()]
