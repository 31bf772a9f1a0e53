"""Write data/ifc/: iFC profiles, typed requests and a built capture of initial requests.

    python -m tools.synth.make_ifc

Everything here is written by this script (no real HSS or S-CSCF made it):

- ifc_seed_profile.xml: the three iFCs of the seed posts as their author wrote them (an
  MMTel iFC: INVITE AND P-Access-Network-Info present, two groups; the USSD iFC with
  ``<Content>"g.3gpp.ussd"</Content>`` in quotes; the "INVITE from a registered sub" iFC
  that puts Method INVITE and SessionCase 0 in the same group of a CNF trigger).
- ifc_fixed_profile.xml: the same intent written so it does what the comments say.
- ifc_request_*.sip: initial requests as an S-CSCF receives them.
- ifc_requests.pcap: those requests as built UDP frames (capture.frames), for
  ``labkit ifc IFC.xml CAPTURE``.

The expected routing of each request under each profile is in ifc_truth.json, worked
out by hand from TS 29.228 Annex B (the reasoning is in EXPECTED below).
"""
from __future__ import annotations

from tools.manifest import add_how_made
import json
import sys
from pathlib import Path

from labkit.capture import frames

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "ifc"
T0 = 1_700_000_000_000_000_000
PCSCF, SCSCF = "10.0.0.20", "10.0.0.30"


def _spt(group, body, negated=0):
    return (f"                <SPT>\n                    <ConditionNegated>{negated}"
            f"</ConditionNegated>\n                    <Group>{group}</Group>\n"
            f"                    {body}\n                </SPT>\n")


def _ifc(comment, priority, spts, server, cnf=1, default=0):
    return (f"    <!-- {comment} -->\n    <InitialFilterCriteria>\n"
            f"        <Priority>{priority}</Priority>\n        <TriggerPoint>\n"
            f"            <ConditionTypeCNF>{cnf}</ConditionTypeCNF>\n{''.join(spts)}"
            f"        </TriggerPoint>\n        <ApplicationServer>\n"
            f"            <ServerName>{server}</ServerName>\n"
            f"            <DefaultHandling>{default}</DefaultHandling>\n"
            f"        </ApplicationServer>\n    </InitialFilterCriteria>\n")


INVITE = "<Method>INVITE</Method>"
PANI = "<SIPHeader><Header>P-Access-Network-Info</Header></SIPHeader>"
MMTEL, USSDGW, TAS = "sip:mmtel.lab.example", "sip:ussdgw:5060", "sip:tas.lab.example"


def profile(fixed: bool) -> str:
    ussd = "g.3gpp.ussd" if fixed else '"g.3gpp.ussd"'
    third = ([_spt(0, INVITE), _spt(1, "<SessionCase>0</SessionCase>")] if fixed else
             [_spt(0, INVITE), _spt(0, "<SessionCase>0</SessionCase>")])
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ServiceProfile>\n'
            '    <PublicIdentity><Identity>sip:alice@lab.example</Identity></PublicIdentity>\n'
            + _ifc("MMTel: INVITE from the IMS (P-Access-Network-Info present)", 10,
                   [_spt(0, INVITE), _spt(1, PANI)], MMTEL)
            + _ifc("SIP USSD Traffic to USSD-GW", 25,
                   [_spt(1, f"<SIPHeader><Header>Recv-Info</Header><Content>{ussd}"
                            f"</Content></SIPHeader>")], USSDGW)
            + _ifc("SIP INVITE Traffic from Registered Sub", 30, third, TAS)
            + "</ServiceProfile>\n")


SDP = frames.sdp_body("10.0.0.1", 40000, [(8, "PCMA/8000")])


def _request(method, ruri, extra, body="", cseq=1, call="c1"):
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP {PCSCF}:5060;branch=z9hG4bK-{call}",
             "Max-Forwards: 69", "From: <sip:alice@lab.example>;tag=a1",
             f"To: <{ruri.split(';')[0]}>", f"Call-ID: {call}@lab.example",
             f"CSeq: {cseq} {method}", *extra]
    if body:
        lines += ["Content-Type: application/sdp", f"Content-Length: {len(body)}"]
    else:
        lines += ["Content-Length: 0"]
    return "\r\n".join(lines) + "\r\n\r\n" + body


ORIG = ["Route: <sip:scscf.lab.example;lr;orig>",
        "P-Served-User: <sip:alice@lab.example>;sescase=orig;regstate=reg"]
