"""Short exercises at the end of each notebook, and the one checker that marks them.

A trainer's notebook ends with two or three questions on a second bundled capture; the
trainee types an answer and calls :func:`check`, which says whether it is right and why.
The right answers are not printed in the notebooks. Each analysis subpackage keeps its
exercises in its ``exercises`` module and registers them with :func:`register_exercise`
(as checks are registered for the doctor); :func:`exercises` imports every such module.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from typing import Callable

from labkit.errors import LabkitError

__all__ = ["Exercise", "Marked", "register_exercise", "exercises", "check"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: the question, the bundled capture it uses, how to mark an answer.

    ``accepts(answer) -> bool`` decides; ``why`` explains the right answer (shown with
    the mark, after the trainee has answered); ``hint`` is shown when the answer is wrong.
    """

    name: str
    notebook: str
    question: str
    capture: str
    accepts: Callable
    why: str
    hint: str = ""


@dataclass(frozen=True)
class Marked:
    """The mark of one answer: right or not, and the explanation to show."""

    name: str
    right: bool
    message: str

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return ("**Right.** " if self.right else "**Not yet.** ") + self.message


_REGISTRY: dict[str, Exercise] = {}


def register_exercise(exercise: Exercise) -> Exercise:
    """Add `exercise` to the registry (its name must be new); return it.

    Parameters
    ----------
    exercise : Exercise

    Returns
    -------
    Exercise
        The same object, so that a module can keep it under a name.

    References
    ----------
    The one registry, as :func:`labkit.findings.register_check` for the doctor.

    Examples
    --------
    >>> e = register_exercise(Exercise("doc.demo", "00_start_here", "1+1?", "ringback_amrwb",
    ...                                lambda a: int(a) == 2, "1+1 is 2."))
    >>> check("doc.demo", 2).right, check("doc.demo", 3).right
    (True, False)
    >>> _ = _REGISTRY.pop("doc.demo")
    """
    if exercise.name in _REGISTRY and _REGISTRY[exercise.name] != exercise:
        raise ValueError(f"exercise {exercise.name!r} is registered twice")
    _REGISTRY[exercise.name] = exercise
    return exercise


def exercises(notebook: str | None = None) -> list[Exercise]:
    """Every registered exercise (of one notebook when given), by notebook then name.

    Parameters
    ----------
    notebook : str, optional
        A notebook's file stem, e.g. ``"01_ringback_amr_playback"``.

    Returns
    -------
    list of Exercise

    References
    ----------
    Each ``labkit/<subpackage>/exercises.py`` registers its own.

    Examples
    --------
    >>> all(e.question for e in exercises())
    True
    """
    import labkit
    for info in pkgutil.iter_modules(labkit.__path__):
        if info.ispkg and importlib.util.find_spec(f"labkit.{info.name}.exercises") is not None:
            importlib.import_module(f"labkit.{info.name}.exercises")
    found = [e for e in _REGISTRY.values() if notebook in (None, e.notebook)]
    return sorted(found, key=lambda e: (e.notebook, e.name))


def check(name: str, answer) -> Marked:
    """Mark `answer` to the exercise `name`.

    Parameters
    ----------
    name : str
        The exercise's name, as the notebook's exercise cell gives it.
    answer : object
        The trainee's answer (text, number, ...; each exercise says which).

    Returns
    -------
    Marked
        Prints as the verdict and the explanation.

    Raises
    ------
    LabkitError
        When no exercise has that name (the message lists the names).

    References
    ----------
    Each exercise's ``why`` cites the clause its answer rests on.

    Examples
    --------
    >>> e = register_exercise(Exercise("doc.demo2", "00_start_here", "Port of SIP?", "ringback_amrwb",
    ...                                lambda a: int(a) == 5060, "RFC 3261 19.1.2: 5060."))
    >>> print(check("doc.demo2", "5060"))
    Right. RFC 3261 19.1.2: 5060.
    >>> _ = _REGISTRY.pop("doc.demo2")
    """
    known = {e.name: e for e in exercises()}
    if name not in known:
        raise LabkitError(f"no exercise named {name!r}",
                          fix="names: " + ", ".join(sorted(known)))
    ex = known[name]
    try:
        right = bool(ex.accepts(answer))
    except (TypeError, ValueError):
        right = False
    if right:
        return Marked(name, True, f"Right. {ex.why}")
    return Marked(name, False, "Not yet. " + (ex.hint or "Look again at the table above."))
