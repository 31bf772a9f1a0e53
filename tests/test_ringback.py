"""labkit.ringback: per-direction verdicts from RTP streams and whole captures.

Unit part: RTP streams built here from real encoder output (tests/_amr_encoders.py)
packetized with labkit.amr (RFC 4867), so the expected tone times are known exactly.
Capture part: the synthetic captures of tools/synth/make_amr.py (B sends the Europe
ringback, 425 Hz 1 s on / 4 s off, tone at 0-1, 5-6, 10-11 s of its stream, A sends
-60 dBFS noise, all between the 183 and the 200 OK) and the real baresip captures of
data/lab (the callee plays a Europe 425 Hz ringback file, the caller speech).
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from labkit import amr, audio, ringback, tones
from labkit.errors import LabkitError, LabkitWarning

from _amr_encoders import encode_nb, encode_wb


def _raw(storage: bytes, *, wideband: bool, oa: bool = False, fpp: int = 1, t0: float = 0.12,
         stream: int = 0, src="10.0.0.2", dst="10.0.0.1", drop=()) -> ringback._RawStream:
    """An RTP stream (seq, timestamp, arrival [s], payloads) carrying `storage`."""
    _, frames = audio.split_storage(storage)
    fr = [amr.AmrFrame((f[0] >> 3) & 0xF, bool(f[0] & 4), f[1:]) for f in frames]
    spf = 320 if wideband else 160
    seq, ts, tm, pl = [], [], [], []
    for k, i in enumerate(range(0, len(fr), fpp)):
        if k in drop:
            continue
        seq.append(1000 + k)
        ts.append(5000 + i * spf)
        tm.append(t0 + i * 0.02)
        pl.append(amr.packetize_amr(fr[i:i + fpp], wideband=wideband, octet_aligned=oa))
    return ringback._RawStream(stream, src, 50000, dst, 40000, 0xB0000001, 96,
                               np.array(seq), np.array(ts), np.array(tm), pl)


@pytest.fixture(scope="module")
def wb_ringback():
    return encode_wb(tones.synthesize_tone("europe", 16000, 12.0, level=-12.0))


def test_early_media_and_call_are_judged_separately(wb_ringback):
    # stream starts at 0.12 s; 200 OK at 6.12 s -> cut after (6.12 - 0.12) / 0.02 = 300 frames
    raw = _raw(wb_ringback, wideband=True)
    timeline = {"invite": 0.0, "progress": 0.05, "answer": 6.12}
    extract, parts = ringback._analyze_raw(raw, "AMR-WB", False, "B->A", timeline, None, "t")
    assert [p.phase for p in parts] == ["early media", "call"]
    early, call = parts
    assert early.t0 == pytest.approx(0.12) and call.t0 == pytest.approx(6.12)
    assert early.audio.pcm.size == 300 * 320
    assert early.result.verdict == "ringback" and early.result.plan.key == "europe"
    # tone bursts at 0-1 and 5-6 s of the stream = 0.12-1.12 and 5.12-6.12 s capture time
    # (within one 20 ms frame: the codec's delay moves the end of a burst by a few ms)
    got = [(r.start, r.end) for r in early.result.segments]
    assert np.allclose(got, [(0.0, 1.0), (5.0, 6.0)], atol=0.021)
    # the call part starts 6.0 s into the stream: next burst at 10-11 s -> 4-5 s in the part
    got = [(r.start, r.end) for r in call.result.segments]
    assert np.allclose(got, [(4.0, 5.0)], atol=0.021)
    assert early.summary.startswith("B->A (early media): ringback tone present, Europe 425 Hz")
    assert extract.frames_total == 600


def test_phases_rules():
    assert ringback._phases(0.1, 500, {}) == [("whole stream", 0, 500)]
    assert ringback._phases(0.1, 500, {"invite": 0.0}) == [("early media", 0, 500)]
    assert ringback._phases(0.1, 500, {"answer": 0.05}) == [("call", 0, 500)]
    # 200 OK 0.3 s after the stream started: too short to judge apart (< 0.5 s)
    assert ringback._phases(0.1, 500, {"answer": 0.4}) == [("call", 0, 500)]
    assert ringback._phases(0.1, 500, {"answer": 5.1}) == [("early media", 0, 250),
                                                           ("call", 250, 500)]


def test_octet_aligned_multi_frame_with_loss():
    st = encode_nb(tones.synthesize_tone("uk", 8000, 9.0, level=-10.0), bitrate=7950)
    rng = np.random.default_rng(3)
    drop = set(np.flatnonzero(rng.random(150) < 0.03).tolist())
    raw = _raw(st, wideband=False, oa=True, fpp=3, drop=drop)
    _, parts = ringback._analyze_raw(raw, "AMR", True, "B->A", {}, None, "t")
    assert parts[0].phase == "whole stream"
    assert parts[0].result.plan.key == "uk"
    assert parts[0].extract.gap_frames == 3 * len(drop)


def test_evs_and_other_codecs_are_reported_not_decoded(wb_ringback):
    raw = _raw(wb_ringback, wideband=True)
    _, parts = ringback._analyze_raw(raw, "EVS", False, "B->A", {}, None, "t")
    assert parts[0].verdict == "EVS, cannot decode here" and parts[0].audio is None
    _, parts = ringback._analyze_raw(raw, "PCMU", False, "B->A", {}, None, "t")
    assert parts[0].verdict.startswith("PCMU: not AMR")


def test_non_amr_payload_forced_to_amr_is_a_warning_not_a_crash():
    # G.711 payloads (160 bytes of 0xFF) are not AMR-WB bandwidth-efficient
    raw = ringback._RawStream(1, "10.0.0.1", 40000, "10.0.0.2", 50000, 1, 0,
                              np.arange(50), np.arange(50) * 160, np.arange(50) * 0.02,
                              [b"\xff" * 160] * 50)
    with pytest.warns(LabkitWarning, match="not decoded"):
        _, parts = ringback._analyze_raw(raw, "AMR-WB", False, "A->B", {}, None, "t")
    assert parts[0].audio is None and parts[0].verdict.startswith("not AMR-WB")


def test_codec_from_heuristic_and_override(wb_ringback):
    raw = _raw(wb_ringback, wideband=True)
    assert ringback._codec_of(raw, None)[:2] == ("AMR-WB", False)
    assert ringback._codec_of(raw, None)[2].startswith("heuristic")
    assert ringback._codec_of(raw, None, ("AMR", True)) == ("AMR", True, "given")


def test_directions_without_sip_take_the_first_sender_as_a():
    a = _raw(encode_nb(np.zeros(800, np.int16)), wideband=False, stream=0, t0=0.5,
             src="10.0.0.1", dst="10.0.0.2")
    b = _raw(encode_nb(np.zeros(800, np.int16)), wideband=False, stream=1, t0=0.2)
    assert ringback._directions([a, b], {}) == {0: "B->A", 1: "A->B"}
    assert ringback._directions([a, b], {"caller": "10.0.0.1"}) == {0: "A->B", 1: "B->A"}


def test_export_direction(tmp_path, wb_ringback):
    raw = _raw(wb_ringback, wideband=True)
    _, parts = ringback._analyze_raw(raw, "AMR-WB", False, "B->A", {}, None, "t")
    paths = ringback.export_direction(parts[0], tmp_path)
    assert paths["storage"].suffix == ".awb"
    # the storage file rebuilt from RTP is the encoder's file (no loss: byte for byte)
    assert paths["storage"].read_bytes() == wb_ringback
    pcm, rate = audio.read_wav(paths["wav"])
    assert rate == 16000 and np.array_equal(pcm, parts[0].audio.pcm)
