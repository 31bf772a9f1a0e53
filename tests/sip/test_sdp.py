"""labkit.sip.sdp: SDP parsing on hand-written bodies (expected values read off the text and
RFC 3551 table 4). The comparison with tshark's SDP dissector on real captures is in
tests/sip/test_messages.py (it needs the SIP layer to find the bodies)."""
from __future__ import annotations

import pytest

from labkit.errors import DecodeError
from labkit.sip.sdp import STATIC_PAYLOAD_TYPES, Codec, parse_sdp

OFFER = (
    "v=0\r\n"
    "o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "a=sendonly\r\n"
    "m=audio 49170 RTP/SAVP 0 8 96 101\r\n"
    "a=rtpmap:96 AMR-WB/16000/1\r\n"
    "a=fmtp:96 octet-align=1;mode-set=0,1,2\r\n"
    "a=rtpmap:101 telephone-event/16000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
    "a=ptime:20\r\n"
    "a=maxptime:40\r\n"
    "m=video 0 RTP/AVP 31\r\n"
    "c=IN IP4 198.51.100.7\r\n"
    "a=recvonly\r\n"
    "m=image 9000 udptl t38\r\n"
)


def test_offer_fields_from_text():
    sd = parse_sdp(OFFER)
    assert sd.problems == ()
    assert sd.session_version == 2890844527
    assert sd.connection == "192.0.2.10"
    audio, video, image = sd.media
    assert (audio.index, audio.kind, audio.port, audio.proto) == (0, "audio", 49170, "RTP/SAVP")
    assert audio.formats == [0, 8, 96, 101]
    # static 0/8 from RFC 3551 table 4, dynamic ones from a=rtpmap
    assert audio.codecs == {0: Codec("PCMU", 8000), 8: Codec("PCMA", 8000),
                            96: Codec("AMR-WB", 16000), 101: Codec("telephone-event", 16000)}
    assert set(audio.rtpmap) == {96, 101}  # only explicit rtpmap lines
    assert audio.fmtp == {96: "octet-align=1;mode-set=0,1,2", 101: "0-15"}
    assert audio.crypto[0].suite == "AES_CM_128_HMAC_SHA1_80"
    assert (audio.ptime, audio.maxptime) == (20.0, 40.0)
    assert audio.direction == "sendonly"      # inherited from the session a=sendonly
    assert audio.connection == "192.0.2.10"   # session c=
    assert video.connection == "198.51.100.7"  # media c= wins (RFC 4566 5.7)
    assert video.direction == "recvonly"
    assert video.codec(31) == Codec("H261", 90000, None)
    assert (image.kind, image.proto, image.formats, image.is_rtp) == ("image", "udptl", ["t38"], False)


def test_static_table_is_rfc3551():
    # RFC 3551 table 4: PT 3 GSM 8000, 9 G722 8000 (clock 8000 though audio is 16 kHz),
    # 18 G729 8000, 10 L16 44100 2 channels; table 5: 34 H263 90000.
    assert STATIC_PAYLOAD_TYPES[3] == Codec("GSM", 8000)
    assert STATIC_PAYLOAD_TYPES[9] == Codec("G722", 8000)
    assert STATIC_PAYLOAD_TYPES[18] == Codec("G729", 8000)
    assert STATIC_PAYLOAD_TYPES[10] == Codec("L16", 44100, 2)
    assert STATIC_PAYLOAD_TYPES[34].rate == 90000
    assert 2 not in STATIC_PAYLOAD_TYPES  # G721 was withdrawn (RFC 3551 section 4.5.4)


def test_bad_lines_become_problems():
    text = ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 8 97 3\r\na=rtpmap:97\r\na=ptime:abc\r\nthis is junk\r\n"
            "a=crypto: AES_CM_128_HMAC_SHA1_80 inline:x\r\nm=audio x RTP/AVP 0\r\n")
    sd = parse_sdp(text)
    problems = " | ".join(sd.problems)
    assert "malformed connection line" in problems
    assert "'this is junk' is not an SDP" in problems
    assert "malformed media line" in problems
    assert "dynamic payload type 97 has no a=rtpmap" in problems
    assert "malformed a=rtpmap" in problems
    assert "ptime value 'abc'" in problems
    assert "malformed a=crypto" in problems and sd.media[0].crypto == ()
    assert (sd.media[1].kind, sd.media[1].port, sd.media[1].formats) == ("audio", 0, [])
    assert sd.media[0].codec(97) is None
    assert sd.media[0].codec(3) == Codec("GSM", 8000)


def test_unknown_codec_name_is_kept():
    sd = parse_sdp("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
                   "m=audio 4000 RTP/AVP 120\r\na=rtpmap:120 NOT-A-CODEC/12345/2\r\n")
    assert sd.media[0].codec(120) == Codec("NOT-A-CODEC", 12345, 2)
    assert sd.media[0].connection is None


def test_not_sdp_is_a_clear_error():
    with pytest.raises(DecodeError, match="not SDP"):
        parse_sdp("INVITE sip:bob@example.com SIP/2.0")
    assert parse_sdp(OFFER.replace("\r\n", "\n").encode()).media[0].port == 49170
