"""labkit.sms.overhead: per-layer byte accounting from frame bytes.

Layer sizes are checked against frames built with labkit.capture.frames (sizes hand-derived from
the RFC/3GPP header layouts) and against tshark 4.0's PDML (protocol and field sizes) on
every frame of every bundled SMS capture.
"""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest

from labkit import data
from labkit.capture import frames
from labkit.sms import overhead, whatif
from labkit.capture import iter_frames
from labkit.errors import DecodeError

CAPTURES = [n for n in data.names() if n.startswith("sms_")]
SIP = (b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Type: application/vnd.3gpp.sms\r\n"
       b"Content-Length: 2\r\n\r\n\x03\x07")  # body = RP-ACK N->MS, reference 7 (2 octets)


def _names(layers):
    return [(l.name, l.length) for l in layers]


def test_plain_udp_frame():
    f = frames.udp_frame(SIP, "10.0.0.1", "10.0.0.2", 5060, 5060)
    layers = overhead.frame_layers(f)
    # Ethernet 14, IPv4 20, UDP 8, start line 23+2, headers to the empty line, RP 2
    assert _names(layers) == [("link", 14), ("inner_ip", 20), ("transport", 8),
                              ("sip_start_line", 25), ("sip_headers", len(SIP) - 2 - 25),
                              ("rp_header", 2)]
    assert sum(l.length for l in layers) == len(f)


def test_s1u_stack_with_gtp_seq_and_esp_null():
    f = frames.udp_frame(SIP, "10.45.0.2", "172.22.0.21", 6100, 5103, esp={"spi": 1, "seq": 1},
                         gtp={"teid": 5, "outer_src": "172.16.0.10", "outer_dst": "172.16.0.20", "seq": 3})
    t = overhead.layer_table(overhead.frame_layers(f))
    # GTP-U with S flag: 8 + 4 (TS 29.281 5.1); ESP: 8 header, pad so that UDP(8+len) + 2 is a
    # multiple of 4 (RFC 4303 2.4), + 2 trailer, + 12 ICV (HMAC-SHA-1-96)
    pad = -(8 + len(SIP) + 2) % 4
    assert (t["link"], t["outer_ip"], t["outer_udp"], t["gtpu"], t["inner_ip"]) == (14, 20, 8, 12, 20)
    assert (t["esp_header"], t["esp_padding"], t["esp_trailer"], t["esp_icv"], t["transport"]) == \
        (8, pad, 2, 12, 8)
    assert sum(t.values()) == len(f)


def test_ipv6_vlan_and_sll():
    f = frames.udp_frame(SIP, "2001:db8::1", "2001:db8::2", 5060, 5060, vlans=(100,))
    t = overhead.layer_table(overhead.frame_layers(f))
    assert (t["link"], t["inner_ip"], t["transport"]) == (18, 40, 8)  # 14 + 802.1Q tag 4
    f = frames.udp_frame(SIP, "10.0.0.1", "10.0.0.2", 5060, 5060, link="sll")
    assert overhead.layer_table(overhead.frame_layers(f, 113))["link"] == 16


def test_encrypted_esp_is_opaque():
    f = bytearray(frames.udp_frame(SIP, "10.0.0.1", "10.0.0.2", 5060, 5060, esp={"spi": 9, "seq": 1}))
    f[42:-12] = bytes(b ^ 0x5A for b in f[42:-12])  # after Ethernet 14 + IPv4 20 + ESP 8
    layers = overhead.frame_layers(bytes(f))
    assert _names(layers)[-1] == ("esp_opaque", len(f) - 42)


def test_ethernet_padding_and_truncation():
    f = frames.udp_frame(b"x", "10.0.0.1", "10.0.0.2", 9, 9)  # 43 octets
    padded = f + bytes(60 - len(f))
    t = overhead.layer_table(overhead.frame_layers(padded))
    assert t["other"] == 60 - len(f) + 1  # 1 payload octet that is not SIP + 17 padding
    with pytest.raises(DecodeError, match="frame 5"):
        overhead.frame_layers(f[:30], where="x.pcap, frame 5")


