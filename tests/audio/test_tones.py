"""Ringback detection (labkit.audio.tones) on known tones, speech-like signals, noise, silence.

Expected values are the parameters the signals were built with (the plan's lines and
cadence from ITU-T E.180 Supplement 2, the level passed to synthesize_tone); AMR cases
go through the real encoders (OpenCORE AMR-NB via PyAV, VisualOn AMR-WB via ctypes)
and the OpenCORE decoders.
"""
from __future__ import annotations

import numpy as np
import pytest

from labkit import audio
from labkit.audio import tones
from labkit.errors import LabkitError

from _amr_encoders import encode_nb, encode_wb
from _signals import speech_like, white_noise

PLANS = list(tones.TONE_PLANS)


def _coded(pcm, rate, codec):
    if codec == "pcm":
        return pcm, None
    if codec == "nb":
        st = encode_nb(pcm)
    elif codec == "nb-dtx":
        st = encode_nb(pcm, dtx=True)
    elif codec == "nb4.75":
        st = encode_nb(pcm, bitrate=4750)
    elif codec == "wb":
        st = encode_wb(pcm)
    elif codec == "wb6.60":
        st = encode_wb(pcm, mode=0)
    else:
        st = encode_wb(pcm, dtx=True)
    d = audio.decode_storage(st)
    return d.pcm, d.ft


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("codec,rate", [("pcm", 8000), ("nb", 8000), ("nb-dtx", 8000),
                                        ("nb4.75", 8000), ("wb", 16000), ("wb6.60", 16000),
                                        ("wb-dtx", 16000)])
def test_every_plan_is_recognised(plan, codec, rate):
    p = tones.TONE_PLANS[plan]
    pcm, ft = _coded(tones.synthesize_tone(plan, rate, 12.0, level=-10.0, start_phase=0.3),
                     rate, codec)
    r = tones.detect_ringback(pcm, rate, ft=ft)
    assert r.verdict == "ringback"
    assert r.plan == p
    # the lines the signal was built from (carrier +/- modulation for '*' plans)
    assert np.allclose(sorted(r.frequencies), p.frequencies, atol=3.0)
    # cadence within two 20 ms frames of the plan
    assert np.allclose(r.cadence, p.cadence, atol=0.045)
    # built at -10 dBFS; a speech codec keeps a tone's level within ~1 dB at its top
    # rates; the lowest modes (4.75 / 6.60 kbit/s) lose up to ~3 dB on two-tone signals
    assert abs(r.level - (-10.0)) <= (3.0 if codec in ("nb4.75", "wb6.60") else 1.2)
    assert r.summary.startswith(f"ringback tone present, {p.label}")


def test_tone_found_at_the_right_times():
    # Europe 425 Hz from t=0: bursts at 0-1, 5-6, 10-11 s in 12 s of audio
    pcm = tones.synthesize_tone("europe", 8000, 12.0, level=-15.0)
    runs = tones.tone_runs(pcm, 8000)
    assert [(r.start, r.end) for r in runs] == [(0.0, 1.0), (5.0, 6.0), (10.0, 11.0)]
    r = tones.detect_ringback(pcm, 8000)
    assert r.time_range == (0.0, 12.0)
    assert r.level == pytest.approx(-15.0, abs=0.05)


def test_start_mid_cadence():
    # start 0.5 s into the on-burst: 0-0.5 on (cut by the start), next bursts at 4.5, 9.5 s
    pcm = tones.synthesize_tone("europe", 8000, 12.0, start_phase=0.5)
    runs = tones.tone_runs(pcm, 8000)
    assert [(r.start, r.end) for r in runs] == [(0.0, 0.5), (4.5, 5.5), (9.5, 10.5)]
    assert tones.detect_ringback(pcm, 8000).plan.key == "europe"


@pytest.mark.parametrize("rate", [8000, 16000])
def test_speech_like_is_speech(rate):
    for seed in range(3):
        pcm = speech_like(rate, 8.0, seed=seed)
        assert tones.detect_ringback(pcm, rate).verdict == "speech"
        coded, ft = _coded(pcm, rate, "nb" if rate == 8000 else "wb")
        assert tones.detect_ringback(coded, rate, ft=ft).verdict == "speech"


