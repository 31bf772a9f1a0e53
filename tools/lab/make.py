"""Regenerate data/lab/ (real-software captures) and data/lab/MANIFEST.tsv.

    python -m tools.lab.make                 # every scenario
    python -m tools.lab.make ringback_amrwb  # only the named ones (other rows kept)

Needs root (network namespaces), baresip-core, kamailio, rtpengine-daemon, dumpcap,
tshark and espeak-ng (tools/setup.sh installs them). Each capture is checked with tshark
against the expectations below before its manifest row is written; the description
carries the measured facts (streams, packets, times).
"""
from __future__ import annotations

import csv
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tools.lab import capture, scenarios
from tools.lab.audio import SPEECH_TEXT

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "lab"
MAX_BYTES = 1_000_000
TONE = "Europe ringback 425 Hz, 1 s on / 4 s off, -10 dBFS peak, bursts at 0-1, 5-6, 10-11 s of its file"
SPEECH = f"espeak-ng speech '{SPEECH_TEXT}' (about 5 s) then silence"
PARTIES = "A = alice 10.0.0.1:5060 (caller), B = bob 10.0.0.2:5060 (callee, auto-answer)"


@dataclass(frozen=True)
class Spec:
    """One capture: how it is made and what tshark must find in it."""

    name: str
    build: Callable[[Path], dict]   # writes the file; returns extra facts for the description
    what: str                        # what happened, in words
    final: tuple[int, ...]           # final responses to the caller's INVITE(s), in order
    codecs: tuple[str, ...]          # rtpmap encoding names in the SDP
    streams: int                     # RTP streams in `tshark -z rtp,streams`
    payload: str = ""                # their payload column ("" if no RTP)
    callers: tuple[str, ...] = ("10.0.0.1",)

    @property
    def file(self) -> str:
        return f"{self.name}.pcap"


def _direct(**kw) -> Callable[[Path], dict]:
    return lambda out: (scenarios.call(out, **kw), {})[1]


def _stall(out: Path) -> dict:
    _, stalls = scenarios.relay_stall_calls(out)
    t0 = float(capture.tshark("-r", str(out), "-c", "1", "-T", "fields", "-e", "frame.time_epoch").split()[0])
    return {"stalls": [t - t0 for t in stalls]}


