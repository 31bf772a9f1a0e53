"""Real captures of a relay stalled by its host vs delayed by the network (data/jitter/).

    python -m tools.jitterlab            # every scenario -> data/jitter/*.pcap, *.truth.json
    python -m tools.jitterlab jitter_host

Needs root (a network namespace ``lkj-jitter``), dumpcap and tshark. Everything runs on
the loopback of that namespace, as separate processes of this module:

    sender --> netem --> [ingress capture] relay --> [egress capture] sink

- ``send``: 4 RTP streams (G.729, PT 18, 20 ms, 20-octet payload of zeros: the audio is
  not real, the timing is) paced by the kernel clock; ports 41100+i -> 41200+i.
- ``netem``: user-space impairment (the kernel here has no netem qdisc): each path gets
  its own delay process (base 5 ms, gamma noise, independent congestion episodes that
  build a queue of 40-160 ms and drain it) and 1 % random loss in the *network* scenario;
  nothing in the others. It logs, per packet, when it got it and when it sent it (or that
  it dropped it): the ground truth of the network delay. 41300+i -> rtpengine.
- the relay is real **rtpengine 10.5** (userspace, ``--table=-1``, media ports
  41700-41799, ng control on 127.0.0.1:41990): this module sends it the ng ``offer`` and
  ``answer`` of one call per stream (what kamailio's rtpengine_manage would send), so it
  forwards netem -> rtpengine -> sink. In the *host* scenario the controller freezes it
  with SIGSTOP for 40-150 ms at random moments every 0.8-2 s and wakes it with SIGCONT
  (what a hypervisor does to a descheduled vCPU); the times are the ground truth.
- ``sink``: receives 41600+i (so the kernel sends no ICMP port unreachable).

Two dumpcap processes record the relay's ingress (dst ports 41700-41799) and egress
(dst ports 41600-41603) as two classic pcap files. ``NAME.truth.json`` holds the ground
truth: the stalls (epoch start [s], duration [ms]) and netem's per-packet log; a fresh run
(:func:`scenario`) also has ``netem_late``: [path, RTP seq, due, sent] (epoch [s]) of every
packet netem sent 2 ms or more after it was due - a stall of this machine, not of the relay.
"""
from __future__ import annotations

import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

NS = "lkj-jitter"
ADDR = "127.0.0.1"
N_STREAMS, PTIME, SECONDS = 4, 0.020, 8.0
SEND, NETEM_IN, NETEM_OUT, SINK = 41100, 41200, 41300, 41600
RTPE_PORTS, NG = (41700, 41799), ("127.0.0.1", 41990)
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "jitter"


