"""``labkit flow FILE [--call ID] [--png OUT] [--json]``: the call flow as a ladder, legs
paired into calls, and the header findings."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(sub) -> None:
    """Add the ``flow`` subcommand."""
    p = sub.add_parser("flow", help="SIP call flow as a ladder, B2BUA/proxy legs paired, header checks",
                       description="Print every SIP message as a ladder row (time, delta, src -> dst, "
                                   "label, SDP), the legs (Call-ID per hop) paired into calls by the "
                                   "same Call-ID, a correlation header (X-CID, P-Charging-Vector "
                                   "icid-value) or a scored heuristic, and the header findings "
                                   "(420 Bad Extension, sec-agree past the P-CSCF, missing To tags).")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--call", metavar="CALL_ID", help="only this Call-ID and the legs paired with it")
    p.add_argument("--png", "--svg", dest="png", metavar="OUT",
                   help="also draw the ladder into this file (PNG, or SVG when OUT ends in .svg)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _call_ids(pairs, call_id) -> list[str]:
    """`call_id` and every Call-ID of a leg in the same call."""
    hit = pairs[(pairs["a_call_id"] == call_id) | (pairs["b_call_id"] == call_id)]
    calls = set(hit["call"])
    rows = pairs[pairs["call"].isin(calls)]
    return sorted({call_id} | set(rows["a_call_id"]) | {c for c in rows["b_call_id"] if isinstance(c, str)})


def run(args) -> int:
    """Print the ladder, the pairs and the findings (or JSON)."""
    from labkit.capture import as_packets
    from labkit.sip import header_findings, ladder, pair_legs, sip_legs, sip_messages
    msgs = sip_messages(as_packets(args.capture))
    legs = sip_legs(msgs)
    pairs = pair_legs(msgs, legs=legs)
    wanted = _call_ids(pairs, args.call) if args.call else None
    rows = ladder(msgs, call_id=wanted)
    findings = header_findings(msgs)
    if args.png:
        _draw(rows, args.png)
    if args.json:
        print_json({"capture": str(args.capture), "ladder": rows,
                    "legs": legs.drop(columns=["frames"]), "pairs": pairs, "findings": findings})
        return 0
    print(f"{len(rows)} SIP message(s), {len(legs)} leg(s), "
          f"{pairs['call'].nunique() if len(pairs) else 0} call(s) in {args.capture}")
    for r in rows.itertuples():
        sdp = f"  [{r.sdp}]" if r.sdp else ""
        bad = f"  (malformed: {r.problem})" if r.problem else ""
        print(f"{r.frame:>5} {r.time:9.3f} s {r.delta_ms:+9.1f} ms  {r.src:>22} -> {r.dst:<22} {r.label}{sdp}{bad}")
    print("\nlegs paired:")
    for p in pairs.itertuples():
        b = p.b_call_id if isinstance(p.b_call_id, str) else "-"
        print(f"  call {p.call}: {p.a_call_id} -> {b}  ({p.method}; {'; '.join(p.evidence)})")
    print(f"\n{len(findings)} header finding(s)")
    for f in findings.itertuples():
        print(f"  frame {f.frame} [{f.severity}] {f.check}: {f.finding}\n    fix: {f.fix}")
    return 0


def _draw(rows, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from labkit import plots
    ax = plots.plot_ladder(rows)
    ax.figure.savefig(out, dpi=100, bbox_inches="tight")
