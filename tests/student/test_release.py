"""What each TP's students get (``grader release``): the starter, the public checks with baked
values and the worker helpers, never hidden checks or reference code, and it works without the
course. What only TP1 ships or promises is tested in tests/tp1/test_tp1_release.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).parents[2]
TPS = ("tp1", "tp2", "tp3")
#: A correct solution per TP, how the student's check finds the bundle's checks (in the folder it
#: runs in, or given with --checks from elsewhere) and the public checks' points.
SOLVED = {"tp1": ("examples/class/tp1/ana_garcia.py", "--checks", 20),
          "tp2": ("reference_solutions/tp2/tp2.py", "folder", 20),
          "tp3": ("examples/class/tp3/bruno_diaz.py", "--checks", 20)}


@pytest.mark.parametrize("tp", TPS)
def test_the_bundle_holds_the_starter_public_checks_helpers_and_baked_values(released, tp):
    bundle = released(tp)
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert files == ["README.md", "checks/assignment.toml", "checks/expected.msgpack",
                     "checks/test_public.py", "checks/worker_helpers.py", "requirements.txt",
                     f"{tp}.ipynb", f"{tp}.py"]
    assert 'worker_helpers = "worker_helpers.py"' in (bundle / "checks/assignment.toml").read_text()


@pytest.mark.parametrize("tp", TPS)
def test_the_bundle_contains_no_hidden_check_or_reference_canary(released, tp):
    bundle = released(tp)
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in bundle.rglob("*")
                     if p.is_file())
    number = tp.removeprefix("tp")
    assert f"CANARY-REFERENCE-TP{number}" not in text and f"CANARY-HIDDEN-TP{number}" not in text
    hidden = (REPO / f"assignments/{tp}/hidden/test_hidden.py").read_text()
    public = (REPO / f"assignments/{tp}/public/test_public.py").read_text()
    names = [line.split("(")[0][4:] for line in hidden.splitlines() if line.startswith("def test_")]
    only_hidden = [n for n in names if n not in public]
    assert only_hidden
    assert not [n for n in only_hidden if n in text]


@pytest.mark.parametrize(("tp", "solution", "found_by", "points"),
                         [pytest.param(tp, *SOLVED[tp], id=f"{tp}-{SOLVED[tp][1]}") for tp in TPS])
def test_a_student_checks_a_correct_solution_with_the_bundle_only(released, tmp_path, tp, solution,
                                                                  found_by, points):
    # What a student who solved everything sees, with no course repository around.
    work = tmp_path / "alumno"
    if found_by == "folder":
        shutil.copytree(released(tp), work)
        where = []
    else:
        work.mkdir()
        where = ["--checks", str(released(tp) / "checks")]
    shutil.copyfile(REPO / solution, work / f"{tp}.py")
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", tp, f"{tp}.py", *where],
                         cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{points} / {points} puntos (10.00 / 10)" in run.stdout, run.stdout


@pytest.mark.parametrize("tp", TPS)
def test_the_bundle_check_of_the_starter_says_not_implemented(released, tp):
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", tp, f"{tp}.py"],
                            cwd=released(tp), capture_output=True, text=True)
    assert result.returncode == 1
    assert "no está implementado todavía" in result.stdout
    assert "(0.00 / 10)" in result.stdout
