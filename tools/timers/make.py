"""Regenerate data/timers/: real SIPp peers with scripted timing, captured by tshark.

    python -m tools.timers.make

FreeSWITCH is not packaged for Debian 12, so its part is played by SIPp too: for each
case of tools/timers/scenarios.py a SIPp UAC sends the B-leg INVITE from 127.0.0.1:46010
and, when the case says so, a CANCEL at the moment the FreeSWITCH timer named in the case
would fire (by the rules of switch_ivr_originate.c); the called side is one SIPp UAS per
gateway (127.0.0.1:46061, :46062) that sends each provisional response and the answer at
the time the case gives. tshark records the loopback traffic of ports 46000-46999. The
MANIFEST row of each capture repeats the timings the programs were told to use; the
``.vars`` file next to it holds the dial string FreeSWITCH would have had.
"""
from __future__ import annotations

from tools.manifest import add_how_made
import csv
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tools.timers.scenarios import CASES

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "timers"
MADE_BY = "python -m tools.timers.make"
UAC_PORT = 46010
SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")


def _msg(lines: list[str], body: str = "") -> str:
    head = "\n".join(lines + [f"Content-Length: {len(body.encode()) if body else 0}"])
    return f"<send><![CDATA[\n{head}\n\n{body}]]></send>\n"


def _resp(code: int, phrase: str, *, tag: bool = True, cseq: str = "[last_CSeq:]",
          body: str = "") -> str:
    lines = [f"SIP/2.0 {code} {phrase}", "[last_Via:]", "[last_From:]",
             "[last_To:]" + (";tag=lktB[pid]" if tag else ""), "[last_Call-ID:]", cseq,
             "Contact: <sip:[local_ip]:[local_port]>", "Server: SIPp UAS (labkit scripted peer)"]
    if body:
        lines.append("Content-Type: application/sdp")
    return _msg(lines, body)


def uas_xml(peer: dict) -> str:
    """SIPp UAS: each (ms, code) of peer["responses"], then the answer or the CANCEL."""
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<scenario name="labkit scripted peer">',
           '<recv request="INVITE" crlf="true"><action>'
           '<ereg regexp="CSeq: *([0-9]+)" search_in="msg" check_it="true" assign_to="m,cseq"/>'
           '</action></recv>', '<Reference variables="m,cseq"/>']
    now = 0
    for ms, code in peer["responses"]:
        out.append(f'<pause milliseconds="{ms - now}"/>')
        now = ms
        if code == 100:
            out.append(_resp(100, "Trying", tag=False))
        elif code == 180:
            out.append(_resp(180, "Ringing"))
        else:
            out.append(_resp(183, "Session Progress", body=SDP.format(port=peer["port"] + 100)))
    if peer["answer_ms"] is not None:
        out.append(f'<pause milliseconds="{peer["answer_ms"] - now}"/>')
        out.append(_resp(200, "OK", body=SDP.format(port=peer["port"] + 100)))
        out += ['<recv request="ACK"/>', '<recv request="BYE"/>', _resp(200, "OK")]
    else:
        out += ['<recv request="CANCEL"/>', _resp(200, "OK"),
                _resp(487, "Request Terminated", cseq="CSeq: [$cseq] INVITE"), '<recv request="ACK"/>']
    out.append("</scenario>")
    return "\n".join(out)


def _req(method: str, branch: str, cseq: str, *, to_tag: bool = False, body: str = "") -> str:
    lines = [f"{method} sip:1000@[remote_ip]:[remote_port] SIP/2.0",
             f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}",
             "Max-Forwards: 70", "From: <sip:lab@[local_ip]>;tag=lktA[pid]",
             "To: <sip:1000@[remote_ip]:[remote_port]>" + ("[peer_tag_param]" if to_tag else ""),
             "Call-ID: [call_id]", f"CSeq: {cseq}", "Contact: <sip:lab@[local_ip]:[local_port]>",
             "User-Agent: SIPp UAC (labkit, in FreeSWITCH's place)"]
    if body:
        lines.append("Content-Type: application/sdp")
    return _msg(lines, body)


