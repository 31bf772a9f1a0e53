"""``labkit codecs``: per-call codec negotiation verdict from a capture, a FreeSWITCH log, or both.

    labkit codecs --log freeswitch.log
    labkit codecs call.pcap
    labkit codecs call.pcap --config /etc/freeswitch --log freeswitch.log
    labkit codecs call.pcap --prefs OPUS,G722,PCMU,PCMA --mode greedy --json

From a log alone (``--log``): one verdict per call (uuid, else each stretch of log ending
in a Hangup line): the offer and the local codec list in force as the "Audio Codec
Compare" lines show them, what matched and what was chosen, the hangup cause, the fix.
From a capture: for every INVITE dialog, what was offered and answered, the final
response (who sent it, with which Reason/Warning headers), one sentence saying why, the
fix, and the findings (RFC 3264 answer rules, AMR fmtp, telephone-event rate, SRTP,
ptime, late offer, T.38). With ``--config`` (a FreeSWITCH conf directory or
vars.xml/profile files) or ``--prefs``, the caller's offer is also negotiated the way
FreeSWITCH would (a what-if unless FreeSWITCH sent the final response); with a capture
and a log, the log's compare sequence is checked against the simulator.
"""
from __future__ import annotations

import warnings

from labkit.commands._output import print_json, records
from labkit.errors import LabkitError, LabkitWarning


def register(subparsers) -> None:
    """Add ``codecs`` to the labkit command line."""
    p = subparsers.add_parser("codecs", help="why a call's codec negotiation failed (or not)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("capture", metavar="FILE", nargs="?",
                   help="capture (pcap or pcapng) with the SIP; optional with --log")
    p.add_argument("--config", nargs="+", metavar="PATH",
                   help="FreeSWITCH conf directory, or vars.xml and Sofia profile files")
    p.add_argument("--profile", help="Sofia profile name (default: internal, else the first)")
    p.add_argument("--prefs", help="local codec string instead of --config (OPUS,PCMA,...)")
    p.add_argument("--mode", choices=["generous", "greedy", "scrooge"],
                   help="negotiation mode (default: the profile's, else generous)")
    p.add_argument("--log", metavar="FILE", help="FreeSWITCH debug log to explain (and check)")
    p.add_argument("-v", "--verbose", action="store_true", help="print info findings too")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _prefs(args, notes):
    from labkit import freeswitch as fs
    if args.prefs:
        return fs.effective_prefs(None, channel_vars={"absolute_codec_string": args.prefs},
                                  mode=args.mode)
    if args.config:
        cfg = fs.read_config(args.config[0] if len(args.config) == 1 else args.config)
        notes += [f"config: {text}" for text in cfg.findings]
        return fs.effective_prefs(cfg, profile=args.profile, mode=args.mode)
    return None


def _caught(func, *a):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabkitWarning)
        out = func(*a)
    return out, [str(w.message) for w in caught]


def run(args) -> int:
    if not args.capture and not args.log:
        raise LabkitError("nothing to analyse", "labkit codecs",
                          "give a capture, --log FILE, or both")
    notes: list[str] = []
    prefs = _prefs(args, notes)
    doc = {"prefs": _prefs_doc(prefs), "notes": notes, "calls": [], "log": None}
    msgs = None
    if args.capture:
        msgs, doc["capture_warnings"] = _read_capture(args.capture)
        doc["calls"] = _capture_calls(msgs, prefs, args.mode)
    if args.log:
        doc["log"] = _log_doc(args.log, prefs, msgs)
    if args.json:
        print_json(doc, indent=2)
    else:
        _print_text(args, doc)
    return 1 if args.capture and msgs is not None and msgs.empty else 0


def _prefs_doc(prefs):
    if prefs is None:
        return None
    return {"codec_string": prefs.codec_string, "source": prefs.source, "mode": prefs.mode,
            "chain": list(prefs.chain), "not_loaded": list(prefs.missing)}


