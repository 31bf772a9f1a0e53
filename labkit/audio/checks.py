"""Doctor checks of the audio: ringback as early media, and a tone after the answer.

References: ITU-T E.180 (call-progress tones); RFC 3960 and 3GPP TS 24.628 (early
media: who plays the ringback).
"""
from __future__ import annotations

import warnings

from labkit.errors import LabkitWarning
from labkit.findings import Finding, Skip, register_check

__all__: list[str] = []

_NB = "01_ringback_amr_playback.ipynb -p CAPTURE <file>"
DOCTOR_SECONDS = 30.0   # [s] after the answer: the ringback phase and a tone after it


@register_check("audio.ringback", notebook="01_ringback_amr_playback.ipynb")
def _ringback(ctx) -> list[Finding]:
    """Ringback played as early media; a tone heard after the 200 OK."""
    from labkit.audio.ringback import TONE_AFTER_ANSWER, analyze_ringback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        report = analyze_ringback(ctx.packets, seconds=DOCTOR_SECONDS)
    rows = report.verdicts()
    if not len(rows):
        raise Skip("no AMR, AMR-WB or G.711 stream to decode")
    out = []
    for r in rows.itertuples():
        if r.verdict not in ("ringback", "tone"):
            continue
        where = f"stream {r.stream} {r.direction}, {r.start}-{r.end} s"
        plan = f" ({r.plan})" if r.plan else ""
        if r.phase == "early media":
            out.append(Finding("info", "audio.ringback", f"{r.verdict}{plan} present as early media",
                               where, "the caller hears the callee side's tone before answer "
                               "(183 with SDP, RFC 3960)", "", _NB))
        elif r.finding == TONE_AFTER_ANSWER:
            # the finding is ringback.tone_finding's TONE_AFTER_ANSWER
            out.append(Finding("warning", "audio.ringback", f"{TONE_AFTER_ANSWER}: {r.verdict}{plan}",
                               where, "a tone after the 200 OK is not ringback: the call is "
                               "already answered (and billed)",
                               "answer only when the callee really answers; play ringback "
                               "before the 200 OK (180, or 183 with early media)", _NB))
    return out
