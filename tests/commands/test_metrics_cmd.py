"""`labkit metrics` and `labkit hep` commands: text and --json carry the same facts.

Oracles: the last scrape's lines read as plain text; tshark's count of INVITEs reaching
kamailio in the capture; a Prometheus-shaped JSON served from the recorded answer.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labkit import data
from labkit.cli import main

SCRAPES = data.path("kamailio_metrics")
BURST = data.path("kamailio_burst")


def _last_value(name: str) -> float:
    """The value in the last scrape's `name` line (plain text, no parser)."""
    lines = [ln for ln in SCRAPES.read_text().splitlines() if ln.startswith(name + " ")]
    return float(lines[-1].split()[1])


def _run(capsys, *argv):
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.requires_tshark
def test_metrics_text_and_json_agree_with_the_scrape_and_tshark(capsys):
    argv = ["metrics", str(SCRAPES), "--match", "^kamailio_core_rcv_requests_invite$",
            "--capture", str(BURST)]
    text = _run(capsys, *argv)
    doc = json.loads(_run(capsys, *argv, "--json"))
    invites = _last_value("kamailio_core_rcv_requests_invite")
    assert doc["series"][0]["value"] == invites
    assert f"kamailio_core_rcv_requests_invite {invites:g}" in text
    out = subprocess.run(["tshark", "-r", str(BURST), "-Y",
                          'sip.Method == "INVITE" && udp.dstport == 47200'],
                         capture_output=True, text=True, check=True).stdout
    row = doc["comparison"][0]
    assert row["capture"] == len(out.splitlines()) == row["kamailio"]
    assert doc["kamailio"] == "127.0.0.1:47200"
    assert f"{row['metric']:42s} {row['kamailio']:8d} {row['capture']:8d}" in text


def test_metrics_bad_body_and_unreachable(tmp_path, capsys):
    bad = tmp_path / "m.prom"
    bad.write_text("kamailio_ok 1\nthis is { not metrics\n")
    assert main(["metrics", str(bad)]) == 2
    assert "m.prom, line 2: not Prometheus text format" in capsys.readouterr().err
    html = tmp_path / "page.html"
    html.write_text("<html><body>Grafana</body></html>\n")
    assert main(["metrics", str(html)]) == 2
    assert "not Prometheus text format" in capsys.readouterr().err
    assert main(["metrics", "http://127.0.0.1:9/metrics"]) == 2
    assert "http://127.0.0.1:9/metrics: not reachable" in capsys.readouterr().err


class _Prom(BaseHTTPRequestHandler):
    answers: dict = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        from urllib.parse import parse_qs, urlparse
        q = parse_qs(urlparse(self.path).query).get("query", [""])[0]
        body = json.dumps(self.answers.get(q, {"status": "error", "errorType": "bad_data",
                                               "error": "unknown query"})).encode()
        if q == "html":
            body = b"<html>login</html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


def test_metrics_from_a_prometheus_range_query(capsys):
    _Prom.answers = json.loads(data.path("prometheus_range").read_text())
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Prom)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        doc = json.loads(_run(capsys, "metrics", "--prometheus", url, "--query",
                              "kamailio_core_rcv_requests_invite", "--start", "0", "--end",
                              "1", "--json", "--all"))
        recorded = _Prom.answers["kamailio_core_rcv_requests_invite"]["data"]["result"][0]
        assert [r["value"] for r in doc["series"]] == [float(v) for _, v in
                                                       recorded["values"]]
        assert main(["metrics", "--prometheus", url, "--query", "nope"]) == 2
        assert "Prometheus says bad_data: unknown query" in capsys.readouterr().err
        assert main(["metrics", "--prometheus", url, "--query", "html"]) == 2
        assert "not JSON" in capsys.readouterr().err
    finally:
        srv.shutdown()
        srv.server_close()


def test_hep_send_json(capsys, tmp_path):
    doc = json.loads(_run(capsys, "hep", "send", str(data.path("relay_rtpengine")),
                          "udp:127.0.0.1:9", "--json"))
    text = _run(capsys, "hep", "send", str(data.path("relay_rtpengine")), "udp:127.0.0.1:9")
    # tshark -Y sip on relay_rtpengine: 13 frames
    assert doc["sent"] == doc["sip"] == 13 and "sent: 13" in text
