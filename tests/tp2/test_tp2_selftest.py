"""TP2 is gradable: the reference scores 10, the untouched starter 0 (as .py and as .ipynb)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import load_course
from grader.student.release import selftest

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow


def test_reference_scores_ten_and_starter_scores_zero():
    outcomes = selftest(load_course(REPO / "course.toml"), "tp2")
    assert [(o.label, o.score) for o in outcomes] == [
        ("referencia", 10.0), ("enunciado tp2.py", 0.0), ("enunciado tp2.ipynb", 0.0)]
    assert all(o.ok and not o.failures for o in outcomes)
