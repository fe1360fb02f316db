"""How the audit compares a probe's outcome on a mutant with the reference's
(grader.audit.probes.difference and compare, issue 17). Pure functions: they run here."""

from __future__ import annotations

import numpy as np
import pytest

from grader.audit.probes import Outcome, compare, difference, probe_name


def test_values_within_tolerance_and_nan_against_nan_agree():
    expected = np.array([1.0, np.nan, -np.inf, 0.0])
    assert difference(expected, expected * (1 + 1e-9)) is None
    assert difference((1.0, {"a": [2, None]}), (1.0 + 1e-12, {"a": [2, None]})) is None


@pytest.mark.parametrize(("expected", "actual", "reason"), [
    (np.zeros((2, 3)), np.zeros((3, 2)), "value: shape (3, 2) where the reference has (2, 3)"),
    (np.zeros(3), np.zeros(3, dtype=np.int64),
     "value: dtype int64 where the reference has float64"),
    (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.5, 2.0]), "value: max abs diff 0.5 at (1,)"),
    (np.array([1.0, 2.0]), np.array([1.0, np.nan]), "value: nan at (1,) where the reference has 2.0"),
    (np.array([1, 2, 3]), np.array([1, 2, 4]), "value: 1 values differ, first at (2,)"),
    ((1.0, 2.0), [1.0, 2.0], "value: list where the reference has tuple"),
    ((1.0, 2.0), (1.0,), "value: 1 items where the reference has 2"),
    ({"W1": 1.0}, {"W1": 1.0, "b1": 0.0}, "value: keys [] missing, [\"'b1'\"] extra"),
    ({"W1": (np.ones(2), 3.0)}, {"W1": (np.ones(2), 3.5)}, "['W1'][1]: max abs diff 0.5"),
    (None, 0.0, "value: 0.0 where the reference has None"),
    (True, 1, "value: dtype int64 where the reference has bool"),
])
def test_differences_say_where_and_how(expected, actual, reason):
    assert difference(expected, actual) == reason


def test_objects_compare_by_their_attributes():
    class Model:
        def __init__(self, weight):
            self.params = {"W1": np.full(2, weight)}
            self.activation = "relu"

    assert difference(Model(1.0), Model(1.0)) is None
    assert difference(Model(1.0), Model(2.0)) == "['params']['W1']: max abs diff 1 at (0,)"


def test_exceptions_and_warnings_are_part_of_the_outcome():
    returns, raises = Outcome(value=1.0), Outcome(raised="ValueError")
    assert compare(returns, raises) == "raises ValueError where the reference returns"
    assert compare(raises, returns) == "returns where the reference raises ValueError"
    assert compare(raises, Outcome(raised="ValueError")) is None
    warns = Outcome(value=1.0, warned=("RuntimeWarning: overflow encountered in exp",))
    assert compare(returns, warns) == (
        "warns RuntimeWarning: overflow encountered in exp where the reference does not")


def test_probe_names_drop_their_function_prefix():
    def relu_backward_boundary(m, rng):
        return None

    def boundary(m, rng):
        return None

    assert probe_name("relu_backward", relu_backward_boundary) == "relu_backward boundary"
    assert probe_name("MLP.loss", boundary) == "MLP.loss boundary"
