"""TP3's public training checks are light enough for ``grader check`` (issue 23) and still fail a
fit that does not train: the reference gets full credit; an untrained model and one trained with
its labels shuffled get none. The hidden checks keep the full data and targets.

The module's name carries ``tp3`` because tests/tp1 and tests/tp2 hold modules of similar names
(pytest's prepend import mode needs unique basenames).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import load_assignment, load_course
from grader.engine.plugin import run_on_module
from grader.engine.reference import load_reference
from grader.results import CheckResult
from grader.sandbox.base import Limits

REPO = Path(__file__).parents[2]
REFERENCE = REPO / "reference_solutions" / "tp3" / "tp3.py"
TRAINING = frozenset({"fit_cnn", "fit_seq_regressor"})

# Appended to the reference: its own model classes, trained wrong.
UNTRAINED = '''

def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    return SmallCNN().to(device).eval()


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    return SeqRegressor().to(device).eval()
'''
SHUFFLED_LABELS = '''

_fit_cnn, _fit_seq_regressor = fit_cnn, fit_seq_regressor


def fit_cnn(X, y, *, seed=0, device="cpu"):
    return _fit_cnn(X, np.random.default_rng(1).permutation(y), seed=seed, device=device)


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    order = np.random.default_rng(1).permutation(len(Y))
    return _fit_seq_regressor(X, Y[order], seed=seed, device=device)
'''
# Tells the check how much data it handed over, without training.
SAYS_HOW_MUCH = '''
def fit_cnn(X, y, *, seed=0, device="cpu"):
    raise ValueError(f"recibí {len(X)} ejemplos")


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    raise ValueError(f"recibí {len(X)} ejemplos")
'''


def training_checks(source: str, folder: Path, visibility: str = "public") -> dict[str, CheckResult]:
    """The training checks of ``visibility`` run in process on ``source``, by exercise."""
    course = load_course(REPO / "course.toml")
    entry = course.tp("tp3")
    assignment = load_assignment(entry.assignment)
    module = folder / "tp3.py"
    module.write_text(source, encoding="utf-8")
    files = assignment.public_checks if visibility == "public" else assignment.hidden_checks
    run = run_on_module(assignment, module, load_reference(entry.reference, assignment.module),
                        list(files), backend=None, exercises=TRAINING, seed_key=course.name,
                        limits=Limits.from_mapping(assignment.limits, where="assignment.toml"))
    checks = {c.exercise: c for c in run.checks}
    assert set(checks) == TRAINING, run.load_error
    return checks


def test_the_public_training_checks_train_on_400_examples(tmp_path):
    checks = training_checks(SAYS_HOW_MUCH, tmp_path)
    assert {name: "recibí 400 ejemplos" in c.message for name, c in checks.items()} == {
        "fit_cnn": True, "fit_seq_regressor": True}


def test_the_hidden_training_checks_keep_the_full_data(tmp_path):
    checks = training_checks(SAYS_HOW_MUCH, tmp_path, visibility="hidden")
    assert {name: c.status.value for name, c in checks.items()} == {
        "fit_cnn": "ERROR", "fit_seq_regressor": "ERROR"}
    assert "recibí 1300 ejemplos" in checks["fit_cnn"].message
    assert "recibí 2000 ejemplos" in checks["fit_seq_regressor"].message


@pytest.mark.slow
def test_the_reference_gets_full_credit_on_the_public_training_checks(tmp_path):
    checks = training_checks(REFERENCE.read_text(encoding="utf-8"), tmp_path)
    assert {name: (c.status.value, c.credit) for name, c in checks.items()} == {
        "fit_cnn": ("PASS", 1.0), "fit_seq_regressor": ("PASS", 1.0)}
    assert "entrenando con 400" in checks["fit_cnn"].message
    assert "predecir siempre el promedio" in checks["fit_seq_regressor"].message


@pytest.mark.slow
@pytest.mark.parametrize("broken", [UNTRAINED, SHUFFLED_LABELS], ids=["untrained", "shuffled"])
def test_a_fit_that_does_not_train_gets_nothing_on_the_public_training_checks(tmp_path, broken):
    checks = training_checks(REFERENCE.read_text(encoding="utf-8") + broken, tmp_path)
    assert {name: (c.status.value, c.credit) for name, c in checks.items()} == {
        "fit_cnn": ("FAIL", 0.0), "fit_seq_regressor": ("FAIL", 0.0)}
