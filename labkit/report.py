"""HTML reports for a ticket: a notebook executed on the user's file, as one HTML page.

:func:`build_report` checks the parameters against the notebook's ``parameters`` cell
(:func:`labkit.notebook.notebook_parameters`; an unknown name is refused before anything
runs), executes the notebook with papermill (a tqdm progress bar per cell), and converts
it with nbconvert into one self-contained HTML file: figures and audio are embedded as
``data:`` URIs, no script or style is fetched from the network, code cells are hidden
(a button shows them), the notebook's verdict section is repeated at the top, and a footer
names the labkit version and each input file with its SHA-256.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import html
import re
import tempfile
from pathlib import Path

from labkit.errors import LabkitError
from labkit.notebook import check_parameters, notebook_parameters

__all__ = ["build_report", "find_notebook", "parse_values", "sha256", "verdict_cells",
           "NOTEBOOK_DIR"]

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
_VERDICT = re.compile(r"^#{1,3}\s*(\d+\.\s*)?(the\s+)?(verdicts?|answer)\b", re.I | re.M)
_HIDE_CODE = """
<style>
body.labkit-hide-code .jp-CodeCell .jp-Cell-inputWrapper,
body.labkit-hide-code .jp-OutputPrompt { display: none; }
#labkit-toggle { position: fixed; top: 8px; right: 8px; z-index: 10; }
.labkit-footer { margin: 2em 1em; padding-top: 1em; border-top: 1px solid #ccc;
                 font: 12px monospace; color: #444; }
.labkit-verdict { border: 2px solid #555; margin: 1em; padding: 0 1em; }
</style>
<script>
function labkitToggle() {
  document.body.classList.toggle('labkit-hide-code');
  document.getElementById('labkit-toggle').textContent =
    document.body.classList.contains('labkit-hide-code') ? 'show code' : 'hide code';
}
</script>
"""


def sha256(path) -> str:
    """SHA-256 of a file, hex [64 characters].

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str

    References
    ----------
    FIPS 180-4 (SHA-256), via hashlib.

    Examples
    --------
    >>> from labkit import data
    >>> len(sha256(data.path("freeswitch_log_seed")))
    64
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_notebook(name) -> Path:
    """A notebook by path, file name, stem or number ("04", "04_codec_negotiation").

    Parameters
    ----------
    name : str or Path

    Returns
    -------
    Path

    Raises
    ------
    LabkitError
        When no notebook matches (the message lists them).

    References
    ----------
    DESIGN.md: notebooks/ holds the guided notebooks, ``NN_topic.ipynb``.

    Examples
    --------
    >>> find_notebook("04").name if NOTEBOOK_DIR.is_dir() else "04_codec_negotiation.ipynb"
    '04_codec_negotiation.ipynb'
    """
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    found = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb")
                   if p.stem == str(name) or p.name == str(name) or p.stem.split("_")[0] == str(name))
    if len(found) != 1:
        names = ", ".join(p.stem for p in sorted(NOTEBOOK_DIR.glob("*.ipynb"))) or "none"
        raise LabkitError(f"no notebook named {name!r}", str(NOTEBOOK_DIR),
                          f"give a .ipynb path or one of: {names}")
    return found[0]


def parse_values(pairs) -> dict:
    """``[(NAME, TEXT), ...]`` from ``-p NAME VALUE`` to {NAME: value}: Python literals
    (None, numbers, lists, quoted strings) are read as such, anything else stays text.

    Parameters
    ----------
    pairs : iterable of (str, str)

    Returns
    -------
    dict

    References
    ----------
    papermill's ``-p`` option (values typed like YAML scalars); here ast.literal_eval.

    Examples
    --------
    >>> parse_values([("CAPTURE", "my.pcap"), ("MODE", "None"), ("N", "3")])
    {'CAPTURE': 'my.pcap', 'MODE': None, 'N': 3}
    """
    out = {}
    for name, text in pairs:
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def verdict_cells(cells) -> list:
    """The cells of the notebook's verdict section (last heading "Verdict(s)", "Answer" or
    "The answer", up to the next heading), else of its last section.

    Parameters
    ----------
    cells : list of nbformat cells

    Returns
    -------
    list
        Copies of the cells.

    References
    ----------
    The house rule: every notebook ends with (or leads with) a clear answer.

    Examples
    --------
    >>> cells = [{"cell_type": "markdown", "source": "## Data"},
    ...          {"cell_type": "markdown", "source": "## Verdict"},
    ...          {"cell_type": "code", "source": "print(1)"}]
    >>> [c["source"] for c in verdict_cells(cells)]
    ['## Verdict', 'print(1)']
    >>> cells[1]["source"] = "Shell commands above." + chr(10) + "## 7. The verdict"
    >>> len(verdict_cells(cells))
    2
    """
    heads = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
             and re.search(r"^#", "".join(c["source"]), re.M)]
    chosen = [i for i in heads if _VERDICT.search("".join(cells[i]["source"]))]
    start = chosen[-1] if chosen else (heads[-1] if heads else len(cells))
    end = next((i for i in heads if i > start), len(cells))
    return [copy.deepcopy(c) for c in cells[start:end]]


def _inputs(parameters: dict) -> list[Path]:
    files = []
    for value in parameters.values():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, (str, Path)) and Path(v).is_file():
                files.append(Path(v))
    return files


