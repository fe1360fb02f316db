"""Hidden checks draw each student's own inputs, keyed by the course secret; a regrade draws the
same ones. Answers hard-coded for the public inputs (or a classmate's) do not carry over."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.course import load_course
from grader.engine.grade import fingerprint, grade_submission

DRAWS = '''
import pytest

@pytest.mark.exercise("lin", weight=1)
def test_draw(student, rng):
    pytest.fail(f"draw={rng.integers(10**12)}")
'''


@pytest.fixture
def drawing_course(mini_course: Path) -> Path:
    assignment = mini_course / "assignment"
    (assignment / "public" / "test_public.py").write_text(DRAWS)
    (assignment / "hidden" / "test_hidden.py").write_text(DRAWS)
    return mini_course


def draws(course_dir: Path, student: str) -> dict[str, str]:
    course = load_course(course_dir / "course.toml")
    result = grade_submission(course, "tp1", course_dir / "students" / "passes_all.py",
                              student=student, backend="inprocess")
    return {c.id.split("::")[0]: re.sub(r".*draw=(\d+).*", r"\1", c.message, flags=re.S)
            for c in result.checks}


def test_hidden_inputs_differ_per_student_and_repeat_on_regrade(drawing_course, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "s3cret")
    ana, bruno, ana_again = (draws(drawing_course, s) for s in ("ana", "bruno", "ana"))
    assert ana["public"] == bruno["public"], "public inputs are the ones students see locally"
    assert ana["hidden"] != bruno["hidden"]
    assert ana == ana_again
    monkeypatch.setenv("GRADER_SECRET", "another")
    assert draws(drawing_course, "ana")["hidden"] != ana["hidden"]


def test_changing_the_secret_changes_the_fingerprint(drawing_course, monkeypatch):
    course = load_course(drawing_course / "course.toml")
    monkeypatch.setenv("GRADER_SECRET", "one")
    first = fingerprint(course, course.tp("tp1"))
    monkeypatch.setenv("GRADER_SECRET", "two")
    assert fingerprint(course, course.tp("tp1")) != first
