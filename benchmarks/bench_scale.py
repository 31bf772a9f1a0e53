"""Benchmark: captures bigger than memory, labkit vs tshark in the same run.

For each file (default: benchmarks/out/bench_8M_400streams.pcap, 8,000,000 packets in
400 streams, 1.75 GiB, and bench_40M_400streams.pcap, 40,000,000 packets, 8.6 GiB; made
by make_bench_capture.py when missing) this times, as separate processes:

- ``labkit streams FILE`` and ``tshark -n -q -z rtp,streams -o rtp.heuristic_rtp:TRUE -r
  FILE``, and checks that they print the same table;
- ``labkit jitter FILE --json`` (every stream's per-packet analysis and the verdict);
- ``labkit overview FILE --json``.

Each file is read once first, so that every command starts with it in the page cache
when it fits in free memory (else each reads it from disk). It reports wall time, CPU time
(user + system) and peak RSS (``wait4``) of each, with the load average at the start, and writes them between the ``scale`` markers of
benchmarks/RESULTS.md (the rest of the file is kept). tshark on the 40M file needs
about 11 GiB of memory and several minutes; ``--tshark-max-packets`` skips it above a size.

Usage: python benchmarks/bench_scale.py [--file F ...] [--repeat N] [--no-write]
       [--tshark-max-packets N] [--skip CMD ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import make_bench_capture  # noqa: E402
from bench_streams import machine, tshark_version  # noqa: E402

RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- scale: begin -->", "<!-- scale: end -->"
FILES = {(HERE / "out" / "bench_8M_400streams.pcap").absolute(): 8_000_000,
         (HERE / "out" / "bench_40M_400streams.pcap").absolute(): 40_000_000}
TSHARK = ["tshark", "-n", "-q", "-z", "rtp,streams", "-o", "rtp.heuristic_rtp:TRUE", "-r"]
LABKIT = [sys.executable, "-m", "labkit.cli"]


def run(cmd: list[str]) -> dict:
    """Wall [s], CPU user+sys [s], peak RSS [bytes] and stdout of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return {"wall": time.perf_counter() - t0, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss * 1024, "out": out}


def best(cmd: list[str], repeat: int) -> dict:
    runs = [run(cmd) for _ in range(repeat)]
    return {"wall": min(r["wall"] for r in runs), "cpu": min(r["cpu"] for r in runs),
            "rss": max(r["rss"] for r in runs), "out": runs[-1]["out"]}


def _available_bytes() -> int:
    """The kernel's MemAvailable (free memory plus the page cache it can drop) [bytes]."""
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def warm_page_cache(path: Path) -> str:
    """Read the file once, so that every command starts with it in the page cache (when
    it fits in the free memory; else every command reads it from disk). Returns what
    the section says about it."""
    size, free = path.stat().st_size, _available_bytes()
    if size > 0.8 * free:
        return "the file does not fit in free memory: every command reads it from disk"
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(64 << 20)
        while fh.readinto(buf):
            pass
    return "the file was read once before the runs (in the page cache for every command)"


def commands(path: Path, skip: set[str], with_tshark: bool) -> dict[str, list[str]]:
    cmds = {"labkit streams": LABKIT + ["streams", str(path)],
            "labkit jitter --json": LABKIT + ["jitter", str(path), "--json"],
            "labkit overview --json": LABKIT + ["overview", str(path), "--json"]}
    if with_tshark:
        cmds["tshark -z rtp,streams"] = TSHARK + [str(path)]
    return {k: v for k, v in cmds.items() if k.split()[1].lstrip("-") not in skip}


