"""ESP ICV (labkit.sms.ipsec) and the corrected capture's ICV: RFC 2202 test vectors,
tshark 4.0's own ICV check, and the warning when the ICV cannot be recomputed."""
from __future__ import annotations

import warnings

import pytest

from labkit import data, sms
from labkit.capture import iter_frames
from labkit.errors import LabkitError, LabkitWarning

KEY = bytes(range(20))
SPI_UE_IN = 0x0BADCAFE     # the SA towards the UE in tools/synth/make_sms.py


@pytest.mark.parametrize("alg,key,msg,digest", [
    # RFC 2202 section 3 (HMAC-SHA-1) test cases 1, 2, 3; section 2 (HMAC-MD5) cases 1, 2, 3
    ("hmac-sha-1-96", b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    ("hmac-sha-1-96", b"Jefe", b"what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    ("hmac-sha-1-96", b"\xaa" * 20, b"\xdd" * 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
    ("hmac-md5-96", b"\x0b" * 16, b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    ("hmac-md5-96", b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
    ("hmac-md5-96", b"\xaa" * 16, b"\xdd" * 50, "56be34521d144c88dbb8c733f0e8b3f6"),
])
def test_hmac_96_rfc2202_vectors(alg, key, msg, digest):
    # RFC 2404 / 2403: the ICV is the first 96 bits of the HMAC
    assert sms.hmac_96(alg, key, msg).hex() == digest[:24]


def test_unknown_algorithm_and_no_esp():
    with pytest.raises(LabkitError, match="unknown ESP integrity algorithm"):
        sms.hmac_96("hmac-sha-256-128", KEY, b"")
    plain = next(iter_frames(data.path("sms_kamailio_mt"))).data
    with pytest.raises(LabkitError, match="no ESP"):
        sms.esp_icv(plain, KEY)


def test_without_keys_the_copied_icv_is_flagged(tmp_path):
    with pytest.warns(LabkitWarning, match="ICV is copied.*RFC 4303 3.4.4.*_frame1.sip"):
        t = sms.write_fixed_capture(data.path("sms_mt_rpda_iphone"), tmp_path / "f.pcap")
    assert t.loc[0, "esp_icv"] == "copied: invalid for the new payload"
    assert t.loc[0, "pcap_use"] == "for analysis"


def test_plain_udp_fix_needs_no_icv(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabkitWarning)
        t = sms.write_fixed_capture(data.path("sms_kamailio_mt"), tmp_path / "k.pcap")
    assert set(t["esp_icv"]) == {"no ESP"} and set(t["pcap_use"]) == {"replayable"}


def test_with_keys_the_icv_is_recomputed(tmp_path):
    out = tmp_path / "f.pcap"
    t = sms.write_fixed_capture(data.path("sms_mt_rpda_iphone"), out,
                                esp_keys={SPI_UE_IN: ("hmac-sha-1-96", KEY)}, next_seq={SPI_UE_IN: 41})
    assert t.loc[0, "esp_icv"] == "recomputed (hmac-sha-1-96)" and t.loc[0, "pcap_use"] == "replayable"
    fixed = next(iter_frames(out)).data
    assert sms.check_esp_icv(fixed, KEY)
    assert not sms.check_esp_icv(fixed, bytes(20))
    layers = {l.name: l for l in sms.frame_layers(fixed)}
    assert layers["esp_header"].info["seq"] == 41


def _tshark_icv(path, key_hex):
    from labkit.capture.wireshark import tshark_fields
    sa = (f'"IPv4","172.22.0.21","10.45.0.2","0x{SPI_UE_IN:08X}","NULL","",'
          f'"HMAC-SHA-1-96 [RFC2404]","0x{key_hex}"')
    ts = tshark_fields(path, ["frame.number", "esp.icv_good"], "frame.number == 1",
                       prefs={"esp.enable_encryption_decode": "TRUE",
                              "esp.enable_authentication_check": "TRUE", "uat:esp_sa": sa})
    return ts["esp.icv_good"].iloc[0]


@pytest.mark.requires_tshark
def test_tshark_checks_the_recomputed_icv(tmp_path):
    # Oracle: Wireshark's ESP dissector verifies the ICV itself with the SA from its UAT
    good, bad = tmp_path / "good.pcap", tmp_path / "bad.pcap"
    sms.write_fixed_capture(data.path("sms_mt_rpda_iphone"), good,
                            esp_keys={SPI_UE_IN: ("hmac-sha-1-96", KEY)})
    with pytest.warns(LabkitWarning):
        sms.write_fixed_capture(data.path("sms_mt_rpda_iphone"), bad)
    assert _tshark_icv(good, KEY.hex()) in ("1", "True")
    assert _tshark_icv(bad, KEY.hex()) in ("0", "False")


@pytest.mark.requires_tshark
def test_wireshark_sees_the_sms_only_with_the_esp_null_heuristic():
    # Notebook 03's claim "Wireshark decodes it without a warning" holds with
    # esp.enable_null_encryption_decode_heuristic on; off (the default), it stops at ESP.
    from labkit.capture.wireshark import tshark_fields
    path = data.path("sms_mt_rpda_iphone")
    fields = ["frame.protocols", "gsm_a.rp.msg_type", "_ws.expert.severity"]
    off = tshark_fields(path, fields, "frame.number == 1",
                        prefs={"esp.enable_null_encryption_decode_heuristic": "FALSE"})
    on = tshark_fields(path, fields, "frame.number == 1",
                       prefs={"esp.enable_null_encryption_decode_heuristic": "TRUE"})
    assert off["frame.protocols"].iloc[0].endswith(":esp") and off["gsm_a.rp.msg_type"].iloc[0] == ""
    assert on["frame.protocols"].iloc[0].endswith("gsm_a.rp:gsm_sms")
    assert on["_ws.expert.severity"].iloc[0] == ""          # RP-DA set, and no expert warning
