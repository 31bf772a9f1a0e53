"""Real kamailio + SIPp call flows (tools/lab/sipflow.py): made again on loopback, checked.

One scenario per run is recorded afresh (the 420 case, about 3 s): what tshark sees, what
the far end logged (its truth) and what labkit concludes must agree. The bundled
data/flow captures are checked against their manifest rows too.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tools.lab import sipflow  # noqa: E402

from labkit.sip import header_findings, ussd_sessions  # noqa: E402

FLOW = REPO / "data" / "flow"


def _rows():
    with open(FLOW / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh, delimiter="\t") if r["file"].endswith(".pcap")]


@pytest.mark.requires_tshark
@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["name"])
def test_manifest_counts_equal_tshark(row):
    # the description ends "tshark: N SIP messages, M Call-ID(s)." written by the tool
    facts = sipflow.check(FLOW / row["file"])
    assert row["description"].endswith(f"tshark: {facts['messages']} SIP messages, {facts['call_ids']} Call-ID(s).")
    assert row["made_by"] == f"python -m tools.lab.sipflow {row['name']}"


@pytest.mark.lab
@pytest.mark.requires_tshark
def test_a_fresh_420_case_from_real_kamailio(tmp_path):
    missing = sipflow.missing_prerequisites()
    if missing or os.geteuid() != 0:
        pytest.skip(f"needs root and {', '.join(missing) or 'nothing else'} (capture on lo)")
    out = tmp_path / "sec_agree.pcap"
    truth = sipflow.sec_agree(out, fixed=False)
    assert truth["as_saw_sec_agree_in_reinvite"] and truth["kamailio_stripped"] == ["INVITE"]
    codes = subprocess.run(["tshark", "-n", "-r", str(out), "-Y", "sip.Status-Code == 420 && ip.src == 127.0.42.2",
                            "-T", "fields", "-e", "frame.number"], capture_output=True, text=True, check=True)
    f = header_findings(out)
    bad = f[f["check"] == "sip.bad_extension"]
    assert bad["frame"].astype(str).tolist() == codes.stdout.split()
    assert "127.0.42.10:42060 forwarded Require/Proxy-Require: sec-agree" in bad.iloc[0]["fix"]


@pytest.mark.lab
def test_a_fresh_seed_ussd_gateway_gets_405(tmp_path):
    missing = sipflow.missing_prerequisites()
    if missing or os.geteuid() != 0 or shutil.which("sipp") is None:
        pytest.skip(f"needs root and {', '.join(missing) or 'nothing else'} (capture on lo)")
    out = tmp_path / "ussd.pcap"
    truth = sipflow.ussd_seed(out)
    assert ussd_sessions(out).loc[0, "info_responses"] == truth["kamailio_uac_reply"] == [405]
