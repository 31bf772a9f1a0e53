"""Record data/ops: one real burst through kamailio 5.6 (python -m tools.ops.record).

Needs kamailio (with siptrace, xhttp, xhttp_prom), sip-tester (sipp), sngrep, prometheus
and dumpcap; runs on loopback, as root for dumpcap on lo. Writes, under data/ops:

- kamailio_burst.pcapng: dumpcap on lo: the SIP between SIPp and kamailio, and the HEP3
  datagrams kamailio's siptrace sent (UDP to the collector port);
- hep_kamailio.pcapng + hep_kamailio.hep.tsv: what labkit's collector (labkit.ops.hep)
  received live from kamailio;
- hep_kamailio_sngrep.pcap: what sngrep 1.6 (-L) wrote when kamailio's HEP datagrams
  were sent to it byte for byte from kamailio_burst.pcapng;
- kamailio_metrics.prom: every /metrics body scraped every 0.5 s during the burst;
- prometheus_range.json: Prometheus 2.42's /api/v1/query_range answers for the burst.
"""
from __future__ import annotations

from tools.manifest import add_how_made
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "ops"


def _version(argv) -> str:
    r = subprocess.run(argv, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0]


def main() -> int:
    if "--manifest" in sys.argv:   # rewrite MANIFEST.tsv only (from ports.json and the files)
        from labkit.ops.collector import read_side_table
        t = read_side_table(OUT / "hep_kamailio.hep.tsv")
        write_manifest({"received": len(t), "refused": 0})
        return 0
    sys.path.insert(0, str(REPO))
    from tools.ops.burst import replay_to_sngrep, run_burst
    with tempfile.TemporaryDirectory(prefix="lko_record_") as tmp:
        work = Path(tmp)
        b = run_burst(work, calls=10, registers=6, busy=3, rate=4)
        n = replay_to_sngrep(b, work / "sngrep.pcap")
        OUT.mkdir(parents=True, exist_ok=True)
        shutil.copy(b.capture, OUT / "kamailio_burst.pcapng")
        shutil.copy(b.hep_capture, OUT / "hep_kamailio.pcapng")
        shutil.copy(b.hep_capture.with_name("hep.hep.tsv"), OUT / "hep_kamailio.hep.tsv")
        shutil.copy(work / "sngrep.pcap", OUT / "hep_kamailio_sngrep.pcap")
        shutil.copy(b.scrapes, OUT / "kamailio_metrics.prom")
        shutil.copy(b.prometheus, OUT / "prometheus_range.json")
        (OUT / "ports.json").write_text(json.dumps(
            {"ports": b.ports, "window": b.window, "hep_datagrams": n,
             "versions": {"kamailio": _version(["kamailio", "-v"]),
                          "sipp": _version(["sipp", "-v"]),
                          "sngrep": _version(["sngrep", "-V"]),
                          "prometheus": _version(["prometheus", "--version"])}},
            indent=1) + "\n")
    write_manifest(b.hep_summary)
    print(json.dumps(b.hep_summary, indent=1))
    print((OUT / "ports.json").read_text())
    return 0


def _sip_count(path: Path) -> int:
    r = subprocess.run(["tshark", "-r", str(path), "-Y", "sip"], capture_output=True, text=True)
    return len(r.stdout.splitlines())


def write_manifest(hep_summary: dict) -> None:
    meta = json.loads((OUT / "ports.json").read_text())
    v, p = meta["versions"], meta["ports"]
    kam = v["kamailio"].replace("version: ", "").split(" (")[0]
    burst = (f"Real burst on loopback: {v['sipp'].split('-')[0]} sends 10 calls (built-in "
             f"uac, 0.8 s each), 6 REGISTERs and 3 INVITEs to user busy, 4 per second, to "
             f"{kam} at 127.0.0.1:{p['sip']} (200 to REGISTER, 486 for busy, others relayed "
             f"to the SIPp uas at port {p['uas']}); siptrace sends every SIP message as HEP3 "
             f"(capture id 2001) to 127.0.0.1:{p['hep']}; xhttp_prom /metrics on TCP "
             f"{p['http']}.")
    cmd = "python -m tools.ops.record"
    rows = [
        ("kamailio_burst", "kamailio_burst.pcapng", cmd,
         f"{burst} dumpcap on lo (ports {p['sip']}, {p['uas']}, {p['uac']}, {p['hep']}): "
         f"tshark -Y sip: {_sip_count(OUT / 'kamailio_burst.pcapng')} SIP messages, plus "
         f"{meta['hep_datagrams']} HEP3 datagrams kamailio sent to port {p['hep']}."),
        ("hep_kamailio", "hep_kamailio.pcapng", cmd,
         f"What labkit's HEP collector (labkit.ops.collector.HepCollector) received live from "
         f"kamailio's siptrace during the burst: {hep_summary['received']} HEP3 packets, "
         f"{hep_summary['refused']} refused; rebuilt as Ethernet/IPv4/UDP frames at HEP's "
         f"timestamps (tshark -Y sip: {_sip_count(OUT / 'hep_kamailio.pcapng')})."),
        ("hep_kamailio_table", "hep_kamailio.hep.tsv", cmd,
         "The collector's side table for hep_kamailio: one row per HEP packet (frame, "
         "capture id, node name, correlation id, vendor chunks, problems)."),
        ("hep_kamailio_sngrep", "hep_kamailio_sngrep.pcap", cmd,
         f"What {v['sngrep'].replace(' - ', ' ')} (-N -q -L udp -O) wrote when the "
         f"{meta['hep_datagrams']} HEP3 datagrams kamailio sent (bytes from kamailio_burst) "
         f"were sent to it in order (tshark -Y sip: "
         f"{_sip_count(OUT / 'hep_kamailio_sngrep.pcap')})."),
        ("kamailio_metrics", "kamailio_metrics.prom", cmd,
         f"Every /metrics body of {kam} xhttp_prom (xhttp_prom_stats all), scraped every "
         "0.5 s during the burst and appended (# scrape N comments); each sample carries "
         "kamailio's timestamp [ms]."),
        ("prometheus_range", "prometheus_range.json", cmd,
         f"{v['prometheus'].split(' (')[0]} scraping the same kamailio every 1 s "
         "(honor_timestamps false): /api/v1/query_range answers (step 1 s) over the burst, "
         "one per query, as {query: response}."),
        ("ops_ports", "ports.json", cmd,
         "Ports, time window [s since the epoch] and program versions of the recording."),
    ]
    lines = ["name\tfile\tmade_by\tdescription"] + ["\t".join(r) for r in rows]
    (OUT / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    add_how_made(OUT / "MANIFEST.tsv", "real software: kamailio 5.6.3 (siptrace HEP3, xhttp_prom), SIPp 3.6, "
                 "sngrep 1.6 and Prometheus 2.42 on loopback, captured by dumpcap")


if __name__ == "__main__":
    sys.exit(main())
