"""labkit.audio.ringback: per-direction verdicts from RTP streams and whole captures.

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

from labkit import amr, audio
from labkit.audio import ringback
from labkit.audio import tones
from labkit.errors import LabkitError, LabkitWarning

from _amr_encoders import encode_nb, encode_wb


def _raw(storage: bytes, *, wideband: bool, oa: bool = False, fpp: int = 1, t0: float = 0.12,
         stream: int = 0, src="10.0.0.2", dst="10.0.0.1", drop=()) -> ringback.StreamPackets:
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
    return ringback.StreamPackets(stream, src, 50000, dst, 40000, 0xB0000001, 96,
                               np.array(seq), np.array(ts), np.array(tm), pl)


@pytest.fixture(scope="module")
def wb_ringback():
    return encode_wb(tones.synthesize_tone("europe", 16000, 12.0, level=-12.0))


def test_early_media_and_call_are_judged_separately(wb_ringback):
    # stream starts at 0.12 s; 200 OK at 6.12 s -> cut after (6.12 - 0.12) / 0.02 = 300 frames
    raw = _raw(wb_ringback, wideband=True)
    timeline = {"invite": 0.0, "progress": 0.05, "answer": 6.12}
    parts = ringback.analyze_stream(raw, codec=("AMR-WB", False), direction="B->A", call=timeline)
    assert [p.phase for p in parts] == ["early media", "after answer"]
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
    assert early.extract is call.extract and early.extract.frames_total == 600


def test_phases_rules():
    assert ringback.stream_phases(0.1, 500, {}) == [("whole stream", 0, 500)]
    assert ringback.stream_phases(0.1, 500, {"invite": 0.0}) == [("early media", 0, 500)]
    assert ringback.stream_phases(0.1, 500, {"answer": 0.05}) == [("after answer", 0, 500)]
    # 200 OK 0.3 s after the stream started: too short to judge apart (< 0.5 s)
    assert ringback.stream_phases(0.1, 500, {"answer": 0.4}) == [("after answer", 0, 500)]
    # (5.1 - 0.1) / 0.02 = 250 frames before the answer
    assert ringback.stream_phases(0.1, 500, {"answer": 5.1}) == [("early media", 0, 250),
                                                                 ("after answer", 250, 500)]
    # 0.45 s before the end (500 - 478 = 22 frames < 25): too short, all early media
    assert ringback.stream_phases(0.1, 500, {"answer": 9.66}) == [("early media", 0, 500)]


def test_octet_aligned_multi_frame_with_loss():
    st = encode_nb(tones.synthesize_tone("uk", 8000, 9.0, level=-10.0), bitrate=7950)
    rng = np.random.default_rng(3)
    drop = set(np.flatnonzero(rng.random(150) < 0.03).tolist())
    raw = _raw(st, wideband=False, oa=True, fpp=3, drop=drop)
    parts = ringback.analyze_stream(raw, codec=("AMR", True), direction="B->A")
    assert parts[0].phase == "whole stream"
    assert parts[0].result.plan.key == "uk"
    assert parts[0].extract.gap_frames == 3 * len(drop)


def test_evs_and_other_codecs_are_reported_not_decoded(wb_ringback):
    raw = _raw(wb_ringback, wideband=True)
    parts = ringback.analyze_stream(raw, codec="EVS")
    assert parts[0].verdict == "EVS, cannot decode here" and parts[0].audio is None
    parts = ringback.analyze_stream(raw, codec="GSM")
    assert parts[0].verdict.startswith("GSM: not decoded here") and parts[0].audio is None


def test_non_amr_payload_forced_to_amr_is_a_warning_not_a_crash():
    # G.711 payloads (160 bytes of 0xFF) are not AMR-WB bandwidth-efficient
    raw = ringback.StreamPackets(1, "10.0.0.1", 40000, "10.0.0.2", 50000, 1, 0,
                              np.arange(50), np.arange(50) * 160, np.arange(50) * 0.02,
                              [b"\xff" * 160] * 50)
    with pytest.warns(LabkitWarning, match="not decoded"):
        parts = ringback.analyze_stream(raw, codec=("AMR-WB", False), direction="A->B")
    assert parts[0].audio is None and parts[0].verdict.startswith("not AMR-WB")


def test_codec_from_heuristic_and_override(wb_ringback):
    raw = _raw(wb_ringback, wideband=True)
    assert ringback.stream_codec(raw)[:2] == ("AMR-WB", False)
    assert ringback.stream_codec(raw)[2].startswith("heuristic")
    assert ringback.stream_codec(raw, override=("AMR", True)) == ("AMR", True, "given")


def test_directions_without_sip_take_the_first_sender_as_a():
    a = _raw(encode_nb(np.zeros(800, np.int16)), wideband=False, stream=0, t0=0.5,
             src="10.0.0.1", dst="10.0.0.2")
    b = _raw(encode_nb(np.zeros(800, np.int16)), wideband=False, stream=1, t0=0.2)
    assert ringback.stream_directions([a, b], []) == {0: "B->A", 1: "A->B"}
    assert ringback.stream_directions([a, b], [{"caller": "10.0.0.1", "invite": 0.0}]) == {0: "A->B", 1: "B->A"}


def test_export_direction(tmp_path, wb_ringback):
    raw = _raw(wb_ringback, wideband=True)
    parts = ringback.analyze_stream(raw, codec=("AMR-WB", False), direction="B->A")
    paths = ringback.export_direction(parts[0], tmp_path)
    assert paths["storage"].suffix == ".awb"
    # the storage file rebuilt from RTP is the encoder's file (no loss: byte for byte)
    assert paths["storage"].read_bytes() == wb_ringback
    pcm, rate = audio.read_wav(paths["wav"])
    assert rate == 16000 and np.array_equal(pcm, parts[0].audio.pcm)


# --------------------------------------------------------------------------- captures

def _bundled(name):
    from labkit import data
    if name not in data.names():
        pytest.skip(f"bundled capture {name} not built (make data)")
    return data.path(name)


def _quiet(capture, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = ringback.analyze_ringback(capture, **kw)
    return report, caught


def _by_ssrc(report, ssrc):
    stream = int(report.streams.loc[report.streams["ssrc"] == f"0x{ssrc:08X}", "stream"].iloc[0])
    return [d for d in report.directions if d.stream == stream]


@pytest.mark.parametrize("name", ["ringback_amrwb", "ringback_amrnb"])
def test_real_baresip_call(name):
    # data/lab: bob (B, callee, 10.0.0.2) plays the Europe ringback file (425 Hz, 1 s on
    # 4 s off, -10 dBFS), alice (A, caller) speaks; baresip sends RTP only after the 200
    report, _ = _quiet(_bundled(name))
    assert sorted(report.streams["direction"]) == ["A->B", "B->A"]
    assert set(report.streams["codec_from"]) == {"SDP"}
    assert set(report.streams["format"]) == {"octet-aligned"}
    by_dir = {d.direction: d for d in report.directions}
    assert set(d.phase for d in report.directions) == {"after answer"}
    b2a = by_dir["B->A"].result
    assert b2a.verdict == "ringback" and b2a.plan.key == "europe"
    assert b2a.frequencies == (425.0,)
    assert np.allclose(b2a.cadence, (1.0, 4.0), atol=0.045)
    assert b2a.level == pytest.approx(-10.0, abs=1.0)
    # three bursts, 5 s apart (the file's 0-1, 5-6, 10-11 s)
    starts = [r.start for r in b2a.segments]
    assert len(starts) == 3 and np.allclose(np.diff(starts), 5.0, atol=0.05)
    assert by_dir["A->B"].result.verdict == "speech"
    assert "Direction B->A (after answer): TONE AFTER ANSWER (not ringback: the 200 OK came first): ringback tone present, Europe 425 Hz 1.0/4.0 s" in report.answer()


SYNTH_TONE = ["synth_amrwb_be_ringback", "synth_amrnb_be_ringback", "synth_amrnb_oa_ringback",
              "synth_amrwb_oa_2fpp_ipv6", "synth_amrnb_be_3fpp_vlan", "synth_amrnb_oa_dtx_loss",
              "synth_amrwb_be_dtx_dup_reorder", "synth_amrnb_be_seqwrap_sll",
              "synth_amrwb_be_gtpu", "synth_amrwb_be_modes_4fpp", "synth_amrnb_be_sip_first",
              "synth_amrwb_be_nosdp", "synth_amrnb_oa_nosdp"]


@pytest.mark.parametrize("name", SYNTH_TONE)
def test_synthetic_capture_tone_at_the_right_times(name):
    # tools/synth/make_amr.py: INVITE at T0, 183 at T0 + 0.05 s; a packet of n frames
    # whose first frame is slot k arrives at T0 + 0.1 s + (k + n) x 20 ms (+0-2 ms
    # jitter), so frame 0 of B's stream is at T0 + 0.12 s with the convention of
    # ringback.analyze_stream (StreamAudio.t0); the tone is at 0-1, 5-6, 10-11 s of B's stream; 200 OK at
    # T0 + 11.2 s, after the media. Capture time 0 is the first frame: the INVITE (T0);
    # with other traffic first (sip_first) T0 - 0.3 s; without SIP (nosdp) the first
    # RTP packet, T0 + 0.1 s + n x 20 ms.
    report, _ = _quiet(_bundled(name))
    fpp = 2 if name == "synth_amrnb_oa_nosdp" else 1
    origin = {"synth_amrnb_be_sip_first": 0.3, "synth_amrwb_be_nosdp": -(0.1 + fpp * 0.02),
              "synth_amrnb_oa_nosdp": -(0.1 + fpp * 0.02)}.get(name, 0.0)
    b = _by_ssrc(report, 0xB0000001)
    assert len(b) == 1
    d = b[0]
    has_sip = "nosdp" not in name
    assert d.phase == ("early media" if has_sip else "whole stream")
    assert d.result.verdict == "ringback" and d.result.plan.key == "europe"
    got = [(d.t0 + r.start, d.t0 + r.end) for r in d.result.segments]
    want = [(origin + 0.12 + a, origin + 0.12 + a + 1.0) for a in (0.0, 5.0, 10.0)]
    assert np.allclose(got, want, atol=0.045), got
    a = _by_ssrc(report, 0xA0000001)[0]
    assert a.result.verdict in ("comfort noise only", "digital silence")  # -60 dBFS noise
    if has_sip:
        assert d.direction == "B->A" and a.direction == "A->B"


def test_early_media_ringback_from_a_real_relay():
    # data/lab early_media_ringback: on the 183 rtpengine (10.0.0.10) plays the Europe
    # ringback to A as its own stream until the 200 OK (bursts at 0-1 and 5-6 s, PCMA),
    # then B's speech flows; A sends silence throughout
    report, _ = _quiet(_bundled("early_media_ringback"))
    answer = report.timeline["answer"]
    early = [d for d in report.directions if d.phase == "early media" and d.direction == "B->A"]
    assert len(early) == 1 and early[0].codec == "PCMA"
    r = early[0].result
    assert r.verdict == "ringback" and r.plan.key == "europe"
    assert r.level == pytest.approx(-10.0, abs=0.5)   # G.711 keeps the -10 dBFS tone
    assert np.allclose([(s.start, s.end) for s in r.segments], [(0.0, 1.0), (5.0, 6.0)],
                       atol=0.045)
    assert early[0].t0 + early[0].result.duration <= answer + 0.05
    call = [d for d in report.directions if d.phase == "after answer" and d.direction == "B->A"]
    assert call and all(d.result.verdict == "speech" for d in call)
    assert all(d.result.verdict == "digital silence" for d in report.directions
               if d.direction == "A->B")


def test_g711_expansion_matches_cpython_audioop():
    audioop = pytest.importorskip("audioop")  # CPython's C implementation (< 3.13)
    codes = bytes(range(256))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert np.array_equal(audio.decode_g711(codes, "PCMA"),
                              np.frombuffer(audioop.alaw2lin(codes, 2), "<i2"))
        assert np.array_equal(audio.decode_g711(codes, "PCMU"),
                              np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2"))
    # ITU-T G.711 end points: A-law 0xD5 -> +8, 0xAA -> +32256; mu-law 0x80 -> +32124
    assert audio.decode_g711(b"\xd5\xaa", "PCMA").tolist() == [8, 32256]
    assert audio.decode_g711(b"\x80\xff", "PCMU").tolist() == [32124, 0]


def test_evs_is_reported_not_decoded():
    report, _ = _quiet(_bundled("synth_evs_compact"))
    assert set(report.streams["codec"]) == {"EVS"}
    assert [d.verdict for d in report.directions] == ["EVS, cannot decode here"] * 2


def test_damaged_payloads_and_a_pcmu_direction():
    # B's stream has 4 damaged payloads (make_amr: packets 40, 41, 200, 333); A sends PCMU
    report, caught = _quiet(_bundled("synth_amrnb_be_damaged"))
    assert any("4 damaged payload(s) skipped" in str(w.message) for w in caught)
    b = _by_ssrc(report, 0xB0000001)[0]
    assert b.result.plan.key == "europe" and b.extract.damaged == 4
    # A's PCMU payloads are all 0xFF, mu-law zero (ITU-T G.711 Table 2a): digital silence
    a = _by_ssrc(report, 0xA0000001)[0]
    assert a.codec == "PCMU" and a.extract is None
    assert a.audio.pcm.size == 550 * 160 and not a.audio.pcm.any()
    assert a.result.verdict == "digital silence"


def test_non_amr_stream_forced_to_amr_warns_and_the_other_direction_survives():
    path = _bundled("synth_amrnb_be_damaged")
    report, _ = _quiet(path)
    pcmu = int(report.streams.loc[report.streams["codec"] == "PCMU", "stream"].iloc[0])
    report, caught = _quiet(path, codecs={pcmu: "AMR"})
    assert any("not decoded" in str(w.message) for w in caught)
    a = [d for d in report.directions if d.stream == pcmu][0]
    assert a.audio is None and a.verdict.startswith("not AMR")
    assert _by_ssrc(report, 0xB0000001)[0].result.verdict == "ringback"


def test_payload_not_this_amr_variant():
    # AMR-NB octet-aligned payloads read as AMR-WB bandwidth-efficient: every payload
    # fails RFC 4867 parsing -> a note, not noise
    path = _bundled("synth_amrnb_oa_ringback")
    report, caught = _quiet(path, codecs={0: ("AMR-WB", False), 1: ("AMR-WB", False)})
    assert all(d.audio is None and d.verdict.startswith("not AMR-WB")
               for d in report.directions)
    assert len([w for w in caught if "not decoded" in str(w.message)]) == 2


def test_truncated_capture(tmp_path):
    # cut the capture at 60 % of its bytes: a warning, and what came before is judged
    src = _bundled("synth_amrwb_be_ringback")
    raw = src.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[: int(len(raw) * 0.6)])
    report, caught = _quiet(cut)
    assert caught, "a truncated capture must warn"
    b = _by_ssrc(report, 0xB0000001)[0]
    assert b.result.verdict == "ringback"          # bursts at 0-1 and 5-6 s survive
    assert _by_ssrc(report, 0xA0000001)[0].audio is not None


def test_choose_streams_by_id_and_ssrc():
    path = _bundled("synth_amrnb_be_ringback")
    report, _ = _quiet(path, stream=[0xB0000001])
    assert len(report.directions) == 1 and report.directions[0].direction == "B->A"
    assert len(report.streams) == 2    # the table still lists every stream
    with pytest.raises(LabkitError, match="no RTP stream"):
        ringback.analyze_ringback(path, stream=[77])


@pytest.mark.requires_shared
def test_real_amr_nb_capture_every_stream_decodes(shared_dir):
    # ../shared/captures/amr: AMR-NB bandwidth-efficient, Linux SLL, 6 SSRCs, no SDP,
    # every packet captured twice
    path = next((shared_dir / "amr").glob("*.pcap"))
    report, _ = _quiet(path)
    assert len(report.streams) == 6
    assert set(report.streams["codec"]) == {"AMR"}
    assert set(report.streams["format"]) == {"bandwidth-efficient"}
    assert len(report.directions) == 6
    for d in report.directions:
        assert d.audio is not None and d.extract.damaged == 0
        assert d.extract.duplicates > 0 or d.extract.packets > 0
        assert d.result.verdict in ("speech", "comfort noise only", "digital silence")


def test_cli_table_and_json(capsys):
    from labkit.cli import main
    path = str(_bundled("synth_amrnb_be_ringback"))
    assert main(["ringback", path]) == 0
    out = capsys.readouterr().out
    assert "Direction B->A (early media): ringback tone present, Europe 425 Hz 1.0/4.0 s" in out
    assert main(["ringback", path, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    verdicts = {v["direction"]: v for v in doc["verdicts"]}
    assert verdicts["B->A"]["verdict"] == "ringback" and verdicts["B->A"]["plan"] == "Europe"
    assert verdicts["B->A"]["frequencies"] == "425"
    assert doc["timeline"]["answer"] == pytest.approx(11.2)
    assert main(["ringback", path, "--stream", "77"]) == 2


def test_direction_picker_widget():
    import matplotlib
    matplotlib.use("Agg")
    from labkit import widgets
    report, _ = _quiet(_bundled("synth_amrnb_be_damaged"))
    box = widgets.direction_picker(report, selected=[])
    pick = box.children[0]
    assert [label for label, _ in pick.options] == [widgets.direction_label(d)
                                                   for d in report.directions]
    assert pick.options[0][0] == "0: A->B early media (PCMU)"
    pick.value = (1,)     # selecting a direction draws it without error
    import matplotlib.pyplot as plt
    plt.close("all")


def test_stream_table_without_signalling():
    # synth_amrnb_oa_nosdp: no SIP/SDP, AMR 10.2 octet-aligned, 2 frames per packet
    # (make_amr): 11 s / 40 ms = 275 packets per direction
    table = ringback.audio_streams(_bundled("synth_amrnb_oa_nosdp"))
    assert list(table.columns) == ["stream", "direction", "party", "ssrc", "pt", "codec", "format",
                                   "codec_from", "mode", "packets", "lost", "start", "end"]
    assert table["codec"].tolist() == ["AMR", "AMR"]
    assert table["format"].tolist() == ["octet-aligned"] * 2
    assert all(s.startswith("heuristic") for s in table["codec_from"])
    assert table["packets"].tolist() == [275, 275]
    assert table["mode"].tolist() == ["10.2", "10.2"]   # FT 6 in every ToC


def test_each_stream_is_split_by_its_own_call(wb_ringback):
    # two calls without SDP match: the stream starting at 12.12 s belongs to the second
    # INVITE (10 s), whose 200 OK at 20.12 s cuts it after (20.12 - 12.12) / 0.02 = 400
    calls = [{"invite": 0.0, "answer": 0.5, "call_id": "c1", "caller": "10.0.0.1"},
             {"invite": 10.0, "answer": 20.12, "call_id": "c2", "caller": "10.0.0.1"}]
    raw = _raw(wb_ringback, wideband=True, t0=12.12)
    call = ringback.stream_call(raw, calls)
    assert call["call_id"] == "c2"
    parts = ringback.analyze_stream(raw, codec=("AMR-WB", False), direction="B->A", call=call)
    assert [(p.phase, p.audio.pcm.size // 320) for p in parts] == [("early media", 400),
                                                                  ("after answer", 200)]
    early = _raw(wb_ringback, wideband=True, t0=0.1)
    assert ringback.stream_call(early, calls)["call_id"] == "c1"


@pytest.mark.requires_shared
def test_two_calls_in_one_capture(shared_dir):
    # sip-rtp-g711: two calls (PCMU, then PCMA), each answered at once by 10.0.2.15
    path = next((shared_dir / "sip_rtp_g711").glob("*Red-Rabbit*sip-rtp-g711.pcap"))
    report, _ = _quiet(path)
    assert len(report.calls) == 2
    assert sorted(report.streams["codec"]) == ["PCMA", "PCMU"]
    assert all(d.phase == "after answer" and d.direction == "B->A" for d in report.directions)


# ---------------------------------------------------------------- tone after answer

def test_tone_finding_rule():
    assert ringback.tone_finding("after answer", "ringback") == ringback.TONE_AFTER_ANSWER
    assert ringback.tone_finding("after answer", "tone") == ringback.TONE_AFTER_ANSWER
    assert ringback.tone_finding("early media", "ringback") == ringback.RINGBACK_EARLY_MEDIA
    assert ringback.tone_finding("after answer", "speech") == ""
    assert ringback.tone_finding("whole stream", "ringback") == ""


@pytest.mark.parametrize("name", ["ringback_amrwb", "ringback_amrnb"])
def test_real_baresip_tone_is_after_answer(name):
    # data/lab/MANIFEST.tsv: bob auto-answers, so the 200 OK (frame 4, a few ms after the
    # INVITE) precedes B's first RTP packet; every tone of B->A is after the answer.
    from labkit import sip
    report, _ = _quiet(_bundled(name))
    answer = sip.ringback_signalling(_bundled(name)).query("status == 200")["time"].iloc[0]
    rows = report.verdicts()
    b2a = rows[rows["direction"] == "B->A"].iloc[0]
    assert b2a["phase"] == "after answer" and b2a["finding"] == ringback.TONE_AFTER_ANSWER
    assert answer < b2a["start"]
    assert (rows.loc[rows["direction"] == "A->B", "finding"] == "").all()


def test_early_media_ringback_is_not_tone_after_answer():
    # rtpengine plays the tone between the 183 and the 200 (data/lab/MANIFEST.tsv)
    report, _ = _quiet(_bundled("early_media_ringback"))
    rows = report.verdicts()
    assert set(rows["finding"]) == {ringback.RINGBACK_EARLY_MEDIA, ""}
    early = rows[rows["finding"] == ringback.RINGBACK_EARLY_MEDIA]
    assert early[["direction", "phase"]].values.tolist() == [["B->A", "early media"]]


def test_doctor_reports_the_same_tone_after_answer(capsys):
    import json
    from labkit.cli import main
    path = str(_bundled("ringback_amrwb"))
    main(["doctor", path, "--json"])
    found = [f for f in json.loads(capsys.readouterr().out)["findings"]
             if f["check"] == "audio.ringback"]
    report, _ = _quiet(path)
    rows = report.verdicts()
    assert len(found) == (rows["finding"] == ringback.TONE_AFTER_ANSWER).sum() == 1
    assert found[0]["severity"] == "warning" and found[0]["what"].startswith(ringback.TONE_AFTER_ANSWER)


def test_seconds_window_keeps_the_ringback_verdict_and_judges_less():
    # data/lab/MANIFEST.tsv: early_media_ringback's tone bursts 0-1, 5-6, 10-11 s of the
    # callee's file; a 3 s window after the answer judges at most ~3 s of the call phase
    from labkit import data
    full = ringback.analyze_ringback(data.path("early_media_ringback"))
    cut = ringback.analyze_ringback(data.path("early_media_ringback"), seconds=3.0)
    early = lambda rep: [(d.stream, d.verdict) for d in rep.directions if d.phase == "early media"]
    assert early(cut) == early(full)
    answer = full.calls[0]["answer"]
    for d in cut.directions:
        if d.phase == "after answer" and d.audio is not None:
            assert d.t0 + len(d.audio.pcm) / d.audio.rate <= answer + 3.0 + 0.1


def _captures_with_rtp():
    from conftest import REPO, shared_capture_files
    return sorted((REPO / "data").rglob("*.pcap*")) + [p for p in shared_capture_files()
                                                       if p.exists()]


def _same(a, b):
    assert [(x.stream, x.src, x.sport, x.dst, x.dport, x.ssrc, x.pt, x.lost, x.codec_hint)
            for x in a] == [(y.stream, y.src, y.sport, y.dst, y.dport, y.ssrc, y.pt, y.lost,
                             y.codec_hint) for y in b]
    for x, y in zip(a, b):
        assert np.array_equal(x.seq, y.seq) and np.array_equal(x.timestamp, y.timestamp)
        assert np.array_equal(x.time, y.time) and x.payloads == y.payloads


@pytest.mark.parametrize("path", _captures_with_rtp(), ids=lambda p: p.name)
def test_a_file_read_in_chunks_gives_the_streams_of_a_whole_read(path):
    """stream_packets(path) reads twice in chunks (streams, then payloads): the same
    streams, packets and payload bytes as from the whole file's packets, whose stream
    table the RTP tests check against tshark; with 7-frame chunks too (streams, SDP,
    fragments and payloads across chunk boundaries)."""
    from labkit.capture import read_capture
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            whole = audio.stream_packets(read_capture(path, progress=False))
        except LabkitError:
            pytest.skip("not a capture labkit reads")
        for chunk in (250_000, 7):
            _same(whole, audio.stream_packets(path, chunk_packets=chunk))


@pytest.mark.parametrize("name", ["ringback_amrwb", "ringback_amrnb", "early_media_ringback"])
def test_analyze_ringback_on_a_path_equals_on_its_packets(name):
    from labkit import data
    from labkit.capture import read_capture
    path = data.path(name)
    a = ringback.analyze_ringback(path, seconds=30)
    b = ringback.analyze_ringback(read_capture(path), seconds=30)
    assert a.verdicts().equals(b.verdicts())
    assert a.streams.equals(b.streams) and a.path == b.path
