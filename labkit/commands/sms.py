"""``labkit sms FILE [--json] [--fix OUT.pcap]``: every SMS over IP message, decoded, with findings.

The table, the rules and the corrected capture are :mod:`labkit.sms.smsip`'s; this
module only parses the options and prints.

References
----------
3GPP TS 24.341 (SMS in SIP MESSAGE), TS 24.011 sections 7.3 and 8.2 (RP layer), TS
23.040 section 9.2 (TP layer), as :mod:`labkit.sms.smsip` applies them.
"""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    """Add the ``sms`` subcommand."""
    p = subparsers.add_parser(
        "sms", help="decode SMS over IP (RP/TP) and diagnose it",
        description="Decode every SIP MESSAGE carrying application/vnd.3gpp.sms (RP and TP "
                    "layers, 3GPP TS 24.011 / 23.040) and list what is wrong with it: MT "
                    "RP-DATA with RP-DA set (the iPhone case), RP-OA, direction, Content-Type, "
                    "missing MT headers, 200 OK without RP-ACK, RP-ERROR causes, lengths.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 when any finding has severity error (for CI)")
    p.add_argument("--fix", metavar="OUT", help="write a copy of the capture with every MT "
                   "RP-DATA's RP-DA emptied (and OUT_frameN.sip files)")
    p.set_defaults(func=run)


_SHOW = ["frame", "direction", "rp_type", "rp_ref", "rp_oa", "rp_da", "tp_type", "tp_oa",
         "tp_da", "tp_dcs", "tp_scts", "concat_seq", "text", "error"]




def run(args) -> int:
    """Print the SMS table and the findings (or JSON); optionally write the fixed capture."""
    from labkit.sms import diagnose_sms, sms_messages, write_fixed_capture
    from labkit.sip import sip_messages
    from labkit.capture import read_capture
    sip = sip_messages(read_capture(args.capture))
    table = sms_messages(sip)
    findings = diagnose_sms(sip, sms=table)
    fixed = write_fixed_capture(args.capture, args.fix) if args.fix else None
    if args.json:
        doc = {"capture": str(args.capture), "messages": table, "findings": findings}
        if fixed is not None:
            doc["fixed"] = {"path": args.fix, "frames": [int(f) for f in fixed["frame"]]}
        print_json(doc)
        return _status(args, findings)
    text = table[_SHOW].copy()
    for col, width in (("text", 30), ("error", 50)):
        text[col] = text[col].map(lambda t: t if not isinstance(t, str) or len(t) <= width
                                  else t[:width - 1] + "…")
    print(f"{len(table)} SMS message(s) in {args.capture}")
    text = text.astype(object).where(text.notna(), "-")
    print(text.to_string(index=False) if len(table) else "(none)")
    print(f"\n{len(findings)} finding(s)")
    for f in findings.to_dict("records"):
        print(f"frame {f['frame']} [{f['severity']}] {f['rule']}: {f['finding']}\n    fix: {f['fix']}")
    if fixed is not None:
        print(f"\nwrote {args.fix}: fixed frame(s) {', '.join(str(f) for f in fixed['frame'])}")
    return _status(args, findings)


def _status(args, findings) -> int:
    return 1 if args.strict and (findings["severity"] == "error").any() else 0
