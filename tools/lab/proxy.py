"""kamailio 5.6 (stateful proxy, record-route) and rtpengine (userspace relay) for the lab.

The proxy forwards every new INVITE for ``sip:USER@PROXY`` to ``sip:USER@CALLEE:5060``.
Options are small script snippets (REFERENCE.md section 6 gotchas): rtpengine_manage on
requests and replies, an SDP body rewrite with textops ``subst_body``, early media with
``play_media`` on a 183 and ``stop_media`` on the 200 (rtpengine 10.5 ng commands).
"""
from __future__ import annotations

import time
from pathlib import Path

from tools.lab.sandbox import Sandbox

MODULES = ("tm", "tmx", "sl", "rr", "pv", "maxfwd", "siputils", "textops", "textopsx", "sdpops", "xlog")
NG_SOCKET = "127.0.0.1:2223"   # rtpengine control (ng protocol), inside the proxy namespace
RTPENGINE_PORTS = (30000, 30199)
RTPE_FLAGS = "replace-origin replace-session-connection ICE=remove"

TEMPLATE = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:{proxy}:5060
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
{loads}
modparam("rr", "append_fromtag", 1)
{modparams}

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
    if (is_method("INVITE")) {{
{invite}
        t_on_reply("REPLY");
    }}
    record_route();
    $var(callee) = "{callee}";
{routes}
    $ru = "sip:" + $rU + "@" + $var(callee) + ":5060";
    if (!t_relay()) sl_reply_error();
    exit;
}}

onreply_route[REPLY] {{
{reply}
}}
"""


def kamailio_cfg(proxy: str, callee: str, *, rtpengine: bool = False, body_subst: str = "",
                 early_media_file: str = "", routes: dict[str, str] | None = None) -> str:
    """Kamailio script text: proxy `proxy` -> `callee`, optional relay/rewrite/early media.

    `routes` maps a user part to another callee address (e.g. {"dave": "10.0.0.4"}).
    """
    mods = list(MODULES) + (["rtpengine"] if rtpengine else [])
    loads = "\n".join(f'loadmodule "{m}.so"' for m in mods)
    modparams = f'modparam("rtpengine", "rtpengine_sock", "udp:{NG_SOCKET}")' if rtpengine else ""
    indialog, invite, reply = [], [], []
    if body_subst:
        invite.append(f'        subst_body("{body_subst}");')
        invite.append('        xlog("L_INFO", "labkit: INVITE body rewritten\\n");')
    if rtpengine:
        indialog.append(f'            rtpengine_manage("{RTPE_FLAGS}");')
        invite.append(f'        rtpengine_manage("{RTPE_FLAGS}");')
        reply.append(f'    if (has_body("application/sdp")) rtpengine_manage("{RTPE_FLAGS}");')
    if early_media_file:
        reply.append(f'    if ($rs == 183) play_media("from-tag=$ft file={early_media_file}");')
        reply.append('    if ($rs == 200) stop_media("from-tag=$ft");')
    route_lines = [f'    if ($rU == "{u}") $var(callee) = "{a}";' for u, a in (routes or {}).items()]
    return TEMPLATE.format(proxy=proxy, callee=callee, routes="\n".join(route_lines), loads=loads, modparams=modparams,
                           indialog="\n".join(indialog), invite="\n".join(invite),
                           reply="\n".join(reply) or "    return;")


def start_kamailio(sb: Sandbox, host: str, cfg_text: str, *, budget: float):
    """Write the script, check it (kamailio -c), start kamailio in the foreground in `host`."""
    run = sb.dir / "kamailio"
    run.mkdir(exist_ok=True)
    cfg = run / "kamailio.cfg"
    cfg.write_text(cfg_text)
    check = sb.run(["kamailio", "-c", "-f", str(cfg)], host=host)
    if check.returncode != 0:
        raise RuntimeError(f"kamailio config check failed:\n{check.stdout}{check.stderr}")
    argv = ["kamailio", "-DD", "-E", "-f", str(cfg), "-m", "32", "-M", "8", "-Y", str(run), "-w", str(run)]
    proc = sb.start("kamailio", argv, budget=budget, host=host)
    sb.wait_for_log("kamailio", "SO_RCVBUF is finally", timeout=10)  # UDP socket bound
    time.sleep(0.5)  # children forked (and, with rtpengine, its ng ping answered)
    return proc


def start_rtpengine(sb: Sandbox, host: str, addr: str, *, budget: float):
    """Start rtpengine 10.5 userspace-only (--table=-1) on `addr`, ng control on NG_SOCKET."""
    argv = ["rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
            f"--interface={addr}", f"--listen-ng={NG_SOCKET}", f"--port-min={RTPENGINE_PORTS[0]}",
            f"--port-max={RTPENGINE_PORTS[1]}", "--delete-delay=0", "--log-level=6",
            f"--pidfile={Path(sb.dir) / 'rtpengine.pid'}"]
    proc = sb.start("rtpengine", argv, budget=budget, host=host)
    sb.wait_for_log("rtpengine", "Startup complete", timeout=10)
    return proc
