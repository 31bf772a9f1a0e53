"""``labkit metrics URL_OR_FILE``: Kamailio's (or any exporter's) Prometheus series, and
what they counted next to a capture."""
from __future__ import annotations

import re

from labkit.commands._output import print_json, records


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "metrics", help="Prometheus metrics (a /metrics URL, a saved scrape, or a "
                        "Prometheus range query), compared with a capture",
        description="Read Prometheus text-format metrics (kamailio xhttp_prom /metrics, or "
                    "a file of appended scrapes) or a Prometheus range query; print the "
                    "series (name, labels, value, timestamp); with --capture, compare "
                    "Kamailio's counter increases with the capture's own counts.")
    p.add_argument("source", nargs="?", help="http://HOST:PORT/metrics or a file")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus server (query_range)")
    p.add_argument("--query", action="append", default=[], metavar="Q",
                   help="PromQL for --prometheus (repeatable)")
    p.add_argument("--start", type=float, help="range start [s since the epoch]")
    p.add_argument("--end", type=float, help="range end [s since the epoch]")
    p.add_argument("--step", type=float, default=1.0, help="range step [s]")
    p.add_argument("--capture", metavar="FILE", help="capture taken during the same time")
    p.add_argument("--kamailio", metavar="HOST:PORT",
                   help="Kamailio's SIP address in the capture (default: the address "
                        "receiving most requests)")
    p.add_argument("--match", metavar="REGEX", help="only series whose name matches")
    p.add_argument("--all", action="store_true",
                   help="every sample (default: the latest sample of each series)")
    p.add_argument("--json", action="store_true", help="print JSON instead")
    p.set_defaults(func=run)


def _samples(args):
    from labkit.errors import LabkitError
    from labkit.ops import metrics
    if args.prometheus:
        if not args.query:
            raise LabkitError("--prometheus needs --query", None,
                              "e.g. --query kamailio_core_rcv_requests_invite")
        import time
        end = args.end if args.end is not None else time.time()
        start = args.start if args.start is not None else end - 300
        import pandas as pd
        return pd.concat([metrics.parse_query_range(metrics.query_range(
            args.prometheus, q, start, end, args.step)) for q in args.query],
            ignore_index=True)
    if not args.source:
        raise LabkitError("nothing to read", None, "give a /metrics URL or file, or "
                          "--prometheus URL --query Q")
    return metrics.read_metrics(args.source)


def run(args) -> int:
    from labkit.ops import metrics
    samples = _samples(args)
    if args.match:
        rx = re.compile(args.match)
        samples = samples[samples["name"].map(lambda n: bool(rx.search(n)))]
    shown = samples if args.all else (samples.sort_values("timestamp", kind="stable")
                                      .groupby(["name", "labels"], sort=True).tail(1)
                                      .sort_values(["name", "labels"]))
    doc = {"series": records(shown.reset_index(drop=True))}
    if args.capture:
        from labkit.capture import read_capture
        from labkit.sip import sip_messages
        msgs = sip_messages(read_capture(args.capture))
        if args.kamailio:
            host, _, port = args.kamailio.rpartition(":")
            address = (host, int(port))
        else:
            address = metrics.busiest_destination(msgs)
        table = metrics.burst_comparison(samples, msgs, *address)
        doc["kamailio"] = f"{address[0]}:{address[1]}"
        doc["comparison"] = records(table)
    if args.json:
        print_json(doc)
        return 0
    for r in doc["series"]:
        labels = "{" + r["labels"] + "}" if r["labels"] else ""
        print(f"{r['name']}{labels} {r['value']:g} {r['timestamp']}")
    if args.capture:
        print(f"\nover the scrapes' window, at {doc['kamailio']}:")
        print(f"{'metric':42s} {'kamailio':>8s} {'capture':>8s} {'diff':>5s}  note")
        for r in doc["comparison"]:
            print(f"{r['metric']:42s} {r['kamailio']:8d} {r['capture']:8d} "
                  f"{r['difference']:5d}  {r['note']}")
    return 0
