"""The gradebook is derived from result files: fixed columns, weights, missing TPs, safe cells."""

from __future__ import annotations

import csv
from pathlib import Path

from grader import results
from grader.course import load_course
from grader.output.gradebook import build, build_long, collect, neutralise, write_csv
from grader.results import CheckResult, ExerciseScore, Status, SubmissionResult
from grader.submissions import safe_name

REPO = Path(__file__).parents[2]


def result(student: str, tp: str, score: float, load_error: str = "") -> SubmissionResult:
    return SubmissionResult(
        student=student, tp=tp, submission_file=f"{student}.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f",
        checks=[CheckResult(id="hidden::c", exercise="e", visibility="hidden",
                            status=Status.PASS if score else Status.FAIL, points=score,
                            max_points=10.0, message="=HYPERLINK(\"x\")")],
        exercises=[ExerciseScore("e", "", 10.0, score, 1, int(bool(score)))],
        earned=score, possible=10.0, score=score, load_error=load_error)


def write_results(folder: Path, *items: SubmissionResult) -> None:
    for item in items:
        results.save(item, folder / item.tp / f"{safe_name(item.student)}.json")


def read(path: Path) -> list[list[str]]:
    with path.open() as handle:
        return list(csv.reader(handle))


def test_columns_are_fixed_and_a_missing_tp_counts_zero(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0), result("ana", "tp2", 6.0),
                  result("bruno", "tp1", 10.0), result("bruno", "tp2", 10.0),
                  result("bruno", "tp3", 10.0))
    course = load_course(REPO / "course.toml")
    write_csv(build(collect(tmp_path / "res", course), course), tmp_path / "gb.csv")
    rows = read(tmp_path / "gb.csv")
    assert rows[0] == ["student", "tp1", "tp2", "tp3", "final", "tp1_status", "tp2_status",
                       "tp3_status", "condition"]
    assert rows[1] == ["ana", "9.00", "6.00", "0.00", "5.00", "graded", "graded", "missing",
                       "aprobado"]
    assert rows[2] == ["bruno", "10.00", "10.00", "10.00", "10.00", "graded", "graded", "graded",
                       "aprobado"]


def test_a_submission_that_did_not_import_is_marked(tmp_path):
    write_results(tmp_path / "res", result("carla", "tp1", 0.0, load_error="SyntaxError"))
    course = load_course(REPO / "course.toml")
    frame = build(collect(tmp_path / "res", course), course)
    assert frame.loc[0, "tp1_status"] == "load_error"
    assert frame.loc[0, "condition"] == "desaprobado"


def test_cells_that_look_like_formulas_are_neutralised(tmp_path):
    write_results(tmp_path / "res", result("=cmd|' /C calc'!A0", "tp1", 5.0))
    course = load_course(REPO / "course.toml")
    collected = collect(tmp_path / "res", course)
    write_csv(build(collected, course), tmp_path / "gb.csv")
    write_csv(build_long(collected), tmp_path / "long.csv")
    assert read(tmp_path / "gb.csv")[1][0] == "'=cmd|' /C calc'!A0"
    assert read(tmp_path / "long.csv")[1][-1] == "'=HYPERLINK(\"x\")"
    assert [neutralise(v) for v in ("+1", "-1", "@x", "ok", 3)] == ["'+1", "'-1", "'@x", "ok", 3]


def test_the_long_csv_has_one_row_per_student_and_check(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0), result("ana", "tp2", 6.0))
    course = load_course(REPO / "course.toml")
    frame = build_long(collect(tmp_path / "res", course))
    assert list(frame.columns) == ["student", "tp", "check", "exercise", "visibility", "status",
                                   "points", "max_points", "message"]
    assert len(frame) == 2


def test_an_unreadable_result_is_listed_not_fatal(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0))
    (tmp_path / "res" / "tp1" / "roto.json").write_text("{")
    course = load_course(REPO / "course.toml")
    collected = collect(tmp_path / "res", course)
    assert list(collected.results) == [("ana", "tp1")]
    assert "roto.json" in collected.problems[0]


def test_results_are_written_atomically_and_read_back_equal(tmp_path):
    original = result("ana", "tp1", 9.0)
    results.save(original, tmp_path / "ana.json")
    assert results.load(tmp_path / "ana.json") == original
    assert [p.name for p in tmp_path.iterdir()] == ["ana.json"]
