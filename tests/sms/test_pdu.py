"""labkit.sms: RP (TS 24.011) / TP (TS 23.040) codec, SMS table, diagnosis, RP-DA fix.

Expected values are hand-derived from the 3GPP layouts (derivations in comments) or come
from tshark 4.0 run live on every bundled SMS capture (ESP NULL heuristic on).
"""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from labkit import data, sms
from labkit.errors import DecodeError

CAPTURES = ["sms_mt_rpda_iphone", "sms_mt_rpda_fixed", "sms_mo_submit", "sms_rp_error",
            "sms_mt_ucs2", "sms_mt_concat", "sms_bad_input", "sms_tp_variety"]
REAL = [n for n in ("sms_kamailio_mt",) if n in data.names()]
TSHARK = ["-o", "esp.enable_null_encryption_decode_heuristic:TRUE", "-o", "gsm_sms.reassemble:FALSE"]
TZ_M5 = timezone(timedelta(hours=-5))

# MT RP-DATA, hand-encoded from TS 24.011 7.3.1.1 and TS 23.040 9.2.2.1:
#   01            RP-MTI 1 (RP-DATA network -> MS)
#   11            RP message reference 17
#   07 91 21 20 55 05 01 f0   RP-OA: 7 octets, TON 1 / NPI 1, BCD "12025550100" + filler F
#   00            RP-DA length 0 (network -> MS)
#   14            RP-User-Data length 20
#   04            SMS-DELIVER: TP-MTI 00, TP-MMS 1 (no more messages)
#   0b 91 21 20 55 05 81 f7   TP-OA: 11 digits, TON 1 / NPI 1, "12025550187"
#   00 00         TP-PID 0, TP-DCS 0 (GSM 7-bit)
#   62 30 10 01 00 50 0a      TP-SCTS 26-03-01 10:00:05 (swapped semi-octets), TZ -5 h = -20
#                             quarters: low nibble 1010 = sign bit 3 + tens 2, high nibble 0 units
#   01 4b         TP-UDL 1 septet, "K" = GSM 7-bit 0x4b
MT_K = bytes.fromhex("0111079121205505" "01f0" "00" "14" "040b912120550581f7" "0000"
                     "6230100100500a" "014b")


def test_encode_mt_rp_data_matches_hand_encoding():
    scts = datetime(2026, 3, 1, 10, 0, 5, tzinfo=TZ_M5)
    tpdu = sms.encode_deliver("12025550187", "K", scts)
    assert sms.encode_rp_data(17, tpdu, mt=True, oa="12025550100") == MT_K


def test_decode_mt_rp_data_fields():
    m = sms.decode_rp(MT_K)
    assert (m.mti, m.type, m.link, m.direction, m.reference) == (1, "RP-DATA", "N->MS", "MT", 17)
    assert (m.oa.digits, m.oa.ton, m.oa.npi, m.oa_len, m.da, m.da_len, m.ud_len) == \
        ("12025550100", 1, 1, 7, None, 0, 20)
    assert m.header_len == 12  # 1 type + 1 ref + 8 RP-OA LV + 1 RP-DA L + 1 RP-UD L
    t = m.tpdu
    assert (t.type, t.mti, t.oa.digits, t.oa.length, t.pid, t.dcs, t.udl, t.text, t.encoding) == \
        ("SMS-DELIVER", 0, "12025550187", 11, 0, 0, 1, "K", "GSM7")
    assert t.scts == datetime(2026, 3, 1, 10, 0, 5, tzinfo=TZ_M5)
    assert (t.header_len, t.ud_len) == (19, 1)  # REFERENCE: 12 RP + 19 TP for 11-digit numbers


def test_round_trip_is_byte_exact():
    assert sms.encode_rp(sms.decode_rp(MT_K)) == MT_K


def test_gsm7_packing_known_vector():
    # TS 23.038 6.1.2.1 packing, classic vector: "hellohello" -> e8 32 9b fd 46 97 d9 ec 37
    tpdu = sms.encode_submit("12025550187", "hellohello", mr=1, vp=None)
    assert tpdu.endswith(bytes([10]) + bytes.fromhex("e8329bfd4697d9ec37"))
    assert sms.decode_tpdu(tpdu, direction="MO").text == "hellohello"


