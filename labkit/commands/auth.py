"""``labkit auth FILE [--password P | --ha1 H] [--json]``: why was the REGISTER refused?

The pairing of challenges with retries and the checks are :mod:`labkit.sip.auth`'s, the
arithmetic :mod:`labkit.sip.digest`'s; this module only parses the options and prints.

References
----------
RFC 3261 section 22 (401/407 challenges and the retried request); RFC 2617 section 3.2.2
and RFC 7616 section 3.4 (the digest response); RFC 8760 (SHA-256 in SIP).
"""
from __future__ import annotations

from labkit.commands._output import print_json

_MARK = {True: "ok", False: "DIFFERS", None: "-"}


def register(subparsers) -> None:
    """Add the ``auth`` subcommand."""
    p = subparsers.add_parser(
        "auth", help="SIP digest: pair 401/407 with the retry, say what differs",
        description="Pair every 401/407 challenge with the request that answers it and its "
                    "final response; check realm, username, nonce, stale, nc, uri, "
                    "algorithm, qop, opaque and (with --password or --ha1) the response "
                    "itself (RFC 2617, RFC 7616, RFC 8760); name the cause and the fix.")
    p.add_argument("capture", help="pcap or pcapng file")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--password", help="the subscriber's password")
    key.add_argument("--ha1", help="or its HA1 = H(username:realm:password), hex")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print challenges, the field checks of each attempt and its verdict (or JSON)."""
    from labkit.capture import read_capture
    from labkit.errors import LabkitError
    from labkit.sip import sip_messages
    from labkit.sip.auth import auth_attempts, auth_challenges, auth_verdicts, diagnose_auth
    from labkit.sip.cx import cx_digest_ha1
    packets = read_capture(args.capture)
    sip, cx = sip_messages(packets), cx_digest_ha1(packets)
    challenges, attempts = auth_challenges(sip), auth_attempts(sip)
    if not len(challenges) and not len(attempts):
        raise LabkitError("no 401/407 digest challenge and no Authorization header",
                          str(args.capture), "capture the REGISTER exchange from its first "
                          "REGISTER on (display filter: sip.CSeq.method == \"REGISTER\")")
    checks = diagnose_auth(sip, password=args.password, ha1=args.ha1, cx=cx)
    verdicts = auth_verdicts(sip, diagnosis=checks)
    if args.json:
        print_json({"capture": str(args.capture), "challenges": challenges, "hss_ha1": cx,
                    "attempts": attempts.drop(columns=["body"]), "checks": checks,
                    "verdicts": verdicts})
        return 0
    print(f"{len(challenges)} challenge(s), {len(attempts)} request(s) with credentials "
          f"in {args.capture}")
    for h in cx.itertuples():
        print(f"frame {h.frame}: Cx MAA for {h.user}: {h.scheme}, realm {h.realm}, "
              f"{h.algorithm}, Digest-HA1 {h.ha1}")
    for v in verdicts.itertuples():
        print(f"\nframe {v.frame} {v.method} user {v.username} -> "
              f"{'no answer' if v.answer_status is None else v.answer_status}"
              f"{'' if v.answer_frame is None else f' (frame {v.answer_frame})'}")
        rows = checks[checks["frame"] == v.frame]
        for c in rows.itertuples():
            shown = c.sent if c.field != "response" or c.ok is not False else \
                f"{c.sent} (expected {c.challenge})"
            print(f"  {c.field:10} {_MARK.get(c.ok, '-'):8} {_show(shown)}"
                  f"{'  ' + c.why if c.ok is False else ''}")
        print(f"  verdict: {v.verdict}")
        if v.fix:
            print(f"  fix: {v.fix}")
    return 0


def _show(value) -> str:
    return value if isinstance(value, str) else ""
