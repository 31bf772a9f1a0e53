"""labkit.capture.wireshark: asking tshark/pyshark/sharkd, with prefs and decode-as as parameters."""
from __future__ import annotations

import asyncio

import pytest

from labkit.capture import frames
from labkit.capture import wireshark
from labkit.errors import LabkitError, ToolMissingError

T0 = 1_700_000_000_000_000_000


def _rtp_capture(path, dport=50000, pt=5, n=4):
    recs = [(T0 + i * 20_000_000, frames.udp_frame(
        frames.rtp(bytes(80), pt=pt, seq=10 + i, ts=160 * i, ssrc=0xCAFE), "10.0.0.1",
        "10.0.0.2", 40000, dport)) for i in range(n)]
    frames.write_pcap(path, recs)
    return path


def test_tshark_args():
    args = wireshark.tshark_args({"rtp.heuristic_rtp": True, "x.y": "3"},
                                 {"udp.port==12344": "rtp"}, {"rtp_udp": True})
    assert args == ["-o", "rtp.heuristic_rtp:TRUE", "-o", "x.y:3", "-d",
                    "udp.port==12344,rtp", "--enable-heuristic", "rtp_udp"]


def test_parse_stream_table_with_spaces_in_names():
    # a line as tshark 4.0 prints it for PT 5 ("DVI4 8k", two words) with the X flag
    text = ("========================= RTP Streams ========================\n"
            "   Start time ...\n"
            "     0.000000      0.060000        10.0.0.1 40000        10.0.0.2 50000 "
            "0x0000CAFE    DVI4 8k, CN     4    -1 (-33.3%)          20.000          20.000"
            "          20.000           0.000           0.000           0.000 X\n"
            "==============================================================\n")
    df = wireshark.parse_rtp_streams(text)
    row = df.iloc[0]
    assert row.payloads == "DVI4 8k, CN" and row.ssrc == 0xCAFE and row.lost == -1
    assert row.lost_pct == -33.3 and bool(row.problem)


@pytest.mark.requires_tshark
def test_tshark_fields_and_prefs(tmp_path):
    path = _rtp_capture(tmp_path / "a.pcap")
    plain = wireshark.tshark_fields(path, ["frame.number", "rtp.ssrc"])
    assert list(plain["frame.number"]) == ["1", "2", "3", "4"]
    assert set(plain["rtp.ssrc"]) == {""}           # no RTP without the heuristic
    heur = wireshark.tshark_fields(path, ["rtp.ssrc", "rtp.seq"],
                                   prefs={"rtp.heuristic_rtp": "TRUE"})
    assert set(heur["rtp.ssrc"]) == {"0x0000cafe"} and list(heur["rtp.seq"]) == ["10", "11", "12", "13"]
    dec = wireshark.tshark_fields(path, ["rtp.seq"], display_filter="rtp.seq >= 12",
                                  decode_as={"udp.port==50000": "rtp"})
    assert list(dec["rtp.seq"]) == ["12", "13"]


@pytest.mark.requires_tshark
def test_tshark_rtp_streams_oracle(tmp_path):
    path = _rtp_capture(tmp_path / "b.pcap")
    df = wireshark.tshark_rtp_streams(path)
    assert len(df) == 1 and df.iloc[0].payloads == "DVI4 8k" and df.iloc[0].packets == 4
    assert len(wireshark.tshark_rtp_streams(path, heuristic=False)) == 0
    bound = wireshark.tshark_rtp_streams(path, heuristic=False,
                                         decode_as={"udp.port==50000": "rtp"})
    assert len(bound) == 1


@pytest.mark.requires_tshark
def test_tshark_errors(tmp_path):
    path = _rtp_capture(tmp_path / "c.pcap")
    with pytest.raises(LabkitError, match="tshark failed"):
        wireshark.tshark_fields(path, ["frame.number"], display_filter="rtp.seq ==== 1")
    with pytest.raises(LabkitError, match="not found"):
        wireshark.tshark_fields(tmp_path / "missing.pcap", ["frame.number"])


def test_tool_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    path = _rtp_capture(tmp_path / "d.pcap")
    with pytest.raises(ToolMissingError, match="apt-get install tshark"):
        wireshark.tshark_fields(path, ["frame.number"])
    with pytest.raises(ToolMissingError):
        wireshark.dissect(path)


@pytest.mark.requires_tshark
def test_dissect_inside_a_running_event_loop(tmp_path):
    """pyshark fails on a running loop (Jupyter); dissect() must still work there."""
    path = _rtp_capture(tmp_path / "e.pcap")

    async def in_kernel():
        return wireshark.dissect(path, "rtp", prefs={"rtp.heuristic_rtp": "TRUE"}, limit=2)

    trees = asyncio.run(in_kernel())
    assert [t["frame.number"] for t in trees] == [1, 2]
    names = [layer["name"] for layer in trees[0]["layers"]]
    assert names[-1] == "rtp" and "udp" in names
    flat = wireshark.dissect(path, "rtp", prefs={"rtp.heuristic_rtp": "TRUE"}, limit=4,
                             as_frame=True)
    assert list(flat["rtp.seq"]) == ["10", "11", "12", "13"]


@pytest.mark.requires_tshark
def test_sharkd_rtp_analyse(tmp_path):
    path = _rtp_capture(tmp_path / "f.pcap", pt=0)
    items = wireshark.sharkd_rtp_analyse(path, "10.0.0.1", 40000, "10.0.0.2", 50000, 0xCAFE,
                                         prefs={"rtp.heuristic_rtp": "TRUE"})
    # 20 ms apart with 20 ms of timestamps: delta 20, jitter 0 (first packet 0)
    assert list(items["f"]) == [1, 2, 3, 4]
    assert list(items["d"].astype(float)) == [0.0, 20.0, 20.0, 20.0]
    assert list(items["j"].astype(float)) == [0.0] * 4


@pytest.mark.parametrize("first_line, want", [
    # first lines of `tshark --version` as Debian 12 and Ubuntu 22.04 print them
    ("TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).", "4.0.17"),
    ("TShark (Wireshark) 3.6.2 (Git v3.6.2 packaged as 3.6.2-2)", "3.6.2"),
])
def test_tshark_version_is_the_number(monkeypatch, first_line, want):
    import subprocess

    class Done:
        stdout = first_line + "\n\nCopyright 1998-2024 Gerald Combs\n"
    monkeypatch.setattr(wireshark, "_tool", lambda name: name)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Done())
    assert wireshark.tshark_version() == want
