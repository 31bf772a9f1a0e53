"""``labkit hep listen|send``: a HEP3 collector that writes pcapng, and a HEP3 replayer.

The wire format and the collector are :mod:`labkit.ops.hep`'s and
:mod:`labkit.ops.collector`'s; this module only parses the options.

References
----------
HEP3 Network Protocol Specification (rev. 37), as :mod:`labkit.ops.hep` implements it;
draft-ietf-opsawg-pcapng (the capture the collector writes).
"""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "hep", help="receive HEP3 into a pcapng, or replay a capture as HEP3",
        description="HEP3 (HOMER encapsulation): `listen` collects into a pcapng plus a "
                    "side table (capture agent id, correlation id); `send` replays a "
                    "capture's SIP (and RTP) as HEP3.")
    sub = p.add_subparsers(dest="hep_command", required=True, metavar="ACTION")
    lp = sub.add_parser("listen", help="collect HEP3 from udp:HOST:PORT into a pcapng")
    lp.add_argument("address", help="udp:127.0.0.1:PORT")
    lp.add_argument("-o", "--output", required=True, help="pcapng to write (side table "
                    "next to it as NAME.hep.tsv)")
    lp.add_argument("--duration", type=float, help="stop after S seconds")
    lp.add_argument("--count", type=int, help="stop after N datagrams")
    lp.add_argument("--json", action="store_true", help="print the summary as JSON")
    lp.set_defaults(func=run_listen)
    sp = sub.add_parser("send", help="replay a capture's SIP as HEP3 to udp:HOST:PORT")
    sp.add_argument("file", help="capture file (pcap or pcapng)")
    sp.add_argument("address", help="udp:HOST:PORT of the collector")
    sp.add_argument("--capture-id", type=int, default=0, help="HEP capture agent id")
    sp.add_argument("--node-name", help="HEP node name (chunk 0x13)")
    sp.add_argument("--rtp", action="store_true", help="also send the RTP packets")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.set_defaults(func=run_send)


def _print_summary(doc: dict, as_json: bool) -> None:
    if as_json:
        print_json(doc)
        return
    for key, value in doc.items():
        if key == "examples":
            for text in value:
                print(f"  problem: {text}")
        else:
            print(f"{key}: {value}")


def run_listen(args) -> int:
    import signal

    from labkit.ops.collector import HepCollector
    collector = HepCollector(args.address, args.output, duration=args.duration,
                             count=args.count)
    old = {s: signal.signal(s, collector.stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = collector.run()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    _print_summary(summary, args.json)
    return 0


def run_send(args) -> int:
    from labkit.capture import read_capture
    from labkit.ops.collector import send_hep
    from labkit.ops.hep import packets_to_hep
    heps = packets_to_hep(read_capture(args.file), capture_id=args.capture_id,
                          node_name=args.node_name.encode() if args.node_name else None,
                          rtp=args.rtp)
    n = send_hep(heps, args.address)
    _print_summary({"file": args.file, "to": args.address, "sent": n,
                    "sip": sum(h.proto_type == 1 for h in heps),
                    "rtp": sum(h.proto_type == 4 for h in heps)}, args.json)
    return 0
