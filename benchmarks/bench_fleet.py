"""Benchmark: ``labkit fleet`` on 200 captures, serial and on a local Dask cluster of 1
and 2 worker processes.

The 200 files are hard links (or copies) of the bundled real lab captures
(data/lab/*.pcap, ~1,100-2,200 RTP packets each) under benchmarks/out/fleet200/, named
as a probe would rotate them. Each mode runs ``run_fleet`` in this process and is timed
end to end (cluster start-up included); the tables of every mode must be equal.

Usage: python benchmarks/bench_fleet.py [--files N] [--repeat R]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from labkit import data, fleet  # noqa: E402


def make_files(n: int) -> Path:
    out = HERE / "out" / f"fleet{n}"
    if out.exists() and len(list(out.glob("*.pcap"))) == n:
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    lab = sorted(data.path("ringback_amrwb").parent.glob("*.pcap"))
    for i in range(n):
        src, dst = lab[i % len(lab)], out / f"probe_{i:04d}.pcap"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy(src, dst)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    folder = make_files(args.files)
    results, tables = [], {}
    for label, kw in (("serial", {"scheduler": "serial"}), ("dask, 1 worker", {"workers": 1}),
                      ("dask, 2 workers", {"workers": 2})):
        best = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fleet.run_fleet(folder, progress=False, **kw)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        tables[label] = out
        results.append((label, best, len(out.calls)))
    ref = tables["serial"]
    for label, out in tables.items():
        assert out.calls.equals(ref.calls) and out.streams.equals(ref.streams), label
    print(f"| mode | wall [s] | files/s | calls |  ({args.files} files, {os.cpu_count()} CPUs)")
    print("|---|---:|---:|---:|")
    for label, dt, n_calls in results:
        print(f"| {label} | {dt:.2f} | {args.files / dt:.0f} | {n_calls} |")


if __name__ == "__main__":
    main()
