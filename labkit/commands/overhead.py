"""``labkit overhead FILE [--json] [--compare FRAME]``: octets per layer of every SMS message."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    """Add the ``overhead`` subcommand."""
    p = subparsers.add_parser(
        "overhead", help="per-layer byte accounting of SMS over IP messages",
        description="Account every octet of each SMS MESSAGE (and its responses) by layer, "
                    "from the frame bytes: Ethernet, outer IP/UDP, GTP-U, inner IP, ESP "
                    "(NULL encryption detected), UDP/TCP, SIP start line and headers, RP "
                    "header, TP header, user data; efficiency_percent = 100 * user data / frame.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--compare", type=int, metavar="FRAME",
                   help="also show FRAME beside the published Qualcomm figure (828 B, 0.12 %%)")
    p.set_defaults(func=run)


def _frame_bytes(path, number: int):
    from labkit.capture import iter_frames
    from labkit.errors import LabkitError
    for fr in iter_frames(path):
        if fr.number == number:
            return fr.data, fr.linktype
    raise LabkitError(f"no frame {number}", str(path), "pick a frame number from the table")


def run(args) -> int:
    """Print the per-layer table (or JSON)."""
    from labkit.sms.overhead import grouped, qualcomm_comparison, sms_overhead
    table = sms_overhead(args.capture)
    compare = None
    if args.compare is not None:
        data, linktype = _frame_bytes(args.capture, args.compare)
        compare = qualcomm_comparison(data, linktype)
    if args.json:
        doc = {"capture": str(args.capture), "messages": table}
        if compare is not None:
            doc["qualcomm"] = compare
        print_json(doc)
        return 0
    print(f"{len(table)} SMS-related SIP message(s) in {args.capture}; octets per layer")
    show = grouped(table).drop(columns=["other"] if not grouped(table)["other"].any() else [])
    print(show.to_string(index=False) if len(table) else "(none)")
    if compare is not None:
        print(f"\nframe {args.compare} beside the published Qualcomm figure")
        print(compare.to_string(index=False))
    return 0
