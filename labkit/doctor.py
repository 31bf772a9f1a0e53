"""``labkit doctor``: every registered check on one capture, findings ranked.

Wireshark's Expert Info lists packet-level warnings; this lists troubleshooting-level
ones (an early-media-only ringback, an MT RP-DATA with RP-DA set, no common codec,
stream loss...), each with where, why, the fix and the notebook that shows the
evidence. The capture is read once; its SIP messages and RTP streams are computed once
and shared by every check (:class:`CheckContext`). Checks live with the analysis they
use (``labkit/<subpackage>/checks.py``, registered with
:func:`labkit.findings.register_check`); this module only discovers and runs them.
"""
from __future__ import annotations

import html
import importlib
import pkgutil
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

import labkit
from labkit.errors import LabkitError, LabkitWarning
from labkit.findings import SEVERITIES, Finding, Skip, registered_checks

__all__ = ["CheckContext", "DoctorReport", "discover_checks", "run_doctor", "FINDING_COLUMNS"]

FINDING_COLUMNS = ["severity", "check", "what", "where", "why", "fix", "notebook"]


def discover_checks() -> list[str]:
    """Import every ``labkit.<subpackage>.checks`` (or ``*_checks``) module; return their names.

    Returns
    -------
    list of str
        Module names imported, sorted.

    References
    ----------
    DESIGN.md principle 5: the registry is the only list of checks.

    Examples
    --------
    >>> "labkit.sms.checks" in discover_checks()
    True
    """
    found = []
    for info in pkgutil.iter_modules(labkit.__path__):
        if not info.ispkg:
            continue
        spec = importlib.util.find_spec(f"labkit.{info.name}")
        for sub in pkgutil.iter_modules(spec.submodule_search_locations):
            if sub.name == "checks" or sub.name.endswith("_checks"):
                importlib.import_module(f"labkit.{info.name}.{sub.name}")
                found.append(f"labkit.{info.name}.{sub.name}")
    return sorted(found)


@dataclass
class CheckContext:
    """The capture and the optional inputs, with shared intermediate results.

    Every property is computed on first use and kept, so N checks cost one read of
    the file, one SIP pass and one RTP pass.
    """

    capture: Path
    log: Path | None = None
    config: Path | None = None
    password: str | None = None
    ha1: str | None = None
    ifc: Path | None = None
    warnings: list = field(default_factory=list)

    @cached_property
    def packets(self):
        from labkit.capture import read_capture
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LabkitWarning)
            pk = read_capture(self.capture)
        self.warnings += [str(w.message) for w in caught]
        return pk

    @cached_property
    def sip(self) -> pd.DataFrame:
        from labkit.sip import sip_messages
        return sip_messages(self.packets)

    @cached_property
    def sdp(self):
        from labkit.sip import sdp_media
        return sdp_media(self.sip)

    @cached_property
    def rtp(self):
        from labkit.rtp import find_rtp
        return find_rtp(self.packets, sdp=self.sdp)

    @cached_property
    def streams(self) -> pd.DataFrame:
        from labkit.rtp import rtp_streams
        return rtp_streams(self.rtp)

    def input(self, name: str):
        """The optional input `name`, or raise :class:`Skip` saying which option gives it."""
        value = getattr(self, name, None)
        if value is None:
            raise Skip(f"needs --{name.replace('_', '-')}")
        return value


