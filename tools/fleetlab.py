"""Real captures of three relays, two of them on one stalling hypervisor (data/fleet/).

    python -m tools.fleetlab          # -> data/fleet/fleet_relay{1,2,3}.pcap, fleet_relays.truth.json

Needs root (network namespaces ``fHr1``, ``fHr2``, ``fHr3``), rtpengine, dumpcap. Each
namespace is one relay "VM" with its own addresses on its loopback (phones 10.47.N.1,
relay 10.47.N.10) and its own processes:

    sender (3 RTP streams) --> real rtpengine 10.5 (userspace) --> [capture] sink

- ``send``: 3 RTP streams (G.729, PT 18, 20 ms, 20 octets of zeros: the timing is real,
  the audio is not) on an absolute 20 ms schedule, 10.47.N.1:47600+i.
- rtpengine: ``--table=-1``, media 10.47.N.10 ports 47620-47659, ng on 127.0.0.1:47690 of
  its namespace; one call per stream set up with the ng ``offer``/``answer`` that
  kamailio's rtpengine_manage would send (tools.jitterlab's bencode helpers).
- ``sink``: 10.47.N.1:47610+i (so the kernel sends no ICMP port unreachable).
- dumpcap records the relay's egress (``udp and src host 10.47.N.10``).

The controller (this process, SCHED_FIFO) plays the hypervisor: relays 1 and 2 are "on
host hv1": at the same instants it sends SIGSTOP to both rtpengine processes (back to
back, microseconds apart), sleeps 60-140 ms, and sends SIGCONT to both - what two guests
see when their host deschedules them together. Relay 3 is "on host hv2": it is stopped
alone, at other instants (at least 0.3 s from any hv1 stall): a problem of its own VM.
The instants (epoch [s]) and lengths [ms] of every SIGSTOP/SIGCONT are the ground truth,
written to ``fleet_relays.truth.json`` with the cause each relay's stalls have.
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.jitterlab import _bdecode, _bencode, _media_port, _stop

RELAYS = {1: "hv1", 2: "hv1", 3: "hv2"}          # relay number -> the host it runs on
N_STREAMS, PTIME, SECONDS = 3, 0.020, 8.0
SEND, SINK, MEDIA, NG_PORT = 47600, 47610, (47620, 47659), 47690
SEED = 14
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "fleet"
TRUTH = "fleet_relays.truth.json"


def ns(n: int) -> str:
    return f"fHr{n}"


def phone(n: int) -> str:
    return f"10.47.{n}.1"


def relay(n: int) -> str:
    return f"10.47.{n}.10"


def _sock(addr: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((addr, port))
    return s


# ----------------------------------------------------------------- in a namespace
def send(n: int, dests: list[int]) -> None:
    """3 RTP streams to the relay, one packet per stream every 20 ms (absolute schedule)."""
    rng = random.Random(SEED * 10 + n)
    socks = [_sock(phone(n), SEND + i) for i in range(N_STREAMS)]
    ssrc = [rng.getrandbits(32) for _ in socks]
    seq0 = [rng.getrandbits(16) for _ in socks]
    ts0 = [rng.getrandbits(32) for _ in socks]
    t0 = time.monotonic() + 0.05
    for k in range(int(SECONDS / PTIME)):
        time.sleep(max(0.0, t0 + k * PTIME - time.monotonic()))
        for i, s in enumerate(socks):
            hdr = struct.pack("!BBHII", 0x80, 18 | (0x80 if k == 0 else 0), (seq0[i] + k) & 0xFFFF,
                              (ts0[i] + 160 * k) & 0xFFFFFFFF, ssrc[i])
            s.sendto(hdr + bytes(20), (relay(n), dests[i]))


def sink(n: int) -> None:
    import select
    socks = [_sock(phone(n), SINK + i) for i in range(N_STREAMS)]
    while True:
        for s in select.select(socks, [], [])[0]:
            s.recv(2048)


def _ng(command: dict) -> dict:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        cookie = f"fH{random.getrandbits(32):08x}"
        s.sendto(cookie.encode() + b" " + _bencode(command), ("127.0.0.1", NG_PORT))
        reply = s.recv(65535)
    res, _ = _bdecode(reply[reply.index(b" ") + 1:])
    if res.get("result") != "ok":
        raise RuntimeError(f"rtpengine {command['command']}: {res}")
    return res


def _sdp(addr: str, port: int, sess: int) -> str:
    return (f"v=0\r\no=- {sess} 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendrecv\r\n")


def calls(n: int) -> list[int]:
    """One call per stream through this namespace's rtpengine; where stream i must go."""
    ports = []
    for i in range(N_STREAMS):
        call = {"call-id": f"fleet-relay{n}-{i}", "from-tag": f"a{i}"}
        _ng({"command": "offer", **call, "sdp": _sdp(phone(n), SEND + i, 1000 + i)})
        ans = _ng({"command": "answer", **call, "to-tag": f"b{i}",
                   "sdp": _sdp(phone(n), SINK + i, 2000 + i)})
        ports.append(_media_port(ans["sdp"]))
    return ports


