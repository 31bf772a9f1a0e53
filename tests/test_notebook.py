"""labkit.notebook: one parameter naming, unknown names refused (DESIGN.md principle 6)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.notebook import ParameterError, check_parameters, notebook_parameters

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_declared_and_injected_names_pass():
    check_parameters({"CAPTURE": "my.pcap", "LOG": None, "In": [], "_x": 1}, "CAPTURE LOG")


@pytest.mark.parametrize("injected, named", [
    ({"CAPTURES": ["a.pcap"]}, "CAPTURES (did you mean CAPTURE?)"),   # 04's old name
    ({"capture": "a.pcap"}, "capture (did you mean CAPTURE?)"),        # 00's old name
    ({"PASSWORD": "x"}, "PASSWORD"),
])
def test_unknown_parameter_is_refused_with_the_declared_list(injected, named):
    with pytest.raises(ParameterError) as err:
        check_parameters(injected, ["CAPTURE", "LOG"], where="04_codec_negotiation")
    assert str(err.value) == (f"04_codec_negotiation: unknown parameter {named}. "
                              "It takes: CAPTURE, LOG")


def test_lowercase_names_that_match_nothing_are_not_parameters():
    # later cells' own variables (a re-run guard cell) are not mistaken for parameters
    check_parameters({"streams": [1], "codec": "AMR"}, "CAPTURE")


def test_notebook_parameters_reads_the_tagged_cell(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# t"]},
                    {"cell_type": "code", "metadata": {"tags": ["parameters"]},
                     "source": ["CAPTURE = None  # a pcap\n", "LOG: str = 'x.log'\n"]}]}
    path = tmp_path / "t.ipynb"
    path.write_text(json.dumps(nb))
    assert notebook_parameters(path) == {"CAPTURE": "None", "LOG": "'x.log'"}
    nb["cells"][1]["metadata"] = {}
    path.write_text(json.dumps(nb))
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        notebook_parameters(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_declares_parameters(path):
    assert notebook_parameters(path)