SPECS = [
    Spec("ringback_amrwb", _direct(codecs_a="AMR-WB/16000/1", codecs_b="AMR-WB/16000/1", rate=16000),
         f"Real baresip 1.0.0 call, AMR-WB (PT 96, octet-align=1, mode 8 = 23.85 kbit/s, 1 frame "
         f"per packet, no DTX) on a bridge between network namespaces. {PARTIES}. B's source is "
         f"the {TONE} (file 11 s; its end makes B send BYE); A's source is {SPEECH}. "
         f"INVITE/180/200/ACK, BYE from B/200, SDP in INVITE and 200, RTCP on RTP port+1.",
         final=(200,), codecs=("AMR-WB",), streams=2, payload="AMR-WB"),
    Spec("ringback_amrnb", _direct(codecs_a="AMR/8000/1", codecs_b="AMR/8000/1", rate=8000),
         f"Real baresip 1.0.0 call, AMR-NB (PT 96, octet-align=1, mode 7 = 12.2 kbit/s, 1 frame "
         f"per packet, no DTX) on a bridge between network namespaces. {PARTIES}. B's source is "
         f"the {TONE} (file 11 s; its end makes B send BYE); A's source is {SPEECH}. "
         f"INVITE/180/200/ACK, BYE from B/200, SDP in INVITE and 200, RTCP on RTP port+1.",
         final=(200,), codecs=("AMR",), streams=2, payload="AMR"),
    Spec("codec_mismatch_488", _direct(codecs_a="GSM/8000/1", codecs_b="PCMA/8000/1,PCMU/8000/1",
                                       rate=8000, wait_s=6),
         f"Real baresip 1.0.0: A offers GSM only (m=audio RTP/AVP 3 101, GSM/8000 + "
         f"telephone-event); B allows PCMA/PCMU only and answers 488 Not Acceptable Here "
         f"(no Warning/Reason header, baresip logs 'no common audio codecs - rejected'); A ACKs. "
         f"{PARTIES}. No RTP.",
         final=(488,), codecs=("GSM",), streams=0),
    Spec("relay_rtpengine", _direct(codecs_a="PCMA/8000/1", codecs_b="PCMA/8000/1", rate=8000,
                                    proxy=dict(rtpengine=True)),
         f"Real call through kamailio 5.6.3 (stateful proxy, record-route, 10.0.0.10:5060) and "
         f"rtpengine 10.5 userspace (--table=-1, media on 10.0.0.10 ports 30000-30199, SDP "
         f"c=/o= rewritten by rtpengine_manage). PCMA (G.711 A-law, PT 8, 20 ms). {PARTIES}; A "
         f"dials sip:bob@10.0.0.10. Both legs in the capture: A<->rtpengine and rtpengine<->B, "
         f"4 RTP streams (same SSRC on both legs of a direction). B's source is the {TONE}; "
         f"A's source is {SPEECH}. B sends BYE when its file ends.",
         final=(200,), codecs=("PCMA",), streams=4, payload="g711A"),
    Spec("fmtp_rewrite_reject", _direct(codecs_a="AMR-WB/16000/1", codecs_b="AMR-WB/16000/1",
                                        rate=16000, wait_s=6,
                                        proxy=dict(body_subst=r"/a=fmtp:([0-9]+) octet-align=1\r\n//")),
         f"Real baresip 1.0.0 AMR-WB offer (a=fmtp:96 octet-align=1) through kamailio 5.6.3 "
         f"(10.0.0.10), whose textops subst_body() deletes the 'a=fmtp:96 octet-align=1' line: "
         f"the forwarded INVITE offers AMR-WB without fmtp, i.e. bandwidth-efficient (RFC 4867 "
         f"8.1). B (baresip, AMR-WB octet-aligned only) finds no common codec and answers 488 "
         f"Not Acceptable Here; kamailio ACKs it and relays the 488 to A. {PARTIES}; A dials "
         f"sip:bob@10.0.0.10. No RTP.",
         final=(488,), codecs=("AMR-WB",), streams=0),
    Spec("early_media_ringback", lambda out: (scenarios.early_media_call(out), {})[1],
         f"Real PCMA call through kamailio 5.6.3 + rtpengine 10.5 (10.0.0.10). B (baresip, "
         f"answermode=early) sends 180 and 183 Session Progress with SDP; on the 183 kamailio "
         f"calls play_media and rtpengine itself plays the {TONE.split(', bursts')[0]} "
         f"(a 48 kHz WAV, encoded to PCMA by rtpengine) to A as early media for about 6.5 s (bursts at 0-1 and 5-6 s): "
         f"a stream with its own SSRC from 10.0.0.10 that ends at the 200. A (baresip) starts "
         f"sending its own RTP (silence) on the 183, relayed by rtpengine to B for the whole "
         f"call. B is told '/accept' 6.5 s after the INVITE: 200 OK, stop_media, then B's RTP "
         f"(both legs) for about 6 s: espeak-ng speech 'This is the called party speaking. "
         f"Six, seven, eight.' B sends BYE when its file ends. kamailio runs 1 worker, so the "
         f"180 reaches A before the 183.",
         final=(200,), codecs=("PCMA",), streams=5, payload="g711A"),
    Spec("relay_stall", _stall,
         f"Two simultaneous real AMR-WB calls (baresip, octet-aligned 23.85) through kamailio "
         f"5.6.3 + rtpengine 10.5 userspace (10.0.0.10): alice 10.0.0.1 -> bob 10.0.0.2 and "
         f"carol 10.0.0.3 -> dave 10.0.0.4. Callees play the {TONE}; callers play {SPEECH}. "
         f"About 2.5 s into the capture and until 1 s after the calls end, the rtpengine process "
         f"is frozen with SIGSTOP for 80 ms every 1.5 s (then SIGCONT): host-stall signature on "
         f"the 4 streams leaving 10.0.0.10 (gaps of about 80-105 ms at the same moments on all "
         f"4, each followed by a burst of back-to-back packets); the 4 streams sent by the "
         f"phones are regular (20 ms).",
         final=(200, 200), codecs=("AMR-WB",), streams=8, payload="AMR-WB",
         callers=("10.0.0.1", "10.0.0.3")),
]