def test_gsm7_udl_counts_message_septets_only():
    # 7 characters = 49 bits: the last octet's 7 spare bits carry CR (TS 23.038 6.1.2.3.1),
    # which TP-UDL does not count: UDL 7, not 8; a final '@' is a character and is kept.
    scts = datetime(2026, 3, 1, tzinfo=timezone.utc)
    t = sms.decode_tpdu(sms.encode_deliver("1", "report?", scts))
    assert (t.udl, t.ud_len, t.text) == (7, 7, "report?")
    assert sms.decode_tpdu(sms.encode_deliver("1", "hello@", scts)).text == "hello@"
    # extension table: '€' = ESC 0x1b then 0x65; octet 0 = 0x1b | (0x65 & 1) << 7 = 0x9b,
    # octet 1 = 0x65 >> 1 = 0x32
    assert sms.gsm7_unpack(bytes.fromhex("9b32"), 2) == "€"


def test_concatenation_udh_and_fill_bits():
    # UDH 05 00 03 2a 03 02: 6 octets = 48 bits -> 1 fill bit, 7 septets; 153 chars -> UDL 160
    tpdu = sms.encode_deliver("12025550187", "A" * 153, datetime(2026, 3, 1, tzinfo=timezone.utc),
                              concat=(0x2A, 3, 2))
    t = sms.decode_tpdu(tpdu)
    assert (t.udhi, t.udl, t.udh.hex(), t.concat, t.text) == (1, 160, "0500032a0302", (42, 3, 2), "A" * 153)


def test_ucs2_text():
    tpdu = sms.encode_deliver("12025550187", "Привет", datetime(2026, 3, 1, tzinfo=timezone.utc), dcs=8)
    t = sms.decode_tpdu(tpdu)
    assert (t.encoding, t.udl, t.text) == ("UCS2", 12, "Привет")  # UCS2 UDL counts octets


@pytest.mark.parametrize("octet,quarters", [(0x00, 0), (0x40, 4), (0x0A, -20), (0x49, -14), (0x21, 12)])
def test_scts_timezone_is_semi_octets(octet, quarters):
    # TS 23.040 9.2.3.11: low nibble = tens digit (bit 3 = sign), high nibble = units
    assert sms.scts_timezone(octet) == quarters


def test_fix_rp_destination_empties_rp_da_only():
    wrong = sms.encode_rp_data(17, sms.decode_rp(MT_K).user_data, mt=True, oa="12025550100",
                               da="12025550143")
    # RP-DA 07 91 21 20 55 05 41 f3 inserted after RP-OA: 8 more octets
    assert wrong == MT_K[:10] + bytes.fromhex("0791212055054 1f3".replace(" ", "")) + MT_K[11:]
    assert sms.fix_rp_destination(wrong) == MT_K
    with pytest.raises(DecodeError, match="no MT RP-DA"):
        sms.fix_rp_destination(sms.encode_rp_ack(17, from_ms=True))


def test_rp_ack_and_error():
    assert sms.encode_rp_ack(9, from_ms=False) == bytes([3, 9])
    e = sms.decode_rp(sms.encode_rp_error(10, 21, from_ms=False))
    assert e.raw == bytes([5, 10, 1, 21])
    assert (e.type, e.link, e.cause, e.cause_text) == ("RP-ERROR", "N->MS", 21, "Short message transfer rejected")


@pytest.mark.parametrize("body,match", [
    (b"", "truncated"),
    (MT_K[:6], "RP-OA length 7 overruns"),
    (MT_K[:-1], "RP-User-Data length 20 overruns"),
    (MT_K + b"\x00", "after the end"),
    (bytes([7, 1]), "unknown RP message type 7"),
    (b"hello", "spare bits"),
    (bytes([5, 1, 0]), "RP-Cause is empty"),
])
def test_bad_rp_raises_decode_error_with_where(body, match):
    with pytest.raises(DecodeError, match=match) as exc:
        sms.decode_rp(body, where="x.pcap, frame 9")
    assert "x.pcap, frame 9" in str(exc.value)


