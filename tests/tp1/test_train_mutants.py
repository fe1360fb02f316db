"""What TP1's mutants show about ``train`` beyond losing their exercises (tests/test_mutants.py).

The batch (tests/mutant_batches.py) grades every mutant of ``tests/tp1/mutants.py`` and a
``train`` that sets weights fitted offline to the public digits instead of training (issue 15).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mutant_batches import lost, mutants  # tests/ is on sys.path (prepend import mode)
from mutants import OFFLINE  # tests/tp1 is on sys.path (pytest prepend import mode)

from grader import results

pytestmark = pytest.mark.slow
MUTANTS = mutants("tp1")


@pytest.fixture(scope="module")
def graded(graded_mutants) -> Path:
    return graded_mutants("tp1")


def update_rule_checks(graded: Path, name: str) -> dict[str, str]:
    """Status of ``train``'s checks that give the model the synthetic loss."""
    result = results.load(graded / f"{name}.json")
    return {c.id: c.status.value for c in result.checks
            if c.id.startswith(("hidden::test_train_full_batch_steps_apply_named_rule_in_place",
                                "hidden::test_train_shuffles_with_its_seed"))}


@pytest.mark.parametrize("name", sorted(
    n for n, m in MUTANTS.items() if "mlp" in m.loses and not n.endswith("train_does_nothing")))
def test_a_wrong_mlp_loss_with_a_correct_train_passes_every_update_rule_check(graded, name):
    # The update-rule checks replace MLP.loss with the synthetic loss; only the learning checks
    # (digits, history, nonlinear problem) can charge train for a wrong MLP.loss.
    checks = update_rule_checks(graded, name)
    assert list(checks.values()) == ["PASS"] * 5, checks


def test_a_wrong_mlp_gradient_that_still_learns_costs_mlp_only(graded):
    # Without the ReLU mask in the backward pass the gradients are wrong (mlp fails against
    # finite differences), yet Adam still learns digits: train keeps all its points.
    name = "fails_mlp_backward_skips_activation"
    exercises, failures = lost(graded, name)
    assert exercises == ["mlp"], failures
    assert all(c.status.value == "PASS" for c in results.load(graded / f"{name}.json").checks
               if c.exercise == "train")


def test_zero_grads_and_a_train_that_does_not_update_fail_every_step_check(graded):
    # Before issue 15 the expected steps came from the student's own MLP.loss: zero gradients
    # made "no update" the expected result for all four rules.
    checks = update_rule_checks(graded, "fails_mlp_zero_grads_and_train_does_nothing")
    steps = [v for k, v in checks.items() if "full_batch_steps" in k]
    assert steps == ["FAIL"] * 4, checks


def test_a_train_that_sets_weights_fitted_offline_fails_the_digits_check(graded):
    exercises, failures = lost(graded, OFFLINE)
    assert exercises == ["train"], failures
    failed = [c.id for c in results.load(graded / f"{OFFLINE}.json").checks
              if c.status.value != "PASS"]
    assert failed == ["hidden::test_train_learns_digits_drawn_for_this_student"], failures
