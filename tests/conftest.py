"""Shared fixtures and markers.

- ``shared_captures``: the folder ../shared/captures (real captures from other projects)
  with its MANIFEST.tsv as a DataFrame; tests using it skip when the folder is absent.
- ``requires_tshark``: skip unless tshark and sharkd are on PATH.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LABKIT_SHARED_CAPTURES", REPO.parent / "shared" / "captures"))


def shared_capture_files() -> list[Path]:
    """Every capture listed in ../shared/captures/MANIFEST.tsv (empty when absent)."""
    manifest = SHARED / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    rows = manifest.read_text().splitlines()[1:]
    return [SHARED / r.split("\t")[1] for r in rows if r.strip()]


def pytest_collection_modifyitems(config, items):
    have_tshark = shutil.which("tshark") and shutil.which("sharkd")
    for item in items:
        if "requires_tshark" in item.keywords and not have_tshark:
            item.add_marker(pytest.mark.skip(reason="tshark/sharkd not installed (make test installs them)"))
        if "requires_shared" in item.keywords and not SHARED.exists():
            item.add_marker(pytest.mark.skip(reason=f"{SHARED} absent"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} absent")
    return SHARED


# The per-packet loops (labkit._jit) run compiled by numba for large inputs and as
# plain Python for small ones. Every tshark comparison of the capture, RTP and quality
# tests runs both ways: "compiled" compiles every input, "python" none.
_JIT_DIRS = ("tests/capture/", "tests/rtp/", "tests/quality/")


def pytest_generate_tests(metafunc):
    node = metafunc.definition.nodeid
    if (metafunc.definition.get_closest_marker("requires_tshark")
            and node.startswith(_JIT_DIRS) and "jit" not in metafunc.fixturenames):
        metafunc.fixturenames.append("jit")
        metafunc.parametrize("jit", ["python", "compiled"], indirect=True)


@pytest.fixture
def jit(request, monkeypatch):
    from labkit import _jit
    mode = getattr(request, "param", "python")
    monkeypatch.setattr(_jit, "COMPILE_MIN", 0 if mode == "compiled" else 1 << 62)
    if mode == "python":     # nothing compiled yet: small inputs stay plain Python
        _jit.forget()
    return mode