def test_qualcomm_published_figure_adds_up():
    assert sum(overhead.QUALCOMM.values()) == 828
    path = data.path("sms_mo_submit")
    fr = next(iter_frames(path))
    cmp = overhead.qualcomm_comparison(fr.data)
    rows = cmp.set_index("layer")
    assert rows.loc["total", "published"] == 828 and rows.loc["total", "measured"] == len(fr.data)
    assert rows.loc["efficiency [%]", "published"] == 0.12  # 1/828 = 0.1208 %
    assert rows.loc["body", "measured"] == 1


def test_what_if_rows_are_measured():
    path = data.path("sms_mo_submit")
    fr = list(iter_frames(path))
    w = whatif.what_if(fr[0].data, fr[2].data).set_index("scenario")
    for _, row in w.iterrows():
        assert sum(row[c] for c in overhead.LAYERS) == row["total"]
    base = w.loc["as captured"]
    esp = base["esp_header"] + base["esp_padding"] + base["esp_trailer"] + base["esp_icv"]
    assert w.loc["no IPsec (no ESP)", "total"] == base["total"] - esp
    assert w.loc["IPv6 inner IP", "inner_ip"] == 40
    assert w.loc["160-character text", "user_data"] == 140  # 160 septets * 7 / 8
    # 3 parts of 153 septets after a 6-octet UDH + 1 fill bit: 160 septets = 140 octets, 134 text
    assert (w.loc["3-part concatenated (459 chars)", "frames"],
            w.loc["3-part concatenated (459 chars)", "user_data"]) == (3, 3 * 134)
    assert w.loc["UCS2 text ('K')", "user_data"] == 2
    ussd = w.loc[f"USSD over IMS ({whatif.USSD_REQUEST}: INVITE, 200, ACK, BYE, 200; TS 24.390)"]
    assert ussd["frames"] == 5 and ussd["user_data"] == len("*100#") + len(whatif.USSD_RESULT)
    # efficiency_percent is a percentage: 100 * user data / total
    assert w["efficiency_percent"].tolist() == [round(100 * u / t, 3) for u, t in zip(w["user_data"], w["total"])]


# ------------------------------------------------------------------ against tshark


def _pdml(path):
    out = subprocess.run(["tshark", "-r", str(path), "-o", "esp.enable_null_encryption_decode_heuristic:TRUE",
                          "-T", "pdml"], capture_output=True, check=True).stdout
    return ET.fromstring(out).findall("packet")


def _sizes(packet) -> dict:
    """tshark's view: protocol sizes in order, and the field sizes we compare."""
    protos = [(p.get("name"), int(p.get("pos") or -1), int(p.get("size") or 0))
              for p in packet.iter("proto")]
    fields = {}
    for f in packet.iter("field"):
        fields.setdefault(f.get("name"), int(f.get("size") or 0))
    return {"protos": protos, "fields": fields}


def _expected(sizes) -> dict:
    protos, fields = sizes["protos"], sizes["fields"]
    get = lambda name: [s for n, _, s in protos if n == name]  # noqa: E731
    exp = {"link": (get("eth") or get("sll"))[0], "total": get("frame")[0]}
    ips = [(p, s) for n, p, s in protos if n in ("ip", "ipv6")]
    inner = ips[1] if get("gtp") else ips[0]
    if get("gtp"):
        exp.update(outer_ip=ips[0][1], outer_udp=get("udp")[0], gtpu=get("gtp")[0], inner_ip=inner[1])
    else:
        exp.update(inner_ip=inner[1])
    l4 = [(n, p, s) for n, p, s in protos if n in ("udp", "tcp") and p > inner[0]]
    if l4:  # none when the ESP payload is encrypted
        exp["transport"] = l4[0][2]
    if get("esp") and "esp.protocol" in fields:
        esp_pos = [p for n, p, _ in protos if n == "esp"][0]
        exp.update(esp_header=l4[0][1] - esp_pos, esp_icv=fields.get("esp.icv", 0),
                   esp_padding=fields.get("esp.pad", 0),
                   esp_trailer=fields["esp.pad_len"] + fields["esp.protocol"])
    line = fields.get("sip.Request-Line") or fields.get("sip.Status-Line")
    if line:
        exp.update(sip_start_line=line + 2, sip_headers=fields["sip.msg_hdr"])
    if get("gsm_sms"):
        exp.update(rp_header=get("gsm_a.rp")[0] - get("gsm_sms")[0])
        exp["tp_plus_ud"] = get("gsm_sms")[0]
    return exp


