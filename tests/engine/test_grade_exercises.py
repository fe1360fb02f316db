"""Grading only some exercises (what ``grader audit`` does with each mutant): only their checks
run, the score is over them, and the result is never mistaken for a whole grade."""

from __future__ import annotations

import pytest

from grader.batch.request import GradeRequest
from grader.course import load_course
from grader.engine.grade import fingerprint, grade_submission
from grader.errors import ConfigError


def test_only_the_selected_exercises_run_and_count(mini_course):
    course = load_course(mini_course / "course.toml")
    student = mini_course / "students" / "fails_linear_transposed.py"
    whole = grade_submission(course, "tp1", student, student="x")
    only_loop = grade_submission(course, "tp1", student, student="x",
                                 exercises=frozenset({"loop"}))
    assert whole.score < 10
    assert {c.exercise for c in only_loop.checks} == {"loop"}
    assert [e.name for e in only_loop.exercises] == ["loop"] and only_loop.score == 10
    assert "solo se calificaron los ejercicios loop" in only_loop.notes
    assert only_loop.fingerprint != whole.fingerprint
    assert only_loop.fingerprint == fingerprint(course, course.tp("tp1"), frozenset({"loop"}))


def test_an_unknown_exercise_is_a_clear_error(mini_course):
    course = load_course(mini_course / "course.toml")
    with pytest.raises(ConfigError, match=r"no tiene los ejercicios \['nope'\]; tiene \['lin', 'loop'\]"):
        grade_submission(course, "tp1", mini_course / "students" / "passes_all.py", student="x",
                         exercises=frozenset({"nope"}))


def test_a_grade_request_carries_its_exercises():
    request = GradeRequest(course="c.toml", tp="tp1", file="a.py", student="a", out="a.json",
                           backend="subprocess", backend_options={}, limits={},
                           exercises=("lin", "loop"))
    assert GradeRequest.from_dict(request.to_dict()) == request
    with pytest.raises(ConfigError, match="'exercises' debe ser una lista"):
        GradeRequest.from_dict({**request.to_dict(), "exercises": "lin"})


def test_the_audits_files_do_not_change_the_fingerprint(mini_course):
    """Probes, accepted survivors and the audit's report judge the checks: editing them must not
    regrade every student (and a batch running meanwhile must not see its results refused)."""
    course = load_course(mini_course / "course.toml")
    before = fingerprint(course, course.tp("tp1"))
    (mini_course / "assignment" / "hidden" / "audit_accepted.toml").write_text("# nada\n")
    (mini_course / "assignment" / "hidden" / "audit_probes.py").write_text("PROBES = {}\n")
    (mini_course / "assignment" / "AUDIT.md").write_text("# informe\n")
    assert fingerprint(course, course.tp("tp1")) == before
    (mini_course / "assignment" / "hidden" / "test_hidden.py").write_text("# otra\n")
    assert fingerprint(course, course.tp("tp1")) != before


def test_calibration_recipes_do_not_change_the_fingerprint(mini_course):
    course = load_course(mini_course / "course.toml")
    before = fingerprint(course, course.tp("tp1"))
    (mini_course / "ref" / "recipes").mkdir()
    (mini_course / "ref" / "recipes" / "loop_other.py").write_text("def loop():\n    return 1\n")
    assert fingerprint(course, course.tp("tp1")) == before