def _folders(parameters: dict) -> list:
    out = []
    for value in parameters.values():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, (str, Path)) and Path(v).is_dir():
                out.append((Path(v), sum(1 for f in Path(v).rglob("*") if f.is_file())))
    return out


def _footer(notebook: Path, parameters: dict) -> str:
    from labkit import __version__
    rows = [f"labkit {html.escape(__version__)}, notebook {html.escape(notebook.name)}"]
    files = _inputs(parameters)
    rows += [f"input {html.escape(p.name)} sha256 {sha256(p)}" for p in files]
    folders = _folders(parameters)
    rows += [f"input folder {html.escape(p.name)}/ ({n} files, not hashed)" for p, n in folders]
    if not files and not folders:
        rows.append("input: the notebook's bundled defaults")
    return '<div class="labkit-footer">' + "<br>".join(rows) + "</div>"


def _execute(notebook: Path, parameters: dict, progress: bool, timeout: int):
    import logging

    import nbformat
    import papermill
    # papermill warns about parameter lines it cannot parse (comments) and calls injected
    # names "unknown" then; the names were checked against the cell already.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / notebook.name
        try:
            papermill.execute_notebook(str(notebook), str(out), parameters=parameters,
                                       cwd=str(notebook.parent), progress_bar=progress,
                                       execution_timeout=timeout, log_output=False)
        except papermill.PapermillExecutionError as exc:
            raise LabkitError(f"the notebook failed in cell {exc.exec_count}: {exc.ename}: "
                              f"{exc.evalue}", notebook.name,
                              "check the input file; run the notebook in JupyterLab to see "
                              "the cell") from None
        return nbformat.read(out, as_version=4)


def _html(nb, notebook: Path, parameters: dict) -> str:
    import nbformat
    from nbconvert import HTMLExporter
    top = verdict_cells(nb.cells)
    for c in top:
        c.setdefault("metadata", {})["labkit_verdict"] = True
        c["id"] = (str(c.get("id") or "cell")[:55] + "-verdict")
    first = next((i for i, c in enumerate(nb.cells) if c["cell_type"] == "markdown"), -1)
    nb.cells[first + 1:first + 1] = [nbformat.from_dict(c) for c in top]
    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    exporter.widget_renderer_url = ""
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<link[^>]*href="https?://[^"]*"[^>]*>', "", body)
    body = re.sub(r'<script[^>]*src=""[^>]*>\s*</script>', "", body)
    body = body.replace("</head>", _HIDE_CODE + "</head>", 1)
    body = re.sub(r"<body([^>]*)>", r'<body\1 data-labkit="report">', body, count=1)
    body = body.replace('data-labkit="report">', 'data-labkit="report"><button id="labkit-'
                        'toggle" onclick="labkitToggle()">show code</button>', 1)
    body = body.replace("<body", '<body onload="document.body.classList.add(\'labkit-hide-code\')"', 1)
    return body.replace("</body>", _footer(notebook, parameters) + "</body>", 1)


def build_report(notebook, capture=None, parameters: dict | None = None, output="report.html",
                 *, progress: bool = True, timeout: int = 900) -> Path:
    """Execute `notebook` on `capture` (and other parameters) and write one HTML file.

    Parameters
    ----------
    notebook : str or Path
        A notebook (see :func:`find_notebook`).
    capture : str or Path, optional
        The user's capture, passed as ``CAPTURE``.
    parameters : dict, optional
        Other parameters by name (``{"LOG": "freeswitch.log"}``).
    output : str or Path
        The HTML file to write.
    progress : bool
        Show papermill's tqdm progress bar (on stderr).
    timeout : int
        Per-cell execution timeout [s].

    Returns
    -------
    Path
        `output`.

    Raises
    ------
    labkit.notebook.ParameterError
        For a parameter the notebook does not declare (before anything runs).
    LabkitError
        When an input file is missing or a cell fails.

    References
    ----------
    papermill "Parameterize" and "Execute"; nbconvert HTMLExporter (lab template).

    Examples
    --------
    >>> build_report("04", parameters={"CAPTURES": "x.pcap"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    labkit.notebook.ParameterError: 04_codec_negotiation: unknown parameter CAPTURES (did you mean CAPTURE?)...
    """
    path = find_notebook(notebook)
    params = dict(parameters or {})
    if capture is not None:
        params["CAPTURE"] = str(capture)
    declared = list(notebook_parameters(path))
    check_parameters(params, declared, where=path.stem)
    missing = [k for k, v in params.items() if k not in declared]
    if missing:  # lower-case names pass check_parameters' heuristic; a report refuses them
        check_parameters({k.upper(): v for k, v in params.items()}, declared, where=path.stem)
    for p in _inputs_missing(params):
        raise LabkitError("input file not found", str(p), "give an existing file")
    params = {k: (str(Path(v).resolve()) if isinstance(v, str) and Path(v).is_file() else v)
              for k, v in params.items()}
    nb = _execute(path, params, progress, timeout)
    out = Path(output)
    out.write_text(_html(nb, path, params), encoding="utf-8")
    return out


def _inputs_missing(params: dict) -> list[Path]:
    out = []
    for name, value in params.items():
        if name in ("CAPTURE", "CAPTURES", "LOG", "CONFIG") and isinstance(value, str) and value:
            if not Path(value).exists():
                out.append(Path(value))
    return out
