"""labkit.sip: SIP messages, TCP reassembly, offers/answers, calls.

Unit tests feed hand-written messages through a small Packets stand-in (expected values
are read off the messages). Conformance tests compare sip_messages/sdp_media with
tshark 4.0 (sip.Method, sip.Status-Code, sip.Call-ID, sdp.media, sdp.media.format,
sdp.mime.type, sdp.sample_rate, sdp.fmtp.parameter) on every capture with SIP in data/
and in ../shared/captures.
"""
from __future__ import annotations

import functools
import subprocess

import numpy as np
import pytest

from labkit import sip
from conftest import shared_capture_files


class FakePackets:
    """The attributes of labkit.capture.Packets that labkit.sip uses."""

    def __init__(self, rows):
        # rows: (frame, proto, src, sport, dst, dport, tcp_seq, payload)
        self.rows = rows
        self.frame = np.array([r[0] for r in rows], dtype=np.int64)
        self.time_ns = self.frame * 10_000_000 + 1_700_000_000 * 10**9
        self.first_time_ns = int(self.time_ns[0]) if rows else 0
        self.proto = np.array([r[1] for r in rows], dtype=np.uint8)
        self.sport = np.array([r[3] for r in rows], dtype=np.uint16)
        self.dport = np.array([r[5] for r in rows], dtype=np.uint16)
        self.tcp_seq = np.array([r[6] for r in rows], dtype=np.uint32)
        self.payload_len = np.array([len(r[7]) for r in rows], dtype=np.int32)

    def __len__(self):
        return len(self.rows)

    def payload(self, i):
        return self.rows[i][7]

    def src(self, i):
        return self.rows[i][2]

    def dst(self, i):
        return self.rows[i][4]


A, B = "192.0.2.1", "192.0.2.2"


def sdp(port, fmt, extra=""):
    from labkit.capture.frames import sdp_body
    return (sdp_body(A, port, fmt) + extra).encode()


def msg(start, cseq, body=b"", call_id="c1", from_tag="ft", to_tag=None, extra=""):
    to = "<sip:bob@example.com>" + (f";tag={to_tag}" if to_tag else "")
    head = (f"{start}\r\nVia: SIP/2.0/UDP {A}:5060;branch=z9hG4bK1\r\n"
            f"f: \"Alice\" <sip:alice@example.com>;tag={from_tag}\r\nt: {to}\r\n"
            f"i: {call_id}\r\nCSeq: {cseq}\r\n{extra}")
    if body:
        head += "c: application/sdp\r\n"
    head += f"l: {len(body)}\r\n\r\n"
    return head.encode() + body


INVITE = msg("INVITE sip:bob@example.com SIP/2.0", "1 INVITE", sdp(4000, "3"))
R488 = msg("SIP/2.0 488 Not Acceptable Here", "1 INVITE", to_tag="tt",
           extra='Reason: Q.850;cause=88;text="INCOMPATIBLE_DESTINATION"\r\n')


def test_udp_messages_and_compact_headers():
    pk = FakePackets([(1, 17, A, 5060, B, 5060, 0, INVITE),
                      (2, 17, B, 5060, A, 5060, 0, b"\r\n\r\n"),  # keep-alive: not SIP
                      (3, 17, B, 5060, A, 5060, 0, R488),
                      (4, 17, A, 40000, B, 40002, 0, b"\x80\x08" + bytes(170))])  # RTP
    m = sip.sip_messages(pk)
    assert list(m["frame"]) == [1, 3]
    assert list(m["method"].fillna("")) == ["INVITE", ""]
    assert list(m["status"].fillna(0)) == [0, 488]
    assert list(m["call_id"]) == ["c1", "c1"]          # compact i:
    assert list(m["from_tag"]) == ["ft", "ft"]          # compact f:
    assert m["to_tag"].tolist()[1] == "tt"
    assert m["cseq"].tolist() == [1, 1] and m["cseq_method"].tolist() == ["INVITE"] * 2
    assert m["sdp"].iloc[0].startswith("v=0")
    assert m["time"].tolist() == pytest.approx([0.0, 0.02])  # 10 ms per frame number
    calls = sip.sip_calls(m)
    assert calls.loc[0, "final_status"] == 488
    assert calls.loc[0, "q850_cause"] == 88
    assert calls.loc[0, "q850_text"] == "INCOMPATIBLE_DESTINATION"


