"""labkit.exercises: the registry and the marker (each notebook's own exercises are
tested next to the subpackage that registers them)."""
from __future__ import annotations

import pytest

from labkit import exercises as ex
from labkit.errors import LabkitError


@pytest.fixture
def two_plus_two():
    e = ex.Exercise(name="test.sum", notebook="99_test", question="2+2?", capture="none",
                    accepts=lambda a: int(a) == 4, why="2+2 is 4.", hint="Add them.")
    ex.register_exercise(e)
    yield e
    ex._REGISTRY.pop("test.sum")


def test_right_and_wrong_answers_are_marked(two_plus_two):
    assert ex.check("test.sum", "4") == ex.Marked("test.sum", True, "Right. 2+2 is 4.")
    assert ex.check("test.sum", 5) == ex.Marked("test.sum", False, "Not yet. Add them.")
    assert not ex.check("test.sum", "four").right       # unparseable is wrong, not a crash


def test_unknown_name_lists_the_names(two_plus_two):
    with pytest.raises(LabkitError, match="no exercise named 'nope'.*test.sum"):
        ex.check("nope", 1)


def test_a_second_exercise_with_the_same_name_is_refused(two_plus_two):
    other = ex.Exercise(name="test.sum", notebook="99_test", question="?", capture="none",
                        accepts=lambda a: True, why="")
    with pytest.raises(ValueError, match="registered twice"):
        ex.register_exercise(other)


def test_every_exercise_names_a_bundled_capture_and_a_notebook():
    from labkit import data
    from pathlib import Path
    notebooks = {p.stem for p in (Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")}
    for e in ex.exercises():
        assert e.notebook in notebooks, e.name
        assert data.path(e.capture).exists(), e.name
