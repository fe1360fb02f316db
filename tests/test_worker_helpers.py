"""Assignments with PyTorch: helpers run in the student's worker, seeded checks, graded credit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader import scoring
from grader.course import load_assignment
from grader.engine.plugin import run_on_module
from grader.engine.session import Session
from grader.errors import ConfigError
from grader.results import Status
from grader.sandbox.base import Limits
from grader.sandbox.subprocess import SubprocessBackend

FIXTURE = Path(__file__).parent / "fixtures" / "torch_course"
LIMITS = Limits(call_timeout_s=30, import_timeout_s=60)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    target = tmp_path / "torch_course"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.mark.parametrize("backend", ["subprocess", "inprocess"])
def test_helpers_objects_and_graded_credit(course, backend):
    assignment = load_assignment(course / "assignment")
    run = run_on_module(assignment, course / "students" / "tt.py", None,
                        list(assignment.public_checks),
                        backend=SubprocessBackend() if backend == "subprocess" else None,
                        limits=LIMITS)
    by_name = {c.id.split("::")[1]: c for c in run.checks}
    objects = by_name["test_objects_cross_between_student_and_helpers"]
    assert objects.status is Status.PASS, objects.message
    measured = by_name["test_measured_accuracy"]
    assert (measured.status, measured.credit) == (Status.PARTIAL, pytest.approx(0.5))
    assert measured.message == "exactitud 0.85: objetivo 0.90, mínimo 0.80"
    scores = {e.name: e for e in scoring.score_checks(run.checks, assignment.exercises)}
    # 2 points over two checks of weight 1: the float check 1.0, the measured one half of 1.0.
    assert scores["measured"].earned == pytest.approx(1.5)
    assert scores["objects"].earned == 1.0
    if backend == "subprocess":
        assert "worker_torch" in run.environment, run.environment
        assert run.environment["worker_torch"].startswith("2.")
        assert run.environment["worker_cuda_available"] is False


def test_every_check_starts_from_the_same_random_state(course):
    session = Session(SubprocessBackend(), course / "students" / "tt.py", "tt", LIMITS,
                      uses_torch=True)
    try:
        session.begin_check(7)
        first = session.module().draw()
        assert not (session.module().draw() == first).all()
        session.begin_check(7)
        assert (session.module().draw() == first).all()
        session.begin_check(8)
        assert not (session.module().draw() == first).all()
    finally:
        session.close()


def test_a_check_that_asks_for_credit_must_award_it(course):
    checks = course / "assignment" / "public" / "test_public.py"
    checks.write_text(checks.read_text().replace("    credit.award(fraction,", "    print(fraction,"))
    assignment = load_assignment(course / "assignment")
    with pytest.raises(ConfigError, match=r"no llamó a credit\.award"):
        run_on_module(assignment, course / "students" / "tt.py", None, [checks],
                      backend=None, limits=LIMITS)


def test_a_course_without_helpers_says_so(course):
    toml = course / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace('worker_helpers = "public/helpers.py"\n', ""))
    assignment = load_assignment(course / "assignment")
    # Not a student's failure: the course is misconfigured, and nobody gets a grade.
    with pytest.raises(ConfigError, match=r"no declara \[assignment\]\.worker_helpers"):
        run_on_module(assignment, course / "students" / "tt.py", None,
                      list(assignment.public_checks), backend=None, limits=LIMITS)


def test_worker_helpers_must_exist(course):
    toml = course / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace("public/helpers.py", "public/nope.py"))
    with pytest.raises(ConfigError, match="worker_helpers"):
        load_assignment(course / "assignment")