def test_tcp_reassembly_by_content_length():
    # INVITE cut in three segments, the middle one retransmitted, then one segment holding
    # two messages (100 Trying + 488); any port (not 5060).
    cut1, cut2 = 50, 200  # the INVITE is 293 bytes
    rows = [(10, 6, A, 33000, B, 5080, 1000, INVITE[:cut1]),
            (11, 6, A, 33000, B, 5080, 1000 + cut1, INVITE[cut1:cut2]),
            (12, 6, A, 33000, B, 5080, 1000 + cut1, INVITE[cut1:cut2]),  # retransmission
            (13, 6, A, 33000, B, 5080, 1000 + cut2, INVITE[cut2:]),
            (14, 6, B, 5080, A, 33000, 7000,
             msg("SIP/2.0 100 Trying", "1 INVITE") + R488)]
    m = sip.sip_messages(FakePackets(rows))
    # the INVITE gets the frame of its last segment (as Wireshark), both responses frame 14
    assert list(m["frame"]) == [13, 14, 14]
    assert list(m["status"].fillna(0)) == [0, 100, 488]
    assert (m["transport"] == "TCP").all()
    assert sip.parse_sdp(m["sdp"].iloc[0]).media[0].formats == [3]


def test_tcp_out_of_order_and_lost_segments():
    cut = 120
    # the second half arrives first; the message completes when the first half comes
    rows = [(20, 6, A, 40000, B, 5060, 500 + cut, INVITE[cut:]),
            (21, 6, A, 40000, B, 5060, 500, INVITE[:cut])]
    m = sip.sip_messages(FakePackets(rows))
    assert list(m["frame"]) == [21] and m["segments"].tolist() == [2]
    # a segment that never comes: after 8 later segments the flow resynchronises on the
    # next start line and goes on (with a warning)
    rows = [(1, 6, A, 40000, B, 5060, 1000, INVITE[:cut])]
    seq = 1000 + len(INVITE)  # INVITE[cut:] is lost
    for k in range(9):
        rows.append((2 + k, 6, A, 40000, B, 5060, seq, R488))
        seq += len(R488)
    with pytest.warns(Warning, match="never filled"):
        m = sip.sip_messages(FakePackets(rows))
    assert len(m) >= 1 and (m["status"] == 488).all()


def test_offer_answer_roles_with_late_offer_and_reinvite():
    ok_sdp = msg("SIP/2.0 200 OK", "1 INVITE", sdp(5000, "8"), to_tag="tt")
    rows = [(1, 17, A, 5060, B, 5060, 0, msg("INVITE sip:bob@example.com SIP/2.0", "1 INVITE")),
            (2, 17, B, 5060, A, 5060, 0, ok_sdp),          # late offer in the 200
            (3, 17, A, 5060, B, 5060, 0, msg("ACK sip:bob@example.com SIP/2.0", "1 ACK",
                                             sdp(4000, "8"), to_tag="tt")),
            (4, 17, A, 5060, B, 5060, 0, msg("INVITE sip:bob@example.com SIP/2.0", "2 INVITE",
                                             sdp(4000, "8"), to_tag="tt")),
            (5, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 183 Session Progress", "2 INVITE",
                                             sdp(5000, "8"), to_tag="tt")),
            (6, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 200 OK", "2 INVITE", sdp(5000, "8"),
                                             to_tag="tt"))]
    oa = sip.offers_answers(FakePackets(rows))
    assert oa["message"].tolist() == ["200", "ACK", "INVITE", "183", "200"]
    assert oa["role"].tolist() == ["offer", "answer", "offer", "answer", "answer (repeat)"]
    assert oa["offer_frame"].tolist()[1] == 2 and oa["offer_frame"].tolist()[3] == 4


def test_update_and_prack_offers():
    # RFC 3311: UPDATE carries a new offer, its 200 the answer; RFC 3262: an offer in
    # the 183 (reliable) is answered in the PRACK.
    rows = [(1, 17, A, 5060, B, 5060, 0, msg("INVITE sip:bob@example.com SIP/2.0", "1 INVITE")),
            (2, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 183 Session Progress", "1 INVITE",
                                             sdp(5000, "8"), to_tag="t")),
            (3, 17, A, 5060, B, 5060, 0, msg("PRACK sip:bob@example.com SIP/2.0", "2 PRACK",
                                             sdp(4000, "8"), to_tag="t")),
            (4, 17, A, 5060, B, 5060, 0, msg("UPDATE sip:bob@example.com SIP/2.0", "3 UPDATE",
                                             sdp(4000, "0"), to_tag="t")),
            (5, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 200 OK", "3 UPDATE", sdp(5000, "0"),
                                             to_tag="t"))]
    oa = sip.offers_answers(FakePackets(rows))
    assert oa["role"].tolist() == ["offer", "answer", "offer", "answer"]
    assert oa["offer_frame"].tolist()[1] == 2 and oa["offer_frame"].tolist()[3] == 4


