"""Packaging glue that pyproject.toml cannot say: the top-level data/ folder ships inside
the wheel as the package ``labkit.bundled`` (DESIGN.md: data/ stays at the top of the
repository, and an installed wheel still finds every sample by name through labkit.data).
Everything else is configured in pyproject.toml."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["labkit", "labkit.*"]) + ["labkit.bundled"],
    package_dir={"labkit.bundled": "data"},
    package_data={"labkit.bundled": ["**/*"]},
    exclude_package_data={"labkit.bundled": ["**/__pycache__/*"]},
)
