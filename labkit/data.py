"""Bundled sample data by name.

Every file under ``data/`` is listed in a ``MANIFEST.tsv`` in its folder (columns
``name``, ``file``, ``made_by``, ``how_made``, ``description``), written by the tool that
made it. ``how_made`` says what is real: ``real software: ...`` (baresip, kamailio,
rtpengine run on loopback or in network namespaces and captured), ``synthetic builder:
...`` (frames written byte by byte by a builder in tools/), or ``published figure: ...``
(a published figure or case rebuilt by a builder). :func:`provenance` gives it for a
name or a path, so a notebook prints it next to the capture it analyses.
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

__all__ = ["DataFile", "Provenance", "data_dir", "path", "manifest", "names", "provenance",
           "KINDS"]


@dataclass(frozen=True)
class DataFile:
    """One bundled file: its registry name, path, the command that made it, how, and what it holds."""

    name: str
    path: Path
    made_by: str
    description: str
    how_made: str = ""


#: ``how_made`` prefix -> kind of evidence.
KINDS = {"real software": "real", "synthetic builder": "synthetic",
         "published figure": "published"}


@dataclass(frozen=True)
class Provenance:
    """How a capture was made: the kind of evidence and the manifest's sentence.

    Attributes
    ----------
    name : str
        The bundled name, or "" for a file that is not bundled.
    file : str
        The file's name (no folder: notebook outputs stay machine-independent).
    kind : str
        "real" (real software recorded it), "synthetic" (a builder wrote the frames),
        "published" (a published figure or case rebuilt by a builder) or "user" (not
        bundled: labkit cannot know).
    how_made : str
        The manifest's ``how_made`` sentence.
    made_by : str
        The command that regenerates it ("" for a user's file).
    """

    name: str
    file: str
    kind: str
    how_made: str
    made_by: str = ""

    @property
    def measured(self) -> bool:
        """True when real software recorded it (a measurement, not a construction)."""
        return self.kind == "real"

    def __str__(self) -> str:
        made = f" (regenerate: {self.made_by})" if self.made_by else ""
        return f"{self.file}: {self.how_made}{made}"


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


def provenance(name_or_path) -> Provenance:
    """How the capture `name_or_path` was made: real software, a builder, or a published figure.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A bundled name (:func:`names`), the path of a bundled file, or any other file
        (a user's capture: kind "user").

    Returns
    -------
    Provenance
        Prints as one line: file name, the manifest's ``how_made`` sentence and the
        command that regenerates it.

    Raises
    ------
    LabkitError
        When `name_or_path` is neither a bundled name nor an existing file, or a bundled
        file's manifest row has no known ``how_made`` kind.

    References
    ----------
    DESIGN.md principle 6 and the house rule "say what is real: never call a built frame a
    measurement".

    Examples
    --------
    >>> provenance("ringback_amrwb").kind
    'real'
    >>> print(provenance("sms_mo_submit"))  # doctest: +ELLIPSIS
    sms_mo_submit.pcap: published figure: ...
    >>> provenance(path("synth_amrwb_be_gtpu")).kind
    'synthetic'
    """
    files = _manifest(str(data_dir()))
    entry = files.get(str(name_or_path)) if isinstance(name_or_path, str) else None
    if entry is None:
        p = Path(name_or_path)
        if p.exists():
            by_path = {e.path.resolve(): e for e in files.values()}
            entry = by_path.get(p.resolve())
            if entry is None:
                return Provenance("", p.name, "user", "not a bundled sample: labkit cannot tell "
                                  "how it was recorded (say so when you quote its figures)")
        else:
            path(str(name_or_path))  # raises, listing the names
    kind = KINDS.get(entry.how_made.split(":", 1)[0].strip())
    if kind is None:
        raise LabkitError(f"bundled file {entry.name!r} has no known how_made kind "
                          f"({entry.how_made!r})", str(entry.path.parent / "MANIFEST.tsv"),
                          "start how_made with one of: " + ", ".join(KINDS))
    return Provenance(entry.name, entry.path.name, kind, entry.how_made, entry.made_by)