def test_multipart_body_sdp():
    body = (b"--XyZ\r\nContent-Type: application/sdp\r\n\r\n" + sdp(4000, "0") +
            b"\r\n--XyZ\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n--XyZ--\r\n")
    raw = msg("INVITE sip:bob@example.com SIP/2.0", "1 INVITE", extra="")
    raw = raw.replace(b"l: 0\r\n\r\n", b"Content-Type: multipart/mixed;boundary=XyZ\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    media = sip.sdp_media(FakePackets([(1, 17, A, 5060, B, 5060, 0, raw)]))
    assert media["pts"].tolist() == [[0]]
    assert media["codecs"].tolist() == [{0: ("PCMU", 8000)}]


def test_auth_retry_final_status():
    # INVITE challenged with 407, sent again with credentials (new CSeq, still no To tag)
    rows = [(1, 17, A, 5060, B, 5060, 0, msg("INVITE sip:bob@example.com SIP/2.0", "1 INVITE")),
            (2, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 407 Proxy Authentication Required",
                                             "1 INVITE", to_tag="x")),
            (3, 17, A, 5060, B, 5060, 0, msg("ACK sip:bob@example.com SIP/2.0", "1 ACK", to_tag="x")),
            (4, 17, A, 5060, B, 5060, 0, msg("INVITE sip:bob@example.com SIP/2.0", "2 INVITE")),
            (5, 17, B, 5060, A, 5060, 0, msg("SIP/2.0 200 OK", "2 INVITE", to_tag="y"))]
    call = sip.sip_calls(FakePackets(rows)).iloc[0]
    assert (call["final_status"], call["attempts"], call["answered"]) == (200, 2, True)


def test_reason_header_forms():
    got = sip.parse_reason('SIP;cause=200;text="Call completed elsewhere", Q.850;cause=16')
    assert got == [{"protocol": "SIP", "cause": 200, "text": "Call completed elsewhere"},
                   {"protocol": "Q.850", "cause": 16, "text": None}]
    assert sip.parse_reason(None) == []


def test_garbage_and_truncation():
    rows = [(1, 17, A, 5060, B, 5060, 0, b"SIP/2.0 999 nope\r\n\r\n"),  # no such status class
            (2, 17, A, 5060, B, 5060, 0, b"INVITE sip:x SIP/2.0\r\nVia: x"),  # cut: no blank line
            (3, 17, A, 5060, B, 5060, 0, INVITE[:-20]),  # body shorter than Content-Length
            (4, 6, A, 1, B, 2, 5, b"\x16\x03\x01" + bytes(100)),  # TLS on TCP
            (5, 17, A, 5060, B, 5060, 0, bytes(range(256)))]
    m = sip.sip_messages(FakePackets(rows))
    # a UDP datagram is one whole message: found, flagged (as Wireshark marks it malformed)
    assert list(m["frame"]) == [2, 3]
    assert m["problem"].iloc[0].startswith("no blank line")
    assert m["problem"].iloc[1] == "body has 67 bytes, Content-Length says 87"  # 87 - 20


# --- against tshark 4.0 -----------------------------------------------------------------

def _captures_with_sip():
    from labkit import data
    paths = [p for p in shared_capture_files() if p.suffix in (".pcap", ".pcapng")]
    try:
        paths += [data.path(n) for n in data.names()
                  if str(data.path(n)).endswith((".pcap", ".pcapng"))]
    except Exception:  # no data/ yet
        pass
    return paths


_FIELDS = ["sip.Method", "sip.Status-Code", "sip.Call-ID", "sdp.media", "sdp.media.format",
           "sdp.mime.type", "sdp.sample_rate", "sdp.fmtp.parameter"]


@functools.lru_cache(maxsize=None)
def _tshark_all(path) -> dict:
    """One tshark run per capture: every SIP frame with the SIP and SDP fields."""
    # ESP with NULL encryption is decoded by labkit.capture; let tshark decode it too.
    cmd = ["tshark", "-n", "-r", str(path), "-o", "esp.enable_null_encryption_decode_heuristic:TRUE",
           "-Y", "sip", "-T", "fields", "-E", "aggregator=|", "-e", "frame.number"]
    for f in _FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        frame, *values = line.split("\t")
        table[int(frame)] = [v.split("|") if v else [] for v in values]
    return table


def _tshark(path, fields, filt):
    """The named fields of SIP frames (filt "sip && sdp": only frames with SDP)."""
    idx = [_FIELDS.index(f) for f in fields]
    rows = {k: [v[i] for i in idx] for k, v in _tshark_all(path).items()}
    if "sdp" in filt:
        rows = {k: v for k, v in rows.items() if v[0]}
    return rows


