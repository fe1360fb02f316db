"""What TP3 students get never contains hidden checks or reference code, and it works."""

from __future__ import annotations

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
    return release(load_course(REPO / "course.toml"), "tp3", tmp_path_factory.mktemp("dist") / "tp3")


def test_the_bundle_holds_the_starter_public_checks_helpers_and_baked_values(bundle):
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert files == ["README.md", "checks/assignment.toml", "checks/expected.msgpack",
                     "checks/test_public.py", "checks/worker_helpers.py", "tp3.ipynb", "tp3.py"]


def test_the_bundle_contains_no_hidden_check_or_reference_code(bundle):
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in bundle.rglob("*")
                     if p.is_file())
    assert "CANARY-REFERENCE-TP3" not in text and "CANARY-HIDDEN-TP3" not in text
    hidden = (REPO / "assignments/tp3/hidden/test_hidden.py").read_text()
    names = [line.split("(")[0][4:] for line in hidden.splitlines() if line.startswith("def test_")]
    assert names and not [n for n in names if n in text]


def test_the_bundle_checks_a_correct_solution_with_baked_values_only(bundle, tmp_path):
    target = tmp_path / "tp3.py"
    target.write_text((REPO / "examples/class/tp3/bruno_diaz.py").read_text())
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", "tp3", str(target),
                             "--checks", str(bundle / "checks")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(10.00 / 10)" in result.stdout
