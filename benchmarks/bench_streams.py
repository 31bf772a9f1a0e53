"""Benchmark: ``labkit streams FILE`` against ``tshark -q -z rtp,streams`` on one file.

Generates benchmarks/out/bench_1M_40streams.pcap (1,000,000 G.711 RTP packets, 40
streams) and bench_1M_40streams_mixed.pcap (G.711, G.729, G.722, dynamic PT: records
of different sizes) with make_bench_capture.py when missing, then for each, in the
same run:

1. times both commands end to end as separate processes (wall clock, peak RSS from
   ``wait4``), and checks that they print the same table;
2. times ``read_capture`` + ``rtp_streams`` inside this (warm) process, and the RTP
   part alone, in packets per second;
3. writes benchmarks/RESULTS.md (markdown table, machine, commands).

Usage: python benchmarks/bench_streams.py [--file F ...] [--repeat N] [--tshark-repeat N]
[--no-inproc] [--no-write]. For the 8M-packet file (tshark ~50 s a run):
``--file benchmarks/out/bench_8M_400streams.pcap --tshark-repeat 1 --no-inproc``.
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
MIXED = make_bench_capture.OUT.with_name("bench_1M_40streams_mixed.pcap")
TSHARK = ["tshark", "-n", "-q", "-z", "rtp,streams", "-o", "rtp.heuristic_rtp:TRUE", "-r"]


def run_timed(cmd: list[str]) -> tuple[float, int, str, float]:
    """Wall time [s], peak RSS [bytes], stdout and CPU time (user + system) [s] of one
    child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
    return wall, usage.ru_maxrss * 1024, out, usage.ru_utime + usage.ru_stime


def best(cmd, repeat):
    runs = [run_timed(cmd) for _ in range(repeat)]
    return (min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2],
            min(r[3] for r in runs))


SCAN_CHUNK = 125_000   # frames per chunk of the timed scan_streams (its default, CHUNK_PACKETS)