@pytest.fixture(scope="module")
def read_capture():
    capture = pytest.importorskip("labkit.capture")
    return functools.lru_cache(maxsize=None)(capture.read_capture)  # both tests share reads


def _packets(read_capture, path, want):
    pk = read_capture(path)
    if len(pk) == 0 and want:
        pytest.xfail("labkit.capture finds no UDP/TCP here (GRE/PPPoE not decapsulated)")
    return pk


def _split_reassembled(want: dict, got: dict, reassembled_frames: set):
    """Frames of IP-reassembled datagrams come from labkit.capture's reassembly, which can
    pick another fragment's frame than Wireshark when fragments are duplicated ('any'
    captures). Those messages are compared as a multiset; all others frame by frame."""
    strict_w = {k: v for k, v in want.items() if k in got and k not in reassembled_frames}
    strict_g = {k: v for k, v in got.items() if k not in reassembled_frames}
    loose_w = sorted(map(repr, (v for k, v in want.items() if k not in strict_w)))
    loose_g = sorted(map(repr, (v for k, v in got.items() if k in reassembled_frames)))
    return strict_w, strict_g, loose_w, loose_g


@pytest.mark.requires_tshark
@pytest.mark.parametrize("path", _captures_with_sip(), ids=lambda p: p.name[-40:])
def test_sip_messages_equal_tshark(path, read_capture):
    want = _tshark(path, ["sip.Method", "sip.Status-Code", "sip.Call-ID"], "sip")
    if not want:
        pytest.skip("no SIP in this capture")
    pk = _packets(read_capture, path, want)
    m = sip.sip_messages(pk)
    got = {}
    for frame, rows in m.groupby("frame"):
        got[int(frame)] = [[x for x in rows["method"] if isinstance(x, str)],
                           [str(int(x)) for x in rows["status"].dropna()],
                           list(rows["call_id"])]
    reasm = set(m.loc[m["ip_reassembled"], "frame"].astype(int))
    strict_w, strict_g, loose_w, loose_g = _split_reassembled(want, got, reasm)
    assert strict_g == strict_w
    _assert_loose(loose_g, loose_w, pk)


@pytest.mark.requires_tshark
@pytest.mark.parametrize("path", _captures_with_sip(), ids=lambda p: p.name[-40:])
def test_sdp_media_equals_tshark(path, read_capture):
    fields = ["sdp.media", "sdp.media.format", "sdp.mime.type", "sdp.sample_rate",
              "sdp.fmtp.parameter"]
    want = _tshark(path, fields, "sip && sdp")  # not SDP carried in MGCP
    if not want:
        pytest.skip("no SDP in this capture")
    pk = _packets(read_capture, path, want)
    msgs = sip.sip_messages(pk)
    media = sip.sdp_media(msgs)
    got = {}
    for frame, rows in media.groupby("frame", sort=True):
        lines, names, rates, fmtp, fmts, dyn = [], [], [], [], 0, []
        for r in rows.itertuples():
            lines.append(f"{r.media} {r.port} {r.proto} {' '.join(map(str, r.pts))}".rstrip())
            names += [n for n, _ in r.rtpmap.values()]
            rates += [str(rate) for _, rate in r.rtpmap.values()]
            fmtp += [p.strip() for v in r.fmtp.values() for p in v.split(";") if p.strip()]
            fmts += len(r.pts)
            dyn += [f"DynamicRTP-Type-{p}" for p in r.pts if isinstance(p, int) and p >= 96]
        got[int(frame)] = [lines, names, rates, fmtp, fmts, dyn]
    # sdp.media.format: one entry per m= format (dynamic ones "DynamicRTP-Type-N"), then
    # the PT of every rtpmap/fmtp line; we compare the dynamic names of the first part.
    want = {k: [v[0], v[2], v[3], v[4], [f for f in v[1] if f.startswith("DynamicRTP-Type-")]]
            for k, v in want.items()}
    got = {k: [v[0], v[1], v[2], v[3], v[5]] for k, v in got.items()}
    reasm = set(msgs.loc[msgs["ip_reassembled"], "frame"].astype(int))
    strict_w, strict_g, loose_w, loose_g = _split_reassembled(want, got, reasm)
    assert strict_g == strict_w
    _assert_loose(loose_g, loose_w, pk)


