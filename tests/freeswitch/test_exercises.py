"""Notebook 04's exercises: right answers pass, wrong ones fail (oracle: the exercise log's
own lines read by hand, and FreeSWITCH's vanilla modules.conf.xml)."""
from __future__ import annotations

import pytest

from labkit import exercises


@pytest.mark.parametrize("name, right, wrong", [
    ("freeswitch.offered_codecs", ["AMR-WB, AMR", ["amr", "amr-wb"], "AMR-WB AMR"],
     ["AMR-WB", "GSM", "AMR-WB, AMR, telephone-event", None]),
    ("freeswitch.compare_lines", [8, "8"], [4, 12, "eight", None]),
    ("freeswitch.vars_fix",
     ['<X-PRE-PROCESS cmd="set" data="global_codec_prefs=AMR,OPUS,G722,PCMU,PCMA"/>',
      '<X-PRE-PROCESS cmd="set" data="global_codec_prefs=OPUS,G722,PCMU,PCMA,AMR-WB,AMR"/>'],
     # AMR-WB alone: listed but mod_amrwb is not loaded; outbound prefs do not apply inbound
     ['<X-PRE-PROCESS cmd="set" data="global_codec_prefs=AMR-WB,OPUS,G722,PCMU,PCMA"/>',
      '<X-PRE-PROCESS cmd="set" data="outbound_codec_prefs=AMR,OPUS"/>',
      "global_codec_prefs=AMR", None]),
])
def test_right_answers_pass_and_wrong_ones_fail(name, right, wrong):
    for answer in right:
        assert exercises.check(name, answer).right, answer
    for answer in wrong:
        mark = exercises.check(name, answer)
        assert not mark.right, answer
        assert mark.message.startswith("Not yet.")


def test_notebook_04_has_its_exercises():
    names = [e.name for e in exercises.exercises("04_codec_negotiation")]
    assert names == ["freeswitch.compare_lines", "freeswitch.offered_codecs",
                     "freeswitch.vars_fix"]
