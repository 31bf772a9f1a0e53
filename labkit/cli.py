"""The ``labkit`` command line.

Each subcommand lives in its own module under :mod:`labkit.commands` and exposes
``register(subparsers)``; the parser is assembled from whatever modules are there, so a
subcommand is added by adding one file. A :class:`~labkit.errors.LabkitError` is printed
as one line on stderr with exit status 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
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


def _tune_malloc() -> None:
    """glibc only: keep freed heap memory for reuse (trim above 1 GiB) and serve blocks up
    to 32 MiB (glibc's maximum) from the heap instead of fresh mmap()s.

    A chunked read allocates and frees the same few-MiB arrays chunk after chunk; by
    default glibc returns them to the kernel and every new one faults its pages in again
    (on the 8M-packet benchmark about half of the system time). The command line owns its
    process, so it sets this; the library does not. ``MALLOC_TRIM_THRESHOLD_`` or
    ``MALLOC_MMAP_THRESHOLD_`` in the environment win (glibc reads them at start).
    """
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)    # M_TRIM_THRESHOLD [bytes]
        libc.mallopt(-3, 32 << 20)   # M_MMAP_THRESHOLD [bytes]
    except (ValueError, OSError, AttributeError):   # not glibc, no confstr name, no libc
        return


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run the subcommand, return the exit status."""
    _tune_malloc()
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