def test_speech_with_loss_has_no_tone():
    # concealment of lost frames must not turn a steady vowel into a "tone"
    for wideband in (False, True):
        rate = 16000 if wideband else 8000
        st = (encode_wb if wideband else encode_nb)(speech_like(rate, 10.0, seed=4))
        magic = b"#!AMR-WB\n" if wideband else b"#!AMR\n"
        _, frames = audio.split_storage(st)
        lost = np.random.default_rng(4).random(len(frames)) < 0.05
        d = audio.decode_storage(magic + b"".join(b"\x7c" if x else f
                                                  for f, x in zip(frames, lost)))
        r = tones.detect_ringback(d.pcm, rate, ft=d.ft)
        assert r.verdict == "speech" and r.segments == ()


def test_comfort_noise_and_silence():
    assert tones.detect_ringback(white_noise(8000, 6.0), 8000).verdict == "comfort noise only"
    pcm, ft = _coded(white_noise(8000, 6.0), 8000, "nb-dtx")
    assert 8 in ft and 15 in ft  # the encoder really went to DTX (SID + NO_DATA)
    assert tones.detect_ringback(pcm, 8000, ft=ft).verdict == "comfort noise only"
    pcm, ft = _coded(white_noise(16000, 6.0), 16000, "wb-dtx")
    assert 9 in ft and 15 in ft
    assert tones.detect_ringback(pcm, 16000, ft=ft).verdict == "comfort noise only"
    assert tones.detect_ringback(np.zeros(48000, np.int16), 8000).verdict == "digital silence"
    assert tones.detect_ringback(np.zeros(10, np.int16), 8000).verdict == "no audio"


@pytest.mark.parametrize("seed", [7, 8, 9])
@pytest.mark.parametrize("rate", [0.01, 0.05])
def test_tone_with_loss_still_found(seed, rate):
    # 1-5 % of the AMR frames replaced by NO_DATA (0x7C) as a receiver stores lost packets
    rng = np.random.default_rng(seed)
    st = encode_nb(tones.synthesize_tone("europe", 8000, 15.0, level=-10.0))
    wideband, frames = audio.split_storage(st)
    lost = rng.random(len(frames)) < rate
    data = b"#!AMR\n" + b"".join(b"\x7c" if x else f for f, x in zip(frames, lost))
    d = audio.decode_storage(data)
    assert d.pcm.size == len(frames) * 160
    r = tones.detect_ringback(d.pcm, 8000, ft=d.ft)
    assert r.verdict == "ringback" and r.plan.key == "europe"


def test_busy_and_dial_tone_are_not_ringback():
    # a European busy tone (425 Hz 0.5/0.5) and a continuous dial tone are tones, not ringback
    t = np.arange(8000 * 8) / 8000
    busy = (np.sin(2 * np.pi * 425 * t) * ((t % 1.0) < 0.5) * 10000).astype(np.int16)
    r = tones.detect_ringback(busy, 8000)
    assert r.verdict == "tone" and r.frequencies == (425.0,)
    assert r.cadence == pytest.approx((0.5, 0.5), abs=0.03)
    dial = (np.sin(2 * np.pi * 425 * t) * 10000).astype(np.int16)
    assert tones.detect_ringback(dial, 8000).verdict == "tone"


def test_plan_restriction():
    pcm = tones.synthesize_tone("europe", 8000, 12.0)
    assert tones.detect_ringback(pcm, 8000, plans=["uk"]).verdict == "tone"
    assert tones.detect_ringback(pcm, 8000, plans=["europe"]).plan.key == "europe"


def test_uk_and_australia_told_apart_by_the_425_hz_carrier():
    for key in ("uk", "australia"):
        pcm = tones.synthesize_tone(key, 8000, 9.0)
        assert tones.detect_ringback(pcm, 8000).plan.key == key


def test_level_dbfs_definition():
    # AES17: a full-scale sine (peak 32767) is 0 dBFS: 20 log10(32767/32768) = -0.0003 dB
    t = np.arange(8000) / 8000
    assert tones.level_dbfs(32767 * np.sin(2 * np.pi * 1000 * t)) == pytest.approx(0.0, abs=0.001)
    assert tones.level_dbfs(3276.7 * np.sin(2 * np.pi * 1000 * t)) == pytest.approx(-20.0, abs=0.001)
    assert tones.level_dbfs(np.zeros(8)) == float("-inf")


