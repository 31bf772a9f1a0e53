"""The project's promises about itself: two commands, CI = make test, deps in step."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_environment_yml_in_step_with_pyproject():
    result = subprocess.run([sys.executable, "-m", "tools.sync_environment", "--check"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_environment_yml_lists_every_dependency():
    # Independent of the generator: every name in pyproject appears in environment.yml.
    import tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = (REPO / "environment.yml").read_text()
    reqs = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    for req in reqs:
        assert f"- {req}\n" in env, f"{req} missing from environment.yml"


def test_ci_runs_make_test_and_readme_names_both_commands():
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (REPO / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_setup_second_run_changes_nothing():
    stamp = REPO / ".venv" / ".labkit-stamp"
    if not stamp.exists():
        import pytest
        pytest.skip("not running inside the make-built .venv")
    before = stamp.stat().st_mtime_ns
    result = subprocess.run(["bash", "tools/setup.sh"], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # nothing installed, nothing rebuilt
    assert stamp.stat().st_mtime_ns == before


def test_makefile_has_the_documented_targets():
    makefile = (REPO / "Makefile").read_text()
    for target in ("lab:", "test:", "data:", "bench:"):
        assert f"\n{target}" in makefile
