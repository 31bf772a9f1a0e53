"""Regenerate data/flow/: call flows made by real kamailio 5.6 and SIPp 3.6 on loopback.

    python -m tools.lab.sipflow                      # every scenario
    python -m tools.lab.sipflow flow_topoh_masked    # only the named ones (other rows kept)

Hosts are loopback addresses (no namespaces needed): UE/caller 127.0.42.1:42001,
callee/AS 127.0.42.2:42002, USSD gateway 127.0.42.3:42003, kamailio 127.0.42.10:42060.
dumpcap records ``udp portrange 42000-42999`` on ``lo``. The SIPp scenarios are in
tools/lab/sipp/; the far ends log what they received (``-trace_logs``), and that log, not
our parser, is the ground truth written to ``NAME.truth.json`` next to each capture.
Needs root (capture on lo), kamailio, sipp (Debian sip-tester), dumpcap and tshark.

What SIPp 3.6.1 taught us here: a scenario's own Call-ID must come from ``-cid_str``
(SIPp maps replies to calls by the Call-ID it generated, so ``Call-ID: [field2]`` makes
every reply "unknown"); ``-inf`` CSV fields are split on ``;``, so a header value with
parameters cannot be one field; a variable assigned by ``<ereg>`` but never used aborts
the call ("referenced 1 times"); ``-cp``/``-mp`` must be set or SIPp binds 8888/6000;
kamailio's ``uac_req_send`` INFO can overtake the UE's ACK of the 200 (frame order differs
between runs). topoh with ``mask_callid=1`` masks the Call-ID towards the callee only.
"""
from __future__ import annotations

import csv
import os
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tools.lab import capture
from tools.lab.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "flow"
SIPP_DIR = Path(__file__).resolve().parent / "sipp"
UE, CALLEE, GW, KAM = "127.0.42.1", "127.0.42.2", "127.0.42.3", "127.0.42.10"
UE_PORT, CALLEE_PORT, GW_PORT, KAM_PORT = 42001, 42002, 42003, 42060
BPF = "udp portrange 42000-42999"
KAM_VERSION = "kamailio 5.6.3"
SIPP_VERSION = "SIPp 3.6.1"

