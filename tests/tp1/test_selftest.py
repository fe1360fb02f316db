"""TP1 is gradable: the reference scores 10, the untouched starter 0 (as .py and as .ipynb)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import load_course
from grader.results import Status
from grader.student.release import selftest

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow


def test_reference_scores_ten_and_starter_scores_zero():
    outcomes = selftest(load_course(REPO / "course.toml"), "tp1")
    assert [(o.label, o.score) for o in outcomes] == [
        ("referencia", 10.0), ("enunciado tp1.py", 0.0), ("enunciado tp1.ipynb", 0.0)]
    assert all(o.ok and not o.failures for o in outcomes)


def test_the_starter_fails_every_check_as_not_implemented():
    from grader.engine.grade import grade_submission

    course = load_course(REPO / "course.toml")
    result = grade_submission(course, "tp1", REPO / "assignments/tp1/starter/tp1.py",
                              student="enunciado")
    assert {c.status for c in result.checks} == {Status.ERROR}
    assert all("no está implementado" in c.message for c in result.checks)
