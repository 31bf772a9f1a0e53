"""SMS over IMS captures on the full S1-U stack -> data/sms (``python -m tools.synth.make_sms``).

Every SIP MESSAGE is carried as the S1-U interface sees it (3GPP TS 24.341, 33.203):
Ethernet / outer IPv4 (eNB <-> SGW) / UDP 2152 / GTP-U / inner IPv4 (UE <-> P-CSCF) /
ESP transport mode, NULL encryption, HMAC-SHA-1-96 ICV / UDP (protected ports) / SIP.
RP and TP bodies are encoded with labkit.sms (pycrate); frames with labkit.capture.frames.
Deterministic: fixed clock, fixed tags and branches.

When kamailio and dumpcap are installed (skip with ``--no-kamailio``) one more capture
is made with real kamailio 5.6 smsops building the MT RP-DATA on loopback, answered by
a scripted UE (baresip answers MESSAGE with 415), see :func:`kamailio_capture`.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from labkit import sms
from labkit.capture import frames

OUT = Path(__file__).resolve().parents[2] / "data" / "sms"
MADE_BY = "python -m tools.synth.make_sms"
HOW_MADE = ("synthetic builder: S1-U frames written by tools.synth.make_sms (labkit.capture.frames; "
            "RP/TP encoded with pycrate); no phone or network sent them")
HOW_MADE_BY_NAME = {
    "sms_mo_submit": "published figure: the layer stack of a published S1-U breakdown of an MO "
                     "'K' (828 bytes, Qualcomm handset) rebuilt by tools.synth.make_sms; the "
                     "SIP headers (User-Agent included) are the builder's, not the handset's",
    "sms_mt_rpda_iphone": "published figure: the RP-DA of a published iPhone case rebuilt by "
                          "tools.synth.make_sms; the frames, SIP headers and the missing RP-ACK "
                          "are the builder's (the post does not say whether an RP-ACK came)",
    "sms_kamailio_mt": "real software: kamailio 5.6 smsops on loopback (plain UDP, no S1-U), "
                       "captured by dumpcap; the UE answering it is a Python script",
}
T0 = 1772359200 * 10**9  # 2026-03-01 10:00:00 UTC [ns]
TZ = timezone(timedelta(hours=-5))  # SC time zone written in TP-SCTS
DOMAIN = "ims.mnc001.mcc001.3gppnetwork.org"
UE_MSISDN, SC, PEER = "12025550143", "12025550100", "12025550187"
UE_IP, PCSCF_IP = "10.45.0.2", "172.22.0.21"
ENB_IP, SGW_IP = "172.16.0.10", "172.16.0.20"
UE_PORT_C, UE_PORT_S, PCSCF_PORT_C, PCSCF_PORT_S = 6100, 6101, 5104, 5103
SPI_UE_IN, SPI_PCSCF_IN = 0x0BADCAFE, 0x00C0FFEE  # SPI of the SA towards UE / P-CSCF
TEID_UL, TEID_DL = 0x00000F01, 0x1A2B3C4D


@dataclass
class Stack:
    """Frame builder for one UE: keeps the ESP sequence numbers per direction."""

    esp_seq: dict = field(default_factory=lambda: {"ul": 1, "dl": 1})
    gtp_seq: int = 100

    def frame(self, sip: bytes, uplink: bool, sport: int, dport: int) -> bytes:
        """One S1-U frame carrying `sip` UE->P-CSCF (`uplink`) or P-CSCF->UE."""
        key = "ul" if uplink else "dl"
        esp = {"spi": SPI_PCSCF_IN if uplink else SPI_UE_IN, "seq": self.esp_seq[key]}
        self.esp_seq[key] += 1
        if uplink:
            gtp = {"teid": TEID_UL, "outer_src": ENB_IP, "outer_dst": SGW_IP}
            src, dst = UE_IP, PCSCF_IP
        else:  # the SGW numbers its downlink G-PDUs (S flag: 12-byte GTP-U header)
            gtp = {"teid": TEID_DL, "outer_src": SGW_IP, "outer_dst": ENB_IP, "seq": self.gtp_seq}
            self.gtp_seq += 1
            src, dst = PCSCF_IP, UE_IP
        return frames.udp_frame(sip, src, dst, sport, dport, gtp=gtp, esp=esp)


def _scts(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0 // 10**9 + seconds, TZ)


def _uri(num: str) -> str:
    return f"sip:+{num}@{DOMAIN}"


def _pcv(n: int) -> str:
    return (f"P-Charging-Vector: icid-value=\"AyRFtDm{n:04d}EqDsRXsC\";"
            f"icid-generated-at={PCSCF_IP};orig-ioi={DOMAIN}")


def mt_message(body: bytes, n: int, *, ctype: str = sms.SMS_CONTENT_TYPE,
               accept_contact: bool = True, no_fork: bool = True) -> bytes:
    """MESSAGE from the network (IP-SM-GW -> S-CSCF -> P-CSCF) to the UE (TS 24.341 5.3.2.4)."""
    lines = [
        f"MESSAGE sip:+{UE_MSISDN}@{UE_IP}:{UE_PORT_S} SIP/2.0",
        f"Via: SIP/2.0/UDP {PCSCF_IP}:{PCSCF_PORT_C};branch=z9hG4bK{n:04d}pcscf",
        f"Via: SIP/2.0/UDP 172.22.0.20:6060;branch=z9hG4bK{n:04d}scscf",
        f"Via: SIP/2.0/UDP 172.22.0.30:5060;branch=z9hG4bK{n:04d}ipsmgw",
        "Max-Forwards: 67",
        f"From: <{_uri(SC)}>;tag=ipsmgw{n:04d}",
        f"To: <tel:+{UE_MSISDN}>",
        f"Call-ID: mt{n:04d}-sms@172.22.0.30",
        "CSeq: 1 MESSAGE",
        f"P-Asserted-Identity: <{_uri(SC)}>",
        _pcv(n),
    ]
    lines += ["Accept-Contact: *;+g.3gpp.smsip"] if accept_contact else []
    lines += ["Request-Disposition: no-fork"] if no_fork else []
    lines += [f"Content-Type: {ctype}", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def mo_message(body: bytes, n: int) -> bytes:
    """MESSAGE from the UE to the SMSC PSI via P-CSCF (TS 24.341 5.3.1.2), sec-agree headers."""
    lines = [
        f"MESSAGE {_uri(SC)} SIP/2.0",
        f"Via: SIP/2.0/UDP {UE_IP}:{UE_PORT_C};branch=z9hG4bK{n:04d}ue;rport",
        "Max-Forwards: 70",
        f"Route: <sip:{PCSCF_IP}:{PCSCF_PORT_S};lr>, <sip:orig@scscf.{DOMAIN}:6060;lr>",
        f"From: <{_uri(UE_MSISDN)}>;tag=ue{n:04d}",
        f"To: <{_uri(SC)}>",
        f"Call-ID: mo{n:04d}-sms@{UE_IP}",
        "CSeq: 1 MESSAGE",
        f"P-Preferred-Identity: <{_uri(UE_MSISDN)}>",
        "P-Access-Network-Info: 3GPP-E-UTRAN-FDD;utran-cell-id-3gpp=0010100010019B01",
        f"Security-Verify: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;spi-c={SPI_PCSCF_IN};"
        f"spi-s={SPI_PCSCF_IN + 1};port-c={PCSCF_PORT_C};port-s={PCSCF_PORT_S}",
        "Require: sec-agree",
        "Proxy-Require: sec-agree",
        "Request-Disposition: no-fork",
        "Accept-Contact: *;+g.3gpp.smsip",
        "Allow: INVITE, ACK, CANCEL, BYE, MESSAGE, OPTIONS, NOTIFY, PRACK, UPDATE, REFER",
        "User-Agent: iOS/17.4 iPhone",
        f"Content-Type: {sms.SMS_CONTENT_TYPE}",
        f"Content-Length: {len(body)}", "", "",
    ]
    return "\r\n".join(lines).encode() + body


def response(request: bytes, code: int, reason: str, *, to_tag: str) -> bytes:
    """A response copying Via/From/To/Call-ID/CSeq of `request` (RFC 3261 8.2.6)."""
    head = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    keep = [h for h in head if h.split(":", 1)[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
    keep = [h + f";tag={to_tag}" if h.startswith("To:") else h for h in keep]
    return "\r\n".join([f"SIP/2.0 {code} {reason}", *keep, "Content-Length: 0", "", ""]).encode()


class Capture:
    """Accumulates frames of one scenario with a 20 ms / 150 ms rhythm."""

    def __init__(self):
        self.stack, self.records, self.t = Stack(), [], T0

    def mt(self, sip: bytes, dt_ms: int = 150) -> None:
        self._add(self.stack.frame(sip, False, PCSCF_PORT_C, UE_PORT_S), dt_ms)

    def mt_response(self, sip: bytes, dt_ms: int = 40) -> None:
        self._add(self.stack.frame(sip, True, UE_PORT_S, PCSCF_PORT_C), dt_ms)

    def mo(self, sip: bytes, dt_ms: int = 150) -> None:
        self._add(self.stack.frame(sip, True, UE_PORT_C, PCSCF_PORT_S), dt_ms)

    def mo_response(self, sip: bytes, dt_ms: int = 60) -> None:
        self._add(self.stack.frame(sip, False, PCSCF_PORT_S, UE_PORT_C), dt_ms)

    def _add(self, frame: bytes, dt_ms: int) -> None:
        self.t += dt_ms * 10**6
        self.records.append((self.t, frame))


def mt_delivery(cap: Capture, n: int, tpdu: bytes, ref: int, *, rp_da: str | None = None,
                acked: bool = True, **headers) -> None:
    """MT RP-DATA -> 200 OK [-> MO RP-ACK -> 200 OK] (TS 24.341 5.3.2.4, 5.3.1.3)."""
    rp = sms.encode_rp_data(ref, tpdu, mt=True, oa=SC, da=rp_da)
    msg = mt_message(rp, n, **headers)
    cap.mt(msg)
    cap.mt_response(response(msg, 200, "OK", to_tag=f"ue{n:04d}"))
    if acked:
        ack = mo_message(sms.encode_rp_ack(ref, from_ms=True), n + 500)
        cap.mo(ack)
        cap.mo_response(response(ack, 200, "OK", to_tag=f"pcscf{n:04d}"))


def mo_submission(cap: Capture, n: int, tpdu: bytes, ref: int, *, cause: int | None = None) -> None:
    """MO RP-DATA -> 202 Accepted -> MT RP-ACK or RP-ERROR -> 200 OK (TS 24.341 5.3.1.2)."""
    msg = mo_message(sms.encode_rp_data(ref, tpdu, mt=False, da=SC), n)
    cap.mo(msg)
    cap.mo_response(response(msg, 202, "Accepted", to_tag=f"scscf{n:04d}"))
    if cause is None:
        report = sms.encode_rp_ack(ref, from_ms=False)
    else:
        report = sms.encode_rp_error(ref, cause, from_ms=False)
    rep = mt_message(report, n + 500)
    cap.mt(rep, dt_ms=400)
    cap.mt_response(response(rep, 200, "OK", to_tag=f"ue{n + 500:04d}"))


def scenarios() -> dict[str, tuple[Capture, str]]:
    """Every bundled scenario: name -> (capture, description)."""
    out = {}
    deliver_k = sms.encode_deliver(PEER, "K", _scts(0))
    cap = Capture()
    mt_delivery(cap, 1, deliver_k, 17, rp_da=UE_MSISDN, acked=False)
    out["sms_mt_rpda_iphone"] = (cap, "MT RP-DATA with RP-DA = subscriber MSISDN: iPhone answers "
                                      "200 OK, no RP-ACK follows, text never shown (S1-U, ESP NULL)")
    cap = Capture()
    mt_delivery(cap, 1, deliver_k, 17)
    out["sms_mt_rpda_fixed"] = (cap, "same MT SMS with RP-DA length 0: 200 OK then RP-ACK from the UE")
    cap = Capture()
    mo_submission(cap, 1, sms.encode_submit(PEER, "K", mr=9), 9)
    out["sms_mo_submit"] = (cap, "MO SMS-SUBMIT \"K\": MESSAGE, 202 Accepted, RP-ACK from the "
                                 "network, 200 OK (the overhead example)")
    cap = Capture()
    mo_submission(cap, 1, sms.encode_submit(PEER, "Are you there?", mr=10), 10, cause=21)
    out["sms_rp_error"] = (cap, "MO SMS-SUBMIT answered 202 then RP-ERROR cause 21 "
                                "(short message transfer rejected)")
    cap = Capture()
    mt_delivery(cap, 1, sms.encode_deliver(PEER, "Привет, встреча в 19:00 ✓", _scts(1), dcs=8), 31)
    out["sms_mt_ucs2"] = (cap, "MT SMS-DELIVER in UCS2 (Cyrillic text), RP-ACK")
    cap = Capture()
    text = ("Your parcel 4471 is out for delivery today between 10:00 and 14:00. "
            "Reply STOP to opt out. ") * 4
    parts = [text[i:i + 153] for i in range(0, len(text), 153)][:3]
    for i, part in enumerate(parts):
        tpdu = sms.encode_deliver(PEER, part, _scts(2), concat=(0x2A, len(parts), i + 1))
        mt_delivery(cap, 10 + i, tpdu, 40 + i)
    out["sms_mt_concat"] = (cap, "3-part concatenated GSM 7-bit MT SMS (UDH 00 03 2A 03 0n), "
                                 "each part RP-ACKed")
    out["sms_tp_variety"] = (_variety(), "other TPDU types and silent messages: SMS-SUBMIT-REPORT in "
                             "RP-ACK, SMS-STATUS-REPORT, SMS-COMMAND, RP-ERROR with SMS-DELIVER-REPORT "
                             "(memory exceeded), PID 0x40 type 0, DCS 0xC0 MWI discard, 8-bit data")
    return out


def _variety() -> Capture:
    """TPDU layouts other than plain DELIVER/SUBMIT (TS 23.040 9.2.2), hex from the spec."""
    cap, scts = Capture(), _scts(4).replace(tzinfo=TZ)
    ts = sms.encode_deliver(PEER, "", scts)[-8:-1]  # the 7 TP-SCTS octets (then UDL 0)
    submit_report = bytes([0x01, 0x00]) + ts                       # MTI 1, TP-PI none, SCTS
    mo = mo_message(sms.encode_rp_data(60, sms.encode_submit(PEER, "report?", mr=61), mt=False, da=SC), 60)
    cap.mo(mo)
    cap.mo_response(response(mo, 202, "Accepted", to_tag="scscf0060"))
    ack = mt_message(sms.encode_rp_ack(60, from_ms=False, tpdu=submit_report), 560)
    cap.mt(ack)
    cap.mt_response(response(ack, 200, "OK", to_tag="ue0560"))
    # SMS-STATUS-REPORT: MTI 2 + MMS, MR 61, RA, SCTS, DT, ST 0 (received)
    status = bytes([0x06, 61]) + sms.encode_submit(PEER, "")[2:10] + ts + ts + b"\x00"
    mt_delivery(cap, 61, status, 62)
    command = bytes([0x02, 62, 0x00, 0x01, 61]) + sms.encode_submit(PEER, "")[2:10] + b"\x00"
    cmd = mo_message(sms.encode_rp_data(63, command, mt=False, da=SC), 63)   # enquiry on MR 61
    cap.mo(cmd)
    cap.mo_response(response(cmd, 202, "Accepted", to_tag="scscf0063"))
    cap.mt(mt_message(sms.encode_rp_ack(63, from_ms=False), 563), dt_ms=400)
    full = mt_message(sms.encode_rp_data(64, sms.encode_deliver(PEER, "full", scts), mt=True, oa=SC), 64)
    cap.mt(full)
    cap.mt_response(response(full, 200, "OK", to_tag="ue0064"))
    err = mo_message(sms.encode_rp_error(64, 22, from_ms=True, tpdu=bytes([0x00, 0xD3, 0x00])), 564)
    cap.mo(err)                                                    # FCS 0xD3: memory exceeded
    cap.mo_response(response(err, 200, "OK", to_tag="pcscf0564"))
    mt_delivery(cap, 65, sms.encode_deliver(PEER, "", scts, pid=0x40), 65)        # type 0
    mt_delivery(cap, 66, sms.encode_deliver(PEER, "1 voicemail", scts, dcs=0xC0), 66)
    mt_delivery(cap, 67, sms.encode_deliver(PEER, bytes.fromhex("0b05040b8423f0"), scts, dcs=0x04), 67)
    return cap


def main(argv: list[str] | None = None) -> int:
    """Write every scenario to data/sms/<name>.pcap and data/sms/MANIFEST.tsv."""
    OUT.mkdir(parents=True, exist_ok=True)
    rows = ["name\tfile\tmade_by\thow_made\tdescription"]
    for name, (cap, desc) in scenarios().items():
        frames.write_pcap(OUT / f"{name}.pcap", cap.records)
        rows.append(f"{name}\t{name}.pcap\t{MADE_BY}\t{HOW_MADE_BY_NAME.get(name, HOW_MADE)}\t{desc}")
    extra = _bad_input()
    frames.write_pcap(OUT / "sms_bad_input.pcap", extra)
    rows.append(f"sms_bad_input\tsms_bad_input.pcap\t{MADE_BY}\t{HOW_MADE}\ttruncated RP, TP-UDL overrun, "
                "unknown RP type, non-SMS body, inexact Content-Type, missing MT headers, "
                "encrypted ESP")
    rows += _kamailio_rows(argv)
    (OUT / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} files to {OUT}")
    return 0


def _bad_input() -> list:
    """Frames exercising every bad-input path, between two good MT messages."""
    cap = Capture()
    good = sms.encode_rp_data(50, sms.encode_deliver(PEER, "first", _scts(3)), mt=True, oa=SC)
    cap.mt(mt_message(good, 50))
    cap.mt(mt_message(good[:9], 51))                                      # truncated RP-OA
    tp = bytearray(sms.encode_deliver(PEER, "udl", _scts(3)))
    tp[-4] = 40                                                           # TP-UDL 40 > 3 chars
    cap.mt(mt_message(sms.encode_rp_data(52, b"", mt=True, oa=SC)[:-1] + bytes([len(tp)]) + tp, 52))
    cap.mt(mt_message(bytes([7, 53, 0]), 53))                             # RP-MTI 7 reserved
    cap.mt(mt_message(b"hello, not an RP message", 54))                   # not SMS
    cap.mt(mt_message(good, 55, ctype="Application/Vnd.3gpp.SMS; charset=binary",
                      accept_contact=False, no_fork=False))               # inexact, no headers
    sip = mt_message(good, 56)
    esp = {"spi": 0x5EC00001, "seq": 1}
    frame = frames.udp_frame(sip, PCSCF_IP, UE_IP, PCSCF_PORT_C, UE_PORT_S,
                             gtp={"teid": TEID_DL, "outer_src": SGW_IP, "outer_dst": ENB_IP}, esp=esp)
    cap._add(_scramble_esp_trailer(frame), 150)                           # encrypted ESP
    cap.mt(mt_message(good, 57))
    return cap.records


def _scramble_esp_trailer(frame: bytes) -> bytes:
    """Make the ESP payload and trailer look encrypted: XOR from after the ESP header
    (Ethernet 14 + IPv4 20 + UDP 8 + GTP-U 8 + IPv4 20 + ESP 8 = 78) up to the 12-byte ICV."""
    body = bytearray(frame)
    body[78:-12] = bytes(b ^ 0x5A for b in body[78:-12])
    return bytes(body)


def _kamailio_rows(argv) -> list[str]:
    """The real-software capture, unless --no-kamailio or kamailio/dumpcap are missing."""
    name = "sms_kamailio_mt"
    skip = (argv and "--no-kamailio" in argv) or not (shutil.which("kamailio") and shutil.which("dumpcap"))
    if skip and not (OUT / f"{name}.pcap").exists():
        return []
    if not skip:
        kamailio_capture(OUT / f"{name}.pcap")
    return [f"{name}\t{name}.pcap\t{MADE_BY}\t{HOW_MADE_BY_NAME[name]}\treal kamailio 5.6 smsops builds three MT RP-DATA "
            "(loopback, plain UDP) to a scripted UE that, like an iPhone, answers 200 OK but sends "
            "RP-ACK only when RP-DA is empty: ref 17 $rpdata(destination) set; ref 18 without "
            "$rpdata(all) reset (RP-DA and TP-UDHI leak from ref 17); ref 19 reset, RP-ACKed"]


KAM_PORT, KAM_TRIGGER, UE_PORT, TRIGGER_PORT = 15070, 15071, 15080, 15090
KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{kam}
listen=udp:127.0.0.1:{trigger}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "uac.so"
loadmodule "smsops.so"
loadmodule "xlog.so"

request_route {{
    if (!is_method("MESSAGE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if ($Rp == {trigger}) {{
        if ($rU != "leak") {{
            $rpdata(all) = $null;  # smsops keeps the last values per process otherwise
        }}
        $rpdata(type) = 1;
        $rpdata(originator) = "{sc}";
        if ($rU == "rpda") {{
            $rpdata(reference) = 17;
            $rpdata(destination) = "{ue}";
        }} else if ($rU == "leak") {{
            $rpdata(reference) = 18;
        }} else {{
            $rpdata(reference) = 19;
        }}
        $tpdu(type) = 0;
        $tpdu(origen) = "{peer}";
        $tpdu(coding) = 0;
        $tpdu(payload) = "K";
        $uac_req(method) = "MESSAGE";
        $uac_req(ruri) = "sip:+{ue}@127.0.0.1:{ue_port}";
        $uac_req(furi) = "sip:+{sc}@{domain}";
        $uac_req(turi) = "tel:+{ue}";
        $uac_req(hdrs) = "Content-Type: application/vnd.3gpp.sms\\r\\nAccept-Contact: *;+g.3gpp.smsip\\r\\nRequest-Disposition: no-fork\\r\\n";
        $uac_req(body) = $smsbody;
        uac_req_send();
        sl_send_reply("200", "OK");
        exit;
    }}
    if (isRPDATA()) {{ smsdump(); }}
    sl_send_reply("200", "OK");
}}
"""


