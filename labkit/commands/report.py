"""``labkit report NOTEBOOK [CAPTURE] [-p NAME VALUE ...] -o report.html``: one HTML page for a ticket.

    labkit report 04 my_call.pcap -o ticket-1234.html
    labkit report 04_codec_negotiation -p LOG freeswitch.log -o fs.html
    labkit report 01 call.pcap -p CODECS "{'0x1234': 'AMR-WB'}" --json

Executes the notebook with papermill on the given inputs (a progress bar on stderr) and
writes one self-contained HTML file: figures and audio embedded, code hidden (a button
shows it), the verdict at the top, labkit's version and each input's SHA-256 in the footer.
A parameter the notebook does not declare is refused before anything runs.
"""
from __future__ import annotations

from labkit.commands._output import print_json


def register(subparsers) -> None:
    """Add ``report`` to the labkit command line."""
    p = subparsers.add_parser("report", help="run a notebook on your file, write one HTML page",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("notebook", help="notebook: path, name or number (04)")
    p.add_argument("capture", nargs="?", help="your capture (passed as CAPTURE)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="another notebook parameter")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    from labkit import report
    params = report.parse_values(args.parameter)
    out = report.build_report(args.notebook, args.capture, params, args.output,
                              progress=not args.no_progress)
    files = report._inputs({**params, **({"CAPTURE": args.capture} if args.capture else {})})
    doc = {"notebook": report.find_notebook(args.notebook).name, "output": str(out),
           "bytes": out.stat().st_size,
           "inputs": [{"name": p.name, "sha256": report.sha256(p)} for p in files]}
    if args.json:
        print_json(doc, indent=2)
    else:
        print(f"wrote {doc['output']} ({doc['bytes']} bytes) from {doc['notebook']}")
        for f in doc["inputs"]:
            print(f"  input {f['name']} sha256 {f['sha256']}")
    return 0