def packet_count(path: Path) -> int:
    """Records in the file, as capinfos (Wireshark) counts them."""
    out = subprocess.run(["capinfos", "-M", "-c", "-T", "-r", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return int(out.split("\t")[-1])


def _order(name: str) -> tuple:
    """8M before 40M: by the packet count in the generated file names."""
    import re
    m = re.search(r"_(\d+)M_", name)
    return (int(m.group(1)) if m else 0, name)


def section(path: Path, n_packets: int, load: float, rows: dict, same: str, repeat: int,
            cache: str = "") -> str:
    size = path.stat().st_size
    lines = [f"### `{path.name}` ({n_packets:,} packets, {size / 2**30:.2f} GiB)", "",
             f"Load average at start {load:.1f}; best of {repeat} run(s); {cache}. Table of "
             f"`labkit streams` equal to tshark's: {same}.",
             "", "| command | wall [s] | CPU user+sys [s] | peak RSS [MiB] |",
             "|---|---:|---:|---:|"]
    ts = rows.get("tshark -z rtp,streams")
    for name, r in rows.items():
        extra = ""
        if ts is not None and name == "labkit streams":
            extra = f" ({ts['wall'] / r['wall']:.1f}x faster than tshark)"
        lines.append(f"| `{name}` | {r['wall']:.1f}{extra} | {r['cpu']:.1f} | {r['rss'] / 2**20:.0f} |")
    return "\n".join(lines + ["", ""])


def _sections(block: str) -> dict[str, str]:
    """The per-file sections ("### `name` ...") of a scale block, by file name."""
    parts = [p.split("\nReproduce:", 1)[0] for p in block.split("\n### ")[1:]]
    return {p.split("`")[1]: "### " + p.rstrip("\n") + "\n\n" for p in parts}


def write_results(head: str, sections: dict[str, str], tail: str) -> None:
    """Write the scale block of RESULTS.md; files measured in an earlier run and not in
    this one keep their section (so the 40M file can be run once, the 8M file often)."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    if BEGIN in old and END in old:
        kept = _sections(old.split(BEGIN, 1)[1].split(END, 1)[0])
        sections = {**kept, **sections}
    text = head + "\n" + "".join(sections[k] for k in sorted(sections, key=_order)) + tail
    block = f"{BEGIN}\n{text}{END}\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, action="append", help="capture(s) (default: 8M and 40M)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    ap.add_argument("--tshark-max-packets", type=int, default=10_000_000,
                    help="run tshark only on files with at most this many packets (default 10M)")
    ap.add_argument("--skip", action="append", default=[], choices=["streams", "jitter", "overview"],
                    help="leave out a labkit command (repeatable)")
    a = ap.parse_args(argv)
    files = {p.absolute(): FILES.get(p.absolute(), 0) for p in a.file} if a.file else dict(FILES)
    head = (f"## Captures bigger than memory\n\nMachine: {machine()}. tshark: {tshark_version()}.\n"
            "Each command is a separate process; best wall and CPU of the runs, largest RSS.\n")
    sections = {}
    for path, n in files.items():
        if not path.exists():
            if not n:
                raise SystemExit(f"{path} does not exist")
            print(f"generating {path} ...", flush=True)
            make_bench_capture.main([str(path), "--packets", str(n), "--streams", "400"])
        n = n or packet_count(path)
        cache = warm_page_cache(path)
        load = os.getloadavg()[0]
        rows = {}
        for name, cmd in commands(path, set(a.skip), n <= a.tshark_max_packets).items():
            print(f"{path.name}: {name} ...", flush=True)
            rows[name] = best(cmd, a.repeat)
        same = "not compared"
        if "labkit streams" in rows and "tshark -z rtp,streams" in rows:
            same = "yes" if rows["labkit streams"]["out"] == rows["tshark -z rtp,streams"]["out"] else "NO"
        sections[path.name] = section(path, n, load, rows, same, a.repeat, cache)
    tail = ("Reproduce: `.venv/bin/python benchmarks/bench_scale.py [--file F] [--repeat N]` (files "
            "made by `python benchmarks/make_bench_capture.py OUT --packets N --streams 400`).\n")
    print(head + "\n" + "".join(sections.values()) + tail)
    if not a.no_write:
        write_results(head, sections, tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
