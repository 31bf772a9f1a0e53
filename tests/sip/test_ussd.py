"""labkit.sip.ussd: bodies against tshark's XML dissector, sessions against the lab's truth,
untrusted bodies against defusedxml's defences.

Oracles: tshark 4.0's xml.cdata / xml.attribute of each application/vnd.3gpp.ussd+xml
body, sip.Recv-Info, sip.Info-Package, sip.to.tag; the truth files of
tools/lab/sipflow.py (the strings the scenario sent, what the SIPp gateway logged, the
code kamailio's uac reply route logged); TS 24.390's schema read by hand for built
bodies.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from labkit import data
from labkit.capture import frames
from labkit.sip import parse_ussd_xml, ussd_body, ussd_findings, ussd_messages, ussd_sessions


def _tshark(path, fields, filt):
    cmd = ["tshark", "-n", "-r", str(path), "-Y", filt, "-T", "fields", "-E", "aggregator=|",
           "-E", "occurrence=a", "-e", "frame.number"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return {int(line.split("\t")[0]): line.split("\t")[1:] for line in out.splitlines()}


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["ussd_seed_405", "ussd_in_dialog"])
def test_ussd_fields_equal_tshark(name):
    path = data.path(name)
    want = _tshark(path, ["xml.cdata", "xml.attribute", "sip.Recv-Info", "sip.Info-Package"], "sip")
    m = ussd_messages(path)
    assert sorted(want) == sorted(m["frame"])
    for r in m.itertuples():
        cdata, attrs, recv_info, package = want[r.frame]
        assert (r.recv_info if isinstance(r.recv_info, str) else "") == recv_info
        assert (r.info_package if isinstance(r.info_package, str) else "") == package
        if not r.has_ussd:
            assert cdata == "" and attrs == ""
        elif r.form == "standard":   # <language>en</language><ussd-string>...</ussd-string>
            assert cdata.split("|") == [r.language, r.ussd_string]
        else:                        # <language value="en"/><ussd-string value="..."/>
            assert attrs.split("|") == [f'value="{r.language}"', f'value="{r.ussd_string}"']


def test_in_dialog_session_equals_the_lab_truth():
    truth = json.loads(data.path("ussd_in_dialog_truth").read_text())
    s = ussd_sessions(data.path("ussd_in_dialog")).iloc[0]
    assert (s["request"], s["network"], s["ue_answers"], s["result"]) == \
        (truth["ussd"]["invite"], [truth["ussd"]["menu"]], [truth["ussd"]["answer"]], truth["ussd"]["result"])
    assert truth["gateway_received"] == {"invite_ussd": s["request"], "info_ussd": s["ue_answers"][0]}
    assert s["dialstring"] == "*100#" and s["outcome"] == "completed"
    assert ussd_findings(data.path("ussd_in_dialog")).empty


@pytest.mark.requires_tshark
def test_seed_session_equals_the_lab_truth():
    truth = json.loads(data.path("ussd_seed_405_truth").read_text())
    path = data.path("ussd_seed_405")
    s = ussd_sessions(path).iloc[0]
    assert s["info_responses"] == truth["kamailio_uac_reply"] == [405]   # kamailio's own log
    assert s["network"] == [truth["ussd"]["info_out_of_dialog"]] and s["request"] == truth["ussd"]["invite"]
    info = _tshark(path, ["sip.to.tag"], 'sip.Method == "INFO"')
    f = ussd_findings(path)
    outside = f[f["check"] == "ussd.info_outside_dialog"]
    assert outside["frame"].tolist() == list(info) and "answered 405" in outside.iloc[0]["finding"]
    assert {"ussd.info_package", "ussd.content_disposition", "ussd.nonstandard_body"} <= set(f["check"])


# --- untrusted bodies -------------------------------------------------------------------

BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10))
        + ']><ussd-data><ussd-string>&lol9;</ussd-string></ussd-data>')


def test_billion_laughs_is_a_problem_not_a_hang():
    got = parse_ussd_xml(BOMB)
    assert got.ussd_string is None and "entity declarations" in got.problem


def test_external_entity_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
            f'<ussd-data><ussd-string>&x;</ussd-string></ussd-data>')
    got = parse_ussd_xml(body)
    assert got.problem is not None and "TOP-SECRET" not in repr(got)


def test_size_limit_and_broken_bodies():
    assert "larger than" in parse_ussd_xml(b"<ussd-data>" + b"x" * 20000 + b"</ussd-data>").problem
    assert parse_ussd_xml(b"<ussd-data><ussd-string>1</ussd").problem.startswith("not well-formed")
    assert "root element is <foo>" in parse_ussd_xml(b"<foo/>").problem
    # TS 24.390: error-code is an integer
    assert parse_ussd_xml(b"<ussd-data><error-code>x</error-code></ussd-data>").problem.startswith("error-code")
    got = parse_ussd_xml(b"<ussd-data><language>en</language><error-code>34</error-code>"
                         b"<anyExt><UnstructuredSS-Notify/></anyExt></ussd-data>")
    assert (got.error_code, got.any_ext) == (34, "<anyExt><UnstructuredSS-Notify /></anyExt>")


def _info(body: bytes, *, to_tag: bool = True, package: str = "g.3gpp.ussd", cseq: int = 2) -> bytes:
    head = (f"INFO sip:ue@10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK{cseq}\r\n"
            f"From: <sip:gw@10.0.0.9>;tag=gw\r\nTo: <sip:ue@10.0.0.1>{';tag=ue' if to_tag else ''}\r\n"
            f"Call-ID: u1\r\nCSeq: {cseq} INFO\r\nInfo-Package: {package}\r\n"
            f"Content-Disposition: Info-Package\r\nContent-Type: application/vnd.3gpp.ussd+xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _invite(recv_info: bool) -> bytes:
    body = b"<ussd-data><language>en</language><ussd-string>*100#</ussd-string></ussd-data>"
    return (("INVITE sip:*100%23@gw;user=dialstring SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0\r\n"
             "From: <sip:ue@10.0.0.1>;tag=ue\r\nTo: <sip:*100%23@gw;user=dialstring>\r\nCall-ID: u1\r\n"
             "CSeq: 1 INVITE\r\n" + ("Recv-Info: g.3gpp.ussd\r\n" if recv_info else "")
             + f"Content-Type: application/vnd.3gpp.ussd+xml\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)


def _ok(cseq: int, method: str) -> bytes:
    return (f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK{cseq}\r\n"
            f"From: <sip:ue@10.0.0.1>;tag=ue\r\nTo: <sip:gw@10.0.0.9>;tag=gw\r\nCall-ID: u1\r\n"
            f"CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n").encode()


def _write(path: Path, messages) -> Path:
    recs = []
    for i, (payload, src, dst) in enumerate(messages):
        recs.append((1_700_000_000_000_000_000 + i * 10_000_000,
                     frames.udp_frame(payload, src, dst, 5060, 5060)))
    return frames.write_pcap(path, recs)


def test_built_bad_session_gives_findings_and_the_rest_is_analysed(tmp_path):
    ue, gw = "10.0.0.1", "10.0.0.9"
    good = b"<ussd-data><language>en</language><ussd-string>menu</ussd-string></ussd-data>"
    path = _write(tmp_path / "bad_ussd.pcap", [
        (_invite(recv_info=False), ue, gw),                       # 1 no Recv-Info
        (_ok(1, "INVITE"), gw, ue),                               # 2
        (_info(BOMB.encode(), cseq=2), gw, ue),                   # 3 billion laughs
        (_info(good, cseq=3, package="g.3gpp.other"), gw, ue),    # 4 second INFO before 200, wrong package
        (_ok(2, "INFO"), ue, gw),                                 # 5
        (_info(good[:30], cseq=4), gw, ue),                       # 6 truncated body
        (_info(good, cseq=5, to_tag=False), gw, ue),              # 7 outside the dialog
    ])
    f = ussd_findings(path)
    got = sorted(zip(f["frame"], f["check"]))
    # frames 4, 6 and 7 each follow an INFO of the gateway that was never answered
    assert got == [(1, "ussd.recv_info"), (3, "ussd.body"), (4, "ussd.info_overlap"), (4, "ussd.info_package"),
                   (6, "ussd.body"), (6, "ussd.info_overlap"), (7, "ussd.info_outside_dialog"),
                   (7, "ussd.info_overlap")]
    s = ussd_sessions(path).iloc[0]
    assert s["request"] == "*100#" and s["network"] == [None, "menu", None, "menu"]


def test_multipart_without_ussd_part_and_non_sip_bodies():
    assert ussd_body("multipart/mixed;boundary=b", b"--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--") is None
    assert ussd_body("application/sdp", b"v=0") is None
    assert ussd_body(None, b"") is None


def test_a_capture_without_sip_has_no_session():
    m = ussd_messages(data.path("synth_amrnb_oa_nosdp"))
    assert m.empty and ussd_sessions(data.path("synth_amrnb_oa_nosdp")).empty
    assert ussd_findings(data.path("synth_amrnb_oa_nosdp")).empty


def test_ue_info_to_a_network_without_recv_info_explains_469(tmp_path):
    ue, gw = "10.0.0.1", "10.0.0.9"
    ok_no_recv_info = _ok(1, "INVITE")          # the gateway's 200 has no Recv-Info
    ue_info = _info(b"<ussd-data><ussd-string>1</ussd-string></ussd-data>", cseq=2).replace(
        b"From: <sip:gw@10.0.0.9>;tag=gw", b"From: <sip:ue@10.0.0.1>;tag=ue").replace(
        b"To: <sip:ue@10.0.0.1>;tag=ue", b"To: <sip:gw@10.0.0.9>;tag=gw")
    refused = _ok(2, "INFO").replace(b"200 OK", b"469 Bad Info Package")
    path = _write(tmp_path / "ussd_469.pcap", [(_invite(recv_info=True), ue, gw), (ok_no_recv_info, gw, ue),
                                               (ue_info, ue, gw), (refused, gw, ue)])
    f = ussd_findings(path)
    assert f["check"].tolist() == ["ussd.package_not_accepted"]
    assert f.loc[0, "frame"] == 3 and "answered 469 Bad Info Package" in f.loc[0, "finding"]
    assert ussd_sessions(path).loc[0, "outcome"] == "INFO refused: 469"
