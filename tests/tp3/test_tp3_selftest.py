"""TP3 is gradable: the reference scores 10, the untouched starter 0 (as .py and as .ipynb)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_course
from grader.student.release import selftest

REPO = Path(__file__).parent.parent.parent


@pytest.mark.slow
def test_reference_scores_ten_and_starter_scores_zero():
    outcomes = selftest(load_course(REPO / "course.toml"), "tp3")
    assert [(o.label, o.score) for o in outcomes] == [
        ("referencia", 10.0), ("enunciado tp3.py", 0.0), ("enunciado tp3.ipynb", 0.0)]
    assert all(o.ok and not o.failures for o in outcomes)


def test_the_notebook_is_generated_from_the_starter():
    run = subprocess.run([sys.executable, "assignments/tp3/starter/make_notebook.py", "--check"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_assignment_has_twenty_points_and_every_function_of_the_contract():
    from grader.course import load_assignment

    assignment = load_assignment(REPO / "assignments" / "tp3")
    assert sum(e.points for e in assignment.exercises) == 20
    functions = [f for e in assignment.exercises for f in e.functions]
    assert functions == [
        "conv2d_forward", "conv2d_backward", "maxpool2d_forward", "maxpool2d_backward",
        "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
        "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
        "scaled_dot_product_attention", "SmallCNN", "fit_cnn", "SeqRegressor",
        "fit_seq_regressor"]
    partial = {e.name for e in assignment.exercises if e.partial_credit}
    assert partial == {"fit_cnn", "fit_seq_regressor"}
    numpy_only = {f for e in assignment.exercises if e.numpy_only for f in e.functions}
    assert numpy_only == set(functions[:13])
