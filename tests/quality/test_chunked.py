"""labkit.quality.analyze_jitter on a file: read in chunks, streams analysed a group at a time.

Oracle: today's whole-file analysis (``analyze_jitter(read_capture(path))``: every RTP
packet in memory, itself checked against sharkd, the jitterlab ground truth and hand
arithmetic in test_quality.py), which the chunked read must reproduce value for value:
the JSON of ``labkit jitter``, the stall table and the per-packet tracks. Chunks of a few
frames cut streams, SDP offers and stalls apart; a 1-byte memory budget sends every
header record through the spill files.
"""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, shared_capture_files
from labkit import data
from labkit.capture import frames, read_capture
from labkit.errors import LabkitError
from labkit.quality import analyze_jitter, tracks_for_plots
from labkit.rtp import find_rtp, scan_streams, stream_timing

T0 = 1_700_000_000_000_000_000  # [ns]


def _captures():
    return sorted(p for p in (REPO / "data").glob("**/*") if p.suffix in (".pcap", ".pcapng"))


def _whole(*paths, **kw):
    return analyze_jitter(*[read_capture(p) for p in paths], **kw)


def assert_same_report(ref, got, tracks=True):
    assert got.to_dict() == ref.to_dict()
    assert ref.stalls.equals(got.stalls) or (ref.stalls.empty and got.stalls.empty)
    assert ref.hops.equals(got.hops)
    assert ref.events.equals(got.events)
    if tracks:
        assert list(got.tracks) == list(ref.tracks)
        for key, a in ref.tracks.items():
            b = got.tracks[key]
            for f in a.__dataclass_fields__:
                x, y = getattr(a, f), getattr(b, f)
                if isinstance(x, np.ndarray):
                    assert np.array_equal(x, y), (key, f)
                else:
                    assert x == y, (key, f)
        # Wireshark's per-packet numbers of each kept stream: the whole-file stream_timing
        assert list(got.timings) == list(ref.timings) == list(ref.tracks)
        for key, a in ref.timings.items():
            pd.testing.assert_frame_equal(a, got.timings[key])


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_chunked_equals_whole_file(path, tmp_path):
    ref = _whole(path)
    got = analyze_jitter(path, chunk_packets=13, memory_bytes=1, spill_dir=tmp_path,
                         keep_tracks=True)
    assert_same_report(ref, got)
    assert list(tmp_path.iterdir()) == []     # temporary files removed
    # default chunks and budget, no tracks kept: the same report
    lean = analyze_jitter(path, keep_tracks=False)
    assert lean.tracks == {} and lean.to_dict() == ref.to_dict()


@pytest.mark.parametrize("pair", [("jitter_host_egress", "jitter_host_ingress"),
                                  ("jitter_network_egress", "jitter_network_ingress"),
                                  ("jitter_host_egress", "jitter_network_egress")])
def test_two_captures_chunked_equal_whole_files(pair, tmp_path):
    paths = [data.path(n) for n in pair]
    ref = _whole(*paths)
    # relay hops from the per-SSRC arrays kept on disk (tracks dropped)
    got = analyze_jitter(*paths, chunk_packets=7, memory_bytes=1, spill_dir=tmp_path,
                         keep_tracks=False)
    assert_same_report(ref, got, tracks=False)
    assert got.tracks == {} and list(tmp_path.iterdir()) == []
    assert_same_report(ref, analyze_jitter(*paths, chunk_packets=50, keep_tracks=True))


def test_relay_hops_survive_dropped_tracks():
    # both legs of the real relay_stall capture: same SSRC in and out of rtpengine
    path = data.path("relay_stall")
    ref = _whole(path)
    got = analyze_jitter(path, chunk_packets=11, memory_bytes=1, keep_tracks=False)
    assert len(ref.hops) > 0 and ref.hops.equals(got.hops)
    assert got.to_dict() == ref.to_dict()


def test_gzip_capture_in_chunks_equals_plain(tmp_path):
    plain = data.path("jitter_host_egress")
    gz = tmp_path / "egress.pcap.gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    ref = _whole(plain).to_dict()
    got = analyze_jitter(gz, chunk_packets=100).to_dict()
    assert got.pop("files") == ["egress.pcap.gz"] and ref.pop("files") == [plain.name]
    assert got == ref


