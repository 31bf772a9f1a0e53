"""Write the benchmark capture: 1,000,000 RTP packets in 40 streams, deterministically.

Each stream's first frame is built with :mod:`labkit.capture.frames` (Ethernet / IPv4 / UDP /
RTP); the other packets are that template with sequence number, RTP timestamp and
record time patched in with numpy, so a million records take a few seconds. The UDP
checksum is 0 ("not computed", allowed for IPv4 by RFC 768), so patched packets stay
valid. Streams are G.711 (PT 0/8; ``--mix mixed`` adds G.729, G.722 and a dynamic
PT 96 of AMR-WB size), 20 ms apart with seeded jitter, 0.2 % loss, a few reordered
pairs and duplicates, and sequence numbers that wrap.

Usage: python benchmarks/make_bench_capture.py [OUT.pcap] [--packets N] [--streams S]
       [--mix g711|mixed]
"""
from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from labkit.capture import frames# noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "bench_1M_40streams.pcap"
T0_NS = 1_700_000_000_000_000_000
# (PT, payload bytes) per stream, cycled. "g711": every packet 160 bytes of G.711 (the
# common SBC/trunk case); "mixed": G.711, G.729, G.722 and AMR-WB-sized PT 96.
MIXES = {"g711": [(0, 160), (8, 160)],
         "mixed": [(0, 160), (8, 160), (18, 20), (9, 160), (96, 61)]}
CODECS = MIXES["g711"]


def _template(k: int, codecs=None) -> tuple[bytes, int, int]:
    """Frame of stream k's first packet; offsets of the RTP header and UDP checksum."""
    codecs = codecs or CODECS
    pt, size = codecs[k % len(codecs)]
    rtp = frames.rtp(bytes([(0x55 + k) & 0xFF]) * size, pt=pt, seq=0, ts=0,
                     ssrc=0x10000000 + k * 7919)
    src = f"10.0.{k // 8 % 256}.{10 + k % 8}"
    dst = f"10.{1 + k // 2048}.{k // 8 % 256}.{20 + k % 8}"
    sport, dport = 16384 + 2 * (k % 8000), 30000 + 2 * (k % 8000)
    frame = bytearray(frames.udp_frame(rtp, src, dst, sport, dport))
    rtp_at = len(frame) - len(rtp)
    frame[rtp_at - 2:rtp_at] = b"\0\0"  # UDP checksum 0: not computed (RFC 768)
    return bytes(frame), rtp_at, pt


def _stream_events(k: int, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Arrival [ns] and packet index (before loss/reorder/dup) of stream k."""
    base = T0_NS + k * 1_234_567 + np.arange(n, dtype=np.int64) * 20_000_000
    jitter = np.clip(rng.normal(0, 400_000, n), -5_000_000, 5_000_000).astype(np.int64)
    t = (base + jitter) // 1000 * 1000  # microsecond pcap
    idx = np.arange(n)
    keep = rng.random(n) > 0.002
    t, idx = t[keep], idx[keep]
    swap = np.flatnonzero(rng.random(len(idx) - 1) < 0.0005)
    idx[swap], idx[swap + 1] = idx[swap + 1].copy(), idx[swap].copy()
    dup = np.flatnonzero(rng.random(len(idx)) < 0.0005)
    t = np.insert(t, dup + 1, t[dup] + 50_000)
    idx = np.insert(idx, dup + 1, idx[dup])
    return t, idx


def build(n_packets: int = 1_000_000, n_streams: int = 40, seed: int = 20240501):
    """Records of the benchmark capture as (times [ns], frame bytes buffer, offsets)."""
    rng = np.random.default_rng(seed)
    per = n_packets // n_streams
    parts = []
    for k in range(n_streams):
        t, idx = _stream_events(k, per + 200, rng)
        t, idx = t[:per], idx[:per]  # exactly `per` packets per stream
        parts.append((np.full(per, k), t, idx))
    sid = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    idx = np.concatenate([p[2] for p in parts])
    order = np.argsort(t, kind="stable")
    return sid[order], t[order], idx[order], rng


def write(path: Path = OUT, n_packets: int = 1_000_000, n_streams: int = 40,
          mix: str = "g711", chunk: int = 1_000_000) -> Path:
    """Write the capture (classic pcap, microseconds, Ethernet) and return its path.

    Records are written `chunk` at a time, so a 40M-packet file needs no more memory
    than its packet list (about 24 bytes a packet).
    """
    sid, t, idx, rng = build(n_packets, n_streams)
    temps = [_template(k, MIXES[mix]) for k in range(n_streams)]
    flens = np.array([len(f) for f, _, _ in temps])
    seq0 = (np.arange(n_streams) * 1637 + 60000) % 65536
    ts0 = (np.arange(n_streams, dtype=np.int64) * 123_456_789) % 2**32
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for a in range(0, len(sid), chunk):
            fh.write(_records(sid[a:a + chunk], t[a:a + chunk], idx[a:a + chunk], temps,
                              flens, seq0, ts0).tobytes())
    return path


def _records(sid, t, idx, temps, flens, seq0, ts0) -> np.ndarray:
    """The pcap records (16-byte header + frame) of consecutive packets, as bytes."""
    sizes = flens[sid] + 16
    offs = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    buf = np.zeros(int(sizes.sum()), np.uint8)
    for k, (frame, rtp_at, pt) in enumerate(temps):
        rows = np.flatnonzero(sid == k)
        if not len(rows):
            continue
        o = offs[rows]
        flen = len(frame)
        hdr = np.zeros((len(rows), 16), np.uint8)
        secs, usec = t[rows] // 1_000_000_000, (t[rows] % 1_000_000_000) // 1000
        hdr[:, 0:4] = secs.astype("<u4").view(np.uint8).reshape(-1, 4)
        hdr[:, 4:8] = usec.astype("<u4").view(np.uint8).reshape(-1, 4)
        hdr[:, 8:12] = np.frombuffer(struct.pack("<I", flen), np.uint8)
        hdr[:, 12:16] = np.frombuffer(struct.pack("<I", flen), np.uint8)
        body = np.tile(np.frombuffer(frame, np.uint8), (len(rows), 1))
        step = 8 if pt in (0, 8, 18, 9) else 16
        i = idx[rows].astype(np.int64)
        seq = (seq0[k] + i) % 65536
        ts = (ts0[k] + i * 20 * step) % 2**32
        body[:, rtp_at + 2:rtp_at + 4] = seq.astype(">u2").view(np.uint8).reshape(-1, 2)
        body[:, rtp_at + 4:rtp_at + 8] = ts.astype(">u4").view(np.uint8).reshape(-1, 4)
        body[:, rtp_at + 1] = np.where(i == 0, 0x80 | pt, pt)
        rec = np.concatenate([hdr, body], axis=1)
        buf[(o[:, None] + np.arange(16 + flen)).ravel()] = rec.ravel()
    return buf


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(OUT))
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--streams", type=int, default=40)
    ap.add_argument("--mix", choices=sorted(MIXES), default="g711")
    a = ap.parse_args(argv)
    p = write(Path(a.out), a.packets, a.streams, a.mix)
    print(f"{p} ({p.stat().st_size / 2**20:.1f} MiB, {a.packets} packets, {a.streams} streams)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
