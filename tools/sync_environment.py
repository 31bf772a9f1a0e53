"""Write environment.yml (conda users) from pyproject.toml, the single source of deps.

    python -m tools.sync_environment          # rewrite environment.yml
    python -m tools.sync_environment --check  # exit 1 if it is out of step

Packages on conda-forge are listed as conda dependencies with the same version ranges;
the few that are only on PyPI go under ``pip:``. tests/test_project.py runs the check.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIP_ONLY = {"pyshark", "pycrate", "sdp-transform", "nbval", "playwright"}
CONDA_NAMES = {"av": "av"}  # same names on conda-forge unless listed


def requirements() -> list[str]:
    """Base + every extra from pyproject.toml, in file order."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return reqs


def split_name(req: str) -> tuple[str, str]:
    """('numpy', '>=1.26,<3') from 'numpy>=1.26,<3'."""
    for i, ch in enumerate(req):
        if ch in "<>=!~ ;[":
            return req[:i], req[i:].strip()
    return req, ""


def render() -> str:
    """The environment.yml text for the current pyproject.toml."""
    conda, pip = [], []
    for req in requirements():
        name, spec = split_name(req)
        (pip if name in PIP_ONLY else conda).append(f"{CONDA_NAMES.get(name, name)}{spec}")
    lines = ["# Generated from pyproject.toml by `python -m tools.sync_environment`; do not edit.",
             "name: labkit", "channels:", "  - conda-forge", "dependencies:", "  - python>=3.11",
             "  - pip"] + [f"  - {c}" for c in conda] + ["  - pip:"] + [f"      - {p}" for p in pip]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = REPO / "environment.yml"
    text = render()
    if "--check" in argv:
        if not path.exists() or path.read_text() != text:
            print("environment.yml is out of step with pyproject.toml: run "
                  "python -m tools.sync_environment", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
