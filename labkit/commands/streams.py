"""``labkit streams FILE``: the RTP stream table, as ``tshark -q -z rtp,streams`` prints it.

The numbers are :func:`labkit.rtp.scan.scan_streams`'s (the table of
:func:`labkit.rtp.stream_table` in bounded memory, Wireshark 4.0's arithmetic in
:mod:`labkit.rtp.stats`); this module only parses the options and prints the table.

References
----------
Wireshark 4.0.17 ui/tap-rtp-analysis.c (``rtppacket_analyse``) and ui/tap-rtp-common.c
(``rtpstream_info_calculate``), the code behind ``-z rtp,streams``; RFC 3550 section
6.4.1 and appendix A.8 (interarrival jitter).
"""
from __future__ import annotations

from labkit.commands._output import print_json
from types import SimpleNamespace

from labkit.errors import LabkitError

_HEADER = ("Start time", "End time", "Src IP addr", "Port", "Dest IP addr", "Port", "SSRC",
           "Payload", "Pkts", "Lost", "Min Delta(ms)", "Mean Delta(ms)", "Max Delta(ms)",
           "Min Jitter(ms)", "Mean Jitter(ms)", "Max Jitter(ms)", "Problems?")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "streams", help="list RTP streams (same table as tshark -z rtp,streams)",
        description="List the RTP streams of a capture with Wireshark 4.0's statistics.")
    p.add_argument("file", help="capture file (pcap or pcapng)")
    p.add_argument("--json", action="store_true", help="print JSON records instead")
    p.add_argument("--no-heuristic", action="store_true",
                   help="only streams set up by SDP (tshark without rtp.heuristic_rtp)")
    p.add_argument("--clock-rate", action="append", default=[], metavar="PT=RATE|NAME",
                   help="clock rate of a dynamic payload type, e.g. 96=AMR-WB or 96=16000 "
                        "(repeatable)")
    p.add_argument("--chunk-packets", type=int, default=None, metavar="N",
                   help="frames read at a time (default 125,000; less = less memory)")
    p.set_defaults(func=run)


def parse_clock_rates(items) -> dict:
    """``["96=AMR-WB", "97=16000"]`` -> ``{96: "AMR-WB", 97: 16000}``."""
    out: dict = {}
    for item in items:
        pt, sep, val = item.partition("=")
        if not sep or not pt.strip().isdigit() or not val.strip() or not 0 <= int(pt) <= 127:
            raise LabkitError(f"bad --clock-rate {item!r}", None,
                              "write PT=RATE or PT=NAME, e.g. 96=16000 or 96=AMR-WB")
        val = val.strip()
        out[int(pt)] = int(val) if val.isdigit() else val
    return out


def format_table(table: dict) -> str:
    """The streams table in tshark 4.0's exact layout (ui/cli/tap-rtp.c), newest first."""
    lines = ["========================= RTP Streams ========================",
             "%13s %13s %15s %5s %15s %5s %10s %16s %5s %12s %15s %15s %15s %15s %15s %15s %s"
             % _HEADER]
    cols = list(table)
    rows = list(zip(*(table[c] for c in cols)))[::-1]
    for values in rows:
        r = SimpleNamespace(**dict(zip(cols, values)))
        lines.append(
            "%13.6f %13.6f %15s %5u %15s %5u 0x%08X %16s %5u %5d (%.1f%%) %15.3f %15.3f "
            "%15.3f %15.3f %15.3f %15.3f %s" % (
                r.start, r.end, r.src, r.sport, r.dst, r.dport, r.ssrc, r.payloads,
                r.packets, r.lost, r.lost_pct, r.min_delta, r.mean_delta, r.max_delta,
                r.min_jitter, r.mean_jitter, r.max_jitter, "X" if r.problem else ""))
    lines.append("==============================================================")
    return "\n".join(lines)


def run(args) -> int:
    from labkit.rtp.scan import CHUNK_PACKETS, scan_streams
    rates = parse_clock_rates(args.clock_rate)
    chunk = CHUNK_PACKETS if args.chunk_packets is None else args.chunk_packets
    if chunk < 1:
        raise LabkitError(f"bad --chunk-packets {chunk}", None, "give a positive number of frames")
    table = scan_streams(args.file, clock_rates=rates or None, heuristic=not args.no_heuristic,
                         chunk_packets=chunk)
    if args.json:
        cols = list(table)
        recs = [dict(zip(cols, v)) for v in zip(*(table[c] for c in cols))][::-1]
        print_json(recs)
    else:
        print(format_table(table))
    return 0

