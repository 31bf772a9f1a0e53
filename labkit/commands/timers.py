"""``labkit timers``: which FreeSWITCH bridge timer fired on each B-leg, and what to change.

    labkit timers bleg.pcap --vars '{progress_timeout=4}sofia/gateway/gw1/1000'
    labkit timers bleg.pcap --vars 'originate_timeout=6,progress_timeout=3' --json
    labkit timers freeswitch.log        (or an XML/JSON CDR: last_bridge_hangup_cause)

For a capture: each B-leg's timeline (INVITE, 100, 18x, 183 with SDP, 200, CANCEL, final),
every timer's firing window by the rules of switch_ivr_originate.c, the timer that fired
(or fires first), the hangup cause, the SIP response FreeSWITCH sends the caller, and the
variable to change. Without --vars, FreeSWITCH's defaults (originate_timeout 60 s).
"""
from __future__ import annotations

from labkit.commands._output import print_json

_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
          b"\x0a\x0d\x0d\x0a")


def register(subparsers) -> None:
    """Add ``timers`` to the labkit command line."""
    p = subparsers.add_parser("timers", help="which FreeSWITCH bridge timer fired, and why",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("file", metavar="FILE", help="capture of the B-legs, or a FreeSWITCH log/CDR")
    p.add_argument("--vars", help="dial string, or name=value,... of the timer variables")
    p.add_argument("--freeswitch", metavar="ADDR", help="FreeSWITCH's ip[:port] (its INVITEs are the B-legs)")
    p.add_argument("--json", action="store_true", help="print JSON instead")
    p.set_defaults(func=run)


def _is_capture(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) in _MAGIC


def run(args) -> int:
    from labkit.errors import LabkitError
    from pathlib import Path
    if not Path(args.file).is_file():
        raise LabkitError("file not found", args.file, "give a capture or a FreeSWITCH log/CDR")
    if not _is_capture(args.file):
        return _run_log(args)
    from labkit.freeswitch import timers as T
    settings = T.parse_vars(args.vars) if args.vars else T.parse_dial_string("sofia/gateway/peer/1")
    timelines = T.leg_timelines(args.file, freeswitch=args.freeswitch)
    deadlines = T.timer_deadlines(settings, timelines)
    legs = T.explain_legs(settings, timelines)
    notes = T.traps(settings, timelines)
    if args.json:
        print_json({"settings": {"originate_timeout": settings.originate_timeout,
                                 "progress_timeout": settings.progress_timeout,
                                 "originate_retries": settings.originate_retries,
                                 "originate_retry_sleep_ms": settings.originate_retry_sleep_ms,
                                 "originate_continue_on_timeout": settings.continue_on_timeout,
                                 "bridge_answer_timeout": settings.bridge_answer_timeout,
                                 "ignore_early_media": settings.ignore_early_media,
                                 "legs": [leg.endpoint for leg in settings.legs]},
                    "timelines": timelines, "deadlines": deadlines, "legs": legs, "traps": notes})
        return 0
    print(f"timers: originate_timeout {settings.originate_timeout} s, progress_timeout "
          f"{settings.progress_timeout} s, originate_retries {settings.originate_retries}"
          + (f", bridge_answer_timeout {settings.bridge_answer_timeout} s"
             if settings.bridge_answer_timeout is not None else ""))
    for tl, leg in zip(timelines.to_dict("records"), legs.to_dict("records")):
        _print_leg(tl, leg, deadlines[deadlines["leg"] == leg["leg"]])
    for n in notes:
        print(f"note: {n}")
    return 0


def _t(v) -> str:
    return "-" if v is None or v != v else f"{v:.3f}"


def _print_leg(tl, leg, deadlines) -> None:
    print(f"\nleg {leg['leg']} ({leg['endpoint'] or 'not in the dial string'}, call {tl['call_id']}): "
          f"INVITE {_t(tl['invite'])} s, 100 {_t(tl['trying'])}, 180 {_t(tl['ringing'])}, "
          f"183+SDP {_t(tl['early_media'])}, 200 {_t(tl['answer'])}, CANCEL {_t(tl['cancel'])}, "
          f"final {'' if tl['final_status'] is None or tl['final_status'] != tl['final_status'] else int(tl['final_status'])}"
          f" {_t(tl['final'])}")
    for d in deadlines.to_dict("records"):
        state = "applies" if d["applies"] else f"no longer applies ({d['why']})"
        print(f"  {d['timer']:<22} {d['rule']:<16} window {d['window_from']:g}-{d['window_to']:g} s  {state}")
    fired = leg["fired"] if isinstance(leg["fired"], str) else None
    print(f"  outcome: {leg['outcome']}" + (f" (originate ended at {leg['ended_s']:.3f} s)" if leg["ended_s"] == leg["ended_s"]
                                          and leg["ended_s"] is not None else "")
          + (f"; fired: {fired} -> {leg['cause']}" if fired else
             (f"; cause {leg['cause']}" if isinstance(leg["cause"], str) else ""))
          + (f"; FreeSWITCH answers the caller {int(leg['sip_to_caller'])}"
             if leg["sip_to_caller"] == leg["sip_to_caller"] and leg["sip_to_caller"] is not None else ""))
    if isinstance(leg["first_timer"], str) and leg["first_timer"] != fired:
        print(f"  first timer by the settings: {leg['first_timer']}")
    if not leg["consistent"]:
        print("  WARNING: the capture does not match these settings")
    if leg["advice"]:
        print(f"  change: {leg['advice']}")


def _run_log(args) -> int:
    from labkit.freeswitch.causes import read_bridge_causes
    with open(args.file, encoding="utf-8", errors="replace") as fh:
        table = read_bridge_causes(fh.read(), where=args.file)
    if args.json:
        print_json({"causes": table})
        return 0
    for r in table.to_dict("records"):
        print(f"line {r['line']}: {r['variable']} = {r['value']}" + (f"  ({r['meaning']})" if r["meaning"] else ""))
    return 0
