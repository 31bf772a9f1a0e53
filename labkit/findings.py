"""Troubleshooting findings and the one registry of checks that ``labkit doctor`` runs.

A check is a function of a :class:`CheckContext` (the capture read once, its SIP
messages, RTP streams and the optional inputs, each computed on first use and shared by
every check) that returns :class:`Finding` rows, or raises :class:`Skip` saying why it
does not apply. Each analysis subpackage registers its own checks in its ``checks``
module with :func:`register_check`; :mod:`labkit.doctor` imports every such module, so a
new notebook's check appears in the doctor without editing it.

This module imports no analysis code (every part of labkit may import it, as errors).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Finding", "Check", "Skip", "SEVERITIES", "register_check", "registered_checks"]

SEVERITIES = ("error", "warning", "info")   # ranking order


@dataclass(frozen=True)
class Finding:
    """One troubleshooting finding: what, where, why it matters, the fix, the notebook."""

    severity: str           # "error" | "warning" | "info"
    check: str              # name of the registered check
    what: str
    where: str = ""         # frame numbers, call, stream
    why: str = ""
    fix: str = ""
    notebook: str = ""      # notebook (and parameters) that shows the evidence

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")


class Skip(Exception):
    """Raised by a check that does not apply to this capture; the message says why."""


@dataclass(frozen=True)
class Check:
    """A registered check: its name, the notebook that explains it, the inputs it needs."""

    name: str
    func: Callable
    notebook: str
    needs: tuple = ()
    description: str = ""


_REGISTRY: dict[str, Check] = {}


def register_check(name: str, *, notebook: str, needs: tuple = ()):
    """Decorator: register `func(ctx) -> list[Finding]` as the check `name`.

    Parameters
    ----------
    name : str
        Unique dotted name, ``"<subpackage>.<what>"`` (e.g. ``"sms.rules"``).
    notebook : str
        The notebook that shows the evidence, e.g. ``"03_iphone_mt_sms_rp_da.ipynb"``.
    needs : tuple of str
        Optional inputs without which the check is skipped (``"log"``, ``"config"``,
        ``"password"``, ``"ifc"``).

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    References
    ----------
    DESIGN.md principle 5 (one answer per question: a check calls its module's own
    analysis, never a copy of its rules).

    Examples
    --------
    >>> @register_check("example.never", notebook="00_start_here.ipynb")
    ... def _never(ctx):
    ...     raise Skip("an example")
    >>> "example.never" in registered_checks()
    True
    >>> _ = _REGISTRY.pop("example.never")
    """
    def wrap(func):
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"check {name!r} is registered twice")
        _REGISTRY[name] = Check(name, func, notebook, tuple(needs),
                                (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "")
        return func
    return wrap


def registered_checks() -> dict[str, Check]:
    """Every registered check by name (import :mod:`labkit.doctor` to load them all).

    Returns
    -------
    dict of str to Check

    References
    ----------
    DESIGN.md principle 5.

    Examples
    --------
    >>> import labkit.doctor
    >>> "sms.rules" in registered_checks()
    True
    """
    return dict(_REGISTRY)
