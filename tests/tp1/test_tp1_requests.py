"""Grading TP1 costs under 150 requests to the worker (issue 23): the finite-difference checks send
their perturbed calls together (``call_many``), a check's seed rides on its first request, the
checks' functions come in one ``getattrs``, and dependent calls travel as ``steps``. Requests are
counted, never timed."""

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
    # 1119 before call_many, 789 of them in the finite-difference checks (up to 222 each); 373
    # with it, about four per check: its seed, and the calls and attributes it needs one after
    # another (a forward's cache before its backward). No seed requests now but the first.
    assert result.environment["timing"]["requests"] == sum(per_check.values()) < 150
    finite_differences = {k: n for k, n in per_check.items() if "finite_differences" in k}
    assert len(finite_differences) == 10
    assert max(finite_differences.values()) <= 3, finite_differences
    # A hidden check that chains its calls makes one request for the chain.
    assert per_check["test_train_shuffles_with_its_seed"] <= 2, per_check
    assert per_check["test_mlp_initialization_depends_only_on_seed"] == 1, per_check
