"""``labkit ussd FILE [--json]``: USSD over IMS sessions (TS 24.390) and what is wrong."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(sub) -> None:
    """Add the ``ussd`` subcommand."""
    p = sub.add_parser("ussd", help="decode USSD over IMS (TS 24.390) and check the dialog",
                       description="Decode the application/vnd.3gpp.ussd+xml bodies of INVITE, INFO and "
                                   "BYE (safely: no XML entities or external references), show each "
                                   "session as the UE saw it, and list findings: INFO outside the "
                                   "dialog and the 405/481 it gets, Info-Package/Content-Disposition, "
                                   "Recv-Info, overlapping INFO, bodies that do not parse.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


_SHOW = ["frame", "time", "src", "dst", "label", "in_dialog", "info_package", "ussd_string", "form"]


def run(args) -> int:
    """Print the USSD messages, sessions and findings (or JSON)."""
    from labkit.capture import as_packets
    from labkit.sip import sip_messages, ussd_findings, ussd_messages, ussd_sessions
    msgs = sip_messages(as_packets(args.capture))
    m = ussd_messages(msgs)
    sessions = ussd_sessions(msgs, messages=m)
    findings = ussd_findings(msgs, messages=m)
    if args.json:
        print_json({"capture": str(args.capture), "messages": m.drop(columns=["request_uri"]),
                    "sessions": sessions, "findings": findings})
        return 0
    print(f"{len(sessions)} USSD session(s) in {args.capture}")
    for s in sessions.itertuples():
        print(f"  {s.call_id}: UE {s.ue} dialled {s.dialstring}; request {s.request!r}; "
              f"network {s.network}; UE answers {s.ue_answers}; result {s.result!r}; {s.outcome}")
    if len(m):
        text = m[_SHOW].astype(object).where(m[_SHOW].notna(), "-")
        print(text.to_string(index=False))
    print(f"\n{len(findings)} finding(s)")
    for f in findings.itertuples():
        print(f"  frame {f.frame} [{f.severity}] {f.check}: {f.finding}\n    fix: {f.fix}")
    return 0
