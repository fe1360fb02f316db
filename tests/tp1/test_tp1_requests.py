"""Grading TP1 costs a bounded number of requests to the worker: the finite-difference checks send
their perturbed calls together (``call_many``, issue 23). Requests are counted, never timed."""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission
from grader.engine.session import Session

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow


def test_grading_the_reference_takes_a_bounded_number_of_requests(monkeypatch):
    per_check: collections.Counter[str] = collections.Counter()
    account = Session._account

    def counting(self, op, reply, round_trip_s):
        per_check[os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]] += 1
        return account(self, op, reply, round_trip_s)

    monkeypatch.setattr(Session, "_account", counting)
    course = load_course(REPO / "course.toml")
    entry = course.tp("tp1")
    assert entry.reference is not None
    result = grade_submission(course, "tp1", entry.reference / "tp1.py", student="referencia",
                              limits=course.limits_for(load_assignment(entry.assignment)))
    assert result.score == 10.0
    # 1119 before call_many, 789 of them in the finite-difference checks (up to 222 each). What
    # is left is about four per check: its seed, and the calls and attributes it needs one
    # after another (a forward's cache before its backward).
    assert result.environment["timing"]["requests"] == sum(per_check.values()) < 400
    finite_differences = {k: n for k, n in per_check.items() if "finite_differences" in k}
    assert len(finite_differences) == 10
    assert max(finite_differences.values()) <= 7, finite_differences
