"""labkit.audio: storage decoding through OpenCORE, WAV export, per-frame classes.

Storage files come from the real encoders (tests/_amr_encoders.py); expected lengths
are hand-computed from RFC 4867 section 5 (one storage frame = 20 ms = 160 samples at
8 kHz or 320 at 16 kHz) and the frame sizes of RFC 4867 section 3.6.
"""
from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from labkit import audio
from labkit.audio import tones
from labkit.errors import DecodeError, LabkitWarning

from _amr_encoders import encode_nb, encode_wb
from _signals import white_noise


@pytest.fixture(scope="module")
def nb_tone():
    return encode_nb(tones.synthesize_tone("europe", 8000, 6.0, level=-10.0))


@pytest.fixture(scope="module")
def wb_dtx():
    return encode_wb(white_noise(16000, 4.0), dtx=True)


def test_nb_storage_layout_and_length(nb_tone):
    # 12.2 kbit/s: 244 bits -> 31 bytes + 1 header byte = 32 per frame after "#!AMR\n"
    wideband, frames = audio.split_storage(nb_tone)
    assert not wideband
    assert (len(nb_tone) - 6) == 32 * len(frames)
    d = audio.decode_storage(nb_tone)
    assert d.rate == 8000 and d.pcm.dtype == np.int16
    assert d.pcm.size == 160 * len(frames)
    assert set(d.ft.tolist()) == {7}


def test_decoded_tone_is_the_tone(nb_tone):
    d = audio.decode_storage(nb_tone)
    burst = d.pcm[int(0.2 * 8000):int(0.8 * 8000)].astype(float)
    spec = np.abs(np.fft.rfft(burst * np.hanning(burst.size)))
    assert np.fft.rfftfreq(burst.size, 1 / 8000)[spec.argmax()] == pytest.approx(425, abs=2)
    assert tones.level_dbfs(burst) == pytest.approx(-10.0, abs=1.0)


def test_sid_and_no_data_keep_real_time(wb_dtx):
    # DTX: SID (FT 9) and NO_DATA (FT 15) frames must still give 20 ms of audio each
    d = audio.decode_storage(wb_dtx)
    _, frames = audio.split_storage(wb_dtx)
    assert {9, 15} <= set(d.ft.tolist())
    assert d.rate == 16000 and d.pcm.size == 320 * len(frames)
    assert d.duration == pytest.approx(len(frames) * 0.02)
    # comfort noise is not silence: the decoder regenerates the noise floor
    assert tones.level_dbfs(d.pcm[16000:]) > audio.SILENCE_DBFS


def test_decode_amr_is_the_pcm(nb_tone):
    assert np.array_equal(audio.decode_amr(nb_tone), audio.decode_storage(nb_tone).pcm)


def test_decode_from_path(tmp_path, nb_tone):
    p = tmp_path / "x.3ga"
    p.write_bytes(nb_tone)
    assert audio.decode_storage(p).pcm.size == audio.decode_storage(nb_tone).pcm.size


def test_truncated_last_frame_warns(nb_tone):
    with pytest.warns(LabkitWarning, match="truncated"):
        d = audio.decode_storage(nb_tone[:-5])
    assert d.pcm.size == 160 * (audio.split_storage(nb_tone)[1].__len__() - 1)


def test_not_storage_is_a_clear_error():
    with pytest.raises(DecodeError, match="not an AMR storage file"):
        audio.decode_storage(b"RIFF....WAVEfmt ")
    # FT 10 is reserved in AMR (RFC 4867 4.3.2): header byte 0 1010 1 00 = 0x54
    with pytest.raises(DecodeError, match="reserved frame type 10"):
        audio.decode_storage(b"#!AMR\n" + b"\x54" + bytes(31))


def test_write_wav_round_trip(tmp_path):
    pcm = tones.synthesize_tone("uk", 16000, 1.0)
    path = audio.write_wav(tmp_path / "x.wav", pcm, 16000)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == \
            (1, 2, 16000, 16000)
    back, rate = audio.read_wav(path)
    assert rate == 16000 and np.array_equal(back, pcm)
    buf = io.BytesIO()
    audio.write_wav(buf, pcm, 16000)
    assert np.array_equal(audio.read_wav(buf.getvalue())[0], pcm)


def test_frame_classes_at_known_times():
    # 425 Hz 1/4 from t=0 at 8 kHz: frames 0-49 tone, 50-249 digital silence, 250-299 tone
    pcm = tones.synthesize_tone("europe", 8000, 6.0)
    df = audio.classify_frames(pcm, 8000)
    assert len(df) == 300
    assert (df["class"].iloc[:50] == "tone").all()
    assert (df["class"].iloc[50:250] == "digital silence").all()
    assert (df["class"].iloc[250:] == "tone").all()
    assert df["time"].iloc[250] == 5.0
    assert df["level"].iloc[0] == pytest.approx(-10.0, abs=0.2)


def test_frame_classes_with_frame_types(wb_dtx):
    d = audio.decode_storage(wb_dtx)
    kinds = np.where(d.ft == 9, "SID", np.where(d.ft == 15, "NO_DATA", "speech"))
    df = audio.classify_frames(d.pcm, d.rate, d.ft, kinds)
    assert list(df.columns) == ["frame", "time", "level", "class", "ft", "kind"]
    dtx = tones.dtx_frames(d.ft, True)
    assert set(df.loc[dtx, "class"]) <= {"comfort noise", "digital silence"}


def test_dtx_frames_rule():
    # SID(8) then NO_DATA = DTX; NO_DATA right after speech = a lost frame (concealed)
    ft = np.array([7, 15, 7, 8, 15, 15, 7, 15])
    assert tones.dtx_frames(ft, False).tolist() == [False, False, False, True, True, True,
                                                     False, False]


def test_plots_return_axes_with_the_data():
    import matplotlib.pyplot as plt
    from labkit import plots
    pcm = tones.synthesize_tone("europe", 8000, 6.0)
    runs = tones.tone_runs(pcm, 8000)
    ax = plots.plot_waveform(pcm, 8000, tone_runs=runs, t0=1.0)
    assert ax.get_xlabel() == "time [s]" and len(ax.patches) == len(runs) == 2
    ax = plots.plot_spectrogram(pcm, 8000, t0=1.0)
    assert ax.get_ylabel() == "frequency [Hz]"
    df = audio.classify_frames(pcm, 8000, np.full(300, 7), np.array(["speech"] * 300))
    ax = plots.plot_frame_timeline(df, t0=1.0)
    assert ax.get_xlim() == pytest.approx((1.0, 7.0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["RTP frames", "audio"]
    plt.close("all")


def test_g711_from_rtp_places_payloads_on_their_timestamps():
    # 3 packets of 160 samples at ts 2**32-160 (wraps), 0, 320 (one packet missing):
    # frames 0, 1 received, frame 2 a gap, frame 3 received; reordering undone
    a = bytes([0xD5]) * 160                    # A-law +8
    b = bytes([0x55]) * 160                    # A-law -8
    pcm, kind = audio.g711_from_rtp([0, 2**32 - 160, 320], [b, a, a], "PCMA")
    assert kind.tolist() == ["speech", "speech", "gap", "speech"]
    assert pcm[:160].tolist() == [8] * 160 and pcm[160:320].tolist() == [-8] * 160
    assert not pcm[320:480].any() and pcm[480:].tolist() == [8] * 160
