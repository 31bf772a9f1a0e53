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

# notebook -> (non-default capture, other parameters (bundled names, or "lab/" for that
# folder), text the input must put in the page)
CASES = {
    "00": ("relay_rtpengine", {}, "relay_rtpengine.pcap"),
    "01": ("ringback_amrnb", {}, "AMR"),
    "02": ("sms_rp_error", {}, "RP-ERROR"),
    "03": ("sms_kamailio_mt", {}, "kamailio"),
    "04": ("fmtp_rewrite_reject", {"LOG": "freeswitch_log_nearmatch"}, "Substituting codec PCMU@30i"),
    "05": ("jitter_network_egress", {}, "network"),          # default: the host case
    "06": ("flow_topoh_samecid", {}, "flow_topoh_samecid.pcap"),
    "07": ("ussd_in_dialog", {}, "ussd_in_dialog.pcap"),    # default: the seed's 405
    "08": ("register_digest_stale", {}, "stale"),
    "09": (None, {"IFC": "ifc_fixed_profile"}, "ifc_fixed_profile"),
    "10": (None, {"CALL_ID": "2-14169@127.0.0.1"}, "2-14169@127.0.0.1"),   # not the first call
    "11": ("hep_kamailio", {}, "hep_kamailio.pcapng"),      # the collector's copy of the burst
    "12": ("timers_no_answer", {}, "NO_ANSWER"),
    "13": (None, {"STRICT": False}, "0.9999999999"),   # non-strict: clipped, not refused
    # data/lab alone (7 captures), not the default lab + sms folders
    "14": (None, {"CAPTURES": ["lab/"], "SCHEDULER": "serial"}, "7 capture(s)"),
}


def _resolve(value):
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if not isinstance(value, str):
        return value
    if value.endswith("/"):
        return str(data.data_dir() / value.rstrip("/"))
    return str(data.path(value)) if value in data.names() else value


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("number", sorted(p.stem[:2] for p in report.NOTEBOOK_DIR.glob("*.ipynb")))
def test_report_on_a_non_default_input(number, tmp_path):
    nb = report.find_notebook(number)
    if number not in CASES:
        pytest.fail(f"no non-default input chosen for {nb.name}: add one to CASES")
    capture, others, expect = CASES[number]
    cap = data.path(capture) if capture else None
    params = {k: _resolve(v) for k, v in others.items()}
    out = report.build_report(nb, cap, params, tmp_path / "r.html", progress=False)
    page = out.read_text()
    # self-contained: nothing fetched from the network, figures embedded
    assert not re.search(r'<(script|link|img|audio|source)[^>]+(src|href)="https?:', page)
    assert "data:image/png;base64," in page
    if number == "01":
        assert "data:audio/wav;base64," in page
    # footer: version and each input with its SHA-256 (computed here with hashlib)
    footer = page[page.index('class="labkit-footer"'):]
    assert "labkit 0.1.0" in footer
    for f in [cap] * bool(cap) + [data.path(v) for v in others.values() if v in data.names()]:
        assert f"{f.name} sha256 {_sha(f)}" in footer
    if number == "14":
        assert "input folder lab/ (8 files, not hashed)" in footer  # 7 pcaps + MANIFEST.tsv
    # code hidden by default, with a button; the verdict is repeated before section 1
    assert "labkit-hide-code" in page and 'id="labkit-toggle"' in page
    headings = re.findall(r"<h2[^>]*>(.*?)<", page)
    assert re.match(r"(\d+\. )?(the )?(verdicts?|answer)", headings[0], re.I), headings[:3]
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
