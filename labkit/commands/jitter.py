"""``labkit jitter FILE [FILE2]``: is it the network or the host? (notebook 05's verdict)."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "jitter", help="PDV, stalls, jitter buffers, MOS per RTP stream; host or network?",
        description="Per-stream delay variation (RFC 5481), stalls and bursts, jitter-buffer "
                    "discards and G.107 MOS, and whether the host (a stalled relay) or the "
                    "network caused them. FILE2 / --compare: a second capture of the same "
                    "relay (e.g. ingress and egress).")
    p.add_argument("file", help="capture file (pcap or pcapng)")
    p.add_argument("file2", nargs="?", help="second capture of the same relay (same as --compare)")
    p.add_argument("--compare", metavar="FILE2", help="second capture of the same relay")
    p.add_argument("--jb", action="append", type=float, default=[], metavar="MS",
                   help="also simulate a fixed jitter buffer of MS ms (repeatable)")
    p.add_argument("--k", type=float, default=2.0,
                   help="stall threshold in packet intervals (default 2)")
    p.add_argument("--codec", help="E-model constants of this codec for every stream (e.g. g711A)")
    p.add_argument("--clock-rate", action="append", default=[], metavar="PT=RATE|NAME",
                   help="clock rate of a dynamic payload type, e.g. 96=AMR-WB (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead")
    p.set_defaults(func=run)


def format_report(doc: dict) -> str:
    """Plain text with the facts of the JSON (``doc`` = JitterReport.to_dict())."""
    out = [f"Verdict: {doc['verdict']}", f"Cause: {doc['cause']} (confidence {doc['confidence']})", ""]
    for s in doc["streams"]:
        p = s["pdv_ms"]
        side = "" if s["side"] == "capture" else f" [{s['side']}]"
        out.append(f"Stream {s['stream']}{side}: {s['key']} {s['codec']} {s['packets']} pkts, "
                   f"lost {s['lost']} ({s['loss_pct']:.1f} %), ptime {s['ptime_ms']:g} ms, "
                   f"RFC 3550 jitter max {s['jitter_max_ms']:.3f} ms")
        out.append(f"  PDV [ms] p50 {p['p50']:.1f}  p95 {p['p95']:.1f}  p99 {p['p99']:.1f}  "
                   f"p99.9 {p['p99.9']:.1f}  max {p['max']:.1f};  IPDV max {s['ipdv_max_ms']:.1f} ms; "
                   f"back-to-back {s['interarrival']['back_to_back_pct']:.1f} %")
        stalls = ", ".join(f"{st['start']:.3f} ({st['duration_ms']:.0f} ms"
                           f"{', held' if st['held'] else ''}, burst {st['burst']})"
                           for st in s["stalls"]) or "none"
        out.append(f"  stalls: {stalls}")
        for name, b in s["buffers"].items():
            out.append(f"  {name:>12}: discards {b['discards']}, loss+discards "
                       f"{b['effective_loss_pct']:.1f} %, R {b['R']:.1f}, MOS {b['MOS']:.2f} "
                       f"(min per 10 s {b['mos_min']:.2f})")
        if "assumed" in s["codec_constants"]["source"]:
            out.append(f"  E-model constants: {s['codec_constants']['source']}")
    for s in doc["skipped"]:
        out.append(f"Skipped [{s['side']}] {s['key']}: {s['reason']}")
    out.append("")
    out.append(f"Events: {len(doc['events'])}")
    for e in doc["events"]:
        out.append(f"  {e['start']:.3f}-{e['end']:.3f} {e['kind']:>4}: {e['streams']} stream(s) "
                   f"[{e['stream_ids']}] from {e['src']}, releases within {e['spread_ms']:.1f} ms")
    for h in doc["relay_hops"]:
        out.append(f"Relay hop {h['ssrc']}: {h['ingress']} => {h['egress']}: added "
                   f"{h['hop_min_ms']:.1f}..{h['hop_max_ms']:.1f} ms (PDV in {h['ingress_pdv_ms']:.1f}, "
                   f"out {h['egress_pdv_ms']:.1f} ms)")
    out += [f"Note: {n}" for n in doc["notes"]]
    return "\n".join(out)


def run(args) -> int:
    from labkit.commands.streams import parse_clock_rates
    from labkit.errors import LabkitError
    from labkit.quality import DEFAULT_BUFFERS, analyze_jitter
    if args.file2 and args.compare and args.file2 != args.compare:
        raise LabkitError("two second captures given (FILE2 and --compare)", None,
                          "give the second capture once")
    rates = parse_clock_rates(args.clock_rate)
    buffers = list(DEFAULT_BUFFERS) + [b for b in args.jb if b not in DEFAULT_BUFFERS]
    rep = analyze_jitter(args.file, args.compare or args.file2, buffers=buffers, k=args.k,
                         clock_rates=rates or None, codec=args.codec, keep_tracks=False)
    doc = rep.to_dict()
    if args.json:
        print_json(doc)
    else:
        print(format_report(doc))
    return 0
