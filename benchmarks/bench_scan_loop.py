"""Benchmark: ``scan_streams(FILE)`` warm, in a process that does nothing else.

One warm-up call (imports, numba's cached code, the page cache), then `--repeat` timed
calls; prints the best and the median [s] and packets per second. Run it from a checkout
(``PYTHONPATH=. python benchmarks/bench_scan_loop.py FILE``) to compare two versions side
by side, alternating.

Usage: python benchmarks/bench_scan_loop.py FILE [--repeat N] [--chunk-packets N]
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--chunk-packets", type=int, default=None)
    a = ap.parse_args(argv)
    from labkit.capture.pcapfile import CaptureFile
    from labkit.rtp.scan import scan_streams
    kw = {} if a.chunk_packets is None else {"chunk_packets": a.chunk_packets}
    scan_streams(a.file, progress=False, **kw)
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        scan_streams(a.file, progress=False, **kw)
        times.append(time.perf_counter() - t0)
    n = sum(len(c) for c in CaptureFile(a.file).chunks())
    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"{a.file}: best {best:.3f} s ({n / best / 1e6:.1f}M packets/s), median {median:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
