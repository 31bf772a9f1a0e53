"""``labkit overview FILE``: what is in a capture and which notebook to open next."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(sub) -> None:
    p = sub.add_parser("overview", help="summarise a capture: streams, calls, SMS, next steps")
    p.add_argument("file", help="pcap or pcapng capture")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from labkit.overview import next_steps, overview, summary_sentence

    ov = overview(args.file)
    steps = next_steps(ov)
    if args.json:
        print_json({"summary": summary_sentence(ov), "frames": ov.n_frames,
                    "rtp_streams": len(ov.streams), "sip_calls": len(ov.calls),
                    "sms": ov.n_sms, "next": steps}, indent=2)
        return 0
    print(summary_sentence(ov))
    for _, row in steps.iterrows():
        print(f"  next: {row['notebook']}  ({row['because']})")
    return 0
