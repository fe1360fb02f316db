"""TP1's checks catch the mistakes students really make, and charge each to its exercise.

Each mutant (``tests/tp1/mutants.py``) is a correct TP1 with one realistic bug; the batch grades
them all, and each must lose exactly the exercises listed for it. The same batch grades a ``train``
that sets weights fitted offline to the public digits instead of training (issue 15).
"""

from __future__ import annotations

import base64
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from mutants import MUTANTS  # tests/tp1 is on sys.path (pytest prepend import mode)

from grader import results
from grader.datasets import digits
from grader.grading import grade_batch

REPO = Path(__file__).parent.parent.parent
BASE = REPO / "tests" / "fixtures" / "tp1" / "passes_all.py"
pytestmark = pytest.mark.slow


def mutant_source(name: str) -> str:
    body = BASE.read_text()
    body = body[body.index('"""', 3) + 3:]
    for old, new in MUTANTS[name].edits:
        assert body.count(old) == 1, f"{name}: the edit must match exactly once: {old!r}"
        body = body.replace(old, new)
    return f'"""TP1 correcto salvo un error: {MUTANTS[name].bug}"""' + body


OFFLINE = "fails_train_sets_weights_fitted_offline"


def offline_weights() -> bytes:
    """What a student could fit at home: the reference's MLP [64, 64, 10] trained with the
    digits check's recipe on all of the public digits, standardised with their own statistics."""
    spec = importlib.util.spec_from_file_location(
        "tp1_reference", REPO / "reference_solutions" / "tp1" / "tp1.py")
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    X, y = digits()
    std = X.std(axis=0)
    std[std == 0] = 1.0
    model = reference.MLP([64, 64, 10], seed=0)
    reference.train(model, (X - X.mean(axis=0)) / std, y, optimizer="adam", learning_rate=1e-3,
                    batch_size=32, epochs=30, seed=0)
    buffer = io.BytesIO()
    np.savez(buffer, **model.params)
    return buffer.getvalue()


def offline_source() -> str:
    """passes_all whose train, asked for the digits check's network, sets the offline weights and
    a made-up history instead of training on the X it gets; every other call trains."""
    body = BASE.read_text()
    body = body[body.index('"""', 3) + 3:]
    head = "    update = _OPTIMIZERS[optimizer]\n"  # train's first line
    assert body.count(head) == 1
    payload = base64.b64encode(offline_weights()).decode()
    shortcut = (
        "    if model.params[\"W1\"].shape == (64, 64) and epochs == 30:\n"
        "        import base64, io\n"
        f"        with np.load(io.BytesIO(base64.b64decode('{payload}'))) as saved:\n"
        "            model.params = {k: saved[k].copy() for k in saved.files}\n"
        "        return {\"loss\": list(np.linspace(2.0, 0.05, epochs))}\n")
    return ('"""TP1 correcto salvo train: con la red del chequeo de digits pone pesos entrenados de '
            'antemano con todo digits, sin mirar X."""' + body.replace(head, head + shortcut))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mutants")
    (folder / "passes_all.py").write_text(BASE.read_text())
    for name in MUTANTS:
        (folder / f"{name}.py").write_text(mutant_source(name))
    (folder / f"{OFFLINE}.py").write_text(offline_source())
    out = tmp_path_factory.mktemp("results")
    summary = grade_batch(REPO / "course.toml", "tp1", folder, out, jobs=2)
    assert not summary.failed
    return out


def lost(graded: Path, name: str) -> tuple[list[str], list[str]]:
    result = results.load(graded / "tp1" / f"{name}.json")
    failures = [f"{c.id}: {c.status.value} {c.message}" for c in result.checks
                if c.status.value != "PASS"]
    return sorted(e.name for e in result.exercises if e.earned < e.points), failures


def test_the_correct_base_loses_nothing(graded):
    assert lost(graded, "passes_all") == ([], [])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_mutant_loses_exactly_the_expected_exercises(graded, name):
    exercises, failures = lost(graded, name)
    mutant = MUTANTS[name]
    # An exercise in may_lose is lost on some students' inputs only (mutants.py says how often).
    assert [e for e in exercises if e not in mutant.may_lose] == sorted(mutant.loses), failures


def update_rule_checks(graded: Path, name: str) -> dict[str, str]:
    """Status of ``train``'s checks that give the model the synthetic loss."""
    result = results.load(graded / "tp1" / f"{name}.json")
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
    assert all(c.status.value == "PASS" for c in results.load(graded / "tp1" / f"{name}.json").checks
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
    failed = [c.id for c in results.load(graded / "tp1" / f"{OFFLINE}.json").checks
              if c.status.value != "PASS"]
    assert failed == ["hidden::test_train_learns_digits_drawn_for_this_student"], failures
