"""The rules of ../shared/DESIGN.md on labkit's import graph, checked on the source.

Every ``import`` and ``from ... import`` in labkit/ counts, also the ones inside
functions (a lazy import still ties two modules together):

- no import cycles between modules;
- across subpackages only public names are imported (no ``_private`` names);
- only ``labkit/plots/`` (and the command line and reports) import matplotlib, only
  ``labkit/widgets/`` (and the command line) import ipywidgets: widgets draw through plots;
- imports follow the data flow (capture <- rtp <- amr <- audio <- quality; capture <- sip
  <- sms / freeswitch; rtp and amr may use sip's SDP); no analysis module imports plots/,
  widgets/, commands/ or the report;
- tests and notebooks use labkit's public names only (no ``module._private``), but for
  the listed known exceptions.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LABKIT = Path(__file__).resolve().parents[1] / "labkit"

# What each part may import besides errors, data and _jit (the switch between the
# compiled and the plain-Python loops) (DESIGN.md, "Data flow").
ANALYSIS = {"capture", "sip", "rtp", "amr", "audio", "quality", "sms", "freeswitch", "ops"}
FRONT = {"plots", "widgets", "commands", "cli", "report"}
ALLOWED = {
    "errors": set(),
    "data": set(),
    "findings": set(),
    "exercises": set(),
    "capture": set(),
    "sip": {"capture"},
    "rtp": {"capture", "sip"},
    "amr": {"capture", "rtp", "sip"},
    "audio": {"capture", "rtp", "amr", "sip"},
    "quality": {"capture", "rtp", "amr", "sip", "audio"},
    "sms": {"capture", "sip"},
    "freeswitch": {"capture", "sip", "rtp"},
    "ops": {"capture", "sip", "rtp", "quality"},
    "plots": ANALYSIS | {"overview"},
    "widgets": ANALYSIS | {"overview", "plots"},
}
# Anything else (overview, fleet, doctor, exercises, notebook...) may use every analysis
# part but not the front end; commands, cli and report may use everything.
DEFAULT_ALLOWED = ANALYSIS | {"overview", "fleet", "doctor", "exercises", "notebook"}
FRONT_ALLOWED = ANALYSIS | FRONT | DEFAULT_ALLOWED
MATPLOTLIB_OK = {"plots", "commands", "report"}
IPYWIDGETS_OK = {"widgets", "commands"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(LABKIT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (LABKIT.parent / rel).with_suffix(".py").exists() or (LABKIT.parent / rel / "__init__.py").exists()


def _imports(path: Path):
    """(module imported, names taken from it, line) for every import in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(a.name for a in node.names), node.lineno


def _graph():
    """{module: {imported labkit module: first line}} and the raw import list."""
    graph, raw = {}, []
    for path in sorted(LABKIT.rglob("*.py")):
        mod = _module_name(path)
        edges = graph.setdefault(mod, {})
        for target, names, line in _imports(path):
            raw.append((mod, path, target, names, line))
            if not target.startswith("labkit"):
                continue
            subs = [f"{target}.{n}" for n in names if _is_module(f"{target}.{n}")]
            for t in subs or [target]:
                if t != mod:
                    edges.setdefault(t, line)
            if len(subs) < len(names):  # names that are not modules come from `target`
                edges.setdefault(target, line)
    return graph, raw


def _part(mod: str) -> str:
    """Top-level part of labkit a module belongs to ("capture", "overview", ...)."""
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "labkit"


GRAPH, RAW = _graph()


