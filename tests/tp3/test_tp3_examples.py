"""Grading the example class's TP3 (examples/class/tp3) gives what EXPECTED-tp3.md promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader import results

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow

EXPECTED_SCORES = {"ana_garcia": 10.0, "bruno_diaz": 10.0, "carla_lopez": 8.5,
                   "diego_martin": 9.0, "elena_ruiz": 9.5, "fede_gomez": 10.0}
EXPECTED_LOST = {"ana_garcia": set(), "bruno_diaz": set(), "carla_lopez": {"conv"},
                 "diego_martin": {"attention"}, "elena_ruiz": {"small_cnn"},
                 "fede_gomez": set()}


@pytest.fixture(scope="module")
def graded(example_class) -> Path:
    return example_class("tp3")


def _load(graded: Path, student: str):
    return results.load(graded / "tp3" / f"{student}.json")


def test_every_student_gets_the_expected_score(graded):
    assert {s: _load(graded, s).score for s in EXPECTED_SCORES} == EXPECTED_SCORES


def test_each_bug_costs_exactly_its_exercise(graded):
    for student, expected in EXPECTED_LOST.items():
        result = _load(graded, student)
        failures = [f"{c.id}: {c.message}" for c in result.checks if c.status.value != "PASS"]
        assert {e.name for e in result.exercises if e.earned < e.points} == expected, failures


def test_the_failures_say_what_is_wrong(graded):
    carla = [c.message for c in _load(graded, "carla_lopez").checks if c.exercise == "conv"]
    assert any("pad=0" in m and "dx tiene forma" in m for m in carla), carla
    elena = [c.message for c in _load(graded, "elena_ruiz").checks if c.status.value != "PASS"]
    assert elena and all("probabilidades" in m for m in elena), elena


def test_the_notebook_example_is_graded_like_a_module(graded):
    fede = _load(graded, "fede_gomez")
    assert fede.submission_file == "fede_gomez.ipynb" and fede.score == 10.0


def test_the_notebook_example_is_generated_from_its_script():
    run = subprocess.run([sys.executable, "examples/class/make_fede_tp3_notebook.py", "--check"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
