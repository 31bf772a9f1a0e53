"""labkit.sms.transaction and the USSD exchange of labkit.sms.whatif, against tshark and
hand arithmetic from the specs."""
from __future__ import annotations

import pytest

from labkit import data, sms
from labkit.capture import frames, iter_frames
from labkit.errors import LabkitError
from labkit.sms import pdu, whatif


def _frames(name):
    return list(iter_frames(data.path(name)))


@pytest.mark.requires_tshark
def test_whole_mo_transaction_equals_tshark_frame_lengths():
    from labkit.capture.wireshark import tshark_fields
    path = data.path("sms_mo_submit")
    t = sms.mo_transaction(path)
    ts = tshark_fields(path, ["frame.number", "frame.len"], "sip",
                       prefs={"esp.enable_null_encryption_decode_heuristic": "TRUE"})
    lengths = {int(n): int(l) for n, l in zip(ts["frame.number"], ts["frame.len"])}
    rows = t.iloc[:-1]
    assert rows["frame"].astype(int).tolist() == sorted(lengths)          # all 4 SIP messages
    assert rows["total"].tolist() == [lengths[int(f)] for f in rows["frame"]]
    assert t.iloc[-1]["total"] == sum(lengths.values())                  # 2800
    assert t.iloc[-1]["user_data"] == 1


def test_rp_error_transaction_is_matched_by_reference():
    t = sms.mo_transaction(data.path("sms_rp_error"))
    assert t["sms"].str.contains("RP-ERROR").any() and len(t) == 5


def test_sip_octets_line_by_line():
    f = _frames("sms_mo_submit")[0]
    t = sms.sip_header_octets(f.data, f.linktype)
    layers = {l.name: l.length for l in sms.frame_layers(f.data, f.linktype)}
    assert t["octets"].sum() == layers["sip_start_line"] + layers["sip_headers"]
    # hand count: "Max-Forwards: 70" is 16 characters + CRLF
    assert t.set_index("line").loc["Max-Forwards", "octets"] == 18
    assert t.iloc[-1].tolist()[:2] == ["empty line", 2]
    with pytest.raises(LabkitError, match="no SIP"):
        sms.sip_header_octets(frames.udp_frame(b"\x00" * 20, "10.0.0.1", "10.0.0.2", 9, 9))


@pytest.mark.parametrize("sc,da,vp", [(11, 11, True), (11, 11, False), (2, 4, False), (5, 8, True),
                                      (12, 3, True)])
def test_min_header_equals_pycrate_encoding(sc, da, vp):
    # Oracle: pycrate encodes the PDUs (labkit.sms.pdu wraps it); 'K' is 1 octet of
    # GSM 7-bit user data, the rest of the RP-DATA is header.
    tpdu = pdu.encode_submit("1" * da, "K", vp=167 if vp else None)
    rp = pdu.encode_rp_data(1, tpdu, mt=False, da="2" * sc)
    assert sms.min_sms_header_octets(sc, da, validity_period=vp)["total"] == len(rp) - 1


def test_sixteen_octets_need_short_addresses():
    assert sms.min_sms_header_octets(11, 11, validity_period=False)["total"] == 25
    assert sms.min_sms_header_octets(2, 4, validity_period=False)["total"] == 16
    assert sms.min_sms_header_octets(3, 3, validity_period=False)["total"] == 17


def test_mo_k_rows_three_ways():
    f = _frames("sms_mo_submit")[0]
    user = _frames("sms_rp_error")[0]
    t = sms.mo_k_rows((f.data, f.linktype, str(data.provenance("sms_mo_submit"))),
                      (user.data, user.linktype, "your capture"))
    assert t["row"].tolist() == ["as published", "rebuilt by labkit", "your capture"]
    assert t["total"].tolist() == [828, len(f.data), len(user.data)]
    assert t.loc[0, "efficiency_percent"] == round(100 / 828, 3)         # 0.121 %
    assert "published figure" in t.loc[1, "how_made"]


def test_sms_frames_refuses_a_wrong_frame():
    s = sms.sms_frames(data.path("sms_mo_submit"))
    assert (s.mo, s.mt) == (1, 3)
    with pytest.raises(LabkitError, match="frame 2 is not an MO RP-DATA"):
        sms.sms_frames(data.path("sms_mo_submit"), mo_frame=2)


# ---------------------------------------------------------------- USSD over IMS

def _ussd():
    fr = _frames("sms_mo_submit")
    return whatif.ussd_exchange_frames(fr[0].data, fr[2].data)


def test_ussd_is_the_whole_exchange():
    labels = [label for label, _, _ in _ussd()]
    assert labels == ["INVITE (USSD request)", "200 OK (INVITE)", "ACK", "BYE (USSD result)",
                      "200 OK (BYE)"]
    fr = _frames("sms_mo_submit")
    t = whatif.ussd_exchange(fr[0].data, fr[2].data)
    assert t["total"].tolist()[:-1] == [len(f) for _, f, _ in _ussd()]
    assert t.iloc[-1]["total"] == sum(len(f) for _, f, _ in _ussd())
    assert t.iloc[-1]["user_data"] == len("*100#") + len(whatif.USSD_RESULT)


@pytest.mark.requires_tshark
def test_ussd_frames_equal_tshark(tmp_path):
    """tshark dissects the rebuilt exchange: INVITE/200/ACK/BYE/200 of one dialog, the USSD
    strings in the XML bodies, the same frame lengths (TS 24.390 4.5, Annex A.1)."""
    from labkit.capture.wireshark import tshark_fields
    path = tmp_path / "ussd.pcap"
    frames.write_pcap(path, [(10**18 + i * 10**6, f) for i, (_, f, _) in enumerate(_ussd())])
    ts = tshark_fields(path, ["frame.len", "sip.Method", "sip.Status-Code", "sip.CSeq.method",
                              "sip.Call-ID", "xml.cdata"],
                       prefs={"esp.enable_null_encryption_decode_heuristic": "TRUE"})
    assert [int(x) for x in ts["frame.len"]] == [len(f) for _, f, _ in _ussd()]
    assert ts["sip.Method"].tolist()[::2] == ["INVITE", "ACK", ""]
    assert ts["sip.Status-Code"].tolist()[1::2] == ["200", ""]
    assert ts["sip.CSeq.method"].tolist() == ["INVITE", "INVITE", "ACK", "BYE", "BYE"]
    assert len(set(ts["sip.Call-ID"])) == 1
    cdata = " ".join(ts["xml.cdata"])
    assert "*100#" in cdata and whatif.USSD_RESULT in cdata
