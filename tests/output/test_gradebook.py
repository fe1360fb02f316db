"""The gradebook is derived from result files: fixed columns, weights, missing TPs, safe cells."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import results
from grader.cli import main
from grader.course import load_course
from grader.course.adjustments import Adjustments, load_adjustments
from grader.errors import ConfigError
from grader.intake.roster import read_roster
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


# --- manual adjustments (ajustes.toml) ----------------------------------------------------------


def with_exercises(student: str, tp: str, train: float, submitted_at: str = "") -> SubmissionResult:
    """A result with two exercises of 2 points (linear right, train with ``train`` points)."""
    exercises = [ExerciseScore("linear", "", 2.0, 2.0, 1, 1),
                 ExerciseScore("train", "", 2.0, train, 1, int(train == 2))]
    earned = 2.0 + train
    return SubmissionResult(
        student=student, tp=tp, submission_file=f"{student}.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f", checks=[], exercises=exercises, earned=earned,
        possible=4.0, score=round(10 * earned / 4, 2), submitted_at=submitted_at)


def adjustments_file(folder: Path, *entries: str) -> Adjustments:
    """Writes ``ajustes.toml`` with one ``[[adjustment]]`` per entry (its keys, one a line) and
    loads it against the repository's course."""
    text = "".join(f'[[adjustment]]\n{e}\nby = "M. Pérez"\ndate = 2026-11-12\n'
                   f'reason = "regrade"\n\n' for e in entries)
    (folder / "ajustes.toml").write_text(text, encoding="utf-8")
    return load_adjustments(folder / "ajustes.toml", load_course(REPO / "course.toml"))


