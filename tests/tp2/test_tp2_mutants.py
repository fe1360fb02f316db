"""TP2's checks catch the mistakes students really make, and charge each to its exercise.

Each mutant (``tests/tp2/tp2_mutants.py``) is a correct TP2 with one realistic bug; one batch
grades them all, and each must lose exactly the exercises listed for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tp2_mutants import MUTANTS  # tests/tp2 is on sys.path (pytest prepend import mode)

from grader import results
from grader.grading import grade_batch

REPO = Path(__file__).parent.parent.parent
BASE = REPO / "tests" / "fixtures" / "tp2" / "passes_all.py"
pytestmark = pytest.mark.slow


def mutant_source(name: str) -> str:
    body = BASE.read_text()
    body = body[body.index('"""', 3) + 3:]
    for old, new in MUTANTS[name].edits:
        assert body.count(old) == 1, f"{name}: the edit must match exactly once: {old!r}"
        body = body.replace(old, new)
    return f'"""TP2 correcto salvo un error: {MUTANTS[name].bug}"""' + body


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mutants")
    (folder / "passes_all.py").write_text(BASE.read_text())
    for name in MUTANTS:
        (folder / f"{name}.py").write_text(mutant_source(name))
    out = tmp_path_factory.mktemp("results")
    summary = grade_batch(REPO / "course.toml", "tp2", folder, out, jobs=2)
    assert not summary.failed
    return out


def lost(graded: Path, name: str) -> tuple[list[str], list[str]]:
    result = results.load(graded / "tp2" / f"{name}.json")
    failures = [f"{c.id}: {c.status.value} {c.message}" for c in result.checks
                if c.status.value != "PASS"]
    return sorted(e.name for e in result.exercises if e.earned < e.points), failures


def test_the_correct_base_loses_nothing(graded):
    assert lost(graded, "passes_all") == ([], [])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_mutant_loses_exactly_the_expected_exercises(graded, name):
    exercises, failures = lost(graded, name)
    assert exercises == sorted(MUTANTS[name].loses), failures
