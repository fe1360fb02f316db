"""Scoring arithmetic: points split by weight within an exercise, TP scores, the final grade."""

from __future__ import annotations

from fractions import Fraction

from grader.course import Exercise
from grader.results import CheckResult, Status
from grader.scoring import final_grade, score_checks, tp_score

EXERCISES = [Exercise("linear", 2.0), Exercise("relu", 1.0), Exercise("xor", 1.0)]


def check(exercise: str, status: Status, weight: float = 1.0) -> CheckResult:
    return CheckResult(id=f"hidden::{exercise}", exercise=exercise, visibility="hidden",
                       status=status, weight=weight)


def test_an_exercise_earns_its_points_only_when_all_its_checks_pass():
    checks = [check("linear", Status.PASS, 1), check("linear", Status.FAIL, 3)]
    scores = score_checks(checks, EXERCISES[:1])
    assert scores[0].earned == 0.0
    assert [c.max_points for c in checks] == [0.5, 1.5]
    assert [c.points for c in checks] == [0.0, 0.0]
    assert score_checks([check("linear", Status.PASS)] * 2, EXERCISES[:1])[0].earned == 2.0


def test_with_partial_credit_an_exercise_splits_its_points_by_weight():
    checks = [check("linear", Status.PASS, 1), check("linear", Status.FAIL, 3)]
    scores = score_checks(checks, [Exercise("linear", 2.0, partial_credit=True)])
    assert scores[0].earned == 0.5
    assert [c.points for c in checks] == [0.5, 0.0]


def test_only_pass_earns_points_whatever_the_failure():
    statuses = [Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.MEMORY,
                Status.PROTOCOL]
    scores = score_checks([check("relu", s) for s in statuses], [Exercise("relu", 1.0)])
    assert scores[0].earned == 0.0


def test_an_exercise_without_checks_earns_nothing():
    scores = score_checks([check("linear", Status.PASS)], EXERCISES)
    assert [s.earned for s in scores] == [2.0, 0.0, 0.0]


def test_one_wrong_exercise_loses_exactly_its_points():
    checks = [check("linear", Status.FAIL), check("relu", Status.PASS), check("xor", Status.PASS)]
    earned, possible, score = tp_score(score_checks(checks, EXERCISES))
    assert (earned, possible, score) == (2.0, 4.0, 5.0)


def test_the_tp_score_is_ten_times_the_fraction_rounded_to_two_decimals():
    exercises = [Exercise("linear", 2.0), Exercise("relu", 1.0),
                 Exercise("xor", 1.0, partial_credit=True)]
    checks = [check("linear", Status.PASS), check("relu", Status.FAIL), check("xor", Status.FAIL),
              check("xor", Status.PASS), check("xor", Status.FAIL)]
    _, possible, score = tp_score(score_checks(checks, exercises))
    assert possible == 4.0
    assert score == round(10 * (2 + 1 / 3) / 4, 2) == 5.83


def test_the_final_grade_weighs_each_tp_one_third_and_a_missing_tp_counts_zero():
    weights = {"tp1": Fraction(1, 3), "tp2": Fraction(1, 3), "tp3": Fraction(1, 3)}
    assert final_grade({"tp1": 10.0, "tp2": 10.0, "tp3": 10.0}, weights) == 10.0
    assert final_grade({"tp1": 9.0, "tp2": 6.0}, weights) == 5.0
    assert final_grade({"tp1": 8.5, "tp2": None, "tp3": 7.0}, weights) == 5.17
