"""The lab scenarios: each runs real software and writes one capture (classic pcap).

Layout: one network namespace per host, all plugged into one bridge (tools.lab.sandbox),
the capture taken on the bridge br0 with a filter on our ports: alice 10.0.0.1:5060
(caller, A), bob 10.0.0.2:5060 (callee, B, auto-answer), kamailio + rtpengine on
10.0.0.10 where a scenario needs a proxy/relay. :func:`loopback_call` is the small
variant without namespaces used by the CI test.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

from tools.lab import audio, baresip, capture
from tools.lab import proxy as rtpe
from tools.lab.baresip import UA
from tools.lab.sandbox import Sandbox

A_ADDR, B_ADDR, PROXY_ADDR = "10.0.0.1", "10.0.0.2", "10.0.0.10"
BPF = "udp and (port 5060 or portrange 10000-10099 or portrange 30000-30199)"
TONE_S = 11.0    # [s] callee's tone file: bursts at 0-1, 5-6, 10-11 s; its end ends the call
SPEECH_S = 14.0  # [s] caller's file, longer than the tone so the callee hangs up first
CALLEE_TEXT = "This is the called party speaking. Six, seven, eight."


def _pair(codecs_a: str, codecs_b: str, src_a: Path, src_b: Path, rate: int) -> tuple[UA, UA]:
    alice = UA("alice", "alice", A_ADDR, 5060, (10000, 10019), codecs_a, src_a, rate)
    bob = UA("bob", "bob", B_ADDR, 5060, (10020, 10039), codecs_b, src_b, rate)
    return alice, bob


def call(out: Path, *, codecs_a: str, codecs_b: str, rate: int, src_a: str = "speech",
         src_b: str = "tone", wait_s: float = 16.0, proxy: dict | None = None,
         keep: bool = False) -> Path:
    """alice calls bob (through kamailio [+ rtpengine] when `proxy` is given); capture on br0.

    `proxy`: keyword arguments of :func:`tools.lab.proxy.kamailio_cfg` (rtpengine=True,
    body_subst="/regex/repl/", early_media_file=...).
    """
    hosts = {"alice": A_ADDR, "bob": B_ADDR} | ({"proxy": PROXY_ADDR} if proxy is not None else {})
    with Sandbox(hosts=hosts, keep=keep) as sb:
        files = {"speech": audio.write_wav(sb.dir / "speech.wav", audio.speech(rate, SPEECH_S), rate),
                 "tone": audio.write_wav(sb.dir / "ringback.wav", audio.ringback_tone(rate, TONE_S), rate),
                 "silence": audio.write_wav(sb.dir / "silence.wav", audio.silence(rate, SPEECH_S), rate)}
        alice, bob = _pair(codecs_a, codecs_b, files[src_a], files[src_b], rate)
        cap = capture.start_dumpcap(sb, out, BPF, iface="br0", budget=wait_s + 20)
        target = bob.aor
        if proxy is not None:
            if proxy.get("rtpengine"):
                rtpe.start_rtpengine(sb, "proxy", PROXY_ADDR, budget=wait_s + 15)
            cfg = rtpe.kamailio_cfg(PROXY_ADDR, B_ADDR, **proxy)
            rtpe.start_kamailio(sb, "proxy", cfg, budget=wait_s + 15)
            target = f"sip:bob@{PROXY_ADDR}:5060"
        b = baresip.start(sb, bob, seconds=wait_s + 2)
        a = baresip.start(sb, alice, seconds=wait_s, dial=target)
        _wait_call_end(sb, ["alice", "bob"], wait_s)
        capture.stop_dumpcap(sb, cap)
        for p in (a, b):
            sb.stop(p)
    return out


def _wait_call_end(sb: Sandbox, names: list[str], wait_s: float) -> None:
    """Sleep-poll until a UA logs the call's end (or `wait_s` [s] pass), then 1 s for BYE/200."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        logs = " ".join(sb.log(n) for n in names)
        if "terminated" in logs or "Call closed" in logs or "session closed" in logs:
            time.sleep(1.0)
            return
        time.sleep(0.2)


