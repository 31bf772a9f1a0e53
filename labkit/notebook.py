"""Notebook parameters: one naming across the suite, and unknown names refused.

Every notebook's first code cell is tagged ``parameters`` (papermill) and assigns the
suite's names (DESIGN.md principle 6: ``CAPTURE``, ``CAPTURES``, ``CONFIG``, ``LOG``
where they mean the same thing). Papermill injects the caller's values in a cell after
it and, by itself, accepts any name: ``-p CAPTURE my.pcap`` on a notebook that reads
``CAPTURES`` would run to the end on the bundled sample, a wrong answer with no warning.
:func:`check_parameters`, called in the cell after the parameters, refuses such names;
:func:`notebook_parameters` reads a notebook's declared names for ``labkit report``.
"""
from __future__ import annotations

import ast
import difflib
import json
from pathlib import Path

from labkit.errors import LabkitError

__all__ = ["ParameterError", "notebook_parameters", "check_parameters", "SUITE_NAMES"]

SUITE_NAMES = ("CAPTURE", "CAPTURES", "CONFIG", "LOG")
_IPYTHON_NAMES = {"In", "Out"}


class ParameterError(LabkitError):
    """A notebook parameter that the notebook does not declare."""


def notebook_parameters(notebook) -> dict:
    """The names and default values of a notebook's ``parameters`` cell.

    Parameters
    ----------
    notebook : str or Path
        An ``.ipynb`` file.

    Returns
    -------
    dict
        {name: default source text}, in the order of the cell.

    Raises
    ------
    ParameterError
        When the notebook has no cell tagged ``parameters``.

    References
    ----------
    papermill, "Parameterize" (the ``parameters`` tag); DESIGN.md principle 6.

    Examples
    --------
    >>> from pathlib import Path
    >>> nb = Path(__file__).parents[1] / "notebooks" / "01_ringback_amr_playback.ipynb"
    >>> "CAPTURE" in notebook_parameters(nb) if nb.exists() else True
    True
    """
    path = Path(notebook)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return _assigned("".join(cell["source"]))
    raise ParameterError("no cell tagged 'parameters'", where=path.name,
                         fix="tag the first code cell 'parameters' (papermill)")


def _assigned(source: str) -> dict:
    names = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    names[t.id] = ast.get_source_segment(source, node.value) if node.value else ""
    return names


def check_parameters(namespace: dict, declared, *, where: str = "this notebook") -> None:
    """Refuse injected parameters that the notebook does not declare.

    Call it in the cell after the ``parameters`` cell, before anything else defines
    names. A name counts as a parameter when it is UPPERCASE, or when it differs from a
    declared name only in case (papermill keeps the caller's spelling).

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()``.
    declared : str or iterable of str
        The names the parameters cell assigns (a space-separated string is accepted);
        a test checks that this list equals the cell.
    where : str
        The notebook's name, for the message.

    Returns
    -------
    None
        Returns quietly when every parameter is declared.

    Raises
    ------
    ParameterError
        Naming each unknown parameter, the closest declared name, and the full list.

    References
    ----------
    papermill, "Parameterize": injected parameters go in a cell after the one tagged
    ``parameters``.

    Examples
    --------
    >>> check_parameters({"CAPTURE": "x.pcap"}, "CAPTURE LOG")
    >>> check_parameters({"CAPTURES": ["x.pcap"]}, "CAPTURE LOG")
    Traceback (most recent call last):
    ...
    labkit.notebook.ParameterError: this notebook: unknown parameter CAPTURES (did you mean CAPTURE?). It takes: CAPTURE, LOG
    """
    names = declared.split() if isinstance(declared, str) else list(declared)
    upper = {n.upper(): n for n in names}
    unknown = sorted(k for k in namespace
                     if not k.startswith("_") and k not in _IPYTHON_NAMES and k not in names
                     and (k.isupper() or k.upper() in upper))
    if unknown:
        parts = []
        for k in unknown:
            close = difflib.get_close_matches(k.upper(), list(upper), n=1, cutoff=0.6)
            parts.append(f"{k} (did you mean {upper[close[0]]}?)" if close else k)
        raise ParameterError(f"unknown parameter{'s' if len(parts) > 1 else ''} "
                             + ", ".join(parts), where=where,
                             fix="It takes: " + ", ".join(names))
