"""RTP streams and SIP signalling for the synthetic AMR captures.

A stream is the encoder's storage frames cut into packets of `fpp` frames (RFC 4867
section 4.1: the RTP timestamp is the first frame's; packets holding only NO_DATA are
not sent, leading/trailing NO_DATA entries are left out), then impaired (loss,
duplicates, reordering) with a seeded generator. The expected storage file follows from
the spec: the reference frames from the first to the last received frame, with the
frames of lost packets replaced by NO_DATA (0x7C).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit import amr
from labkit.amr import AmrFrame

NO_DATA_BYTE = b"\x7c"


@dataclass
class Stream:
    """One synthetic RTP stream and what a depacketizer must rebuild from it."""

    src: str
    dst: str
    sport: int
    dport: int
    ssrc: int
    pt: int
    wideband: bool
    octet_aligned: bool
    reference: bytes                      # encoder output, magic included
    expected: bytes = b""                 # storage file expected from the capture
    packets: list = field(default_factory=list)   # (time_ns, rtp_bytes) in arrival order
    lost_seq: list = field(default_factory=list)
    codec: str = "AMR"


def storage_frames(data: bytes) -> list[AmrFrame]:
    """Frames of a storage file (labkit.amr.read_amr_storage)."""
    return list(amr.read_amr_storage(data).frames)


def cut_packets(frames, fpp: int) -> list[tuple[int, list]]:
    """(first slot, frames) per packet: groups of `fpp` slots without NO_DATA at the ends."""
    out = []
    for start in range(0, len(frames), fpp):
        group = frames[start:start + fpp]
        keep = [i for i, f in enumerate(group) if f.ft != amr.NO_DATA]
        if keep:
            out.append((start + keep[0], group[keep[0]:keep[-1] + 1]))
    return out


def impair(n: int, rng: np.random.Generator, *, loss=0.0, dup=0.0, reorder=0.0):
    """Arrival order of packet indices: some lost (never first/last), some twice, swaps."""
    lost = set(int(i) for i in np.flatnonzero(rng.random(n) < loss) if 0 < i < n - 1)
    order = []
    for i in range(n):
        if i in lost:
            continue
        order.append(i)
        if rng.random() < dup:
            order.append(i)
    for k in range(1, len(order) - 1):
        if rng.random() < reorder and order[k] != order[k + 1]:
            order[k], order[k + 1] = order[k + 1], order[k]
    return order, lost


def build_stream(stream: Stream, fpp: int, rng, *, t0_ns: int, seq0: int, ts0: int,
                 cmr=15, loss=0.0, dup=0.0, reorder=0.0) -> Stream:
    """Packetize `stream.reference`, impair it, fill `packets`, `expected`, `lost_seq`.

    `cmr` is one value or a function slot -> CMR (mode requests in the payload header).
    """
    frames = storage_frames(stream.reference)
    spf = 320 if stream.wideband else 160
    cut = cut_packets(frames, fpp)
    order, lost = impair(len(cut), rng, loss=loss, dup=dup, reorder=reorder)
    rtps, prev_end = [], None
    for k, (slot, group) in enumerate(cut):
        c = cmr(slot) if callable(cmr) else cmr
        payload = amr.packetize_amr(group, wideband=stream.wideband,
                                    octet_aligned=stream.octet_aligned, cmr=c)
        marker = prev_end is None or slot > prev_end
        rtps.append((slot, _rtp(payload, stream, seq0 + k, ts0 + slot * spf, marker)))
        prev_end = slot + len(group)
    times = _arrival_times(cut, order, fpp, t0_ns, rng)
    stream.packets = [(t, rtps[i][1]) for t, i in zip(times, order)]
    stream.lost_seq = sorted((seq0 + i) & 0xFFFF for i in lost)
    stream.expected = expected_storage(frames, cut, lost, stream.wideband)
    return stream


def _rtp(payload, stream, seq, ts, marker) -> bytes:
    from labkit.capture import frames as fr
    return fr.rtp(payload, pt=stream.pt, seq=seq & 0xFFFF, ts=ts & 0xFFFFFFFF,
                  ssrc=stream.ssrc, marker=marker)


def _arrival_times(cut, order, fpp, t0_ns, rng) -> list[int]:
    """Sent after the packet's last slot is complete, plus 0-2 ms jitter, non-decreasing."""
    times = []
    for i in order:
        slot, group = cut[i]
        times.append(t0_ns + (slot + len(group)) * 20_000_000 + int(rng.integers(0, 2_000_000)))
    return list(np.maximum.accumulate(times)) if times else []


def expected_storage(frames, cut, lost, wideband) -> bytes:
    """Storage file a depacketizer must rebuild when packets `lost` (indices into `cut`)
    are missing: reference frames from the first to the last received frame, lost
    frames as NO_DATA (RFC 4867 section 5.3, header 0x7C)."""
    got = [k for k in range(len(cut)) if k not in lost]
    first = cut[got[0]][0]
    last = cut[got[-1]][0] + len(cut[got[-1]][1])
    out = list(frames[first:last])
    for k in lost:
        slot, group = cut[k]
        for j in range(len(group)):
            out[slot + j - first] = AmrFrame(amr.NO_DATA, True, b"")
    return amr.write_amr_storage(out, wideband=wideband)


def sdp(addr: str, port: int, codec: str, pt: int, fmtp: str | None, session: int) -> str:
    """A minimal SDP body (RFC 4566) offering one audio codec plus telephone-event."""
    from labkit.capture.frames import sdp_body
    rate = 16000 if codec in ("AMR-WB", "EVS") else 8000
    attrs = [f"a=rtpmap:{pt} {codec}/{rate}/1"] + ([f"a=fmtp:{pt} {fmtp}"] if fmtp else [])
    attrs += [f"a=rtpmap:101 telephone-event/{rate}", "a=fmtp:101 0-15", "a=ptime:20",
              "a=sendrecv"]
    return sdp_body(addr, port, [pt, 101], attributes=attrs, session=f"{session} 1")


def sip_message(first_line: str, *, a: str, b: str, sip_port: int, call_id: str,
                cseq: str, to_tag: bool, body: str = "") -> bytes:
    """A SIP request or response (RFC 3261) between user a (caller) and b (callee)."""
    ha = f"[{a}]" if ":" in a else a
    hb = f"[{b}]" if ":" in b else b
    lines = [first_line, f"Via: SIP/2.0/UDP {ha}:{sip_port};branch=z9hG4bK-{call_id[:8]}",
             "Max-Forwards: 70", f"From: <sip:alice@{ha}>;tag=a1",
             f"To: <sip:bob@{hb}>" + (";tag=b2" if to_tag else ""), f"Call-ID: {call_id}",
             f"CSeq: {cseq}", f"Contact: <sip:alice@{ha}:{sip_port}>"]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
