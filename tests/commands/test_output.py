"""The one JSON writer: plain values out of numpy/pandas, strict JSON (no NaN)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labkit import data
from labkit.cli import main
from labkit.commands._output import jsonable


def test_jsonable_turns_analysis_values_into_plain_json():
    df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "x": [0.5, np.nan],
                       "b": [b"\x00\x10", None]})
    assert jsonable({"t": df, "p": Path("/a/b"), "arr": np.arange(3, dtype=np.uint16),
                     "inf": float("inf"), "na": pd.NA, "nested": ({"k": np.float32(2.5)},)}) == {
        "t": [{"n": 1, "x": 0.5, "b": "0010"}, {"n": None, "x": None, "b": None}],
        "p": "/a/b", "arr": [0, 1, 2], "inf": None, "na": None, "nested": [{"k": 2.5}]}


@pytest.mark.parametrize("argv", [["streams", "relay_rtpengine"], ["overview", "codec_mismatch_488"],
                                  ["sms", "sms_mt_rpda_iphone"], ["overhead", "sms_mo_submit"],
                                  ["ringback", "ringback_amrwb"]])
def test_every_json_output_is_strict_json(argv, capsys):
    cmd, name = argv
    main([cmd, str(data.path(name)), "--json"])
    out = capsys.readouterr().out
    json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
