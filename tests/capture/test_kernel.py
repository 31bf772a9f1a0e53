"""labkit.capture._kernel: the compiled plain-frame path gives every column the
vectorised dissector gives.

Oracle: the vectorised dissector, run with nothing compiled (its rows are checked
against tshark in tests/capture/test_read.py, both ways). Here every column of
:class:`labkit.capture.Packets`, the address table, the first payload bytes and the
counters must be equal, value for value, on every bundled and shared capture and on
hand-built files where plain frames and every other kind alternate (so that both paths
meet in one chunk).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import REPO, shared_capture_files
from labkit import _jit
from labkit.capture import frames as F
from labkit.capture import iter_capture, read_capture

pytestmark = pytest.mark.filterwarnings("ignore::labkit.errors.LabkitWarning")

T0 = 1_700_000_000_000_000_000
CAPTURES = sorted(p for p in (REPO / "data").glob("**/*.pcap*") if p.is_file())


def _read(path, mode, monkeypatch, **kw):
    monkeypatch.setattr(_jit, "COMPILE_MIN", 0 if mode == "compiled" else 1 << 62)
    _jit.forget()
    if kw:
        return list(iter_capture(path, progress=False, **kw))
    return [read_capture(path, progress=False)]


def _assert_same(path, monkeypatch, **kw):
    a = _read(path, "python", monkeypatch, **kw)
    b = _read(path, "compiled", monkeypatch, **kw)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        names = [f.name for f in dataclasses.fields(x) if isinstance(getattr(x, f.name), np.ndarray)]
        assert len(names) >= 20                       # every column of Packets
        for name in names:
            u, v = getattr(x, name), getattr(y, name)
            assert u.dtype == v.dtype, name
            assert np.array_equal(u, v), (path, name)
        assert x.addresses == y.addresses
        assert x.stats == y.stats and x.warnings == y.warnings
        assert np.array_equal(x.head(16), y.head(16))
        assert [x.payload(i) for i in range(len(x))] == [y.payload(i) for i in range(len(y))]


def _alternating(n=400):
    """Plain Ethernet/IPv4/UDP frames (with and without VLAN tags, cut by the snap
    length, with an IP total length of 0) between every other kind of frame."""
    v6 = ("2001:db8::1", "2001:db8::2")
    gtp = dict(teid=7, outer_src="192.168.0.1", outer_dst="192.168.0.2")
    seg = F.tcp(b"OPTIONS sip:x SIP/2.0\r\n", 5060, 5062, 1, 0, F.TCP_PSH | F.TCP_ACK,
                "10.0.0.1", "10.0.0.2")
    dg = F.udp(bytes(range(200)) * 8, 7, 8, "10.0.0.5", "10.0.0.6")
    frags = F.ipv4_fragments(dg, "10.0.0.5", "10.0.0.6", 17, fragment_size=600)
    recs = []
    for i in range(n):
        k = i % 9
        body = bytes([i % 251]) * (12 + i % 40)
        if k == 0:
            f = F.udp_frame(body, f"10.0.{i % 5}.1", "10.0.0.2", 4000 + i % 3, 4002)
        elif k == 1:
            f = F.udp_frame(body, "10.0.0.3", f"10.0.{i % 7}.4", 5004, 5006, vlans=[100 + i])
        elif k == 2:
            f = F.udp_frame(body, *v6, 6000, 6002)
        elif k == 3:
            f = F.ethernet(F.ipv4(seg, "10.0.0.1", "10.0.0.2", 6))
        elif k == 4:
            f = F.udp_frame(body, "10.1.0.1", "10.1.0.2", 1004, 2004, gtp=dict(gtp, teid=i))
        elif k == 5:
            f = F.link_frame(frags[(i // 9) % len(frags)])
        elif k == 6:
            f = F.udp_frame(body, "10.0.0.8", "10.0.0.9", 7000, 7002, link="sll")
        elif k == 7:   # IPv4 total length 0 (TSO capture)
            pkt = bytearray(F.ipv4(F.udp(body, 8000, 8002, "10.0.0.1", "10.0.0.2"),
                                   "10.0.0.1", "10.0.0.2", 17))
            pkt[2:4] = b"\0\0"
            f = F.ethernet(bytes(pkt))
        else:
            f = F.udp_frame(body, "10.0.0.1", "10.0.0.2", 9000, 9002, vlans=[5, 6])
        recs.append((T0 + i * 20_000_000, f))
    return recs


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_bundled_captures_read_the_same_both_ways(path, monkeypatch):
    _assert_same(path, monkeypatch)


@pytest.mark.requires_shared
@pytest.mark.parametrize("path", shared_capture_files(), ids=lambda p: p.name)
def test_shared_captures_read_the_same_both_ways(path, monkeypatch):
    if not path.exists():
        pytest.skip(f"{path} absent")
    _assert_same(path, monkeypatch)


@pytest.mark.parametrize("chunk", [None, 1, 8, 50])
def test_plain_frames_between_every_other_kind(tmp_path, monkeypatch, chunk):
    path = F.write_pcap(tmp_path / "alt.pcap", _alternating())
    _assert_same(path, monkeypatch, **({} if chunk is None else {"chunk_packets": chunk}))


def test_snap_length_cuts_plain_frames(tmp_path, monkeypatch):
    recs = [(T0 + i, F.udp_frame(bytes(200), f"10.0.{i % 3}.1", "10.0.0.2", 4000, 4002))
            for i in range(60)]
    path = F.write_pcap(tmp_path / "snap.pcap", recs, snaplen=64)
    _assert_same(path, monkeypatch)
    pk = read_capture(path)
    assert (pk.caplen == 64).all() and (pk.payload_len == 64 - 42).all()
