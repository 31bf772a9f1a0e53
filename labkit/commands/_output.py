"""The one JSON writer of the command line (DESIGN.md principle 9: every command has
``--json`` with the same facts as its text).

:func:`jsonable` turns what analysis functions return (numpy scalars and arrays,
pandas missing values, bytes, paths, tuples, DataFrames) into plain JSON values;
:func:`print_json` writes a document to stdout. Missing values become ``null`` (never
the non-standard ``NaN``), bytes become hex strings.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import PurePath

__all__ = ["jsonable", "records", "print_json"]


def jsonable(value):
    """`value` as plain JSON data (dict, list, str, int, float, bool or None).

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": np.int64(3), "b": float("nan"), "c": b"\\x01\\xff", "d": (1, 2)})
    {'a': 3, 'b': None, 'c': '01ff', 'd': [1, 2]}

    Parameters
    ----------
    value : object
        Anything an analysis function returns.

    Returns
    -------
    object
        dict, list, str, int, float, bool or None.

    References
    ----------
    RFC 8259 (JSON: no NaN or Infinity); DESIGN.md principle 9.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        return records(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if _is_missing(value):
        return None
    return str(value)


def _is_missing(value) -> bool:
    try:
        import pandas as pd
    except ImportError:  # the lean command paths run without pandas
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def records(table) -> list[dict]:
    """The rows of a DataFrame as JSON-ready dicts, in order.

    Parameters
    ----------
    table : pandas.DataFrame

    Returns
    -------
    list of dict

    References
    ----------
    DESIGN.md principle 9.

    Examples
    --------
    >>> import pandas as pd
    >>> records(pd.DataFrame({"a": [1, None]}))
    [{'a': 1.0}, {'a': None}]
    """
    return [jsonable(r) for r in table.to_dict("records")]


def print_json(doc, *, indent: int = 1) -> None:
    """Write `doc` (anything :func:`jsonable` takes) to stdout as JSON.

    Parameters
    ----------
    doc : object
        The document.
    indent : int
        Spaces per level.

    Returns
    -------
    None

    References
    ----------
    RFC 8259; DESIGN.md principle 9.

    Examples
    --------
    >>> print_json({"n": 1})
    {
     "n": 1
    }
    """
    json.dump(jsonable(doc), sys.stdout, indent=indent, ensure_ascii=False, allow_nan=False)
    sys.stdout.write("\n")