@pytest.mark.requires_tshark
@pytest.mark.parametrize("name", CAPTURES)
def test_layer_bytes_equal_tshark(name):
    path = data.path(name)
    packets = _pdml(path)
    checked = 0
    for fr, packet in zip(iter_frames(path), packets):
        exp = _expected(_sizes(packet))
        ours = overhead.layer_table(overhead.frame_layers(fr.data, fr.linktype))
        ours["total"] = len(fr.data)
        if "tp_plus_ud" in exp and ours["tp_header"]:
            assert ours["tp_header"] + ours["user_data"] == exp.pop("tp_plus_ud")
        exp.pop("tp_plus_ud", None)
        if ours["esp_opaque"]:
            exp = {k: v for k, v in exp.items() if k in ("link", "outer_ip", "outer_udp", "gtpu",
                                                         "inner_ip", "total")}
        got = {k: ours[k] for k in exp}
        assert got == exp, (name, fr.number)
        checked += 1
    assert checked == len(packets) > 0


@pytest.mark.requires_tshark
def test_sms_overhead_table_totals():
    path = data.path("sms_mo_submit")
    table = overhead.sms_overhead(path)
    assert table["frame"].tolist() == [1, 2, 3, 4]
    assert table["message"].tolist() == ["MESSAGE", "202 Accepted", "MESSAGE", "200 OK"]
    lens = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.len"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert table["total"].tolist() == [int(x) for x in lens]
    assert (table[overhead.LAYERS].sum(axis=1) == table["total"]).all()