# ----------------------------------------------------------------- the controller
def _ns(n: int, *cmd: str) -> list[str]:
    return ["ip", "netns", "exec", ns(n), "timeout", "-k", "2", "40", "chrt", "-f", "10", *cmd]


def _start(n: int, args: list[str], log) -> subprocess.Popen:
    return subprocess.Popen(_ns(n, *args), stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                            start_new_session=True)


def plan(seed: int = SEED) -> dict[str, list[tuple[float, float]]]:
    """(offset [s] after the senders start, length [s]) of each stall, per host."""
    rng = random.Random(seed)
    hv1, t = [], 1.0
    while t < SECONDS - 0.8:
        hv1.append((round(t, 3), round(rng.uniform(0.060, 0.140), 3)))
        t += rng.uniform(0.9, 1.6)
    hv2 = []
    while len(hv2) < 3:
        t = round(rng.uniform(1.2, SECONDS - 1.0), 3)
        if all(abs(t - u) > 0.3 for u, _ in hv1 + hv2):
            hv2.append((t, round(rng.uniform(0.060, 0.140), 3)))
    return {"hv1": hv1, "hv2": sorted(hv2)}


def _pid(pidfile: Path) -> int:
    for _ in range(50):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    pid = int(pidfile.read_text().split()[0])
    if Path(f"/proc/{pid}/comm").read_text().strip() != "rtpengine":
        raise RuntimeError(f"{pidfile}: PID {pid} is not our rtpengine")
    return pid


def _signal(pids: list[int], sig) -> float:
    """Signal our own rtpengine processes back to back; the epoch [s] of the first."""
    for pid in pids:
        if Path(f"/proc/{pid}/comm").read_text().strip() != "rtpengine":
            raise RuntimeError("our rtpengine is gone: never signal a PID we did not start")
    t = time.time()
    for pid in pids:
        os.kill(pid, sig)
    return t


def run(tmp: Path) -> dict:
    """Run the three relays; returns the ground truth (the captures land in tmp)."""
    procs: list[subprocess.Popen] = []
    log = open(tmp / "fleetlab.log", "wb")
    py = [sys.executable, "-m", "tools.fleetlab"]
    pids: dict[int, int] = {}
    truth = {"ptime_ms": 20, "streams_per_relay": N_STREAMS, "relays": {}}
    try:
        for n in RELAYS:
            subprocess.run(["ip", "netns", "del", ns(n)], capture_output=True)
            subprocess.run(["ip", "netns", "add", ns(n)], check=True)
            subprocess.run(["ip", "-n", ns(n), "link", "set", "lo", "up"], check=True)
            for a in (phone(n), relay(n)):
                subprocess.run(["ip", "-n", ns(n), "addr", "add", f"{a}/32", "dev", "lo"], check=True)
            procs.append(_start(n, ["dumpcap", "-q", "-P", "-i", "lo", "-f",
                                    f"udp and src host {relay(n)}",
                                    "-w", str(tmp / f"fleet_relay{n}.pcap")], log))
            procs.append(_start(n, [*py, "sink", str(n)], log))
            pidfile = tmp / f"rtpengine{n}.pid"
            procs.append(_start(n, ["rtpengine", "--config-file=none", "--foreground",
                                    "--log-stderr", "--table=-1", f"--interface={relay(n)}",
                                    f"--listen-ng=127.0.0.1:{NG_PORT}",
                                    f"--port-min={MEDIA[0]}", f"--port-max={MEDIA[1]}",
                                    "--delete-delay=0", "--log-level=5", f"--pidfile={pidfile}"], log))
            pids[n] = _pid(pidfile)
        time.sleep(1.5)
        dests = {}
        for n in RELAYS:
            out = subprocess.run(["ip", "netns", "exec", ns(n), *py, "calls", str(n)],
                                 capture_output=True, text=True, check=True, cwd=REPO)
            dests[n] = json.loads(out.stdout)
        senders = [_start(n, [*py, "send", str(n), json.dumps(dests[n])], log) for n in RELAYS]
        t0 = time.time()
        steps = sorted((off, length, host) for host, items in plan().items() for off, length in items)
        stalls = {n: [] for n in RELAYS}
        for off, length, host in steps:
            on = [n for n, h in RELAYS.items() if h == host]
            time.sleep(max(0.0, t0 + off - time.time()))
            t_stop = _signal([pids[n] for n in on], signal.SIGSTOP)
            time.sleep(length)
            t_cont = _signal([pids[n] for n in on], signal.SIGCONT)
            for n in on:
                stalls[n].append({"sigstop": round(t_stop, 6), "sigcont": round(t_cont, 6),
                                  "duration_ms": round((t_cont - t_stop) * 1e3, 3),
                                  "cause": "hypervisor" if len(on) > 1 else "vm"})
        for s in senders:
            s.wait(timeout=SECONDS + 10)
        time.sleep(0.6)
        for n, h in RELAYS.items():
            truth["relays"][relay(n)] = {"file": f"fleet_relay{n}.pcap", "namespace": ns(n),
                                         "host": h, "stalls": stalls[n],
                                         "cause": "hypervisor" if sum(1 for x in RELAYS.values() if x == h) > 1
                                         else ("vm" if stalls[n] else "none")}
    finally:
        for p in reversed(procs):
            _stop(p)
        for n in RELAYS:
            subprocess.run(["ip", "netns", "del", ns(n)], capture_output=True)
    return truth


