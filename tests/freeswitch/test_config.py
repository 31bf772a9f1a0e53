"""labkit.freeswitch: codec strings, implementation lookup, configuration, logs.

Expected values are derived by hand from FreeSWITCH's source (signalwire/freeswitch):
switch_parse_codec_buf / switch_loadable_module_get_codecs_sorted /
switch_loadable_module_sort_codecs (src/switch_loadable_module.c), the codec modules'
switch_core_codec_add_implementation calls, preprocess() in src/switch_xml.c, and from
genuine FreeSWITCH log excerpts in data/freeswitch/public/ (source URLs inside).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from labkit import data
from labkit import freeswitch as fs
from labkit.errors import ConfigError, LabkitError, LabkitWarning

FIXTURES = data.data_dir() / "freeswitch" / "public"  # published excerpts, with sources


def test_codec_string_syntax():
    p = fs.parse_codec_string("AMR-WB@16000h@20i@23850b@1c")[0]
    assert (p.name, p.rate, p.ptime, p.bitrate, p.channels) == ("AMR-WB", 16000, 20, 23850, 1)
    # atoi semantics: "8k" is 8 (switch_parse_codec_buf uses atoi on "8k")
    assert fs.parse_codec_string("PCMU@8k")[0].rate == 8
    # "^^:" chooses ':' as separator (switch_separate_string)
    assert [p.name for p in fs.parse_codec_string("^^:PCMU:PCMA:G722")] == ["PCMU", "PCMA", "G722"]
    # leading '=' of codec_string is not part of the first name
    assert fs.parse_codec_string("=PCMA,PCMU")[0].name == "PCMA"
    q = fs.parse_codec_string("mod_opus.opus~stereo=1")[0]
    assert (q.modname, q.name, q.fmtp) == ("mod_opus", "opus", "stereo=1")
    assert fs.parse_codec_string("PCMU@foo")[0].problems  # no h/k/i/b/c qualifier


def test_default_prefs_pick_these_implementations():
    imps, missing = fs.load_codecs("OPUS,G722,PCMU,PCMA,H264,VP8")
    # mod_opus: 48 kHz mono 20 ms, VBR (0 bit/s), PT 116; mod_spandsp G722 registers
    # samples_per_second 8000 (actual 16000) 64000 bit/s; core PCMU/PCMA 64000 bit/s.
    assert [i.log_text() for i in imps if i.kind == "audio"] == [
        "opus:116:48000:20:0:1", "G722:9:8000:20:64000:1",
        "PCMU:0:8000:20:64000:1", "PCMA:8:8000:20:64000:1"]
    assert [i.name for i in imps if i.kind == "video"] == ["H264", "VP8"]
    assert missing == []


def test_lookup_rules():
    # iLBC default ptime is 30 ms (switch_core.c ptimes table) -> the 30 ms impl, PT 97
    assert fs.load_codecs("iLBC")[0][0].log_text() == "iLBC:97:8000:30:13330:1"
    # mod_amr registers the bandwidth-efficient interface last; the codec hash returns it
    assert fs.load_codecs("AMR")[0][0].pt == 97
    assert fs.load_codecs("AMR-WB")[0][0].log_text() == "AMR-WB:110:16000:20:23850:1"
    # the same codec twice counts once; unknown names are reported
    imps, missing = fs.load_codecs("PCMU,PCMU@20i,FOO")
    assert [i.name for i in imps] == ["PCMU"] and missing == ["FOO"]
    # sort: PCMA@20 breaks the 30 ms run and a later 30 ms codec is swapped in
    imps, _ = fs.load_codecs("PCMU@30i,PCMA,PCMA@30i")
    assert [(i.name, i.ptime) for i in imps] == [("PCMU", 30), ("PCMA", 30), ("PCMA", 20)]


VARS = """<include>
  <X-PRE-PROCESS cmd="set" data="global_codec_prefs=OPUS,G722,PCMU,PCMA"/>
  <!-- <X-PRE-PROCESS cmd="set" data="global_codec_prefs=PCMA"/> -->
  <X-PRE-PROCESS cmd="exec-set" data="x=echo hello"/>
</include>"""
PROFILE = """<profile name="internal"><settings>
  <param name="inbound-codec-prefs" value="$${global_codec_prefs}"/>
  <param name="outbound-codec-prefs" value="$${outbound_codec_prefs}"/>
  <param name="inbound-codec-negotiation" value="greedy"/>
