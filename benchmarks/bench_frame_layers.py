"""Per-frame time of labkit.sms.overhead.frame_layers on the bundled SMS captures.

Usage: ``PYTHONPATH=. python benchmarks/bench_frame_layers.py [repeats]``. Prints the
median over `repeats` passes of the time per frame [µs] (every frame of every bundled
sms_* capture, warm process). Timing only, no pass/fail.
"""
from __future__ import annotations

import statistics
import sys
import time

from labkit import data
from labkit.capture import iter_frames
from labkit.errors import LabkitError
from labkit.sms.overhead import frame_layers


def main(repeats: int = 20) -> None:
    frames = [(bytes(f.data), f.linktype) for n in data.names() if n.startswith("sms_")
              for f in iter_frames(data.path(n))]
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for d, lt in frames:
            try:
                frame_layers(d, lt)
            except LabkitError:
                pass
        runs.append((time.perf_counter() - t0) / len(frames))
    print(f"{len(frames)} frames, median {statistics.median(runs) * 1e6:.1f} µs per frame "
          f"(min {min(runs) * 1e6:.1f}, {repeats} passes)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