def test_bad_tpdu_is_reported_not_raised_by_decode_rp():
    tp = bytearray(sms.decode_rp(MT_K).user_data)
    tp[-2] = 40  # TP-UDL 40 septets = 35 octets, only 1 present
    m = sms.decode_rp(MT_K[:11] + bytes([len(tp)]) + bytes(tp))
    assert m.tpdu is None and "TP-UDL 40 needs 35 octets" in m.tp_error
    with pytest.raises(DecodeError, match="reserved"):
        sms.decode_tpdu(bytes([3, 0]), direction="MT")
    with pytest.raises(DecodeError, match="truncated"):
        sms.decode_tpdu(bytes.fromhex("040b9121"))


# ------------------------------------------------------------------ captures


@pytest.fixture(scope="module")
def tables():
    return {n: sms.sms_messages(data.path(n)) for n in CAPTURES + REAL}


def test_every_bundled_body_round_trips(tables):
    for name in CAPTURES + REAL:
        for body in sms.sms_sip_messages(data.path(name))["body"]:
            try:
                msg = sms.decode_rp(body)
            except DecodeError:
                continue
            assert sms.encode_rp(msg) == body
            if msg.tpdu is not None:
                assert msg.tpdu.raw == msg.user_data
            tp = msg.tpdu
            if msg.mti == 1 and tp is not None and tp.type == "SMS-DELIVER" and tp.encoding != "8bit":
                # field-level round trip: rebuild RP-DATA + SMS-DELIVER from the decoded fields
                again = sms.encode_rp_data(msg.reference, sms.encode_deliver(
                    tp.oa.digits, tp.text, tp.scts, dcs=tp.dcs, pid=tp.pid, concat=tp.concat,
                    mms=tp.raw[0] >> 2 & 1), mt=True, oa=msg.oa.digits, da=msg.da and msg.da.digits)
                assert again == body, name


def test_iphone_case_flagged_and_fixed(tables, tmp_path):
    findings = sms.diagnose_sms(data.path("sms_mt_rpda_iphone"))
    rules = set(findings["rule"])
    assert {"mt_rp_da", "no_rp_ack"} <= rules
    assert findings.loc[findings["rule"] == "mt_rp_da", "frame"].tolist() == [1]
    out = tmp_path / "fixed.pcap"
    fixed = sms.write_fixed_capture(data.path("sms_mt_rpda_iphone"), out)
    assert fixed["frame"].tolist() == [1]
    after = sms.sms_messages(out)
    assert after.loc[0, "rp_da_len"] == 0 and after.loc[0, "text"] == "K"
    assert "mt_rp_da" not in set(sms.diagnose_sms(out)["rule"])
    # the rebuilt MESSAGE is the bundled fixed capture's MESSAGE
    assert bytes.fromhex(fixed.loc[0, "new_body"]) == \
        sms.sms_sip_messages(data.path("sms_mt_rpda_fixed"))["body"].iloc[0]
    assert (tmp_path / "fixed_frame1.sip").read_bytes().startswith(b"MESSAGE sip:")


def test_clean_captures_have_no_findings():
    for name in ("sms_mt_rpda_fixed", "sms_mo_submit", "sms_mt_ucs2", "sms_mt_concat"):
        assert sms.diagnose_sms(data.path(name)).empty, name


def test_rp_error_cause_decoded():
    f = sms.diagnose_sms(data.path("sms_rp_error"))
    assert f["rule"].tolist() == ["rp_error"]
    assert "cause 21 (Short message transfer rejected)" in f["finding"].iloc[0]


def test_bad_input_findings_name_frames(tables):
    t = tables["sms_bad_input"]
    errors = dict(zip(t["frame"], t["error"]))
    assert "RP-OA length 7 overruns" in errors[2]
    assert "TP-UDL 40" in errors[3]
    assert "unknown RP message type 7" in errors[4]
    assert "spare bits" in errors[5]
    assert [t.loc[t["frame"] == f, "text"].item() for f in (1, 6, 8)] == ["first"] * 3
    f = sms.diagnose_sms(data.path("sms_bad_input"))
    by_rule = f.groupby("rule")["frame"].apply(sorted).to_dict()
    assert by_rule["decode"] == [2, 4, 5]
    assert by_rule["rp_ud_length"] == [3]
    assert by_rule["content_type"] == [6]
    assert by_rule["mt_headers"] == [6, 6]
    assert by_rule["encrypted_esp"] == [7]


