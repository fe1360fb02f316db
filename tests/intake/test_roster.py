"""The roster is the source of identity: people are matched to it by padrón, then email, then name,
and the gradebook keyed by it lists everyone and reports results that match nobody."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import results
from grader.cli import main
from grader.course import RosterSettings, load_course
from grader.intake.roster import Roster, RosterError, RosterStudent, read_roster
from grader.output.gradebook import build, collect
from grader.results import ExerciseScore, SubmissionResult

REPO = Path(__file__).parents[2]
ROSTER = REPO / "examples" / "form" / "padron.csv"


def roster(*students: RosterStudent) -> Roster:
    return Roster(list(students))


ANA = RosterStudent("100001", "García, Ana", "ana.garcia@fi.uba.ar", 2)
BRUNO = RosterStudent("100002", "Díaz, Bruno", "bdiaz@fi.uba.ar", 3)


def test_the_example_roster_is_read_with_its_accented_header():
    students = read_roster(ROSTER).students
    assert students[:2] == [ANA, BRUNO]
    assert [s.student_id for s in students] == ["100001", "100002", "100003", "100004", "100005",
                                                "100006"]


def test_other_common_headers_and_dotted_padrones_are_understood(tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text("Legajo;Apellido y Nombre;Correo electrónico\n100.001;GARCÍA, Ana;A@X.com\n",
                    encoding="utf-8")
    assert read_roster(path).students == [RosterStudent("100001", "GARCÍA, Ana", "A@X.com", 2)]


def test_configured_headers_are_used_as_given(tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text("id,quien\n7,Ana\n", encoding="utf-8")
    settings = RosterSettings(student_id="id", name="quien", email="mail")
    assert read_roster(path, settings).students == [RosterStudent("7", "Ana", "", 2)]


def test_a_missing_column_is_named_with_the_headers_found(tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text("padrón,apellido\n1,García\n", encoding="utf-8")
    with pytest.raises(RosterError, match=r"lista.csv: falta la columna 'nombre' \(\[roster\].name en "
                                          r"course.toml\); las columnas del archivo son \['padrón', "
                                          r"'apellido'\]"):
        read_roster(path)


@pytest.mark.parametrize(("text", "message"), [
    ("padrón,nombre\n1,Ana\n2,Bruno\n1.,Otra\n", "el padrón 1 está en las filas 2 y 4"),
    ("padrón,nombre\n1,Ana\n,Bruno\n", "fila 3: falta el padrón o el nombre"),
])
def test_repeated_or_empty_padrones_are_errors_with_the_rows(tmp_path, text, message):
    path = tmp_path / "lista.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError, match=message):
        read_roster(path)


def test_people_are_matched_by_padron_then_email_then_name():
    book = roster(ANA, BRUNO)
    assert book.match(student_id="100.001", email="bdiaz@fi.uba.ar") == (ANA, "padrón")
    assert book.match(student_id="10002", email=" BDiaz@fi.uba.ar") == (BRUNO, "email")
    assert book.match(student_id="9", email="otro@x", name="ana garcia") == (ANA, "nombre")
    assert book.match(name="Bruno  DIAZ") == (BRUNO, "nombre")
    assert book.match(student_id="9", email="otro@x", name="Ana Gómez") is None


def test_a_name_two_students_share_matches_neither():
    twin = RosterStudent("100009", "Ana García", "", 9)
    assert roster(ANA, twin).match(name="Ana García") is None
    assert roster(ANA, twin).match(student_id="100009", name="Ana García") == (twin, "padrón")


# --- the gradebook keyed by the roster ----------------------------------------------------------


def result(student: str, tp: str, score: float) -> SubmissionResult:
    return SubmissionResult(
        student=student, tp=tp, submission_file=f"{student}.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f", checks=[],
        exercises=[ExerciseScore("e", "", 10.0, score, 1, 1)], earned=score, possible=10.0,
        score=score)


@pytest.fixture
def graded(tmp_path: Path) -> Path:
    out = tmp_path / "res"
    # By padrón (intake), by file name (a plain folder), and someone not in the roster.
    for item in (result("100001", "tp1", 9.0), result("ana_garcia", "tp2", 6.0),
                 result("bruno_diaz", "tp1", 10.0), result("zoe", "tp1", 7.0)):
        results.save(item, out / item.tp / f"{item.student}.json")
    return out


def test_the_gradebook_has_a_row_per_roster_student_keyed_by_padron(graded):
    course = load_course(REPO / "course.toml")
    collected = collect(graded, course)
    frame = build(collected, course, roster=read_roster(ROSTER))
    assert list(frame.columns) == ["padron", "nombre", "email", "tp1", "tp2", "tp3", "final",
                                   "tp1_status", "tp2_status", "tp3_status", "condition"]
    rows = {r["padron"]: r for r in frame.to_dict("records")}
    assert list(rows) == ["100001", "100002", "100003", "100004", "100005", "100006"]
    assert (rows["100001"]["tp1"], rows["100001"]["tp2"], rows["100001"]["final"]) == (9.0, 6.0, 5.0)
    assert (rows["100002"]["nombre"], rows["100002"]["tp1"]) == ("Díaz, Bruno", 10.0)
    assert [rows["100006"][f"tp{i}_status"] for i in (1, 2, 3)] == ["missing"] * 3
    assert rows["100006"]["condition"] == "desaprobado"
    assert collected.problems == ["zoe (tp1): no coincide con nadie del padrón padron.csv; no "
                                  "figura en la planilla"]


def test_two_results_of_one_student_keep_the_one_matched_by_padron(tmp_path):
    out = tmp_path / "res"
    for item in (result("ana_garcia", "tp1", 2.0), result("100001", "tp1", 9.0)):
        results.save(item, out / item.tp / f"{item.student}.json")
    course = load_course(REPO / "course.toml")
    collected = collect(out, course)
    frame = build(collected, course, roster=read_roster(ROSTER))
    assert frame.loc[0, "tp1"] == 9.0
    assert collected.problems == ["García, Ana (100001) tiene dos resultados de tp1 (100001 y "
                                  "ana_garcia); se usó 100001"]


def test_the_cli_uses_the_roster_of_the_course_file_unless_told(graded, tmp_path):
    course = tmp_path / "course.toml"
    course.write_text((REPO / "course.toml").read_text().replace(
        'assignment = "assignments/', f'assignment = "{REPO}/assignments/')
        + f'\n[roster]\npath = "{ROSTER}"\n', encoding="utf-8")
    runner = CliRunner()
    run = runner.invoke(main, ["gradebook", str(graded), "--out", str(tmp_path / "gb.csv"),
                               "--course", str(course)])
    assert run.exit_code == 0, run.output
    assert "atención: zoe (tp1): no coincide con nadie del padrón" in run.output
    assert (tmp_path / "gb.csv").read_text().splitlines()[1].startswith("100001,\"García, Ana\",")
    other = tmp_path / "otro.csv"
    other.write_text("padrón,nombre\n555,Zoe\n", encoding="utf-8")
    run = runner.invoke(main, ["gradebook", str(graded), "--out", str(tmp_path / "gb.csv"),
                               "--course", str(course), "--roster", str(other)])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "gb.csv").read_text().splitlines()[1:] == [
        "555,Zoe,,7.00,0.00,0.00,2.33,graded,missing,missing,desaprobado"]