def _ue_answer(ue: socket.socket, msg: bytes, peer) -> None:
    """The scripted UE: 200 OK to every MESSAGE; RP-ACK only when RP-DA is empty."""
    from labkit.sip import parse_sip
    parsed = parse_sip(msg)
    if parsed is None or parsed[0].method != "MESSAGE":
        return
    ue.sendto(response(msg, 200, "OK", to_tag="ue-lab"), peer)
    rp = sms.decode_rp(parsed[0].body)
    if rp.mti != 1 or rp.da is not None:
        return  # what the iPhone does: 200 OK, nothing else
    body = sms.encode_rp_ack(rp.reference, from_ms=True)
    lines = [f"MESSAGE sip:+{SC}@{DOMAIN} SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:{UE_PORT};branch=z9hG4bKue-ack-{rp.reference};rport",
             "Max-Forwards: 70", f"From: <{_uri(UE_MSISDN)}>;tag=ue-ack-{rp.reference}",
             f"To: <{_uri(SC)}>", f"Call-ID: ue-ack-{rp.reference}@127.0.0.1", "CSeq: 1 MESSAGE",
             f"Content-Type: {sms.SMS_CONTENT_TYPE}", f"Content-Length: {len(body)}", "", ""]
    ue.sendto("\r\n".join(lines).encode() + body, ("127.0.0.1", KAM_PORT))


