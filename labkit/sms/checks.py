"""Doctor checks of SMS over IMS: the rules of :func:`labkit.sms.diagnose_sms`.

References: 3GPP TS 24.341, TS 24.011 (RP), TS 23.040 (TP).
"""
from __future__ import annotations

from labkit.findings import SEVERITIES, Finding, Skip, register_check

__all__: list[str] = []


@register_check("sms.rules", notebook="03_iphone_mt_sms_rp_da.ipynb")
def _sms_rules(ctx) -> list[Finding]:
    """Every SMS diagnosis rule (RP-DA in MT RP-DATA, RP-OA, Content-Type, delivery...)."""
    from labkit.sms import diagnose_sms, sms_messages
    table = sms_messages(ctx.sip)
    if not len(table):
        raise Skip("no SIP MESSAGE carrying SMS (application/vnd.3gpp.sms)")
    rows = diagnose_sms(ctx.sip, sms=table)
    return [Finding(r.severity, "sms.rules", r.finding, f"frame {r.frame}", f"rule {r.rule}", r.fix or "",
                    "03_iphone_mt_sms_rp_da.ipynb -p CAPTURE <file>")
            for r in rows.itertuples() if r.severity in SEVERITIES]