def test_pid_type0_and_discard_dcs_are_info():
    row = {"frame": 1, "rp_ref": 1, "tp_pid": 0x40, "tp_dcs": 0xC0}
    from labkit.sms.smsip import _rule_not_displayed
    rules = _rule_not_displayed(row)
    assert [r["severity"] for r in rules] == ["info", "info"]


# ------------------------------------------------------------------ against tshark

FIELDS = ["frame.number", "gsm_a.rp.msg_type", "gsm_a.rp.rp_message_reference",
          "gsm_a.dtap.cld_party_bcd_num", "gsm_a.len", "gsm_sms.tp-mti", "gsm_sms.tp-oa",
          "gsm_sms.tp-da", "gsm_sms.tp-ra", "gsm_sms.tp-pid", "gsm_sms.tp-dcs", "gsm_sms.tp-mr",
          "gsm_sms.scts.timezone", "gsm_sms.tp.user_data_length", "gsm_sms.udh.mm.msg_id",
          "gsm_sms.udh.mm.msg_parts", "gsm_sms.udh.mm.msg_part", "gsm_a.rp.cause",
          "gsm_sms.sms_text", "gsm_sms.sms_body", "gsm_sms.tp-udhi", "gsm_sms.scts.year", "gsm_sms.scts.month",
          "gsm_sms.scts.day", "gsm_sms.scts.hour", "gsm_sms.scts.minutes", "gsm_sms.scts.seconds"]