def _sock(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((ADDR, port))
    return s


# ----------------------------------------------------------------- the processes
def send(seed: int) -> None:
    """4 streams of RTP, one packet per stream every 20 ms on an absolute schedule."""
    rng = random.Random(seed)
    socks = [_sock(SEND + i) for i in range(N_STREAMS)]
    ssrc = [rng.getrandbits(32) for _ in socks]
    seq0 = [rng.getrandbits(16) for _ in socks]
    ts0 = [rng.getrandbits(32) for _ in socks]
    t0 = time.monotonic() + 0.05
    for k in range(int(SECONDS / PTIME)):
        due = t0 + k * PTIME
        time.sleep(max(0.0, due - time.monotonic()))
        for i, s in enumerate(socks):
            hdr = struct.pack("!BBHII", 0x80, 18 | (0x80 if k == 0 else 0), (seq0[i] + k) & 0xFFFF,
                              (ts0[i] + 160 * k) & 0xFFFFFFFF, ssrc[i])
            s.sendto(hdr + bytes(20), (ADDR, NETEM_IN + i))


def _net_delays(rng: random.Random, n: int) -> list[float]:
    """Delay [s] of each of n packets on one path: base + noise + congestion episodes."""
    out, queue, k = [], 0.0, 0
    next_episode = rng.uniform(0.5, 2.0)
    while k < n:
        t = k * PTIME
        if t >= next_episode:
            queue = rng.uniform(0.040, 0.160)          # a queue builds up at once...
            next_episode = t + rng.uniform(0.8, 2.5)
        out.append(0.005 + rng.gammavariate(2.0, 0.0015) + queue)
        queue = max(0.0, queue - 0.012)                # ...and drains 12 ms per 20 ms
        k += 1
    return out


def netem(mode: str, seed: int, log_path: str, dests: list[int]) -> None:
    """Forward 41200+i -> dests[i] with per-path delay/loss (mode 'network') or none."""
    rng = random.Random(seed)
    ins = [_sock(NETEM_IN + i) for i in range(N_STREAMS)]
    outs = [_sock(NETEM_OUT + i) for i in range(N_STREAMS)]
    n = int(SECONDS / PTIME) + 10
    delays = [_net_delays(random.Random(seed * 100 + i), n) for i in range(N_STREAMS)]
    count = [0] * N_STREAMS
    last_out = [0.0] * N_STREAMS
    heap: list = []
    log: list = []
    late: list = []   # [path, seq, due, sent] sent >= 2 ms late: this machine stalled netem
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        now = time.time()
        while heap and heap[0][0] <= now:
            due, i, data, got = heapq.heappop(heap)
            before = time.time()
            outs[i].sendto(data, (ADDR, dests[i]))
            log.append([i, struct.unpack("!H", data[2:4])[0], got, before, time.time()])
            if before - due >= 0.002:
                late.append([i, log[-1][1], due, before])
        timeout = max(0.0, heap[0][0] - time.time()) if heap else 0.05
        ready, _, _ = select.select(ins, [], [], timeout)
        for s in ready:
            i = ins.index(s)
            data = s.recv(2048)
            got = time.time()
            k = count[i]
            count[i] += 1
            if mode == "network" and rng.random() < 0.01:
                log.append([i, struct.unpack("!H", data[2:4])[0], got, None, None])
                continue
            d = delays[i][min(k, n - 1)] if mode == "network" else 0.0
            due = max(got + d, last_out[i] + 0.0002)   # FIFO per path, 0.2 ms per packet
            last_out[i] = due
            heapq.heappush(heap, (due, i, data, got))
    Path(log_path).with_suffix(".late.json").write_text(json.dumps(late))
    Path(log_path).write_text(json.dumps(log))


def _bencode(x) -> bytes:
    if isinstance(x, dict):
        return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in sorted(x.items())) + b"e"
    if isinstance(x, list):
        return b"l" + b"".join(_bencode(v) for v in x) + b"e"
    if isinstance(x, int):
        return b"i%de" % x
    x = x.encode() if isinstance(x, str) else x
    return b"%d:%s" % (len(x), x)


def _bdecode(b: bytes, i: int = 0):
    c = b[i:i + 1]
    if c == b"d" or c == b"l":
        i += 1
        out: list = []
        while b[i:i + 1] != b"e":
            v, i = _bdecode(b, i)
            out.append(v)
        return (dict(zip(out[::2], out[1::2])) if c == b"d" else out), i + 1
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n].decode(), j + 1 + n


