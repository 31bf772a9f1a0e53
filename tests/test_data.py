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
