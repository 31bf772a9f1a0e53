"""labkit.sip.cx: the MAA's Digest-HA1 equals tshark's diameter.Digest-HA1, and the
response check with it follows the passwords the builder used (data/authsynth)."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from labkit import data
from labkit.sip.auth import auth_verdicts, diagnose_auth
from labkit.sip.cx import cx_digest_ha1

TRUTH = json.loads(data.path("cx_truth").read_text())


@pytest.mark.requires_tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_digest_avps_equal_tshark():
    out = subprocess.run(
        ["tshark", "-n", "-r", str(data.path("register_digest_cx_maa")), "-d",
         "tcp.port==3868,diameter", "-Y", "diameter.Digest-HA1", "-T", "fields", "-e",
         "frame.number", "-e", "diameter.Digest-HA1", "-e", "diameter.Digest-Realm", "-e",
         "diameter.Digest-Qop", "-e", "diameter.Digest-Algorithm", "-e", "diameter.User-Name"],
        capture_output=True, text=True, check=True).stdout.split()
    cx = cx_digest_ha1(data.path("register_digest_cx_maa"))
    r = cx.iloc[0]
    assert [str(r.frame), r.ha1, r.realm, r.qop, r.algorithm, r.user] == out


def test_ha1_is_the_hss_password_hash():
    want = hashlib.md5(f"{TRUTH['user']}:{TRUTH['realm']}:{TRUTH['hss_password']}".encode()).hexdigest()
    assert cx_digest_ha1(data.path("register_digest_cx_maa"))["ha1"].tolist() == [want]


def test_response_checked_with_the_hss_ha1():
    d = diagnose_auth(data.path("register_digest_cx_maa"))
    resp = d[d.field == "response"].iloc[0]
    assert resp["ok"] is False and "frame 6" in resp["why"]
    v = auth_verdicts(data.path("register_digest_cx_maa"))
    assert v["cause"].tolist() == [TRUTH["cause"]]
    # with the UE's own password the response is right: HSS and UE disagree
    d = diagnose_auth(data.path("register_digest_cx_maa"), password=TRUTH["ue_password"])
    assert d[d.field == "response"]["ok"].tolist() == [True]


def test_no_diameter_gives_empty_table():
    assert len(cx_digest_ha1(data.path("register_digest_ok"))) == 0