TERM = ["P-Served-User: <sip:alice@lab.example>;sescase=term;regstate=reg"]
PANI_H = ["P-Access-Network-Info: 3GPP-E-UTRAN-FDD;utran-cell-id-3gpp=0010100010019B01"]
REQUESTS = {
    "ifc_request_ussd_invite": _request(
        "INVITE", "sip:*135%23;phone-context=lab.example@lab.example;user=dialstring",
        ORIG + PANI_H + ["Recv-Info: g.3gpp.ussd"], SDP, call="ussd1"),
    "ifc_request_fixed_line_invite": _request(
        "INVITE", "sip:bob@lab.example", ORIG, SDP, call="fixed1"),
    "ifc_request_terminating_invite": _request(
        "INVITE", "sip:alice@lab.example", TERM, SDP, call="term1"),
    "ifc_request_orig_message": _request(
        "MESSAGE", "sip:bob@lab.example", ORIG + PANI_H, call="msg1"),
}
# By hand, TS 29.228 B.2.2 (CNF: AND of groups, OR inside a group), spec dialect:
EXPECTED = {
    # seed: 10 = INVITE AND PANI -> yes; 25 = Recv-Info ~ /"g.3gpp.ussd"/ -> no (no quotes
    # in the header); 30 = INVITE OR orig-reg -> yes.  fixed: 25 yes; 30 = INVITE AND orig-reg.
    "ifc_request_ussd_invite": {"seed": [10, 30], "fixed": [10, 25, 30]},
    # fixed line: no PANI -> 10 no; 25 no Recv-Info; 30 yes (both profiles).
    "ifc_request_fixed_line_invite": {"seed": [30], "fixed": [30]},
    # terminating INVITE to alice: seed 30 is true (INVITE alone suffices), fixed 30 false.
    "ifc_request_terminating_invite": {"seed": [30], "fixed": []},
    # originating MESSAGE: seed 30 true (SessionCase 0 alone suffices), fixed 30 false;
    # 10 needs INVITE -> no.
    "ifc_request_orig_message": {"seed": [30], "fixed": []},
}


def main(argv=None) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = ["name\tfile\tmade_by\tdescription"]
    made = "python -m tools.synth.make_ifc"
    for name, fixed, what in (
            ("ifc_seed_profile", False, "Built (hand-written XML): the seed posts' three iFCs "
             "as written (MMTel INVITE AND P-Access-Network-Info in two groups; USSD with "
             "Content \"g.3gpp.ussd\" in quotes; INVITE and SessionCase 0 in ONE group of a "
             "CNF trigger = OR)"),
            ("ifc_fixed_profile", True, "Built (hand-written XML): the same three iFCs "
             "written to do what their comments say (Content g.3gpp.ussd; INVITE AND "
             "SessionCase 0 in two groups)")):
        (OUT / f"{name}.xml").write_text(profile(fixed))
        rows.append(f"{name}\t{name}.xml\t{made}\t{what}")
    records = []
    for i, (name, text) in enumerate(REQUESTS.items()):
        (OUT / f"{name}.sip").write_text(text)
        rows.append(f"{name}\t{name}.sip\t{made}\tBuilt: typed SIP request "
                    f"({text.split(' ', 1)[0]}) as the S-CSCF receives it from the P-CSCF")
        records.append((T0 + i * 100_000_000,
                        frames.udp_frame(text.encode(), PCSCF, SCSCF, 5060, 5060)))
    frames.write_pcap(OUT / "ifc_requests.pcap", records)
    rows.append(f"ifc_requests\tifc_requests.pcap\t{made}\tBuilt frames (labkit.capture."
                f"frames, not a recording): the {len(REQUESTS)} requests above, P-CSCF "
                f"{PCSCF} -> S-CSCF {SCSCF}, UDP 5060, 100 ms apart")
    (OUT / "ifc_truth.json").write_text(json.dumps(EXPECTED, indent=1, sort_keys=True) + "\n")
    rows.append(f"ifc_truth\tifc_truth.json\t{made}\tExpected matching iFC priorities per "
                "request and profile (spec dialect), worked out by hand from TS 29.228 B.2.2")
    (OUT / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    add_how_made(OUT / "MANIFEST.tsv", "synthetic builder: iFC XML and SIP requests written by "
                 "tools.synth.make_ifc from TS 29.228 and the seed posts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
