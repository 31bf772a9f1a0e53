"""Regenerate data/auth/: real REGISTER digest exchanges (kamailio challenging SIPp/baresip).

    python -m tools.lab.make_auth            # every scenario
    python -m tools.lab.make_auth stale      # only the named ones (other rows kept)

kamailio 5.6 (auth module, ``pv_www_authenticate`` with the password in the script,
realm ``lab.example``, qop=auth, nonce lifetime 30 s (2 s for the stale case),
nonce counting on) answers REGISTER
on 127.0.0.1:43060; SIPp 3.6 (its ``[authentication]`` keyword computes the digest) or
baresip sends it; dumpcap records loopback. Ground truth, written here and not by labkit:
the passwords configured in kamailio, and for every REGISTER with credentials the return
code kamailio's auth module logged (-2 wrong password, -4 nonce expired, -6 nonce reused,
1 accepted). The manifest row says how each file was made; tshark checks each capture.
"""
from __future__ import annotations

from tools.manifest import add_how_made
import csv
import json
import re
import sys
import time
from pathlib import Path

from tools.lab import capture
from tools.lab.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "auth"
PORT = 43060            # kamailio
SIPP_PORT = 43061
REALM = "lab.example"
PASSWORDS = {"alice": "secret-alice", "carol": "secret-carol"}   # what kamailio holds
NOT_PROVISIONED = ("carol",)   # authenticates, then 403 (policy, not the password)

KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("auth", "nonce_expire", {expire})
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")
modparam("auth", "secret", "labkit-fixed-secret")
request_route {{
    if (!is_method("REGISTER")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!is_present_hf("Authorization")) {{ www_challenge("{realm}", "1"); exit; }}
{passwords}
    if (!pv_www_authenticate("{realm}", "$var(pw)", "0")) {{
        $var(rc) = $rc;
        xlog("L_INFO", "labkit-auth: cseq=$cs user=$au rc=$var(rc)\\n");
        if ($var(rc) == -4) {{ www_challenge("{realm}", "17"); exit; }}
        www_challenge("{realm}", "1");
        exit;
    }}
    xlog("L_INFO", "labkit-auth: cseq=$cs user=$au rc=1\\n");
{policy}
    if (!save("location")) sl_reply_error();
    exit;
}}
"""


def kamailio_cfg(expire: int = 30) -> str:
    """The registrar's script: known passwords, a policy 403 for NOT_PROVISIONED users."""
    lines = ['    $var(pw) = "no-such-user-password";']
    lines += [f'    if ($au == "{u}") $var(pw) = "{p}";' for u, p in PASSWORDS.items()]
    policy = "\n".join(f'    if ($au == "{u}") {{ sl_send_reply("403", "Forbidden - not '
                       f'provisioned"); exit; }}' for u in NOT_PROVISIONED)
    return KAMAILIO_CFG.format(expire=expire, port=PORT, realm=REALM, passwords="\n".join(lines), policy=policy)


def _register(cseq: int, user: str, auth: str = "") -> str:
    return f"""  <send retrans="500"><![CDATA[
REGISTER sip:{REALM} SIP/2.0
Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: <sip:{user}@{REALM}>;tag=labkit[call_number]
To: <sip:{user}@{REALM}>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:{user}@[local_ip]:[local_port]>
{auth}Expires: 60
User-Agent: SIPp 3.6.1
Content-Length: 0

]]></send>
"""


def _auth(user: str, password: str) -> str:
    return f"[authentication username={user} password={password}]\n"


def sipp_scenario(steps: list) -> str:
    """A SIPp XML scenario from (kind, ...) steps: ("register", cseq, user, password|None),
    ("recv", status, auth), ("pause", ms)."""
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="labkit auth">']
    for step in steps:
        if step[0] == "register":
            _, cseq, user, pw = step
            out.append(_register(cseq, user, _auth(user, pw) if pw else ""))
        elif step[0] == "recv":
            auth = ' auth="true"' if step[2] else ""
            out.append(f'  <recv response="{step[1]}"{auth}/>')
        elif step[0] == "pause":
            out.append(f'  <pause milliseconds="{step[1]}"/>')
    out.append("</scenario>")
    return "\n".join(out) + "\n"


def _first(user, pw):
    return [("register", 1, user, None), ("recv", 401, True), ("register", 2, user, pw)]