@dataclass(frozen=True)
class DoctorReport:
    """Findings ranked by severity (then check, then where) and the checks skipped."""

    capture: str
    findings: pd.DataFrame
    skipped: pd.DataFrame
    warnings: tuple = ()

    def counts(self) -> dict:
        """Findings per severity, e.g. ``{"error": 1, "warning": 0, "info": 2}``."""
        return {s: int((self.findings["severity"] == s).sum()) for s in SEVERITIES}

    def __repr__(self) -> str:
        return f"<DoctorReport {self.summary()}; {len(self.skipped)} check(s) skipped>"

    def _repr_html_(self) -> str:
        """The findings as a table for a notebook, each linked to the notebook that shows
        the evidence; the skipped checks below. Every text from the capture is escaped
        (an untrusted capture's header values must not become markup)."""
        parts = [f"<p><b>{html.escape(self.summary())}</b></p>"]
        if len(self.findings):
            rows = [[html.escape(str(v)) for v in r[:-1]] + [_notebook_link(r[-1])]
                    for r in self.findings[FINDING_COLUMNS].itertuples(index=False)]
            parts.append(_html_table(FINDING_COLUMNS, rows))
        if len(self.skipped):
            rows = [[html.escape(s.check), html.escape(s.why), _notebook_link(s.notebook)]
                    for s in self.skipped.itertuples()]
            parts.append("<p>Skipped (the check does not apply, or needs an input):</p>"
                         + _html_table(["check", "why", "notebook"], rows))
        return "\n".join(parts)

    def summary(self) -> str:
        """One sentence for the top of a ticket."""
        c, name = self.counts(), Path(self.capture).name
        if not len(self.findings):
            return f"{name}: no finding from {len(registered_checks())} checks"
        top = self.findings.iloc[0]
        return (f"{name}: {c['error']} error(s), {c['warning']} warning(s), "
                f"{c['info']} note(s); first: {top['what']}")


def run_doctor(capture, *, log=None, config=None, password=None, ha1=None, ifc=None,
               checks=None) -> DoctorReport:
    """Run every applicable registered check on `capture`.

    Parameters
    ----------
    capture : str or Path
        pcap/pcapng file.
    log, config, password, ha1, ifc : optional
        Inputs some checks need (a FreeSWITCH log, its configuration folder, a SIP
        password or HA1, a subscriber's iFC XML); checks that need a missing one are
        listed as skipped.
    checks : list of str, optional
        Only these check names (default: all registered).

    Returns
    -------
    DoctorReport

    References
    ----------
    Each check cites its own clause; ranking error > warning > info.

    Examples
    --------
    >>> from labkit import data
    >>> rep = run_doctor(data.path("sms_mt_rpda_iphone"))
    >>> rep.findings.iloc[0][["severity", "check"]].tolist()
    ['error', 'sms.rules']
    """
    discover_checks()
    ctx = CheckContext(Path(capture), _path(log), _path(config), password, ha1, _path(ifc))
    ctx.packets   # read once, first: a file that is not a capture is an error, not a skip
    found, skipped = [], []
    for name, check in sorted(registered_checks().items()):
        if checks is not None and name not in checks:
            continue
        try:
            for need in check.needs:
                ctx.input(need)
            found += list(check.func(ctx))
        except Skip as why:
            skipped.append({"check": name, "why": str(why), "notebook": check.notebook})
        except LabkitError as exc:
            skipped.append({"check": name, "why": f"could not run: {exc}", "notebook": check.notebook})
    table = pd.DataFrame([f.__dict__ for f in found], columns=FINDING_COLUMNS)
    rank = table["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    table = table.assign(_r=rank).sort_values(["_r", "check", "where"], kind="stable")
    return DoctorReport(str(capture), table.drop(columns="_r").reset_index(drop=True),
                        pd.DataFrame(skipped, columns=["check", "why", "notebook"]),
                        tuple(ctx.warnings))


def _notebook_link(text: str) -> str:
    """``01_x.ipynb -p CAPTURE <file>`` as a link to ``01_x.ipynb`` and its parameters."""
    name, _, rest = str(text).partition(" ")
    if not name.endswith(".ipynb"):
        return html.escape(str(text))
    link = f'<a href="{html.escape(name, quote=True)}">{html.escape(name[:-len(".ipynb")])}</a>'
    return f"{link} <code>{html.escape(rest)}</code>" if rest else link


def _html_table(columns, rows) -> str:
    head = "".join(f"<th style='text-align:left'>{c}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{v}</td>" for v in r)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _path(p):
    return None if p is None else Path(p)
