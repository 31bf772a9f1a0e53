"""labkit.sip.ifc / ifc_xml: iFC evaluation checked against cases worked out by hand from
TS 29.228 Annex B.2.2 (CNF: groups ANDed, SPTs in a group ORed; DNF the other way)."""
from __future__ import annotations

import json

import pytest

from labkit import data
from labkit.errors import ConfigError
from labkit.sip.ifc import (SPT, InitialFilterCriteria, TriggerPoint, compare_dialects,
                            evaluate_ifcs, ifc_request, initial_requests, lint_ifcs,
                            parse_ifc, route_request)

TRUTH = json.loads(data.path("ifc_truth").read_text())


def _req(method="INVITE", headers="", case=0, uri="sip:bob@lab.example", body=""):
    text = f"{method} {uri} SIP/2.0\r\n{headers}"
    if body:
        text += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n"
    return ifc_request(text + "\r\n" + body, session_case=case)


def _one(spts, cnf):
    return [InitialFilterCriteria(1, TriggerPoint(cnf, tuple(spts)), "sip:as")]


def _hit(ifcs, req, dialect="spec"):
    return bool(evaluate_ifcs(ifcs, req, dialect=dialect)["ifc_result"].iloc[0])


A = SPT(0, "Method", "INVITE", groups=(0,))
B = SPT(1, "SIPHeader", "X-Foo", groups=(0,))
C = SPT(2, "SessionCase", "0", groups=(1,))


@pytest.mark.parametrize("method, header, case, cnf, dnf", [
    # CNF = (A or B) and C ; DNF = (A and B) or C, evaluated by hand:
    ("MESSAGE", True, 0, True, True),     # (F|T)&T = T ; (F&T)|T = T
    ("INVITE", False, 1, False, False),   # (T|F)&F = F ; (T&F)|F = F
    ("INVITE", True, 1, False, True),     # (T|T)&F = F ; (T&T)|F = T
    ("MESSAGE", False, 0, False, True),   # (F|F)&T = F ; (F&F)|T = T
])
def test_cnf_and_dnf(method, header, case, cnf, dnf):
    req = _req(method, "X-Foo: 1\r\n" if header else "", case)
    assert _hit(_one([A, B, C], True), req) is cnf
    assert _hit(_one([A, B, C], False), req) is dnf


def test_negation_and_spt_in_two_groups():
    not_reg = SPT(0, "Method", "REGISTER", negated=True, groups=(0, 1))
    hdr = SPT(1, "SIPHeader", "Recv-Info", "g\\.3gpp\\.ussd", groups=(1,))
    # CNF: (NOT REGISTER) AND (NOT REGISTER OR Recv-Info~ussd)
    assert _hit(_one([not_reg, hdr], True), _req("INVITE")) is True      # T & (T|F)
    assert _hit(_one([not_reg, hdr], True), _req("REGISTER", "Recv-Info: g.3gpp.ussd\r\n")) is False
    # DNF: (NOT REGISTER) OR (NOT REGISTER AND ussd): REGISTER with ussd -> F | (F&T) = F
    assert _hit(_one([not_reg, hdr], False), _req("REGISTER", "Recv-Info: g.3gpp.ussd\r\n")) is False


def test_no_trigger_point_always_matches():
    ifcs = [InitialFilterCriteria(5, None, "sip:always")]
    assert route_request(ifcs, _req("OPTIONS")).first_as == "sip:always"


def test_priority_order_and_default_handling():
    ifcs = [InitialFilterCriteria(20, None, "sip:second"),
            InitialFilterCriteria(3, TriggerPoint(True, (A,)), "sip:first", 1)]
    r = route_request(ifcs, _req("INVITE"))
    assert [c[1] for c in r.chain] == ["sip:first", "sip:second"]
    assert "SESSION_TERMINATED" in r.answer


def test_session_description_and_request_uri():
    sdp = "v=0\r\nm=audio 4000 RTP/AVP 8\r\n"
    audio = SPT(0, "SessionDescription", "m", "audio", groups=(0,))
    video = SPT(0, "SessionDescription", "m", "video", groups=(0,))
    assert _hit(_one([audio], True), _req(body=sdp)) is True
    assert _hit(_one([video], True), _req(body=sdp)) is False
    # RequestURI: the spec matches the hostport of a SIP URI, kamailio the whole URI
    uri = SPT(0, "RequestURI", "^lab\\.example$", groups=(0,))
    assert _hit(_one([uri], True), _req(uri="sip:bob@lab.example")) is True
    assert _hit(_one([uri], True), _req(uri="sip:bob@lab.example"), "kamailio") is False