def check(spec: Spec, path: Path) -> list[dict]:
    """Check `path` against `spec` with tshark; return its RTP streams. AssertionError if not."""
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name}: {size} bytes >= {MAX_BYTES}"
    finals = tuple(c for ip in spec.callers for c in capture.invite_final(path, ip))
    assert finals == spec.final, f"{path.name}: final responses {finals}, expected {spec.final}"
    codecs = capture.sdp_codecs(path)
    assert set(spec.codecs) <= set(codecs), f"{path.name}: SDP codecs {codecs}, expected {spec.codecs}"
    streams = capture.rtp_streams(path)
    assert len(streams) == spec.streams, f"{path.name}: {len(streams)} RTP streams, expected {spec.streams}"
    assert all(s["payload"] == spec.payload for s in streams), f"{path.name}: payloads {streams}"
    return streams


def describe(spec: Spec, streams: list[dict], facts: dict) -> str:
    """Manifest description: the prose plus what tshark measured."""
    text = spec.what
    if "stalls" in facts:
        at = ", ".join(f"{t:.2f}" for t in facts["stalls"])
        text += f" SIGSTOP sent at t = {at} s (capture time, +-1 ms; SIGCONT 80 ms later)."
    text += f" tshark: final response {'/'.join(map(str, spec.final))} to the INVITE"
    if streams:
        parts = [f"{s['src']}:{s['sport']}->{s['dst']}:{s['dport']} {s['payload']} {s['packets']} pkts "
                 f"{s['start']:.1f}-{s['end']:.1f} s" for s in sorted(streams, key=lambda s: (s["start"], s["src"]))]
        text += f"; {len(streams)} RTP streams: " + "; ".join(parts)
    else:
        text += "; no RTP"
    return text + "."


def read_manifest() -> dict[str, dict]:
    path = OUT / "MANIFEST.tsv"
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["name"]: r for r in csv.DictReader(fh, delimiter="\t")}


def how_made(description: str) -> str:
    """The manifest's ``how_made`` sentence (labkit.data.provenance) for a lab capture."""
    used = ["baresip 1.0.0"] + [sw for sw in ("kamailio 5.6.3", "rtpengine 10.5")
                                if sw.split()[0] in description]
    return ("real software: " + ", ".join(used) + " run in network namespaces on one bridge, "
            "captured there by dumpcap")


def write_manifest(rows: dict[str, dict]) -> None:
    order = [s.name for s in SPECS]
    with open(OUT / "MANIFEST.tsv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["name", "file", "made_by", "how_made", "description"],
                           delimiter="\t", lineterminator="\n")
        w.writeheader()
        for name in sorted(rows, key=order.index):
            w.writerow({**rows[name], "how_made": how_made(rows[name]["description"])})


def build(spec: Spec) -> dict:
    """Make one capture (into a temp name, moved in place once it passes the checks)."""
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / f".{spec.file}.tmp"
    try:
        facts = spec.build(tmp)
        streams = check(spec, tmp)
        tmp.chmod(0o644)
        tmp.replace(OUT / spec.file)
    finally:
        tmp.unlink(missing_ok=True)
    return {"name": spec.name, "file": spec.file, "made_by": f"python -m tools.lab.make {spec.name}",
            "description": describe(spec, streams, facts)}


def missing_prerequisites() -> list[str]:
    """What this machine lacks to make the captures (empty list: all there)."""
    missing = [] if os.geteuid() == 0 else ["root (network namespaces, capture)"]
    for exe in ("baresip", "kamailio", "rtpengine", "dumpcap", "tshark", "espeak-ng", "ip", "timeout"):
        if not shutil.which(exe):
            missing.append(exe)
    return missing


def main(argv: list[str] | None = None) -> int:
    """Rebuild the named scenarios (default: all) and rewrite data/lab/MANIFEST.tsv."""
    missing = missing_prerequisites()
    if missing:
        raise RuntimeError(f"tools.lab.make needs {', '.join(missing)}: run `sudo make data` "
                           "(tools/setup.sh installs the packages)")
    names = list(argv) if argv else [s.name for s in SPECS]
    unknown = set(names) - {s.name for s in SPECS}
    if unknown:
        print(f"unknown scenario(s): {sorted(unknown)}; known: {[s.name for s in SPECS]}", file=sys.stderr)
        return 2
    rows = {k: v for k, v in read_manifest().items() if k in {s.name for s in SPECS}}
    for spec in SPECS:
        if spec.name in names:
            print(f"lab: {spec.name}", flush=True)
            rows[spec.name] = build(spec)
            write_manifest(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