HOW_MADE = ("real software: three rtpengine 10.5 (userspace) relays, each in its own network "
            "namespace (fHr1-3) relaying RTP from a tools/fleetlab.py sender, captured by dumpcap; "
            "the stalls are real SIGSTOP/SIGCONT of the rtpengine processes; the RTP timing is "
            "real, the payload is not audio")


def write_manifest(truth: dict) -> None:
    rows = ["name\tfile\tmade_by\tdescription"]
    made = "python -m tools.fleetlab"
    for addr, r in truth["relays"].items():
        n = r["file"][len("fleet_relay"):-len(".pcap")]
        what = {"hypervisor": "frozen together with the other relay of host hv1 (SIGSTOP to both "
                              "rtpengine processes at the same instant, SIGCONT 60-140 ms later)",
                "vm": "frozen alone (its own VM), at instants at least 0.3 s from any hv1 stall",
                "none": "never frozen"}[r["cause"]]
        rows.append(f"fleet_relay{n}\t{r['file']}\t{made}\tReal capture (dumpcap in network "
                    f"namespace {r['namespace']}) of the egress of relay {n} = real rtpengine 10.5 "
                    f"at {addr}, 3 RTP streams (G.729 PT 18, 20 ms, zero payload) from a sender at "
                    f"{phone(int(n))} to a sink, 8 s. Relay {n} runs on host {r['host']}: {what}; "
                    f"{len(r['stalls'])} stalls. One machine's clock for all three files. Ground "
                    f"truth in {TRUTH}.")
    rows.append(f"fleet_relays_truth\t{TRUTH}\t{made}\tGround truth written by the tool that made "
                "fleet_relay1-3: per relay address its file, namespace, host (hv1 = relays 1 and 2, "
                "hv2 = relay 3), cause (hypervisor | vm | none) and every stall: epoch [s] of the "
                "SIGSTOP and of the SIGCONT sent to its rtpengine, duration_ms, cause.")
    (OUT / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    from tools.manifest import add_how_made
    add_how_made(OUT / "MANIFEST.tsv", HOW_MADE)


def main(argv: list[str] | None = None) -> int:
    argv = argv or []
    if argv[:1] == ["send"]:
        send(int(argv[1]), json.loads(argv[2]))
        return 0
    if argv[:1] == ["sink"]:
        sink(int(argv[1]))
        return 0
    if argv[:1] == ["calls"]:
        print(json.dumps(calls(int(argv[1]))))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("tools.fleetlab needs root (network namespaces, capture)")
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))   # SIGSTOP/SIGCONT on time
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fH-fleet-") as d:
        tmp = Path(d)
        os.chmod(tmp, 0o755)
        truth = run(tmp)
        truth["what"] = ("Relays 1 and 2 run on host hv1, which deschedules both at the same "
                         "instants (SIGSTOP/SIGCONT of both rtpengine processes together); relay 3 "
                         "runs on host hv2 and is stopped alone at other instants (its own VM).")
        for r in truth["relays"].values():
            (OUT / r["file"]).write_bytes((tmp / r["file"]).read_bytes())
        (OUT / TRUTH).write_text(json.dumps(truth, indent=1) + "\n")
    write_manifest(truth)
    for addr, r in truth["relays"].items():
        print(f"{r['file']}: relay {addr} on {r['host']}, {len(r['stalls'])} stalls ({r['cause']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