KAMAILIO = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:{kam}:{port}
alias={kam}:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
{loads}
{body}
"""

PROXY_ROUTE = """
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{
{indialog}
            t_relay();
            exit;
        }}
        if (is_method("ACK") && t_check_trans()) {{ t_relay(); }}
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
{initial}
    record_route();
    $du = "sip:{dst}";
    if (!t_relay()) sl_reply_error();
    exit;
}}
"""

STRIP_SEC_AGREE = """            remove_hf("Require");
            remove_hf("Proxy-Require");
            remove_hf("Security-Verify");
            xlog("L_INFO", "labkit: stripped sec-agree headers from $rm\\n");"""

# The seed post's USSD script (request_route + route[USSD_Response]), plus a BYE handler
# and the uac reply event route so kamailio logs the UE's answer to its INFO.
USSD_SEED = """
loadmodule "uac.so"
request_route {
    xlog("Request $rm from $fU");
    if (is_method("INVITE")) {
        xlog("USSD from $fU to $rU (Emergency number) CSeq is $cs ");
        sl_reply("200", "OK Trying USSD Phase 1");
        route("USSD_Response");
        exit;
    }
    if (is_method("BYE")) { sl_reply("200", "OK"); exit; }
}
route[USSD_Response] {
    xlog("USSD_Response Route");
    $uac_req(method) = "INFO";
    $uac_req(ruri) = $fu;
    $uac_req(furi) = $tu;
    $uac_req(turi) = $fu;
    $uac_req(callid) = $ci;
    $uac_req(hdrs) = $uac_req(hdrs) + "Content-Type: application/vnd.3gpp.ussd+xml\\r\\n";
    $uac_req(body) = "<?xml version='1.0' encoding='UTF-8'?>
<ussd-data>
        <language value=\\"en\\"/>
        <ussd-string value=\\"Bienvenido. Seleccione una opcion: 1 o 2.\\"/>
</ussd-data>";
    $uac_req(evroute) = 1;
    uac_req_send();
}
event_route[uac:reply] {
    xlog("L_INFO", "labkit: uac reply $uac_req(evcode)\\n");
}
"""


def kamailio_cfg(*, dst: str = "", loads: str = "", indialog: str = "", initial: str = "",
                 body: str | None = None) -> str:
    """Script text: a record-routing stateful proxy to `dst` ("ip:port"), or `body`."""
    if body is None:
        body = PROXY_ROUTE.format(indialog=indialog, initial=initial, dst=dst)
    return KAMAILIO.format(kam=KAM, port=KAM_PORT, loads=loads, body=body)


def start_kamailio(sb: Sandbox, cfg_text: str, budget: float):
    """Write, check (kamailio -c) and start kamailio in the foreground; wait for its socket."""
    run = sb.dir / "kamailio"
    run.mkdir(exist_ok=True)
    cfg = run / "kamailio.cfg"
    cfg.write_text(cfg_text)
    check = sb.run(["kamailio", "-c", "-f", str(cfg)])
    if check.returncode != 0:
        raise RuntimeError(f"kamailio config check failed:\n{check.stdout}{check.stderr}")
    argv = ["kamailio", "-DD", "-E", "-f", str(cfg), "-m", "32", "-M", "8", "-Y", str(run), "-w", str(run)]
    proc = sb.start("kamailio", argv, budget=budget)
    sb.wait_for_log("kamailio", "SO_RCVBUF is finally", timeout=10)
    time.sleep(0.5)
    return proc


def sipp(sb: Sandbox, name: str, scenario: str, addr: str, port: int, ctl: int, *,
         target: str | None = None, calls: int = 1, fields: list[list[str]] | None = None,
         period_ms: int = 0, budget: float = 30, cid: str = ""):
    """Start SIPp `scenario` (tools/lab/sipp/) on addr:port; UAC when `target` is given."""
    argv = ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", addr, "-p", str(port), "-cp", str(ctl),
            "-mp", str(ctl + 100), "-m", str(calls), "-nostdin", "-nd",
            "-trace_logs", "-log_file", str(sb.dir / f"{name}.gt.log"),
            "-trace_err", "-error_file", str(sb.dir / f"{name}.err.log"), "-timeout", f"{int(budget)}s"]
    if fields:
        inf = sb.dir / f"{name}.csv"
        inf.write_text("SEQUENTIAL\n" + "".join(";".join(r) + "\n" for r in fields))
        argv += ["-inf", str(inf)]
    if period_ms:
        argv += ["-r", "1", "-rp", str(period_ms)]
    if cid:
        argv += ["-cid_str", cid]
    if target:
        argv.append(target)
    return sb.start(name, argv, budget=budget + 5)


def _wait(sb: Sandbox, procs, budget: float) -> None:
    deadline = time.monotonic() + budget
    for p in procs:
        p.wait(timeout=max(1.0, deadline - time.monotonic()))


def _gt_lines(sb: Sandbox, name: str) -> list[dict]:
    """The ``GT key=value ...`` lines a SIPp far end logged (its own view of what arrived)."""
    p = sb.dir / f"{name}.gt.log"
    text = p.read_text(errors="replace") if p.exists() else ""
    return [dict(re.findall(r"(\w+)=(\S+)", line.split("GT ", 1)[1]))
            for line in text.splitlines() if "GT " in line]


# --------------------------------------------------------------------------------------
# Scenarios: each writes OUT/NAME.pcap and returns (truth dict, facts for the description)


def _calls(out: Path, cfg: str, fields: list[list[str]], *, caller="uac_call.xml",
           callee="uas_call.xml", callee_addr=CALLEE, callee_port=CALLEE_PORT, wait=12.0, cid="labkit-a%u@127.0.42.1"):
    with Sandbox(keep=bool(os.environ.get("LABKIT_KEEP"))) as sb:
        cap = capture.start_dumpcap(sb, out, BPF, budget=wait + 20)
        kam = start_kamailio(sb, cfg, budget=wait + 10)
        n = len(fields) if fields else 1
        b = sipp(sb, "callee", callee, callee_addr, callee_port, 42802, calls=n, budget=wait)
        time.sleep(0.5)
        a = sipp(sb, "caller", caller, UE, UE_PORT, 42801, target=f"{KAM}:{KAM_PORT}",
                 calls=n, fields=fields, period_ms=300 if n > 1 else 0, budget=wait, cid=cid)
        _wait(sb, [a, b], wait)
        capture.stop_dumpcap(sb, cap)
        sb.stop(kam)
        got = {"caller": (a.returncode, sb.log("caller")[-800:]), "callee": (b.returncode, sb.log("callee")[-800:])}
        for who, (rc, log) in got.items():
            if rc != 0:
                raise RuntimeError(f"SIPp {who} exited {rc}:\n{log}\n{sb.log('kamailio')[-1500:]}")
        return _gt_lines(sb, "callee"), sb.log("kamailio")


def topoh_masked(out: Path) -> dict:
    """Two calls through kamailio topoh with mask_callid=1: the B legs get other Call-IDs."""
    cfg = kamailio_cfg(dst=f"{CALLEE}:{CALLEE_PORT}", loads=TOPOH.format(mask=1))
    fields = [["alice", "bob", "labkit-a1@127.0.42.1", "X-CID: lab-call-1", "42101"],
              ["carol", "dave", "labkit-a2@127.0.42.1", "Subject: no correlation header", "42103"]]
    gt, _ = _calls(out, cfg, fields)
    return _pairs_truth(fields, gt, "topoh mask_callid=1")


def topoh_samecid(out: Path) -> dict:
    """One call through kamailio topoh with mask_callid=0: topology hidden, Call-ID kept."""
    cfg = kamailio_cfg(dst=f"{CALLEE}:{CALLEE_PORT}", loads=TOPOH.format(mask=0))
    fields = [["alice", "bob", "labkit-s1@127.0.42.1",
               "P-Charging-Vector: icid-value=lab-icid-1", "42105"]]
    gt, _ = _calls(out, cfg, fields, cid="labkit-s%u@127.0.42.1")
    return _pairs_truth(fields, gt, "topoh mask_callid=0")


TOPOH = """loadmodule "topoh.so"
modparam("topoh", "mask_key", "labkit-flow")
modparam("topoh", "mask_ip", "127.0.42.99")
modparam("topoh", "mask_callid", {mask})"""


def _pairs_truth(fields, gt, how) -> dict:
    by_user = {g.get("from_user"): g.get("call_id") for g in gt}
    legs = [{"a_call_id": f[2], "b_call_id": by_user.get(f[0]), "from_user": f[0], "to_user": f[1],
             "header": f[3]} for f in fields]
    missing = [leg for leg in legs if leg["b_call_id"] is None]
    if missing:
        raise RuntimeError(f"callee did not log the B leg of {missing}: {gt}")
    return {"how": how, "legs": legs, "source": "SIPp callee -trace_logs (Call-ID and From user it received)"}


def sec_agree(out: Path, *, fixed: bool) -> dict:
    """UE -> kamailio (P-CSCF/S-CSCF stand-in) -> AS; the UE keeps Require: sec-agree in
    its re-INVITE. Broken: kamailio strips the sec-agree headers only from initial
    requests, so the re-INVITE reaches the AS with them and gets 420. Fixed: stripped in
    the in-dialog route too (the seed's fix: strip before the AS)."""
    cfg = kamailio_cfg(dst=f"{CALLEE}:{CALLEE_PORT}", initial=STRIP_SEC_AGREE.replace("            ", "    "),
                       indialog=STRIP_SEC_AGREE if fixed else "")
    gt, log = _calls(out, cfg, None, caller="uac_secagree.xml", callee="uas_as.xml",
                     cid="labkit-r%u@127.0.42.1")
    stripped = [m for m in re.findall(r"labkit: stripped sec-agree headers from (\w+)", log)]
    return {"how": "kamailio strips sec-agree " + ("from every request" if fixed else "from initial requests only"),
            "kamailio_stripped": stripped,
            "as_saw_sec_agree_in_reinvite": any(g.get("reinvite_require_sec_agree") for g in gt),
            "reinvite_final": 200 if fixed else 420,
            "source": "kamailio xlog lines and the SIPp AS -trace_logs"}


USSD_TEXTS = {"invite": "*100#", "menu": "Balance menu: 1 balance, 2 top-up", "answer": "1",
              "result": "Your balance is 5.00 EUR",
              "seed_info": "Bienvenido. Seleccione una opcion: 1 o 2."}


def ussd_seed(out: Path) -> dict:
    """The seed post's kamailio script as the USSD gateway: 200 by sl_reply, then an INFO
    made by uac_req_send, outside the dialog; the SIPp UE answers 405."""
    cfg = kamailio_cfg(body=USSD_SEED)
    with Sandbox(keep=bool(os.environ.get("LABKIT_KEEP"))) as sb:
        cap = capture.start_dumpcap(sb, out, BPF, budget=30)
        kam = start_kamailio(sb, cfg, budget=25)
        a = sipp(sb, "ue", "uac_ussd_seed.xml", UE, UE_PORT, 42801, target=f"{KAM}:{KAM_PORT}",
                 budget=10, cid="labkit-u%u@127.0.42.1")
        _wait(sb, [a], 12)
        time.sleep(0.3)
        capture.stop_dumpcap(sb, cap)
        sb.stop(kam)
        if a.returncode != 0:
            raise RuntimeError(f"SIPp UE exited {a.returncode}:\n{sb.log('ue')[-800:]}\n{sb.log('kamailio')[-1500:]}")
        codes = [int(c) for c in re.findall(r"labkit: uac reply (\d+)", sb.log("kamailio"))]
    return {"how": "seed kamailio script (sl_reply 200 + uac_req_send INFO)", "kamailio_uac_reply": codes,
            "ussd": {"invite": USSD_TEXTS["invite"], "info_out_of_dialog": USSD_TEXTS["seed_info"]},
            "info_in_dialog": False, "source": "kamailio event_route[uac:reply] log; the scenario's texts"}


def ussd_in_dialog(out: Path) -> dict:
    """The UE through kamailio (record-route) to a SIPp USSD gateway that answers in-dialog."""
    cfg = kamailio_cfg(dst=f"{GW}:{GW_PORT}")
    gt, _ = _calls(out, cfg, None, caller="uac_ussd.xml", callee="uas_ussd_gw.xml", callee_addr=GW,
                   callee_port=GW_PORT, cid="labkit-v%u@127.0.42.1")
    seen = {k: v for g in gt for k, v in g.items()}
    want = {"invite_ussd": USSD_TEXTS["invite"], "info_ussd": USSD_TEXTS["answer"]}
    got = {k: seen.get(k, "").replace("<ussd-string>", "") for k in want}
    if got != want:
        raise RuntimeError(f"gateway logged {seen}, expected {want}")
    return {"how": "SIPp gateway in the INVITE dialog", "info_in_dialog": True,
            "ussd": {k: USSD_TEXTS[k] for k in ("invite", "menu", "answer", "result")},
            "gateway_received": got, "source": "SIPp gateway -trace_logs; the scenario's texts"}


@dataclass(frozen=True)
class Spec:
    """One capture: the function that makes it and what it is, in words."""

    name: str
    build: Callable[[Path], dict]
    what: str


SPECS = [
    Spec("flow_topoh_masked", topoh_masked,
         f"Real {KAM_VERSION} with topoh (mask_callid=1, mask_ip 127.0.42.99) as a topology-hiding "
         f"proxy between a {SIPP_VERSION} caller (127.0.42.1:42001) and a SIPp callee "
         f"(127.0.42.2:42002), on loopback. Two calls 300 ms apart: alice->bob carries X-CID: lab-call-1, "
         f"carol->dave no correlation header. topoh gives the B legs other Call-IDs. "
         f"INVITE/100/180/200/ACK, BYE from the caller/200. Truth: the callee's own log of each "
         f"Call-ID and From user it received."),
    Spec("flow_topoh_samecid", topoh_samecid,
         f"Real {KAM_VERSION} with topoh (mask_callid=0) between a {SIPP_VERSION} caller and callee "
         f"on loopback: Via/Contact/Record-Route hidden, Call-ID the same on both legs; the INVITE "
         f"carries P-Charging-Vector: icid-value=lab-icid-1. One call alice->bob."),
    Spec("flow_sec_agree_420", lambda out: sec_agree(out, fixed=False),
         f"Real {KAM_VERSION} (P-CSCF/S-CSCF stand-in, record-route) between a {SIPP_VERSION} IMS UE "
         f"(127.0.42.1:42001, Require/Proxy-Require: sec-agree and Security-Verify in every request) and a "
         f"SIPp AS (127.0.42.2:42002) scripted like FreeSWITCH: a request whose Require names sec-agree gets "
         f"420 Bad Extension with Unsupported: sec-agree. kamailio strips the sec-agree headers from the "
         f"initial INVITE only: INVITE 200 ACK works, the hold re-INVITE (a=sendonly) reaches the AS with "
         f"Require: sec-agree and gets 420, the UE ACKs, then BYE/200."),
    Spec("flow_sec_agree_fixed", lambda out: sec_agree(out, fixed=True),
         f"The same UE, kamailio and AS as flow_sec_agree_420, but kamailio also strips Require, "
         f"Proxy-Require and Security-Verify from in-dialog requests (the seed's fix, before the AS): "
         f"the re-INVITE gets 200."),
    Spec("ussd_seed_405", ussd_seed,
         f"The seed post's USSD gateway run for real: {KAM_VERSION} (127.0.42.10:42060) with its script "
         f"(sl_reply 200 'OK Trying USSD Phase 1', then uac_req_send of an INFO with Call-ID copied, From/To "
         f"swapped, no To tag, a new From tag, and the non-standard <ussd-string value=...> body), plus a BYE "
         f"handler. A {SIPP_VERSION} UE (127.0.42.1:42001) dials *100# (3GPP TS 24.390: INVITE to "
         f"user=dialstring, Recv-Info: g.3gpp.ussd, multipart SDP + application/vnd.3gpp.ussd+xml), ACKs, and "
         f"answers the out-of-dialog INFO with 405 (scripted, as the seed's UE did), then BYE/200."),
    Spec("ussd_in_dialog", ussd_in_dialog,
         f"The fixed USSD exchange: the same {SIPP_VERSION} UE through {KAM_VERSION} (record-route proxy) to a "
         f"SIPp USSD gateway (127.0.42.3:42003) that stays in the INVITE dialog: 200 with Recv-Info: "
         f"g.3gpp.ussd, INFO (Info-Package: g.3gpp.ussd, Content-Disposition: Info-Package) with the menu "
         f"'{USSD_TEXTS['menu']}', the UE's INFO with '1', BYE carrying '{USSD_TEXTS['result']}'. "
         f"Standard TS 24.390 bodies (<language>, <ussd-string> elements)."),
]


# --------------------------------------------------------------------------------------


def check(path: Path) -> dict:
    """What tshark finds: SIP messages and distinct Call-IDs (the description's figures)."""
    out = capture.tshark("-r", str(path), "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID")
    ids = [x for x in out.splitlines() if x]
    if not ids:
        raise RuntimeError(f"{path}: tshark finds no SIP")
    return {"messages": len(ids), "call_ids": len(set(ids))}


def read_manifest() -> dict[str, dict]:
    path = OUT / "MANIFEST.tsv"
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["name"]: r for r in csv.DictReader(fh, delimiter="\t")}