def in_process(path: Path, repeat: int) -> dict:
    """Best-of-`repeat` wall and CPU times [s] of the two public paths to the stream
    table, warm: ``rtp_streams(find_rtp(read_capture(path)))`` and
    ``scan_streams(path, chunk_packets=SCAN_CHUNK)`` (chunked, a read-ahead thread);
    both give the same table (checked)."""
    from labkit.capture import read_capture
    from labkit.rtp import find_rtp, rtp_streams
    from labkit.rtp.scan import scan_streams
    rtp_streams(find_rtp(read_capture(path, progress=False)))  # warm: imports, page cache
    scan_streams(path, chunk_packets=SCAN_CHUNK, progress=False)
    t_all, t_rtp, c_all, t_scan, c_scan = [], [], [], [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        pk = read_capture(path, progress=False)
        t1 = time.perf_counter()
        table = rtp_streams(find_rtp(pk))
        t2, c2 = time.perf_counter(), time.process_time()
        t_all.append(t2 - t0)
        t_rtp.append(t2 - t1)
        c_all.append(c2 - c0)
        rows = len(pk)
        del pk
        c0, t0 = time.process_time(), time.perf_counter()
        scan = scan_streams(path, chunk_packets=SCAN_CHUNK, progress=False)
        t_scan.append(time.perf_counter() - t0)
        c_scan.append(time.process_time() - c0)
    from labkit.rtp.streams import stream_table
    whole = stream_table(find_rtp(read_capture(path, progress=False)))
    same = all(list(whole[k]) == list(scan[k]) for k in whole)
    return {"packets": rows,
            "frames": _frames(path), "streams": len(table), "read_s": min(t_all) - min(t_rtp),
            "all_s": min(t_all), "rtp_s": min(t_rtp), "all_cpu_s": min(c_all),
            "scan_s": min(t_scan), "scan_cpu_s": min(c_scan), "same": same,
            "repeat": repeat, "load": os.getloadavg()[0]}


def read_only_rss(path: Path) -> int:
    """Peak RSS [bytes] of a process that only runs read_capture on the file."""
    code = ("import sys; from labkit.capture import read_capture; "
            "read_capture(sys.argv[1])")
    return run_timed([sys.executable, "-c", code, str(path)])[1]


def in_child(path: Path, repeat: int) -> dict:
    """:func:`in_process` in a fresh child, so this (parent) process stays small: a
    forked child's peak RSS starts from its parent's size."""
    import json
    out = subprocess.run([sys.executable, __file__, "--inproc", str(path), "--repeat",
                          str(repeat)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def _frames(path: Path) -> int:
    from labkit.capture.pcapfile import CaptureFile
    return sum(len(ch) for ch in CaptureFile(path).chunks())


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} CPUs, load average {load:.1f} at start, Python {platform.python_version()}"


def tshark_version() -> str:
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].rstrip(".") if out else "?"


def report(path: Path, ours, theirs, inproc, mach, read_rss, title=True, repeat=3,
           t_repeat=3) -> str:
    size = path.stat().st_size
    same = "yes" if ours[2] == theirs[2] else "NO"
    rows_out = [ln for ln in ours[2].splitlines()[2:] if ln and not ln.startswith("=")]
    n_streams = len(rows_out)
    n = inproc["frames"] if inproc else _frames(path)
    rows = [
        ("whole command, wall time [s]", f"{ours[0]:.2f}", f"{theirs[0]:.2f}"),
        ("speed-up (tshark time / labkit time)", f"{theirs[0] / ours[0]:.1f}x", "1.0x"),
        ("CPU time, user + system [s]", f"{ours[3]:.2f}", f"{theirs[3]:.2f}"),
        ("peak RSS [MiB]", f"{ours[1] / 2**20:.0f}", f"{theirs[1] / 2**20:.0f}"),
        ("peak RSS / file size", f"{ours[1] / size:.2f}", f"{theirs[1] / size:.2f}"),
        *([("peak RSS of `read_capture` alone / file size", f"{read_rss / size:.2f}", "")]
          if read_rss else []),
        ("same table printed", same, ""),
    ]
    lines = [
        *(["# Benchmark: RTP stream table, labkit vs tshark", ""] if title else []),
        f"## `{path.name}`",
        "",
        f"File: `{path.name}` ({size / 2**20:.1f} MiB, {n:,} packets, {n_streams} "
        "RTP streams), made by `python benchmarks/make_bench_capture.py` (deterministic).",
        f"Times: best of {repeat} (labkit), {t_repeat} (tshark).",
        f"Machine: {mach}. tshark: {tshark_version()}.",
        "",
        "| | `labkit streams FILE` | `tshark -n -q -z rtp,streams -o rtp.heuristic_rtp:TRUE -r FILE` |",
        "|---|---:|---:|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        *([] if inproc is None else [
            f"Inside a warm Python process (best of {inproc['repeat']}; load average "
            f"{inproc['load']:.1f} at the end; CPU = user + system of all threads):",
            "",
            "| public path | time [s] | packets/s | CPU [s] |",
            "|---|---:|---:|---:|",
            f"| read_capture | {inproc['read_s']:.3f} | {n / inproc['read_s']:,.0f} | |",
            f"| find_rtp + rtp_streams | {inproc['rtp_s']:.3f} | {n / inproc['rtp_s']:,.0f} | |",
            f"| whole pipeline (`rtp_streams(find_rtp(read_capture(path)))`) | "
            f"{inproc['all_s']:.3f} | {n / inproc['all_s']:,.0f} | {inproc['all_cpu_s']:.3f} |",
            f"| `scan_streams(path, chunk_packets={SCAN_CHUNK:_})` (same table: "
            f"{'yes' if inproc['same'] else 'NO'}) | {inproc['scan_s']:.3f} | "
            f"{n / inproc['scan_s']:,.0f} | {inproc['scan_cpu_s']:.3f} |",
            "", ""]),
        "",
    ]
    return "\n".join(lines)


FOOTER = """Reproduce: `make bench` (or `.venv/bin/python benchmarks/bench_streams.py`); the
files are made by `python benchmarks/make_bench_capture.py [--mix mixed]`. Times are the
best of the runs; RSS is the largest (it counts resident pages of the memory-mapped
capture too).
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, action="append",
                    help="capture(s) to time (default: the g711 and mixed benchmark files)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tshark-repeat", type=int, default=None,
                    help="tshark runs per file (default: --repeat)")
    ap.add_argument("--no-inproc", action="store_true",
                    help="skip the warm in-process timing and the read_capture RSS")
    ap.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    ap.add_argument("--inproc", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.inproc:
        import json
        print(json.dumps(in_process(a.inproc, a.repeat)))
        return 0
    files = a.file or [make_bench_capture.OUT, MIXED]
    parts = []
    for k, path in enumerate(files):
        mach = machine()
        if not path.exists():
            print(f"generating {path} ...", flush=True)
            make_bench_capture.write(path, mix="mixed" if path == MIXED else "g711")
        t_rep = a.repeat if a.tshark_repeat is None else a.tshark_repeat
        ours = best([sys.executable, "-m", "labkit.cli", "streams", str(path)], a.repeat)
        theirs = best(TSHARK + [str(path)], t_rep)
        read_rss = 0 if a.no_inproc else read_only_rss(path)
        inproc = None if a.no_inproc else in_child(path, a.repeat)
        parts.append(report(path, ours, theirs, inproc, mach, read_rss, title=k == 0,
                            repeat=a.repeat, t_repeat=t_rep))
    text = "\n".join(parts) + "\n" + FOOTER
    print(text)
    if not a.no_write:
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
