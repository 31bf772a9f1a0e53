"""Exercises of notebooks 02 and 03: right answers from tshark / the spec pass, wrong fail."""
from __future__ import annotations

import math
import re

import pytest

from labkit import data
from labkit.exercises import check, exercises

ESP = {"esp.enable_null_encryption_decode_heuristic": "TRUE"}


def test_registered():
    assert {e.name for e in exercises("03_iphone_mt_sms_rp_da")} == {
        "sms.kamailio_rpda_count", "sms.kamailio_acked_reference", "sms.kamailio_undecodable_frame"}
    assert {e.name for e in exercises("02_sms_over_ip_overhead")} == {
        "sms.concat_text_octets", "sms.concat_wire_octets", "sms.concat_efficiency_percent"}


@pytest.mark.requires_tshark
def test_02_answers_from_tshark():
    from labkit.capture.wireshark import tshark_fields
    path = data.path("sms_mt_concat")
    ts = tshark_fields(path, ["frame.len", "gsm_sms.tp.user_data_length",
                              "gsm_sms.dis_field_udh.user_data_header_length"], "sip", prefs=ESP)
    wire = sum(int(x) for x in ts["frame.len"])
    parts = ts[ts["gsm_sms.tp.user_data_length"] != ""]
    assert len(parts) == 3
    # TS 23.040 9.2.3.16/24: TP-UDL counts septets (UDH and fill included); the UDH is
    # its length octet + the length it gives; text octets = ceil(UDL * 7 / 8) - UDH
    udh = [1 + int(x) for x in parts["gsm_sms.dis_field_udh.user_data_header_length"]]
    octets = [math.ceil(int(u) * 7 / 8) - h for u, h in zip(parts["gsm_sms.tp.user_data_length"], udh)]
    assert udh == [6, 6, 6]
    assert check("sms.concat_text_octets", octets[2]).right
    assert not check("sms.concat_text_octets", int(parts["gsm_sms.tp.user_data_length"].iloc[2])).right  # septets
    assert check("sms.concat_wire_octets", wire).right
    assert not check("sms.concat_wire_octets", wire // 4).right
    assert check("sms.concat_efficiency_percent", round(100 * sum(octets) / wire, 2)).right
    assert not check("sms.concat_efficiency_percent", 100 * sum(octets) / 2940).right
    assert not check("sms.concat_efficiency_percent", None).right


@pytest.mark.requires_tshark
def test_03_answers_from_tshark():
    from labkit.capture.wireshark import tshark_fields
    path = data.path("sms_kamailio_mt")
    ts = tshark_fields(path, ["frame.number", "gsm_a.rp.msg_type", "gsm_a.rp.rp_message_reference",
                              "gsm_a.len", "_ws.malformed"], "gsm_a.rp")
    mt = ts[ts["gsm_a.rp.msg_type"] == "0x01"]
    # RP-DATA N->MS: the second length element is RP-DA's (TS 24.011 7.3.1.1)
    rpda = [int(re.split(r"[;,]+", lens)[1]) for lens in mt["gsm_a.len"]]
    assert check("sms.kamailio_rpda_count", sum(1 for n in rpda if n)).right
    assert not check("sms.kamailio_rpda_count", len(mt)).right
    acked = ts[ts["gsm_a.rp.msg_type"] == "0x02"]["gsm_a.rp.rp_message_reference"]
    assert check("sms.kamailio_acked_reference", int(acked.iloc[0], 16)).right
    assert not check("sms.kamailio_acked_reference", 17).right
    bad = ts[ts["_ws.malformed"] != ""]["frame.number"]
    assert check("sms.kamailio_undecodable_frame", int(bad.iloc[0])).right
    assert not check("sms.kamailio_undecodable_frame", 1).right
