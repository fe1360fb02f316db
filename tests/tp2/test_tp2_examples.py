"""Grading the example class's TP2 gives what examples/class/EXPECTED-tp2.md says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader import results

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow

EXPECTED_SCORES = {"ana_garcia": 10.0, "bruno_diaz": 10.0, "carla_lopez": 8.0,
                   "diego_martin": 9.0, "elena_ruiz": 9.0, "fede_gomez": 10.0}
EXPECTED_LOSSES = {"carla_lopez": {"batchnorm"}, "diego_martin": {"train_loop"},
                   "elena_ruiz": {"embedding"}}


@pytest.fixture(scope="module")
def graded(example_class) -> Path:
    return example_class("tp2") / "tp2"


def test_every_example_gets_its_expected_score(graded):
    scores = {s: results.load(graded / f"{s}.json").score for s in EXPECTED_SCORES}
    assert scores == EXPECTED_SCORES


@pytest.mark.parametrize("student", sorted(EXPECTED_SCORES))
def test_each_planted_bug_costs_exactly_its_exercise(graded, student):
    result = results.load(graded / f"{student}.json")
    lost = {e.name for e in result.exercises if e.earned < e.points}
    failures = [f"{c.id}: {c.status.value} {c.message}" for c in result.checks
                if c.status.value != "PASS"]
    assert lost == EXPECTED_LOSSES.get(student, set()), failures


def test_the_notebook_example_is_graded_like_a_module(graded):
    fede = results.load(graded / "fede_gomez.json")
    assert fede.submission_file == "fede_gomez.ipynb" and fede.score == 10.0


def test_the_notebook_is_what_its_generator_writes():
    run = subprocess.run([sys.executable, "examples/class/make_fede_tp2_notebook.py", "--check"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
