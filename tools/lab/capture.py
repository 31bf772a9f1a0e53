"""Record with dumpcap and check recordings with tshark (the oracle)."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from tools.lab.sandbox import Sandbox


def start_dumpcap(sb: Sandbox, out: Path, bpf: str, *, iface: str = "lo", budget: float = 60):
    """Start dumpcap on `iface` writing classic pcap `out` with capture filter `bpf`."""
    proc = sb.start("dumpcap", ["dumpcap", "-q", "-P", "-i", iface, "-f", bpf, "-w", str(out)],
                    budget=budget)
    sb.wait_for_log("dumpcap", "Capturing on", timeout=10)
    time.sleep(0.3)  # the filter is attached once "Capturing on" is printed; small margin
    return proc


def stop_dumpcap(sb: Sandbox, proc, *, linger: float = 0.5) -> None:
    """Let the last packets land, then stop dumpcap by PID (SIGTERM flushes the file)."""
    time.sleep(linger)
    sb.stop(proc)


def tshark(*args: str) -> str:
    """Run tshark with `args`, return stdout (raises on failure)."""
    res = subprocess.run(["tshark", *args], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"tshark {' '.join(args)} failed: {res.stderr[-1000:]}")
    return res.stdout


def invite_final(path: Path, caller: str) -> list[int]:
    """Final status codes (>= 200) of INVITE transactions as received by `caller` (IP)."""
    out = tshark("-r", str(path), "-Y", f"sip.Status-Code >= 200 and sip.CSeq.method == \"INVITE\" "
                 f"and ip.dst == {caller}", "-T", "fields", "-e", "sip.Status-Code")
    return [int(x) for x in out.split()]


def sdp_codecs(path: Path) -> list[str]:
    """Every distinct rtpmap encoding name seen in SDP bodies (tshark sdp.mime.type)."""
    out = tshark("-r", str(path), "-Y", "sdp", "-T", "fields", "-e", "sdp.mime.type")
    names = {n for line in out.splitlines() for n in line.split(",") if n}
    return sorted(names)


_STREAM = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)"
                     r"\s+(.+?)\s+(\d+)\s+(-?\d+)\s+\(")


def rtp_streams(path: Path) -> list[dict]:
    """Rows of ``tshark -q -z rtp,streams``: start, end [s], src, sport, dst, dport, ssrc,
    payload, packets, lost (RTP found from the SDP in the capture, heuristic off)."""
    out = tshark("-r", str(path), "-q", "-o", "rtp.heuristic_rtp:FALSE", "-z", "rtp,streams")
    rows = []
    for line in out.splitlines():
        m = _STREAM.match(line)
        if m:
            rows.append(dict(start=float(m[1]), end=float(m[2]), src=m[3], sport=int(m[4]),
                             dst=m[5], dport=int(m[6]), ssrc=m[7], payload=m[8].strip(),
                             packets=int(m[9]), lost=int(m[10])))
    return rows
