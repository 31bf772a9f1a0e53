"""``labkit codecs``: per-call codec negotiation verdict for a capture.

    labkit codecs call.pcap
    labkit codecs call.pcap --config /etc/freeswitch --log freeswitch.log
    labkit codecs call.pcap --prefs OPUS,G722,PCMU,PCMA --mode greedy

For every INVITE dialog: what was offered and answered, the final response and Reason
(Q.850 cause), one sentence saying why, the fix, and the findings (RFC 3264 answer rules,
AMR fmtp, telephone-event rate, SRTP, ptime, late offer, T.38). With ``--config`` (a
FreeSWITCH conf directory or vars.xml/profile files) or ``--prefs``, the caller's offer is
also negotiated the way FreeSWITCH would; with ``--log``, the FreeSWITCH log's "Audio
Codec Compare" sequence is checked against the simulator.
"""
from __future__ import annotations

import warnings

from labkit.errors import LabkitWarning


def register(subparsers) -> None:
    """Add ``codecs`` to the labkit command line."""
    p = subparsers.add_parser("codecs", help="why a call's codec negotiation failed (or not)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("capture", metavar="FILE", help="capture (pcap or pcapng) with the SIP")
    p.add_argument("--config", nargs="+", metavar="PATH",
                   help="FreeSWITCH conf directory, or vars.xml and Sofia profile files")
    p.add_argument("--profile", help="Sofia profile name (default: internal, else the first)")
    p.add_argument("--prefs", help="local codec string instead of --config (OPUS,PCMA,...)")
    p.add_argument("--mode", choices=["generous", "greedy", "scrooge"],
                   help="negotiation mode (default: the profile's, else generous)")
    p.add_argument("--log", metavar="FILE", help="FreeSWITCH debug log to check")
    p.add_argument("-v", "--verbose", action="store_true", help="print info findings too")
    p.set_defaults(func=run)


def _prefs(args):
    from labkit import freeswitch as fs
    if args.prefs:
        return fs.effective_prefs(None, channel_vars={"absolute_codec_string": args.prefs},
                                  mode=args.mode)
    if args.config:
        cfg = fs.read_config(args.config[0] if len(args.config) == 1 else args.config)
        for text in cfg.findings:
            print(f"config: {text}")
        return fs.effective_prefs(cfg, profile=args.profile, mode=args.mode)
    return None


def run(args) -> int:
    from labkit import capture, sip
    from labkit.freeswitch import negotiation
    prefs = _prefs(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabkitWarning)
        msgs = sip.sip_messages(capture.read_capture(args.capture))
    for w in caught:
        print(f"warning: {w.message}")
    if msgs.empty:
        print(f"{args.capture}: no SIP messages found")
        return 1
    if prefs is not None:
        print(f"FreeSWITCH prefs: {prefs.codec_string} ({prefs.source}; mode {prefs.mode})")
        for link in prefs.chain[1:]:
            print(f"  {link}")
    verdicts = negotiation.call_verdicts(msgs, prefs=prefs, mode=args.mode)
    if verdicts.empty:
        print(f"{args.capture}: SIP but no INVITE dialog")
    for row in verdicts.itertuples():
        _print_call(row, args.verbose)
    if args.log:
        _print_log(args.log, prefs, msgs)
    return 0


def _print_call(row, verbose: bool) -> None:
    status = "no final response" if row.final_status is None or row.final_status != row.final_status \
        else str(int(row.final_status))
    print(f"\ncall {row.call_id} (frame {row.first_frame}): final {status}"
          + (f", Reason {row.reason}" if isinstance(row.reason, str) else ""))
    print(f"  offered:  {row.offered}")
    print(f"  answered: {row.answered}")
    print(f"  verdict:  {row.verdict}")
    print(f"  fix:      {row.fix}")
    if row.freeswitch and row.freeswitch != row.verdict:
        print(f"  FreeSWITCH would: {row.freeswitch}")
    for f in row.findings:
        if verbose or f.severity != "info":
            print(f"  [{f.severity}] {f.where}: {f.message}")


def _print_log(path, prefs, msgs) -> None:
    from labkit import freeswitch as fs, sip
    from labkit.freeswitch import negotiation
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabkitWarning)
        log = fs.read_log(path)
    for w in caught:
        print(f"log warning: {w.message}")
    print(f"\nlog {path}: {len(log.compares)} compare lines, versions "
          f"{', '.join(log.versions) or 'unknown'}, hangup cause {log.hangup_cause or 'none'}")
    if prefs is None:
        print("  (give --config or --prefs to check the log against the simulator)")
        return
    oa = sip.offers_answers(msgs)
    offers = [r.sdp for r in oa.itertuples() if r.role == "offer"]
    table = negotiation.log_agreement(log, prefs, prefs.mode, offers=offers)
    for r in table.itertuples():
        state = "agrees" if r.agree else f"DIFFERS: {r.first_difference}"
        print(f"  negotiation {r.negotiation}: {r.n_log} log lines, {r.n_sim} simulated, {state}")
