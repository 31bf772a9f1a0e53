"""Synthetic AMR / AMR-WB / EVS captures -> data/synth (``python -m tools.synth.make_amr``).

Every capture is one call: SIP INVITE / 100 / 183 (SDP answer, early media) from a
caller A (10.0.0.1) to a media gateway B (10.0.0.2), 11 s of RTP in both directions,
then 200 OK / ACK / BYE / 200. B sends the Europe ringback tone (425 Hz, 1 s on, 4 s
off, -12 dBFS: tone at 0-1 s, 5-6 s, 10-11 s of B's stream), A sends -60 dBFS noise.
Audio is encoded by real encoders (tools.synth.amr_codec); the encoder output is the
reference storage file written next to the capture (``<name>.b2a.amr|awb``) and the
storage file expected from the capture (after loss) follows from RFC 4867
(tools.synth.amr_rtp). Everything is seeded: running this twice gives identical files.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labkit.capture import frames as fr
from tools.synth import amr_codec, amr_rtp

OUT = Path(__file__).resolve().parents[2] / "data" / "synth"
T0_NS = 1_700_000_000_000_000_000
SECONDS = 11.0
MADE_BY = "python -m tools.synth.make_amr"
HOW_MADE = ("synthetic builder: SIP and RTP frames written byte by byte by tools.synth.make_amr "
            "(audio encoded by real AMR encoders, loss/DTX/reordering scripted and seeded); no "
            "phone or network sent them")


@dataclass(frozen=True)
class Scenario:
    """One synthetic capture: codec, payload format, transport and impairments."""

    name: str
    description: str
    codec: str = "AMR"                 # "AMR", "AMR-WB" or "EVS"
    octet_aligned: bool = False
    modes: object = 7                  # mode, or tuple of modes cycled every second
    fpp: int = 1                       # frames per packet
    dtx: bool = False
    loss: float = 0.0
    dup: float = 0.0
    reorder: float = 0.0
    seq0: int = 1000
    ts0: int = 160_000
    link: str = "ether"
    vlans: tuple = ()
    ipv6: bool = False
    gtp: bool = False
    pcapng: bool = False
    sdp: bool = True
    sip_port: int = 5060
    noise_first: bool = False          # other UDP and SIP OPTIONS before the call
    cmr: object = 15                   # CMR, or "cycle" (requests change every second)
    damaged: tuple = ()                # indices of B's packets to corrupt
    a_codec: str | None = None         # A sends this instead (e.g. "PCMU")
    pt: int = 96
    extra: dict = field(default_factory=dict)


SCENARIOS = [
    Scenario("synth_amrwb_be_ringback", "AMR-WB 23.85 bandwidth-efficient, 1 frame/packet",
             codec="AMR-WB", modes=8),
    Scenario("synth_amrnb_be_ringback", "AMR 12.2 bandwidth-efficient, 1 frame/packet"),
    Scenario("synth_amrnb_oa_ringback", "AMR 12.2 octet-aligned, 1 frame/packet",
             octet_aligned=True),
    Scenario("synth_amrwb_oa_2fpp_ipv6", "AMR-WB 12.65 octet-aligned, 2 frames/packet, IPv6",
             codec="AMR-WB", octet_aligned=True, modes=2, fpp=2, ipv6=True),
    Scenario("synth_amrnb_be_3fpp_vlan", "AMR 4.75 bandwidth-efficient, 3 frames/packet, "
             "VLAN 100, pcapng", modes=0, fpp=3, vlans=(100,), pcapng=True),
    Scenario("synth_amrnb_oa_dtx_loss", "AMR 7.95 octet-aligned, DTX (SID/NO_DATA), 3% loss",
             octet_aligned=True, modes=5, dtx=True, loss=0.03),
    Scenario("synth_amrwb_be_dtx_dup_reorder", "AMR-WB 12.65 bandwidth-efficient, DTX, "
             "1% loss, 2% duplicates, 2% reordered", codec="AMR-WB", modes=2, dtx=True,
             loss=0.01, dup=0.02, reorder=0.02),
    Scenario("synth_amrnb_be_seqwrap_sll", "AMR 7.40 bandwidth-efficient, RTP sequence and "
             "timestamp wrap, Linux SLL", modes=4, seq0=65_300, ts0=2**32 - 40_000, link="sll"),
    Scenario("synth_amrwb_be_gtpu", "AMR-WB 23.85 bandwidth-efficient, SIP and RTP inside "
             "GTP-U, pcapng", codec="AMR-WB", modes=8, gtp=True, pcapng=True),
    Scenario("synth_amrwb_be_modes_4fpp", "AMR-WB all 9 modes (changing every second), CMR "
             "requests, 4 frames/packet, DTX, 5% loss", codec="AMR-WB",
             modes=tuple(range(9)), fpp=4, dtx=True, loss=0.05, cmr="cycle"),
    Scenario("synth_amrnb_be_sip_first", "AMR modes 0-7 changing every second, SIP on port "
             "5080 after other UDP and SIP OPTIONS", modes=tuple(range(8)), sip_port=5080,
             noise_first=True, cmr="cycle"),
    Scenario("synth_amrwb_be_nosdp", "AMR-WB 15.85 bandwidth-efficient, no signalling "
             "(heuristic detection)", codec="AMR-WB", modes=4, sdp=False, dtx=True),
    Scenario("synth_amrnb_oa_nosdp", "AMR 10.2 octet-aligned, 2 frames/packet, no "
             "signalling (heuristic detection)", octet_aligned=True, modes=6, fpp=2,
             sdp=False),
    Scenario("synth_evs_compact", "EVS (SDP EVS/16000) compact-format payloads: 13.2 kbit/s "
             "and SID; random bits, payload structure only", codec="EVS"),
    Scenario("synth_amrnb_be_damaged", "AMR 12.2 from B with 4 damaged payloads; A sends "
             "PCMU (PT 0)", damaged=(40, 41, 200, 333), a_codec="PCMU"),
]
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Built:
    """A built scenario: capture records, link type and the streams' expectations."""

    scenario: Scenario
    records: list
    linktype: int
    streams: dict        # "b2a" / "a2b" -> amr_rtp.Stream


