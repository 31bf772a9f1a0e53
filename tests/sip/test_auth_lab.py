"""A fresh real REGISTER exchange every run: kamailio 5.6 auth challenging SIPp on loopback
(tools/lab/make_auth.py); our verdicts must follow what kamailio itself logged."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from labkit.sip.auth import auth_verdicts

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.lab, pytest.mark.skipif(
    not all(shutil.which(b) for b in ("kamailio", "sipp", "dumpcap")) or os.geteuid() != 0,
    reason="needs kamailio, sipp (sip-tester) and dumpcap, as root (capture on loopback)")]


@pytest.mark.parametrize("name, cause", [("register_digest_wrong_password", "response"),
                                         ("register_digest_stale", "stale")])
def test_fresh_kamailio_exchange(tmp_path, name, cause):
    sys.path.insert(0, str(REPO))
    from tools.lab import make_auth
    steps = make_auth.SCENARIOS[name][0]
    logged = make_auth.run_scenario(name, steps, tmp_path / "x.pcap")
    v = auth_verdicts(tmp_path / "x.pcap", password=make_auth.PASSWORDS["alice"])
    # kamailio's auth return codes: -2 wrong password, -4 nonce expired, 1 accepted
    want = {-2: "response", -4: "stale", 1: "accepted"}
    assert v["cause"].tolist() == [want[e["rc"]] for e in logged]
    assert cause in v["cause"].tolist()
