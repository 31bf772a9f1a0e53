"""Exercises of notebook 01 (ringback), on a second bundled capture: ``relay_rtpengine``.

That capture (real kamailio + rtpengine between two baresip phones, data/lab/MANIFEST.tsv)
has the callee play the Europe ringback file (-10 dBFS peak) in PCMA while the call is
already answered: 180 without SDP, then 200 OK, then RTP.
"""
from __future__ import annotations

from labkit.exercises import Exercise, register_exercise

_NB = "01_ringback_amr_playback"
_CAPTURE = "relay_rtpengine"


def _text(answer) -> str:
    return " ".join(str(answer).strip().lower().replace("_", " ").replace("-", " ").split())


register_exercise(Exercise(
    name="ringback.relay_phase", notebook=_NB, capture=_CAPTURE,
    question="In relay_rtpengine, in which phase does B's 425 Hz tone reach A: "
             "'early media' or 'after answer'?",
    accepts=lambda a: _text(a) == "after answer",
    why="The 200 OK reaches A 3 ms after the INVITE, before B's first RTP packet: the tone "
        "plays in an answered call. That is a tone after answer, not ringback; the caller "
        "is already charged.",
    hint="Compare the time of the 200 OK in ringback_signalling with the start of B's stream."))

register_exercise(Exercise(
    name="ringback.relay_local_ringback", notebook=_NB, capture=_CAPTURE,
    question="Which SIP response (status code) tells A's phone to play its own local "
             "ringback in relay_rtpengine?",
    accepts=lambda a: int(str(a).strip()) == 180,
    why="The 180 Ringing carries no SDP, so no early media is offered: the caller's phone "
        "generates the ringing tone itself (RFC 3960 section 2; TS 24.628 4.2).",
    hint="Look for an 18x without SDP in the signalling table."))

register_exercise(Exercise(
    name="ringback.relay_level_dbm0", notebook=_NB, capture=_CAPTURE,
    question="What is the level of B's tone towards A in dBm0 (PCMA)? One decimal.",
    accepts=lambda a: abs(float(a) - (-6.86)) <= 0.3,
    why="The tone file is -10 dBFS (full-scale sine = 0 dBFS); in A-law a full-scale sine is "
        "+3.14 dBm0 (G.711 section 5), so -10 + 3.14 = -6.9 dBm0.",
    hint="Take the level column in dBFS and add G.711's A-law load capacity."))
