"""AMR extraction speed and memory: ``labkit amr extract`` vs tshark vs a scapy extractor.

The capture: one call, SIP INVITE / 183 with SDP (AMR/8000, bandwidth-efficient), then
2 x 50,000 RTP packets (AMR 12.2, one frame per packet, real encoder frames from
data/synth cycled), 100,002 frames, about 9.6 MB; built once with labkit.capture.frames into
``$LABKIT_BENCH_DIR`` (default /tmp/labkit_bench).

Measured, each as a separate process (wall time, peak RSS from wait4):

1. ``labkit amr extract -i amr_100k.pcap -o out.amr -q``: the whole command (Python
   start-up, reading, RTP, both streams to storage files).
2. ``tshark -r amr_100k.pcap -T fields -e rtp.payload``: only dumps the payloads as hex.
3. The same ``labkit amr extract`` inside one process after its imports (best of 3):
   the extraction work alone, without Python start-up and numpy/pandas/scipy imports.
4. A scapy-based extractor (``rdpcap``, first RTP flow, bandwidth-efficient, one frame
   per packet: what the well-known script does), when scapy is importable
   (``pip install -e .[bench]``); otherwise REFERENCE.md's figure is quoted.

Run: ``.venv/bin/python benchmarks/bench_amr.py [--repeat 3] [--no-scapy]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_DIR = Path(os.environ.get("LABKIT_BENCH_DIR", "/tmp/labkit_bench"))
N_PER_STREAM = 50_000

SCAPY_EXTRACTOR = r'''
import sys
from scapy.all import rdpcap, UDP
BITS = (95, 103, 118, 134, 148, 159, 204, 244, 39, 0, 0, 0, 0, 0, 0, 0)
packets = rdpcap(sys.argv[1])
flow, out = None, [b"#!AMR\n"]
for p in packets:
    if UDP not in p:
        continue
    u = p[UDP]
    payload = bytes(u.payload)
    if len(payload) < 14 or payload[0] >> 6 != 2:
        continue
    if flow is None:
        flow = (u.sport, u.dport)
    if (u.sport, u.dport) != flow:
        continue
    amr = payload[12:]
    v, n = int.from_bytes(amr, "big"), len(amr) * 8
    ft, q = (v >> (n - 9)) & 0xF, (v >> (n - 10)) & 1
    nb = BITS[ft]
    frame = (v >> (n - 10 - nb)) & ((1 << nb) - 1)
    out.append(bytes([ft << 3 | q << 2]) + (frame << (-nb % 8)).to_bytes((nb + 7) // 8, "big"))
open(sys.argv[2], "wb").write(b"".join(out))
'''


def make_capture(path: Path) -> Path:
    """Write the 100,002-frame capture (deterministic) unless it exists."""
    if path.exists():
        return path
    from labkit import amr
    from labkit.capture import frames as fr
    from tools.synth import amr_rtp, make_amr

    built = make_amr.build("synth_amrnb_be_ringback")
    a, b = "10.0.0.1", "10.0.0.2"
    records = [(t, fr.udp_frame(p, s, d, 5060, 5060)) for t, s, d, p in
               make_amr._sip_records(make_amr.BY_NAME["synth_amrnb_be_ringback"], a, b)[:3]]
    t0 = make_amr.T0_NS + 100_000_000
    for key, (src, dst, sp, dp, ssrc) in {"b2a": (b, a, 50000, 40000, 0xB0000001),
                                          "a2b": (a, b, 40000, 50000, 0xA0000001)}.items():
        frames = amr_rtp.storage_frames(built.streams[key].reference)
        for k in range(N_PER_STREAM):
            payload = amr.packetize_amr([frames[k % len(frames)]])
            rtp = fr.rtp(payload, pt=96, seq=k, ts=k * 160, ssrc=ssrc, marker=k == 0)
            records.append((t0 + k * 20_000_000 + (7_000 if key == "a2b" else 0),
                            fr.udp_frame(rtp, src, dst, sp, dp, ident=k & 0xFFFF)))
    records.sort(key=lambda r: r[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    fr.write_pcap(path, records)
    return path


def run(cmd: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall [s], peak RSS [MB], exit status) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def best_of(cmd, repeat: int) -> tuple[float, float]:
    results = []
    for _ in range(repeat):
        wall, rss, code = run(cmd)
        if code != 0:
            raise SystemExit(f"failed ({code}): {' '.join(cmd)}")
        results.append((wall, rss))
    return min(r[0] for r in results), max(r[1] for r in results)


IN_PROCESS = r'''
import sys, time
from labkit import cli, amr, audio, capture, rtp, sip# imports not timed
cli.build_parser()
times = []
for _ in range(3):
    start = time.perf_counter()
    cli.main(sys.argv[1:])
    times.append(time.perf_counter() - start)
print(f"{min(times):.4f}")
'''


def in_process(args: list[str]) -> float:
    """Best of 3 [s] of the command's work inside one Python process, imports excluded."""
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, *args], capture_output=True,
                         text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def have_scapy() -> bool:
    return subprocess.run([sys.executable, "-c", "import scapy.all"],
                          capture_output=True).returncode == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-scapy", action="store_true")
    args = parser.parse_args(argv)
    cap = make_capture(BENCH_DIR / "amr_100k.pcap")
    out = BENCH_DIR / "out.amr"
    rows = []
    labkit_cmd = [sys.executable, "-m", "labkit.cli", "amr", "extract", "-i", str(cap),
                  "-o", str(out), "-q"]
    rows.append(("labkit amr extract (2 streams -> .amr)", *best_of(labkit_cmd, args.repeat)))
    work = in_process(labkit_cmd[3:])
    tshark_cmd = ["tshark", "-r", str(cap), "-T", "fields", "-e", "rtp.payload"]
    rows.append(("tshark -T fields -e rtp.payload", *best_of(tshark_cmd, args.repeat)))
    if not args.no_scapy and have_scapy():
        script = BENCH_DIR / "scapy_extract.py"
        script.write_text(SCAPY_EXTRACTOR)
        cmd = [sys.executable, str(script), str(cap), str(BENCH_DIR / "scapy.amr")]
        rows.append(("scapy extractor (1 stream)", *best_of(cmd, 1)))
    else:
        rows.append(("scapy extractor (REFERENCE.md, not run)", 33.5, 507.0))
    print(f"capture: {cap} ({cap.stat().st_size / 1e6:.1f} MB, 100,002 frames, "
          f"2 x {N_PER_STREAM} RTP AMR packets)")
    print("| tool | wall [s] | peak RSS [MB] | packets/s | labkit speed-up |")
    print("|---|---|---|---|---|")
    base = rows[0][1]
    for name, wall, rss in rows:
        print(f"| {name} | {wall:.2f} | {rss:.0f} | {2 * N_PER_STREAM / wall:,.0f} | "
              f"{wall / base:.1f}x |")
    print(f"| labkit amr extract, in-process (imports excluded) | {work:.2f} | - | "
          f"{2 * N_PER_STREAM / work:,.0f} | tshark / this: {rows[1][1] / work:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
