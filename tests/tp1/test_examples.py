"""README's main job: grading the example class gives the TP1 column of examples/class/EXPECTED-tp1.md."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from grader import results

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow

EXPECTED_TP1 = {"ana_garcia": "10.00", "bruno_diaz": "10.00", "carla_lopez": "9.00",
                "diego_martin": "9.50", "elena_ruiz": "9.50", "fede_gomez": "10.00",
                "gabi_sosa": "0.00"}


@pytest.fixture(scope="module")
def graded(example_class) -> Path:
    return example_class("tp1")


def test_the_gradebook_tp1_column_is_right_for_every_example(graded, tmp_path):
    book = tmp_path / "gradebook.csv"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "gradebook", str(graded), "--out",
                          str(book)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with book.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["student"]: r["tp1"] for r in rows} == EXPECTED_TP1
    assert {r["student"]: r["tp1_status"] for r in rows}["gabi_sosa"] == "load_error"


def test_each_bug_costs_exactly_its_exercise(graded):
    def lost(student):
        result = results.load(graded / "tp1" / f"{student}.json")
        return {e.name for e in result.exercises if e.earned < e.points}

    assert lost("carla_lopez") == {"linear"}
    assert lost("diego_martin") == {"relu"}
    assert lost("elena_ruiz") == {"tanh"}
    assert lost("ana_garcia") == lost("bruno_diaz") == lost("fede_gomez") == set()


def test_the_failures_carry_their_status_and_reason(graded):
    diego = results.load(graded / "tp1" / "diego_martin.json")
    elena = results.load(graded / "tp1" / "elena_ruiz.json")
    carla = results.load(graded / "tp1" / "carla_lopez.json")
    assert {c.status.value for c in diego.checks if c.exercise == "relu"} == {"CRASH"}
    assert any("código 3" in c.message for c in diego.checks)
    assert {c.status.value for c in elena.checks if c.exercise == "tanh"} == {"TIMEOUT"}
    assert any("db difiere" in c.message for c in carla.checks if c.exercise == "linear")
    gabi = results.load(graded / "tp1" / "gabi_sosa.json")
    assert "línea 23" in gabi.load_error


def test_the_notebook_example_is_graded_like_a_module(graded):
    fede = results.load(graded / "tp1" / "fede_gomez.json")
    assert fede.submission_file == "fede_gomez.ipynb" and fede.score == 10.0


def test_each_student_gets_a_spanish_report(graded):
    report = (graded / "tp1" / "carla_lopez.md").read_text()
    assert "Nota: **9.00 / 10**" in report
    assert "## Qué falló" in report and "Capa lineal" in report
