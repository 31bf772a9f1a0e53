"""Start and stop the lab's daemons as child processes (stopped by PID, never by name)."""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


def have(*exes: str) -> list[str]:
    """The programs of `exes` that are missing from PATH."""
    return [e for e in exes if shutil.which(e) is None]


def free_port(kind=socket.SOCK_DGRAM, low: int = 47200, high: int = 47999) -> int:
    """A free loopback port in this lab's range (UDP and TCP both free); from 47200, as
    tshark 4.0 dissects UDP 47000 as Hotline (HCrt), not SIP."""
    for port in range(low, high):
        ok = True
        for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(socket.AF_INET, k) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok and port not in _TAKEN:
            _TAKEN.add(port)
            return port
    raise RuntimeError("no free port in 47000-47999")


_TAKEN: set = set()


def start(argv, log: Path, **kw) -> subprocess.Popen:
    """Start `argv` with stdout+stderr to `log`."""
    fh = open(log, "wb")
    return subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, **kw)


def stop(proc: subprocess.Popen | None, sig=signal.SIGTERM, timeout: float = 10) -> None:
    """Signal the process we started (by its PID) and wait; SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wait_for(predicate, timeout: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def log_has(log: Path, text: str) -> bool:
    return log.exists() and text.encode() in log.read_bytes()


def tcp_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ------------------------------------------------------------------------- kamailio
KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{sip_port}
listen=tcp:127.0.0.1:{http_port}
tcp_accept_no_cl=yes
http_reply_parse=yes
mpath="{mpath}"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "siptrace.so"
loadmodule "xhttp.so"
loadmodule "xhttp_prom.so"
modparam("siptrace", "trace_on", {trace_on})
modparam("siptrace", "trace_mode", 1)
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", 3)
modparam("siptrace", "hep_capture_id", {capture_id})
modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:{hep_port}")
modparam("xhttp_prom", "xhttp_prom_stats", "all")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("REGISTER")) {{ sl_send_reply("200", "OK"); exit; }}
    if (is_method("INVITE") && $rU == "busy") {{ sl_send_reply("486", "Busy Here"); exit; }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    $du = "sip:127.0.0.1:{uas_port}";
    if (!t_relay()) sl_reply_error();
    exit;
}}

event_route[xhttp:request] {{
    prom_dispatch();
}}
"""


def kamailio_cfg(sip_port: int, http_port: int, hep_port: int, uas_port: int, *,
                 capture_id: int = 2001, trace: bool = True) -> str:
    """kamailio 5.6 script: registrar stub (200 to REGISTER), 486 for user "busy",
    every other request relayed to the SIPp UAS; siptrace mirrors all SIP as HEP3 to
    `hep_port`; xhttp_prom serves /metrics on TCP `http_port`."""
    return KAMAILIO_CFG.format(sip_port=sip_port, http_port=http_port, hep_port=hep_port,
                               uas_port=uas_port, capture_id=capture_id,
                               trace_on=int(trace), mpath=KAMAILIO_MODULES)


def start_kamailio(workdir: Path, cfg_text: str, http_port: int) -> subprocess.Popen:
    """Check the script, start kamailio in the foreground, wait for /metrics to answer."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(cfg_text)
    check = subprocess.run(["kamailio", "-c", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"kamailio -c failed:\n{check.stdout}{check.stderr}")
    argv = ["kamailio", "-DD", "-E", "-f", str(cfg), "-m", "32", "-M", "8",
            "-Y", str(workdir), "-w", str(workdir), "-P", str(workdir / "kamailio.pid")]
    proc = start(argv, workdir / "kamailio.log")
    wait_for(lambda: tcp_open(http_port) or proc.poll() is not None, 20, "kamailio")
    if proc.poll() is not None:
        raise RuntimeError((workdir / "kamailio.log").read_text()[-2000:])
    time.sleep(0.5)
    return proc


# ----------------------------------------------------------------------------- SIPp
REGISTER_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:user[call_number]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:user[call_number]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:user[call_number]@[local_ip]:[local_port]>
      Expires: 60
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"""

