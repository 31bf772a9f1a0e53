"""The record walk of pcap and pcapng files with many records of varying length.

Oracle: the writer below (draft-ietf-opsawg-pcap: 24-byte file header, 16-byte record
headers) knows where every record is, its lengths and its time; the reader must find
exactly those, and stop with a warning naming the first damaged record. For pcapng,
labkit.capture.frames.write_pcapng (draft-ietf-opsawg-pcapng) writes frames whose bytes
name their own number. Every test runs with the compiled walk and with the numpy one.
"""
import struct

import numpy as np
import pytest

from labkit.capture import frames as F
from labkit.capture.pcapfile import CaptureFile

pytestmark = pytest.mark.parametrize("jit", ["python", "compiled"], indirect=True)


def _write(path, caplens, damage=None, e="<"):
    """A pcap of records with the given captured lengths; payloads mostly zeros (so
    that runs of zero bytes look like empty records to a careless resync). `damage`:
    ("absurd", k) gives record k a caplen of 2**30; ("cut", 0) cuts the last record."""
    rng = np.random.default_rng(5)
    out = [struct.pack(e + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    offs, times, at = [], [], 24
    for k, cap in enumerate(caplens):
        sec, usec = 1_700_000_000 + k // 50, (k % 50) * 20000
        body = bytearray(cap)
        if k % 3 == 0 and cap > 40:
            body[:40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        rec_cap = 2**30 if damage == ("absurd", k) else cap
        out.append(struct.pack(e + "IIII", sec, usec, rec_cap, cap + 4) + bytes(body))
        offs.append(at + 16)
        times.append(sec * 10**9 + usec * 1000)
        at += 16 + cap
    data = b"".join(out)
    if damage and damage[0] == "cut":
        data = data[:-5]
    path.write_bytes(data)
    return np.array(offs), np.array(caplens), np.array(times)


def _read(path, chunk):
    cf = CaptureFile(path)
    parts = list(cf.chunks(chunk))
    cols = [np.concatenate([getattr(c, f) for c in parts]) for f in
            ("number", "offset", "caplen", "wirelen", "time_ns")]
    return cols, cf.warnings


def _caplens(n, seed=0):
    sizes = np.array([60, 74, 92, 118, 214, 254, 0, 1500])   # codecs, an empty record, MTU
    return sizes[np.random.default_rng(seed).integers(0, len(sizes), n)].tolist()


@pytest.mark.parametrize("e", ["<", ">"])
def test_varying_lengths_every_record_found(tmp_path, jit, e):
    caps = _caplens(60_000)
    offs, cl, times = _write(tmp_path / "v.pcap", caps, e=e)
    for chunk in (1_000_000, 262_144, 20_000):
        (num, off, cap, wire, t), warn = _read(tmp_path / "v.pcap", chunk)
        assert warn == []
        assert np.array_equal(num, np.arange(1, len(caps) + 1))
        assert np.array_equal(off, offs) and np.array_equal(cap, cl)
        assert np.array_equal(wire, cl + 4) and np.array_equal(t, times)


def test_varying_lengths_damage_is_found_where_it_is(tmp_path, jit):
    caps = _caplens(50_000, seed=1)
    offs, cl, _ = _write(tmp_path / "a.pcap", caps, damage=("absurd", 25_000))
    (num, off, cap, _, _), warn = _read(tmp_path / "a.pcap", 1_000_000)
    assert len(num) == 25_000 and np.array_equal(off, offs[:25_000])
    assert len(warn) == 1 and "frame 25001" in warn[0] and "absurd" in warn[0]
    offs, cl, _ = _write(tmp_path / "c.pcap", caps, damage=("cut", 0))
    (num, off, cap, _, _), warn = _read(tmp_path / "c.pcap", 1_000_000)
    assert len(num) == len(caps) - 1 and np.array_equal(off, offs[:-1])
    assert len(warn) == 1 and f"frame {len(caps)}" in warn[0] and "truncated" in warn[0]


@pytest.mark.parametrize("big_endian", [False, True])
def test_pcapng_blocks_of_varying_length(tmp_path, jit, big_endian):
    caps = _caplens(30_000, seed=2)
    t0 = 1_700_000_000_000_000_000
    recs = [(t0 + k * 20_000_000 + k % 7, struct.pack("<I", k) + bytes(max(cap - 4, 0)), k % 2)
            for k, cap in enumerate(caps)]
    recs[5_000:5_100] = [(t, bytes(3), i) for t, _, i in recs[5_000:5_100]]  # equal lengths
    path = F.write_pcapng(tmp_path / "v.pcapng", recs, interfaces=[(1, 9), (1, 6)],
                          big_endian=big_endian, extra_blocks=True)
    cf = CaptureFile(path)
    parts = list(cf.chunks(262_144))
    got = {f: np.concatenate([getattr(c, f) for c in parts])[1:] for f in
           ("offset", "caplen", "time_ns", "interface")}
    # extra_blocks: the custom block before the packets is frame 1 (no packet), as in
    # Wireshark 4.0; the statistics block at the end is no frame
    assert sum(len(c) for c in parts) == len(recs) + 1 and parts[0].interface[0] == -1
    assert np.array_equal(got["caplen"], [len(r[1]) for r in recs])
    assert np.array_equal(got["interface"], [r[2] for r in recs])
    # if_tsresol 9 (ns) and the default microseconds: times as written, to their unit
    want_t = np.array([r[0] if r[2] == 0 else r[0] // 1000 * 1000 for r in recs])
    assert np.array_equal(got["time_ns"], want_t)
    data = path.read_bytes()
    for k in (0, 1, 4_999, 5_000, 5_099, 5_100, 17_321, len(recs) - 1):
        o, c = int(got["offset"][k]), int(got["caplen"][k])
        assert data[o:o + c] == recs[k][1]
    assert cf.warnings == []


def _epb_offsets(data: bytes) -> list[int]:
    """Offsets of the Enhanced Packet Blocks of a little-endian pcapng (block walk)."""
    out, off = [], 0
    while off + 8 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if btype == 6:
            out.append(off)
        off += blen
    return out


def test_pcapng_damage_after_many_blocks_is_found_where_it_is(tmp_path, jit):
    from labkit.errors import CaptureError

    caps = _caplens(3_000, seed=3)
    recs = [(1_700_000_000_000_000_000 + k, bytes(max(c, 1))) for k, c in enumerate(caps)]
    good = F.write_pcapng(tmp_path / "g.pcapng", recs).read_bytes()
    at = _epb_offsets(good)[2_000]
    # a truncated file: the frames before the cut, and a warning naming the first lost one
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(good[:at + 20])
    cf = CaptureFile(cut)
    assert sum(len(c) for c in cf.chunks(262_144)) == 2_000
    assert len(cf.warnings) == 1 and "frame 2001" in cf.warnings[0]
    # an unknown interface in block 2,001, and a captured length beyond its block
    for field, value, words in ((8, 3, "interface 3"), (20, 1 << 20, "frame 2001: captured length")):
        bad = bytearray(good)
        struct.pack_into("<I", bad, at + field, value)
        (tmp_path / "bad.pcapng").write_bytes(bytes(bad))
        with pytest.raises(CaptureError, match=words):
            list(CaptureFile(tmp_path / "bad.pcapng").chunks(262_144))