def _ng(command: dict) -> dict:
    """One rtpengine ng command over UDP (cookie + bencoded dict), its decoded reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        cookie = f"lkj{random.getrandbits(32):08x}"
        s.sendto(cookie.encode() + b" " + _bencode(command), NG)
        reply = s.recv(65535)
    res, _ = _bdecode(reply[reply.index(b" ") + 1:])
    if res.get("result") != "ok":
        raise RuntimeError(f"rtpengine {command['command']}: {res}")
    return res


def _sdp(port: int, sess: int) -> str:
    return (f"v=0\r\no=- {sess} 1 IN IP4 {ADDR}\r\ns=-\r\nc=IN IP4 {ADDR}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendrecv\r\n")


def _media_port(sdp: str) -> int:
    return int(next(l for l in sdp.splitlines() if l.startswith("m=audio")).split()[1])


def rtpengine_calls() -> list[int]:
    """One call per stream through rtpengine; returns the port netem must send stream i to."""
    ports = []
    for i in range(N_STREAMS):
        call = dict(**{"call-id": f"lkj-jitter-{i}", "from-tag": f"a{i}"})
        _ng({"command": "offer", **call, "sdp": _sdp(NETEM_OUT + i, 1000 + i)})
        ans = _ng({"command": "answer", **call, "to-tag": f"b{i}", "sdp": _sdp(SINK + i, 2000 + i)})
        ports.append(_media_port(ans["sdp"]))   # the answer as A gets it: where A sends
    return ports


def sink() -> None:
    socks = [_sock(SINK + i) for i in range(N_STREAMS)]
    while True:
        for s in select.select(socks, [], [])[0]:
            s.recv(2048)


# ----------------------------------------------------------------- the controller
def _ns(*cmd: str) -> list[str]:
    """Run in our namespace, bounded in time, at real-time priority (SCHED_FIFO 10): on a
    busy machine the sender and netem must not be descheduled themselves, or the "network"
    case would carry host stalls of this machine."""
    return ["ip", "netns", "exec", NS, "timeout", "-k", "2", "40", "chrt", "-f", "10", *cmd]


def _start(args: list[str], log) -> subprocess.Popen:
    return subprocess.Popen(_ns(*args), stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    """Stop our own process by PID (SIGTERM, then SIGKILL of its own group)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _stall_plan(seed: int) -> list[tuple[float, float]]:
    """(offset [s] after the sender starts, length [s]) of every host stall."""
    rng = random.Random(seed)
    plan, t = [], 1.0
    while t < SECONDS - 0.5:
        plan.append((t, rng.uniform(0.040, 0.150)))
        t += rng.uniform(0.8, 2.0)
    return plan


def scenario(name: str, mode: str, stalls: bool, seed: int, tmp: Path) -> dict:
    """Run one scenario; returns the ground truth (also written next to the captures)."""
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    procs: list[subprocess.Popen] = []
    truth: dict = {"scenario": name, "mode": mode, "streams": N_STREAMS, "ptime_ms": 20,
                   "stalls": [], "netem": []}
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        log = open(tmp / f"{name}.log", "wb")
        py = [sys.executable, "-m", "tools.jitterlab"]
        for leg, (lo, hi) in (("ingress", RTPE_PORTS), ("egress", (SINK, SINK + N_STREAMS - 1))):
            procs.append(_start(["dumpcap", "-q", "-P", "-i", "lo", "-f",
                                 f"udp dst portrange {lo}-{hi}",
                                 "-w", str(tmp / f"{name}_{leg}.pcap")], log))
        time.sleep(1.5)
        procs.append(_start([*py, "sink"], log))
        pidfile = tmp / "rtpengine.pid"
        procs.append(_start(["rtpengine", "--config-file=none", "--foreground", "--log-stderr",
                             "--table=-1", f"--interface={ADDR}", f"--listen-ng={NG[0]}:{NG[1]}",
                             f"--port-min={RTPE_PORTS[0]}", f"--port-max={RTPE_PORTS[1]}",
                             "--delete-delay=0", "--log-level=5", f"--pidfile={pidfile}"], log))
        for _ in range(50):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        rpid = int(pidfile.read_text().split()[0])
        dests = subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-m", "tools.jitterlab",
                                "calls"], capture_output=True, text=True, check=True, cwd=REPO)
        dests = json.loads(dests.stdout)
        truth["rtpengine_ports"] = dests
        net_log = tmp / f"{name}.netem.json"
        net_p = _start([*py, "netem", mode, str(seed), str(net_log), json.dumps(dests)], log)
        procs.append(net_p)
        time.sleep(0.5)
        sender = _start([*py, "send", str(seed)], log)
        t_start = time.time()
        for offset, length in (_stall_plan(seed) if stalls else []):
            time.sleep(max(0.0, t_start + offset - time.time()))
            if Path(f"/proc/{rpid}/comm").read_text().strip() != "rtpengine":
                raise RuntimeError("our rtpengine is gone: never signal a PID we did not start")
            os.kill(rpid, signal.SIGSTOP)
            t_stop = time.time()
            time.sleep(length)
            os.kill(rpid, signal.SIGCONT)
            truth["stalls"].append({"start": t_stop, "duration_ms": (time.time() - t_stop) * 1e3})
        sender.wait(timeout=SECONDS + 10)
        time.sleep(0.6)
        _stop(net_p)
        time.sleep(0.3)
        truth["netem"] = json.loads(net_log.read_text())
        truth["netem_late"] = json.loads(net_log.with_suffix(".late.json").read_text())
    finally:
        for p in reversed(procs):
            _stop(p)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    return truth


