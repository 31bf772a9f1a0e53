"""``labkit amr extract`` runs without pandas (its import is most of the start-up time).

The command is run in a fresh interpreter on every bundled synthetic AMR capture that
has an encoder reference file (``<name>_ref`` in data/synth/MANIFEST.tsv). The file
written for B's stream (SSRC 0xb0000001, the ringback direction) must equal that
reference byte for byte when no packet was lost; in the impaired scenarios (loss,
damaged payloads, DTX gaps) it must equal the reference with the frames of the missing
packets replaced by NO_DATA (RFC 4867 section 5.3; derived from the reference and the
seeded loss list by tools/synth/amr_rtp.expected_storage). pandas and matplotlib
must never have been imported (nor any
scipy subpackage: numba imports scipy's root to check its version).
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.synth import make_amr  # noqa: E402
SYNTH = REPO / "data" / "synth"
B_SSRC = "b0000001"  # tools/synth/make_amr.py: B -> A stream of every scenario
# scenarios whose B stream misses frames (lost/damaged packets): NO_DATA in those slots
_IMPAIRED = {"synth_amrnb_be_damaged", "synth_amrnb_oa_dtx_loss",
             "synth_amrwb_be_dtx_dup_reorder", "synth_amrwb_be_modes_4fpp"}

RUNNER = r'''
import json, sys
from pathlib import Path
from labkit import cli
out, jobs = Path(sys.argv[1]), json.loads(sys.argv[2])
codes = {}
for name, capture, suffix in jobs:
    (out / name).mkdir()
    codes[name] = cli.main(["amr", "extract", "-i", capture, "-o",
                            str(out / name / f"out{suffix}"), "-q"])
# scipy's package root is allowed: numba checks its version on import (11 ms); its
# subpackages (signal, stats, ...) are the heavy part
heavy = sorted(m for m in sys.modules if m in ("pandas", "matplotlib")
               or (m.startswith("scipy.") and not m.startswith(("scipy._", "scipy.version"))))
print(json.dumps({"codes": codes, "heavy": heavy}))
'''


def _manifest() -> dict[str, str]:
    with open(SYNTH / "MANIFEST.tsv", newline="") as fh:
        return {r["name"]: r["file"] for r in csv.DictReader(fh, delimiter="\t")}


def _run(tmp_path: Path, jobs: list) -> dict:
    done = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path), json.dumps(jobs)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_amr_extract_matches_encoder_reference_without_pandas(tmp_path):
    files = _manifest()
    refs = {n[:-len("_ref")]: SYNTH / f for n, f in files.items() if n.endswith("_ref")}
    assert len(refs) >= 12          # every AMR scenario of tools/synth/make_amr.py
    jobs = [(name, str(SYNTH / files[name]), ref.suffix) for name, ref in sorted(refs.items())]
    result = _run(tmp_path, jobs)
    assert result["heavy"] == []
    for name, ref in sorted(refs.items()):
        assert result["codes"][name] == 0, name
        written = {p.name: p for p in (tmp_path / name).iterdir()}
        # one AMR stream: the file has the given name; several: the SSRC is added
        single, per_ssrc = f"out{ref.suffix}", f"out_{B_SSRC}{ref.suffix}"
        got = written.get(per_ssrc) or written[single]
        b2a = make_amr.build(name).streams["b2a"]
        assert b2a.reference == ref.read_bytes(), name       # the bundled reference file
        if not b2a.lost_seq and name not in _IMPAIRED:
            assert got.read_bytes() == ref.read_bytes(), name
        else:
            assert got.read_bytes() == b2a.expected, name


def test_amr_extract_error_path_without_pandas(tmp_path):
    """EVS only: exit status 2 (nothing to extract), still no pandas."""
    files = _manifest()
    result = _run(tmp_path, [("evs", str(SYNTH / files["synth_evs_compact"]), ".amr")])
    assert result["codes"]["evs"] == 2
    assert result["heavy"] == []
