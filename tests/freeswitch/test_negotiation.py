"""labkit.freeswitch.negotiation (FreeSWITCH simulator, verdicts) and the SDP offer/answer checks.

The simulator is checked against genuine FreeSWITCH log excerpts (data/freeswitch/public/,
source URLs inside): the excerpt must equal the start of the simulated
compare sequence. When the excerpt includes the "Remote SDP", that SDP is the input;
otherwise the offer is rebuilt from the left-hand sides of the compare lines (name, PT,
rate; a=ptime when all remote ptimes agree and differ from 20 ms) and the local list from
the right-hand sides. Other expected values are derived from RFC 3264 / RFC 4867 text or
from the C source of switch_core_media_negotiate_sdp, as noted per test.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from labkit import data
from labkit import freeswitch as fs
from labkit.freeswitch import negotiation as ng
from labkit.errors import LabkitWarning
from labkit.sip.sdp import check_amr_fmtp, check_answer, check_description, compare_offers, parse_sdp

FIXTURES = data.data_dir() / "freeswitch" / "public"  # published excerpts, with sources


def sdp(m, extra="", proto="RTP/AVP", more=""):
    from labkit.capture.frames import sdp_body
    return sdp_body("10.0.0.1", 4000, m, proto=proto) + extra + more


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.log")))
def test_simulator_reproduces_real_freeswitch_logs(name):
    log = fs.read_log(FIXTURES / name)
    offer, local = fs.EXCERPT_INPUTS.get(name, (None, None))
    table = ng.replay_excerpt(log, offer, local)
    assert len(table) == len(log.compares) and table["same"].all(), \
        table.loc[~table["same"], ["log", "simulator"]].head(2).to_dict("records")


def test_the_seed_log_replays():
    table = ng.replay_excerpt(fs.read_log(data.path("freeswitch_log_seed")))
    assert list(table["log"]) == list(table["simulator"]) and len(table) == 4


def test_near_match_substitution_as_in_the_real_log():
    # fusionpbx issue 1967: "Substituting codec PCMU@30i@8000h@1c"
    neg = ng.simulate(sdp("0 100 101", "a=rtpmap:100 NSE/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                          "a=ptime:30\r\n"), "G722,PCMU,PCMA,GSM")
    assert neg.substituted == "Substituting codec PCMU@30i@8000h@1c"
    assert neg.chosen[1].ptime == 30 and neg.telephone_event == (101, 8000)


@pytest.mark.parametrize("name", ["nomatch", "match", "nearmatch", "crypto"])
def test_simulator_and_bundled_logs_agree(name):
    prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        log = fs.read_log(data.path(f"freeswitch_log_{name}"))
    table = ng.log_agreement(log, prefs, prefs.mode)
    assert len(table) == 1 and table["agree"].all(), table["first_difference"].tolist()


def test_modes():
    offer = sdp("8 0")  # caller prefers PCMA
    assert ng.simulate(offer, "PCMU,PCMA", "generous").chosen[1].name == "PCMA"  # remote order
    assert ng.simulate(offer, "PCMU,PCMA", "greedy").chosen[1].name == "PCMU"    # local order
    # scrooge: a 30 ms PCMU offer matches the local 20 ms PCMU directly ("Bah HUMBUG"),
    # where generous only near-matches and substitutes PCMU@30i.
    slow = sdp("0", "a=ptime:30\r\n")
    sc = ng.simulate(slow, "PCMU", "scrooge")
    assert sc.chosen[1].ptime == 20 and sc.substituted is None
    assert any(x.kind == "humbug" for x in sc.lines)
    assert ng.simulate(slow, "PCMU", "generous").chosen[1].ptime == 30
    with pytest.raises(ValueError):
        ng.simulate(offer, "PCMU", "stingy")


def test_matching_rules_from_the_source():
    # static vs dynamic PT must agree: AMR-WB offered as PT 96 matches local PT 110 (both dynamic)
    assert ng.simulate(sdp("96", "a=rtpmap:96 AMR-WB/16000/1\r\n"), "AMR-WB").ok
    # rates must agree: G722/16000 (a wrong rtpmap, RFC 3551 says 8000) does not match
    assert not ng.simulate(sdp("9", "a=rtpmap:9 G722/16000\r\n"), "G722").ok
    # names compare case-insensitively; channels are not compared
    assert ng.simulate(sdp("0", "a=rtpmap:0 pcmu/8000/2\r\n"), "PCMU").ok
    # AMR fmtp (octet-align) is never compared by FreeSWITCH
    assert ng.simulate(sdp("96", "a=rtpmap:96 AMR/8000\r\na=fmtp:96 octet-align=1\r\n"), "AMR").ok


def test_crypto_and_t38():
    key = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0\r\n"
    avp = ng.simulate(sdp("8", key), "PCMA")
    assert avp.refused == "a=crypto in RTP/AVP, refer to rfc3711" and not avp.compares
    assert ng.simulate(sdp("8", key), "PCMA", allow_crypto_in_avp=True).ok
    assert ng.simulate(sdp("8", key, "RTP/SAVP"), "PCMA").ok  # inbound default: optional
    off = ng.simulate(sdp("8", key, "RTP/SAVP"), "PCMA", crypto="forbidden")
    assert "administratively disabled" in off.refused
    assert "Crypto not negotiated" in ng.simulate(sdp("8"), "PCMA", crypto="mandatory").refused
    t38 = sdp("8", more="m=image 4002 udptl t38\r\n").replace("m=audio 4000", "m=audio 0")
    neg = ng.simulate(t38, "PCMA")
    assert neg.t38_refused and not neg.ok
    assert "T.38" in ng.outcome_sentence(neg)[0]


def test_outcome_sentence_for_the_gsm_case():
    prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    neg = ng.simulate(sdp("3 101", "a=rtpmap:101 telephone-event/8000\r\n"), prefs)
    text, fix = ng.outcome_sentence(neg, prefs)
    assert text == ("offer has GSM only; effective prefs OPUS,G722,PCMU,PCMA from "
                    "global_codec_prefs; no match -> INCOMPATIBLE_DESTINATION, Q.850 88, SIP 488")
    assert fix.startswith("add GSM to global_codec_prefs in vars.xml")


def test_bad_offers_do_not_crash():
    # dynamic PT without rtpmap: empty name, compared by nothing, no match
    neg = ng.simulate(sdp("97"), "PCMU")
    assert not neg.ok and neg.compares[0].remote == ":97:0:20:0:1"
    # unknown codec name and a malformed line
    neg = ng.simulate(sdp("120", "a=rtpmap:120 FANCY/12345\r\ngarbage\r\n"), "PCMU,PCMA")
    assert not neg.ok and len(neg.compares) == 2
    assert "load a module" in ng.outcome_sentence(neg)[1]


# --- RFC 3264 / 4867 / 4733 checks -------------------------------------------------------

def codes(findings):
    return [f.code for f in findings]


def test_rfc3264_answer_rules():
    offer = parse_sdp(sdp("0 8", "a=sendonly\r\n", more="m=video 5000 RTP/AVP 31\r\n"))
    one_line = parse_sdp(sdp("0"))
    assert codes(check_answer(offer, one_line)) == ["rfc3264-mline-count"]
    answer = parse_sdp(sdp("18", "a=sendonly\r\n", more="m=video 0 RTP/AVP 31\r\n"))
    got = codes(check_answer(offer, answer))
    # G729 was not offered; sendonly must be answered recvonly/inactive; video rejected
    assert got == ["rfc3264-codec-not-offered", "rfc3264-direction", "stream-rejected"]
    savp = parse_sdp(sdp("0", proto="RTP/SAVP", extra="a=recvonly\r\n"))
    assert "rfc3264-transport" in codes(check_answer(parse_sdp(sdp("0", "a=sendonly\r\n")), savp))


def test_amr_fmtp_rules():
    # RFC 4867 8.3.1: octet-align must be echoed; absent = 0 (8.1)
    assert codes(check_amr_fmtp("octet-align=1", "")) == ["amr-octet-align"]
    assert check_amr_fmtp("octet-align=1; mode-set=0,1,2", "octet-align=1;mode-set=0,2") == []
    assert codes(check_amr_fmtp("mode-set=0,1,2", "mode-set=2,7")) == ["amr-mode-set"]
    before = parse_sdp(sdp("96", "a=rtpmap:96 AMR-WB/16000\r\na=fmtp:96 octet-align=1\r\n"))
    after = parse_sdp(sdp("96", "a=rtpmap:96 AMR-WB/16000\r\n"))
    found = compare_offers(before, after)
    assert codes(found) == ["offer-fmtp-rewritten"] and found[0].severity == "error"


def test_single_description_checks():
    te = parse_sdp(sdp("96 101", "a=rtpmap:96 AMR-WB/16000\r\na=rtpmap:101 telephone-event/8000\r\n"))
    assert codes(check_description(te)) == ["telephone-event-rate"]
    ok = parse_sdp(sdp("96 101", "a=rtpmap:96 AMR-WB/16000\r\na=rtpmap:101 telephone-event/16000\r\n"))
    assert check_description(ok) == []
    key = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n"
    assert codes(check_description(parse_sdp(sdp("0", key)))) == ["crypto-in-avp"]
    assert codes(check_description(parse_sdp(sdp("0", proto="RTP/SAVP")))) == ["savp-without-keys"]
    assert codes(check_description(parse_sdp(sdp("3", "a=ptime:30\r\na=maxptime:20\r\n")))) == \
        ["ptime-over-maxptime", "ptime-not-frame-multiple"]


# --- per call -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab():
    capture = pytest.importorskip("labkit.capture")
    try:
        paths = {n: data.path(n) for n in ("codec_mismatch_488", "fmtp_rewrite_reject",
                                           "relay_rtpengine")}
    except Exception:
        pytest.skip("data/lab captures not built")
    prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    return {n: ng.call_verdicts(capture.read_capture(p), prefs=prefs) for n, p in paths.items()}


def test_verdicts_on_real_captures(lab):
    gsm = lab["codec_mismatch_488"].iloc[0]
    assert gsm["final_status"] == 488 and gsm["offered"] == "GSM/8000,telephone-event/8000"
    # tshark -r codec_mismatch_488.pcap -Y sip.Status-Code==488 -T fields -e ip.src
    # -e sip.Server -e sip.Reason: 10.0.0.2, baresip v1.0.0 (x86_64/linux), (empty).
    assert "488 Not Acceptable Here sent by 10.0.0.2 (Server: baresip v1.0.0" in gsm["verdict"]
    assert "no Reason header" in gsm["verdict"] and "Q.850" not in gsm["verdict"]
    # what FreeSWITCH with the bundled prefs would do is said apart, as a what-if
    assert gsm["freeswitch"].startswith("offer has GSM only; effective prefs OPUS,G722,PCMU,PCMA")
    fmtp = lab["fmtp_rewrite_reject"].iloc[0]
    assert "offer-fmtp-rewritten" in codes(fmtp["findings"])
    assert "octet-align 1 -> 0" in fmtp["verdict"] and fmtp["final_status"] == 488
    ok = lab["relay_rtpengine"].iloc[0]
    assert ok["final_status"] == 200 and ok["answered"].startswith("PCMA/8000")
    assert "answer picks PCMA/8000" in ok["verdict"] and ok["fix"] == "none needed"
    assert "picks PCMA/8000 (PT 8)" in ok["freeswitch"]


def test_late_offer_and_t38_findings():
    from sip.test_messages import FakePackets, msg
    from sip.test_messages import sdp as sip_sdp
    A, B = "192.0.2.1", "192.0.2.2"
    rows = [(1, 17, A, 5060, B, 5060, 0, msg("INVITE sip:b@x SIP/2.0", "1 INVITE")),
            (2, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 200 OK", "1 INVITE", sip_sdp(5000, "8"),
                                             to_tag="t")),
            (3, 17, A, 5060, B, 5060, 0, msg("ACK sip:b@x SIP/2.0", "1 ACK", to_tag="t")),
            (4, 17, B, 5060, A, 5060, 0, msg("INVITE sip:a@x SIP/2.0", "2 INVITE",
                                             sip_sdp(0, "8", "m=image 5002 udptl t38\r\n"),
                                             to_tag="t")),
            (5, 17, A, 5060, B, 5060, 0, msg("SIP/2.0 488 Not Acceptable Here", "2 INVITE",
                                             to_tag="t"))]
    v = ng.call_verdicts(FakePackets(rows)).iloc[0]
    found = {f.code: f.severity for f in v["findings"]}
    assert found["late-offer"] == "error"  # the ACK carries no answer
    assert found["t38-rejected"] == "error"


def test_cli(capsys, tmp_path):
    pytest.importorskip("labkit.capture")
    from labkit.cli import main
    try:
        cap = data.path("codec_mismatch_488")
    except Exception:
        pytest.skip("data/lab captures not built")
    conf = str(data.path("freeswitch_conf"))
    assert main(["codecs", str(cap), "--config", conf, "--log",
                 str(data.path("freeswitch_log_nomatch"))]) == 0
    out = capsys.readouterr().out
    assert "FreeSWITCH with these prefs would: offer has GSM only" in out
    assert "simulator, negotiation 1: 4 log lines, 4 simulated, agrees" in out
    bad = tmp_path / "bad.xml"
    bad.write_text("<profile")
    assert main(["codecs", str(cap), "--config", str(bad)]) == 2
    assert "XML does not parse" in capsys.readouterr().err


def test_widget_outcome_changes_with_prefs_and_mode(capsys):
    pytest.importorskip("ipywidgets")
    import matplotlib.pyplot as plt

    from labkit import widgets
    box = widgets.negotiation_explorer(sdp("3 101", "a=rtpmap:101 telephone-event/8000\r\n"),
                                       "OPUS,G722,PCMU,PCMA")
    text, menu = box.children[0].children
    first = capsys.readouterr().out  # outside a kernel the Output widget lets prints through
    assert "no match -> INCOMPATIBLE_DESTINATION" in first
    text.value = "OPUS,G722,PCMU,PCMA,GSM"
    assert "picks GSM/8000 (PT 3) -> call proceeds" in capsys.readouterr().out
    menu.value = "greedy"
    assert "greedy mode picks GSM/8000" in capsys.readouterr().out
    plt.close("all")


def test_interleaved_channels_in_one_log():
    # Three calls' records (a head line plus its continuation lines, written at once by
    # FreeSWITCH) interleaved round-robin: each channel's negotiation is kept apart by uuid.
    def records(text):
        out = []
        for line in text.splitlines():
            if " [" in line and "] " in line and ".c:" in line:
                out.append([line])
            else:
                out[-1].append(line)
        return out
    logs = [records(data.path(f"freeswitch_log_{n}").read_text())
            for n in ("nomatch", "nearmatch", "crypto")]
    merged = []
    for i in range(max(map(len, logs))):
        for recs in logs:
            if i < len(recs):
                merged += recs[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        log = fs.parse_log("\n".join(merged))
    prefs = fs.effective_prefs(fs.read_config(data.path("freeswitch_conf")))
    table = ng.log_agreement(log, prefs)
    assert table["n_log"].tolist() == [4, 5, 0] and table["agree"].all()


def test_answer_amr_checked_against_the_same_payload_type():
    # VoLTE offers AMR-WB twice: PT 116 octet-aligned, PT 107 bandwidth-efficient. An
    # answer choosing 107 without fmtp is consistent; choosing 116 without fmtp is not.
    offer = parse_sdp(sdp("116 107", "a=rtpmap:116 AMR-WB/16000\r\na=fmtp:116 octet-align=1\r\n"
                                     "a=rtpmap:107 AMR-WB/16000\r\n"))
    be = parse_sdp(sdp("107", "a=rtpmap:107 AMR-WB/16000\r\n"))
    oa = parse_sdp(sdp("116", "a=rtpmap:116 AMR-WB/16000\r\n"))
    assert check_answer(offer, be) == []
    assert codes(check_answer(offer, oa)) == ["amr-octet-align"]


def test_port_zero_offer_answered_488_is_a_disabled_stream():
    from sip.test_messages import FakePackets, msg
    from sip.test_messages import sdp as sip_sdp
    A, B = "192.0.2.1", "192.0.2.2"
    # the only audio m= line has port 0: RFC 3264 5.1 "a port number of zero in the offer
    # indicates that the stream is offered but MUST NOT be used"
    rows = [(1, 17, A, 5060, B, 5060, 0, msg("INVITE sip:b@x SIP/2.0", "1 INVITE",
                                             sip_sdp(0, "8 0"))),
            (2, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 488 Not Acceptable Here", "1 INVITE",
                                             to_tag="t", extra="Server: test-uas\r\n"))]
    v = ng.call_verdicts(FakePackets(rows)).iloc[0]
    assert "stream disabled (RFC 3264 section 5.1/6)" in v["verdict"]
    assert "accepts none of these codecs" not in v["verdict"]
    assert "sent by 192.0.2.2 (Server: test-uas)" in v["verdict"]
    assert "non-zero port" in v["fix"]


def test_freeswitch_reasoning_explains_only_a_response_freeswitch_sent():
    from sip.test_messages import FakePackets, msg
    from sip.test_messages import sdp as sip_sdp
    A, B = "192.0.2.1", "192.0.2.2"

    def call(server):
        return [(1, 17, A, 5060, B, 5060, 0, msg("INVITE sip:b@x SIP/2.0", "1 INVITE",
                                                 sip_sdp(4000, "3"))),
                (2, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 488 Not Acceptable Here", "1 INVITE",
                                                 to_tag="t", extra=f"Server: {server}\r\n"))]
    prefs = fs.effective_prefs(None, channel_vars={"absolute_codec_string": "OPUS,PCMU,PCMA"})
    by_fs = ng.call_verdicts(FakePackets(call("FreeSWITCH-mod_sofia/1.10.7")), prefs=prefs).iloc[0]
    assert "sent by 192.0.2.2 (Server: FreeSWITCH-mod_sofia/1.10.7)" in by_fs["verdict"]
    assert "offer has GSM only" in by_fs["verdict"]  # FreeSWITCH answered: its rules explain it
    other = ng.call_verdicts(FakePackets(call("baresip v1.0.0")), prefs=prefs).iloc[0]
    assert "offer has GSM only" not in other["verdict"] and other["freeswitch"]