def write_manifest(rows: dict[str, dict]) -> None:
    with open(OUT / "MANIFEST.tsv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["name", "file", "made_by", "how_made", "description"], delimiter="\t",
                           lineterminator="\n")
        w.writeheader()
        for name in sorted(rows):
            w.writerow(rows[name])


HOW_MADE = (f"real software: {KAM_VERSION} and {SIPP_VERSION} on loopback (127.0.42.x), captured by "
            f"dumpcap on lo; the SIPp ends (UE, AS, callee, USSD gateway) run scripted scenarios")
HOW_MADE_TRUTH = ("real software: written by tools/lab/sipflow.py from the far end's own log (SIPp "
                  "-trace_logs, kamailio xlog) and the scenario's inputs")


def build(spec: Spec) -> list[dict]:
    """Make one capture and its truth file; return their manifest rows."""
    out = OUT / f"{spec.name}.pcap"
    truth = spec.build(out)
    facts = check(out)
    truth = {"capture": out.name, "made_by": f"python -m tools.lab.sipflow {spec.name}", **truth}
    (OUT / f"{spec.name}.truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    desc = f"{spec.what} tshark: {facts['messages']} SIP messages, {facts['call_ids']} Call-ID(s)."
    made_by = f"python -m tools.lab.sipflow {spec.name}"
    return [{"name": spec.name, "file": out.name, "made_by": made_by, "how_made": HOW_MADE, "description": desc},
            {"name": f"{spec.name}_truth", "file": f"{spec.name}.truth.json", "made_by": made_by,
             "how_made": HOW_MADE_TRUTH,
             "description": f"ground truth of {out.name}, written by the lab tool from the real "
                            f"software's own logs: {truth.get('source', '')}"}]


def missing_prerequisites() -> list[str]:
    """Programs this tool needs that are not installed."""
    return [p for p in ("kamailio", "sipp", "dumpcap", "tshark") if shutil.which(p) is None]


def main(argv: list[str] | None = None) -> int:
    """Rebuild the named scenarios (default: all) and rewrite data/flow/MANIFEST.tsv."""
    names = (argv if argv is not None else sys.argv[1:]) or [s.name for s in SPECS]
    missing = missing_prerequisites()
    if missing:
        print(f"missing: {', '.join(missing)} (tools/setup.sh installs them)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    rows = read_manifest()
    for spec in SPECS:
        if spec.name in names:
            for row in build(spec):
                rows[row["name"]] = row
            print(f"{spec.name}: {rows[spec.name]['description'][-60:]}")
    write_manifest(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