def early_media_call(out: Path, *, early_s: float = 6.5, keep: bool = False) -> Path:
    """PCMA call via kamailio + rtpengine; bob answers 183 (early), rtpengine plays the
    ringback file to alice until bob's 200 (sent `early_s` [s] later via /accept)."""
    rate = 8000
    hosts = {"alice": A_ADDR, "bob": B_ADDR, "proxy": PROXY_ADDR}
    with Sandbox(hosts=hosts, keep=keep) as sb:
        tone48 = audio.write_wav(sb.dir / "ringback48k.wav", audio.ringback_tone(48000, TONE_S), 48000)
        quiet = audio.write_wav(sb.dir / "silence.wav", audio.silence(rate, 20.0), rate)
        callee = audio.write_wav(sb.dir / "callee.wav", audio.speech(rate, 6.0, CALLEE_TEXT), rate)
        alice = UA("alice", "alice", A_ADDR, 5060, (10000, 10019), "PCMA/8000/1", quiet, rate)
        bob = UA("bob", "bob", B_ADDR, 5060, (10020, 10039), "PCMA/8000/1", callee, rate,
                 answermode="early", cons_port=5555)
        wait_s = early_s + 10
        cap = capture.start_dumpcap(sb, out, BPF, iface="br0", budget=wait_s + 20)
        rtpe.start_rtpengine(sb, "proxy", PROXY_ADDR, budget=wait_s + 15)
        cfg = rtpe.kamailio_cfg(PROXY_ADDR, B_ADDR, rtpengine=True, early_media_file=str(tone48))
        rtpe.start_kamailio(sb, "proxy", cfg, budget=wait_s + 15)
        b = baresip.start(sb, bob, seconds=wait_s + 2)
        a = baresip.start(sb, alice, seconds=wait_s, dial=f"sip:bob@{PROXY_ADDR}:5060")
        time.sleep(early_s)
        baresip.command(sb, bob, "/accept")
        _wait_call_end(sb, ["alice", "bob"], wait_s - early_s)
        capture.stop_dumpcap(sb, cap)
        for p in (a, b):
            sb.stop(p)
    return out


STALL_PERIOD_S, STALL_S = 1.5, 0.080  # [s] rtpengine frozen for 80 ms every 1.5 s


def _stall_loop(pidfile: Path, stop: threading.Event, log: list[float]) -> None:
    """SIGSTOP/SIGCONT the rtpengine process (our own, PID from its pidfile) periodically."""
    pid = int(pidfile.read_text().split()[0])
    comm = Path(f"/proc/{pid}/comm")
    while not stop.wait(STALL_PERIOD_S - STALL_S):
        if not comm.exists() or comm.read_text().strip() != "rtpengine":
            return  # our rtpengine is gone: never signal a PID we did not start
        os.kill(pid, signal.SIGSTOP)
        log.append(time.time())
        time.sleep(STALL_S)
        os.kill(pid, signal.SIGCONT)


