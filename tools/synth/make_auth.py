"""Write data/authsynth/: built digest exchanges for what kamailio + SIPp/baresip cannot make.

    python -m tools.synth.make_auth

Built frames (labkit.capture.frames), not recordings. An IMS-style registrar
(S-CSCF 10.0.0.30, realm ims.lab.example) challenges UA bob (IMPI bob@ims.lab.example,
password "pw-bob"); each case has its own Call-ID and breaks one thing on purpose. The
responses are computed here with hashlib from RFC 2617/7616 section 3.4 (not with
labkit), and the broken field of each case is written to truth.json: the ground truth.
"""
from __future__ import annotations

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
        f"purpose\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
