"""The ``labkit`` command line.

Each subcommand lives in its own module under :mod:`labkit.commands` and exposes
``register(subparsers)``; the parser is assembled from whatever modules are there, so a
subcommand is added by adding one file. A :class:`~labkit.errors.LabkitError` is printed
as one line on stderr with exit status 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import labkit.commands
from labkit.errors import LabkitError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per module in labkit.commands."""
    parser = argparse.ArgumentParser(prog="labkit", description="VoIP/IMS capture analysis")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(labkit.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers (e.g. _output), not subcommands
            continue
        module = importlib.import_module(f"labkit.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run the subcommand, return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabkitError as exc:
        print(f"labkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
