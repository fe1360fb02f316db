"""Pure scoring: check results and a rubric in, points and grades out. No I/O.

An exercise earns its points when every one of its checks passes: a wrong exercise loses exactly
its points, and a bug never costs points elsewhere. With ``partial_credit = true`` in
``assignment.toml`` the points are split over its checks by weight instead, and each check earns
its share when it passes, or ``credit`` times its share when it is PARTIAL (a measured accuracy
between a floor and a target). A TP's score is ``scale_max * earned / possible`` (two decimals by
default); the final grade is the weighted sum of TP scores, a missing TP counting 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from grader.course import Exercise
from grader.results import CheckResult, ExerciseScore, Status


def score_checks(checks: list[CheckResult], exercises: Iterable[Exercise]) -> list[ExerciseScore]:
    """Fills ``points``/``max_points`` of every check and returns one score per exercise.

    An exercise with no checks scores 0 of its points (never free points).
    """
    scores = []
    for exercise in exercises:
        own = [c for c in checks if c.exercise == exercise.name]
        total_weight = sum(c.weight for c in own)
        all_pass = bool(own) and all(c.status is Status.PASS for c in own)
        earned = 0.0
        for check in own:
            check.max_points = exercise.points * check.weight / total_weight
            if check.status is Status.PASS and (exercise.partial_credit or all_pass):
                check.points = check.max_points
            elif check.status is Status.PARTIAL and exercise.partial_credit:
                check.points = check.max_points * min(max(check.credit, 0.0), 1.0)
            else:
                check.points = 0.0
            earned += check.points
        scores.append(ExerciseScore(
            name=exercise.name, title=exercise.title, points=exercise.points,
            earned=round(earned, 6), checks=len(own),
            passed=sum(1 for c in own if c.status is Status.PASS)))
    return scores


def tp_score(exercises: list[ExerciseScore], *, scale_max: float = 10.0,
             decimals: int = 2) -> tuple[float, float, float]:
    """Returns ``(earned, possible, score)`` with ``score = scale_max * earned / possible``."""
    earned = sum(e.earned for e in exercises)
    possible = sum(e.points for e in exercises)
    score = round(scale_max * earned / possible, decimals) if possible else 0.0
    return round(earned, 6), possible, score


def final_grade(scores: Mapping[str, float | None], weights: Mapping[str, Fraction], *,
                decimals: int = 2) -> float:
    """Weighted sum of TP scores; a TP missing from ``scores`` (or ``None``) counts 0."""
    total = sum(float(weight) * (scores.get(tp) or 0.0) for tp, weight in weights.items())
    return round(total + 1e-12, decimals)