def _read_capture(path):
    from labkit import capture, sip
    msgs, caught = _caught(lambda: sip.sip_messages(capture.read_capture(path)))
    return msgs, caught


def _capture_calls(msgs, prefs, mode) -> list:
    from labkit.freeswitch import negotiation
    if msgs.empty:
        return []
    table = negotiation.call_verdicts(msgs, prefs=prefs, mode=mode)
    calls = records(table.drop(columns=["findings"]))
    for call, row in zip(calls, table.itertuples()):
        call["findings"] = [{"severity": f.severity, "code": f.code, "where": f.where,
                             "message": f.message, "fix": f.fix} for f in row.findings]
    return calls


def _log_doc(path, prefs, msgs) -> dict:
    from labkit import freeswitch as fs, sip
    from labkit.freeswitch import negotiation
    log, caught = _caught(fs.read_log, path)
    calls = fs.explain_log(log)
    doc = {"file": str(path), "warnings": caught, "compare_lines": len(log.compares),
           "versions": list(log.versions), "calls": [c.__dict__ for c in calls],
           "agreement": None,
           "config_differs": [t for t in (fs.local_list_mismatch(c, prefs) for c in calls) if t]
           if prefs is not None else []}
    if prefs is not None and (msgs is not None or log.remote_sdps):
        offers = [r.sdp for r in sip.offers_answers(msgs).itertuples() if r.role == "offer"] \
            if msgs is not None and not msgs.empty else None
        doc["agreement"] = records(negotiation.log_agreement(log, prefs, prefs.mode, offers=offers))
    return doc


def _print_text(args, doc) -> None:
    for note in doc["notes"]:
        print(note)
    p = doc["prefs"]
    if p:
        print(f"FreeSWITCH prefs: {p['codec_string']} ({p['source']}; mode {p['mode']})")
        for link in p["chain"][1:]:
            print(f"  {link}")
        if p["not_loaded"]:
            print(f"  listed but not loaded (dropped by FreeSWITCH): {', '.join(p['not_loaded'])}")
    if args.capture:
        for w in doc.get("capture_warnings", []):
            print(f"warning: {w}")
        if not doc["calls"]:
            print(f"{args.capture}: no SIP INVITE dialog found")
        for call in doc["calls"]:
            _print_call(call, args.verbose)
    if doc["log"]:
        _print_log(doc["log"])


def _print_call(call, verbose: bool) -> None:
    status = "no final response" if call["final_status"] is None else str(int(call["final_status"]))
    print(f"\ncall {call['call_id']} (frame {call['first_frame']}): final {status}"
          + (f", Reason {call['reason']}" if isinstance(call["reason"], str) else ""))
    print(f"  offered:  {call['offered']}")
    print(f"  answered: {call['answered']}")
    print(f"  verdict:  {call['verdict']}")
    print(f"  fix:      {call['fix']}")
    if call["freeswitch"] and call["freeswitch"] not in call["verdict"]:
        print(f"  FreeSWITCH with these prefs would: {call['freeswitch']}")
    for f in call["findings"]:
        if verbose or f["severity"] != "info":
            print(f"  [{f['severity']}] {f['where']}: {f['message']}")


def _print_log(log) -> None:
    for w in log["warnings"]:
        print(f"log warning: {w}")
    print(f"\nlog {log['file']}: {len(log['calls'])} call(s), {log['compare_lines']} compare "
          f"lines, FreeSWITCH {', '.join(log['versions']) or 'version unknown'}")
    from labkit.freeswitch import LogCall
    for c in log["calls"]:
        print("\n" + LogCall(**c).text())
    for text in dict.fromkeys(log["config_differs"]):
        print(f"  config: {text}")
    for r in log["agreement"] or []:
        state = "agrees" if r["agree"] else f"DIFFERS: {r['first_difference']}"
        print(f"  simulator, negotiation {r['negotiation']}: {r['n_log']} log lines, "
              f"{r['n_sim']} simulated, {state}")
