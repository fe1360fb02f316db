"""What TP3's mutants show beyond losing their exercises (tests/test_mutants.py): why a numpy
exercise that calls a library fails, and partial credit for a model that learns less.

The files are named ``test_tp3_*`` because tests/tp1 and tests/tp2 hold modules of the same
basenames (pytest's prepend import mode needs unique ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import results

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(graded_mutants) -> Path:
    return graded_mutants("tp3")


def test_a_numpy_exercise_that_calls_torch_or_scipy_says_why(graded):
    for name, exercise, library in (("fails_conv_uses_torch", "conv", "torch"),
                                    ("fails_attention_uses_scipy_softmax", "attention", "scipy")):
        result = results.load(graded / f"{name}.json")
        messages = {c.message for c in result.checks if c.exercise == exercise}
        assert messages and all("solo con numpy" in m and library in m for m in messages), messages


def test_a_softmax_at_the_end_of_the_cnn_is_caught_by_the_logits_check(graded):
    result = results.load(graded / "fails_small_cnn_softmax_output.json")
    own = [c for c in result.checks if c.exercise == "small_cnn" and c.status.value != "PASS"]
    assert own and all("probabilidades" in c.message for c in own)
    # Training through the softmax still learns: the accuracy checks give partial credit.
    trained = [c for c in result.checks if c.exercise == "fit_cnn"]
    assert trained and all(c.status.value in ("PASS", "PARTIAL") for c in trained)
    assert sum(c.points for c in trained) > 0


def test_a_partly_trained_model_earns_partial_credit(graded):
    result = results.load(graded / "fails_small_cnn_softmax_output.json")
    (fit_cnn,) = [e for e in result.exercises if e.name == "fit_cnn"]
    assert 0 < fit_cnn.earned < fit_cnn.points
