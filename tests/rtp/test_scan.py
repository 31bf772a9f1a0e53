"""labkit.rtp.scan: the stream table of a capture read in chunks, in bounded memory.

Oracles: tshark 4.0.17's ``-z rtp,streams`` text (byte for byte, through ``labkit
streams --chunk-packets``), and the whole-file analysis of today's readers
(``stream_table(find_rtp(read_capture(path)))``, itself checked against tshark in
tests/rtp/test_streams.py), which a chunked read must reproduce value for value.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, shared_capture_files
from labkit.capture import read_capture
from labkit.rtp import find_rtp, scan_streams, stream_table
from rtp.test_streams import edge_case_records, offer_answer_records, write


def _captures():
    return sorted(p for p in (REPO / "data").glob("**/*") if p.suffix in (".pcap", ".pcapng"))


def assert_same_table(ref: dict, got: dict, where):
    assert list(ref) == list(got)
    for k in ref:
        a, b = ref[k], got[k]
        if isinstance(a, list):
            assert a == b, (where, k)
        else:
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape and np.array_equal(a, b), (where, k, a[:4], b[:4])


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_chunked_equals_whole_file(path, tmp_path):
    ref = stream_table(find_rtp(read_capture(path)))
    # 13- and 1-frame chunks cut streams, SDP offers and their RTP apart (the
    # statistics continue from chunk to chunk)
    assert_same_table(ref, scan_streams(path, chunk_packets=13), path.name)
    assert_same_table(ref, scan_streams(path), path.name)
    if len(ref["packets"]) and sum(ref["packets"]) < 3000:
        assert_same_table(ref, scan_streams(path, chunk_packets=1), path.name)


@pytest.mark.requires_shared
@pytest.mark.parametrize("path", [p for p in shared_capture_files()
                                  if p.suffix in (".pcap", ".pcapng")], ids=lambda p: p.name)
def test_chunked_equals_whole_file_on_shared_captures(path):
    if not path.exists():
        pytest.skip(f"{path} absent")
    ref = stream_table(find_rtp(read_capture(path)))
    assert_same_table(ref, scan_streams(path, chunk_packets=101), path.name)


def _labkit(*args):
    return subprocess.run([sys.executable, "-m", "labkit.cli", "streams", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def _tshark(path, *extra):
    return subprocess.run(["tshark", "-n", "-r", str(path), "-o", "rtp.heuristic_rtp:TRUE",
                           "-q", "-z", "rtp,streams", *extra], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.requires_tshark
@pytest.mark.parametrize("records", [edge_case_records, offer_answer_records])
def test_chunked_command_prints_tshark_text(tmp_path, records):
    # every branch of the 4.0 analysis (loss, wrap, reorder, CN, marker, wrong timestamps)
    # and SDP offers/answers/re-INVITEs, cut into 5-frame chunks
    path = write(tmp_path, "c.pcap", records())
    out = _labkit(path, "--chunk-packets", "5")
    assert out.returncode == 0, out.stderr
    assert out.stdout == _tshark(path)


@pytest.mark.requires_tshark
def test_gzip_capture_read_in_chunks_equals_tshark(tmp_path):
    plain = REPO / "data" / "lab" / "relay_rtpengine.pcap"
    if not plain.exists():
        pytest.skip("data/lab not generated")
    gz = tmp_path / "relay.pcap.gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    out = _labkit(gz, "--chunk-packets", "100")
    assert out.returncode == 0, out.stderr
    assert out.stdout == _tshark(plain)


def test_bad_chunk_size_is_a_clear_error(tmp_path):
    out = _labkit(REPO / "data" / "lab" / "relay_rtpengine.pcap", "--chunk-packets", "0")
    assert out.returncode != 0 and "--chunk-packets" in out.stderr


@pytest.mark.parametrize("memory", [1, 10**9])
@pytest.mark.parametrize("name", ["relay_stall", "jitter_host_egress", "early_media_ringback"])
def test_groups_give_whole_streams_in_file_order(name, memory, tmp_path):
    # each stream's header records, arrival and frame as find_rtp gives them for the
    # whole file; a stream never split between groups
    from labkit import data
    from labkit.capture import iter_capture
    from labkit.rtp.scan import StreamScan
    path = data.path(name)
    rtp = find_rtp(read_capture(path))
    scan = StreamScan(memory_bytes=memory, spill_dir=tmp_path, packets=True)
    for chunk in iter_capture(path, chunk_packets=17):
        scan.add(chunk)
    seen = set()
    for g in scan.groups():
        for s in np.unique(g["s"]).tolist():
            assert s not in seen
            seen.add(s)
            mine = g["s"] == s
            idx = np.flatnonzero(rtp.stream == s)
            for col, ref in (("t", rtp.t_ms), ("q", rtp.seq), ("ts", rtp.timestamp),
                             ("pt", rtp.pt), ("mk", rtp.marker), ("ck", rtp.clock),
                             ("ns", rtp.time_ns), ("fr", rtp.frame)):
                assert np.array_equal(g[col][mine], ref[idx]), (s, col)
    assert seen == set(range(rtp.n_streams))
    info = scan.streams()
    assert info["keys"] == [tuple(rtp.key_arrays[c][s].item() if hasattr(rtp.key_arrays[c][s], "item")
                                  else rtp.key_arrays[c][s] for c in ("src", "sport", "dst", "dport", "ssrc"))
                            for s in range(rtp.n_streams)]
    back = np.flatnonzero(np.diff(rtp.time_ns) < 0)    # dumpcap on 2 CPUs: a few per capture
    assert info["backwards_frame"] == (int(rtp.frame[back[0] + 1]) if len(back) else None)
    assert_same_table(stream_table(rtp), scan.table(), name)   # still usable after groups()
    assert list(tmp_path.iterdir()) == []


def test_read_error_in_the_reading_thread_reaches_the_caller(tmp_path):
    from labkit.errors import CaptureError

    bad = tmp_path / "not_a_capture.pcap"
    bad.write_bytes(b"this is not a capture file" * 4)
    with pytest.raises(CaptureError):
        scan_streams(bad)
