"""labkit report: every notebook executed on an input that is not its default, as one
self-contained HTML page. Oracles: hashlib's SHA-256 of the input, the HTML itself (no
network fetch, figures/audio as data: URIs), and the input's own content showing up."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from labkit import data, report
from labkit.notebook import ParameterError, notebook_parameters

pytest.importorskip("papermill")
pytest.importorskip("nbconvert")

# notebook -> (non-default capture, other parameters, text the input must put in the page)
CASES = {
    "01": ("ringback_amrnb", {}, "AMR"),
    "02": ("sms_rp_error", {}, "RP-ERROR"),
    "03": ("sms_kamailio_mt", {}, "kamailio"),
    "04": ("fmtp_rewrite_reject", {"LOG": "freeswitch_log_nearmatch"}, "Substituting codec PCMU@30i"),
}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("number", sorted(p.stem[:2] for p in report.NOTEBOOK_DIR.glob("*.ipynb")))
def test_report_on_a_non_default_input(number, tmp_path):
    nb = report.find_notebook(number)
    if "CAPTURE" not in notebook_parameters(nb):
        pytest.skip(f"{nb.name} does not take CAPTURE yet (its parameters: "
                    f"{', '.join(notebook_parameters(nb))}); issue 9 renames it")
    if number not in CASES:
        pytest.fail(f"no non-default input chosen for {nb.name}: add one to CASES")
    capture, others, expect = CASES[number]
    cap = data.path(capture)
    params = {k: str(data.path(v)) for k, v in others.items()}
    out = report.build_report(nb, cap, params, tmp_path / "r.html", progress=False)
    page = out.read_text()
    # self-contained: nothing fetched from the network, figures embedded
    assert not re.search(r'<(script|link|img|audio|source)[^>]+(src|href)="https?:', page)
    assert "data:image/png;base64," in page
    if number == "01":
        assert "data:audio/wav;base64," in page
    # footer: version and each input with its SHA-256 (computed here with hashlib)
    footer = page[page.index('class="labkit-footer"'):]
    assert "labkit 0.1.0" in footer and f"{cap.name} sha256 {_sha(cap)}" in footer
    for v in params.values():
        assert _sha(data.path(others["LOG"])) in footer and v
    # code hidden by default, with a button; the verdict is repeated before section 1
    assert "labkit-hide-code" in page and 'id="labkit-toggle"' in page
    headings = re.findall(r"<h2[^>]*>(.*?)<", page)
    assert re.match(r"(the )?(verdicts?|answer)", headings[0], re.I), headings[:3]
    assert headings.count(headings[0]) == 2  # at the top and in its place
    assert expect in page


def test_unknown_parameter_refused_before_running(tmp_path):
    with pytest.raises(ParameterError, match="unknown parameter CAPTURES .did you mean CAPTURE"):
        report.build_report("04", parameters={"CAPTURES": "x.pcap"}, output=tmp_path / "r.html")
    with pytest.raises(ParameterError, match="unknown parameter"):
        report.build_report("04", parameters={"log": "x.log"}, output=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_json_and_missing_input(tmp_path, capsys):
    from labkit.cli import main
    log = data.path("freeswitch_log_amrwb")
    assert main(["report", "04", "-p", "LOG", str(log), "-o", str(tmp_path / "r.html"),
                 "--no-progress", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"] == [{"name": log.name, "sha256": _sha(log)}]
    assert main(["report", "04", str(tmp_path / "absent.pcap"), "-o", str(tmp_path / "x.html")]) == 2
    assert "input file not found" in capsys.readouterr().err