def _assert_loose(loose_g, loose_w, pk):
    if loose_g == loose_w:
        return
    lost = pk.stats.get("fragments_unreassembled", 0)
    if lost:
        remaining = list(loose_w)
        for item in loose_g:  # everything we found is in tshark's list
            assert item in remaining
            remaining.remove(item)
        pytest.xfail(f"labkit.capture left {lost} IP fragment(s) unreassembled; "
                     f"{len(remaining)} message(s) inside them not found")
    assert loose_g == loose_w


# --- SIP over TCP read in chunks: the reassembly state is carried between chunks -------

def _split_invite_capture(path):
    """An INVITE in three TCP segments (only the first starts with the request line),
    then its 200 OK in one segment: 4 frames, each a chunk of its own when read with
    chunk_packets=1."""
    from labkit.capture import frames
    body = frames.sdp_body("192.0.2.10", 40000, [0]).encode()
    invite = (b"INVITE sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK1\r\n"
              b"From: <sip:alice@192.0.2.10>;tag=a1\r\nTo: <sip:bob@192.0.2.20>\r\n"
              b"Call-ID: split-tcp-1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    ok = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK1\r\n"
          b"From: <sip:alice@192.0.2.10>;tag=a1\r\nTo: <sip:bob@192.0.2.20>;tag=b1\r\n"
          b"Call-ID: split-tcp-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    cuts = [0, 60, 140, len(invite)]
    recs, t = [], 1_700_000_000 * 10**9
    for k in range(3):
        seg = invite[cuts[k]:cuts[k + 1]]
        pkt = frames.ipv4(frames.tcp(seg, 5060, 5060, 1000 + cuts[k], 1, 0x18, "192.0.2.10",
                                     "192.0.2.20"), "192.0.2.10", "192.0.2.20", 6)
        recs.append((t + k * 1_000_000, frames.ethernet(pkt)))
    pkt = frames.ipv4(frames.tcp(ok, 5060, 5060, 1, 1000 + len(invite), 0x18, "192.0.2.20",
                                 "192.0.2.10"), "192.0.2.20", "192.0.2.10", 6)
    recs.append((t + 10_000_000, frames.ethernet(pkt)))
    return frames.write_pcap(path, recs)


def _chunked_rows(path, chunk_packets, carry=True):
    from labkit.capture import iter_capture
    state = {} if carry else None
    return [r for pk in iter_capture(path, chunk_packets=chunk_packets)
            for r in sip.sip_message_rows(pk, state)]


@pytest.mark.requires_tshark
def test_tcp_message_split_across_chunks_is_joined(tmp_path):
    path = _split_invite_capture(tmp_path / "split.pcap")
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "sip", "-T", "fields",
                          "-e", "frame.number", "-e", "sip.Method", "-e", "sip.Status-Code"],
                         capture_output=True, text=True, check=True).stdout
    want = [tuple(line.split("\t")) for line in out.splitlines()]
    assert want == [("3", "INVITE", ""), ("4", "", "200")]   # tshark reassembles at frame 3
    for chunk in (1, 2, 3):
        got = [(str(r["frame"]), r["method"] or "", str(r["status"] or ""))
               for r in _chunked_rows(path, chunk)]
        assert got == want, chunk
    # without the carried state a chunk boundary inside the INVITE loses it
    assert [r["frame"] for r in _chunked_rows(path, 1, carry=False)] == [4]


@pytest.mark.requires_shared
@pytest.mark.parametrize("chunk", [50, 7, 1])
def test_shared_sip_over_tcp_chunked_equals_whole(chunk):
    from labkit.capture import read_capture
    tcp_files = [f for f in shared_capture_files() if "open5gs" in f.name and f.exists()]
    if not tcp_files:
        pytest.skip("no open5gs capture in ../shared/captures")
    for f in tcp_files:
        whole = sip.sip_message_rows(read_capture(f, progress=False))
        assert _chunked_rows(f, chunk) == whole, f.name


def _sip_capture_files():
    import glob
    from pathlib import Path
    from labkit import data
    bundled = sorted(Path(p) for p in glob.glob(str(data.path("codec_mismatch_488").parents[1] / "**" / "*.pcap*"),
                                                  recursive=True))
    return bundled + [f for f in shared_capture_files() if f.exists()]


def test_sip_messages_of_a_path_equals_the_whole_file_read():
    """A path is read in chunks (TCP state carried): the same table as read_capture's."""
    import pandas as pd
    from labkit.capture import read_capture
    from labkit.errors import LabkitError
    checked = 0
    for f in _sip_capture_files():
        try:
            whole = sip.sip_messages(read_capture(f, progress=False))
        except LabkitError:
            continue
        if whole.empty:
            continue
        pd.testing.assert_frame_equal(sip.sip_messages(f), whole, obj=f.name)
        checked += 1
    assert checked >= 20
