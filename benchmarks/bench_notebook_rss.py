"""Benchmark: peak memory of a notebook run on a capture (``labkit report NB FILE``).

The notebook's code runs in a Jupyter kernel, a child of the ``labkit report`` process
(papermill), so the peak RSS of the command alone says nothing about the cells. This runs
the command and samples the resident set size of every process of its tree (psutil, every
`--interval` s), then prints the largest sample of each (the kernel's is the notebook's),
the wall time, and the peak the kernel reports of itself at exit (``ru_maxrss`` of the
whole tree, from ``wait4``: the largest of the report process and the kernel it waited for).

Usage: python benchmarks/bench_notebook_rss.py NOTEBOOK CAPTURE [--interval S]
e.g.   python benchmarks/bench_notebook_rss.py 05 /tmp/bench/bench_8M_400streams.pcap
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook")
    ap.add_argument("capture")
    ap.add_argument("--interval", type=float, default=0.1, help="sampling period [s]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "labkit.cli", "report", args.notebook, args.capture,
               "-o", str(Path(tmp) / "report.html"), "--no-progress"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        peaks: dict = {}
        done = threading.Event()

        def sample():
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    procs = [root] + root.children(recursive=True)
                except psutil.NoSuchProcess:
                    return
                for p in procs:
                    try:
                        rss = p.memory_info().rss
                        name = " ".join(p.cmdline()[1:4])[:70]
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    old = peaks.get(p.pid, (0, name))
                    peaks[p.pid] = (max(old[0], rss), name)
                time.sleep(args.interval)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        th.join()
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    print(f"{' '.join(cmd[2:])}: exit {code}, wall {wall:.1f} s, "
          f"ru_maxrss of the tree {usage.ru_maxrss / 1024:.0f} MiB")
    for pid, (rss, name) in sorted(peaks.items(), key=lambda x: -x[1][0]):
        print(f"  pid {pid}: peak sampled RSS {rss / 2**20:.0f} MiB  {name}")
    return code


if __name__ == "__main__":
    sys.exit(main())