def uac_xml(peer: dict, cancel_ms) -> str:
    """SIPp UAC: INVITE, expect the peer's responses, then ACK+BYE or CANCEL at `cancel_ms`."""
    inv = "z9hG4bK-inv-[pid]-[call_number]"
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<scenario name="labkit B-leg">',
           _req("INVITE", inv, "1 INVITE", body=SDP.format(port=UAC_PORT + 90)).replace(
               "<send>", '<send retrans="500">', 1)]
    last = 0
    for ms, code in peer["responses"]:
        out.append(f'<recv response="{183 if code == "183sdp" else code}"/>')
        last = ms
    if cancel_ms is None:
        out += ['<recv response="200" rrs="true"/>',
                _req("ACK", "z9hG4bK-ack-[pid]-[call_number]", "1 ACK", to_tag=True),
                '<pause milliseconds="1000"/>',
                _req("BYE", "z9hG4bK-bye-[pid]-[call_number]", "2 BYE", to_tag=True),
                '<recv response="200"/>']
    else:
        out += [f'<pause milliseconds="{cancel_ms - last}"/>', _req("CANCEL", inv, "1 CANCEL"),
                '<recv response="200"/>', '<recv response="487"/>',
                _req("ACK", inv, "1 ACK", to_tag=True)]
    out.append("</scenario>")
    return "\n".join(out)


def _wait_capture(proc, deadline=10.0):
    t0 = time.monotonic()
    buf = b""
    while time.monotonic() - t0 < deadline:
        chunk = proc.stderr.read1(4096) if hasattr(proc.stderr, "read1") else proc.stderr.read(1)
        buf += chunk or b""
        if b"Capturing on" in buf:
            return
    raise RuntimeError(f"tshark did not start: {buf!r}")


def record(name: str, case: dict, tmp: Path, out: Path | None = None) -> Path:
    """Run the case's peers and UAC(s) under tshark; write the capture to `out`."""
    out = out or OUT / f"{name}.pcap"
    cap = subprocess.Popen(["tshark", "-i", "lo", "-f", "udp portrange 46000-46999", "-w", str(tmp / "raw.pcap"),
                            "-F", "pcap"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_capture(cap)
        time.sleep(0.3)
        for peer, cancel_ms in zip(case["peers"], case["cancel_ms"]):
            (tmp / "uas.xml").write_text(uas_xml(peer))
            (tmp / "uac.xml").write_text(uac_xml(peer, cancel_ms))
            uas = subprocess.Popen(["sipp", "-sf", str(tmp / "uas.xml"), "-i", "127.0.0.1", "-p",
                                    str(peer["port"]), "-m", "1", "-timeout", "30s"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=tmp)
            time.sleep(0.3)
            uac = subprocess.run(["sipp", f"127.0.0.1:{peer['port']}", "-sf", str(tmp / "uac.xml"),
                                  "-i", "127.0.0.1", "-p", str(UAC_PORT), "-m", "1", "-timeout", "30s"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, cwd=tmp, timeout=40)
            try:
                uas.wait(timeout=10)
            finally:
                if uas.poll() is None:
                    uas.terminate()
                    uas.wait()
            if uac.returncode != 0 or uas.returncode != 0:
                raise RuntimeError(f"{name}: sipp failed (uac {uac.returncode}, uas {uas.returncode})")
        time.sleep(0.5)
    finally:
        cap.terminate()
        cap.wait()
    shutil.copy(tmp / "raw.pcap", out)
    return out


def _describe(name: str, case: dict) -> str:
    parts = []
    for i, (peer, cancel_ms) in enumerate(zip(case["peers"], case["cancel_ms"]), start=1):
        resp = ", ".join(f"{'183+SDP' if c == '183sdp' else c} at {ms} ms" for ms, c in peer["responses"])
        end = f"200 OK at {peer['answer_ms']} ms" if peer["answer_ms"] is not None else \
            f"CANCEL from the UAC at {cancel_ms} ms, then 200/487"
        parts.append(f"leg {i} to SIPp UAS 127.0.0.1:{peer['port']}: {resp}, {end}")
    return (f"Real SIPp 3.6.1 on loopback, scripted timing (ms after the INVITE): "
            f"{'; '.join(parts)}. The UAC at 127.0.0.1:{UAC_PORT} stands in for FreeSWITCH "
            f"(dial string {case['dial']}); expected: {case['expect']}. {case['story']}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lkt-timers-") as t:
        for name, case in CASES.items():
            print(f"recording {name}", flush=True)
            record(name, case, Path(t))
            (OUT / f"{name}.vars").write_text(case["dial"] + "\n")
            rows.append((name, f"{name}.pcap", _describe(name, case)))
            rows.append((f"{name}_vars", f"{name}.vars",
                         f"dial string FreeSWITCH would have used for {name} (tools/timers/scenarios.py)"))
    with open(OUT / "MANIFEST.tsv", "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["name", "file", "made_by", "description"])
        for row in rows:
            w.writerow([row[0], row[1], MADE_BY, row[2]])
    add_how_made(OUT / "MANIFEST.tsv", "real software: SIPp 3.6.1 B-leg peers with scripted timing on "
                 "loopback, captured by dumpcap (FreeSWITCH itself is not in Debian 12)")
    print(f"wrote {len(rows)} entries to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
