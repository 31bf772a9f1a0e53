"""Regenerate data/freeswitch/: a sample FreeSWITCH configuration and debug logs.

    python -m tools.freeswitch.make

The configuration (conf/vars.xml, conf/sip_profiles/internal.xml) is written for this
repository in FreeSWITCH's own format (X-PRE-PROCESS set lines, $${var} references,
Sofia <profile><settings><param>), with FreeSWITCH's default
global_codec_prefs=OPUS,G722,PCMU,PCMA,H264,VP8. The logs are what FreeSWITCH (master,
the source read for labkit.freeswitch.negotiation; line numbers of src/switch_core_media.c and
src/mod/endpoints/mod_sofia/sofia.c at commit cc93a683ca) prints at DEBUG level for four
inbound INVITEs on that profile: no match (GSM only), match (PCMA), near-match (PCMU at
30 ms, substituted) and crypto (a=crypto in RTP/AVP, refused before any comparison).
The "Audio Codec Compare" lines come from labkit.freeswitch.negotiation.simulate, whose output is
checked against genuine FreeSWITCH log excerpts in tests/fixtures/freeswitch/; the rest
of each log (channel, SDP dump, hangup) follows FreeSWITCH's message formats.
Deterministic: fixed timestamps, UUIDs and Call-IDs.
"""
from __future__ import annotations

import csv
from pathlib import Path

from labkit import freeswitch as fs
from labkit.freeswitch import negotiation as ng

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "freeswitch"
MADE_BY = "python -m tools.freeswitch.make"
HOW_MADE = ("synthetic builder: written by tools.freeswitch.make in FreeSWITCH's formats (codec "
            "lines from labkit.freeswitch.negotiation.simulate); no FreeSWITCH ran")
VERSION = "1.11.0-dev git cc93a68 2025-07-28 64bit"

VARS_XML = """<include>
  <!--
       labkit sample vars.xml, written for this repository in FreeSWITCH's format.
       Pre-processor variables: set with X-PRE-PROCESS here, referenced with the
       dollar-dollar-brace syntax in any file loaded after this one. NOTICE (as in FreeSWITCH's own vars.xml): an X-PRE-PROCESS
       line inside a comment is still executed; delete a line instead of commenting it.
  -->
  <X-PRE-PROCESS cmd="set" data="default_password=labkit-not-a-secret"/>
  <X-PRE-PROCESS cmd="set" data="domain=10.0.0.20"/>
  <X-PRE-PROCESS cmd="set" data="domain_name=$${domain}"/>
  <X-PRE-PROCESS cmd="set" data="internal_sip_port=5060"/>
  <X-PRE-PROCESS cmd="set" data="external_sip_port=5080"/>

  <!--
       Codec preferences, the order is the preference order (codec string syntax:
       NAME[@Nh][@Ni][@Nb][@Nc], e.g. AMR-WB@16000h@20i, PCMU@30i).
       GSM, AMR and AMR-WB are loaded but not listed here: a caller offering only
       those gets 488 / INCOMPATIBLE_DESTINATION.
  -->
  <X-PRE-PROCESS cmd="set" data="global_codec_prefs=OPUS,G722,PCMU,PCMA,H264,VP8"/>
  <X-PRE-PROCESS cmd="set" data="outbound_codec_prefs=OPUS,G722,PCMU,PCMA,H264,VP8"/>

  <X-PRE-PROCESS cmd="set" data="sip_tls_version=tlsv1.2"/>
  <X-PRE-PROCESS cmd="set" data="internal_ssl_enable=false"/>
  <X-PRE-PROCESS cmd="set" data="call_debug=false"/>
  <X-PRE-PROCESS cmd="set" data="console_loglevel=debug"/>
</include>
"""

PROFILE_XML = """<profile name="internal">
  <!-- labkit sample Sofia profile (FreeSWITCH format), uses the vars.xml variables. -->
  <aliases>
  </aliases>
  <gateways>
  </gateways>
  <domains>
    <domain name="all" alias="true" parse="false"/>
  </domains>
  <settings>
    <param name="debug" value="0"/>
    <param name="sip-trace" value="no"/>
    <param name="context" value="public"/>
    <param name="rfc2833-pt" value="101"/>
    <param name="sip-port" value="$${internal_sip_port}"/>
    <param name="dialplan" value="XML"/>
    <param name="dtmf-duration" value="2000"/>
    <param name="inbound-codec-prefs" value="$${global_codec_prefs}"/>
    <param name="outbound-codec-prefs" value="$${outbound_codec_prefs}"/>
    <param name="inbound-codec-negotiation" value="generous"/>
    <param name="inbound-late-negotiation" value="false"/>
    <param name="rtp-timer-name" value="soft"/>
    <param name="rtp-ip" value="10.0.0.20"/>
    <param name="sip-ip" value="10.0.0.20"/>
    <param name="ext-rtp-ip" value="10.0.0.20"/>
    <param name="ext-sip-ip" value="10.0.0.20"/>
    <param name="rtp-timeout-sec" value="300"/>
    <param name="rtp-hold-timeout-sec" value="1800"/>
    <param name="tls" value="$${internal_ssl_enable}"/>
    <param name="auth-calls" value="false"/>
    <param name="apply-inbound-acl" value="domains"/>
  </settings>
</profile>
"""


