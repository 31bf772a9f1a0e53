"""The wheel carries the bundled samples: built from this checkout, installed (without
the checkout) in a fresh virtual environment, it finds a capture by name through
labkit.data and `labkit overview` reads it.

The fresh environment borrows the dependencies (numpy, pandas, ...) of the running one
through a .pth line, so the test costs seconds, not a download of every dependency; the
editable-install hook of the running environment is not processed there, so labkit can
only come from the wheel.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(tmp / "dist"), str(REPO)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"wheel build failed:\n{build.stderr[-2000:]}")
    wheel = next((tmp / "dist").glob("labkit-*.whl"))
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site,
                    str(wheel)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LABKIT_DATA")}
    return py, Path(site), env, tmp


def test_wheel_finds_bundled_data_by_name(fresh):
    py, site, env, tmp = fresh
    out = subprocess.run([str(py), "-c", "import labkit, labkit.data as d; "
                          "print(labkit.__file__); print(d.path('ringback_amrwb')); print(len(d.names()))"],
                         capture_output=True, text=True, cwd=tmp, env=env, check=True).stdout.split()
    assert Path(out[0]).is_relative_to(site), "labkit came from the checkout, not the wheel"
    assert Path(out[1]).is_relative_to(site / "labkit" / "bundled") and Path(out[1]).is_file()
    repo_names = subprocess.run([sys.executable, "-c", "import labkit.data as d; print(len(d.names()))"],
                                capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    assert out[2] == repo_names[0]  # every sample of data/ is in the wheel


def test_wheel_command_reads_a_bundled_capture(fresh):
    py, site, env, tmp = fresh
    path = subprocess.run([str(py), "-c", "import labkit.data as d; print(d.path('codec_mismatch_488'))"],
                          capture_output=True, text=True, cwd=tmp, env=env, check=True).stdout.strip()
    run = subprocess.run([str(py), "-m", "labkit.cli", "overview", path], capture_output=True,
                         text=True, cwd=tmp, env=env)
    assert run.returncode == 0, run.stderr
    # The capture's one call was refused with 488 (data/lab/MANIFEST.tsv: made by baresip).
    assert "488" in run.stdout
