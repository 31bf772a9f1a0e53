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