def test_cli_overhead(capsys):
    import json
    from labkit.cli import main
    path = str(data.path("sms_mo_submit"))
    assert main(["overhead", path, "--compare", "1"]) == 0
    out = capsys.readouterr().out
    assert "Qualcomm" in out and "828" in out
    assert main(["overhead", path, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["frame"] for m in doc["messages"]] == [1, 2, 3, 4]
    assert main(["overhead", path, "--compare", "99"]) == 2


def test_overhead_plots_return_axes():
    import matplotlib.pyplot as plt
    from labkit import plots
    table = overhead.sms_overhead(data.path("sms_mo_submit"))
    assert plots.plot_overhead(table).get_xlabel().startswith("octets")
    assert "1098" in plots.plot_waterfall(table.iloc[0]).get_title()
    plt.close("all")


@pytest.mark.requires_tshark
def test_what_if_frames_equal_tshark(tmp_path):
    """The rebuilt frames are real frames: tshark dissects them to the same layer sizes."""
    fr = list(iter_frames(data.path("sms_mo_submit")))
    records, n = [], 0
    for frames_, _, _ in whatif.what_if_frames(fr[0].data, fr[2].data).values():
        records += [(10**18 + 10**6 * (n := n + 1), f) for f in frames_]
    path = tmp_path / "whatif.pcap"
    frames.write_pcap(path, records)
    for (_, f), packet in zip(records, _pdml(path)):
        exp = _expected(_sizes(packet))
        ours = overhead.layer_table(overhead.frame_layers(f))
        ours["total"] = len(f)
        if "tp_plus_ud" in exp:
            assert ours["tp_header"] + ours["user_data"] == exp.pop("tp_plus_ud")
        assert {k: ours[k] for k in exp} == exp


# ------------------------------------------------------------------ real captures

IPSEC = "volte_gtp/open5gs__open5gs__docs__assets__pcapng__ipsec_to_nonipsec_call.pcapng"


@pytest.mark.requires_shared
def test_real_captures_account_or_explain(shared_dir):
    """Every frame of every shared capture: layers add up to the frame, or a LabkitError."""
    from conftest import shared_capture_files
    from labkit.errors import LabkitError
    for path in shared_capture_files():
        for fr in iter_frames(path):
            try:
                layers = overhead.frame_layers(fr.data, fr.linktype)
            except LabkitError:
                continue
            assert sum(l.length for l in layers) == len(fr.data), (path.name, fr.number)


@pytest.mark.requires_shared
@pytest.mark.requires_tshark
def test_real_esp_null_over_gtp_equals_tshark(shared_dir):
    """open5gs IMS with IPsec (ESP NULL) over GTP-U on Linux cooked capture, SIP over TCP."""
    from labkit.errors import LabkitError
    path = shared_dir / IPSEC
    packets = {int(p.find("proto").find("field[@name='num']").get("show")): p for p in _pdml(path)}
    checked = 0
    for fr in iter_frames(path):
        try:
            ours = overhead.layer_table(overhead.frame_layers(fr.data, fr.linktype))
        except LabkitError:
            continue  # IP fragments: accounted only after reassembly
        if not ours["esp_header"] or ours["esp_opaque"]:
            continue
        sizes = _sizes(packets[fr.number])
        exp = _expected(sizes)
        exp.pop("tp_plus_ud", None)
        exp = {k: v for k, v in exp.items() if not k.startswith("sip_")}  # TCP: SIP may span segments
        ours["total"] = len(fr.data)
        assert {k: ours[k] for k in exp} == exp, fr.number
        checked += 1
    assert checked > 10


def test_fragmented_sms_is_left_out_with_a_warning(tmp_path):
    from labkit.errors import LabkitWarning
    sip = (b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: f\r\nCSeq: 1 MESSAGE\r\nContent-Type: "
           b"application/vnd.3gpp.sms\r\nX-Pad: " + b"x" * 1600 + b"\r\nContent-Length: 2\r\n\r\n\x03\x07")
    udp = frames.udp(sip, 5060, 5060, "10.0.0.1", "10.0.0.2")
    recs = [(10**18 + i, frames.ethernet(p)) for i, p in
            enumerate(frames.ipv4_fragments(udp, "10.0.0.1", "10.0.0.2", 17))]
    path = tmp_path / "frag.pcap"
    frames.write_pcap(path, recs)
    with pytest.warns(LabkitWarning, match="fragment"):
        table = overhead.sms_overhead(path)
    assert table.empty


@pytest.mark.parametrize("name", CAPTURES)
def test_layer_walk_agrees_with_labkit_capture(name):
    """The byte walk and labkit.capture's reader find the same UDP header, payload and SPI."""
    from labkit.capture import read_capture
    path = data.path(name)
    packets = read_capture(path)
    by_frame = {f.number: f for f in iter_frames(path)}
    for i in range(len(packets)):
        fr = by_frame[int(packets.frame[i])]
        layers = {l.name: l for l in overhead.frame_layers(fr.data, fr.linktype)}
        assert layers["transport"].offset == int(packets.l4_offset[i])
        # payload_offset and frame_offset are positions in the file
        assert layers["transport"].offset + 8 == int(packets.payload_offset[i]) - int(packets.frame_offset[i])
        spi = layers["esp_header"].info["spi"] if "esp_header" in layers else -1
        assert spi == int(packets.esp_spi[i])


def test_mutated_frames_account_or_raise_labkit_errors():
    import random
    from labkit.errors import LabkitError
    rng = random.Random(2)  # seeded: deterministic
    pool = [f.data for n in ("sms_tp_variety", "sms_bad_input") for f in iter_frames(data.path(n))]
    for _ in range(2000):
        b = bytearray(rng.choice(pool))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(min(len(b), 120))
            if rng.random() < 0.6:
                b[pos] = rng.randrange(256)
            else:
                del b[max(pos, 1):]
        try:
            layers = overhead.frame_layers(bytes(b))
        except LabkitError:
            continue
        assert sum(l.length for l in layers) == len(b) and min(l.length for l in layers) >= 0
