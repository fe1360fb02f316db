"""What students get never contains hidden checks or reference solutions."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.course import load_course
from grader.release import release

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return release(load_course(REPO / "course.toml"), "tp1", tmp_path_factory.mktemp("dist") / "tp1")


def test_the_bundle_holds_the_starter_public_checks_and_baked_values(bundle):
    files = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert files == ["README.md", "checks/assignment.toml", "checks/expected.msgpack",
                     "checks/test_public.py", "tp1.ipynb", "tp1.py"]


def test_the_bundle_contains_no_hidden_check_or_reference_code(bundle):
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in bundle.rglob("*")
                     if p.is_file())
    assert "CANARY-REFERENCE-TP1" not in text and "CANARY-HIDDEN-TP1" not in text
    hidden = (REPO / "assignments/tp1/hidden/test_hidden.py").read_text()
    public = (REPO / "assignments/tp1/public/test_public.py").read_text()
    names = [line.split("(")[0][4:] for line in hidden.splitlines() if line.startswith("def test_")]
    only_hidden = [n for n in names if n not in public]
    assert only_hidden
    assert not [n for n in only_hidden if n in text]
    reference = (REPO / "reference_solutions/tp1/tp1.py").read_text()
    public_lines = {line.strip() for path in (REPO / "assignments/tp1").rglob("*")
                    if path.is_file() and "hidden" not in path.parts
                    for line in path.read_text(errors="replace").splitlines()}
    secret = [line.strip() for line in reference.splitlines()
              if len(line.strip()) > 30 and line.strip() not in public_lines]
    assert secret, "the reference must have lines of its own to look for"
    bundle_lines = set()
    for path in bundle.rglob("*"):
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            content = "\n".join("".join(c["source"]) for c in cells)
        elif path.is_file():
            content = path.read_bytes().decode("utf-8", "replace")
        else:
            continue
        bundle_lines |= {line.strip() for line in content.splitlines()}
    assert not [line for line in secret if line in bundle_lines]


def test_the_bundle_checks_a_correct_solution_with_baked_values_only(bundle, tmp_path):
    target = tmp_path / "tp1.py"
    target.write_text((REPO / "examples/class/tp1/ana_garcia.py").read_text())
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", "tp1", str(target),
                             "--checks", str(bundle / "checks")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(10.00 / 10)" in result.stdout


def test_the_bundle_check_of_the_starter_says_not_implemented(bundle):
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", "tp1", "tp1.py"],
                            cwd=bundle, capture_output=True, text=True)
    assert result.returncode == 1
    assert "no está implementado todavía" in result.stdout
    assert "(0.00 / 10)" in result.stdout


def test_the_wheel_ships_only_the_grader_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("grader/", "grader-")) for n in names), names
    assert "grader/worker.py" in names and "grader/harness.py" in names
    content = b"".join(zipfile.ZipFile(wheel).read(n) for n in names)
    assert b"CANARY-REFERENCE-TP1" not in content and b"CANARY-HIDDEN-TP1" not in content
    assert b"test_hidden" not in content
