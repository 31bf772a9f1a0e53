"""``labkit doctor FILE``: every check of the package on one capture, findings ranked."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(sub) -> None:
    p = sub.add_parser("doctor", help="run every check on a capture; ranked findings")
    p.add_argument("capture", help="pcap or pcapng capture")
    p.add_argument("--log", help="FreeSWITCH log of the same calls")
    p.add_argument("--config", help="FreeSWITCH configuration folder (vars.xml ...)")
    p.add_argument("--password", help="SIP password, for the digest checks")
    p.add_argument("--ha1", help="digest HA1, instead of --password")
    p.add_argument("--ifc", help="subscriber iFC XML, for the routing checks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from labkit.doctor import run_doctor
    rep = run_doctor(args.capture, log=args.log, config=args.config, password=args.password,
                     ha1=args.ha1, ifc=args.ifc)
    if args.json:
        print_json({"capture": rep.capture, "summary": rep.summary(),
                    "findings": rep.findings, "skipped": rep.skipped,
                    "warnings": list(rep.warnings)})
        return 0
    print(rep.summary())
    for f in rep.findings.itertuples():
        print(f"\n[{f.severity}] {f.check}: {f.what}")
        for label, value in (("where", f.where), ("why", f.why), ("fix", f.fix),
                             ("evidence", f.notebook)):
            if value:
                print(f"  {label:8} {value}")
    if len(rep.skipped):
        print("\nskipped:")
        for s in rep.skipped.itertuples():
            print(f"  {s.check}: {s.why}")
    return 0
