"""Notebook 01's exercises: right answers from independent oracles pass, wrong ones fail."""
from __future__ import annotations

import pytest

from labkit import data
from labkit.exercises import check, exercises


def test_registered_for_notebook_01():
    names = {e.name for e in exercises("01_ringback_amr_playback")}
    assert names == {"ringback.relay_phase", "ringback.relay_local_ringback",
                     "ringback.relay_level_dbm0"}


@pytest.mark.requires_tshark
def test_phase_and_local_ringback_from_tshark():
    from labkit.capture.wireshark import tshark_fields
    path = data.path("relay_rtpengine")
    sip = tshark_fields(path, ["frame.time_relative", "sip.Status-Code", "sdp.version", "ip.dst"],
                        'sip.CSeq.method == "INVITE" && sip.Status-Code >= 180')
    to_a = sip[sip["ip.dst"] == "10.0.0.1"]
    ok = float(to_a.loc[to_a["sip.Status-Code"] == "200", "frame.time_relative"].iloc[0])
    media = tshark_fields(path, ["frame.time_relative"], "rtp && ip.src == 10.0.0.2")
    first_b = min(float(t) for t in media["frame.time_relative"])   # B's first RTP packet (tshark follows the SDP)
    truth = "after answer" if ok < first_b else "early media"
    assert check("ringback.relay_phase", truth).right
    assert not check("ringback.relay_phase", "early media").right
    no_sdp = to_a[(to_a["sdp.version"] == "") & (to_a["sip.Status-Code"] != "200")]
    assert check("ringback.relay_local_ringback", int(no_sdp["sip.Status-Code"].iloc[0])).right
    assert not check("ringback.relay_local_ringback", 183).right


def test_level_by_hand_arithmetic():
    # data/lab/MANIFEST.tsv: the tone file is -10 dBFS; G.711 section 5: A-law full-scale
    # sine = +3.14 dBm0, so -10 + 3.14 = -6.86 dBm0
    assert check("ringback.relay_level_dbm0", -10 + 3.14).right
    assert check("ringback.relay_level_dbm0", "-6.9").right
    assert not check("ringback.relay_level_dbm0", -10).right        # dBFS is not dBm0
    assert not check("ringback.relay_level_dbm0", None).right
