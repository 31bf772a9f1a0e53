"""Doctor checks of codec negotiation: failed calls and offer/answer problems, as
:func:`labkit.freeswitch.negotiation.call_verdicts` (``labkit codecs``) explains them.

References: RFC 3264 section 6, RFC 4867 section 8.3.1, FreeSWITCH switch_core_media.c.
"""
from __future__ import annotations

from labkit.findings import SEVERITIES, Finding, Skip, register_check

__all__: list[str] = []

_NB = "04_codec_negotiation.ipynb -p CAPTURE <file>"


def _prefs(ctx):
    if ctx.config is None:
        return None
    from labkit.freeswitch import effective_prefs, read_config
    return effective_prefs(read_config(ctx.config))


@register_check("freeswitch.codecs", notebook="04_codec_negotiation.ipynb")
def _codecs(ctx) -> list[Finding]:
    """Calls refused or ended for media reasons; SDP answers that break the rules."""
    from labkit.freeswitch.negotiation import call_verdicts
    if not len(ctx.sip) or not (ctx.sip["method"] == "INVITE").any():
        raise Skip("no INVITE dialog")
    verdicts = call_verdicts(ctx.sip, prefs=_prefs(ctx))
    out = []
    for v in verdicts.itertuples():
        where = f"call {v.call_id} (frame {v.first_frame})"
        status = v.final_status
        if status == status and status is not None and int(status) in (415, 488, 606):
            out.append(Finding("error", "freeswitch.codecs", v.verdict, where,
                               f"the call was refused with {int(status)}", v.fix or "", _NB))
        for f in v.findings:
            if f.severity in SEVERITIES and f.severity != "info":
                out.append(Finding(f.severity, "freeswitch.codecs", f.message,
                                   f"{where} {f.where}".strip(), f"rule {f.code}", f.fix, _NB))
    return out