def relay_stall_calls(out: Path, *, keep: bool = False) -> tuple[Path, list[float]]:
    """Two simultaneous AMR-WB calls (alice->bob, carol->dave) relayed by rtpengine, which is
    frozen (SIGSTOP) for 80 ms every 1.5 s while both calls run.
    Returns (out, epoch times [s] of every SIGSTOP)."""
    rate, wait_s = 16000, 16.0
    hosts = {"alice": A_ADDR, "bob": B_ADDR, "carol": "10.0.0.3", "dave": "10.0.0.4", "proxy": PROXY_ADDR}
    stalls: list[float] = []
    stop = threading.Event()
    with Sandbox(hosts=hosts, keep=keep) as sb:
        speech = audio.write_wav(sb.dir / "speech.wav", audio.speech(rate, SPEECH_S), rate)
        tone = audio.write_wav(sb.dir / "ringback.wav", audio.ringback_tone(rate, TONE_S), rate)
        wb = "AMR-WB/16000/1"
        uas = [UA("alice", "alice", A_ADDR, 5060, (10000, 10019), wb, speech, rate),
               UA("bob", "bob", B_ADDR, 5060, (10020, 10039), wb, tone, rate),
               UA("carol", "carol", "10.0.0.3", 5060, (10040, 10059), wb, speech, rate),
               UA("dave", "dave", "10.0.0.4", 5060, (10060, 10079), wb, tone, rate)]
        cap = capture.start_dumpcap(sb, out, BPF, iface="br0", budget=wait_s + 20)
        rtpe.start_rtpengine(sb, "proxy", PROXY_ADDR, budget=wait_s + 15)
        cfg = rtpe.kamailio_cfg(PROXY_ADDR, B_ADDR, rtpengine=True, routes={"dave": "10.0.0.4"})
        rtpe.start_kamailio(sb, "proxy", cfg, budget=wait_s + 15)
        procs = [baresip.start(sb, uas[1], seconds=wait_s + 2), baresip.start(sb, uas[3], seconds=wait_s + 2),
                 baresip.start(sb, uas[0], seconds=wait_s, dial=f"sip:bob@{PROXY_ADDR}:5060"),
                 baresip.start(sb, uas[2], seconds=wait_s, dial=f"sip:dave@{PROXY_ADDR}:5060")]
        time.sleep(1.0)  # both calls set up before the first stall
        stall = threading.Thread(target=_stall_loop, args=(sb.dir / "rtpengine.pid", stop, stalls))
        stall.start()
        try:
            _wait_call_end(sb, ["bob", "dave"], wait_s)
        finally:
            stop.set()
            stall.join()
        capture.stop_dumpcap(sb, cap)
        for p in procs:
            sb.stop(p)
    return out, stalls


def free_udp_base(count: int = 40, start: int = 20000, stop: int = 60000, addr: str = "127.0.0.1") -> int:
    """First port p (step 100) with UDP p..p+count-1 all free on `addr`."""
    for base in range(start, stop, 100):
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((addr, port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {count} free UDP ports on {addr}")


def loopback_call(out: Path, *, seconds: float = 3.0, codecs: str = "AMR-WB/16000/1",
                  rate: int = 16000) -> list:
    """Short real call on the host loopback (no namespaces): alice 127.0.0.1:BASE calls bob
    127.0.0.1:BASE+2, bob plays `seconds` [s] of ringback and hangs up. Capture on lo.
    Returns the sandbox's processes (all stopped) so a test can check nothing is left."""
    base = free_udp_base()
    with Sandbox() as sb:
        tone = audio.write_wav(sb.dir / "ringback.wav", audio.ringback_tone(rate, seconds), rate)
        quiet = audio.write_wav(sb.dir / "silence.wav", audio.silence(rate, seconds + 5), rate)
        alice = UA("alice", "alice", "127.0.0.1", base, (base + 10, base + 19), codecs, quiet, rate)
        bob = UA("bob", "bob", "127.0.0.1", base + 2, (base + 20, base + 29), codecs, tone, rate)
        bpf = f"udp and host 127.0.0.1 and portrange {base}-{base + 29}"
        wait_s = seconds + 6
        cap = capture.start_dumpcap(sb, out, bpf, iface="lo", budget=wait_s + 10)
        b = baresip.start(sb, bob, seconds=wait_s + 2)
        a = baresip.start(sb, alice, seconds=wait_s, dial=bob.aor)
        _wait_call_end(sb, ["alice", "bob"], wait_s)
        capture.stop_dumpcap(sb, cap)
        for p in (a, b):
            sb.stop(p)
        procs = [p for _, p in sb.procs]
    return procs