def test_a_tp_override_replaces_the_score_and_keeps_the_automatic_one(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0), result("bruno", "tp1", 6.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "bruno"\ntp = "tp1"\nscore = 7.5')
    frame = build(collect(tmp_path / "res", course), course, adjustments=found)
    rows = {r["student"]: r for r in frame.to_dict("records")}
    assert (rows["bruno"]["tp1"], rows["bruno"]["final"], rows["bruno"]["tp1_auto"]) == (7.5, 2.5, 6.0)
    assert rows["bruno"]["tp1_adjustment"] == "6.00 -> 7.50, ajuste: regrade (M. Pérez, 12/11/2026)"
    assert (rows["ana"]["tp1"], rows["ana"]["tp1_auto"], rows["ana"]["tp1_adjustment"]) == (9.0, 9.0, "")


def test_a_bonus_is_added_and_clamped_and_can_change_the_condition(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.5), result("ana", "tp2", 2.0),
                  result("ana", "tp3", 0.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp1"\nbonus = 1',
                             'student = "ana"\ntp = "tp3"\nbonus = 0.5')
    frame = build(collect(tmp_path / "res", course), course, adjustments=found)
    assert (frame.loc[0, "tp1"], frame.loc[0, "tp3"], frame.loc[0, "final"]) == (10.0, 0.5, 4.17)
    assert frame.loc[0, "condition"] == "aprobado"  # 3.83 without the adjustments
    assert frame.loc[0, "tp3_adjustment"] == "0.00 -> 0.50, ajuste: regrade (M. Pérez, 12/11/2026)"


def test_an_exercise_adjustment_recomputes_the_tp_score(tmp_path):
    write_results(tmp_path / "res", with_exercises("ana", "tp1", train=1.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp1"\nexercise = "train"\nscore = 2')
    frame = build(collect(tmp_path / "res", course), course, adjustments=found)
    assert (frame.loc[0, "tp1"], frame.loc[0, "tp1_auto"]) == (10.0, 7.5)
    assert frame.loc[0, "tp1_adjustment"] == ("train: 1.00 -> 2.00, ajuste: regrade "
                                              "(M. Pérez, 12/11/2026)")


def test_exercise_adjustments_go_before_the_late_penalty_and_tp_ones_after(tmp_path):
    # Two days late (deadline 2026-09-11 23:00, 15 minutes of grace): 20% off.
    late = "2026-09-13T23:00:00-03:00"
    write_results(tmp_path / "res", with_exercises("ana", "tp1", train=1.0, submitted_at=late),
                  with_exercises("bruno", "tp1", train=1.0, submitted_at=late))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(
        tmp_path,
        'student = "ana"\ntp = "tp1"\nbonus = 1',  # first in the file, applied last: TP level
        'student = "ana"\ntp = "tp1"\nexercise = "train"\nscore = 2',
        'student = "bruno"\ntp = "tp1"\nscore = 9')
    collected = collect(tmp_path / "res", course)
    frame = build(collected, course, adjustments=found)
    rows = {r["student"]: r for r in frame.to_dict("records")}
    # ana: train 1 -> 2 gives 10.00 before the penalty, 8.00 after it, and the bonus makes it 9.00.
    assert ((rows["ana"]["tp1_raw"], rows["ana"]["tp1_late_days"], rows["ana"]["tp1_penalty"])
            == (10.0, 2, 2.0))
    assert (rows["ana"]["tp1"], rows["ana"]["tp1_auto"]) == (9.0, 6.0)
    assert rows["ana"]["tp1_adjustment"] == ("train: 1.00 -> 2.00, ajuste: regrade (M. Pérez, "
                                             "12/11/2026); 8.00 -> 9.00, ajuste: regrade "
                                             "(M. Pérez, 12/11/2026)")
    # bruno: staff's last word, after the penalty.
    assert (rows["bruno"]["tp1"], rows["bruno"]["tp1_auto"], rows["bruno"]["tp1_penalty"]) == (9.0, 6.0, 1.5)
    assert list(frame.columns)[-9:] == ["tp3_raw", "tp3_late_days", "tp3_penalty", "tp1_auto",
                                        "tp1_adjustment", "tp2_auto", "tp2_adjustment", "tp3_auto",
                                        "tp3_adjustment"]
    assert collected.problems == []


def test_a_tp_adjustment_applies_to_a_tp_without_a_result(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp2"\nscore = 6')
    frame = build(collect(tmp_path / "res", course), course, adjustments=found)
    assert (frame.loc[0, "tp2"], frame.loc[0, "tp2_status"], frame.loc[0, "final"]) == (6.0, "missing", 5.0)


def test_an_exercise_adjustment_without_a_result_is_an_error(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp2"\nexercise = "dropout"\nscore = 1')
    with pytest.raises(ConfigError, match=r"ajustes.toml \[\[adjustment\]\] #1: ana no tiene "
                                          "resultado de tp2"):
        build(collect(tmp_path / "res", course), course, adjustments=found)


def test_an_adjustment_for_an_unknown_student_names_the_student_and_the_file(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp1"\nbonus = 1',
                             'student = "anna"\ntp = "tp1"\nbonus = 1')
    with pytest.raises(ConfigError, match=f"{tmp_path}/ajustes.toml: el ajuste #2 es para el "
                                          r"estudiante 'anna', que no está entre los estudiantes "
                                          r"con resultados \(ana\)"):
        build(collect(tmp_path / "res", course), course, adjustments=found)


def test_with_a_roster_adjustments_name_the_padron(tmp_path):
    write_results(tmp_path / "res", result("100001", "tp1", 9.0))
    course = load_course(REPO / "course.toml")
    roster = read_roster(REPO / "examples" / "form" / "padron.csv")
    found = adjustments_file(tmp_path, 'student = 100002\ntp = "tp1"\nscore = 5')
    frame = build(collect(tmp_path / "res", course), course, roster=roster, adjustments=found)
    rows = {r["padron"]: r for r in frame.to_dict("records")}
    assert (rows["100002"]["tp1"], rows["100002"]["tp1_auto"]) == (5.0, 0.0)
    unknown = adjustments_file(tmp_path, 'student = "999999"\ntp = "tp1"\nscore = 5')
    with pytest.raises(ConfigError, match=r"'999999', que no está en el padrón padron\.csv"):
        build(collect(tmp_path / "res", course), course, roster=roster, adjustments=unknown)


def test_the_adjustment_columns_appear_only_with_adjustments(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 9.0))
    course = load_course(REPO / "course.toml")
    collected = collect(tmp_path / "res", course)
    fixed = ["student", "tp1", "tp2", "tp3", "final", "tp1_status", "tp2_status", "tp3_status",
             "condition"]
    assert list(build(collected, course).columns) == fixed
    assert list(build(collected, course, adjustments=adjustments_file(tmp_path)).columns) == fixed
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp1"\nbonus = 1')
    assert list(build(collected, course, adjustments=found).columns) == [
        *fixed, "tp1_auto", "tp1_adjustment", "tp2_auto", "tp2_adjustment", "tp3_auto",
        "tp3_adjustment"]


def test_a_regrade_keeps_the_adjustments(tmp_path):
    write_results(tmp_path / "res", with_exercises("ana", "tp1", train=1.0))
    course = load_course(REPO / "course.toml")
    found = adjustments_file(tmp_path, 'student = "ana"\ntp = "tp1"\nexercise = "train"\nscore = 2',
                             'student = "ana"\ntp = "tp1"\nbonus = -1')
    assert build(collect(tmp_path / "res", course), course, adjustments=found).loc[0, "tp1"] == 9.0
    # The regrade replaces the result file (linear now fails); the adjustments file is untouched.
    regraded = with_exercises("ana", "tp1", train=1.0)
    regraded.exercises[0].earned, regraded.earned, regraded.score = 0.0, 1.0, 2.5
    write_results(tmp_path / "res", regraded)
    frame = build(collect(tmp_path / "res", course), course, adjustments=found)
    assert (frame.loc[0, "tp1"], frame.loc[0, "tp1_auto"]) == (4.0, 2.5)


def test_the_cli_applies_the_adjustments_of_the_course_file_unless_told(tmp_path):
    write_results(tmp_path / "res", result("ana", "tp1", 6.0))
    course = tmp_path / "course.toml"
    course.write_text((REPO / "course.toml").read_text().replace(
        'assignment = "assignments/', f'assignment = "{REPO}/assignments/')
        + '\n[adjustments]\npath = "ajustes.toml"\n', encoding="utf-8")
    runner = CliRunner()
    args = ["gradebook", str(tmp_path / "res"), "--out", str(tmp_path / "gb.csv"),
            "--course", str(course)]
    missing = runner.invoke(main, args)
    assert missing.exit_code == 1
    assert f"no existe el archivo de ajustes {tmp_path / 'ajustes.toml'}" in missing.output
    adjustments_file(tmp_path, 'student = "ana"\ntp = "tp1"\nscore = 8')
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert f"ajustes manuales aplicados: 1 ({tmp_path / 'ajustes.toml'})" in done.output
    assert read(tmp_path / "gb.csv")[1][:2] == ["ana", "8.00"]
    (tmp_path / "otros.toml").write_text("")
    other = runner.invoke(main, [*args, "--adjustments", str(tmp_path / "otros.toml")])
    assert other.exit_code == 0, other.output
    assert "ajustes manuales aplicados: 0" in other.output
    assert read(tmp_path / "gb.csv")[1][:2] == ["ana", "6.00"]