HOW_MADE = ("real software: rtpengine 10.5 (userspace) relaying RTP from a tools/jitterlab.py "
            "sender through a user-space netem, in network namespace lkj-jitter, captured by "
            "dumpcap; the RTP timing is real, the payload is not audio")

SCENARIOS = {
    "jitter_host": dict(mode="clean", stalls=True, seed=5,
                        what="The rtpengine process is frozen (SIGSTOP) for 40-150 ms every 0.8-2 s and "
                             "woken (SIGCONT): host stalls, the same moments on every stream; no network impairment."),
    "jitter_network": dict(mode="network", stalls=False, seed=7,
                           what="rtpengine is never paused; upstream of it each path has its own delay "
                                "process (5 ms + gamma noise + independent congestion episodes of "
                                "40-160 ms) and 1 % random loss: network jitter, independent per path."),
}


def main(argv: list[str] | None = None) -> int:
    if argv and argv[0] == "send":
        send(int(argv[1]))
        return 0
    if argv and argv[0] == "netem":
        netem(argv[1], int(argv[2]), argv[3], json.loads(argv[4]))
        return 0
    if argv and argv[0] == "calls":
        print(json.dumps(rtpengine_calls()))
        return 0
    if argv and argv[0] == "sink":
        sink()
        return 0
    if os.geteuid() != 0:
        raise SystemExit("tools.jitterlab needs root (network namespace, capture)")
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))   # SIGSTOP/SIGCONT on time
    names = argv or list(SCENARIOS)
    OUT.mkdir(parents=True, exist_ok=True)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="lkj-jitter-") as d:
        tmp = Path(d)
        os.chmod(tmp, 0o755)
        for name in names:
            spec = SCENARIOS[name]
            truth = scenario(name, spec["mode"], spec["stalls"], spec["seed"], tmp)
            truth["what"] = spec["what"]
            for leg in ("ingress", "egress"):
                (OUT / f"{name}_{leg}.pcap").write_bytes((tmp / f"{name}_{leg}.pcap").read_bytes())
            (OUT / f"{name}.truth.json").write_text(json.dumps(truth, separators=(",", ":")) + "\n")
            print(f"{name}: {len(truth['stalls'])} stalls, {len(truth['netem'])} netem records")
    write_manifest()
    return 0


def write_manifest() -> None:
    """data/jitter/MANIFEST.tsv: the captures and their ground truth, honestly described."""
    how = ("Real capture (dumpcap on the loopback of network namespace lkj-jitter) of real "
           "UDP traffic relayed by real rtpengine 10.5 (userspace, one call per stream set up "
           "with ng offer/answer): a sender of 4 RTP streams (tools/jitterlab.py; G.729 PT 18, "
           "20 ms, zero payload: the timing is real, the audio is not) -> a user-space netem "
           "-> rtpengine -> a sink. ")
    rows = ["name\tfile\tmade_by\tdescription"]
    for name, spec in SCENARIOS.items():
        made = f"python -m tools.jitterlab {name}"
        for leg, where in (("ingress", "the relay's ingress (netem -> rtpengine, dst ports 41700-41799)"),
                           ("egress", "the relay's egress (rtpengine -> sink, dst ports 41600-41603)")):
            rows.append(f"{name}_{leg}\t{name}_{leg}.pcap\t{made}\t{how}{spec['what']} "
                        f"This file: {where}. Ground truth in {name}.truth.json.")
        rows.append(f"{name}_truth\t{name}.truth.json\t{made}\tGround truth written by the tool "
                    f"that made {name}_ingress/_egress: 'stalls' (epoch start [s] of each SIGSTOP "
                    "of the relay, duration_ms until its SIGCONT) and 'netem' (per packet: path "
                    "0-3, RTP seq, epoch [s] netem received it, epoch [s] just before and just after its "
                    "sendto() or null, null = dropped); "
                    "'rtpengine_ports' (where netem sent stream i).")
    (OUT / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    from tools.manifest import add_how_made
    add_how_made(OUT / "MANIFEST.tsv", HOW_MADE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
