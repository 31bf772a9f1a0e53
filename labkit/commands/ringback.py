"""``labkit ringback in.pcap [--json]``: was there ringback? One verdict per direction."""
from __future__ import annotations

from labkit.commands._output import print_json
import warnings


def register(subparsers) -> None:
    """Add the ``ringback`` subcommand."""
    p = subparsers.add_parser(
        "ringback", help="per-direction ringback verdict of the AMR/AMR-WB streams",
        description="Decode every AMR / AMR-WB RTP stream of a capture and say, per "
                    "direction (and early media vs call), whether it carries a ringback "
                    "tone (plan, frequencies, cadence, level), speech, comfort noise or "
                    "digital silence.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--stream", type=lambda s: int(s, 0), action="append",
                   help="stream id or SSRC (0x...) to analyse; repeatable (default: all)")
    p.add_argument("--codec", action="append", default=[], metavar="STREAM=NAME",
                   help="override a stream's codec, e.g. 3=AMR-WB or 3=AMR/oa")
    p.add_argument("--plan", action="append", help="tone plan(s) to try (europe, uk, "
                   "north_america, australia, japan; default: all)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _codecs(items: list[str]) -> dict:
    from labkit.errors import LabkitError
    out = {}
    for item in items:
        key, sep, name = item.partition("=")
        if not sep or not key.strip().isdigit():
            raise LabkitError(f"bad --codec {item!r}", None, "write STREAM=NAME, e.g. 2=AMR-WB")
        codec, _, fmt = name.partition("/")
        out[int(key)] = (codec, fmt.lower() == "oa") if fmt else codec
    return out




def run(args) -> int:
    """Analyse the capture and print the verdict table (or JSON)."""
    from labkit.audio.ringback import analyze_ringback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze_ringback(args.capture, stream=args.stream, codecs=_codecs(args.codec),
                                  plans=args.plan)
    table = report.verdicts()
    if args.json:
        doc = {"capture": report.path, "timeline": report.timeline, "calls": list(report.calls),
               "streams": report.streams, "verdicts": table,
               "answer": report.answer().splitlines(), "warnings": list(report.warnings)}
        print_json(doc, indent=2)
        return 0
    cols = ["stream", "direction", "phase", "codec", "ssrc", "verdict", "plan",
            "frequencies", "cadence", "level", "start", "end", "note"]
    print(table[cols].to_string(index=False, na_rep=""))
    print()
    print(report.answer())
    for w in report.warnings:
        print(f"warning: {w}")
    return 0