def test_goertzel_power():
    # sine of amplitude A, whole number of cycles: power A**2/4 at its frequency, ~0 elsewhere
    t = np.arange(400) / 8000  # 400 samples = 21.25 cycles of 425 Hz -> use 400 Hz: 20 cycles
    x = 1000 * np.sin(2 * np.pi * 400 * t)
    assert tones.goertzel_power(x, 8000, 400) == pytest.approx(1000 ** 2 / 4, rel=1e-6)
    assert tones.goertzel_power(x, 8000, 1000) < 1e-6 * 1000 ** 2


def test_plan_table_is_cited():
    for p in tones.TONE_PLANS.values():
        assert "E.180" in p.source
        assert len(p.cadence) % 2 == 0 and all(c > 0 for c in p.cadence)
    assert tones.TONE_PLANS["europe"].label == "Europe 425 Hz 1.0/4.0 s"
    with pytest.raises(LabkitError, match="unknown tone plan"):
        tones.tone_plan("atlantis")


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("wideband", [False, True])
def test_every_plan_survives_5_percent_loss(plan, wideband):
    # lost frames stored as NO_DATA; the decoder conceals them and recovers over a few
    # frames; the 0.4 s bursts of the double-ring plans are the hard case
    rate = 16000 if wideband else 8000
    st = (encode_wb if wideband else encode_nb)(tones.synthesize_tone(plan, rate, 12.0))
    magic, n = (b"#!AMR-WB\n", 320) if wideband else (b"#!AMR\n", 160)
    _, frames = audio.split_storage(st)
    for seed in range(3):
        lost = np.random.default_rng(seed).random(len(frames)) < 0.05
        d = audio.decode_storage(magic + b"".join(b"\x7c" if x else f
                                                  for f, x in zip(frames, lost)))
        assert d.pcm.size == len(frames) * n
        r = tones.detect_ringback(d.pcm, rate, ft=d.ft)
        assert r.verdict == "ringback" and r.plan.key == plan, (seed, r.summary)


def test_one_burst_split_by_a_loss_burst_is_tolerated():
    # 30 s of Europe ringback (6 bursts); 200 ms of consecutive lost frames in the middle
    # of the third burst (frames 510-519 = 10.2-10.4 s) split it in two runs; a silence
    # that short (< half of Europe's 4 s) cannot belong to the cadence and is closed
    st = encode_nb(tones.synthesize_tone("europe", 8000, 30.0))
    _, frames = audio.split_storage(st)
    data = b"#!AMR\n" + b"".join(b"\x7c" if 510 <= i < 520 else f for i, f in enumerate(frames))
    d = audio.decode_storage(data)
    r = tones.detect_ringback(d.pcm, 8000, ft=d.ft)
    assert len(r.segments) == 7
    assert r.verdict == "ringback" and r.plan.key == "europe"
    assert r.cadence == pytest.approx((1.0, 4.0), abs=0.045)


def test_dbm0_from_the_g711_digital_milliwatt():
    # Oracle: ITU-T G.711 Tables 5 (A-law) and 6 (mu-law): this 8-character sequence
    # decodes to a 1 kHz sine of exactly 0 dBm0 (the digital milliwatt).
    from labkit.audio import pcm
    alaw = pcm.decode_g711(bytes([0x34, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4]) * 100, "PCMA")
    ulaw = pcm.decode_g711(bytes([0x1E, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E]) * 100, "PCMU")
    assert tones.dbfs_to_dbm0(tones.level_dbfs(alaw), "A") == pytest.approx(0.0, abs=0.01)
    assert tones.dbfs_to_dbm0(tones.level_dbfs(ulaw), "mu") == pytest.approx(0.0, abs=0.01)
    # hand arithmetic: G.711 section 5, full-scale sine = +3.14 dBm0 (A-law)
    assert tones.dbfs_to_dbm0(0.0, "A") == pytest.approx(3.14)
    with pytest.raises(LabkitError):
        tones.dbfs_to_dbm0(0.0, "G.722")


def test_every_plan_names_its_standard():
    for plan in tones.TONE_PLANS.values():
        assert plan.standard, plan.key
    assert tones.TONE_PLANS["europe"].standard.startswith("ETSI ES 201 970")
    assert all("E.180" in p.standard for k, p in tones.TONE_PLANS.items() if k != "europe")
