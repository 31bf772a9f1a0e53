"""``labkit amr extract``: AMR / AMR-WB RTP streams of a capture -> storage files (+ WAV).

Compatible with the old workflow (filter one direction, save as pcap, run a script,
open the .3ga in VLC/Audacity), but for pcap or pcapng, any link type, VLAN, GTP-U,
both payload formats and any number of frames per packet::

    labkit amr extract -i call.pcapng -o ringback.3ga --stream 1 --wav ringback.wav

Without ``--ssrc``/``--stream`` every AMR stream is written; when there are several,
the SSRC is added to the file names (``out_b0000001.amr``), and the stream id too when
an SSRC occurs in several streams (a relay such as RTPengine keeps it on both legs:
``out_3_b0000001.amr``).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

from labkit.errors import LabkitError, LabkitWarning

SUFFIXES = (".amr", ".awb", ".3ga")


def register(subparsers) -> None:
    """Add ``amr extract`` to the labkit command line."""
    parser = subparsers.add_parser("amr", help="AMR / AMR-WB RTP streams to storage files")
    sub = parser.add_subparsers(dest="amr_command", required=True, metavar="ACTION")
    ex = sub.add_parser("extract", help="write .amr/.awb/.3ga (and WAV) from a capture",
                        description=__doc__.split("\n\n")[0])
    ex.add_argument("-i", "--input", required=True, help="capture (pcap or pcapng)")
    ex.add_argument("-o", "--output", required=True, help="storage file: .amr, .awb or .3ga")
    pick = ex.add_mutually_exclusive_group()
    pick.add_argument("--ssrc", help="stream by SSRC (hex 0x1234abcd or decimal)")
    pick.add_argument("--stream", type=int, help="stream by id (first column of the table)")
    ex.add_argument("--wav", help="also decode to this WAV file (OpenCORE decoder)")
    ex.add_argument("--codec", choices=["AMR", "AMR-WB"], help="override SDP/heuristic")
    fmt = ex.add_mutually_exclusive_group()
    fmt.add_argument("--octet-aligned", dest="octet_aligned", action="store_true", default=None)
    fmt.add_argument("--bandwidth-efficient", dest="octet_aligned", action="store_false")
    ex.add_argument("-q", "--quiet", action="store_true", help="no stream table")
    ex.set_defaults(func=run_extract)


def _ssrc(text: str) -> int:
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise LabkitError(f"--ssrc {text!r} is not a number", None,
                          "give it as 0x1234abcd or decimal") from None


def _streams(path: str):
    """RTP packets and the AMR stream rows of a capture, without importing pandas."""
    from labkit import capture, rtp
    from labkit.amr import streams
    packets = capture.read_capture(path)
    sdp = streams._read_sdp_rows(packets)  # SIP rows only: fast on media-heavy captures
    found = rtp.find_rtp(packets, sdp=sdp if sdp else None)
    if len(found) == 0:
        raise LabkitError("no RTP packets in the capture", path,
                          "check the file, or that the media is not encrypted (SRTP)")
    return found, streams._amr_stream_rows(found, sdp=sdp)


def _select(table, args, path):
    """The rows of `table` (a list of AmrStreamRow) chosen by --stream/--ssrc/--codec."""
    if args.stream is not None:
        chosen = [r for r in table if r.stream == args.stream]
        what = f"stream {args.stream}"
    elif args.ssrc is not None:
        ssrc = _ssrc(args.ssrc)
        chosen = [r for r in table if r.ssrc == ssrc]
        what = f"SSRC {args.ssrc}"
    else:
        chosen = [r for r in table if r.codec in ("AMR", "AMR-WB")]
        if args.codec:
            chosen = list(table)
        if len(chosen) == 0:
            codecs = {r.codec for r in table}
            seen = ", ".join(sorted(codecs)) or "none"
            evs = " (EVS, cannot decode here)" if "EVS" in codecs else ""
            raise LabkitError(f"no AMR or AMR-WB stream found; codecs seen: {seen}{evs}", path,
                              "see the stream table; force one with --stream N --codec AMR")
        return chosen
    if len(chosen) == 0:
        raise LabkitError(f"no {what} in the capture", path,
                          f"choose one of streams {', '.join(str(r.stream) for r in table)}")
    return chosen


def _out_path(base: Path, row, naming: str) -> Path:
    """`base`, or with the SSRC (and stream id when SSRCs repeat) added to the name."""
    if naming == "single":
        return base
    tag = f"{row.ssrc:08x}" if naming == "ssrc" else f"{row.stream}_{row.ssrc:08x}"
    return base.with_name(f"{base.stem}_{tag}{base.suffix}")


def _naming(chosen) -> str:
    if len(chosen) == 1:
        return "single"
    return "ssrc" if len({r.ssrc for r in chosen}) == len(chosen) else "stream"


def _extract_one(found, row, args, naming: str) -> str:
    from labkit import amr
    codec = args.codec or row.codec
    oa = row.octet_aligned if args.octet_aligned is None else args.octet_aligned
    where = f"{args.input}, stream {row.stream} (SSRC 0x{row.ssrc:08x})"
    ex = amr.extract_stream(found, int(row.stream), codec=codec, octet_aligned=bool(oa),
                            where=where)
    out = _out_path(Path(args.output), row, naming)
    if ex.wideband and out.suffix.lower() == ".amr":
        warnings.warn(f"{out}: AMR-WB written to a .amr name; players expect .awb",
                      LabkitWarning, stacklevel=2)
    out.write_bytes(ex.data)
    if ex.damaged:
        warnings.warn(f"{where}: {ex.damaged} damaged payload(s) skipped (their 20 ms slots "
                      f"are NO_DATA); first: {ex.errors[0]}", LabkitWarning, stacklevel=2)
    if args.wav:
        _write_wav(ex.data, _out_path(Path(args.wav), row, naming))
    return (f"stream {row.stream} SSRC 0x{row.ssrc:08x} {codec} "
            f"{'octet-aligned' if oa else 'bandwidth-efficient'}: {ex.packets} packets, "
            f"{ex.duplicates} duplicates, {ex.damaged} damaged, {ex.gap_frames} NO_DATA "
            f"inserted, {ex.frames_total} frames ({ex.duration_s:.2f} s) -> {out}")


def _write_wav(data: bytes, path: Path) -> None:
    from labkit import audio
    decoded = audio.decode_storage(data)
    audio.write_wav(path, decoded.pcm, decoded.rate)


_TABLE_COLUMNS = ["stream", "src", "sport", "dst", "dport", "ssrc", "pt", "packets", "codec",
                  "octet_aligned", "source"]


def _column(name: str, values: list) -> list[str]:
    """Header and cells of one column; pandas puts a space before a numeric header."""
    pad = "" if all(isinstance(v, str) for v in values) else " "
    return [pad + name, *map(str, values)]


def _print_table(table) -> None:
    """The stream table on stderr, laid out as pandas' ``to_string(index=False)``."""
    cols = [_column(c, [f"0x{r.ssrc:08x}" if c == "ssrc" else getattr(r, c) for r in table])
            for c in _TABLE_COLUMNS]
    widths = [max(map(len, col)) for col in cols]
    for line in zip(*cols):
        print(" ".join(v.rjust(w) for v, w in zip(line, widths)), file=sys.stderr)


def run_extract(args) -> int:
    """Extract the chosen (or every) AMR stream; 1 if some stream failed, else 0.

    Warnings (damaged payloads, truncated capture, timestamp jumps) are printed as
    ``labkit: warning: ...`` lines on stderr.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabkitWarning)
        try:
            return _run_extract(args)
        finally:
            for w in caught:
                print(f"labkit: warning: {w.message}", file=sys.stderr)


def _run_extract(args) -> int:
    if Path(args.output).suffix.lower() not in SUFFIXES:
        raise LabkitError(f"output {args.output!r} is not .amr, .awb or .3ga", None,
                          "name the storage file with one of those suffixes")
    found, table = _streams(args.input)
    if not args.quiet:
        _print_table(table)
    chosen = _select(table, args, args.input)
    failed = 0
    for row in chosen:
        try:
            print(_extract_one(found, row, args, _naming(chosen)))
        except LabkitError as exc:
            if len(chosen) == 1:
                raise
            failed += 1
            print(f"labkit: stream {row.stream}: {exc}", file=sys.stderr)
    return 1 if failed else 0