SCENARIOS = {
    "register_digest_ok": (
        _first("alice", "secret-alice") + [("recv", 200, False)],
        "SIPp REGISTER for alice with the right password: 401 (qop=auth, MD5), REGISTER "
        "with Authorization, 200 OK."),
    "register_digest_wrong_password": (
        _first("alice", "wrong-password") + [("recv", 401, True)],
        "SIPp REGISTER for alice hashed with the password 'wrong-password' (kamailio holds "
        "'secret-alice'): 401, REGISTER with Authorization, 401 again (auth rc -2)."),
    "register_digest_stale": (
        [("register", 1, "alice", None), ("recv", 401, True), ("pause", 3500),
         ("register", 2, "alice", "secret-alice"), ("recv", 401, True),
         ("register", 3, "alice", "secret-alice"), ("recv", 200, False)],
        "SIPp answers the challenge 3.5 s late; kamailio's nonce lifetime is 2 s here: the right "
        "password gets 401 with stale=true (auth rc -4) and a new nonce; the retry with "
        "it gets 200 OK."),
    "register_digest_nonce_reuse": (
        _first("alice", "secret-alice") + [("recv", 200, False), ("replay",)],
        "SIPp registers alice (200 OK); then this tool sends SIPp's authorized REGISTER "
        "again (its Authorization copied byte for byte: same nonce, nc=00000001; new "
        "branch, CSeq 3): kamailio (nonce_count on) refuses the replayed nc with auth rc -4 "
        "(it reports an nc replay as a stale nonce) and a 401 with stale=true and a new "
        "nonce."),
    "register_digest_forbidden": (
        _first("carol", "secret-carol") + [("recv", 403, False)],
        "SIPp REGISTER for carol with the right password: the digest is accepted (auth rc 1) "
        "but the script answers 403 Forbidden - not provisioned (policy, not the password)."),
}


def replay(folder: Path) -> None:
    """Send SIPp's last authorized REGISTER again (CSeq 3, new branch) and wait for the answer."""
    import socket
    trace = next(folder.glob("*_messages.log")).read_text()
    sent = [m for m in re.split(r"\n-{10,}.*\n", trace) if m.lstrip().startswith("UDP message sent")
            or "REGISTER sip:" in m]
    msg = [m for m in sent if "Authorization:" in m][-1]
    msg = msg[msg.index("REGISTER sip:"):].strip("\n") + "\n"
    msg = msg.replace("CSeq: 2 REGISTER", "CSeq: 3 REGISTER")
    msg = re.sub(r"branch=[^;\s]+", "branch=z9hG4bK-labkit-replay", msg)
    head, _, _ = msg.partition("\n\n")
    data = (head.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n\r\n").encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", SIPP_PORT))
        s.settimeout(3)
        s.sendto(data, ("127.0.0.1", PORT))
        s.recvfrom(4096)


BARESIP_PORT = 43070
BARESIP = {
    "register_baresip_ok": (
        "secret-alice",
        "baresip 1.0.0 registers alice@lab.example (auth_pass secret-alice) through "
        "outbound 127.0.0.1:43060 and unregisters (Expires 0) when it quits: each REGISTER "
        "is challenged (401) and accepted (200)."),
    "register_baresip_wrong_password": (
        "secret-alicf",
        "baresip 1.0.0 registers alice@lab.example with auth_pass 'secret-alicf' (one "
        "letter off; kamailio holds 'secret-alice'): 401, then every REGISTER with "
        "Authorization gets 401 (auth rc -2) with a new nonce, and baresip answers each "
        "new challenge again with the same wrong password: a retry loop for its whole 3 s "
        "run."),
}


def _baresip(sb: Sandbox, password: str) -> None:
    d = sb.dir / "baresip"
    d.mkdir()
    (d / "config").write_text("\n".join([
        "poll_method epoll", f"sip_listen 127.0.0.1:{BARESIP_PORT}", "net_interface 127.0.0.1",
        "module_path /usr/lib/baresip/modules", "module g711.so", "module aubridge.so",
        "module_tmp account.so", "module_app menu.so", "audio_player aubridge,nil",
        "audio_source aubridge,nil"]) + "\n")
    (d / "accounts").write_text(f'<sip:alice@{REALM}>;auth_pass={password};'
                                f'outbound="sip:127.0.0.1:{PORT}";regint=60\n')
    (d / "contacts").write_text("")
    res = sb.run(["baresip", "-f", str(d), "-t", "3"], budget=8)
    if "baresip is ready" not in res.stdout + res.stderr:
        raise RuntimeError(f"baresip did not start:\n{res.stdout[-1500:]}{res.stderr[-1500:]}")
    time.sleep(1.0)


