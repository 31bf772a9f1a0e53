"""Write data/authsynth/: built digest exchanges for what kamailio + SIPp/baresip cannot make.

    python -m tools.synth.make_auth

Built frames (labkit.capture.frames), not recordings. An IMS-style registrar
(S-CSCF 10.0.0.30, realm ims.lab.example) challenges UA bob (IMPI bob@ims.lab.example,
password "pw-bob"); each case has its own Call-ID and breaks one thing on purpose. The
responses are computed here with hashlib from RFC 2617/7616 section 3.4 (not with
labkit), and the broken field of each case is written to truth.json: the ground truth.
"""
from __future__ import annotations

from tools.manifest import add_how_made
import hashlib
import json
import sys
from pathlib import Path

from labkit.capture import frames

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "authsynth"
T0 = 1_700_000_000_000_000_000
UE, SCSCF = "10.0.0.1", "10.0.0.30"
REALM, IMPI, IMPU, PASSWORD = "ims.lab.example", "bob@ims.lab.example", "sip:bob@ims.lab.example", "pw-bob"
HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _h(alg: str, data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return HASH[alg.removesuffix("-sess")](raw).hexdigest()


def response(alg, user, realm, pw, method, uri, nonce, qop, nc, cnonce, body=b""):
    """RFC 7616 3.4.1-3.4.3 written out with hashlib."""
    ha1 = _h(alg, f"{user}:{realm}:{pw}")
    if alg.endswith("-sess"):
        ha1 = _h(alg, f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}:{_h(alg, body)}" if qop == "auth-int" else f"{method}:{uri}"
    return _h(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{_h(alg, a2)}")


# name: (what is broken, cause labkit must name, changes to the defaults)
CASES = {
    "sha256_ok": ("nothing: SHA-256 (RFC 8760), qop=auth, accepted", "accepted",
                  {"alg": "SHA-256"}),
    "md5_sess_ok": ("nothing: MD5-sess, accepted", "accepted", {"alg": "MD5-sess"}),
    "message_auth_int_ok": ("nothing: MESSAGE with a body, 407 Proxy-Authenticate, "
                            "qop=auth-int (H(body) in A2), accepted with 202", "accepted",
                            {"method": "MESSAGE", "qop": "auth-int", "body": b"hello bob"}),
    "realm_differs": ("the UA answers with realm lab.example (the challenge says "
                      "ims.lab.example)", "realm", {"sent_realm": "lab.example"}),
    "username_impu": ("the UA puts its IMPU sip:bob@ims.lab.example as username (the "
                      "IMPI belongs there)", "username", {"user": IMPU}),
    "uri_differs_strict": ("uri is sip:10.0.0.30 while the Request-URI is "
                           "sip:ims.lab.example; the response is right for what was sent, "
                           "a strict registrar refuses", "uri", {"uri": "sip:10.0.0.30"}),
    "algorithm_not_offered": ("challenge SHA-256, answer MD5", "algorithm",
                              {"alg": "SHA-256", "sent_alg": "MD5"}),
    "wrong_password": ("the UA hashes 'pw-bib'", "response", {"pw": "pw-bib"}),
    "nonce_never_issued": ("Authorization with a nonce no challenge in the capture gave",
                           "nonce", {"no_challenge": True}),
}


def _msg(start, headers, body=b""):
    text = "\r\n".join([start, *headers, f"Content-Length: {len(body)}"]) + "\r\n\r\n"
    return text.encode() + body


def build_case(i: int, name: str, spec: dict) -> list[bytes]:
    method = spec.get("method", "REGISTER")
    ruri = f"sip:{REALM}" if method == "REGISTER" else "sip:alice@ims.lab.example"
    alg = spec.get("alg", "MD5")
    qop = spec.get("qop", "auth")
    body = spec.get("body", b"")
    proxy = method != "REGISTER"
    nonce = hashlib.sha256(f"nonce-{name}".encode()).hexdigest()[:32]
    cnonce, nc = f"c{i:07d}", "00000001"
    call = f"{name}@{UE}"
    common = [f"From: <{IMPU}>;tag=f{i}", f"To: <{IMPU if method == 'REGISTER' else ruri}>",
              f"Call-ID: {call}"]
    via = lambda b: f"Via: SIP/2.0/UDP {UE}:5060;branch=z9hG4bK{b}{i}"  # noqa: E731
    extra = ["Content-Type: text/plain"] if body else []
    first = _msg(f"{method} {ruri} SIP/2.0", [via("a"), "Max-Forwards: 70", *common,
                 f"CSeq: 1 {method}", *extra], body)
    chal = (f'Digest realm="{REALM}", nonce="{nonce}", algorithm={alg}, qop="{qop}", '
            f'opaque="op{i}"')
    hdr = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    code = "407 Proxy Authentication Required" if proxy else "401 Unauthorized"
    challenge = _msg(f"SIP/2.0 {code}", [via("a"), *common[:1], common[1] + f";tag=s{i}",
                     common[2], f"CSeq: 1 {method}", f"{hdr}: {chal}"])
    user, realm = spec.get("user", IMPI), spec.get("sent_realm", REALM)
    uri, sent_alg = spec.get("uri", ruri), spec.get("sent_alg", alg)
    resp = response(sent_alg, user, realm, spec.get("pw", PASSWORD), method, uri, nonce,
                    qop, nc, cnonce, body)
    creds = (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
             f'response="{resp}", algorithm={sent_alg}, cnonce="{cnonce}", opaque="op{i}", '
             f'qop={qop}, nc={nc}')
    auth_hdr = "Proxy-Authorization" if proxy else "Authorization"
    retry = _msg(f"{method} {ruri} SIP/2.0", [via("b"), "Max-Forwards: 70", *common,
                 f"CSeq: 2 {method}", f"{auth_hdr}: {creds}", *extra], body)
    ok = CASES[name][1] == "accepted"
    final = ("202 Accepted" if proxy else "200 OK") if ok else code
    answer = [f"{hdr}: {chal.replace(nonce, nonce[::-1])}"] if not ok else []
    reply = _msg(f"SIP/2.0 {final}", [via("b"), *common[:1], common[1] + f";tag=s{i}",
                 common[2], f"CSeq: 2 {method}", *answer])
    seq = [first, challenge, retry, reply]
    return seq[2:] if spec.get("no_challenge") else seq


# ------------------------------------------------------------ Cx MAR/MAA with Digest-HA1
HSS = "10.0.0.40"
CX_USER, CX_PASSWORD, CX_UE_PASSWORD = "carol@ims.lab.example", "pw-carol", "pw-karol"


def avp(code: int, data: bytes, *, vendor: int | None = None, mandatory: bool = True) -> bytes:
    """One Diameter AVP (RFC 6733 section 4.1), packed by hand, padded to 4 octets."""
    import struct
    flags = (0x80 if vendor else 0) | (0x40 if mandatory else 0)
    head = struct.pack("!IB", code, flags)
    length = 8 + (4 if vendor else 0) + len(data)
    head += length.to_bytes(3, "big") + (struct.pack("!I", vendor) if vendor else b"")
    return head + data + b"\0" * (-len(data) % 4)


def diameter(cmd: int, request: bool, avps: bytes, hop: int) -> bytes:
    """Diameter header (RFC 6733 section 3): version 1, Cx application 16777216."""
    import struct
    flags = 0x80 if request else 0x00
    return (struct.pack("!B", 1) + (20 + len(avps)).to_bytes(3, "big") + struct.pack("!B", flags)
            + cmd.to_bytes(3, "big") + struct.pack("!III", 16777216, hop, hop) + avps)


def cx_maa(ha1: str) -> tuple[bytes, bytes]:
    """MAR and MAA for CX_USER: SIP-Auth-Data-Item (612) with SIP-Authentication-Scheme
    (608) "SIP Digest" and SIP-Digest-Authenticate (635) = Digest-Realm (104), Digest-QoP
    (110), Digest-Algorithm (111), Digest-HA1 (121) (TS 29.229 6.3.13, 6.3.36; RFC 4740)."""
    v = 10415
    session = avp(263, b"scscf.ims.lab.example;1;maa")
    user = avp(1, CX_USER.encode())
    mar = diameter(303, True, session + user + avp(601, f"sip:{CX_USER}".encode(), vendor=v)
                   + avp(607, (1).to_bytes(4, "big"), vendor=v), hop=7)
    digest = (avp(104, REALM.encode()) + avp(110, b"auth") + avp(111, b"MD5")
              + avp(121, ha1.encode()))
    item = avp(608, b"SIP Digest", vendor=v) + avp(635, digest, vendor=v)
    maa = diameter(303, False, session + avp(268, (2001).to_bytes(4, "big")) + user
                   + avp(612, item, vendor=v), hop=7)
    return mar, maa


def build_cx() -> list:
    """REGISTER -> MAR/MAA over TCP 3868 -> 401 -> REGISTER (wrong password) -> 401."""
    ha1 = hashlib.md5(f"{CX_USER}:{REALM}:{CX_PASSWORD}".encode()).hexdigest()
    mar, maa = cx_maa(ha1)
    nonce, cnonce, nc, uri = "cxnonce0123456789abcdef", "cc0001", "00000001", f"sip:{REALM}"
    hdr = [f"From: <sip:{CX_USER}>;tag=cx1", f"To: <sip:{CX_USER}>", "Call-ID: cx@10.0.0.1"]
    via = lambda b: f"Via: SIP/2.0/UDP {UE}:5060;branch=z9hG4bK{b}"  # noqa: E731
    reg1 = _msg(f"REGISTER {uri} SIP/2.0", [via("cx1"), "Max-Forwards: 70", *hdr, "CSeq: 1 REGISTER"])
    chal = f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth"'
    r401 = _msg("SIP/2.0 401 Unauthorized", [via("cx1"), hdr[0], hdr[1] + ";tag=s", hdr[2],
                "CSeq: 1 REGISTER", f"WWW-Authenticate: {chal}"])
    resp = response("MD5", CX_USER, REALM, CX_UE_PASSWORD, "REGISTER", uri, nonce, "auth", nc, cnonce)
    reg2 = _msg(f"REGISTER {uri} SIP/2.0", [via("cx2"), "Max-Forwards: 70", *hdr, "CSeq: 2 REGISTER",
                f'Authorization: Digest username="{CX_USER}", realm="{REALM}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc={nc}'])
    r401b = _msg("SIP/2.0 401 Unauthorized", [via("cx2"), hdr[0], hdr[1] + ";tag=s", hdr[2],
                 "CSeq: 2 REGISTER", f"WWW-Authenticate: {chal.replace(nonce, nonce[::-1])}"])
    syn, ack, psh = 0x02, 0x10, 0x18
    tcp = lambda pl, a, b, sp, dp, seq, ak, fl: frames.link_frame(  # noqa: E731
        frames.ipv4(frames.tcp(pl, sp, dp, seq, ak, fl, a, b), a, b, 6))
    c, h = 1000, 5000
    seq = [frames.udp_frame(reg1, UE, SCSCF, 5060, 5060),
           tcp(b"", SCSCF, HSS, 40000, 3868, c, 0, syn),
           tcp(b"", HSS, SCSCF, 3868, 40000, h, c + 1, syn | ack),
           tcp(b"", SCSCF, HSS, 40000, 3868, c + 1, h + 1, ack),
           tcp(mar, SCSCF, HSS, 40000, 3868, c + 1, h + 1, psh),
           tcp(maa, HSS, SCSCF, 3868, 40000, h + 1, c + 1 + len(mar), psh),
           frames.udp_frame(r401, SCSCF, UE, 5060, 5060),
           frames.udp_frame(reg2, UE, SCSCF, 5060, 5060),
           frames.udp_frame(r401b, SCSCF, UE, 5060, 5060)]
    return [(T0 + i * 20_000_000, f) for i, f in enumerate(seq)], ha1


def main(argv=None) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    records, truth, t = [], {}, T0
    for i, (name, (what, cause, spec)) in enumerate(CASES.items(), start=1):
        msgs = build_case(i, name, spec)
        first_frame = len(records) + 1
        for k, m in enumerate(msgs):
            src, dst = (UE, SCSCF) if m.split(b" ", 1)[0] != b"SIP/2.0" else (SCSCF, UE)
            records.append((t, frames.udp_frame(m, src, dst, 5060, 5060)))
            t += 20_000_000
        retry_frame = first_frame + (0 if spec.get("no_challenge") else 2)
        truth[name] = {"frame": retry_frame, "cause": cause, "what": what,
                       "password": PASSWORD}
        t += 500_000_000
    frames.write_pcap(OUT / "register_digest_built.pcap", records)
    (OUT / "truth.json").write_text(json.dumps({"realm": REALM, "impi": IMPI, "password": PASSWORD,
                                                "cases": truth}, indent=1) + "\n")
    cx_records, cx_ha1 = build_cx()
    frames.write_pcap(OUT / "register_digest_cx_maa.pcap", cx_records)
    (OUT / "cx_truth.json").write_text(json.dumps(
        {"user": CX_USER, "realm": REALM, "hss_password": CX_PASSWORD,
         "ue_password": CX_UE_PASSWORD, "digest_ha1": cx_ha1, "maa_frame": 6,
         "register_frame": 8, "cause": "response"}, indent=1) + "\n")
    made = "python -m tools.synth.make_auth"
    cases = "; ".join(f"frame {v['frame']}: {k} ({v['what']})" for k, v in truth.items())
    (OUT / "MANIFEST.tsv").write_text(
        "name\tfile\tmade_by\tdescription\n"
        f"register_digest_built\tregister_digest_built.pcap\t{made}\tBuilt frames "
        f"(labkit.capture.frames, not a recording): UE {UE} and an IMS registrar {SCSCF}, "
        f"realm {REALM}, IMPI {IMPI}, password {PASSWORD}; one Call-ID per case, responses "
        f"computed with hashlib: {cases}\n"
        f"authsynth_truth\ttruth.json\t{made}\tGround truth of register_digest_built: per "
        f"case the frame of the request with credentials and the one field broken on "
        f"purpose\n"
        f"register_digest_cx_maa\tregister_digest_cx_maa.pcap\t{made}\tBuilt frames (not a "
        f"recording): REGISTER for IMPI {CX_USER}; the S-CSCF {SCSCF} asks the HSS {HSS} over "
        f"Diameter/TCP 3868 (Cx MAR, MAA with SIP-Auth-Data-Item: SIP-Authentication-Scheme "
        f"'SIP Digest', SIP-Digest-Authenticate with Digest-Realm, Digest-QoP, Digest-Algorithm "
        f"MD5, Digest-HA1 of password {CX_PASSWORD}); 401; the UE answers hashed with "
        f"{CX_UE_PASSWORD}; 401. AVPs packed by hand (struct), responses with hashlib\n"
        f"cx_truth\tcx_truth.json\t{made}\tGround truth of register_digest_cx_maa: the HA1 "
        f"the HSS sent, both passwords, the frames\n")
    add_how_made(OUT / "MANIFEST.tsv", "synthetic builder: frames built with labkit.capture.frames, "
                 "digests computed with hashlib (tools.synth.make_auth)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
