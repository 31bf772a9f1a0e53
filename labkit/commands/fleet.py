"""``labkit fleet DIR_OR_GLOB``: every capture of a day at once, on Dask; calls to Parquet."""
from __future__ import annotations

from labkit.commands._output import print_json


def register(sub) -> None:
    p = sub.add_parser("fleet", help="summarize many captures at once (Dask); worst calls",
                       description="One task per capture on a local Dask cluster (or the "
                                   "scheduler given); calls and streams to Parquet; files "
                                   "that fail are listed and never stop the run.")
    p.add_argument("source", nargs="+", help="folder(s), glob pattern(s) or capture files")
    p.add_argument("--out", help="write the calls to this .parquet (streams and errors next to it)")
    p.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, help="local worker processes (default: the CPUs)")
    p.add_argument("--serial", action="store_true", help="no Dask: one file after the other")
    p.add_argument("--top", type=int, default=10, help="how many worst calls to print")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from labkit import fleet
    result = fleet.run_fleet(args.source, scheduler="serial" if args.serial else args.scheduler,
                             workers=args.workers)
    written = result.to_parquet(args.out) if args.out else []
    worst, failed = fleet.worst_calls(result, args.top), fleet.failed_by_cause(result)
    host = fleet.fleet_verdict(result)
    if args.json:
        print_json({"calls": result.calls, "streams": result.streams, "errors": result.errors,
                    "stalls": result.stalls, "relays": result.relays,
                    "worst_calls": worst, "failed_by_cause": failed,
                    "host_verdict": {k: host[k] for k in ("cause", "confidence", "verdict",
                                                          "groups", "relays", "instants")},
                    "written": [str(p) for p in written]})
        return 0
    print(f"{len(result.files)} capture(s), {len(result.calls)} call(s), {len(result.streams)} RTP stream(s), "
          f"{len(result.errors)} unreadable")
    cols = ["file", "call_id", "callee", "rtp_packets", "rtp_lost", "lost_pct", "max_jitter"]
    if len(worst):
        print("\nworst answered calls (loss, then jitter [ms]):")
        print(worst[cols].to_string(index=False))
    if len(failed):
        print("\nfailed set-ups by cause:")
        print(failed.to_string(index=False))
    print(f"\none relay or the whole host? {host['cause']} ({host['confidence']}): {host['verdict']}")
    stalled = host["relays"][host["relays"]["cause"] != "none"]
    if len(stalled):
        print(stalled[["relay", "files", "host_stalls", "shared", "alone", "path_stalls",
                       "shared_with", "cause"]].to_string(index=False))
    for e in result.errors.itertuples():
        print(f"\nunreadable: {e.file}: {e.error}")
    for p in written:
        print(f"wrote {p}")
    return 0
