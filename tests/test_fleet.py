"""labkit.fleet: many captures on Dask. Oracles: tshark (per-call SIP counts, per-file
RTP packets), a serial run of the same files, and a real multi-process Dask cluster
(scheduler and worker processes started here on loopback, stopped by PID)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from labkit import data, fleet
from labkit.cli import main
from labkit.errors import LabkitError

LAB = data.path("ringback_amrwb").parent
SMS = data.path("sms_mo_submit").parent


@pytest.fixture(scope="module")
def serial():
    return fleet.run_fleet([LAB, SMS], scheduler="serial")


def _same(a: fleet.Fleet, b: fleet.Fleet):
    for name in ("calls", "streams", "errors", "stalls", "relays"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_dtype=False)


def test_local_dask_cluster_equals_a_serial_run(serial):
    _same(fleet.run_fleet([LAB, SMS], workers=2), serial)
    # data/lab/MANIFEST.tsv: 7 real calls' captures, relay_stall holds two calls; data/sms
    # has SIP MESSAGE only (no INVITE dialog, so no call)
    assert len(serial.calls) == 8 and serial.errors.empty


def test_big_files_read_in_chunks_give_the_same_tables(serial, monkeypatch):
    # every file over the threshold: SIP, streams and jitter each read in chunks (oracle:
    # the whole-file read of the serial run, itself checked against tshark below)
    monkeypatch.setattr(fleet, "WHOLE_BYTES", 0)
    _same(fleet.run_fleet([LAB, SMS], scheduler="serial"), serial)


@pytest.mark.requires_tshark
def test_per_call_sip_messages_and_per_file_rtp_packets_equal_tshark(serial):
    from labkit.capture.wireshark import tshark_fields, tshark_rtp_streams
    for path in fleet.capture_files([LAB, SMS]):
        sip = tshark_fields(path, ["sip.Call-ID", "sip.CSeq.method"], display_filter="sip")
        ids = sip["sip.Call-ID"].astype(str)
        invite = set(ids[sip["sip.CSeq.method"].astype(str).str.contains("INVITE")])
        want = Counter(i for i in ids if i in invite)      # calls are INVITE dialogs
        calls = serial.calls[serial.calls["file"] == path.name]
        assert dict(zip(calls["call_id"], calls["sip_messages"])) == dict(want), path.name
        rtp = tshark_rtp_streams(path)
        got = serial.streams[serial.streams["file"] == path.name]
        assert int(got["packets"].sum()) == int(rtp["packets"].sum()), path.name
        assert int(calls["rtp_packets"].sum()) <= int(rtp["packets"].sum())


def test_damaged_and_foreign_files_are_reported_and_the_others_processed(tmp_path):
    good = data.path("relay_rtpengine")
    shutil.copy(good, tmp_path / "a_good.pcap")
    raw = good.read_bytes()
    (tmp_path / "b_cut.pcap").write_bytes(raw[: len(raw) // 2 + 7])     # cut inside a record
    (tmp_path / "c_notes.pcap").write_bytes(b"this is a text file, not a capture\n" * 4)
    out = fleet.run_fleet(tmp_path, scheduler="serial")
    assert out.errors["file"].tolist() == ["c_notes.pcap"]
    assert "not a pcap" in out.errors.loc[0, "error"].lower() or "capture" in out.errors.loc[0, "error"].lower()
    by_file = out.calls.groupby("file")["rtp_packets"].sum()
    assert by_file["a_good.pcap"] == 2200                               # tshark: 4 x 550
    assert 0 < by_file["b_cut.pcap"] < 2200                             # the packets before the cut


def test_nothing_to_read_is_a_clear_error(tmp_path):
    with pytest.raises(LabkitError, match="no capture file in .*give a folder"):
        fleet.capture_files(tmp_path / "*.pcap")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_workers(address: str, n: int, timeout: float = 60.0):
    from distributed import Client
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout)


def test_the_same_code_on_a_separate_scheduler_and_worker_process(serial):
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command line (distributed) is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        time.sleep(1.0)
        procs.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "1",
                                       "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        _wait_for_workers(address, 1)
        _same(fleet.run_fleet([LAB, SMS], scheduler=address), serial)
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_unreachable_scheduler_says_which_address():
    # nothing listens on port 9: Dask retries the refused connection until connect_timeout
    # and says so ("after 2 s": the timeout given, not the 20 s default, was used)
    with pytest.raises(LabkitError, match=r"cannot reach the Dask scheduler tcp://127.0.0.1:9: .* after 2 s"):
        fleet.run_fleet(LAB, scheduler="tcp://127.0.0.1:9", connect_timeout=2)


def test_command_json_and_parquet_hold_the_same_calls(tmp_path, capsys, serial):
    out = tmp_path / "day.parquet"
    assert main(["fleet", str(LAB), "--serial", "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    lab = serial.calls[serial.calls["file"].isin({p.name for p in LAB.iterdir()})]
    assert [c["call_id"] for c in doc["calls"]] == lab["call_id"].tolist()
    back = pd.read_parquet(out)
    assert back["call_id"].tolist() == lab["call_id"].tolist()
    assert pd.read_parquet(tmp_path / "day_streams.parquet")["packets"].sum() == \
        serial.streams[serial.streams["file"].isin(set(lab["file"]))]["packets"].sum()


def test_summary_names_the_failures_the_lab_made(serial):
    # data/lab/MANIFEST.tsv: codec_mismatch_488 and fmtp_rewrite_reject are answered 488
    assert "2 failed set-up(s) (2 x 488)" in serial.summary()
    assert serial.summary().startswith(f"{len(fleet.capture_files([LAB, SMS]))} capture(s), 8 call(s)")