def _sdp(origin_ip, port, fmt, attrs, proto="RTP/AVP", tool="a=tool:baresip 1.0.0"):
    from labkit.capture.frames import sdp_body
    return sdp_body(origin_ip, port, fmt, attributes=attrs, proto=proto, session="3914291 3914291",
                    session_attributes=[tool] if tool else [])


CASES = [
    # name, caller, uuid, call-id, offer SDP, description
    ("nomatch", "1001", "6b1f0c52-5a3e-4c1e-9d61-2f6f4a0c1a01", "a84b4c76e66710",
     _sdp("10.0.0.1", 10008, "3 101", ["a=rtpmap:3 GSM/8000", "a=rtpmap:101 telephone-event/8000",
                                       "a=fmtp:101 0-15", "a=sendrecv", "a=ptime:20"]),
     "GSM-only offer (as baresip sends it) against OPUS,G722,PCMU,PCMA: no match, 488, "
     "INCOMPATIBLE_DESTINATION"),
    ("match", "1002", "6b1f0c52-5a3e-4c1e-9d61-2f6f4a0c1a02", "b84b4c76e66711",
     _sdp("10.0.0.2", 10020, "8 0 101", ["a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000",
                                         "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15",
                                         "a=sendrecv", "a=ptime:20"]),
     "PCMA,PCMU offer: generous mode keeps the caller's order, PCMA chosen, call answered "
     "and later cleared by BYE (NORMAL_CLEARING)"),
    ("nearmatch", "1003", "6b1f0c52-5a3e-4c1e-9d61-2f6f4a0c1a03", "c84b4c76e66712",
     _sdp("10.0.0.3", 16450, "0 101", ["a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
                                       "a=fmtp:101 0-15", "a=ptime:30", "a=sendrecv"],
          tool=None),
     "PCMU at a=ptime:30 (an ATA): only a near-match with PCMU@20, FreeSWITCH substitutes "
     "PCMU@30i and the call goes on"),
    ("crypto", "1004", "6b1f0c52-5a3e-4c1e-9d61-2f6f4a0c1a04", "d84b4c76e66713",
     _sdp("10.0.0.4", 10040, "8 101", ["a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
                                       "a=fmtp:101 0-15",
                                       "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                                       "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0",
                                       "a=sendrecv", "a=ptime:20"]),
     "a=crypto in an RTP/AVP offer: FreeSWITCH refuses it before comparing codecs "
     "('a=crypto in RTP/AVP, refer to rfc3711'), 488, INCOMPATIBLE_DESTINATION"),
]

LINE = {"new": ("switch_channel.c", 1143), "invite": ("sofia.c", 10472),
        "state": ("sofia.c", 7505), "sdp": ("sofia.c", 7515),
        "compare": ("switch_core_media.c", 5548), "near-match": ("switch_core_media.c", 5592),
        "match": ("switch_core_media.c", 5611), "te": ("switch_core_media.c", 5460),
        "subst": ("switch_core_media.c", 5662), "crypto": ("switch_core_media.c", 5411),
        "setcodec": ("switch_core_media.c", 3745), "hangup488": ("sofia.c", 7699),
        "hangupbye": ("sofia.c", 1065)}


