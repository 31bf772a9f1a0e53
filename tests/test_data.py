"""labkit.data: bundled files by name."""
from __future__ import annotations

import pytest

from labkit import data
from labkit.errors import LabkitError


def test_every_manifest_entry_exists_and_is_described():
    for name, entry in data.manifest().items():
        assert entry.path.exists(), f"{name}: {entry.path} listed but missing (run make data)"
        assert entry.made_by.strip(), f"{name}: manifest does not say how it was made"
        assert entry.description.strip(), f"{name}: no description"


def test_every_data_file_is_in_a_manifest():
    listed = {e.path.resolve() for e in data.manifest().values()}
    for f in data.data_dir().glob("**/*"):
        if f.is_file() and f.name != "MANIFEST.tsv" and not f.name.startswith("."):
            assert f.resolve() in listed, f"{f} is not listed in its folder's MANIFEST.tsv"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(LabkitError, match="no bundled data called 'nope'"):
        data.path("nope")


def test_duplicate_names_are_an_error(tmp_path, monkeypatch):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.pcap").write_bytes(b"")
        (tmp_path / sub / "MANIFEST.tsv").write_text(
            "name\tfile\tmade_by\tdescription\nsame\tx.pcap\ttool\tdesc\n")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(LabkitError, match="listed twice"):
        data.path("same")


# ---------------------------------------------------------------- say what is real

def test_every_bundled_file_says_how_it_was_made():
    for name, entry in data.manifest().items():
        prov = data.provenance(name)
        assert prov.kind in ("real", "synthetic", "published"), f"{name}: {entry.how_made!r}"
        assert name in str(prov) or entry.path.name in str(prov)


def test_only_real_software_captures_are_called_real():
    # Oracle: the folder says which tool made the files. tools/lab (baresip/kamailio/
    # rtpengine in namespaces, kamailio auth with SIPp/baresip), tools/ops (kamailio HEP,
    # sngrep, Prometheus) and tools/timers (SIPp peers) run real software; tools/synth,
    # tools/rating and tools/freeswitch write bytes themselves; sms_kamailio_mt is the one
    # data/sms capture where kamailio built the RP-DATA.
    real_folders = {"lab", "auth", "ops", "timers", "jitter", "flow", "fleet"}   # jitter: rtpengine (tools/jitterlab); flow: kamailio + SIPp (tools/lab/sipflow); fleet: 3 rtpengines (tools/fleetlab)
    for name, entry in data.manifest().items():
        folder = entry.path.relative_to(data.data_dir()).parts[0]
        real = folder in real_folders or name == "sms_kamailio_mt"
        assert data.provenance(name).measured == real, name
    assert data.provenance("sms_mo_submit").kind == "published"
    assert data.provenance("sms_mt_rpda_iphone").kind == "published"
    captures = [n for n in data.names() if data.path(n).suffix in (".pcap", ".pcapng")]
    in_real = [n for n in captures
               if data.path(n).relative_to(data.data_dir()).parts[0] in real_folders]
    kinds = [data.provenance(n).kind for n in captures]
    assert kinds.count("real") == len(in_real) + 1                # + sms_kamailio_mt


def test_provenance_by_path_and_for_a_users_file(tmp_path):
    assert data.provenance(data.path("ringback_amrwb")) == data.provenance("ringback_amrwb")
    mine = tmp_path / "mine.pcap"
    mine.write_bytes(b"")
    prov = data.provenance(mine)
    assert prov.kind == "user" and not prov.measured and str(prov).startswith("mine.pcap: ")
    assert str(tmp_path) not in str(prov)      # no machine path in a notebook output
    with pytest.raises(LabkitError, match="no bundled data called"):
        data.provenance("not_a_name")


def test_a_row_without_a_known_kind_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.pcap").write_bytes(b"")
    (tmp_path / "a" / "MANIFEST.tsv").write_text(
        "name\tfile\tmade_by\thow_made\tdescription\nx\tx.pcap\ttool\trecorded somewhere\tdesc\n")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(LabkitError, match="no known how_made kind"):
        data.provenance("x")
