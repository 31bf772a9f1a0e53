"""Exercises of notebook 04 (codec negotiation), on the bundled VoLTE-style log
``freeswitch_log_amrwb`` (written by labkit's simulator; the notebook's own case is the
seed's log). Marked by :func:`labkit.exercises.check`; the answers are not printed in the
notebook.
"""
from __future__ import annotations

import re

from labkit.exercises import Exercise, register_exercise

__all__: list[str] = []

_NB = "04_codec_negotiation"
_LOG = "freeswitch_log_amrwb"


def _names(answer) -> set:
    items = answer if isinstance(answer, (list, tuple, set)) else re.split(r"[,\s;/]+", str(answer))
    return {str(x).strip().upper() for x in items if str(x).strip()}


def _offer():
    from labkit import data
    from labkit.freeswitch.log import read_log
    return read_log(data.path(_LOG)).remote_sdps[0]


def _fixes_the_call(answer) -> bool:
    """A vars.xml X-PRE-PROCESS line setting global_codec_prefs to a list that, with the
    bundled modules.conf.xml, agrees a codec for the exercise log's offer."""
    from labkit import data
    from labkit.freeswitch import config as fsconfig
    from labkit.freeswitch.negotiation import simulate
    m = re.search(r'<X-PRE-PROCESS\s+cmd="set"\s+data="global_codec_prefs=([^"]+)"\s*/>',
                  str(answer))
    if not m:
        return False
    cfg = fsconfig.read_config(data.path("freeswitch_conf"))
    prefs = fsconfig.effective_prefs(cfg, channel_vars={"absolute_codec_string": m.group(1)})
    return simulate(_offer(), prefs).ok


register_exercise(Exercise(
    name="freeswitch.offered_codecs", notebook=_NB, capture=_LOG,
    question="Which audio codecs did the caller offer (telephone-event aside)? "
             "Give the names, e.g. \"PCMU, PCMA\".",
    accepts=lambda a: _names(a) == {"AMR-WB", "AMR"},
    why="The left side of the compare lines names AMR-WB (PT 104) and AMR (PT 102); the two "
        "telephone-event entries (105 at 16000 Hz, 100 at 8000 Hz) are set aside before the "
        "comparison.",
    hint="Read the left-hand [..] of each 'Audio Codec Compare' line; each distinct entry is "
         "one offered codec."))

register_exercise(Exercise(
    name="freeswitch.compare_lines", notebook=_NB, capture=_LOG,
    question="How many 'Audio Codec Compare [..]/[..]' lines does FreeSWITCH print for this "
             "offer with the bundled list in force? (a number)",
    accepts=lambda a: int(str(a).strip()) == 8,
    why="2 offered codecs x 4 local audio implementations (opus, G722, PCMU, PCMA) = 8; H264 "
        "and VP8 in the list are video and are not compared with an audio offer.",
    hint="Every offered audio codec is compared with every local audio implementation; "
         "video codecs in the list do not count."))

register_exercise(Exercise(
    name="freeswitch.vars_fix", notebook=_NB, capture=_LOG,
    question="Which one line of vars.xml makes this call succeed with the bundled "
             "configuration (its modules.conf.xml included)? Give the whole "
             "<X-PRE-PROCESS cmd=\"set\" data=\"...\"/> line.",
    accepts=_fixes_the_call,
    why="Adding AMR to global_codec_prefs is enough: mod_amr is loaded, so AMR (PT 102) "
        "matches. Adding only AMR-WB is not: the bundled modules.conf.xml, like FreeSWITCH's "
        "vanilla one, does not load mod_amrwb, so AMR-WB in the list is silently dropped.",
    hint="The line sets global_codec_prefs; check with the codec-string table that every "
         "codec you add is loaded (modules.conf.xml), not only listed."))
