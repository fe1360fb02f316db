"""An instructor's term, end to end on the form example (issue 20): intake, grade, a manual
adjustment, a check changed mid-term (the regrade explains itself in ``cambios.md``), the
gradebook, the class report and the Moodle export, each output checked line by line.

examples/form/ (see its README): Ana 10, Bruno 10 two days late (-20%), Carla 9 (her
``linear_backward`` sums ``db`` wrong; a three-day extension covers her day late), Diego's file
is missing, Gabriela's notebook is corrupt (load error), Hernán handed in nothing. Mid-term the
staff fix the public ``linear_backward`` check so it no longer compares ``db`` and re-weigh
``linear`` to 3 points; Gabriela mailed her notebook and gets a manual 7.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
FORM = REPO / "examples" / "form"
pytestmark = pytest.mark.slow

ADJUSTMENT = """\
[[adjustment]]
student = "100005"
tp = "tp1"
score = 7
by = "M. Pérez"
date = 2026-09-14
reason = "mandó por mail el notebook sano"
"""


def grader(*args: str | Path, code: int = 0) -> str:
    run = subprocess.run([sys.executable, "-m", "grader.cli", *map(str, args)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == code, run.stdout + run.stderr
    return run.stdout + run.stderr


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def term(tmp_path: Path) -> Path:
    """The form example's course with its own copy of the TP1 checks (to change them) and an
    adjustments file."""
    assignment = tmp_path / "tp1"
    shutil.copytree(REPO / "assignments" / "tp1", assignment)
    text = (FORM / "course.toml").read_text(encoding="utf-8")
    text = (text.replace('"../../assignments/tp1"', f'"{assignment}"')
            .replace('"../../reference_solutions/tp1"', f'"{REPO / "reference_solutions" / "tp1"}"')
            .replace('"padron.csv"', f'"{FORM / "padron.csv"}"'))
    (tmp_path / "course.toml").write_text(text + '\n[adjustments]\npath = "ajustes.toml"\n',
                                          encoding="utf-8")
    (tmp_path / "ajustes.toml").write_text("", encoding="utf-8")
    return tmp_path


def change_checks(assignment: Path) -> None:
    """What the staff change mid-term: the public backward check stops comparing ``db``, and
    ``linear`` is worth 3 points instead of 2."""
    public = assignment / "public" / "test_public.py"
    before = 'zip(("dx", "dW", "db"), grads, expected, strict=True)'
    text = public.read_text(encoding="utf-8")
    assert text.count(before) == 1
    public.write_text(text.replace(before, 'zip(("dx", "dW"), grads[:2], expected[:2], strict=True)'),
                      encoding="utf-8")
    toml = assignment / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    before = 'name = "linear"\ntitle = "Capa lineal"\npoints = 2'
    assert text.count(before) == 1
    toml.write_text(text.replace(before, before[:-1] + "3"), encoding="utf-8")


GRADEBOOK_BEFORE = [
    ["padron", "nombre", "email", "tp1", "final", "tp1_status", "condition", "tp1_raw",
     "tp1_late_days", "tp1_penalty"],
    ["100001", "García, Ana", "ana.garcia@fi.uba.ar", "10.00", "10.00", "graded", "aprobado", "10.00",
     "0", "0.00"],
    ["100002", "Díaz, Bruno", "bdiaz@fi.uba.ar", "8.00", "8.00", "graded", "aprobado", "10.00", "2",
     "2.00"],
    ["100003", "López, Carla", "clopez@fi.uba.ar", "9.00", "9.00", "graded", "aprobado", "9.00", "0",
     "0.00"],
    ["100004", "Martín, Diego", "dmartin@fi.uba.ar", "0.00", "0.00", "missing", "desaprobado", "0.00",
     "", "0.00"],
    ["100005", "Sosa, Gabriela", "gsosa@fi.uba.ar", "0.00", "0.00", "load_error", "desaprobado",
     "0.00", "0", "0.00"],
    ["100006", "Torres, Hernán", "htorres@fi.uba.ar", "0.00", "0.00", "missing", "desaprobado",
     "0.00", "", "0.00"],
]


def test_a_term_goes_from_the_form_to_the_campus_and_every_change_explains_itself(term: Path):
    course = term / "course.toml"
    subs, res = term / "entregas", term / "res"
    grader("intake", "tp1", "--form", FORM / "respuestas.csv", "--uploads", FORM / "uploads.zip",
           "--out", subs, "--course", course)
    graded = grader("grade", "tp1", subs, "--out", res, "--jobs", "2", "--course", course)
    assert "4 entregas: 4 calificadas ahora" in graded
    assert not (res / "tp1" / "cambios.md").exists()  # first grading: nothing changed
    grader("gradebook", res, "--out", term / "gb0.csv", "--course", course)
    assert rows(term / "gb0.csv") == GRADEBOOK_BEFORE

    # The staff log shows Carla's failing check, its message and its status.
    log = (res / "tp1" / "logs" / "100003.log").read_text(encoding="utf-8")
    assert "public::test_linear_backward" in log and "db" in log and "FAIL" in log

    # Mid-term: the checks change. A dry run says who would be regraded and why, writing nothing.
    change_checks(term / "tp1")
    before = sorted(p.name for p in (res / "tp1").iterdir())
    dry = grader("grade", "tp1", subs, "--out", res, "--dry-run", "--course", course)
    assert dry.count("cambiaron las comprobaciones") == 4, dry
    assert sorted(p.name for p in (res / "tp1").iterdir()) == before

    regraded = grader("grade", "tp1", subs, "--out", res, "--jobs", "2", "--course", course)
    assert "4 calificadas ahora" in regraded and "cambios.md" in regraded
    changes = rows(res / "tp1" / "cambios.csv")
    assert changes[0] == ["student", "tp", "reason", "old_score", "new_score", "changed_checks"]
    by_student = {row[0]: row[1:] for row in changes[1:]}
    assert sorted(by_student) == ["100001", "100002", "100003", "100005"]
    assert by_student["100003"] == ["tp1", "cambiaron las comprobaciones", "9.00", "8.57",
                                    "public::test_linear_backward: FAIL -> PASS"]
    assert by_student["100001"] == ["tp1", "cambiaron las comprobaciones", "10.00", "10.00", ""]
    assert by_student["100005"] == ["tp1", "cambiaron las comprobaciones", "0.00", "0.00", ""]
    summary = (res / "tp1" / "cambios.md").read_text(encoding="utf-8")
    assert "100003" in summary and "9.00" in summary and "8.57" in summary

    # A manual adjustment on top: Gabriela mailed her notebook. A regrade never loses it.
    (term / "ajustes.toml").write_text(ADJUSTMENT, encoding="utf-8")
    book = grader("gradebook", res, "--out", term / "gb.csv", "--course", course)
    assert "ajustes manuales aplicados: 1" in book
    gradebook = rows(term / "gb.csv")
    assert gradebook[0] == [*GRADEBOOK_BEFORE[0], "tp1_auto", "tp1_adjustment"]
    note = "0.00 -> 7.00, ajuste: mandó por mail el notebook sano (M. Pérez, 14/09/2026)"
    assert gradebook[1:] == [
        [*GRADEBOOK_BEFORE[1], "10.00", ""],
        [*GRADEBOOK_BEFORE[2], "8.00", ""],
        ["100003", "López, Carla", "clopez@fi.uba.ar", "8.57", "8.57", "graded", "aprobado", "8.57",
         "0", "0.00", "8.57", ""],
        [*GRADEBOOK_BEFORE[4], "0.00", ""],
        ["100005", "Sosa, Gabriela", "gsosa@fi.uba.ar", "7.00", "7.00", "load_error", "aprobado",
         "0.00", "0", "0.00", "0.00", note],
        [*GRADEBOOK_BEFORE[6], "0.00", ""],
    ]

    # The Campus: Moodle's gradebook import, keyed by padrón, blank for what was never handed in.
    grader("export", res, "--format", "moodle", "--out", term / "notas.csv", "--course", course)
    moodle = rows(term / "notas.csv")
    header = moodle[0]
    assert header[:3] == ["Número de ID", "Dirección de correo", "Nombre completo"]
    assert {"TP1", "Nota final", "TP1 (devolución)"} <= set(header)
    table = {row[0]: dict(zip(header, row, strict=True)) for row in moodle[1:]}
    assert sorted(table) == ["100001", "100002", "100003", "100004", "100005", "100006"]
    assert [table[p]["TP1"] for p in sorted(table)] == ["10", "8", "8,57", "", "7", ""]
    assert [table[p]["Nota final"] for p in sorted(table)] == ["10", "8", "8,57", "0", "7", "0"]
    assert "mandó por mail el notebook sano" in table["100005"]["TP1 (devolución)"]
    assert "100003.html" in table["100003"]["TP1 (devolución)"]

    # The class report counts the six students of the roster, like the gradebook.
    grader("report", res, "--out", term / "informe", "--course", course)
    report = (term / "informe" / "README.md").read_text(encoding="utf-8")
    assert "Estudiantes (6)" in report
    assert "Cambios de la última recalificación (4)" in report
