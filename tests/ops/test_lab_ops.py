"""Real software on loopback: kamailio 5.6 siptrace (HEP3) and xhttp_prom, SIPp, sngrep 1.6,
Prometheus 2.42, dumpcap; npm hep-js as an independent HEP3 decoder.

Oracles: the SIP datagrams dumpcap saw on the wire; sngrep's own HEP receiver; tshark's
SIP dissector; hep-js's decoder; kamailio's counters against the capture. Every daemon is
started by the test and stopped by PID (tools.ops.procs); skipped when a program is
missing or without root (dumpcap on lo).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.ops import procs  # noqa: E402

from labkit.capture import iter_frames, read_capture  # noqa: E402
from labkit.ops import collector, hep, metrics  # noqa: E402
from labkit.sip import sip_messages  # noqa: E402

HEPJS = REPO / "tools" / "hepjs"
pytestmark = pytest.mark.lab


def _need(*exes):
    missing = procs.have(*exes)
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (tools/setup.sh installs them)")
    if "dumpcap" in exes and os.geteuid() != 0:
        pytest.skip("dumpcap on lo needs root")


@pytest.fixture(scope="module")
def burst(tmp_path_factory):
    _need("kamailio", "sipp", "dumpcap", "prometheus", "sngrep", "tshark")
    from tools.ops.burst import replay_to_sngrep, run_burst
    work = tmp_path_factory.mktemp("lko_burst")
    b = run_burst(work, calls=4, registers=3, busy=2, rate=5, call_ms=300, idle=1.5)
    b.sngrep = work / "sngrep.pcap"
    b.n_replayed = replay_to_sngrep(b, b.sngrep)
    return b


def _udp_payloads_times(path):
    return [(f.time_ns, f.data[42:]) for f in iter_frames(path)]   # Ethernet+IPv4+UDP


def test_collector_got_every_sip_message_kamailio_handled(burst):
    assert burst.sipp_codes == {"uac": 0, "register": 0, "busy": 0}
    pk = read_capture(burst.capture)
    sip_port, hep_port = burst.ports["sip"], burst.ports["hep"]
    dport = np.asarray(pk.dport)
    at_kam = ((np.asarray(pk.sport) == sip_port) | (dport == sip_port)) & (dport != hep_port)
    wire = Counter(pk.payload(int(i)) for i in np.flatnonzero(at_kam))
    got = Counter(p for _, p in _udp_payloads_times(burst.hep_capture))
    assert burst.hep_summary["refused"] == 0 and burst.hep_summary["problems"] == {}
    assert got == wire                          # every message in and out, byte for byte
    # and labkit's collector got exactly the datagrams dumpcap saw going to it
    assert burst.hep_summary["received"] == int((np.asarray(pk.dport) == hep_port).sum())
    table = collector.read_side_table(burst.hep_capture)
    assert set(table["capture_id"]) == {2001}   # hep_capture_id in the kamailio script


def test_sngrep_and_labkit_hold_the_same_sip_and_timestamps(burst):
    ours = _udp_payloads_times(burst.hep_capture)
    theirs = _udp_payloads_times(burst.sngrep)
    assert burst.n_replayed == len(ours) > 20
    # sngrep writes microsecond pcap, HEP carries microseconds: equal to the microsecond
    assert sorted(theirs) == sorted(ours)
    fields = ["-T", "fields", "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e", "sip.CSeq",
              "-e", "sip.Status-Code"]

    def tshark(path):
        r = subprocess.run(["tshark", "-r", str(path), "-Y", "sip", *fields],
                           capture_output=True, text=True, check=True)
        return sorted(r.stdout.splitlines())
    assert tshark(burst.hep_capture) == tshark(burst.sngrep)


def test_kamailio_counters_equal_the_capture_over_the_burst(burst):
    samples = metrics.read_metrics(burst.scrapes)
    deltas = {n: v for (n, _), v in metrics.counter_deltas(samples).items()}
    msgs = sip_messages(read_capture(burst.capture))
    counts = metrics.capture_counts(msgs, "127.0.0.1", burst.ports["sip"])
    # what SIPp was told to do: 4 calls + 2 busy INVITEs, 3 REGISTERs, 4 BYEs
    assert counts["kamailio_core_rcv_requests_invite"] == 6
    assert counts["kamailio_core_rcv_requests_register"] == 3
    assert counts["kamailio_core_rcv_requests_bye"] == 4
    for name in ("kamailio_core_rcv_requests_invite", "kamailio_core_rcv_requests_register",
                 "kamailio_core_rcv_requests_ack", "kamailio_core_rcv_requests_bye",
                 "kamailio_core_rcv_replies_18x", "kamailio_core_rcv_replies_2xx",
                 "kamailio_core_rcv_replies_2xx_invite", "kamailio_core_rcv_replies_2xx_bye"):
        assert deltas[name] == counts[name], name
    # the scrapes themselves are HTTP requests kamailio counts in the total
    assert deltas["kamailio_core_rcv_requests"] > counts["kamailio_core_rcv_requests"]
    table = metrics.compare_counts(deltas, counts)
    assert (table["difference"] != 0).sum() == 1


def test_prometheus_range_query_equals_the_direct_scrapes(burst):
    direct = metrics.read_metrics(burst.scrapes)
    doc = json.loads(burst.prometheus.read_text())
    for name in ("kamailio_core_rcv_requests_invite", "kamailio_core_rcv_requests_register",
                 "kamailio_core_rcv_replies_2xx"):
        prom = metrics.parse_query_range(doc[name])
        assert len(prom) >= 3, name
        seen = direct[direct["name"] == name].sort_values("timestamp")["value"]
        assert prom["value"].iloc[0] == seen.iloc[0] == 0
        assert prom["value"].iloc[-1] == seen.iloc[-1]
        assert prom["value"].is_monotonic_increasing


def _node():
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    if not (HEPJS / "node_modules" / "hep-js").is_dir():
        pytest.skip("npm hep-js not installed (tools/setup.sh: npm install in tools/hepjs)")


def _receive(port: int, n: int, out: list):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        s.settimeout(10)
        while len(out) < n:
            out.append(s.recv(65535))


def test_hepjs_decodes_what_labkit_hep_send_writes():
    _node()
    src = REPO / "data" / "lab" / "relay_rtpengine.pcap"
    pk = read_capture(src)
    sent = hep.packets_to_hep(pk, capture_id=77, node_name=b"lko-node")
    port = procs.free_port()
    got: list = []
    t = threading.Thread(target=_receive, args=(port, len(sent), got))
    t.start()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "labkit.cli", "hep", "send", str(src),
                    f"udp:127.0.0.1:{port}", "--capture-id", "77", "--node-name", "lko-node"],
                   env=env, check=True, capture_output=True)
    t.join(15)
    r = subprocess.run(["node", str(Path(__file__).with_name("hepjs_decode.js"))],
                       input="\n".join(d.hex() for d in got), capture_output=True, text=True,
                       check=True, env=dict(os.environ, HEPJS_DIR=str(HEPJS)))
    decoded = [json.loads(line) for line in r.stdout.splitlines()]
    msgs = sip_messages(pk)
    assert len(decoded) == len(msgs) == 13
    for d, (_, m) in zip(decoded, msgs.iterrows()):
        rc = d["rcinfo"]
        sec, ns = divmod(int(m["time_ns"]), 1_000_000_000)
        assert (rc["srcIp"], rc["srcPort"], rc["dstIp"], rc["dstPort"]) == (
            m["src"], m["sport"], m["dst"], m["dport"])
        assert (rc["timeSeconds"], rc["timeUseconds"]) == (sec, ns // 1000)
        assert (rc["protocolFamily"], rc["protocol"], rc["payloadType"]) == (2, 17, 1)
        assert (rc["captureId"], rc["hepNodeName"]) == (77, "lko-node")
    # the payload: hep-js's string is the SIP message the capture holds in that frame
    row = {int(f): i for i, f in enumerate(np.asarray(pk.frame))}
    assert [d["payload"] for d in decoded] == [pk.payload(row[int(f)]).decode("utf-8")
                                               for f in msgs["frame"]]


def test_sngrep_receives_what_labkit_hep_send_writes(tmp_path):
    _need("sngrep", "tshark")
    src = REPO / "data" / "lab" / "relay_rtpengine.pcap"
    port = procs.free_port()
    out = tmp_path / "sngrep.pcap"
    sng = procs.start_sngrep(out, port, tmp_path)
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-m", "labkit.cli", "hep", "send", str(src),
                        f"udp:127.0.0.1:{port}"], env=env, check=True, capture_output=True)
        procs.wait_for(lambda: out.exists() and out.stat().st_size > 24 * 13, 10, "sngrep")
    finally:
        procs.stop(sng)

    def lines(path):
        r = subprocess.run(["tshark", "-r", str(path), "-Y", "sip", "-T", "fields", "-e",
                            "frame.time_epoch", "-e", "ip.src", "-e", "udp.srcport", "-e",
                            "sip.Call-ID", "-e", "sip.CSeq", "-e", "sip.Status-Code"],
                           capture_output=True, text=True, check=True)
        return r.stdout.splitlines()
    assert lines(out) == lines(src) and len(lines(src)) == 13