def _addresses(sc: Scenario) -> tuple[str, str]:
    return ("2001:db8::1", "2001:db8::2") if sc.ipv6 else ("10.0.0.1", "10.0.0.2")


def _modes(sc: Scenario, nframes: int) -> list[int]:
    if isinstance(sc.modes, tuple):
        return [sc.modes[(i // 50) % len(sc.modes)] for i in range(nframes)]
    return [sc.modes] * nframes


def _encode(sc: Scenario, pcm_source: str) -> bytes:
    wb = sc.codec == "AMR-WB"
    rate = amr_codec.WB_RATE if wb else amr_codec.NB_RATE
    pcm = (amr_codec.ringback(SECONDS, rate) if pcm_source == "tone"
           else amr_codec.noise(SECONDS, rate, dbfs=-60.0, seed=7))
    modes = _modes(sc, len(pcm) // (rate // 50))
    frames = (amr_codec.encode_amrwb if wb else amr_codec.encode_amrnb)(pcm, modes, dtx=sc.dtx)
    return (b"#!AMR-WB\n" if wb else b"#!AMR\n") + b"".join(frames)


def _cmr(sc: Scenario):
    if sc.cmr != "cycle":
        return sc.cmr
    top = 8 if sc.codec == "AMR-WB" else 7
    return lambda slot: (slot // 50) % (top + 1) if (slot // 50) % 3 else 15


def _amr_stream(sc, src, dst, sport, dport, ssrc, tone, rng, seq0, ts0) -> amr_rtp.Stream:
    stream = amr_rtp.Stream(src, dst, sport, dport, ssrc, sc.pt, sc.codec == "AMR-WB",
                            sc.octet_aligned, _encode(sc, "tone" if tone else "noise"),
                            codec=sc.codec)
    loss = sc.loss if tone else sc.loss / 2
    return amr_rtp.build_stream(stream, sc.fpp, rng, t0_ns=T0_NS + 100_000_000, seq0=seq0,
                                ts0=ts0, cmr=_cmr(sc), loss=loss, dup=sc.dup,
                                reorder=sc.reorder)


def _evs_stream(sc, src, dst, sport, dport, ssrc, tone, rng) -> amr_rtp.Stream:
    """EVS compact format (TS 26.445 A.2.1): 33-byte 13.2 kbit/s frames, 6-byte SID."""
    stream = amr_rtp.Stream(src, dst, sport, dport, ssrc, sc.pt, True, False, b"", codec="EVS")
    for slot in range(int(SECONDS * 50)):
        on = tone and (slot % 250) < 50
        if not on and slot % 8:
            continue
        payload = rng.integers(0, 256, 33 if on else 6, dtype=np.uint8).tobytes()
        rtp = fr.rtp(payload, pt=sc.pt, seq=sc.seq0 + len(stream.packets),
                     ts=sc.ts0 + slot * 320, ssrc=ssrc)
        stream.packets.append((T0_NS + 100_000_000 + (slot + 1) * 20_000_000, rtp))
    return stream


def _pcmu_stream(sc, src, dst, sport, dport, ssrc) -> amr_rtp.Stream:
    stream = amr_rtp.Stream(src, dst, sport, dport, ssrc, 0, False, False, b"", codec="PCMU")
    for k in range(int(SECONDS * 50)):
        rtp = fr.rtp(b"\xff" * 160, pt=0, seq=sc.seq0 + k, ts=sc.ts0 + k * 160, ssrc=ssrc)
        stream.packets.append((T0_NS + 100_000_000 + (k + 1) * 20_000_000, rtp))
    return stream


def _damage(stream: amr_rtp.Stream, indices) -> None:
    """Corrupt some of B's payloads: reserved FT 12 in the ToC, or a payload cut short."""
    for n, i in enumerate(indices):
        t, pkt = stream.packets[i]
        head, payload = pkt[:12], bytearray(pkt[12:])
        if n % 2 == 0:
            payload[0] = (payload[0] & 0xF0) | 0x06          # F=0, FT=12 (bits 4..8)
            payload[1] = (payload[1] & 0x3F)
        else:
            payload = payload[:len(payload) // 2]
        stream.packets[i] = (t, head + bytes(payload))


def _streams(sc: Scenario) -> dict:
    rng = np.random.default_rng(_seed(sc.name))
    a, b = _addresses(sc)
    if sc.codec == "EVS":
        return {"b2a": _evs_stream(sc, b, a, 50000, 40000, 0xB0000001, True, rng),
                "a2b": _evs_stream(sc, a, b, 40000, 50000, 0xA0000001, False, rng)}
    b2a = _amr_stream(sc, b, a, 50000, 40000, 0xB0000001, True, rng, sc.seq0, sc.ts0)
    if sc.damaged:
        _damage(b2a, sc.damaged)
        frames = amr_rtp.storage_frames(b2a.reference)
        b2a.expected = amr_rtp.expected_storage(frames, amr_rtp.cut_packets(frames, sc.fpp),
                                         set(sc.damaged), b2a.wideband)
    if sc.a_codec == "PCMU":
        a2b = _pcmu_stream(sc, a, b, 40000, 50000, 0xA0000001)
    else:
        a2b = _amr_stream(sc, a, b, 40000, 50000, 0xA0000001, False, rng, sc.seq0 + 7777,
                          sc.ts0 + 123_456)
    return {"b2a": b2a, "a2b": a2b}


def _seed(name: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


def _fmtp(sc: Scenario) -> str | None:
    if sc.codec == "EVS":
        return None
    parts = ["octet-align=1"] if sc.octet_aligned else []
    parts.append("mode-change-capability=2; max-red=0")
    return "; ".join(parts)


def _sip_records(sc: Scenario, a: str, b: str) -> list:
    """INVITE/100/183 before the media, 200/ACK/BYE/200 after it (time, src, dst, bytes)."""
    call_id, port = f"{sc.name}@synth", sc.sip_port
    offer = amr_rtp.sdp(a, 40000, sc.codec, sc.pt, _fmtp(sc), 1)
    answer = amr_rtp.sdp(b, 50000, sc.codec, sc.pt, _fmtp(sc), 2)
    if sc.a_codec == "PCMU":
        offer = offer.replace(f"RTP/AVP {sc.pt} 101", f"RTP/AVP {sc.pt} 0 101").replace(
            "a=ptime", "a=rtpmap:0 PCMU/8000\r\na=ptime")
        answer = offer.replace(a, b).replace("o=- 1 ", "o=- 2 ").replace(" 40000 ", " 50000 ")
    msg = lambda line, cseq, tag, body="": amr_rtp.sip_message(   # noqa: E731
        line, a=a, b=b, sip_port=port, call_id=call_id, cseq=cseq, to_tag=tag, body=body)
    ruri = f"sip:bob@[{b}]:{port}" if ":" in b else f"sip:bob@{b}:{port}"
    end = T0_NS + int((SECONDS + 0.2) * 1e9)
    return [(T0_NS, a, b, msg(f"INVITE {ruri} SIP/2.0", "1 INVITE", False, offer)),
            (T0_NS + 10_000_000, b, a, msg("SIP/2.0 100 Trying", "1 INVITE", False)),
            (T0_NS + 50_000_000, b, a, msg("SIP/2.0 183 Session Progress", "1 INVITE", True,
                                           answer)),
            (end, b, a, msg("SIP/2.0 200 OK", "1 INVITE", True, answer)),
            (end + 20_000_000, a, b, msg(f"ACK {ruri} SIP/2.0", "1 ACK", True)),
            (end + 500_000_000, a, b, msg(f"BYE {ruri} SIP/2.0", "2 BYE", True)),
            (end + 520_000_000, b, a, msg("SIP/2.0 200 OK", "2 BYE", True))]


def _noise_records(a: str, b: str) -> list:
    """Other traffic first: a DNS query/answer, a syslog line, SIP OPTIONS/200 on 5060."""
    dns = bytes.fromhex("12340100000100000000000003696d7304746573740000010001")
    options = amr_rtp.sip_message("OPTIONS sip:ping@10.0.0.9 SIP/2.0", a=a, b="10.0.0.9",
                                  sip_port=5060, call_id="ping@synth", cseq="1 OPTIONS",
                                  to_tag=False)
    t = T0_NS - 300_000_000
    return [(t, a, "10.0.0.53", dns, 53001, 53), (t + 1_000_000, "10.0.0.53", a, dns, 53, 53001),
            (t + 50_000_000, a, "10.0.0.54", b"<13>synth: hello", 514, 514),
            (t + 100_000_000, a, "10.0.0.9", options, 5060, 5060)]


def build(name: str) -> Built:
    """Build scenario `name` in memory (records, link type, streams with expectations)."""
    sc = BY_NAME[name]
    a, b = _addresses(sc)
    streams = _streams(sc)
    datagrams = []                               # (time, src, dst, payload, sport, dport)
    if sc.sdp:
        datagrams += [(t, s, d, p, sc.sip_port, sc.sip_port) for t, s, d, p in _sip_records(sc, a, b)]
    if sc.noise_first:
        datagrams += _noise_records(a, b)
    for st in streams.values():
        datagrams += [(t, st.src, st.dst, p, st.sport, st.dport) for t, p in st.packets]
    datagrams.sort(key=lambda r: r[0])
    records = [(t, _frame(sc, s, d, p, sp, dp, k)) for k, (t, s, d, p, sp, dp) in enumerate(datagrams)]
    linktype = fr.LINKTYPE_LINUX_SLL if sc.link == "sll" else fr.LINKTYPE_ETHERNET
    return Built(sc, records, linktype, streams)


def _frame(sc, src, dst, payload, sport, dport, k) -> bytes:
    gtp = None
    if sc.gtp:
        up = src == _addresses(sc)[0]
        gtp = {"teid": 0x1000 if up else 0x2000, "outer_src": "172.16.0.1" if up else "172.16.0.2",
               "outer_dst": "172.16.0.2" if up else "172.16.0.1"}
    return fr.udp_frame(payload, src, dst, sport, dport, link=sc.link, vlans=sc.vlans, gtp=gtp,
                        ident=k & 0xFFFF)


def capture_file(sc: Scenario) -> str:
    return f"{sc.name}.{'pcapng' if sc.pcapng else 'pcap'}"


def write(built: Built, out: Path = OUT) -> list[tuple[str, str, str]]:
    """Write the capture and B's reference storage file; return manifest rows."""
    sc = built.scenario
    out.mkdir(parents=True, exist_ok=True)
    path = out / capture_file(sc)
    if sc.pcapng:
        fr.write_pcapng(path, built.records, interfaces=[(built.linktype, 9)])
    else:
        fr.write_pcap(path, built.records, linktype=built.linktype, nanosecond=True)
    rows = [(sc.name, path.name, sc.description)]
    b2a = built.streams["b2a"]
    if b2a.reference:
        ref = f"{sc.name}.b2a.{'awb' if b2a.wideband else 'amr'}"
        (out / ref).write_bytes(b2a.reference)
        rows.append((f"{sc.name}_ref", ref, f"encoder reference storage file of B's ringback "
                                            f"stream in {path.name}"))
    return rows


def main(argv=None) -> int:
    """Write every scenario's files and data/synth/MANIFEST.tsv."""
    rows = []
    for sc in SCENARIOS:
        rows += write(build(sc.name))
    with open(OUT / "MANIFEST.tsv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["name", "file", "made_by", "how_made", "description"])
        for name, file, desc in rows:
            w.writerow([name, file, MADE_BY, HOW_MADE, desc])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
