"""Start a baresip user agent with a given address, codec list and audio source file.

Config facts (../shared/REFERENCE.md section 6): `module_path` must be set, `net_interface`
is an address, `audio_codecs` entries need the rate (``AMR-WB/16000/1``), `aufile` reads a
mono S16LE WAV at `ausrc_srate`, `aubridge,nil` is a silent player that does not spin, and
the call ends (BYE) when the source file ends.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tools.lab.sandbox import Sandbox

MODULES = ("g711", "gsm", "amr", "aufile", "aubridge")


@dataclass(frozen=True)
class UA:
    """One baresip user agent: SIP identity, where it listens, what it offers and plays."""

    name: str            # config dir / log name, e.g. "alice"
    user: str            # SIP user part
    addr: str            # IP address it binds to
    sip_port: int        # [port] SIP/UDP listen port
    rtp_ports: tuple[int, int]  # [port] RTP port range (RTCP on the next port)
    codecs: str          # baresip audio_codecs list, e.g. "AMR-WB/16000/1"
    source: Path         # mono S16LE WAV played as this party's audio
    srate: int           # [Hz] sample rate of `source`
    answermode: str = "auto"
    outbound: str = ""   # outbound proxy URI, e.g. "sip:10.0.0.10:5060;lr"
    cons_port: int = 0   # [port] if set: cons module on 127.0.0.1 (commands such as /accept)

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.addr}:{self.sip_port}"


def have_baresip() -> bool:
    """True when the baresip binary and its module directory are installed."""
    return bool(shutil.which("baresip")) and Path("/usr/lib/baresip/modules/amr.so").exists()


def write_config(ua: UA, root: Path) -> Path:
    """Write DIR/<ua.name>/{config,accounts}; return the config dir."""
    d = root / ua.name
    d.mkdir(parents=True, exist_ok=True)
    lines = [
        "poll_method epoll",
        f"sip_listen {ua.addr}:{ua.sip_port}",
        f"net_interface {ua.addr}",
        "call_local_timeout 30",
        "call_max_calls 4",
        f"audio_source aufile,{ua.source}",
        "audio_player aubridge,nil",
        "audio_alert aubridge,nil",
        f"ausrc_srate {ua.srate}",
        f"auplay_srate {ua.srate}",
        "ausrc_channels 1",
        "auplay_channels 1",
        f"rtp_ports {ua.rtp_ports[0]}-{ua.rtp_ports[1]}",
        "rtcp_mux no",
        "jitter_buffer_delay 5-10",
        "module_path /usr/lib/baresip/modules",
        *[f"module {m}.so" for m in MODULES],
        "module_tmp account.so",
        "module_app menu.so",
    ]
    if ua.cons_port:
        lines += ["module cons.so", f"cons_listen 127.0.0.1:{ua.cons_port}"]
    (d / "config").write_text("\n".join(lines) + "\n")
    params = f";regint=0;answermode={ua.answermode};audio_codecs={ua.codecs}"
    if ua.outbound:
        params += f';outbound="{ua.outbound}"'
    (d / "accounts").write_text(f"<{ua.aor}>{params}\n")
    (d / "contacts").write_text("")
    return d


def command(sb: Sandbox, ua: UA, text: str) -> None:
    """Send a console command (e.g. "/accept") to `ua`'s cons module over UDP."""
    host = ua.name if ua.name in sb.hosts else None
    sb.run(["bash", "-c", f"printf '%s\\n' '{text}' > /dev/udp/127.0.0.1/{ua.cons_port}"], host=host)


def start(sb: Sandbox, ua: UA, *, seconds: float, dial: str | None = None):
    """Start `ua` in sandbox `sb` for `seconds` [s] (baresip -t); dial `dial` if given."""
    d = write_config(ua, sb.dir)
    argv = ["baresip", "-f", str(d), "-t", f"{seconds:g}"]
    if dial:
        argv += ["-e", f"/dial {dial}"]
    host = ua.name if ua.name in sb.hosts else None
    proc = sb.start(ua.name, argv, budget=seconds + 5, host=host)
    sb.wait_for_log(ua.name, "baresip is ready", timeout=10)
    return proc
