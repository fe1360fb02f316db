"""README's main job on the whole example class: three TPs, one third each, one gradebook."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
pytestmark = pytest.mark.slow

# examples/class/EXPECTED-tp1.md, EXPECTED-tp2.md, EXPECTED-tp3.md
EXPECTED = {  # student: (tp1, tp2, tp3, final)
    "ana_garcia": ("10.00", "10.00", "10.00", "10.00"),
    "bruno_diaz": ("10.00", "10.00", "10.00", "10.00"),
    "carla_lopez": ("9.00", "8.00", "8.50", "8.50"),
    "diego_martin": ("9.50", "9.00", "9.00", "9.17"),
    "elena_ruiz": ("9.50", "9.00", "9.50", "9.33"),
    "fede_gomez": ("10.00", "10.00", "10.00", "10.00"),
    "gabi_sosa": ("0.00", "0.00", "0.00", "0.00"),
}


def test_the_gradebook_shows_every_tp_and_the_final_grade(example_class, tmp_path):
    for tp in ("tp1", "tp2", "tp3"):
        out = example_class(tp)
    book = tmp_path / "gradebook.csv"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "gradebook", str(out), "--out",
                          str(book)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with book.open() as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    assert {s: (r["tp1"], r["tp2"], r["tp3"], r["final"]) for s, r in rows.items()} == EXPECTED
    # Gabi handed in only TP1 (which does not import): the other two are missing, not zero-graded.
    assert (rows["gabi_sosa"]["tp2_status"], rows["gabi_sosa"]["tp3_status"]) == ("missing",
                                                                                  "missing")
    assert {r["condition"] for s, r in rows.items() if s != "gabi_sosa"} == {"aprobado"}