def _series(times_ms, *, seq0=100, pt=0, ssrc=0x1234, dport=50000, step=160):
    return [(T0 + int(round(t * 1e6)), frames.udp_frame(
        frames.rtp(bytes(160), pt=pt, seq=seq0 + i, ts=1000 + i * step, ssrc=ssrc),
        "10.0.0.1", "10.0.0.2", 40000, dport)) for i, t in enumerate(times_ms)]


@pytest.mark.parametrize("chunk", [1, 3, 11, 12, 1000])
def test_notes_and_skipped_streams_survive_chunks(tmp_path, chunk):
    # a stall, a short stream, a dynamic PT without clock, and time going back once
    # (frame 12 earlier than frame 11): the note names the same frame in every cut
    times = [i * 20.0 for i in range(60)]
    times[30:] = [t + 120.0 for t in times[30:]]
    recs = sorted(_series(times) + _series([5.0], ssrc=0x99, dport=50010) +
                  _series([i * 20.0 + 3 for i in range(30)], pt=96, ssrc=0x77, dport=50020),
                  key=lambda r: r[0])
    recs[10], recs[11] = recs[11], recs[10]
    path = tmp_path / "mixed.pcap"
    frames.write_pcap(path, recs)
    ref = _whole(path)
    assert any("go backwards at frame 12" in n for n in ref.notes)    # (1-based frames)
    assert len(ref.skipped) == 2 and len(ref.stalls) == 1
    got = analyze_jitter(path, chunk_packets=chunk, memory_bytes=1, keep_tracks=True)
    assert_same_report(ref, got)
    # only stream 0 asked for: same as the whole file with the same filter
    assert_same_report(_whole(path, streams=[0]),
                       analyze_jitter(path, chunk_packets=chunk, memory_bytes=1, streams=[0]))
    # streams by first appearance: 0 the 60-packet one, 1 PT 96 (no clock), 2 one packet
    table = scan_streams(path)
    assert tracks_for_plots(path, table) is None                  # small file: every track
    assert tracks_for_plots(path, table, limit_bytes=0) == [0]
    assert tracks_for_plots(path, table, streams=[1, 2], limit_bytes=0) == []
    assert analyze_jitter(path, chunk_packets=chunk, keep_tracks=[]).tracks == {}


@pytest.mark.parametrize("name", ["jitter_host_egress", "relay_stall", "relay_rtpengine"])
def test_keep_tracks_of_chosen_streams(name):
    # the tracks and Wireshark timing of the streams asked for, and only those; the rest
    # of the report as the whole-file read's
    path = data.path(name)
    ref = _whole(path)
    rtp = find_rtp(read_capture(path))
    wanted = [1, rtp.n_streams - 1]
    keys = [s["key"] for s in ref.streams if s["stream"] in wanted]
    for got in (analyze_jitter(path, chunk_packets=17, memory_bytes=1, keep_tracks=wanted),
                analyze_jitter(read_capture(path), keep_tracks=wanted),
                analyze_jitter(path, keep_tracks=tuple(np.array(wanted)))):
        assert got.to_dict() == ref.to_dict()
        assert list(got.tracks) == list(got.timings) == keys
        for key, s in zip(keys, wanted):
            assert np.array_equal(got.tracks[key].transit_ms, ref.tracks[key].transit_ms)
            pd.testing.assert_frame_equal(got.timings[key], stream_timing(rtp, s))


def test_keep_tracks_of_compare_side_none():
    paths = [data.path("jitter_host_egress"), data.path("jitter_host_ingress")]
    ref = _whole(*paths)
    got = analyze_jitter(*paths, chunk_packets=50, keep_tracks=[0])
    assert got.to_dict() == ref.to_dict() and got.hops.equals(ref.hops)
    assert list(got.tracks) == [ref.streams[0]["key"]]


@pytest.mark.parametrize("bad", [["0"], [1.5], "0", 3])
def test_keep_tracks_bad_value(bad):
    with pytest.raises(LabkitError, match="keep_tracks"):
        analyze_jitter(data.path("jitter_host_egress"), keep_tracks=bad)


@pytest.mark.requires_shared
@pytest.mark.parametrize("path", [p for p in shared_capture_files()
                                  if p.suffix in (".pcap", ".pcapng")], ids=lambda p: p.name)
def test_chunked_equals_whole_file_on_shared_captures(path):
    if not path.exists():
        pytest.skip(f"{path} absent")
    ref = _whole(path)
    assert_same_report(ref, analyze_jitter(path, chunk_packets=101, memory_bytes=1,
                                           keep_tracks=True))
