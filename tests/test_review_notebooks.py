"""Notebooks 01-03: the parameter guard follows the parameters cell, and each prints the
provenance (data/*/MANIFEST.tsv how_made) of every bundled capture it analyses."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labkit import data
from labkit.notebook import notebook_parameters

NB = Path(__file__).resolve().parents[1] / "notebooks"
CASES = {"01_ringback_amr_playback": ["early_media_ringback", "ringback_amrwb", "relay_rtpengine"],
         "02_sms_over_ip_overhead": ["sms_mo_submit", "sms_mt_concat"],
         "03_iphone_mt_sms_rp_da": ["sms_mt_rpda_iphone", "sms_mt_rpda_fixed", "sms_kamailio_mt"]}


def _cells(stem):
    return json.loads((NB / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")))
    return "".join(out)


@pytest.mark.parametrize("stem", sorted(CASES))
def test_guard_cell_follows_parameters_and_declares_them_all(stem):
    cells = _cells(stem)
    i = next(k for k, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
    guard = "".join(cells[i + 1]["source"])
    declared = re.search(r'check_parameters\(globals\(\), "([^"]+)"', guard)
    assert declared, guard
    assert declared.group(1).split() == list(notebook_parameters(NB / f"{stem}.ipynb"))


@pytest.mark.parametrize("stem", sorted(CASES))
def test_provenance_is_printed_for_every_analysed_capture(stem):
    # Oracle: the manifest row (data/*/MANIFEST.tsv how_made), not the notebook's code.
    outputs = "\n".join(_text(c) for c in _cells(stem) if c["cell_type"] == "code")
    for name in CASES[stem]:
        entry = data.manifest()[name]
        assert f"{entry.path.name}: {entry.how_made}" in outputs, name
