"""Benchmark: ``labkit jitter FILE --json`` against ``tshark -q -z rtp,streams`` on one file.

The whole command as a separate process: every stream's Wireshark per-packet analysis,
PDV/IPDV, stalls, RFC 3611 metrics, three jitter buffers (fixed 50, fixed 200, adaptive)
with the G.107 E-model per 10 s interval, the cross-stream correlation and the verdict,
on benchmarks/out/bench_1M_40streams.pcap (1,000,000 packets, 40 streams; made by
make_bench_capture.py when missing). tshark computes less (the stream table only).
Wall clock and CPU time (user + system, less sensitive to other load on the machine)
and peak RSS, best of --repeat runs, with the load average at the start.

Usage: python benchmarks/bench_jitter.py [--file F] [--repeat N] [--write]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import make_bench_capture  # noqa: E402

RESULTS = HERE / "RESULTS.md"
TSHARK = ["tshark", "-n", "-q", "-z", "rtp,streams", "-o", "rtp.heuristic_rtp:TRUE", "-r"]
LABKIT = [sys.executable, "-m", "labkit.cli", "jitter", "--json"]


def run(cmd: list[str]) -> tuple[float, float, int]:
    """Wall [s], CPU user+sys [s], peak RSS [bytes] of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def best(cmd, repeat):
    runs = [run(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", type=Path, default=make_bench_capture.OUT)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="append the table to RESULTS.md")
    a = ap.parse_args()
    if not a.file.exists():
        make_bench_capture.main([str(a.file)])
    load = os.getloadavg()[0]
    lk = best(LABKIT[:4] + [str(a.file), "--json"], a.repeat)
    ts = best(TSHARK + [str(a.file)], a.repeat)
    mib = a.file.stat().st_size / 2**20
    text = "\n".join([
        f"## `labkit jitter` on `{a.file.name}`", "",
        f"File: `{a.file.name}` ({mib:.1f} MiB, 1,000,000 packets, 40 RTP streams). "
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at start, Python {platform.python_version()}. Best of {a.repeat}.", "",
        "| | `labkit jitter FILE --json` (everything) | `tshark -q -z rtp,streams` (table only) |",
        "|---|---:|---:|",
        f"| whole command, wall time [s] | {lk[0]:.2f} | {ts[0]:.2f} |",
        f"| CPU time, user + system [s] | {lk[1]:.2f} | {ts[1]:.2f} |",
        f"| peak RSS [MiB] | {lk[2] / 2**20:.0f} | {ts[2] / 2**20:.0f} |", ""])
    print(text)
    if a.write:
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
