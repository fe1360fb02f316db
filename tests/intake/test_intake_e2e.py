"""The form example end to end, as README's "Entregas del formulario" runs it: intake, grade (the
sandboxed subprocess backend, two at a time), gradebook keyed by the roster with the late policy.

examples/form/: Ana answered twice (the newest, 5 minutes late, is within the 15 minutes of
grace), Bruno typed his padrón wrong and is two days late (-20%), Carla is a day late but has a
three-day extension, Gabriela's notebook is corrupt, Diego's file is missing, Hernán handed in
nothing and Juan Nadie is in no list.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
FORM = REPO / "examples" / "form"
pytestmark = pytest.mark.slow

HEADER = ["padron", "nombre", "email", "tp1", "final", "tp1_status", "condition", "tp1_raw",
          "tp1_late_days", "tp1_penalty"]
GRADEBOOK = [
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


def grader(*args: str | Path) -> str:
    run = subprocess.run([sys.executable, "-m", "grader.cli", *map(str, args)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_the_form_example_grades_into_the_right_gradebook_and_reports_every_anomaly(tmp_path):
    course = FORM / "course.toml"
    grader("intake", "tp1", "--form", FORM / "respuestas.csv", "--uploads", FORM / "uploads.zip",
           "--out", tmp_path / "entregas", "--course", course)
    graded = grader("grade", "tp1", tmp_path / "entregas", "--out", tmp_path / "res", "--jobs", "2",
                    "--course", course)
    assert "4 entregas: 4 calificadas ahora" in graded
    grader("gradebook", tmp_path / "res", "--out", tmp_path / "gb.csv", "--course", course)
    assert read(tmp_path / "gb.csv") == [HEADER, *GRADEBOOK]

    stored = json.loads((tmp_path / "res" / "tp1" / "100002.json").read_text())
    assert stored["submitted_at"] == "2026-09-13T10:15:00-03:00"
    gabriela = json.loads((tmp_path / "res" / "tp1" / "100005.json").read_text())
    assert "100005.ipynb no es un notebook" in gabriela["load_error"]
    report = (tmp_path / "entregas" / "intake.md").read_text()
    for expected in (
            "tp1 - Juan Nadie.py: no hay una respuesta del formulario de 'Juan Nadie' para tp1",
            "Diego Martín (100004): la respuesta de la fila 4 no tiene un archivo .py o .ipynb",
            "Ana García (100001): la respuesta de la fila 2 (10/09/2026 19:12) fue reemplazada",
            "tp1 borrador - Ana García.ipynb (de la fila 2) no se calificó",
            "Bruno Díaz (100002): el padrón del formulario ('10002') no está en el padrón; se "
            "identificó por email",
            "Martín, Diego (100004) no tiene entrega de tp1",
            "Torres, Hernán (100006) no tiene entrega de tp1",
            "tp1 - Gabriela Sosa.ipynb no es un notebook (JSON ilegible",
            "## Anomalías (8)", "._tp1 - Ana García.ipynb`", "/.DS_Store`"):
        assert expected in report

    # Taking Carla's extension away changes her grade, and regrades nothing.
    strict = tmp_path / "course.toml"
    strict.write_text(course.read_text(encoding="utf-8").replace('"../../', f'"{REPO}/')
                      .replace('"padron.csv"', f'"{FORM}/padron.csv"').replace("100003 = 3", ""),
                      encoding="utf-8")
    again = grader("grade", "tp1", tmp_path / "entregas", "--out", tmp_path / "res", "--jobs", "2",
                   "--course", strict)
    assert "4 entregas: 0 calificadas ahora, 4 ya estaban" in again
    grader("gradebook", tmp_path / "res", "--out", tmp_path / "gb2.csv", "--course", strict)
    carla = read(tmp_path / "gb2.csv")[3]
    assert carla == ["100003", "López, Carla", "clopez@fi.uba.ar", "8.10", "8.10", "graded", "aprobado",
                     "9.00", "1", "0.90"]
