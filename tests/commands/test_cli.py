"""The labkit command dispatcher."""
from __future__ import annotations

import subprocess
import sys

from labkit import cli
from labkit.errors import LabkitError


def test_every_command_module_registers():
    parser = cli.build_parser()
    assert parser.prog == "labkit"


def test_labkit_error_is_one_line_and_exit_2(monkeypatch, capsys):
    def boom(args):
        raise LabkitError("not a capture", "x.txt", "give a pcap")

    monkeypatch.setattr(cli, "build_parser", lambda: _Fake(boom))
    assert cli.main(["anything"]) == 2
    err = capsys.readouterr().err
    assert err == "labkit: error: x.txt: not a capture. give a pcap\n"


class _Fake:
    def __init__(self, func):
        self.func = func

    def parse_args(self, argv):
        import argparse
        return argparse.Namespace(func=self.func)


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "labkit.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "COMMAND" in result.stdout


_FAULTS = r'''
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from labkit.cli import _tune_malloc
    _tune_malloc()
def chunk():                     # what a chunked read does, chunk after chunk: a dozen
    live = [np.ones(1 << 20) for _ in range(12)]    # 8 MiB temporaries alive at once
    del live
chunk()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    chunk()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def test_the_command_line_keeps_freed_memory_for_reuse():
    """Oracle: the kernel's minor page fault counter. Default glibc returns part of the
    96 MiB of each round to the kernel (above its dynamic 64 MiB trim threshold), so the
    rounds fault pages in again (about 61,500 here); after _tune_malloc they stay in the
    heap, already faulted in (0)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
        import pytest
        pytest.skip("glibc only")
    faults = {mode: int(subprocess.run([sys.executable, "-c", _FAULTS, mode], env=env,
                                       capture_output=True, text=True, check=True).stdout)
              for mode in ("default", "tuned")}
    assert faults["default"] > 10 * 2048          # at least one array's pages a round
    assert faults["tuned"] < faults["default"] / 10
