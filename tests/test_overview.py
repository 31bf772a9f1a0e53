"""labkit.overview against tshark's own counts on the bundled captures."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labkit import data, overview

pytestmark = pytest.mark.requires_tshark


def _tshark(path, *args) -> str:
    return subprocess.run(["tshark", "-n", "-o", "esp.enable_null_encryption_decode_heuristic:TRUE",
                           "-r", str(path), *args], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("name", ["ringback_amrwb", "codec_mismatch_488", "relay_rtpengine",
                                  "sms_mt_rpda_iphone"])
def test_counts_equal_tshark(name):
    path = data.path(name)
    ov = overview.overview(path)
    assert ov.n_frames == len(_tshark(path, "-T", "fields", "-e", "frame.number").split())
    # one row per frame carrying UDP (innermost datagram when tunnelled)
    assert ov.n_udp == len(_tshark(path, "-Y", "udp", "-T", "fields", "-e", "frame.number").split())
    calls = set(_tshark(path, "-Y", "sip.Method == INVITE", "-T", "fields", "-e", "sip.Call-ID").split())
    assert set(ov.calls["call_id"]) >= calls
    sms = _tshark(path, "-Y", 'sip.Content-Type == "application/vnd.3gpp.sms"', "-T", "fields",
                  "-e", "frame.number").split()
    assert ov.n_sms == len(sms)


def test_next_steps_follow_the_contents():
    amr = overview.next_steps(overview.overview(data.path("ringback_amrwb")))
    assert "01_ringback_amr_playback.ipynb" in set(amr["notebook"])
    failed = overview.next_steps(overview.overview(data.path("codec_mismatch_488")))
    row = failed[failed["notebook"] == "04_codec_negotiation.ipynb"].iloc[0]
    assert "488" in row["because"]  # tshark: the INVITE's final response is 488 (data/lab manifest)
    sms = overview.next_steps(overview.overview(data.path("sms_mt_rpda_iphone")))
    assert {"02_sms_over_ip_overhead.ipynb", "03_iphone_mt_sms_rp_da.ipynb"} <= set(sms["notebook"])


def test_cli_overview_json():
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "overview", "--json",
                          str(data.path("ringback_amrwb"))], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    streams = [l for l in _tshark(data.path("ringback_amrwb"), "-q", "-z", "rtp,streams").splitlines()
               if l.strip() and l.strip()[0].isdigit()]
    assert got["rtp_streams"] == len(streams) == 2
    assert got["sip_calls"] == 1


def test_cli_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a capture\n")
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "overview", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("labkit: error:") and "notes.txt" in out.stderr
    assert "Traceback" not in out.stderr
