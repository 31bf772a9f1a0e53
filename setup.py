"""Packaging glue that pyproject.toml cannot say: the top-level data/ folder ships inside
the wheel as the package ``labkit.bundled`` (DESIGN.md: data/ stays at the top of the
repository, and an installed wheel still finds every sample by name through labkit.data).
Each folder under data/ is a data-only subpackage of it, listed so that setuptools knows
it ships (and says nothing). Everything else is configured in pyproject.toml."""
from setuptools import find_namespace_packages, find_packages, setup

BUNDLED = ["labkit.bundled"] + [f"labkit.bundled.{p}" for p in find_namespace_packages(where="data")
                                if "__pycache__" not in p]

setup(
    packages=find_packages(include=["labkit", "labkit.*"]) + BUNDLED,
    package_dir={"labkit.bundled": "data"},
    package_data={p: ["*"] for p in BUNDLED},
    exclude_package_data={p: ["__pycache__/*", "*.pyc"] for p in BUNDLED},
)
