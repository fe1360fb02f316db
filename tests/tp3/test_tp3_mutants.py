"""TP3's checks catch the mistakes students really make, and charge each to its exercise.

Each mutant (``tests/tp3/tp3_mutants.py``) is a correct TP3 with one realistic bug; the batch
grades them all, and each must lose exactly the exercises listed for it. The files are named
``test_tp3_*`` because tests/tp1 and tests/tp2 hold modules of the same basenames (pytest's
prepend import mode needs unique ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tp3_mutants import MUTANTS  # tests/tp3 is on sys.path (pytest prepend import mode)

from grader import results
from grader.grading import grade_batch

REPO = Path(__file__).parent.parent.parent
BASE = REPO / "tests" / "fixtures" / "tp3" / "passes_all.py"
pytestmark = pytest.mark.slow


def mutant_source(name: str) -> str:
    body = BASE.read_text()
    body = body[body.index('"""', 3) + 3:]
    for old, new in MUTANTS[name].edits:
        assert body.count(old) == 1, f"{name}: the edit must match exactly once: {old!r}"
        body = body.replace(old, new)
    return f'"""TP3 correcto salvo un error: {MUTANTS[name].bug}"""' + body


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mutants")
    (folder / "passes_all.py").write_text(BASE.read_text())
    for name in MUTANTS:
        (folder / f"{name}.py").write_text(mutant_source(name))
    out = tmp_path_factory.mktemp("results")
    summary = grade_batch(REPO / "course.toml", "tp3", folder, out, jobs=2)
    assert not summary.failed
    return out


def lost(graded: Path, name: str) -> tuple[list[str], list[str]]:
    result = results.load(graded / "tp3" / f"{name}.json")
    failures = [f"{c.id}: {c.status.value} {c.message}" for c in result.checks
                if c.status.value != "PASS"]
    return sorted(e.name for e in result.exercises if e.earned < e.points), failures


def test_the_correct_base_loses_nothing(graded):
    assert lost(graded, "passes_all") == ([], [])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_mutant_loses_exactly_the_expected_exercises(graded, name):
    exercises, failures = lost(graded, name)
    assert exercises == sorted(MUTANTS[name].loses), failures


def test_a_numpy_exercise_that_calls_torch_or_scipy_says_why(graded):
    for name, exercise, library in (("fails_conv_uses_torch", "conv", "torch"),
                                    ("fails_attention_uses_scipy_softmax", "attention", "scipy")):
        result = results.load(graded / "tp3" / f"{name}.json")
        messages = {c.message for c in result.checks if c.exercise == exercise}
        assert messages and all("solo con numpy" in m and library in m for m in messages), messages


def test_a_softmax_at_the_end_of_the_cnn_is_caught_by_the_logits_check(graded):
    result = results.load(graded / "tp3" / "fails_small_cnn_softmax_output.json")
    own = [c for c in result.checks if c.exercise == "small_cnn" and c.status.value != "PASS"]
    assert own and all("probabilidades" in c.message for c in own)
    # Training through the softmax still learns: the accuracy checks give partial credit.
    trained = [c for c in result.checks if c.exercise == "fit_cnn"]
    assert trained and all(c.status.value in ("PASS", "PARTIAL") for c in trained)
    assert sum(c.points for c in trained) > 0


def test_a_partly_trained_model_earns_partial_credit(graded):
    result = results.load(graded / "tp3" / "fails_small_cnn_softmax_output.json")
    (fit_cnn,) = [e for e in result.exercises if e.name == "fit_cnn"]
    assert 0 < fit_cnn.earned < fit_cnn.points
