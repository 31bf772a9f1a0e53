"""``labkit streams``: the same text tshark 4.0 prints for ``-q -z rtp,streams``."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO
from labkit.capture import frames
from labkit.cli import main

T0 = 1_700_000_000_000_000_000


def _capture(path):
    recs = []
    for k, (pt, step) in enumerate([(8, 160), (96, 320)]):
        for i in range(40):
            t = T0 + k * 3_000_000 + i * 20_000_000 + (i % 5) * 700_000
            pkt = frames.rtp(bytes(61), pt=pt, seq=100 + i, ts=step * i, ssrc=0x100 + k)
            recs.append((t, frames.udp_frame(pkt, "10.0.0.1", "10.0.0.2", 40000 + 2 * k,
                                             50000 + 2 * k)))
    frames.write_pcap(path, sorted(recs, key=lambda r: r[0]))
    return path


def _tshark(path, *extra):
    return subprocess.run(["tshark", "-n", "-r", str(path), "-o", "rtp.heuristic_rtp:TRUE",
                           "-q", "-z", "rtp,streams", *extra], capture_output=True,
                          text=True, check=True).stdout


def _labkit(*args):
    return subprocess.run([sys.executable, "-m", "labkit.cli", "streams", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


@pytest.mark.requires_tshark
def test_text_identical_to_tshark(tmp_path):
    path = _capture(tmp_path / "two.pcap")
    out = _labkit(path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == _tshark(path)


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["relay_rtpengine.pcap", "early_media_ringback.pcap"])
def test_text_identical_to_tshark_on_data(name):
    path = REPO / "data" / "lab" / name
    if not path.exists():
        pytest.skip(f"{name} not generated")
    assert _labkit(path).stdout == _tshark(path)


def test_json_and_clock_rate_override(tmp_path, capsys):
    path = _capture(tmp_path / "two.pcap")
    assert main(["streams", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    dyn = [r for r in rows if r["ssrc"] == 0x101][0]
    assert dyn["payloads"] == "RTPType-96" and dyn["min_jitter"] == -1.0
    assert main(["streams", str(path), "--json", "--clock-rate", "96=AMR-WB"]) == 0
    dyn = [r for r in json.loads(capsys.readouterr().out) if r["ssrc"] == 0x101][0]
    # arrivals wobble 0, 0.7, 1.4, 2.1, 2.8 ms around a 20 ms grid -> jitter > 0
    assert dyn["payloads"] == "AMR-WB" and dyn["clock_rate"] == 16000 and dyn["max_jitter"] > 0


def test_bad_arguments(tmp_path, capsys):
    path = _capture(tmp_path / "two.pcap")
    assert main(["streams", str(path), "--clock-rate", "96"]) == 2
    assert "bad --clock-rate" in capsys.readouterr().err
    assert main(["streams", str(tmp_path / "nope.pcap")]) == 2
    assert "labkit: error:" in capsys.readouterr().err