def run_scenario(name: str, steps: list, out: Path) -> list[dict]:
    """Run kamailio + SIPp (or baresip) for `steps`, record `out`; return kamailio's auth
    log lines."""
    with Sandbox() as sb:
        run = sb.dir / "kamailio"
        run.mkdir()
        cfg = run / "kamailio.cfg"
        cfg.write_text(kamailio_cfg(2 if name == "register_digest_stale" else 30))
        check = sb.run(["kamailio", "-c", "-f", str(cfg)])
        if check.returncode != 0:
            raise RuntimeError(f"kamailio config check failed:\n{check.stdout}{check.stderr}")
        sb.start("kamailio", ["kamailio", "-DD", "-E", "-f", str(cfg), "-m", "32", "-M", "8",
                              "-Y", str(run), "-w", str(run)], budget=40)
        sb.wait_for_log("kamailio", "SO_RCVBUF is finally", timeout=10)
        time.sleep(0.5)
        dump = capture.start_dumpcap(sb, out, f"udp port {PORT}", budget=40)
        if name in BARESIP:
            _baresip(sb, BARESIP[name][0])
            capture.stop_dumpcap(sb, dump)
            time.sleep(0.3)
            return _auth_log(sb)
        xml = sb.dir / "scenario.xml"
        xml.write_text(sipp_scenario(steps))
        res = sb.run(["sipp", f"127.0.0.1:{PORT}", "-sf", str(xml), "-m", "1", "-i",
                      "127.0.0.1", "-p", str(SIPP_PORT), "-timeout", "15", "-nostdin", "-nd",
                      "-trace_err", "-trace_msg"], budget=25)
        if res.returncode != 0:
            raise RuntimeError(f"{name}: sipp failed ({res.returncode}):\n{res.stdout[-1500:]}")
        if ("replay",) in steps:
            replay(sb.dir)
        capture.stop_dumpcap(sb, dump)
        time.sleep(0.3)   # kamailio's last log line
        return _auth_log(sb)


def _auth_log(sb: Sandbox) -> list[dict]:
    return [{"cseq": int(m[1]), "user": m[2], "rc": int(m[3])} for m in
                re.finditer(r"labkit-auth: cseq=(\d+) user=(\S+) rc=(-?\d+)", sb.log("kamailio"))]


def tshark_summary(path: Path) -> str:
    """Method/status sequence by tshark, e.g. 'REGISTER 401 REGISTER 200'."""
    out = capture.tshark("-r", str(path), "-Y", "sip", "-T", "fields", "-e", "sip.Method",
                         "-e", "sip.Status-Code")
    return " ".join(x for line in out.splitlines() for x in line.split("\t") if x)


def main(argv: list[str] | None = None) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    names = argv or [*SCENARIOS, *BARESIP]
    manifest = OUT / "MANIFEST.tsv"
    rows = {}
    if manifest.exists():
        rows = {r["name"]: r for r in csv.DictReader(manifest.open(), delimiter="\t")}
    truth_path = OUT / "truth.json"
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else {}
    for name in names:
        steps, what = SCENARIOS[name] if name in SCENARIOS else ([], BARESIP[name][1])
        ua = "baresip 1.0.0" if name in BARESIP else "SIPp 3.6.1"
        path = OUT / f"{name}.pcap"
        log = run_scenario(name, steps, path)
        if not log:
            raise RuntimeError(f"{name}: kamailio logged no auth result")
        path.chmod(0o644)
        seq = tshark_summary(path)
        truth[name] = {"realm": REALM, "passwords": PASSWORDS, "kamailio_auth": log,
                       "made_by": f"real: kamailio 5.6.3 auth + {ua} on loopback",
                       "tshark": seq}
        rows[name] = {"name": name, "file": path.name,
                      "made_by": f"python -m tools.lab.make_auth {name}",
                      "description": f"Real: kamailio 5.6.3 (auth module, realm {REALM}, "
                      f"password secret-alice for alice, secret-carol for carol, nonce "
                      f"lifetime 30 s, nonce counting) and {ua} on loopback "
                      f"127.0.0.1:{PORT}. {what} tshark: {seq}."}
        print(name, seq, log)
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    rows["auth_truth"] = {"name": "auth_truth", "file": truth_path.name,
                          "made_by": "python -m tools.lab.make_auth",
                          "description": "Ground truth of the real auth captures, written by "
                          "the tool: realm, the passwords kamailio holds, and per REGISTER "
                          "with credentials the auth return code kamailio logged (1 accepted, "
                          "-2 wrong password, -4 nonce expired or nc replayed)."}
    _write_manifest(manifest, rows)
    return 0


def _write_manifest(manifest: Path, rows: dict) -> None:
    with manifest.open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["name", "file", "made_by", "description"], delimiter="\t",
                           lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for name in sorted(rows):
            w.writerow(rows[name])
    add_how_made(manifest, "real software: kamailio 5.6.3 (auth module) challenging SIPp 3.6 / "
                           "baresip 1.0 on loopback, captured by dumpcap")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
