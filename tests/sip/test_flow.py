"""labkit.sip.flow: ladder rows against tshark 4.0, leg pairing against the lab's truth.

Oracles: tshark's sip.* fields per frame (the arrows: src, dst, label, time, Call-ID,
tags, CSeq); the truth files tools/lab/sipflow.py wrote from the far end's own log
(which Call-ID the SIPp callee received for which caller); hand-made message tables for
the heuristic's edge cases.
"""
from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from conftest import shared_capture_files
from labkit import data
from labkit.sip import flow, sip_messages
from labkit.capture import as_packets

FLOW = ["flow_topoh_masked", "flow_topoh_samecid", "flow_sec_agree_420", "flow_sec_agree_fixed",
        "ussd_seed_405", "ussd_in_dialog"]
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "udp.srcport", "ip.dst", "udp.dstport",
          "ipv6.src", "ipv6.dst",
          "sip.Method", "sip.Status-Code", "sip.Call-ID", "sip.CSeq.seq", "sip.CSeq.method",
          "sip.from.tag", "sip.to.tag"]


def _tshark_rows(path) -> list[dict]:
    cmd = ["tshark", "-n", "-r", str(path), "-Y", "sip && udp", "-T", "fields", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


def _single_message_udp_captures():
    """Bundled flow captures and shared captures whose SIP frames hold one message each."""
    paths = [data.path(n) for n in FLOW]
    for p in shared_capture_files():
        if p.suffix in (".pcap", ".pcapng") and p.exists() and p.stat().st_size < 3_000_000:
            paths.append(p)
    return paths


def _inner(w, side) -> str:
    """The innermost ip:port (the last of each field in a GTP-U tunnel), as ladder writes it."""
    ip = w[f"ip.{side}"].split("|")[-1] if w[f"ip.{side}"] else w[f"ipv6.{side}"].split("|")[-1]
    port = w[f"udp.{side}port"].split("|")[-1]
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _want(path):
    # SIP over TCP inside a UDP tunnel (GTP-U) matches "sip && udp" too: its ports are TCP's
    rows = [r for r in _tshark_rows(path)
            if len((r["ip.src"] or r["ipv6.src"]).split("|")) == len(r["udp.srcport"].split("|"))]
    if any("|" in r["sip.Call-ID"] for r in rows):
        pytest.skip("a frame with several SIP messages (compared in test_messages)")
    return rows


@pytest.mark.requires_tshark
@pytest.mark.parametrize("path", _single_message_udp_captures(), ids=lambda p: p.name[-40:])
def test_ladder_arrows_equal_tshark(path):
    want = _want(path)
    if not want:
        pytest.skip("no SIP over UDP here")
    got = flow.ladder(path)
    got = got[got["frame"].isin([int(w["frame.number"]) for w in want])]
    if len(got) != len(want):
        pytest.xfail("labkit.capture does not decapsulate this link/tunnel the same way")
    for w, g in zip(want, got.to_dict("records")):
        assert g["frame"] == int(w["frame.number"])
        assert (g["src"], g["dst"]) == (_inner(w, "src"), _inner(w, "dst"))
        assert g["label"].split(" ")[0] == (w["sip.Method"] or w["sip.Status-Code"])
        assert abs(g["time"] - float(w["frame.time_relative"])) < 1e-6
        assert (g["call_id"], g["cseq"], g["cseq_method"]) == \
            (w["sip.Call-ID"], int(w["sip.CSeq.seq"]), w["sip.CSeq.method"])
        assert (g["from_tag"] or "") == w["sip.from.tag"] and (g["to_tag"] if isinstance(g["to_tag"], str) else "") == w["sip.to.tag"]


def test_ladder_deltas_and_columns_follow_the_rows():
    rows = flow.ladder(data.path("flow_topoh_samecid"))
    # delta of row i = time[i] - time[i-1], in ms; the first is 0
    assert rows["delta_ms"].iloc[0] == 0.0
    assert rows["delta_ms"].iloc[5] == pytest.approx((rows["time"].iloc[5] - rows["time"].iloc[4]) * 1000, abs=1e-3)
    assert flow.ladder_hosts(rows) == ["127.0.42.1:42001", "127.0.42.10:42060", "127.0.42.2:42002"]


def test_transactions_are_per_hop():
    rows = flow.ladder(data.path("flow_sec_agree_420"))
    # the INVITE/100/200 of the first hop, the relayed INVITE/200 on the second hop: two
    # transactions for CSeq 1 INVITE (RFC 3261 17: one per hop), and the ACK for the 420
    # kamailio sends itself is its own transaction on the AS hop
    first = rows[(rows["cseq"] == 1) & (rows["cseq_method"] == "INVITE")]
    assert first.groupby("transaction")["src"].apply(set).map(len).tolist() == [2, 2]
    assert not rows["retransmission"].any()


@pytest.mark.parametrize("name", ["flow_topoh_masked", "flow_topoh_samecid"])
def test_pairing_equals_what_the_lab_made(name):
    truth = json.loads(data.path(f"{name}_truth").read_text())
    pairs = flow.pair_legs(data.path(name))
    got = {(p.a_call_id, p.b_call_id) for p in pairs.itertuples() if p.method != "unpaired"}
    assert got == {(leg["a_call_id"], leg["b_call_id"]) for leg in truth["legs"]}
    assert pairs["call"].nunique() == len(truth["legs"])


def test_pairing_methods_and_evidence():
    pairs = flow.pair_legs(data.path("flow_topoh_masked"))
    by_a = pairs.set_index("a_call_id")
    # the truth says call 1 carried X-CID and call 2 nothing: header first, then heuristic
    assert by_a.loc["labkit-a1@127.0.42.1", "method"] == "header x-cid"
    h = by_a.loc["labkit-a2@127.0.42.1"]
    assert h["method"] == "heuristic"
    # 3 (INVITE within 50 ms) + 2 (18x) + 2 (2xx) + 2 (BYE) + 1 (From user) + 1 (status)
    assert h["score"] == 11
    assert "same From user carol" in h["evidence"]


def _leg_msgs(rows):
    """A hand-made message table (the columns sip_legs reads)."""
    base = {"sport": 5060, "dport": 5060, "reason_phrase": "", "content_type": None, "body": b"",
            "sdp": None, "sdp_typed": False, "problem": None, "request_uri": "sip:x@h", "from_uri": None,
            "to_uri": None, "from_tag": "f", "to_tag": None, "headers": ()}
    df = pd.DataFrame([base | r for r in rows])
    df["status"] = df["status"].astype("Int64")
    df["cseq"] = df["cseq"].astype("Int64")
    return df


def _leg(call_id, src, dst, t, user, frame, status_times):
    rows = [{"frame": frame, "time": t, "src": src, "dst": dst, "method": "INVITE", "status": None,
             "call_id": call_id, "cseq": 1, "cseq_method": "INVITE", "from_uri": f"sip:{user}@h",
             "to_uri": "sip:b@h"}]
    for k, (status, ts) in enumerate(status_times):
        rows.append({"frame": frame + 1 + k, "time": ts, "src": dst, "dst": src, "method": None,
                     "status": status, "call_id": call_id, "cseq": 1, "cseq_method": "INVITE",
                     "to_tag": "t", "from_uri": f"sip:{user}@h", "to_uri": "sip:b@h"})
    return rows


def test_unrelated_legs_stay_unpaired():
    # an A leg to 10.0.0.10 and a "B leg" from 10.0.0.10 starting 1.5 s later, another
    # user, no relayed responses: score 1 (INVITE within 2 s) < 4 -> unpaired
    rows = _leg("a", "10.0.0.1", "10.0.0.10", 0.0, "alice", 1, [(200, 0.2)]) + \
        _leg("b", "10.0.0.10", "10.0.0.2", 1.5, "bob", 10, [(486, 1.6)])
    pairs = flow.pair_legs(_leg_msgs(rows))
    assert pairs["method"].tolist() == ["unpaired", "unpaired"]
    assert pairs["call"].tolist() == [0, 1]


def test_b2bua_heuristic_without_shared_header():
    # B INVITE 2 ms after A, 180 and 200 relayed within 5 ms (the NormB/sipnab
    # b2bua-asterisk shape, REFERENCE section 7): 3 + 2 + 2 + 1 (From) + 1 (status) = 9
    rows = _leg("a", "10.0.0.1", "10.0.0.10", 0.0, "alice", 1, [(180, 0.105), (200, 2.005)]) + \
        _leg("b", "10.0.0.10", "10.0.0.2", 0.002, "alice", 10, [(180, 0.100), (200, 2.000)])
    pairs = flow.pair_legs(_leg_msgs(rows))
    assert pairs[["a_call_id", "b_call_id", "method", "score"]].values.tolist() == [["a", "b", "heuristic", 9]]


@pytest.mark.requires_shared
def test_real_b2bua_capture_from_another_project(shared_dir):
    hits = sorted(shared_dir.glob("**/*b2bua*"))
    if not hits:
        pytest.skip("no B2BUA capture among the shared captures")
    pairs = flow.pair_legs(hits[0])
    assert (pairs["method"] != "unpaired").any()


def test_no_sip_gives_empty_tables():
    pk = as_packets(data.path("synth_amrnb_oa_nosdp"))
    msgs = sip_messages(pk)
    msgs = msgs.iloc[0:0]
    assert flow.ladder(msgs).empty and flow.sip_legs(msgs).empty and flow.pair_legs(msgs).empty


# --- bad input, built frames (labkit.capture.frames) ------------------------------------

def _sip(start: str, cseq: str, extra: str = "", body: bytes = b"") -> bytes:
    return (f"{start}\r\nVia: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK{cseq.split()[0]}\r\n"
            f"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>{extra}\r\nCall-ID: tcp-1\r\nCSeq: {cseq}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_sip_over_tcp_split_across_segments_equals_tshark(tmp_path):
    from labkit.capture import frames
    invite = _sip("INVITE sip:b@h SIP/2.0", "1 INVITE",
                  body=frames.sdp_body("10.0.0.1", 4000, [8], attributes=["rtpmap:8 PCMA/8000"]).encode())
    ok = _sip("SIP/2.0 200 OK", "1 INVITE", extra=";tag=2")
    cut = 120
    segs = [("10.0.0.1", 33000, "10.0.0.2", 5060, 1000, invite[:cut]),
            ("10.0.0.1", 33000, "10.0.0.2", 5060, 1000 + cut, invite[cut:]),
            ("10.0.0.2", 5060, "10.0.0.1", 33000, 7000, ok)]
    recs = [(1_700_000_000_000_000_000 + i * 1_000_000,
             frames.link_frame(frames.ipv4(frames.tcp(p, sp, dp, seq, 1, 0x18, s, d), s, d, 6)))
            for i, (s, sp, d, dp, seq, p) in enumerate(segs)]
    path = frames.write_pcap(tmp_path / "tcp_split.pcap", recs)
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "sip", "-T", "fields", "-e", "frame.number",
                          "-e", "sip.Method", "-e", "sip.Status-Code"], capture_output=True, text=True, check=True)
    want = [line.split("\t") for line in out.stdout.splitlines()]
    rows = flow.ladder(path)
    # tshark reassembles the INVITE into its last segment (frame 2), as labkit does
    assert [[str(r.frame), r.method or "", "" if pd.isna(r.status) else str(r.status)] for r in rows.itertuples()] == want
    assert rows["transport"].tolist() == ["TCP", "TCP"] and rows.loc[0, "sdp"].startswith("audio PCMA 10.0.0.1:4000")


