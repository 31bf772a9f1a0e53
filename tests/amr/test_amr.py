"""labkit.amr: RFC 4867 payloads, storage files, real-time storage from RTP, heuristics.

Oracles: hand-derived bit layouts (comments show the derivation), the real encoders'
storage output (PyAV libopencore_amrnb, libvo-amrwbenc) as reference files, and
tshark 4.0's AMR dissector for the ToC fields, packet by packet.
"""
from __future__ import annotations

import random
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from labkit import amr
from labkit.amr import AmrFrame
from labkit.errors import ConfigError, DecodeError, LabkitError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.synth import amr_codec, amr_rtp, make_amr  # noqa: E402

REAL_AMR = "amr/hdiniz__rtpdump__samples__sample1_ipv4_amr-nb.pcap"


def _frame(ft, wideband, rnd, q=True):
    nbits = amr.frame_bits(ft, wideband)
    value = rnd.getrandbits(nbits) if nbits else 0
    return AmrFrame(ft, q, (value << (-nbits % 8)).to_bytes((nbits + 7) // 8, "big"))


# ---------------------------------------------------------------- hand-derived layouts
def test_be_no_data_payload_from_real_capture():
    # 0x27 0xC0 = 0010 | 0 1111 1 | 000000: CMR 2, F 0, FT 15 (NO_DATA), Q 1, 6 pad bits
    pkt = amr.depacketize_amr(bytes.fromhex("27c0"))
    assert pkt.cmr == 2 and pkt.frames == (AmrFrame(15, True, b""),)


def test_be_sid_payload_bits():
    # 64 4e c1 e3 2c 65 00 (real capture, SSRC 0x25b105): 0110 | 0 1000 1 | 39 SID bits | 1 pad
    # CMR 6, FT 8 (SID), Q 1; the 39 bits start at bit 10: 0x644ec1e32c6500 << 10 ...
    payload = bytes.fromhex("644ec1e32c6500")
    pkt = amr.depacketize_amr(payload)
    assert (pkt.cmr, pkt.frames[0].ft, pkt.frames[0].q) == (6, 8, True)
    value = int.from_bytes(payload, "big")                  # 56 bits
    sid = (value >> (56 - 10 - 39)) & ((1 << 39) - 1)       # bits 10..48
    assert pkt.frames[0].bits == (sid << 1).to_bytes(5, "big")


def test_octet_aligned_layout():
    # CMR byte 0111 0000 = 0x70 (CMR 7); ToC bytes 1 0111 1 00 = 0xBC (F, FT 7, Q),
    # 0 1000 1 00 = 0x44 (FT 8 SID); then 31 bytes (244 bits) and 5 bytes (39 bits)
    rnd = random.Random(3)
    f1, f2 = _frame(7, False, rnd), _frame(8, False, rnd)
    payload = amr.packetize_amr([f1, f2], octet_aligned=True, cmr=7)
    assert payload[:3] == bytes([0x70, 0xBC, 0x44]) and len(payload) == 3 + 31 + 5
    assert payload[3:] == f1.bits + f2.bits


def test_be_two_frames_length():
    # 4 + 2*6 + 2*477 = 970 bits -> 122 bytes (AMR-WB 23.85, RFC 4867 4.3.5.3 padding)
    rnd = random.Random(4)
    payload = amr.packetize_amr([_frame(8, True, rnd)] * 2, wideband=True)
    assert len(payload) == 122
    assert int.from_bytes(payload, "big") & 0b111111 == 0     # 6 zero padding bits


@pytest.mark.parametrize("wideband", [False, True])
@pytest.mark.parametrize("octet_aligned", [False, True])
def test_round_trip_random_frames(wideband, octet_aligned):
    rnd = random.Random(10 + 2 * wideband + octet_aligned)
    table = amr.WB_FRAME_BITS if wideband else amr.NB_FRAME_BITS
    valid = [ft for ft, n in enumerate(table) if n >= 0]
    for _ in range(500):
        frames = [_frame(rnd.choice(valid), wideband, rnd, rnd.random() < .9)
                  for _ in range(rnd.randint(1, 8))]
        cmr = rnd.choice([0, 3, 7, 15])
        payload = amr.packetize_amr(frames, wideband=wideband, octet_aligned=octet_aligned,
                                    cmr=cmr)
        pkt = amr.depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned)
        assert pkt.cmr == cmr and list(pkt.frames) == frames


def test_wideband_speech_lost_and_sid():
    rnd = random.Random(5)
    frames = [_frame(9, True, rnd), AmrFrame(14, True, b""), AmrFrame(15, True, b"")]
    for oa in (False, True):
        pkt = amr.depacketize_amr(amr.packetize_amr(frames, wideband=True, octet_aligned=oa),
                                  wideband=True, octet_aligned=oa)
        assert [f.ft for f in pkt.frames] == [9, 14, 15]
        assert [amr.frame_kind(f.ft, f.q, True) for f in pkt.frames] == ["SID", "lost", "NO_DATA"]


# ---------------------------------------------------------------- damaged payloads
@pytest.mark.parametrize("payload, octet_aligned, text", [
    (bytes([0x70, 0x60]) + bytes(40), True, "reserved"),          # OA ToC FT 12
    # BE: 1111 | 0 110 + 0 | ... = CMR 15, F 0, FT 1100 = 12 (reserved)
    (bytes.fromhex("f6") + bytes(31), False, "reserved"),
    # BE: 1111 | 0 011 + 1 | 1 = CMR 15, F 0, FT 0111 = 7 (12.2, 244 bits), Q 1
    (bytes.fromhex("f3c0") + bytes(10), False, "bits left"),       # 12 bytes < 32
    (bytes.fromhex("f3c0") + bytes(40), False, "left after"),      # 42 bytes > 32
    (bytes([0xF0, 0x3C]) + bytes(20), True, "bytes left"),          # OA FT 7 truncated
    (b"", False, "too short"),
    (bytes([0xFF] * 3), False, "ToC runs past"),
])
def test_damaged_payload_raises_decode_error(payload, octet_aligned, text):
    with pytest.raises(DecodeError, match=text):
        amr.depacketize_amr(payload, octet_aligned=octet_aligned, where="x.pcap, frame 9")


def test_packetize_rejects_bad_frames():
    with pytest.raises(LabkitError):
        amr.packetize_amr([AmrFrame(12, True, b"")])
    with pytest.raises(LabkitError):
        amr.packetize_amr([AmrFrame(7, True, bytes(30))])     # 12.2 needs 31 bytes
    with pytest.raises(LabkitError):
        amr.packetize_amr([])


# ---------------------------------------------------------------- storage files
@pytest.fixture(scope="module")
def references():
    """Encoder reference storage files: NB modes 0-7 and WB modes 0-8 with DTX."""
    nb_pcm = amr_codec.ringback(6.0, 8000)
    wb_pcm = amr_codec.ringback(6.0, 16000)
    nb = b"#!AMR\n" + b"".join(amr_codec.encode_amrnb(nb_pcm, [i // 5 % 8 if i < 50 else 7 for i in range(300)],
                                                      dtx=True))
    wb = b"#!AMR-WB\n" + b"".join(amr_codec.encode_amrwb(wb_pcm, [i // 5 % 9 if i < 50 else 2 for i in range(300)],
                                                         dtx=True))
    return {False: nb, True: wb}


@pytest.mark.parametrize("wideband", [False, True])
def test_storage_round_trip_of_encoder_output(references, wideband):
    ref = references[wideband]
    st = amr.read_amr_storage(ref)
    assert st.wideband == wideband and len(st.frames) == 300
    # the encoder used every mode, SID and NO_DATA (DTX during the 4 s off)
    fts = {f.ft for f in st.frames}
    assert set(range(9 if wideband else 8)) <= fts and {9 if wideband else 8, 15} <= fts
    assert amr.write_amr_storage(st.frames, wideband=wideband) == ref


def test_storage_reader_errors(tmp_path):
    with pytest.raises(DecodeError, match="magic"):
        amr.read_amr_storage(b"RIFF....")
    with pytest.raises(DecodeError, match="multi-channel"):
        amr.read_amr_storage(b"#!AMR_MC1.0\n\x00\x00\x00\x01")
    with pytest.raises(DecodeError, match="truncated"):
        amr.read_amr_storage(b"#!AMR\n\x3c" + bytes(10))
    with pytest.raises(DecodeError, match="header byte"):
        amr.read_amr_storage(b"#!AMR\n\x64")                   # FT 12
    path = tmp_path / "x.3ga"
    amr.write_amr_storage([AmrFrame(15, True, b"")] * 3, path)
    assert path.read_bytes() == b"#!AMR\n\x7c\x7c\x7c"
    assert len(amr.read_amr_storage(path).frames) == 3


# ---------------------------------------------------------------- real-time storage
def _rtp_stream(reference, wideband, octet_aligned, fpp, *, loss=0.0, dup=0.0, reorder=0.0,
                seq0=100, ts0=0, seed=1):
    """Packetize a reference file (tools.synth.amr_rtp) into header fields + payloads."""
    stream = amr_rtp.Stream("10.0.0.2", "10.0.0.1", 5, 6, 0x1234, 96, wideband, octet_aligned,
                            reference)
    amr_rtp.build_stream(stream, fpp, np.random.default_rng(seed), t0_ns=0, seq0=seq0, ts0=ts0,
                         loss=loss, dup=dup, reorder=reorder)
    seq = [int.from_bytes(p[2:4], "big") for _, p in stream.packets]
    ts = [int.from_bytes(p[4:8], "big") for _, p in stream.packets]
    return seq, ts, [p[12:] for _, p in stream.packets], stream


@pytest.mark.parametrize("wideband", [False, True])
@pytest.mark.parametrize("octet_aligned", [False, True])
@pytest.mark.parametrize("fpp", [1, 2, 5])
def test_storage_from_rtp_equals_reference(references, wideband, octet_aligned, fpp):
    # DTX: packets holding only NO_DATA are not sent; the gaps must come back as 0x7C,
    # so the rebuilt file equals the encoder's file byte for byte (up to its last frame)
    seq, ts, payloads, stream = _rtp_stream(references[wideband], wideband, octet_aligned, fpp)
    ex = amr.amr_storage_from_rtp(seq, ts, payloads, wideband=wideband,
                                  octet_aligned=octet_aligned)
    assert ex.data == stream.expected
    assert references[wideband].startswith(ex.data)           # no loss: a prefix of the reference
    assert ex.gap_frames > 0 and ex.damaged == 0 and ex.duplicates == 0


@pytest.mark.parametrize("wideband", [False, True])
def test_storage_from_rtp_loss_dup_reorder_wrap(references, wideband):
    # sequence numbers wrap (65500 -> 0) and timestamps wrap (2**32 - 3200 -> 0)
    seq, ts, payloads, stream = _rtp_stream(references[wideband], wideband, False, 2,
                                            loss=0.05, dup=0.05, reorder=0.05, seq0=65_500,
                                            ts0=2**32 - 3200, seed=9)
    assert max(seq) > 65_500 and min(seq) < 100 and min(ts) < 3200
    ex = amr.amr_storage_from_rtp(seq, ts, payloads, wideband=wideband)
    assert ex.data == stream.expected
    assert ex.duplicates == len(payloads) - len(set(seq))
    assert stream.lost_seq and ex.gap_frames > 0


def test_damaged_payload_is_skipped_not_shifted(references):
    seq, ts, payloads, stream = _rtp_stream(references[False], False, False, 1)
    # payload 5: first ToC entry made FT 12 (byte 0 -> 1111 0110, byte 1 top bit 0)
    bad = [bytes([0xF6, p[1] & 0x7F]) + p[2:] if i == 5 else p for i, p in enumerate(payloads)]
    bad[9] = bad[9][:4]                                          # truncated payload
    ex = amr.amr_storage_from_rtp(seq, ts, bad, where="t.pcap")
    assert ex.damaged == 2 and len(ex.errors) == 2 and "reserved" in ex.errors[0]
    # expected: the two packets' slots become NO_DATA, every other frame is unchanged
    frames = amr_rtp.storage_frames(references[False])
    cut = amr_rtp.cut_packets(frames, 1)
    assert ex.data == amr_rtp.expected_storage(frames, cut, {5, 9}, False)


def test_not_amr_stream_raises():
    payloads = [bytes([0xFF]) * 160 for _ in range(50)]          # G.711 silence
    with pytest.raises(DecodeError, match="none of 50 payloads"):
        amr.amr_storage_from_rtp(range(50), range(0, 8000, 160), payloads, where="s")
    with pytest.raises(LabkitError, match="no RTP packets"):
        amr.amr_storage_from_rtp([], [], [])


def test_timestamp_jump_is_bounded():
    rnd = random.Random(1)
    payloads = [amr.packetize_amr([_frame(7, False, rnd)]) for _ in range(4)]
    ts = [0, 160, 320 + 160 * 50 * 3600, 480 + 160 * 50 * 3600]   # jump of one hour
    times = [0, 20_000_000, 40_000_000, 60_000_000]
    with pytest.warns(Warning, match="jumps"):
        ex = amr.amr_storage_from_rtp(range(4), ts, payloads, time_ns=times)
    assert ex.frames_total == 4 and ex.gap_frames == 0


def test_kinds_and_counts(references):
    seq, ts, payloads, stream = _rtp_stream(references[True], True, False, 1, loss=0.03)
    ex = amr.amr_storage_from_rtp(seq, ts, payloads, wideband=True)
    assert set(ex.kind) <= {"speech", "SID", "NO_DATA", "gap", "lost"}
    assert (ex.kind == "SID").sum() == (ex.ft == 9).sum() > 0
    assert ex.gap_frames == (ex.kind == "gap").sum()
    assert sum(ex.ft_counts().values()) == ex.frames_total == len(ex.ft)
    assert ex.duration_s == pytest.approx(ex.frames_total * 0.02)


def test_toc_table_rows():
    rnd = random.Random(7)
    good = amr.packetize_amr([_frame(7, False, rnd), _frame(8, False, rnd)], cmr=5)
    df = amr.toc_table([good, b"\xff"])
    assert df[["packet", "cmr", "frame", "f", "ft", "q", "nbytes"]].values.tolist() == [
        [0, 5, 0, True, 7, True, 31], [0, 5, 1, False, 8, True, 5], [1, -1, 0, False, -1, False, 0]]
    assert df["error"].iloc[2] != ""


def test_parse_fmtp():
    assert amr.parse_amr_fmtp("mode-set=0,2,4,7; octet-align=1") == {
        "octet_aligned": True, "mode_set": [0, 2, 4, 7]}
    assert amr.parse_amr_fmtp(None) == {"octet_aligned": False, "mode_set": None}
    with pytest.raises(ConfigError):
        amr.parse_amr_fmtp("octet-align=1; crc=1")
    with pytest.raises(ConfigError):
        amr.parse_amr_fmtp("octet-align=1; interleaving=4")


# ---------------------------------------------------------------- heuristics
@pytest.mark.parametrize("wideband", [False, True])
@pytest.mark.parametrize("octet_aligned", [False, True])
@pytest.mark.parametrize("fpp", [1, 3])
def test_detect_format(references, wideband, octet_aligned, fpp):
    seq, ts, payloads, _ = _rtp_stream(references[wideband], wideband, octet_aligned, fpp)
    guess = amr.detect_amr_format(payloads, ts)
    assert (guess.codec, guess.octet_aligned) == ("AMR-WB" if wideband else "AMR", octet_aligned)
    assert guess.confidence > 0.7


def test_detect_evs_and_not_pcmu():
    rng = np.random.default_rng(0)
    evs = [rng.integers(0, 256, 33 if i % 9 else 6, dtype=np.uint8).tobytes() for i in range(200)]
    assert amr.detect_amr_format(evs).codec == "EVS"
    assert amr.detect_amr_format([b"\xff" * 160] * 100).codec == "unknown"
    assert amr.looks_like_evs([b"\xff" * 160] * 100) == 0.0


# ---------------------------------------------------------------- synthetic captures
def test_synth_builder_is_deterministic_and_bundled():
    from labkit import data
    for sc in make_amr.SCENARIOS[:3]:
        built = make_amr.build(sc.name)
        assert make_amr.build(sc.name).records == built.records
        ref = built.streams["b2a"].reference
        assert data.path(f"{sc.name}_ref").read_bytes() == ref
        assert data.path(sc.name).stat().st_size < 1_000_000


# ---------------------------------------------------------------- tshark oracle
def _tshark_toc(path, wideband, octet_aligned, extra=()):
    """Per RTP packet: (ssrc, seq, payload, cmr, [f], [ft], [q]) as tshark 4.0 shows them."""
    codec, pre = ("amr_wb", "amr.wb") if wideband else ("amr", "amr.nb")
    version = "RFC 3267 octet aligned" if octet_aligned else "RFC 3267 BW-efficient"
    cmd = ["tshark", "-r", str(path), "-n", "-o", f"amr.encoding.version:{version}",
           "-Y", "rtp", "-T", "fields", "-e", "rtp.ssrc", "-e", "rtp.seq", "-e", "rtp.payload",
           "-e", f"{pre}.cmr", "-e", "amr.toc.f", "-e", f"{pre}.toc.ft", "-e", "amr.toc.q",
           *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        ssrc, seq, payload, cmr, f, ft, q = line.split("\t")
        ints = lambda s: [int(x) for x in s.split(",")] if s else []      # noqa: E731
        rows.append((int(ssrc, 16), int(seq), bytes.fromhex(payload), int(cmr) if cmr else None,
                     ints(f), ints(ft), ints(q)))
    return rows


def _compare_to_tshark(rows, wideband, octet_aligned):
    compared = 0
    for ssrc, seq, payload, cmr, f, ft, q in rows:
        pkt = amr.depacketize_amr(payload, wideband=wideband, octet_aligned=octet_aligned)
        n = len(pkt.frames)
        assert (pkt.cmr, [int(i < n - 1) for i in range(n)], [fr.ft for fr in pkt.frames],
                [int(fr.q) for fr in pkt.frames]) == (cmr, f, ft, q), (ssrc, seq)
        compared += 1
    return compared


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["synth_amrwb_be_modes_4fpp", "synth_amrnb_be_sip_first",
                                  "synth_amrnb_oa_dtx_loss", "synth_amrwb_oa_2fpp_ipv6",
                                  "synth_amrnb_be_3fpp_vlan"])
def test_toc_equals_tshark_on_synthetic(name):
    from labkit import data
    sc = make_amr.BY_NAME[name]
    wb = sc.codec == "AMR-WB"
    rows = _tshark_toc(data.path(name), wb, sc.octet_aligned,
                       ["-d", f"rtp.pt=={sc.pt},{'amr_wb' if wb else 'amr'}"])
    assert _compare_to_tshark(rows, wb, sc.octet_aligned) == len(rows) > 50


@pytest.mark.requires_tshark
@pytest.mark.requires_shared
def test_toc_equals_tshark_on_real_capture(shared_dir):
    path = shared_dir / REAL_AMR
    if not path.exists():
        pytest.skip(f"{path} absent")
    rows = _tshark_toc(path, False, False, ["--enable-heuristic", "rtp_udp", "-d",
                                            "rtp.pt==118,amr", "-d", "rtp.pt==113,amr"])
    assert len(rows) == 2463                 # tshark: every frame of the file is RTP
    assert _compare_to_tshark(rows, False, False) == 2463
    fts = {ft for r in rows for ft in r[5]}
    assert {8, 15} <= fts and len(fts - {8, 15}) >= 3        # SID, NO_DATA, mixed modes


# ---------------------------------------------------------------- capture -> storage
def _capture_streams(path):
    from labkit import capture, rtp
    packets = capture.read_capture(path)
    sdp = amr.read_sdp(packets)
    found = rtp.find_rtp(packets, sdp=sdp if sdp is not None and len(sdp) else None)
    return found, amr.amr_streams(found, sdp=sdp)


@pytest.mark.parametrize("name", [s.name for s in make_amr.SCENARIOS])
def test_synthetic_capture_rebuilds_expected_storage(name):
    """Every bundled synthetic capture: capture -> RTP -> storage file equals the
    expected file (encoder reference, NO_DATA where packets were lost/damaged/DTX)."""
    from labkit import data
    built = make_amr.build(name)
    found, table = _capture_streams(data.path(name))
    assert len(table) == 2
    for key, stream in built.streams.items():
        row = table[table["ssrc"] == stream.ssrc].iloc[0]
        assert (row["src"], row["dst"]) == (stream.src, stream.dst)
        if stream.codec not in ("AMR", "AMR-WB"):
            assert row["codec"] == stream.codec          # EVS from SDP, PCMU
            with pytest.raises(DecodeError, match="not AMR"):
                amr.extract_stream(found, int(row["stream"]), codec=row["codec"],
                                   octet_aligned=False)
            continue
        assert (row["codec"], bool(row["octet_aligned"])) == (stream.codec, stream.octet_aligned)
        assert row["source"].startswith("SDP" if built.scenario.sdp else "heuristic")
        ex = amr.extract_stream(found, int(row["stream"]), codec=row["codec"],
                                octet_aligned=bool(row["octet_aligned"]))
        assert ex.data == stream.expected, (name, key)
        assert ex.damaged == (len(built.scenario.damaged) if key == "b2a" else 0)


@pytest.mark.requires_shared
def test_real_capture_extracts_every_stream(shared_dir):
    """hdiniz/rtpdump sample: AMR-NB BE on SLL, no SDP, 6 SSRCs, duplicated packets."""
    path = shared_dir / REAL_AMR
    if not path.exists():
        pytest.skip(f"{path} absent")
    found, table = _capture_streams(path)
    assert len(table) == 6 and set(table["codec"]) == {"AMR"}
    assert not table["octet_aligned"].any()
    dup_streams = 0
    for row in table.itertuples(index=False):
        ex = amr.extract_stream(found, row.stream, codec="AMR", octet_aligned=False)
        assert ex.damaged == 0 and ex.frames_total > 50
        st = amr.read_amr_storage(ex.data)                 # a valid storage file
        assert len(st.frames) == ex.frames_total
        # every unique packet used once: packets + duplicates = packets in the stream
        assert ex.packets + ex.duplicates == row.packets
        dup_streams += ex.duplicates == ex.packets
        assert {8, 15} & set(ex.ft_counts())
    assert dup_streams == 4        # tshark: 4 streams show every packet twice (Lost -N)


# ---------------------------------------------------------------- command line
def _cli(*args):
    from labkit import cli
    return cli.main(["amr", "extract", *map(str, args)])


def test_cli_extract_one_stream_and_wav(tmp_path, capsys):
    from labkit import data
    out, wav = tmp_path / "ring.3ga", tmp_path / "ring.wav"
    built = make_amr.build("synth_amrwb_be_gtpu")
    ssrc = built.streams["b2a"].ssrc
    assert _cli("-i", data.path("synth_amrwb_be_gtpu"), "-o", out, "--ssrc", hex(ssrc),
                "--wav", wav) == 0
    assert out.read_bytes() == built.streams["b2a"].expected
    import wave
    with wave.open(str(wav)) as w:                      # 550 frames x 320 samples at 16 kHz
        assert (w.getframerate(), w.getnframes()) == (16000, 550 * 320)
    assert "AMR-WB" in capsys.readouterr().out


def test_cli_all_streams_named_by_ssrc(tmp_path):
    from labkit import data
    assert _cli("-i", data.path("synth_amrnb_oa_nosdp"), "-o", tmp_path / "x.amr", "-q") == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["x_a0000001.amr", "x_b0000001.amr"]


def test_cli_bad_input(tmp_path, capsys):
    from labkit import data
    # a non-AMR stream chosen: PCMU (stream of SSRC 0xa0000001)
    assert _cli("-i", data.path("synth_amrnb_be_damaged"), "-o", tmp_path / "p.amr",
                "--ssrc", "0xa0000001") == 2
    assert "not AMR" in capsys.readouterr().err
    # EVS only: nothing to extract, said so
    assert _cli("-i", data.path("synth_evs_compact"), "-o", tmp_path / "e.amr") == 2
    assert "EVS" in capsys.readouterr().err
    # damaged payloads: warned, counted, the rest written
    assert _cli("-i", data.path("synth_amrnb_be_damaged"), "-o", tmp_path / "d.amr") == 0
    out = capsys.readouterr()
    assert "4 damaged" in out.out and "warning: " in out.err and "reserved" in out.err
    # wrong suffix, unknown stream
    assert _cli("-i", data.path("synth_amrnb_be_damaged"), "-o", tmp_path / "d.mp3") == 2
    assert _cli("-i", data.path("synth_amrnb_be_damaged"), "-o", tmp_path / "d.amr",
                "--stream", "9") == 2


def test_cli_truncated_capture(tmp_path, capsys):
    """A capture cut mid-packet: packets before the cut are extracted, with a warning."""
    from labkit import data
    raw = data.path("synth_amrnb_be_ringback").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[:len(raw) // 2 + 7])
    assert _cli("-i", cut, "-o", tmp_path / "c.amr", "-q") == 0
    assert "labkit: warning: " in capsys.readouterr().err
    assert len(list(tmp_path.glob("c_*.amr"))) == 2


def _naive_storage(seq, ts, payloads, wideband, octet_aligned):
    """RFC 4867 section 5 the slow, obvious way: the oracle for the vectorised path.

    Unique packets in sequence order (no wrap here), frame j of a packet at slot
    (ts - ts0) / spf + j, empty slots 0x7C, padding bits zeroed, damaged packets skipped.
    """
    spf = 320 if wideband else 160
    seen, out, next_slot, ts0 = set(), [amr.storage_magic(wideband)], 0, None
    for s, t, p in sorted(zip(seq, ts, payloads), key=lambda x: x[0]):
        if s in seen:
            continue
        seen.add(s)
        try:
            pkt = amr.depacketize_amr(p, wideband=wideband, octet_aligned=octet_aligned)
        except DecodeError:
            continue
        ts0 = t if ts0 is None else ts0
        for j, fr in enumerate(pkt.frames):
            slot = (t - ts0) // spf + j
            if slot < next_slot:
                continue
            out.append(b"\x7c" * (slot - next_slot))
            nbits = amr.frame_bits(fr.ft, wideband)
            bits = (int.from_bytes(fr.bits, "big") >> (-nbits % 8)) << (-nbits % 8)
            out.append(bytes([fr.ft << 3 | fr.q << 2]) + bits.to_bytes(len(fr.bits), "big"))
            next_slot = slot + 1
    return b"".join(out)


@pytest.mark.parametrize("wideband", [False, True])
@pytest.mark.parametrize("octet_aligned", [False, True])
def test_vectorised_path_equals_naive(wideband, octet_aligned):
    rnd = random.Random(20 + 2 * wideband + octet_aligned)
    table = amr.WB_FRAME_BITS if wideband else amr.NB_FRAME_BITS
    valid = [ft for ft, n in enumerate(table) if n >= 0]
    spf = 320 if wideband else 160
    seq, ts, payloads, slot = [], [], [], 0
    for k in range(3000):
        nfr = 1 if rnd.random() < 0.8 else rnd.randint(2, 4)
        frames = [_frame(rnd.choice([7, 7, 7, valid[-2]]) if rnd.random() < .9
                         else rnd.choice(valid), wideband, rnd, rnd.random() < .95)
                  for _ in range(nfr)]
        p = bytearray(amr.packetize_amr(frames, wideband=wideband, octet_aligned=octet_aligned,
                                        cmr=rnd.choice([3, 15])))
        r = rnd.random()
        if r < 0.02:
            p = p[:len(p) // 2]                                  # damaged
        elif r < 0.3:
            p[-1] |= 0x01                                        # junk in padding bits
        seq.append(k)
        ts.append(slot * spf)
        payloads.append(bytes(p))
        slot += nfr + (rnd.randint(1, 9) if rnd.random() < 0.05 else 0)   # DTX/loss gap
    for _ in range(100):                                         # duplicates, reordering
        i = rnd.randrange(len(seq) - 1)
        seq.insert(i + 2, seq[i]), ts.insert(i + 2, ts[i]), payloads.insert(i + 2, payloads[i])
    ex = amr.amr_storage_from_rtp(seq, ts, payloads, wideband=wideband,
                                  octet_aligned=octet_aligned)
    assert ex.data == _naive_storage(seq, ts, payloads, wideband, octet_aligned)
    assert ex.duplicates == 100 and ex.damaged > 0


VOLTE = ["volte_gtp/open5gs__open5gs__docs__assets__pcapng__volte.pcapng",
         "volte_gtp/open5gs__open5gs__docs__assets__pcapng__ipsec_to_nonipsec_call.pcapng"]


@pytest.mark.requires_tshark
@pytest.mark.requires_shared
@pytest.mark.parametrize("name", VOLTE)
def test_real_volte_amrwb_in_gtpu(shared_dir, name):
    """open5gs VoLTE calls: AMR-WB (SDP, bandwidth-efficient PT) in GTP-U, every packet
    captured twice or more, relayed by RTPengine with the same SSRC on both legs."""
    path = shared_dir / name
    if not path.exists():
        pytest.skip(f"{path} absent")
    found, table = _capture_streams(path)
    assert len(table) == 4 and set(table["codec"]) == {"AMR-WB"}
    assert set(table["source"]) == {"SDP"}
    for row in table.itertuples(index=False):
        ex = amr.extract_stream(found, row.stream, codec="AMR-WB", octet_aligned=False)
        assert ex.damaged == 0 and ex.packets + ex.duplicates == row.packets
        assert ex.duplicates >= ex.packets                  # captured at least twice
    pts = sorted(set(table["pt"]))
    extra = [a for pt in pts for a in ("-d", f"rtp.pt=={pt},amr_wb")]
    rows = _tshark_toc(path, True, False, extra)
    assert _compare_to_tshark(rows, True, False) == len(rows) == int(table["packets"].sum())


def test_cli_other_streams_processed_when_one_fails(tmp_path, capsys):
    from labkit import data
    # --codec AMR forces every stream, including A's PCMU one: it fails, B's is written
    assert _cli("-i", data.path("synth_amrnb_be_damaged"), "-o", tmp_path / "f.amr",
                "--codec", "AMR", "-q") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["f_b0000001.amr"]
    assert "none of 550 payloads" in capsys.readouterr().err


@pytest.mark.requires_shared
@pytest.mark.parametrize("name, codec", [
    ("jitter_loss/sippy__rtpproxy__tests__rtp_analyze__c1.a.rtp.pcap", "G729"),
    ("sip_rtp_g711/SIPp__sipp__pcap__g711a.pcap", "PCMA"),
    ("other/TotallyNotAHaxxer__Red-Rabbit__examples__pcap__sip-rtp-opus.pcap", "opus"),
])
def test_real_non_amr_streams_are_not_amr(shared_dir, name, codec, tmp_path, capsys):
    """Negative controls: G.729 (20-byte payloads, an EVS/AMR size), G.711, Opus."""
    path = shared_dir / name
    if not path.exists():
        pytest.skip(f"{path} absent")
    _, table = _capture_streams(path)
    assert set(table["codec"]) == {codec}
    assert _cli("-i", path, "-o", tmp_path / "x.amr", "-q") == 2
    assert f"codecs seen: {codec}" in capsys.readouterr().err


@pytest.mark.parametrize("wideband", [False, True])
@pytest.mark.parametrize("octet_aligned", [False, True])
@pytest.mark.parametrize("fpp", [1, 3])
def test_capture_round_trip_every_variant(references, tmp_path, wideband, octet_aligned, fpp):
    """Encoder reference -> RTP (loss, duplicates, reordering, wrap) -> pcapng written by
    labkit.capture.frames -> labkit.capture + labkit.rtp -> heuristic format -> storage file equal
    to the reference with NO_DATA for the lost packets."""
    from labkit.capture import frames as fr
    _, _, _, stream = _rtp_stream(references[wideband], wideband, octet_aligned, fpp,
                                  loss=0.03, dup=0.03, reorder=0.03, seq0=65_000,
                                  ts0=2**32 - 5000, seed=fpp)
    records = [(1_700_000_000_000_000_000 + t, fr.udp_frame(p, "10.9.0.2", "10.9.0.1", 30000,
                                                            40000, vlans=(7,)))
               for t, p in stream.packets]
    path = fr.write_pcapng(tmp_path / "rt.pcapng", records)
    found, table = _capture_streams(path)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["codec"], bool(row["octet_aligned"])) == ("AMR-WB" if wideband else "AMR",
                                                          octet_aligned)
    ex = amr.extract_stream(found, int(row["stream"]), codec=row["codec"],
                            octet_aligned=octet_aligned)
    assert ex.data == stream.expected