def tshark_sms(path) -> dict[int, dict]:
    cmd = ["tshark", "-r", str(path), *TSHARK, "-Y", "gsm_a.rp.msg_type", "-T", "fields",
           "-E", "separator=\t", "-E", "aggregator=\x1f", "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        values = dict(zip(FIELDS, line.split("\t")))
        rows[int(values["frame.number"])] = values
    return rows


def _int(text: str) -> int:
    """First value of a field (SMS-STATUS-REPORT has two time stamps: SCTS, then DT)."""
    return int(text.split("\x1f")[0], 0)


def _compare(ours, theirs: dict) -> None:
    assert _int(theirs["gsm_a.rp.msg_type"]) == ours["rp_mti"]
    assert _int(theirs["gsm_a.rp.rp_message_reference"]) == ours["rp_ref"]
    bcd = [v for v in theirs["gsm_a.dtap.cld_party_bcd_num"].split("\x1f") if v]
    assert bcd == [v for v in (ours["rp_oa"], ours["rp_da"]) if isinstance(v, str)]
    lens = [int(v) for v in theirs["gsm_a.len"].split("\x1f") if v]
    if ours["rp_mti"] in (0, 1):
        assert lens == [ours["rp_oa_len"], ours["rp_da_len"], ours["rp_ud_len"]]
    if ours["rp_mti"] in (4, 5):
        assert _int(theirs["gsm_a.rp.cause"]) == ours["rp_cause"]
    if not isinstance(ours["tp_type"], str):
        assert theirs["gsm_sms.tp-mti"] == ""
        return
    assert _int(theirs["gsm_sms.tp-mti"]) == ours["tp_mti"]
    da_field = "gsm_sms.tp-ra" if ours["tp_type"] == "SMS-STATUS-REPORT" else "gsm_sms.tp-da"
    for field, col in (("gsm_sms.tp-oa", "tp_oa"), (da_field, "tp_da")):
        assert theirs[field] == (ours[col] if isinstance(ours[col], str) else "")
    for field, col in (("gsm_sms.tp-pid", "tp_pid"), ("gsm_sms.tp-dcs", "tp_dcs"),
                       ("gsm_sms.tp-mr", "tp_mr"), ("gsm_sms.tp.user_data_length", "tp_udl"),
                       ("gsm_sms.udh.mm.msg_id", "concat_ref"), ("gsm_sms.udh.mm.msg_parts", "concat_total"),
                       ("gsm_sms.udh.mm.msg_part", "concat_seq")):
        expected = "" if ours[col] is None else str(int(ours[col]))
        got = str(_int(theirs[field])) if theirs[field] else ""
        assert got == expected, (field, got, expected)
    if ours["tp_scts_tz"] is not None:
        assert _int(theirs["gsm_sms.scts.timezone"]) == abs(ours["tp_scts_tz"])  # tshark: unsigned
        ts = datetime.fromisoformat(ours["tp_scts"])
        assert [_int(theirs[f"gsm_sms.scts.{k}"]) for k in ("year", "month", "day", "hour", "minutes",
                                                            "seconds")] == \
            [ts.year % 100, ts.month, ts.day, ts.hour, ts.minute, ts.second]
    if ours["encoding"] == "8bit":  # tshark shows 8-bit data as bytes, we as hex text
        assert theirs["gsm_sms.sms_body"].replace(":", "") == ours["text"]
    else:
        assert theirs["gsm_sms.sms_text"] == (ours["text"] or ""), (ours["frame"], ours["encoding"])


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", CAPTURES + REAL)
def test_every_decoded_field_equals_tshark(name, tables):
    theirs = tshark_sms(data.path(name))
    ours = tables[name]
    decoded = ours[ours["error"].isna()]
    assert len(decoded)
    for row in decoded.astype(object).where(decoded.notna(), None).to_dict("records"):
        assert row["frame"] in theirs, (name, row["frame"])
        _compare(row, theirs[row["frame"]])
    # frames we could not decode are SMS for tshark too (it marks them malformed / unknown)
    for frame in ours.loc[ours["error"].notna(), "frame"]:
        assert frame in theirs or name == "sms_bad_input"


# ------------------------------------------------------------------ rules on built captures

def _message(body: bytes, *, n: int, extra: str = "Accept-Contact: *;+g.3gpp.smsip\r\n"
             "Request-Disposition: no-fork\r\n", ctype: str = sms.SMS_CONTENT_TYPE) -> bytes:
    return (f"MESSAGE sip:ue@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{n}\r\n"
            f"From: <sip:sc@ims>;tag=a{n}\r\nTo: <sip:ue@ims>\r\nCall-ID: c{n}\r\nCSeq: 1 MESSAGE\r\n"
            f"{extra}Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _ok(n: int) -> bytes:
    return (f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{n}\r\nFrom: <sip:sc@ims>;tag=a{n}\r\n"
            f"To: <sip:ue@ims>;tag=b\r\nCall-ID: c{n}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n").encode()


def _capture(tmp_path, sips) -> str:
    from labkit.capture import frames
    recs = [(10**18 + i * 10**7, frames.udp_frame(s, "10.0.0.1" if d else "10.0.0.2",
                                                   "10.0.0.2" if d else "10.0.0.1", 5060, 5060))
            for i, (d, s) in enumerate(sips)]
    path = tmp_path / "built.pcap"
    frames.write_pcap(path, recs)
    return str(path)


def _rules(path) -> dict:
    f = sms.diagnose_sms(path)
    return {(int(r["frame"]), r["rule"]): r for r in f.to_dict("records")}


def test_rules_rp_oa_direction_display(tmp_path):
    scts = datetime(2026, 3, 1, tzinfo=timezone.utc)
    deliver = sms.encode_deliver("12025550187", "hi", scts)
    # MT RP-OA with TON 0 (unknown): 80 21 20 55 05 01 f0 = "12025550100", hand-built RP-DATA
    oa = bytes.fromhex("802120550501f0")
    mt_ton = bytes([1, 1, len(oa)]) + oa + b"\x00" + bytes([len(deliver)]) + deliver
    mt_same = sms.encode_rp_data(2, deliver, mt=True, oa="12025550187")      # RP-OA = TP-OA
    mo_bad = sms.encode_rp_data(3, sms.encode_submit("1", "x"), mt=False, oa="1", da=None)
    type0 = sms.encode_rp_data(4, sms.encode_deliver("1", "", scts, pid=0x40), mt=True, oa="1")
    path = _capture(tmp_path, [(True, _message(mt_ton, n=1)), (False, _ok(1)),
                               (True, _message(mt_same, n=2, extra="")), (False, _ok(2)),
                               (False, _message(mo_bad, n=3)),
                               (True, _message(type0, n=4)), (False, _ok(4))])
    r = _rules(path)
    assert "type of number 0" in r[(1, "rp_oa")]["finding"]
    assert r[(1, "no_rp_ack")]["severity"] == "error"          # 200 OK, no RP-ACK
    assert "sender's number" in r[(3, "rp_oa")]["finding"]
    assert r[(3, "mt_headers")]["severity"] == "warning"      # no Accept-Contact / no-fork
    assert r[(5, "direction")]["severity"] in ("warning", "error")
    assert r[(5, "no_rp_ack")]["severity"] == "warning"       # no response at all
    assert "Short Message Type 0" in r[(6, "not_displayed")]["finding"]


def test_non_sms_message_is_ignored(tmp_path):
    path = _capture(tmp_path, [(True, _message(b"hello", n=1, ctype="text/plain"))])
    assert sms.sms_messages(path).empty and sms.diagnose_sms(path).empty


def test_cli_sms_table_json_and_fix(tmp_path, capsys):
    import json
    from labkit.cli import main
    path = str(data.path("sms_mt_rpda_iphone"))
    assert main(["sms", path]) == 0
    out = capsys.readouterr().out
    assert "mt_rp_da" in out and "12025550143" in out
    out_pcap = tmp_path / "f.pcap"
    assert main(["sms", path, "--json", "--fix", str(out_pcap)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["messages"][0]["rp_da"] == "12025550143" and doc["fixed"]["frames"] == [1]
    assert out_pcap.exists()
    assert main(["sms", path, "--strict"]) == 1
    assert main(["sms", str(data.path("sms_mt_rpda_fixed")), "--strict"]) == 0
    capsys.readouterr()
    bad = tmp_path / "not.pcap"
    bad.write_bytes(b"not a capture")
    assert main(["sms", str(bad)]) == 2
    assert "labkit: error" in capsys.readouterr().err


def test_plots_return_axes():
    import matplotlib.pyplot as plt
    from labkit import plots
    old = sms.encode_rp_data(1, sms.decode_rp(MT_K).user_data, mt=True, oa="1", da="2")
    ax = plots.plot_pdu_diff(old, sms.fix_rp_destination(old))
    assert ax.get_title().startswith("PDU bytes")
    plt.close("all")


def test_sms_over_tcp_and_ipv6(tmp_path):
    from labkit.capture import frames
    from labkit.sms import overhead
    body = sms.encode_rp_data(5, sms.decode_rp(MT_K).user_data, mt=True, oa="12025550100")
    sip = _message(body, n=1)
    seg = frames.tcp(sip, 5060, 5060, 1000, 1, 0x18, "2001:db8::1", "2001:db8::2")
    frame = frames.ethernet(frames.ipv6(seg, "2001:db8::1", "2001:db8::2", 6), ethertype=0x86DD)
    path = tmp_path / "tcp6.pcap"
    frames.write_pcap(path, [(10**18, frame)])
    t = sms.sms_messages(path)
    assert (t.loc[0, "rp_ref"], t.loc[0, "text"], t.loc[0, "src"]) == (5, "K", "2001:db8::1")
    counts = overhead.layer_table(overhead.frame_layers(frame))
    # Ethernet 14 + IPv6 40 + TCP 20 (no options) + SIP + RP 12 + TP 19 + 1 octet of text
    assert (counts["inner_ip"], counts["transport"], counts["rp_header"], counts["tp_header"],
            counts["user_data"]) == (40, 20, 12, 19, 1)


def test_fixed_frame_is_byte_identical_to_the_bundled_fixed_capture(tmp_path):
    # make_sms builds both captures with the same ESP/GTP sequence numbers, so the frame
    # rebuilt by write_fixed_capture must equal the independently built fixed capture
    from labkit.capture import iter_frames
    out = tmp_path / "f.pcap"
    sms.write_fixed_capture(data.path("sms_mt_rpda_iphone"), out)
    ours = [f.data for f in iter_frames(out)]
    theirs = [f.data for f in iter_frames(data.path("sms_mt_rpda_fixed"))][:len(ours)]
    assert ours == theirs


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", ["sms_mt_rpda_iphone", *REAL])
def test_fixed_frames_checksums_valid_for_tshark(tmp_path, name):
    # (loopback captures carry offloaded, wrong UDP checksums: only rebuilt frames are checked)
    out = tmp_path / "f.pcap"
    fixed = sms.write_fixed_capture(data.path(name), out)
    cmd = ["tshark", "-r", str(out), *TSHARK, "-o", "ip.check_checksum:TRUE", "-o",
           "udp.check_checksum:TRUE", "-T", "fields", "-e", "frame.number", "-e",
           "ip.checksum.status", "-e", "udp.checksum.status"]
    rows = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    status = {int(r.split("\t")[0]): r.split("\t", 1)[1] for r in rows}
    for frame in fixed["frame"]:
        values = status[int(frame)].replace("\t", ",").split(",")
        assert set(values) == {"1"}, (frame, values)  # 1 = Good (0 Bad, 2 Unverified)


def test_rebuild_frame_with_same_payload_is_identity():
    # frames built by labkit.capture.frames (checksums right): rebuilding with the same SIP bytes
    # must give the same frame, incl. GTP-U sequence / extension headers (PDU session 0x85)
    from labkit.capture import frames
    from labkit.capture import iter_frames
    from labkit.sms.overhead import frame_layers
    from labkit.sms.smsip import rebuild_frame
    gtp = {"teid": 7, "outer_src": "10.1.0.1", "outer_dst": "10.1.0.2", "seq": 9,
           "ext": [(0x85, b"\x00\x01")]}
    built = [frames.udp_frame(_message(MT_K, n=1), "10.0.0.1", "10.0.0.2", 5060, 5060, gtp=gtp,
                              esp={"spi": 1, "seq": 2})]
    for name in CAPTURES:
        built += [f.data for f in iter_frames(data.path(name))]
    for f in built:
        start = f.find(b"MESSAGE sip:") if b"MESSAGE sip:" in f else f.find(b"SIP/2.0 ")
        if start < 0 or b"\x5e\xc0\x00\x01" in f:  # skip the encrypted-ESP frame
            continue
        by = {l.name: l for l in frame_layers(f)}
        if "transport" not in by:
            continue
        end = by["transport"].offset + by["transport"].info["length"]
        assert rebuild_frame(f, 1, f[start:end]) == f


def test_fix_over_tcp_is_copied_with_a_warning(tmp_path):
    from labkit.capture import frames
    from labkit.errors import LabkitWarning
    wrong = sms.encode_rp_data(5, sms.decode_rp(MT_K).user_data, mt=True, oa="1", da="2")
    seg = frames.tcp(_message(wrong, n=1), 5060, 5060, 1000, 1, 0x18, "10.0.0.1", "10.0.0.2")
    frame = frames.ethernet(frames.ipv4(seg, "10.0.0.1", "10.0.0.2", 6))
    path = tmp_path / "tcp.pcap"
    frames.write_pcap(path, [(10**18, frame)])
    with pytest.warns(LabkitWarning, match="only SIP over UDP"):
        table = sms.write_fixed_capture(path, tmp_path / "out.pcap")
    assert table.empty and (tmp_path / "out.pcap").exists()


def test_mt_rp_oa_differs_from_the_sc_the_ms_uses(tmp_path):
    scts = datetime(2026, 3, 1, tzinfo=timezone.utc)
    mo = sms.encode_rp_data(1, sms.encode_submit("12025550187", "x"), mt=False, da="12025550100")
    mt = sms.encode_rp_data(2, sms.encode_deliver("12025550187", "y", scts), mt=True, oa="19995550100")
    path = _capture(tmp_path, [(False, _message(mo, n=1)), (True, _message(mt, n=2))])
    r = _rules(path)
    assert "not the service-centre address the MS sends to (12025550100" in r[(2, "rp_oa")]["finding"]


def test_mutated_bodies_give_decode_errors_never_tracebacks():
    import random
    rng = random.Random(1)  # seeded: deterministic
    bodies = [b for n in ("sms_tp_variety", "sms_mt_concat")
              for b in sms.sms_sip_messages(data.path(n))["body"]]
    for _ in range(2000):
        b = bytearray(rng.choice(bodies))
        for _ in range(rng.randint(1, 4)):
            op, pos = rng.random(), rng.randrange(len(b) + 1)
            if op < 0.5 and pos < len(b):
                b[pos] = rng.randrange(256)
            elif op < 0.75:
                del b[pos:]
            else:
                b.insert(pos, rng.randrange(256))
        try:
            m = sms.decode_rp(bytes(b))
        except DecodeError:
            continue
        assert m.tpdu is not None or not m.user_data or m.tp_error
