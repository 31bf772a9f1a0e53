"""One real burst on loopback: SIPp calls, REGISTERs and busy calls through kamailio 5.6,
with kamailio's siptrace sending HEP3 to labkit's collector, dumpcap capturing, kamailio's
/metrics scraped every `scrape_every` seconds, and optionally Prometheus scraping it too.

Everything is started here as child processes and stopped by PID (tools.ops.procs).
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.ops import procs

QUERIES = ("kamailio_core_rcv_requests_invite", "kamailio_core_rcv_requests_register",
           "kamailio_core_rcv_requests_ack", "kamailio_core_rcv_requests_bye",
           "kamailio_core_rcv_requests", "kamailio_core_rcv_replies_18x",
           "kamailio_core_rcv_replies_2xx", "kamailio_sl_4xx_replies",
           "kamailio_sl_200_replies")


@dataclass
class Burst:
    workdir: Path
    ports: dict
    capture: Path            # dumpcap: SIP on loopback + the HEP datagrams kamailio sent
    hep_capture: Path        # labkit's collector output (pcapng + .hep.tsv)
    scrapes: Path            # every /metrics body, appended (timestamps in each sample)
    prometheus: Path | None  # {query: query_range JSON}
    window: tuple = (0.0, 0.0)
    hep_summary: dict = field(default_factory=dict)
    sipp_codes: dict = field(default_factory=dict)


def _scraper(url: str, out: Path, every: float, stop: threading.Event):
    with open(out, "w", encoding="utf-8") as fh:
        n = 0
        while not stop.is_set():
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            n += 1
            fh.write(f"# scrape {n}\n{body.rstrip()}\n")
            fh.flush()
            stop.wait(every)


def run_burst(workdir: Path, *, calls: int = 10, registers: int = 6, busy: int = 3,
              rate: float = 4, call_ms: int = 800, scrape_every: float = 0.5,
              prometheus: bool = True, idle: float = 2.0) -> Burst:
    """Run the burst; every daemon is stopped before this returns."""
    from labkit.ops.collector import HepCollector
    workdir.mkdir(parents=True, exist_ok=True)
    names = ("sip", "http", "hep", "uas", "uac", "prom")
    ports = {n: procs.free_port() for n in names}
    b = Burst(workdir, ports, workdir / "burst.pcapng", workdir / "hep.pcapng",
              workdir / "metrics.prom", workdir / "prometheus.json" if prometheus else None)
    collector = HepCollector(f"udp:127.0.0.1:{ports['hep']}", b.hep_capture)
    col_thread = threading.Thread(target=collector.run, daemon=True)
    col_thread.start()
    started, stop_scrape = [], threading.Event()
    try:
        started.append(procs.start_dumpcap(b.capture, [ports[n] for n in
                                                        ("sip", "uas", "uac", "hep")], workdir))
        cfg = procs.kamailio_cfg(ports["sip"], ports["http"], ports["hep"], ports["uas"])
        started.append(procs.start_kamailio(workdir / "kamailio", cfg, ports["http"]))
        started.append(procs.start_uas(workdir, ports["uas"]))
        if prometheus:
            started.append(procs.start_prometheus(workdir / "prometheus", ports["prom"],
                                                  ports["http"]))
        url = f"http://127.0.0.1:{ports['http']}/metrics"
        scr = threading.Thread(target=_scraper, args=(url, b.scrapes, scrape_every,
                                                      stop_scrape), daemon=True)
        t0 = time.time()
        scr.start()
        time.sleep(idle)
        for scenario, n in (("uac", calls), ("register", registers), ("busy", busy)):
            if n:
                r = procs.run_uac(workdir, ports["sip"], ports["uac"], scenario=scenario,
                                  calls=n, rate=rate, duration_ms=call_ms)
                b.sipp_codes[scenario] = r.returncode
        time.sleep(idle)
        stop_scrape.set()
        scr.join(10)
        t1 = time.time()
        b.window = (t0, t1)
        if prometheus:
            time.sleep(1.5)   # one more Prometheus scrape after the burst
            b.prometheus.write_text(json.dumps(_queries(ports["prom"], t0, t1 + 1), indent=0))
    finally:
        stop_scrape.set()
        for proc in reversed(started):
            procs.stop(proc)
        collector.stop()
        col_thread.join(10)
    b.hep_summary = collector.summary()
    return b


def _queries(prom_port: int, t0: float, t1: float) -> dict:
    from labkit.ops.metrics import query_range
    base = f"http://127.0.0.1:{prom_port}"
    return {q: query_range(base, q, t0, t1, 1.0) for q in QUERIES}


def replay_to_sngrep(burst: Burst, out: Path) -> int:
    """Send the HEP datagrams kamailio sent (bytes from the dumpcap capture, unchanged,
    in order) to sngrep -L; sngrep writes `out`. Returns the number of datagrams."""
    import socket

    import numpy as np

    from labkit.capture import read_capture
    pk = read_capture(burst.capture)
    rows = np.flatnonzero(np.asarray(pk.dport) == burst.ports["hep"])
    port = procs.free_port()
    sng = procs.start_sngrep(out, port, burst.workdir)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in rows:
                s.sendto(pk.payload(int(i)), ("127.0.0.1", port))
                time.sleep(0.002)
        time.sleep(1.0)
    finally:
        procs.stop(sng)
    return len(rows)
