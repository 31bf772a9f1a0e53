"""The record walk of classic pcap files with many records of varying length.

Oracle: the writer below (draft-ietf-opsawg-pcap: 24-byte file header, 16-byte record
headers) knows where every record is, its lengths and its time; the reader must find
exactly those, and stop with a warning naming the first damaged record.
"""
import struct

import numpy as np

from labkit.capture.pcapfile import CaptureFile


def _write(path, caplens, damage=None):
    """A pcap of records with the given captured lengths; payloads mostly zeros (so
    that runs of zero bytes look like empty records to a careless resync). `damage`:
    ("absurd", k) gives record k a caplen of 2**30; ("cut", 0) cuts the last record."""
    rng = np.random.default_rng(5)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    offs, times, at = [], [], 24
    for k, cap in enumerate(caplens):
        sec, usec = 1_700_000_000 + k // 50, (k % 50) * 20000
        body = bytearray(cap)
        if k % 3 == 0 and cap > 40:
            body[:40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
        rec_cap = 2**30 if damage == ("absurd", k) else cap
        out.append(struct.pack("<IIII", sec, usec, rec_cap, cap + 4) + bytes(body))
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


def test_varying_lengths_every_record_found(tmp_path):
    caps = _caplens(60_000)
    offs, cl, times = _write(tmp_path / "v.pcap", caps)
    for chunk in (1_000_000, 262_144, 20_000):
        (num, off, cap, wire, t), warn = _read(tmp_path / "v.pcap", chunk)
        assert warn == []
        assert np.array_equal(num, np.arange(1, len(caps) + 1))
        assert np.array_equal(off, offs) and np.array_equal(cap, cl)
        assert np.array_equal(wire, cl + 4) and np.array_equal(t, times)


def test_varying_lengths_damage_is_found_where_it_is(tmp_path):
    caps = _caplens(50_000, seed=1)
    offs, cl, _ = _write(tmp_path / "a.pcap", caps, damage=("absurd", 25_000))
    (num, off, cap, _, _), warn = _read(tmp_path / "a.pcap", 1_000_000)
    assert len(num) == 25_000 and np.array_equal(off, offs[:25_000])
    assert len(warn) == 1 and "frame 25001" in warn[0] and "absurd" in warn[0]
    offs, cl, _ = _write(tmp_path / "c.pcap", caps, damage=("cut", 0))
    (num, off, cap, _, _), warn = _read(tmp_path / "c.pcap", 1_000_000)
    assert len(num) == len(caps) - 1 and np.array_equal(off, offs[:-1])
    assert len(warn) == 1 and f"frame {len(caps)}" in warn[0] and "truncated" in warn[0]
