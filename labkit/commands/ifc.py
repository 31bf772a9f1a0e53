"""``labkit ifc IFC.xml (CAPTURE | --request FILE) [--session-case N] [--dialect D] [--json]``."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    """Add the ``ifc`` subcommand."""
    p = subparsers.add_parser(
        "ifc", help="which application server gets this request (iFC evaluation)",
        description="Evaluate a subscriber's Initial Filter Criteria (3GPP TS 29.228) on "
                    "every initial request of a capture, or on one typed request: the "
                    "truth table per SPT, the AS chain in priority order, where the "
                    "spec, kamailio ims_isc and Clearwater sprout disagree, and a lint of "
                    "the iFCs themselves.")
    p.add_argument("ifc", help="iFC XML (ServiceProfile or bare InitialFilterCriteria)")
    p.add_argument("capture", nargs="?", help="pcap or pcapng with the initial requests")
    p.add_argument("--request", help="a SIP request as text, instead of a capture")
    p.add_argument("--session-case", type=int, choices=range(5), default=None,
                   help="0 orig-reg, 1 term-reg, 2 term-unreg, 3 orig-unreg, 4 orig-cdiv "
                        "(default: from P-Served-User / Route ;orig)")
    p.add_argument("--dialect", choices=("spec", "kamailio", "sprout"), default="spec")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the lint, then per request the trace, the answer and any dialect difference."""
    from labkit.errors import LabkitError
    from labkit.sip.ifc import (compare_dialects, ifc_request, initial_requests, lint_ifcs,
                                parse_ifc, route_request)
    ifcs = parse_ifc(args.ifc)
    if (args.capture is None) == (args.request is None):
        raise LabkitError("give either a capture or --request FILE", "labkit ifc",
                          "e.g. labkit ifc profile.xml --request invite.txt")
    requests = ([ifc_request(args.request, session_case=args.session_case)]
                if args.request else initial_requests(args.capture, session_case=args.session_case))
    lint = lint_ifcs(ifcs)
    results = []
    for r in requests:
        route = route_request(ifcs, r, dialect=args.dialect)
        results.append({"frame": r.frame, "method": r.method, "request_uri": r.request_uri,
                        "session_case": r.session_case, "session_case_source": r.session_case_source,
                        "first_as": route.first_as, "chain": [list(c) for c in route.chain],
                        "answer": route.answer, "trace": route.trace,
                        "dialects": compare_dialects(ifcs, r)})
    if args.json:
        print_json({"ifc": str(args.ifc), "dialect": args.dialect, "lint": lint,
                    "requests": results})
        return 0
    print(f"{len(ifcs)} iFC(s) in {args.ifc}; {len(requests)} initial request(s)")
    for f in lint.itertuples():
        print(f"  lint [{f.severity}] priority {f.priority} (line {f.line}): {f.what}\n"
              f"      fix: {f.fix}" if f.fix else f"  lint [{f.severity}] priority {f.priority}: {f.what}")
    for res in results:
        where = f"frame {res['frame']}: " if res["frame"] is not None else ""
        print(f"\n{where}{res['method']} {res['request_uri']} (session case "
              f"{res['session_case']}, {res['session_case_source']})")
        t = res["trace"][["priority", "condition", "seen", "spt_result", "ifc_result"]]
        print(t.to_string(index=False))
        print(f"-> {res['answer']}")
        d = res["dialects"]
        for row in d[~d["agree"]].itertuples():
            print(f"   engines disagree on priority {row.priority}: spec {row.spec}, "
                  f"kamailio {row.kamailio}, sprout {row.sprout}")
    return 0