def _cycles(graph):
    """Every strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    # The checker must see the package, else every rule below passes vacuously.
    assert "labkit.capture.read" in GRAPH and "labkit.rtp.streams" in GRAPH
    assert "labkit.capture.read" in GRAPH["labkit.rtp.streams"] or any(
        e.startswith("labkit.capture") for e in GRAPH["labkit.rtp.streams"])


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


def test_no_private_names_across_subpackages():
    bad = [f"{p.relative_to(LABKIT.parent)}:{line} imports {n} from {t}"
           for mod, p, t, names, line in RAW if t.startswith("labkit.")
           for n in names if n.startswith("_") and n != "__all__" and _part(t) != _part(mod)]
    assert bad == []


@pytest.mark.parametrize("lib, allowed", [("matplotlib", MATPLOTLIB_OK), ("ipywidgets", IPYWIDGETS_OK)])
def test_only_the_front_end_imports_drawing_libraries(lib, allowed):
    bad = [f"{p.relative_to(LABKIT.parent)}:{line}" for mod, p, t, _, line in RAW
           if (t == lib or t.startswith(lib + ".")) and _part(mod) not in allowed]
    assert bad == []


def test_imports_follow_the_data_flow():
    bad = []
    for mod, edges in GRAPH.items():
        part = _part(mod)
        if part in ("labkit", "cli", "commands", "report"):
            allowed = FRONT_ALLOWED
        else:
            allowed = ALLOWED.get(part, DEFAULT_ALLOWED)
        for target, line in edges.items():
            tp = _part(target)
            if tp in (part, "errors", "data", "findings", "exercises", "labkit", "_jit") or tp in allowed:
                continue
            bad.append(f"{mod}:{line} -> {target}")
    assert bad == []


@pytest.mark.parametrize("package", ["plots", "widgets", "sip", "rtp", "audio", "sms", "ops", "quality"])
def test_a_package_reexports_each_public_name_from_one_module(package):
    """``from labkit.plots import *`` of two modules with the same public name would let
    the last one win silently (two ladders, one of them unreachable)."""
    import importlib
    import pkgutil
    pkg = importlib.import_module(f"labkit.{package}")
    owner = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"labkit.{package}.{info.name}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if name in owner:     # a re-export of the same object is one answer
                assert owner[name][1] is obj, f"{name} in {owner[name][0]} and {info.name}"
            owner[name] = (info.name, obj)


# ------------------------------------------------------------------ tests use the public API

REPO = LABKIT.parent

# Tests and notebooks that still reach into a labkit module's private names, each with
# why it is still there (fix them by giving the module a public way to do it, then
# remove the line: the test below fails on a stale entry as well as on a new use).
KNOWN_PRIVATE_USES = {
    # monkeypatching the tshark locator (a test double, no public seam for it)
    ("tests/capture/test_wireshark.py", "labkit.capture.wireshark._tool"),
    # the file-read header path compared with head() (an internal fast path)
    ("tests/rtp/test_streams.py", "labkit.rtp.detect._head_from_file"),
    # one finding rule of the SMS-over-IP checker on a hand-made row
    ("tests/sms/test_pdu.py", "labkit.sms.smsip._rule_not_displayed"),
    # unregistering test checks / exercises (no public unregister)
    ("tests/test_doctor.py", "labkit.findings._REGISTRY"),
    ("tests/test_exercises.py", "labkit.exercises._REGISTRY"),
}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_in_path(dotted: str) -> str | None:
    """The dotted prefix of `dotted` that ends in a private name which is not a module
    (``labkit.commands._output`` is a module, so ``labkit.commands._output.jsonable``
    is public; ``labkit.audio.ringback._phases`` is not)."""
    parts = dotted.split(".")
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i + 1])
        if _is_private(parts[i]) and not _is_module(prefix):
            return prefix
    return None


def _private_uses(source: str) -> list[tuple[int, str]]:
    """(line, ``labkit.module._name``) for each use of a labkit private name in `source`:
    ``from labkit.x import _y``, ``x._y`` / ``labkit.x._y`` on a name bound by a labkit
    import, ``setattr``/``getattr``/``monkeypatch.setattr(x, "_y", ...)``, and
    ``"labkit.x._y"`` strings (mock.patch targets)."""
    import warnings
    with warnings.catch_warnings():     # a test's own invalid escapes are not ours to report
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(source)
    bound, out = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "labkit":
                    bound[a.asname or "labkit"] = a.name if a.asname else "labkit"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "labkit":
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if _private_in_path(full):
                    out.append((node.lineno, _private_in_path(full)))
                bound[a.asname or a.name] = full
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain, base = [], node
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound and _is_private(node.attr):
                hit = _private_in_path(".".join([bound[base.id], *reversed(chain)]))
                if hit:
                    out.append((node.lineno, hit))
        elif isinstance(node, ast.Call) and len(node.args) >= 2 \
                and isinstance(node.args[0], ast.Name) and node.args[0].id in bound \
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) \
                and _is_private(node.args[1].value):
            hit = _private_in_path(f"{bound[node.args[0].id]}.{node.args[1].value}")
            if hit:
                out.append((node.lineno, hit))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and re.fullmatch(r"labkit(\.\w+)+", node.value):
            hit = _private_in_path(node.value)
            if hit:
                out.append((node.lineno, hit))
    return sorted(set(out))


def _notebook_source(path: Path) -> str:
    """The code cells of a notebook as one Python source (IPython magics and shell lines
    left out)."""
    import json
    cells = json.loads(path.read_text())["cells"]
    lines = []
    for c in cells:
        if c["cell_type"] == "code":
            src = "".join(c["source"])
            lines += [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def test_the_private_use_finder_sees_each_form():
    src = """
from labkit.audio import ringback
from labkit.audio.ringback import _phases, analyze_stream
from labkit.commands._output import jsonable
import labkit.rtp.detect as det
import labkit
ringback._call_of(1)
ringback.stream_call(1)
det._take
labkit.audio.ringback._RawStream
labkit.commands._output.jsonable
monkeypatch.setattr(ringback, "_window", None)
monkeypatch.setattr("labkit.capture.wireshark._tool", None)
other._private
ringback.__all__
"""
    assert [name for _, name in _private_uses(src)] == [
        "labkit.audio.ringback._phases", "labkit.audio.ringback._call_of", "labkit.rtp.detect._take",
        "labkit.audio.ringback._RawStream", "labkit.audio.ringback._window",
        "labkit.capture.wireshark._tool"]


def test_tests_and_notebooks_use_only_public_names():
    """Tests exercise what users can call (DESIGN.md: the public API is the contract):
    no test or notebook reaches into a labkit module's ``_private`` names."""
    found = set()
    sources = [(p, p.read_text()) for p in sorted((REPO / "tests").rglob("*.py"))
               if p.name != "test_architecture.py"]     # this checker names them as data
    sources += [(p, _notebook_source(p)) for p in sorted((REPO / "notebooks").glob("*.ipynb"))]
    assert len(sources) > 20
    for path, source in sources:
        for _, name in _private_uses(source):
            found.add((path.relative_to(REPO).as_posix(), name))
    assert sorted(found - KNOWN_PRIVATE_USES) == [], "new private uses: add a public API"
    assert sorted(KNOWN_PRIVATE_USES - found) == [], "fixed: remove from KNOWN_PRIVATE_USES"
    assert not any(f == "tests/audio/test_ringback.py" for f, _ in found)
