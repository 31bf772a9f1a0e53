"""labkit.sip.calls.ringback_signalling: who plays the ringback, response by response."""
from __future__ import annotations

import pytest

from labkit import data, sip
from labkit.capture import frames as F


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["early_media_ringback", "ringback_amrwb", "synth_amrwb_be_ringback"])
def test_responses_and_sdp_equal_tshark(name):
    from labkit.capture.wireshark import tshark_fields
    path = data.path(name)
    ts = tshark_fields(path, ["frame.number", "sip.Status-Code", "sdp.version"],
                       "sip.CSeq.method == \"INVITE\" && sip.Status-Code >= 180 && sip.Status-Code < 300")
    ours = sip.ringback_signalling(path)
    assert ours["frame"].tolist() == [int(f) for f in ts["frame.number"]]
    assert ours["status"].tolist() == [int(s) for s in ts["sip.Status-Code"]]
    assert ours["sdp"].tolist() == [v != "" for v in ts["sdp.version"]]


def _response(status, reason, sdp, pem=None):
    head = [f"SIP/2.0 {status} {reason}", "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1",
            "From: <sip:a@x>;tag=1", "To: <sip:b@x>;tag=2", "Call-ID: c1", "CSeq: 1 INVITE"]
    if pem:
        head.append(f"P-Early-Media: {pem}")
    body = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n" \
           "m=audio 4000 RTP/AVP 8\r\n" if sdp else ""
    if sdp:
        head.append("Content-Type: application/sdp")
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def test_p_early_media_decides(tmp_path):
    # RFC 5009 section 8: sendrecv/sendonly authorise early media, inactive does not
    invite = (b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
              b"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
              b"Content-Length: 0\r\n\r\n")
    msgs = [invite, _response(180, "Ringing", False), _response(183, "Session Progress", True, "inactive"),
            _response(183, "Session Progress", True, "sendrecv"), _response(200, "OK", True)]
    recs = [(10**9 + i * 10**6, F.udp_frame(m, "10.0.0.1" if i == 0 else "10.0.0.2",
                                            "10.0.0.2" if i == 0 else "10.0.0.1", 5060, 5060))
            for i, m in enumerate(msgs)]
    path = tmp_path / "pem.pcap"
    F.write_pcap(path, recs)
    t = sip.ringback_signalling(path)
    assert t["status"].tolist() == [180, 183, 183, 200]
    assert t["p_early_media"].tolist() == ["", "inactive", "sendrecv", ""]
    who = t["who_plays_ringback"].tolist()
    assert "local ringback" in who[0] and "not authorised" in who[1]
    assert "network plays it as early media" in who[2] and who[3].startswith("answered")