BUSY_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy">
  <send retrans="500"><![CDATA[
      INVITE sip:busy@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]busy[call_number]
      To: <sip:busy@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="486"/>
  <send><![CDATA[
      ACK sip:busy@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]busy[call_number]
      To: <sip:busy@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
</scenario>
"""


def start_uas(workdir: Path, port: int) -> subprocess.Popen:
    """SIPp's built-in UAS (answers every INVITE: 180, 200; 200 to BYE)."""
    proc = start(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-nostdin",
                  "-bind_local"], workdir / "sipp_uas.log")
    time.sleep(0.5)
    return proc


def run_uac(workdir: Path, kamailio_port: int, local_port: int, *, scenario: str = "uac",
            calls: int = 5, rate: float = 5, duration_ms: int = 500,
            timeout_s: int = 60) -> subprocess.CompletedProcess:
    """Run SIPp as a client until `calls` calls are done (built-in uac, or our XMLs)."""
    argv = ["sipp", "127.0.0.1:%d" % kamailio_port, "-i", "127.0.0.1", "-p", str(local_port),
            "-m", str(calls), "-r", str(rate), "-d", str(duration_ms), "-nostdin",
            "-timeout", f"{timeout_s}s", "-timeout_error", "-s", "bob", "-bind_local"]
    if scenario == "uac":
        argv += ["-sn", "uac"]
    else:
        xml = workdir / f"{scenario}.xml"
        xml.write_text({"register": REGISTER_XML, "busy": BUSY_XML}[scenario])
        argv += ["-sf", str(xml)]
    with open(workdir / f"sipp_{scenario}.log", "ab") as fh:
        return subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout_s + 30)


# -------------------------------------------------------------------- capture, sngrep
def start_dumpcap(out: Path, ports, workdir: Path) -> subprocess.Popen:
    """dumpcap on loopback for UDP `ports` (pcapng); waits until it is capturing."""
    flt = " or ".join(f"udp port {p}" for p in ports)
    log = workdir / f"dumpcap_{out.stem}.log"
    proc = start(["dumpcap", "-q", "-i", "lo", "-f", flt, "-w", str(out)], log)
    wait_for(lambda: out.exists() and out.stat().st_size > 0 or proc.poll() is not None, 15,
             "dumpcap")
    time.sleep(0.5)
    return proc


def start_sngrep(out: Path, port: int, workdir: Path) -> subprocess.Popen:
    """sngrep 1.6 as a HEP3 receiver (no UI): -L udp:127.0.0.1:PORT -O out.pcap."""
    proc = start(["sngrep", "-N", "-q", "-L", f"udp:127.0.0.1:{port}", "-O", str(out)],
                 workdir / "sngrep.log")
    time.sleep(1.0)
    return proc


# ------------------------------------------------------------------------ prometheus
PROMETHEUS_YML = """global:
  scrape_interval: {interval}
  evaluation_interval: 15s
scrape_configs:
  - job_name: kamailio
    honor_timestamps: false
    static_configs:
      - targets: ["127.0.0.1:{http_port}"]
"""


def start_prometheus(workdir: Path, port: int, http_port: int, interval: str = "1s"):
    """Debian's prometheus 2.42 scraping kamailio's /metrics every `interval`."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "prometheus.yml"
    cfg.write_text(PROMETHEUS_YML.format(interval=interval, http_port=http_port))
    proc = start(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                  f"--web.listen-address=127.0.0.1:{port}"], workdir / "prometheus.log")
    wait_for(lambda: log_has(workdir / "prometheus.log", "Server is ready")
             or proc.poll() is not None, 30, "prometheus")
    if proc.poll() is not None:
        raise RuntimeError((workdir / "prometheus.log").read_text()[-2000:])
    wait_for(lambda: _scraped(port), 30, "Prometheus's first scrape of kamailio")
    return proc


def _scraped(port: int) -> bool:
    """Prometheus holds a sample of kamailio's counters (its first scrape is done)."""
    import json
    import urllib.request
    url = (f"http://127.0.0.1:{port}/api/v1/query?query=kamailio_core_rcv_requests_invite")
    try:
        doc = json.loads(urllib.request.urlopen(url, timeout=2).read())
    except OSError:
        return False
    return bool(doc.get("data", {}).get("result"))