def test_truncated_sip_is_shown_with_its_problem_and_the_rest_analysed(tmp_path):
    from labkit.capture import frames
    good = _sip("INVITE sip:b@h SIP/2.0", "1 INVITE")
    cut = _sip("SIP/2.0 200 OK", "1 INVITE", extra=";tag=2", body=b"v=0\r\n" * 10)[:-20]
    recs = [(1_700_000_000_000_000_000 + i * 1_000_000, frames.udp_frame(p, s, d, 5060, 5060))
            for i, (p, s, d) in enumerate([(good, "10.0.0.1", "10.0.0.2"), (cut, "10.0.0.2", "10.0.0.1")])]
    path = frames.write_pcap(tmp_path / "truncated.pcap", recs)
    rows = flow.ladder(path)
    assert rows["label"].tolist() == ["INVITE", "200 OK"]
    # Content-Length says 50 bytes (10 x "v=0\r\n"); 20 were cut: 30 arrived
    assert rows["problem"].tolist() == [None, "body has 30 bytes, Content-Length says 50"]
    assert flow.sip_legs(path)["final_status"].tolist() == [200]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["flow_topoh_masked", "flow_topoh_samecid"])
def test_correlation_headers_equal_tshark(name):
    # X- headers appear in tshark only with the custom-header UAT (REFERENCE section 7);
    # P-Charging-Vector's icid-value is sip.icid_value
    path = data.path(name)
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-o", 'uat:custom_sip_header_fields:"X-CID",""',
                          "-Y", 'sip.Method == "INVITE"', "-T", "fields", "-e", "frame.number",
                          "-e", "sip.X-CID", "-e", "sip.icid_value"], capture_output=True, text=True, check=True)
    want = {int(f): (x, i) for f, x, i in (line.split("\t") for line in out.stdout.splitlines())}
    legs = flow.sip_legs(path)
    got = {int(r.invite_frame): (r.correlation.get("x-cid", ""), r.correlation.get("p-charging-vector", ""))
           for r in legs.itertuples()}
    assert got == want
