"""Regrades that explain themselves: ``--dry-run``, ``cambios.md`` / ``cambios.csv``, and the
batch lock around a real batch (issue 20). Three submissions of the mini course, one job."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import results
from grader.batch.local import grade_batch, plan_batch
from grader.cli import main
from grader.course import load_course
from grader.engine.grade import fingerprint_parts
from grader.errors import UsageError

pytestmark = pytest.mark.slow

STUDENTS = ("fails_linear_transposed", "passes_all", "syntax_error")


@pytest.fixture
def course(mini_course: Path) -> Path:
    """The mini course with three quick submissions in ``subs/``."""
    (mini_course / "subs").mkdir()
    for name in STUDENTS:
        (mini_course / "subs" / f"{name}.py").write_text(
            (mini_course / "students" / f"{name}.py").read_text())
    return mini_course


def grade(course: Path, **options: object):
    return grade_batch(course / "course.toml", "tp1", course / "subs", course / "res", jobs=1,
                       **options)


def break_loop_check(course: Path) -> None:
    """A changed public check: ``loop`` must now return 2, so every PASS of it becomes a FAIL."""
    check = course / "assignment" / "public" / "test_public.py"
    check.write_text(check.read_text().replace("student.loop() == 1", "student.loop() == 2"))


def tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_results_store_what_their_fingerprint_is_made_of(course):
    grade(course)
    loaded = load_course(course / "course.toml")
    stored = results.load(course / "res" / "tp1" / "passes_all.json").fingerprint_parts
    assert stored == fingerprint_parts(loaded, loaded.tp("tp1"))
    assert set(stored) == {"grader", "exercises", "secret", "course", "checks", "reference"}


def test_dry_run_says_the_checks_changed_and_writes_nothing(course, monkeypatch):
    grade(course)
    break_loop_check(course)
    (course / "subs" / "new_student.py").write_text("")
    before = tree(course / "res")
    plan = plan_batch(course / "course.toml", "tp1", course / "subs", course / "res")
    assert {p.submission.student: p.reasons for p in plan.planned} == {
        **{name: ("cambiaron las comprobaciones",) for name in STUDENTS},
        "new_student": ("nueva",)}
    monkeypatch.chdir(course)
    shown = CliRunner().invoke(main, ["grade", "tp1", "subs", "--out", "res", "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert "se califica passes_all: cambiaron las comprobaciones" in shown.output
    assert "se califica new_student: nueva" in shown.output
    assert "4 entregas se calificarían, 0 se reutilizarían" in shown.output
    assert tree(course / "res") == before


def test_dry_run_lists_reused_results_and_force(course, monkeypatch):
    grade(course)
    monkeypatch.chdir(course)
    plain = CliRunner().invoke(main, ["grade", "tp1", "subs", "--out", "res", "--dry-run"])
    forced = CliRunner().invoke(main, ["grade", "tp1", "subs", "--out", "res", "--dry-run",
                                       "--force"])
    assert "se reutiliza passes_all: resultado vigente" in plain.output
    assert "se califica passes_all: pedida con --force" in forced.output


def test_a_regrade_writes_cambios_with_old_and_new_scores_and_changed_checks(course, monkeypatch):
    grade(course)
    break_loop_check(course)
    monkeypatch.chdir(course)
    shown = CliRunner().invoke(main, ["grade", "tp1", "subs", "--out", "res", "--jobs", "1"])
    assert shown.exit_code == 0, shown.output
    assert "3 recalificadas con cambios: ver res/tp1/cambios.md" in shown.output
    with (course / "res" / "tp1" / "cambios.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["passes_all"] == {
        "student": "passes_all", "tp": "tp1", "reason": "cambiaron las comprobaciones",
        "old_score": "10.00", "new_score": "6.67",
        "changed_checks": "public::test_loop: PASS -> FAIL"}
    assert (rows["fails_linear_transposed"]["old_score"],
            rows["fails_linear_transposed"]["new_score"]) == ("3.33", "0.00")
    # It could not load before and cannot now: every check stays ERROR, the score 0.
    assert rows["syntax_error"]["changed_checks"] == ""
    assert "| passes_all | cambiaron las comprobaciones | 10.00 | 6.67 |" in (
        course / "res" / "tp1" / "cambios.md").read_text()


def test_a_batch_that_regrades_nobody_from_a_result_keeps_the_last_cambios(course):
    grade(course)
    break_loop_check(course)
    assert grade(course).changes == 3
    written = (course / "res" / "tp1" / "cambios.csv").read_text()
    (course / "subs" / "new_student.py").write_text("")
    summary = grade(course)
    assert (summary.graded, summary.changes, summary.changes_file) == (1, 0, None)
    assert (course / "res" / "tp1" / "cambios.csv").read_text() == written


def test_the_batch_holds_its_lock_while_grading_and_releases_it(course):
    lock = course / "res" / "tp1" / ".grader.lock"
    seen: list[int] = []
    grade(course, on_event=lambda e: seen.append(
        json.loads(lock.read_text())["pid"] if lock.exists() else 0))
    assert seen == [os.getpid()] * len(STUDENTS)
    assert not lock.exists()


def test_an_empty_folder_is_refused_before_anything_is_written(course):
    (course / "vacia").mkdir()
    with pytest.raises(UsageError, match="no tiene ninguna entrega"):
        grade_batch(course / "course.toml", "tp1", course / "vacia", course / "res", jobs=1)
    assert not (course / "res").exists()
