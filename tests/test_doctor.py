"""labkit doctor: every registered check, one read, ranked findings; each finding is what
the check's own command says on the same file (no second copy of a rule)."""
from __future__ import annotations

import json

import pytest

from labkit import data
from labkit.cli import main
from labkit.doctor import discover_checks, run_doctor
from labkit.errors import CaptureError
from labkit.findings import Finding, Skip, register_check, registered_checks


def _json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_every_subpackage_checks_module_is_discovered():
    mods = discover_checks()
    assert {"labkit.sms.checks", "labkit.rtp.checks", "labkit.audio.checks",
            "labkit.freeswitch.checks"} <= set(mods)
    assert {c.split(".")[0] for c in registered_checks()} >= {"sms", "rtp", "audio", "freeswitch"}


def test_sms_findings_equal_labkit_sms(capsys):
    path = str(data.path("sms_mt_rpda_iphone"))
    own = _json(["sms", path, "--json"], capsys)["findings"]
    doc = _json(["doctor", path, "--json"], capsys)
    sms = [f for f in doc["findings"] if f["check"] == "sms.rules"]
    assert sorted(f["what"] for f in sms) == sorted(f["finding"] for f in own
                                                    if f["severity"] in ("error", "warning", "info"))
    # The seed's iPhone case ranks first: an error (TS 24.011 8.2.5.2: MT RP-DA empty).
    assert doc["findings"][0]["severity"] == "error" and "RP-DA" in doc["findings"][0]["what"]
    assert {s["check"] for s in doc["skipped"]} >= {"rtp.loss", "freeswitch.codecs"}


def test_ringback_phase_equals_labkit_ringback(capsys):
    path = str(data.path("early_media_ringback"))
    verdicts = _json(["ringback", path, "--json"], capsys)["verdicts"]
    doc = _json(["doctor", path, "--json"], capsys)
    early = [v for v in verdicts if v["verdict"] == "ringback" and v["phase"] == "early media"]
    found = [f for f in doc["findings"] if f["check"] == "audio.ringback"]
    assert len(found) == len(early) >= 1 and all("early media" in f["what"] for f in found)


def test_488_equals_labkit_codecs(capsys):
    path = str(data.path("codec_mismatch_488"))
    main(["codecs", path])
    text = capsys.readouterr().out
    doc = _json(["doctor", path, "--json"], capsys)
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert len(errors) == 1 and errors[0]["check"] == "freeswitch.codecs"
    assert f"verdict:  {errors[0]['what']}" in text


def test_stream_loss_equals_labkit_streams(tmp_path, capsys):
    from labkit.capture import frames as F
    # 50 PCMA packets, 5 missing in the middle: tshark -z rtp,streams counts 5 lost (hand count).
    recs = [(1_000_000_000 + i * 20_000_000,
             F.udp_frame(F.rtp(b"\xd5" * 160, pt=8, seq=100 + i, ts=160 * i, ssrc=0x42),
                         "10.0.0.1", "10.0.0.2", 40000, 40002))
            for i in range(50) if not 20 <= i < 25]
    path = str(F.write_pcap(tmp_path / "loss.pcap", recs))
    streams = _json(["streams", path, "--json"], capsys)
    doc = _json(["doctor", path, "--json"], capsys)
    loss = [f for f in doc["findings"] if f["check"] == "rtp.loss"]
    assert [s["lost"] for s in streams] == [5]
    assert len(loss) == 1 and loss[0]["what"].startswith("5 of 50 packets lost")


def test_a_clean_call_gives_no_error():
    rep = run_doctor(data.path("relay_rtpengine"))   # real baresip/rtpengine call, answered, PCMA
    assert not (rep.findings["severity"] == "error").any()
    assert "no finding" in rep.summary() or rep.counts()["error"] == 0


def test_a_new_check_appears_without_editing_the_doctor():
    @register_check("test.always", notebook="00_start_here.ipynb")
    def _always(ctx):
        return [Finding("warning", "test.always", "x", "frame 1")]

    @register_check("test.needs_log", notebook="00_start_here.ipynb", needs=("log",))
    def _needs_log(ctx):
        raise AssertionError("must be skipped without --log")

    try:
        rep = run_doctor(data.path("relay_rtpengine"))
        assert "test.always" in set(rep.findings["check"])
        skipped = rep.skipped.set_index("check")["why"]
        assert skipped["test.needs_log"] == "needs --log"
    finally:
        from labkit import findings
        findings._REGISTRY.pop("test.always")
        findings._REGISTRY.pop("test.needs_log")


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a capture")
    with pytest.raises(CaptureError):
        run_doctor(bad)
    assert main(["doctor", str(bad)]) == 2
    assert "notes.txt" in capsys.readouterr().err


def test_one_read_of_the_file(monkeypatch):
    import labkit.capture as cap
    calls = []
    real = cap.read_capture
    monkeypatch.setattr(cap, "read_capture", lambda *a, **k: calls.append(a) or real(*a, **k))
    run_doctor(data.path("early_media_ringback"))
    assert len(calls) == 1


def test_notebook_table_links_each_finding_and_escapes_capture_text(tmp_path):
    rep = run_doctor(data.path("sms_mt_rpda_iphone"))
    page = rep._repr_html_()
    assert '<a href="03_iphone_mt_sms_rp_da.ipynb">03_iphone_mt_sms_rp_da</a>' in page
    assert page.count("<tr>") == len(rep.findings) + len(rep.skipped) + 2   # + two headers
    # a finding quoting a hostile header value stays text
    import pandas as pd
    from labkit.doctor import DoctorReport
    evil = rep.findings.iloc[:1].assign(what="<script>alert(1)</script>")
    page = DoctorReport("x.pcap", evil, rep.skipped.iloc[:0])._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