def test_dialects_disagree_on_method_prefix_and_case():
    inv = _one([SPT(0, "Method", "INV", groups=(0,))], True)
    c = compare_dialects(inv, _req("INVITE"))
    assert (bool(c.loc[0, "spec"]), bool(c.loc[0, "kamailio"]), bool(c.loc[0, "sprout"])) == \
        (False, True, False)
    ci = _one([SPT(0, "SIPHeader", "Recv-Info", "G.3GPP.USSD", groups=(0,))], True)
    req = _req("INVITE", "Recv-Info: g.3gpp.ussd\r\n")
    assert _hit(ci, req, "spec") is False and _hit(ci, req, "kamailio") is True


@pytest.mark.parametrize("profile", ["seed", "fixed"])
def test_bundled_requests_route_as_worked_out_by_hand(profile):
    ifcs = parse_ifc(data.path(f"ifc_{profile}_profile"))
    for name, want in TRUTH.items():
        r = route_request(ifcs, ifc_request(data.path(name)))
        assert [c[0] for c in r.chain] == want[profile], name


def test_capture_requests_equal_typed_requests():
    reqs = initial_requests(data.path("ifc_requests"))
    assert [r.method for r in reqs] == ["INVITE", "INVITE", "INVITE", "MESSAGE"]
    assert [r.session_case for r in reqs] == [0, 0, 1, 0]
    assert all(r.session_case_source == "P-Served-User" for r in reqs)


def test_seed_profile_lint_names_the_or_group_and_the_quotes():
    lint = lint_ifcs(parse_ifc(data.path("ifc_seed_profile")))
    warn = lint[lint.severity == "warning"]
    assert set(warn["priority"]) == {25, 30}
    assert "ORed" in " ".join(warn["what"]) and "quotes" in " ".join(warn["what"])
    assert len(lint_ifcs(parse_ifc(data.path("ifc_fixed_profile")))) == 0


def test_comments_are_kept():
    ifcs = parse_ifc(data.path("ifc_seed_profile"))
    assert ifcs[2].comment == "SIP INVITE Traffic from Registered Sub"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ServiceProfile>&lol2;</ServiceProfile>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<ServiceProfile><InitialFilterCriteria>&ext;</InitialFilterCriteria></ServiceProfile>"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL])
def test_entities_and_dtds_are_refused(text, tmp_path):
    f = tmp_path / "evil.xml"
    f.write_text(text)
    with pytest.raises(ConfigError, match="refused"):
        parse_ifc(f)


def test_malformed_and_unknown_elements_name_the_line(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<ServiceProfile>\n<InitialFilterCriteria>\n<Priority>1</Priority>\n"
                   "</ServiceProfile>\n")
    with pytest.raises(ConfigError, match=r"bad.xml.*not well-formed.*line 4"):
        parse_ifc(bad)
    unknown = tmp_path / "unknown.xml"
    unknown.write_text("<ServiceProfile>\n<InitialFilterCriteria>\n<Priority>1</Priority>\n"
                       "<Trigger/>\n</InitialFilterCriteria>\n</ServiceProfile>\n")
    with pytest.raises(ConfigError, match=r"unknown.xml, line 4: unknown element <Trigger>"):
        parse_ifc(unknown)
    two = ("<InitialFilterCriteria><Priority>1</Priority><TriggerPoint><ConditionTypeCNF>1"
           "</ConditionTypeCNF><SPT><Group>0</Group><Method>INVITE</Method><SessionCase>0"
           "</SessionCase></SPT></TriggerPoint><ApplicationServer><ServerName>sip:a"
           "</ServerName></ApplicationServer></InitialFilterCriteria>")
    with pytest.raises(ConfigError, match="SPT has 2 conditions"):
        parse_ifc(two)


def test_request_that_is_not_sip():
    with pytest.raises(ConfigError, match="not a SIP request"):
        ifc_request("hello world\n")


def test_group_values_shown_per_group():
    # CNF (A or B) and C for MESSAGE + X-Foo, case 1: group 0 = F|T = T, group 1 = F
    t = evaluate_ifcs(_one([A, B, C], True), _req("MESSAGE", "X-Foo: 1\r\n", 1))
    assert set(t["group_values"]) == {"0=True 1=False"} and not t["ifc_result"].any()