class _Log:
    """Writes FreeSWITCH-format lines: 'uuid yyyy-mm-dd hh:mm:ss.uuuuuu cpu% [LEVEL] file:line text'."""

    def __init__(self, uuid, start_us, with_uuid=True):
        self.uuid, self.t, self.with_uuid, self.lines = uuid, start_us, with_uuid, []

    def add(self, level, key, text, step_us=37):
        self.t += step_us
        s, us = divmod(self.t, 1_000_000)
        hh, mm, ss = (s // 3600) % 24, (s // 60) % 60, s % 60
        file, line = LINE[key]
        head = f"2026-03-02 {hh:02d}:{mm:02d}:{ss:02d}.{us:06d} 97.83% [{level}] {file}:{line} "
        body = text.split("\n")
        self.lines.append((f"{self.uuid} " if self.with_uuid else "") + head + body[0])
        for extra in body[1:]:
            self.lines.append((f"{self.uuid} " if self.with_uuid else "") + extra)

    def text(self):
        return "\n".join(self.lines) + "\n"


def _write_log(case, prefs, start_us, with_uuid) -> str:
    name, user, uuid, call_id, offer, _ = case
    chan = f"sofia/internal/{user}@10.0.0.20"
    ip = offer.split("c=IN IP4 ")[1].split("\r\n")[0]
    log = _Log(uuid, start_us, with_uuid)
    log.add("NOTICE", "new", f"New Channel {chan} [{uuid}]", 0)
    log.add("INFO", "invite", f"{chan} receiving invite from {ip}:5060 version: {VERSION} "
            f"call-id: {call_id}")
    log.add("DEBUG", "state", f"Channel {chan} entering state [received][100]")
    log.add("DEBUG", "sdp", "Remote SDP:\n" + offer.replace("\r\n", "\n"))
    neg = ng.simulate(offer, prefs, prefs.mode)
    _negotiation_lines(log, neg, offer)
    if neg.ok:
        r, imp = neg.chosen
        log.add("DEBUG", "setcodec", f"Set Codec {chan} {imp.name}/{imp.rate} {imp.ptime} ms "
                f"{imp.rate * imp.ptime // 1000} samples {imp.bitrate} bits "
                f"{imp.channels} channels")
        log.add("DEBUG", "state", f"Channel {chan} entering state [completed][200]", 900_000)
        log.add("DEBUG", "state", f"Channel {chan} entering state [ready][200]", 40_000)
        log.add("NOTICE", "hangupbye", f"Hangup {chan} [CS_EXECUTE] [NORMAL_CLEARING]", 9_500_000)
    else:
        log.add("NOTICE", "hangup488", f"Hangup {chan} [CS_NEW] [INCOMPATIBLE_DESTINATION]")
    return log.text()


def _negotiation_lines(log, neg, offer):
    """The simulator's lines, with the telephone-event line where FreeSWITCH meets it."""
    if neg.refused:
        log.add("ERR", "crypto", neg.refused)
        return
    te_pt = neg.telephone_event[0] if neg.telephone_event else None
    te_before = _te_position(offer, te_pt)
    done_remote = 0
    for x in neg.lines:
        if x.kind == "compare":
            if te_pt is not None and done_remote == te_before and x.remote and _first_of(neg, x):
                log.add("DEBUG", "te", f"Set telephone-event payload to {te_pt}@{neg.telephone_event[1]}")
                te_pt = None
            if _first_of(neg, x):
                done_remote += 1
            log.add("DEBUG", "compare", x.text(), 11)
        elif x.kind in ("match", "near-match"):
            log.add("DEBUG", x.kind, x.text(), 7)
        elif x.local.startswith("Substituting"):
            if te_pt is not None:
                log.add("DEBUG", "te", f"Set telephone-event payload to {te_pt}@{neg.telephone_event[1]}")
                te_pt = None
            log.add("DEBUG", "subst", x.local)
    if te_pt is not None:
        log.add("DEBUG", "te", f"Set telephone-event payload to {te_pt}@{neg.telephone_event[1]}")


def _first_of(neg, line) -> bool:
    """Is this compare line the first for its remote codec (a new rtpmap in the loop)?"""
    first_local = next(i for i in neg.local if i.kind == "audio").log_text()
    return line.local == first_local


def _te_position(offer, te_pt) -> int:
    """How many non-DTMF codecs precede telephone-event in the m= line."""
    if te_pt is None:
        return -1
    fmts = offer.split("m=audio ")[1].split("\r\n")[0].split()[2:]
    return fmts.index(str(te_pt)) if str(te_pt) in fmts else -1


def main() -> int:
    conf = OUT / "conf"
    (conf / "sip_profiles").mkdir(parents=True, exist_ok=True)
    (conf / "vars.xml").write_text(VARS_XML)
    (conf / "sip_profiles" / "internal.xml").write_text(PROFILE_XML)
    prefs = fs.effective_prefs(fs.read_config(conf), profile="internal")
    rows = [("freeswitch_conf", "conf", "sample FreeSWITCH configuration directory (vars.xml + "
             "sip_profiles/internal.xml), written for labkit in FreeSWITCH's format"),
            ("freeswitch_vars", "conf/vars.xml", "sample vars.xml: global_codec_prefs="
             "OPUS,G722,PCMU,PCMA,H264,VP8 (FreeSWITCH's default)"),
            ("freeswitch_profile_internal", "conf/sip_profiles/internal.xml", "sample Sofia "
             "profile 'internal': inbound-codec-prefs=$${global_codec_prefs}, generous, "
             "inbound-late-negotiation=false")]
    for i, case in enumerate(CASES):
        text = _write_log(case, prefs, (10 * 3600 + 15 * 60 + 4 + 60 * i) * 1_000_000 + 112233,
                          with_uuid=case[0] != "match")
        (OUT / f"fs_{case[0]}.log").write_text(text)
        style = "fs_cli style, no uuid prefix" if case[0] == "match" else "uuid-prefixed lines"
        rows.append((f"freeswitch_log_{case[0]}", f"fs_{case[0]}.log",
                     f"FreeSWITCH master DEBUG log ({style}) of an inbound INVITE on the sample "
                     f"profile: {case[5]}"))
    with open(OUT / "MANIFEST.tsv", "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["name", "file", "made_by", "how_made", "description"])
        for name, file, desc in rows:
            w.writerow([name, file, MADE_BY, HOW_MADE, desc])
    print(f"wrote {len(rows)} entries to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
