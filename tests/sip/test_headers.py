"""labkit.sip.headers: header lists against tshark 4.0, the 420 case against the lab's truth.

Oracles: tshark's sip.Via.branch (one per Via value), sip.Require, sip.Proxy-Require,
sip.Unsupported, sip.Status-Code; the truth files of tools/lab/sipflow.py (which
requests kamailio stripped, whether the AS saw sec-agree in the re-INVITE, the re-INVITE's
final status); RFC 3261 7.3.1 worked by hand for folding and repeated headers.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from labkit import data
from labkit.sip import header_findings, header_values, option_tags, parse_sip, sip_messages, via_count
from labkit.capture import as_packets

FLOW = ["flow_topoh_masked", "flow_topoh_samecid", "flow_sec_agree_420", "flow_sec_agree_fixed",
        "ussd_seed_405", "ussd_in_dialog"]


def _tshark(path, fields, filt="sip"):
    cmd = ["tshark", "-n", "-r", str(path), "-Y", filt, "-T", "fields", "-E", "aggregator=|",
           "-E", "occurrence=a", "-e", "frame.number"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return {int(line.split("\t")[0]): line.split("\t")[1:] for line in out.splitlines()}


def _tags(value: str) -> list[str]:
    return [t.strip().lower() for v in value.split("|") for t in v.split(",") if t.strip()]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", FLOW)
def test_via_count_and_option_tags_equal_tshark(name):
    path = data.path(name)
    want = _tshark(path, ["sip.Via.branch", "sip.Require", "sip.Proxy-Require", "sip.Unsupported"])
    msgs = sip_messages(as_packets(path))
    assert sorted(want) == sorted(int(f) for f in msgs["frame"])
    for m in msgs.itertuples():
        branches, require, proxy_require, unsupported = want[int(m.frame)]
        assert via_count(m.headers) == len(branches.split("|"))
        assert option_tags(m.headers, "Require") == _tags(require)
        assert option_tags(m.headers, "Proxy-Require") == _tags(proxy_require)
        assert option_tags(m.headers, "Unsupported") == _tags(unsupported)


def test_repeated_folded_and_compact_headers_by_hand():
    raw = (b"INVITE sip:b@h SIP/2.0\r\n"
           b"v: SIP/2.0/UDP p2;branch=z9hG4bK2\r\n"
           b"Via: SIP/2.0/UDP p1;branch=z9hG4bK1,\r\n SIP/2.0/UDP ue;branch=z9hG4bK0\r\n"
           b"k: 100rel\r\nSupported: timer\r\n"
           b"X-NickTest: one\r\nX-NickTest: two, three\r\n"
           b"Authorization: Digest username=\"a\", realm=\"r\"\r\n"
           b"Route: <sip:p1;lr>, <sip:p2;lr>\r\n"
           b"i: c1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n")
    msg, _ = parse_sip(raw, datagram=True)
    # RFC 3261 7.3.1: the folded line is one value "...z9hG4bK1, SIP/2.0/UDP ue..." = 2 values,
    # plus the compact v line = 3 hops
    assert via_count(msg.headers) == 3
    assert option_tags(msg.headers, "Supported") == ["100rel", "timer"]
    assert header_values(msg.headers, "x-nicktest") == ["one", "two", "three"]
    assert header_values(msg.headers, "Authorization") == ['Digest username="a", realm="r"']
    assert header_values(msg.headers, "route") == ["<sip:p1;lr>", "<sip:p2;lr>"]


def test_420_case_against_the_lab_truth():
    truth = json.loads(data.path("flow_sec_agree_420_truth").read_text())
    f = header_findings(data.path("flow_sec_agree_420"))
    bad = f[f["check"] == "sip.bad_extension"]
    assert len(bad) == 1 and truth["reinvite_final"] == 420 and truth["as_saw_sec_agree_in_reinvite"]
    # kamailio stripped only the initial INVITE (its own log): the hop that kept sec-agree is
    # kamailio -> AS, for the re-INVITE
    assert truth["kamailio_stripped"] == ["INVITE"]
    text = bad.iloc[0]["finding"] + " " + bad.iloc[0]["fix"]
    assert "in-dialog INVITE" in text and "Unsupported: sec-agree" in text
    assert "127.0.42.10:42060 forwarded Require/Proxy-Require: sec-agree" in text
    assert "initial INVITE on this hop was answered 200" in text


@pytest.mark.requires_tshark
def test_420_frame_is_the_one_tshark_shows_from_the_as():
    path = data.path("flow_sec_agree_420")
    want = _tshark(path, ["ip.src", "sip.Unsupported"], "sip.Status-Code == 420")
    from_as = [fr for fr, (src, unsup) in want.items() if src == "127.0.42.2"]
    f = header_findings(path)
    assert f[f["check"] == "sip.bad_extension"]["frame"].tolist() == from_as
    assert all(unsup == "sec-agree" for _, unsup in want.values())


def test_fixed_config_has_no_findings_and_the_reinvite_works():
    truth = json.loads(data.path("flow_sec_agree_fixed_truth").read_text())
    # kamailio's log: it stripped the initial INVITE and every in-dialog request after it
    assert truth["kamailio_stripped"].count("INVITE") == 2 and not truth["as_saw_sec_agree_in_reinvite"]
    assert header_findings(data.path("flow_sec_agree_fixed")).empty


@pytest.mark.requires_tshark
def test_out_of_dialog_info_and_reused_call_id():
    path = data.path("ussd_seed_405")
    info = _tshark(path, ["sip.to.tag"], 'sip.Method == "INFO"')
    assert len(info) == 1 and list(info.values())[0] == [""]   # tshark: no To tag
    f = header_findings(path)
    assert set(f["check"]) == {"sip.missing_to_tag", "sip.call_id_reused"}
    assert set(f["frame"]) == set(info)
    assert "answered 405" in f[f["check"] == "sip.missing_to_tag"].iloc[0]["finding"]


def test_clean_calls_have_no_header_findings():
    for name in ("flow_topoh_masked", "flow_topoh_samecid", "ussd_in_dialog", "relay_rtpengine"):
        assert header_findings(data.path(name)).empty, name
