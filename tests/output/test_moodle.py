"""Grades for the Campus (Moodle): the gradebook import CSV keyed by padrón, and the offline grading
worksheet filled in without touching anything else (fixtures in tests/fixtures/moodle/, written
from Moodle's gradingtable.php and its Spanish and English strings)."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import results
from grader.cli import main
from grader.course import MoodleSettings, load_course
from grader.errors import ConfigError, UsageError
from grader.intake.roster import Roster, RosterStudent, read_roster
from grader.output import moodle
from grader.output.gradebook import build, collect
from grader.results import CheckResult, ExerciseScore, Status, SubmissionResult
from grader.submissions import safe_name

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "moodle"
ROSTER = FIXTURES / "padron.csv"
COURSE = load_course(REPO / "course.toml")


def result(student: str, tp: str, score: float, *, complete: int = 14, exercises: int = 16,
           load_error: str = "") -> SubmissionResult:
    """A result with ``exercises`` exercises of which ``complete`` earned all their points."""
    scores = [ExerciseScore(f"e{i}", "", 1.0, 1.0 if i < complete else 0.5, 1, 1)
              for i in range(exercises)]
    return SubmissionResult(
        student=student, tp=tp, submission_file=f"{student}.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f",
        checks=[CheckResult(id="c", exercise="e0", visibility="public", status=Status.PASS)],
        exercises=scores, earned=score, possible=10.0, score=score, load_error=load_error)


def write_results(folder: Path, *items: SubmissionResult) -> Path:
    for item in items:
        results.save(item, folder / item.tp / f"{safe_name(item.student)}.json")
    return folder


def course_with(**settings: object):
    return dataclasses.replace(COURSE, moodle=MoodleSettings(**settings))  # type: ignore[arg-type]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def export_csv(folder: Path, course=COURSE, roster: Roster | None = None, **kwargs) -> list[list[str]]:
    out = folder / "notas.csv"
    moodle.export(folder / "res", course, out, roster=roster or read_roster(ROSTER), **kwargs)
    return rows(out.read_text(encoding="utf-8"))


@pytest.fixture
def graded(tmp_path) -> Path:
    """Ana (by padrón) and Dora (by email) have TP1; Bruno's TP1 did not import; nobody has TP2
    or TP3 yet; Carla has nothing."""
    write_results(tmp_path / "res", result("100001", "tp1", 7.5),
                  result("dsuarez@fi.uba.ar", "tp1", 10.0, complete=16),
                  result("100002", "tp1", 0.0, complete=0, load_error="SyntaxError"))
    return tmp_path


def test_the_gradebook_csv_is_keyed_by_padron_with_blank_for_no_grade(graded):
    table = export_csv(graded, course_with(feedback=False))
    assert table == [
        ["Número de ID", "Dirección de correo", "Nombre completo", "TP1"],
        ["100001", "ana.garcia@fi.uba.ar", "García, Ana", "7,5"],
        ["100002", "bdiaz@fi.uba.ar", "Díaz, Bruno", "0"],
        ["100003", "carla.perez@fi.uba.ar", "Pérez, Carla", ""],
        ["100004", "dsuarez@fi.uba.ar", "Suárez, Dora", "10"],
    ]


def test_our_identity_headers_are_moodles_own_so_the_import_maps_them():
    exported = rows((FIXTURES / "export_calificaciones_es.csv").read_text(encoding="utf-8"))[0]
    assert moodle.ID_HEADER in exported and moodle.EMAIL_HEADER in exported


def test_every_tp_with_results_gets_its_item_header_and_the_final_only_when_all_have(tmp_path):
    write_results(tmp_path / "res", *(result("100001", tp, 8.0) for tp in ("tp1", "tp2", "tp3")))
    course = course_with(feedback=False, items={"tp2": "Trabajo 2", "final": "Promedio TPs"})
    table = export_csv(tmp_path, course)
    assert table[0][3:] == ["TP1", "Trabajo 2", "TP3", "Promedio TPs"]
    assert table[1][3:] == ["8", "8", "8", "8"]


def test_a_tp_nobody_has_is_left_out_not_blanked(graded, capsys):
    out = graded / "notas.csv"
    done = moodle.export(graded / "res", COURSE, out, roster=read_roster(ROSTER))
    assert "Nota final" not in rows(out.read_text(encoding="utf-8"))[0]
    assert any("tp2, tp3" in p for p in done.problems)


def test_decimals_follow_the_setting_and_whole_grades_have_no_separator(tmp_path):
    write_results(tmp_path / "res", result("100001", "tp1", 8.25), result("100002", "tp1", 10.0),
                  result("100003", "tp1", 6.5))
    comma = export_csv(tmp_path, course_with(feedback=False))
    dot = export_csv(tmp_path, course_with(feedback=False, decimal_separator="."))
    assert [r[3] for r in comma[1:4]] == ["8,25", "10", "6,5"]
    assert [r[3] for r in dot[1:4]] == ["8.25", "10", "6.5"]


def test_feedback_sums_up_the_exercises_and_points_to_the_page(graded):
    table = export_csv(graded, course_with(feedback_url="https://campus.example/devoluciones/"
                                           .rstrip("/")))
    assert table[0][3:] == ["TP1", "TP1 (devolución)"]
    assert table[1][4] == ("7,5/10: 14 de 16 ejercicios completos. Devolución: "
                           "https://campus.example/devoluciones/tp1/100001.html")
    assert table[2][4] == "0/10: el archivo no se pudo cargar, se calificó 0. Devolución: " \
                          "https://campus.example/devoluciones/tp1/100002.html"
    assert table[3][4] == ""  # no result: no grade and nothing to say
    assert table[4][4].endswith("16 de 16 ejercicios completos. Devolución: "
                                "https://campus.example/devoluciones/tp1/dsuarez@fi.uba.ar.html")


def test_without_a_url_the_feedback_names_the_file(graded):
    assert export_csv(graded)[1][4].endswith("Devolución: tp1/100001.html")


def test_an_adjustment_note_and_a_late_penalty_go_into_the_feedback(graded):
    roster = read_roster(ROSTER)
    collected = collect(graded / "res", COURSE)
    frame = build(collected, COURSE, roster=roster)
    # the columns the gradebook adds with the late policy and with adjustments
    frame["tp1_penalty"] = [0.75, 0.0, 0.0, 0.0]
    frame["tp1_late_days"] = [1, "", "", ""]
    frame["tp1_adjustment"] = ["6.75 -> 7.50, ajuste: regrade pedido el 12/11 (M. Pérez, "
                               "12/11/2026)", "", "0.00 -> 6.00, ajuste: ausencia justificada",
                               float("nan")]
    frame.loc[2, "tp1"] = 6.0
    people = moodle.grades(frame, collected, COURSE, roster)
    assert people[0].tps["tp1"].feedback == (
        "7,5/10: 14 de 16 ejercicios completos. Entrega tardía (1 día): -0,75 puntos. Nota "
        "ajustada: 6.75 -> 7.50, ajuste: regrade pedido el 12/11 (M. Pérez, 12/11/2026). "
        "Devolución: tp1/100001.html")
    # an adjustment gives a TP with no result a grade (an excused absence)
    assert people[2].tps["tp1"] == moodle.TPGrade(6.0, "6/10: sin entrega. Nota ajustada: "
                                                  "0.00 -> 6.00, ajuste: ausencia justificada.")
    assert people[3].tps["tp1"].feedback.startswith("10/10: 16 de 16")


def test_text_cells_are_neutralised_against_csv_injection(tmp_path):
    write_results(tmp_path / "res", result("100001", "tp1", 5.0))
    evil = Roster([RosterStudent("100001", "=HYPERLINK(\"http://x\")", "@evil", 2)])
    table = export_csv(tmp_path, roster=evil)
    assert table[1][1:3] == ["'@evil", "'=HYPERLINK(\"http://x\")"]


def test_without_a_roster_the_error_says_why_and_how(graded):
    with pytest.raises(UsageError, match=r"número de ID \(el padrón\) o su email.*--roster"):
        moodle.export(graded / "res", COURSE, graded / "notas.csv")
    assert not (graded / "notas.csv").exists()


def test_the_decimal_separator_setting_is_validated(tmp_path):
    text = (REPO / "course.toml").read_text(encoding="utf-8") + '\n[moodle]\ndecimal_separator = ";"\n'
    (tmp_path / "course.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r'decimal_separator debe ser "," o "\."'):
        load_course(tmp_path / "course.toml")


def fill(folder: Path, worksheet: str, course=COURSE, roster: Roster | None = None):
    out = folder / "subir.csv"
    done = moodle.export(folder / "res", course, out, tp="tp1", worksheet=FIXTURES / worksheet,
                         roster=roster if roster is not None else read_roster(ROSTER))
    return done, out.read_bytes()


def test_the_spanish_worksheet_gets_grades_and_feedback_and_nothing_else_changes(graded):
    original = (FIXTURES / "calificaciones_tp1_es.csv").read_bytes()
    assert original.startswith(b"\xef\xbb\xbf") and b"\r\n" in original  # as Moodle writes it
    done, written = fill(graded, "calificaciones_tp1_es.csv")
    before, after = original.split(b"\r\n"), written.split(b"\r\n")
    assert len(before) == len(after) and written.startswith(b"\xef\xbb\xbf")
    assert after[0] == before[0]
    # Ana by email (other case), Bruno by name ("Díaz, Bruno" in the roster); the rest untouched
    assert after[1].decode() == (
        '"Participante 5101","Ana García",Ana.Garcia@FI.UBA.AR,"Enviado para calificar","7,5",'
        '"10,00",Sí,"viernes, 11 de septiembre de 2026, 22:10",-,"7,5/10: 14 de 16 ejercicios '
        'completos. Devolución: tp1/100001.html"')
    assert after[2].decode() == (
        '"Participante 5102","Bruno Díaz",bruno.personal@gmail.com,"Enviado para calificar",0,'
        '"10,00",Sí,"viernes, 11 de septiembre de 2026, 21:00",-,"0/10: el archivo no se pudo '
        'cargar, se calificó 0. Devolución: tp1/100002.html"')
    assert after[3:] == before[3:]  # Carla has no result, Ezequiel is not ours
    assert done.rows == 2
    assert done.problems == ["1 estudiante(s) con nota de tp1 no están en calificaciones_tp1_es.csv "
                             "(ni por email ni por nombre): Suárez, Dora (100004)"]


def test_the_english_worksheet_reads_its_separator_from_the_maximum_grade(graded):
    _, written = fill(graded, "grades_tp1_en.csv")
    lines = written.decode().split("\n")
    assert lines[1].startswith('"Participant 5101","Ana García",ana.garcia@fi.uba.ar,'
                               '"Submitted for grading",7.5,10.00,Yes,')
    assert lines[1].endswith(',-,"7.5/10: 14 de 16 ejercicios completos. Devolución: '
                             'tp1/100001.html"')
    original = (FIXTURES / "grades_tp1_en.csv").read_text(encoding="utf-8").split("\n")
    assert lines[0] == original[0] and lines[2:] == original[2:]


def test_without_a_roster_the_worksheet_matches_the_results_names(tmp_path):
    write_results(tmp_path / "res", result("Ana García", "tp1", 9.0))
    out = tmp_path / "subir.csv"
    done = moodle.export(tmp_path / "res", COURSE, out, tp="tp1",
                         worksheet=FIXTURES / "grades_tp1_en.csv")
    assert done.rows == 1 and done.problems == []
    assert ',"Submitted for grading",9,10.00,' in out.read_text(encoding="utf-8")


def test_a_file_that_is_not_a_worksheet_names_the_columns_looked_for(graded):
    with pytest.raises(UsageError, match=r"no encontré la columna de la calificación "
                       r"\(Calificación, Grade, Nota\); sus columnas son \['First name'"):
        moodle.export(graded / "res", COURSE, graded / "x.csv", tp="tp1",
                      worksheet=FIXTURES / "export_grades_en.csv")


def test_an_assignment_graded_out_of_another_maximum_is_refused(graded, tmp_path):
    sheet = tmp_path / "sobre100.csv"
    sheet.write_bytes((FIXTURES / "grades_tp1_en.csv").read_bytes().replace(b"10.00", b"100.00"))
    with pytest.raises(UsageError, match=r"calificación máxima de la tarea es 100.00 y las notas "
                       r"del curso son sobre 10"):
        moodle.export(graded / "res", COURSE, tmp_path / "x.csv", tp="tp1", worksheet=sheet,
                      roster=read_roster(ROSTER))


def test_the_worksheet_needs_a_tp(graded):
    with pytest.raises(UsageError, match="pasá --tp"):
        moodle.export(graded / "res", COURSE, graded / "x.csv",
                      worksheet=FIXTURES / "grades_tp1_en.csv")


def test_the_cli_writes_both_files(graded):
    runner = CliRunner()
    common = ["export", str(graded / "res"), "--format", "moodle", "--course",
              str(REPO / "course.toml"), "--roster", str(ROSTER)]
    book = runner.invoke(main, [*common, "--out", str(graded / "notas.csv")])
    assert book.exit_code == 0, book.output
    assert "4 estudiantes" in book.output
    assert rows((graded / "notas.csv").read_text(encoding="utf-8"))[1][:4] == [
        "100001", "ana.garcia@fi.uba.ar", "García, Ana", "7,5"]
    sheet = runner.invoke(main, [*common, "--tp", "tp1", "--worksheet",
                                 str(FIXTURES / "calificaciones_tp1_es.csv"),
                                 "--out", str(graded / "subir.csv")])
    assert sheet.exit_code == 0, sheet.output
    assert "2 filas de calificaciones_tp1_es.csv completadas con tp1" in sheet.output
    assert "Suárez, Dora (100004)" in sheet.output


def test_the_cli_without_a_roster_fails_with_the_reason(graded):
    run = CliRunner().invoke(main, ["export", str(graded / "res"), "--format", "moodle",
                                    "--course", str(REPO / "course.toml"),
                                    "--out", str(graded / "notas.csv")])
    assert run.exit_code == 2
    assert "--roster" in run.output
