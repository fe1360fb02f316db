"""TP1's checks catch the mistakes students really make, and charge each to its exercise.

Each file in tests/fixtures/tp1/mutants is a correct TP1 with one realistic bug; EXPECTED.json
lists the exercises that must lose points (the bug's own, plus the student's MLP/train/xor when
the student's own code calls the buggy function). Every other exercise must keep full points.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader import results
from grader.grading import grade_batch

REPO = Path(__file__).parent.parent.parent
MUTANTS = REPO / "tests" / "fixtures" / "tp1" / "mutants"
EXPECTED: dict[str, list[str]] = json.loads((MUTANTS / "EXPECTED.json").read_text())
pytestmark = pytest.mark.slow


def test_every_mutant_file_has_an_expectation():
    assert sorted(p.name for p in MUTANTS.glob("*.py")) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mutants")
    for name in EXPECTED:
        shutil.copyfile(MUTANTS / name, folder / name)
    out = tmp_path_factory.mktemp("results")
    summary = grade_batch(REPO / "course.toml", "tp1", folder, out, jobs=2)
    assert not summary.failed
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_mutant_loses_exactly_the_expected_exercises(graded, name):
    result = results.load(graded / "tp1" / f"{Path(name).stem}.json")
    lost = sorted(e.name for e in result.exercises if e.earned < e.points)
    assert lost == sorted(EXPECTED[name]), [
        f"{c.id}: {c.status.value} {c.message}" for c in result.checks if c.status.value != "PASS"]
