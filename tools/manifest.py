"""The ``how_made`` column of a data/*/MANIFEST.tsv (read by labkit.data.provenance).

Builders that write their manifest without it call :func:`add_how_made` right after,
with the sentence for their rows; it must start with "real software", "synthetic
builder" or "published figure" (labkit.data.KINDS).
"""
from __future__ import annotations

import csv
from pathlib import Path


def add_how_made(manifest: Path, how_made) -> None:
    """Insert ``how_made`` after ``made_by``: `how_made` is a sentence, or a function of
    the row (a dict) returning one."""
    rows = list(csv.DictReader(open(manifest, newline="", encoding="utf-8"), delimiter="\t"))
    fields = ["name", "file", "made_by", "how_made", "description"]
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fields, delimiter="\t", lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "how_made": how_made(r) if callable(how_made) else how_made})
