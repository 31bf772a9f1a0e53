"""``labkit rating``: text and --json carry the same facts."""
from __future__ import annotations

import json

from labkit import cli, data


def _run(capsys, *extra):
    code = cli.main(["rating", str(data.path("rating_rates")), str(data.path("rating_cdrs")), *extra])
    return code, capsys.readouterr().out


def test_rating_json_and_text_agree(capsys):
    code, out = _run(capsys, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["stored_by"] == "model" and doc["strict"] is True
    seed = doc["stored"]["DECIMAL(10,10)"]
    refused = [r["rate_id"] for r in seed if r["level"] == "Error"]
    assert refused == ["RT_PACIFIC", "RT_SATELLITE", "RT_NEAR_ONE"]
    first = doc["costs"][0]
    # cdr-001 by hand (tests/ops/test_rating.py): 0.1244 as written, 0.1242 in DECIMAL(10,4)
    assert (first["origin_id"], first["as written"], first["DECIMAL(10,4)"]) == ("cdr-001", "0.1244", "0.1242")
    code, text = _run(capsys)
    assert code == 0
    assert "RT_PACIFIC" in text and "Error 1264: Out of range value for column 'rate'" in text
    assert "cdr-001" in text and "0.1242" in text


def test_rating_loose_clips_instead(capsys):
    code, out = _run(capsys, "--json", "--loose", "--schema", "10,10")
    doc = json.loads(out)
    pac = next(r for r in doc["stored"]["DECIMAL(10,10)"] if r["rate_id"] == "RT_PACIFIC")
    assert (pac["rate_stored"], pac["level"], pac["code"]) == ("0.9999999999", "Warning", 1264)


def test_rating_bad_schema_is_a_clear_error(capsys):
    code = cli.main(["rating", str(data.path("rating_rates")), str(data.path("rating_cdrs")),
                     "--schema", "FLOAT"])
    assert code == 2 and "DECIMAL(M,D)" in capsys.readouterr().err