def _ue_loop(ue: socket.socket, seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ue.settimeout(left)
        try:
            data, peer = ue.recvfrom(65535)
        except socket.timeout:
            return
        _ue_answer(ue, data, peer)


def _trigger(user: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", TRIGGER_PORT))
        s.sendto((f"MESSAGE sip:{user}@127.0.0.1:{KAM_TRIGGER} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP 127.0.0.1:{TRIGGER_PORT};branch=z9hG4bKtrig{user}\r\n"
                  f"From: <sip:lab@127.0.0.1>;tag=lab\r\nTo: <sip:{user}@127.0.0.1>\r\n"
                  f"Call-ID: trigger-{user}\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
                  "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", KAM_TRIGGER))


def kamailio_capture(out: Path) -> None:
    """Run kamailio smsops + the scripted UE on loopback and capture UE-side traffic."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "kamailio.cfg"
        cfg.write_text(KAMAILIO_CFG.format(kam=KAM_PORT, trigger=KAM_TRIGGER, ue_port=UE_PORT,
                                           sc=SC, ue=UE_MSISDN, peer=PEER, domain=DOMAIN))
        raw = Path(tmp) / "raw.pcap"
        cap = subprocess.Popen(["dumpcap", "-q", "-P", "-i", "lo", "-f", f"udp port {UE_PORT}",
                                "-w", str(raw)], stderr=subprocess.PIPE)
        kam = subprocess.Popen(["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", tmp, "-w", tmp],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(cap, raw)
            time.sleep(1.0)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ue:
                ue.bind(("127.0.0.1", UE_PORT))
                for user in ("rpda", "leak", "fixed"):
                    _trigger(user)
                    _ue_loop(ue, 1.5)
            time.sleep(0.5)
        finally:
            for proc in (kam, cap):
                proc.terminate()
                proc.wait(timeout=10)
        _normalise(raw, out)


def _wait_for(cap: subprocess.Popen, raw: Path) -> None:
    for _ in range(100):
        if raw.exists() or cap.poll() is not None:
            return
        time.sleep(0.05)


def _normalise(raw: Path, out: Path) -> None:
    """Copy the frames with times shifted to start at T0 (keeps relative timing)."""
    from labkit.capture import iter_frames
    frames_ = list(iter_frames(raw))
    if not frames_:
        raise RuntimeError(f"kamailio capture {raw} is empty")
    t_first = frames_[0].time_ns
    frames.write_pcap(out, [(T0 + f.time_ns - t_first, f.data) for f in frames_],
                      linktype=frames_[0].linktype)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
