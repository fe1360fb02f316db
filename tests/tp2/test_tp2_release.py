"""TP2's student bundle: public checks that need worker helpers still run from the bundle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_course
from grader.release import release

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return release(load_course(REPO / "course.toml"), "tp2", tmp_path_factory.mktemp("dist") / "tp2")


def test_the_bundle_ships_the_worker_helpers_and_no_secrets(bundle):
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert files == ["README.md", "checks/assignment.toml", "checks/expected.msgpack",
                     "checks/test_public.py", "checks/worker_helpers.py", "tp2.ipynb", "tp2.py"]
    assert 'worker_helpers = "worker_helpers.py"' in (bundle / "checks/assignment.toml").read_text()
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in bundle.rglob("*")
                     if p.is_file())
    assert "CANARY-REFERENCE-TP2" not in text and "CANARY-HIDDEN-TP2" not in text


def test_a_student_checks_a_correct_solution_from_the_bundle(bundle, tmp_path):
    # What a student who solved everything sees, with no course repository around.
    work = tmp_path / "alumno"
    shutil.copytree(bundle, work)
    shutil.copyfile(REPO / "reference_solutions" / "tp2" / "tp2.py", work / "tp2.py")
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", "tp2", "tp2.py"],
                         cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "20 / 20 puntos (10.00 / 10)" in run.stdout
