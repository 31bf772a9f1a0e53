"""numpydoc on the public API (DESIGN.md principle 8): Parameters, Returns, References and
an Examples section (run as a doctest by ``make test``) on every public function of the
modules listed here, and a module docstring on every module.

DOCUMENTED grows module by module; the modules not yet in it are named in the README's
known limits.
"""
from __future__ import annotations

import importlib
import re
import inspect
import pkgutil

import pytest

import labkit

DOCUMENTED = ["labkit.capture.read", "labkit.capture.frames", "labkit.amr.payload",
              "labkit.amr.storage", "labkit.amr.detect", "labkit.sip.sdp", "labkit.sip.calls", "labkit.findings", "labkit.doctor", "labkit.rtp.streams", "labkit.amr.codec",
              "labkit.data", "labkit.commands._output", "labkit.overview", "labkit.notebook",
              "labkit.exercises", "labkit.fleet", "labkit.rtp.calls", "labkit.sms.transaction",
              "labkit.sms.ipsec"]
DOCUMENTED += ["labkit.freeswitch.log", "labkit.report"]
DOCUMENTED += ["labkit.quality.delay", "labkit.quality.bursts", "labkit.quality.jbuf",
               "labkit.quality.emodel", "labkit.quality.hostnet", "labkit.quality.analysis"]
# the second pass of issue 16 (tshark oracle, RTP arithmetic, AMR, SMS, PCM, plots, widgets)
DOCUMENTED += ["labkit.capture.wireshark", "labkit.rtp.stats", "labkit.amr.realtime",
               "labkit.amr.streams", "labkit.sms.pdu", "labkit.audio.pcm", "labkit.plots.rtp",
               "labkit.plots.overview", "labkit.plots.negotiation", "labkit.widgets.rtp",
               "labkit.widgets.negotiation"]
DOCUMENTED += ["labkit.plots.quality", "labkit.widgets.quality"]
DOCUMENTED += ["labkit.ops.hep", "labkit.ops.collector", "labkit.ops.homer", "labkit.ops.metrics"]
DOCUMENTED += ["labkit.ops.rating", "labkit.freeswitch.timers", "labkit.freeswitch.causes",
               "labkit.freeswitch.dialstring"]
DOCUMENTED += ["labkit.sip.flow", "labkit.sip.headers", "labkit.sip.ussd"]
DOCUMENTED += ["labkit.sip.digest", "labkit.sip.auth", "labkit.sip.ifc_xml", "labkit.sip.ifc",
               "labkit.sip.cx"]
DOCUMENTED += ["labkit.plots.fleet"]
DOCUMENTED += ["labkit.rtp.scan"]
DOCUMENTED += ["labkit.plots.audio", "labkit.plots.ops", "labkit.plots.rating",
               "labkit.plots.sip", "labkit.plots.sip_auth", "labkit.plots.sms", "labkit.plots.timers"]
DOCUMENTED += ["labkit.ops.mariadb", "labkit.widgets.audio", "labkit.sip.messages",
               "labkit.freeswitch.config", "labkit.freeswitch.negotiation", "labkit.audio.tones"]
DOCUMENTED += ["labkit.audio.ringback"]
DOCUMENTED += ["labkit.sms.smsip", "labkit.sms.whatif"]
DOCUMENTED += ["labkit.capture.layers", "labkit.sms.overhead"]
DOCUMENTED += ["labkit._jit"]
SECTIONS = ("Parameters", "Returns", "References", "Examples")


def _public_functions(module):
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield name, obj


def _missing(func) -> list[str]:
    """Sections `func`'s docstring lacks (Parameters only when it takes any; Yields
    stands for Returns in a generator)."""
    doc = func.__doc__ or ""
    want = [s for s in SECTIONS if s != "Parameters" or inspect.signature(func).parameters]
    have = {s for s in SECTIONS if f"{s}\n    ---" in doc or f"{s}\n---" in doc}
    if "Yields\n" in doc:
        have.add("Returns")
    return [s for s in want if s not in have]


def test_the_checker_sees_missing_sections():
    def f(x):
        """Only a summary."""
    assert _missing(f) == ["Parameters", "Returns", "References", "Examples"]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_public_functions_have_numpydoc_sections(name):
    module = importlib.import_module(name)
    missing = {f: _missing(obj) for f, obj in _public_functions(module)}
    assert {f: m for f, m in missing.items() if m} == {}


def test_every_module_says_what_it_answers():
    names = [m.name for m in pkgutil.walk_packages(labkit.__path__, "labkit.")]
    assert len(names) > 30
    bare = [n for n in names if not (importlib.import_module(n).__doc__ or "").strip()]
    assert bare == []


def test_readme_names_every_module_not_yet_documented():
    """The README's known limits list exactly the modules with public functions that are
    not in DOCUMENTED (so the README stays true as modules are documented)."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text[text.index("`tests/test_docs.py` for the modules in its `DOCUMENTED` list"):]
    block = block[:block.index(".\n")]
    named = {f"labkit.{m}" for m in re.findall(r"`([a-z_]+\.[a-z_.]+)`", block)}
    pending = set()
    for info in pkgutil.walk_packages(labkit.__path__, "labkit."):
        if info.ispkg or info.name in DOCUMENTED:
            continue
        if list(_public_functions(importlib.import_module(info.name))):
            pending.add(info.name)
    assert named == pending
