"""Bundled sample data by name.

Every file under ``data/`` is listed in a ``MANIFEST.tsv`` in its folder (columns
``name``, ``file``, ``made_by``, ``description``), written by the tool that made it.
Notebooks, tests and the command line ask for data by name, so they run the same
under JupyterLab, nbval, papermill and the CLI::

    >>> from labkit import data
    >>> data.path("ringback_amrwb").name
    'ringback_amrwb.pcap'
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from labkit.errors import LabkitError

__all__ = ["DataFile", "data_dir", "path", "manifest", "names", "provenance"]


@dataclass(frozen=True)
class DataFile:
    """One bundled file: its registry name, path, the command that made it, and what it holds."""

    name: str
    path: Path
    made_by: str
    description: str
    how_made: str = ""


def data_dir() -> Path:
    """Folder holding the bundled data.

    ``$LABKIT_DATA`` when set; else the repository's ``data/`` (a checkout or an
    editable install); else ``labkit/bundled`` inside an installed wheel, where
    setup.py puts the same folder.

    Returns
    -------
    pathlib.Path

    References
    ----------
    DESIGN.md principle 6 (bundled data by name, in the repository and in the wheel).

    Examples
    --------
    >>> (data_dir() / "lab" / "MANIFEST.tsv").is_file()
    True
    """
    env = os.environ.get("LABKIT_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    repo = here.parent / "data"
    return repo if (repo / "lab").is_dir() or not (here / "bundled").is_dir() else here / "bundled"


@lru_cache(maxsize=None)
def _manifest(root: str) -> dict[str, DataFile]:
    files: dict[str, DataFile] = {}
    for tsv in sorted(Path(root).glob("**/MANIFEST.tsv")):
        with open(tsv, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                name = row["name"]
                if name in files:
                    raise LabkitError(f"data name {name!r} is listed twice", str(tsv),
                                      "give every bundled file a unique name")
                files[name] = DataFile(name, tsv.parent / row["file"], row.get("made_by", ""),
                                       row.get("description", ""), row.get("how_made") or "")
    return files


def manifest() -> dict[str, DataFile]:
    """All bundled files, keyed by name.

    Returns
    -------
    dict of str to DataFile
        Name -> file, with the command that made it and what it holds.

    References
    ----------
    DESIGN.md principle 6; each folder's MANIFEST.tsv is written by the tool in tools/
    that made the files.

    Examples
    --------
    >>> manifest()["ringback_amrwb"].path.name
    'ringback_amrwb.pcap'
    """
    return dict(_manifest(str(data_dir())))


def names() -> list[str]:
    """Sorted names of all bundled files.

    Returns
    -------
    list of str

    References
    ----------
    DESIGN.md principle 6.

    Examples
    --------
    >>> "relay_rtpengine" in names()
    True
    """
    return sorted(_manifest(str(data_dir())))


def path(name: str) -> Path:
    """Path of the bundled file called `name`.

    Raises
    ------
    LabkitError
        If no bundled file has that name, listing the names that exist.

    Parameters
    ----------
    name : str
        A name of :func:`names` (the ``name`` column of a MANIFEST.tsv).

    Returns
    -------
    pathlib.Path

    References
    ----------
    DESIGN.md principle 6.

    Examples
    --------
    >>> path("codec_mismatch_488").name
    'codec_mismatch_488.pcap'
    """
    files = _manifest(str(data_dir()))
    if name not in files:
        raise LabkitError(f"no bundled data called {name!r}", str(data_dir()),
                          f"use one of: {', '.join(sorted(files)) or '(none; run make data)'}")
    return files[name].path


def _how_made(entry: DataFile) -> str:
    if entry.how_made:
        return entry.how_made
    text = entry.description.lower()
    if text.startswith(("real ", "two simultaneous real")) or "real kamailio" in text:
        return "real software"
    if "synth" in entry.made_by or "builder" in text:
        return "synthetic builder"
    return "made by " + (entry.made_by or "an unknown tool")


def provenance(source) -> str:
    """Where a file comes from: for a bundled file, how it was made (real software, a
    synthetic builder, labkit's simulator, a published log) and the manifest's description;
    for any other file, that it is the user's own (provenance unknown to labkit).

    Parameters
    ----------
    source : str or Path or None
        A bundled name, a path, or None.

    Returns
    -------
    str
        One line, e.g. ``"codec_mismatch_488.pcap: bundled, real software: ..."``.

    References
    ----------
    The ``how_made`` column of the MANIFEST.tsv files (else the ``made_by`` and
    ``description`` columns); issue 17: say what is real.

    Examples
    --------
    >>> provenance("codec_mismatch_488").split(":")[0:2]
    ['codec_mismatch_488.pcap', ' bundled, real software']
    >>> provenance("/tmp/my_call.pcap")
    'my_call.pcap: your file (not bundled with labkit; how it was recorded is up to you)'
    """
    if source is None:
        return "no file"
    entries = manifest()
    entry = entries.get(str(source))
    if entry is None:
        p = Path(source).resolve()
        entry = next((e for e in entries.values() if e.path.resolve() == p), None)
    if entry is None:
        return f"{Path(source).name}: your file (not bundled with labkit; how it was recorded is up to you)"
    return f"{entry.path.name}: bundled, {_how_made(entry)}: {entry.description}"