</settings></profile>"""


def test_preprocessor_traps():
    cfg = fs.parse_config_text([("vars.xml", VARS), ("internal.xml", PROFILE)])
    # the commented-out line still runs (switch_xml.c preprocess works on raw lines)
    assert cfg.variables["global_codec_prefs"] == "PCMA"
    text = " | ".join(cfg.findings)
    assert "inside an XML comment still runs" in text
    assert "exec-set not run" in text and "x" not in cfg.variables
    assert "$${outbound_codec_prefs} is not set" in text
    prefs = fs.effective_prefs(cfg)
    assert (prefs.codec_string, prefs.source, prefs.mode) == ("PCMA", "inbound-codec-prefs", "greedy")


def test_effective_prefs_precedence():
    cfg = fs.parse_config_text([("p.xml", """<profile name="a"><settings>
        <param name="inbound-codec-prefs" value="G722"/>
        <param name="outbound-codec-prefs" value="PCMU"/></settings></profile>""")])
    assert fs.effective_prefs(cfg).codec_string == "G722"
    assert fs.effective_prefs(cfg, direction="outbound").codec_string == "PCMU"
    assert fs.effective_prefs(cfg, channel_vars={"codec_string": "GSM"}).source == "codec_string"
    both = {"codec_string": "GSM", "absolute_codec_string": "PCMA"}
    assert fs.effective_prefs(cfg, channel_vars=both).codec_string == "PCMA"
    assert fs.effective_prefs(None).codec_string == fs.FALLBACK_CODEC_STRING
    # a B-leg before answer offers what the A-leg negotiated, unless absolute_codec_string
    assert fs.effective_prefs(cfg, originator_codec="PCMA@8000h@20i").source == "originator codec"
    assert fs.effective_prefs(cfg, channel_vars=both, originator_codec="GSM").codec_string == "PCMA"
    with pytest.raises(LabkitError, match="no Sofia profile named"):
        fs.effective_prefs(cfg, profile="nope")


def test_dialplan_channel_variables_are_collected():
    dp = """<include><extension name="x"><condition>
      <action application="export" data="nolocal:absolute_codec_string=PCMA,PCMU"/>
      <action application="set" data="rtp_codec_negotiation=scrooge"/>
    </condition></extension></include>"""
    cfg = fs.parse_config_text([("dialplan.xml", dp)])
    prefs = fs.effective_prefs(cfg)
    assert (prefs.codec_string, prefs.source, prefs.mode) == ("PCMA,PCMU", "absolute_codec_string", "scrooge")


def test_xml_that_does_not_parse_is_a_config_error(tmp_path):
    bad = tmp_path / "internal.xml"
    bad.write_text('<profile name="x"><settings><param name="a" value="b"></settings>')
    with pytest.raises(ConfigError, match="XML does not parse"):
        fs.read_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        fs.read_config([tmp_path / "missing.xml"])


def test_bundled_config():
    cfg = fs.read_config(data.path("freeswitch_conf"))
    assert cfg.findings == ()
    prefs = fs.effective_prefs(cfg, profile="internal")
    assert prefs.codec_string == "OPUS,G722,PCMU,PCMA,H264,VP8"
    assert prefs.source == "inbound-codec-prefs" and prefs.mode == "generous"
    assert any(link.startswith("$${global_codec_prefs}") for link in prefs.chain)


@pytest.mark.parametrize("name, n_compare, n_saved, versions", [
    ("fusionpbx_1967_near_match.log", 8, 1, ()),
    ("freeswitch_1487_uuid_cpu.log", 3, 1, ("1.10.7 (line 5650)",)),
    ("fusionpbx_2044_sdp.log", 1, 0, ("1.6.12 (line 4311)",)),
    ("fusionpbx_1518_uuid_sdp.log", 2, 0, ()),
    ("freeswitch_2226_opus_rate.log", 5, 2, ("1.10.10-1.10.12 (line 5526)",)),
])
def test_real_log_excerpts_parse(name, n_compare, n_saved, versions):
    log = fs.read_log(FIXTURES / name)
    c = log.compares
    assert (c["kind"] == "compare").sum() == n_compare
    assert c["kind"].isin(["match", "near-match"]).sum() == n_saved
    assert log.versions == versions


def test_real_log_details():
    log = fs.read_log(FIXTURES / "fusionpbx_1967_near_match.log")
    first = log.compares.iloc[0]
    assert (first["r_name"], first["r_ptime"], first["l_name"], first["l_ptime"]) == ("PCMU", 30, "G722", 20)
    assert list(log.events["kind"]) == ["te", "substitute"]
    uuid_log = fs.read_log(FIXTURES / "fusionpbx_1518_uuid_sdp.log")
    assert uuid_log.compares["uuid"].iloc[0] == "6ecae462-f57a-11e5-8911-ff6ee14bb47e"
    sdp = uuid_log.remote_sdps[0]  # uuid prefixes stripped from the SDP dump
    assert "m=audio 4000 RTP/AVP 9 0 8 18 101" in sdp and "a=rtpmap:9 G722/16000" in sdp


def test_bundled_logs():
    causes = {"nomatch": "INCOMPATIBLE_DESTINATION", "match": "NORMAL_CLEARING",
              "nearmatch": "NORMAL_CLEARING", "crypto": "INCOMPATIBLE_DESTINATION"}
    chosen = {"nomatch": None, "match": "PCMA/8000 20 ms", "nearmatch": "PCMU/8000 30 ms",
              "crypto": None}
    for name, cause in causes.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LabkitWarning)
            log = fs.read_log(data.path(f"freeswitch_log_{name}"))
        assert log.hangup_cause == cause
        assert len(log.remote_sdps) == 1
        assert log.chosen_codec == chosen[name]


def test_log_without_compare_lines_warns_and_garbage_is_an_error(tmp_path):
    quiet = tmp_path / "quiet.log"
    quiet.write_text("2024-01-01 00:00:00.000000 [NOTICE] sofia.c:7699 Hangup sofia/internal/1@x "
                     "[CS_NEW] [INCOMPATIBLE_DESTINATION]\n")
    with pytest.warns(LabkitWarning, match="no 'Audio Codec Compare' lines"):
        log = fs.read_log(quiet)
    assert log.hangup_cause == "INCOMPATIBLE_DESTINATION"
    junk = tmp_path / "junk.log"
    junk.write_text("hello\nworld\n")
    with pytest.raises(LabkitError, match="no FreeSWITCH log lines"):
        fs.read_log(junk)
    with pytest.raises(LabkitError, match="cannot read log"):
        fs.read_log(tmp_path / "absent.log")


def test_mod_amrwb_registers_two_implementations():
    # mod_amrwb.c mod_amrwb_load: "AMR-WB / Octet Aligned" PT 100 (generate_fmtp(pool, 1)),
    # then "AMR-WB / Bandwidth Efficient" PT 110 (generate_fmtp(pool, 0)); 16000 Hz,
    # 23850 bit/s, 20000 us. The last registered is found first.
    amrwb = fs.catalogue()["amr-wb"]
    assert [(i.pt, i.interface) for i in amrwb] == [
        (110, "AMR-WB / Bandwidth Efficient"), (100, "AMR-WB / Octet Aligned")]
    assert [i.fmtp.split(";")[0] for i in amrwb] == ["octet-align=0", "octet-align=1"]
    assert {(i.rate, i.bitrate, i.ptime) for i in amrwb} == {(16000, 23850, 20)}
    amr = fs.catalogue()["amr"]  # mod_amr.c: PT 96 octet-aligned, PT 97 bandwidth-efficient
    assert [(i.pt, i.interface) for i in amr] == [(97, "AMR / Bandwidth Efficient"),
                                                  (96, "AMR / Octet Aligned")]


def test_amr_answer_follows_the_offer_framing():
    # switch_amrwb_init: octet-align from the offer's fmtp, else 0 unless force-oa;
    # mode-set re-created from the offer's modes, else the default (AMRWB_BITRATE_24K = 8)
    assert fs.amr_answer_fmtp("octet-align=1;mode-set=2,8", wideband=True) == \
        "mode-set=2,8;octet-align=1"
    assert fs.amr_answer_fmtp("", wideband=True) == "mode-set=8;octet-align=0"
    assert fs.amr_answer_fmtp("", wideband=True, force_oa=True) == "mode-set=8;octet-align=1"
    assert fs.amr_answer_fmtp("mode-set=7", wideband=False) == "mode-set=7;octet-align=0"


def test_listed_but_not_loaded():
    # the bundled modules.conf.xml loads the vanilla codec modules: no mod_amrwb, no mod_ilbc
    cfg = fs.read_config(data.path("freeswitch_conf"))
    assert "mod_amr" in cfg.modules and "mod_amrwb" not in cfg.modules
    prefs = fs.effective_prefs(cfg, channel_vars={"absolute_codec_string": "AMR-WB,AMR,iLBC,PCMA"})
    assert [i.name for i in prefs.implementations] == ["AMR", "PCMA"]
    assert fs.listed_not_loaded(prefs) == [("AMR-WB", "mod_amrwb"), ("iLBC", "mod_ilbc")]
    # without a modules.conf.xml every module of the catalogue counts as loaded
    bare = fs.effective_prefs(None, channel_vars={"absolute_codec_string": "AMR-WB,PCMA"})
    assert [i.name for i in bare.implementations] == ["AMR-WB", "PCMA"] and not bare.missing
