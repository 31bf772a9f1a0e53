"""Doctor check of B-leg timers: CANCELled legs and the FreeSWITCH timer that explains them.

Not yet discovered by ``labkit doctor`` (which imports only ``labkit.<pkg>.checks``): to
enable it add ``from labkit.freeswitch import timer_checks  # noqa: F401`` to
labkit/freeswitch/checks.py and re-execute notebook 00 (its doctor table gains a row).

References: FreeSWITCH switch_ivr_originate.c (cc93a683ca) lines 3357, 3366, 360, 370;
RFC 3261 section 9.1 (CANCEL).
"""
from __future__ import annotations

from labkit.findings import Finding, Skip, register_check

__all__: list[str] = []

_NB = "12_freeswitch_bridge_timers.ipynb -p CAPTURE <file> -p VARS '<dial string>'"


@register_check("freeswitch.timers", notebook="12_freeswitch_bridge_timers.ipynb")
def _timers(ctx) -> list[Finding]:
    """Each CANCELled, unanswered INVITE: when, after which progress, and which default timer fits."""
    from labkit.errors import LabkitError
    from labkit.freeswitch import timers as T
    try:
        tl = T.leg_timelines(ctx.sip)
    except LabkitError as exc:
        raise Skip(str(exc)) from None
    cancelled = tl[tl["cancel"].notna() & tl["answer"].isna()]
    if cancelled.empty:
        raise Skip("no CANCELled INVITE")
    legs = T.explain_legs(T.parse_dial_string("sofia/gateway/peer/1"), cancelled.reset_index(drop=True))
    out = []
    for row, leg in zip(cancelled.to_dict("records"), legs.to_dict("records")):
        after = "after a 180" if row["ringing"] == row["ringing"] and row["ringing"] is not None else \
            "with no 180/183" if row["early_media"] != row["early_media"] or row["early_media"] is None else "after a 183"
        t = row["cancel"] - row["invite"]
        out.append(Finding("info", "freeswitch.timers", f"INVITE CANCELled {t:.2f} s after it was sent, {after}",
                           f"call {row['call_id']} (frame {row['invite_frame']})",
                           "FreeSWITCH's defaults (originate_timeout 60 s) do not explain it" if not leg["fired"]
                           else f"fits {leg['fired']} with FreeSWITCH's defaults",
                           "run labkit timers FILE --vars '<the dial string>' to see which timer fired", _NB))
    return out
