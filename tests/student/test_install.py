"""A student's whole path on a clean machine (issue 18): the grader's wheel and the bundle's
``requirements.txt`` into a fresh virtual environment, then ``grader check`` on each TP's starter
and on one buggy file, with nothing else installed.

The environment is built once for the module: the wheel alone first (``grader check tp2`` must then
name torch, in one message with the install line), then ``pip install -r requirements.txt``. torch
is pinned to this machine's CPU build with a constraints file; everything else comes from the
package index, as a student's would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from importlib.metadata import version
from pathlib import Path

import pytest
from mutant_batches import mutant_source, mutants  # tests/ is on sys.path (prepend import mode)

pytestmark = pytest.mark.slow
REPO = Path(__file__).parents[2]
TPS = ("tp1", "tp2", "tp3")


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def student_machine(tmp_path_factory):
    """A fresh venv with the grader's wheel installed, and each TP's bundle built with
    ``--with-wheel`` (so its requirements.txt installs the grader from the bundle)."""
    root = tmp_path_factory.mktemp("student")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    bundles = {}
    for tp in TPS:
        bundles[tp] = root / tp
        done = run(sys.executable, "-m", "grader.cli", "release", tp, "--out", bundles[tp],
                   "--with-wheel", "--course", REPO / "course.toml", cwd=REPO)
        assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = bundles["tp1"].glob("fiuba_ap_grader-*.whl")
    done = run(python, "-m", "pip", "install", "--quiet", wheel)
    assert done.returncode == 0, done.stdout + done.stderr
    return python, bundles


def test_the_bundle_says_how_to_install_and_lists_the_tps_packages(student_machine):
    _, bundles = student_machine
    for tp in TPS:
        readme = (bundles[tp] / "README.md").read_text()
        assert "pip install -r requirements.txt" in readme
        lines = (bundles[tp] / "requirements.txt").read_text().splitlines()
        assert lines[0].startswith("./fiuba_ap_grader-") and lines[0].endswith(".whl")
        assert (bundles[tp] / lines[0]).is_file()
        assert ("torch>=2.1" in lines) == (tp != "tp1")


def test_without_torch_check_names_every_missing_package_with_the_install_line(student_machine):
    python, bundles = student_machine
    assert run(python, "-c", "import torch").returncode != 0, "the clean venv already has torch"
    done = run(python, "-m", "grader.cli", "check", "tp2", "tp2.py", cwd=bundles["tp2"])
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, text
    assert "faltan estos paquetes de Python: torch>=2.1" in text
    assert "pip install -r requirements.txt" in text
    assert "mal definidas" not in text and "Traceback" not in text and "pytest" not in text


@pytest.mark.parametrize("tp", TPS)
def test_after_installing_requirements_the_starter_and_a_buggy_file_get_the_table(
        student_machine, tp):
    python, bundles = student_machine
    constraints = bundles[tp] / "constraints.txt"
    # This machine's CPU torch; the package index's newest is a multi-GB CUDA build.
    constraints.write_text(f"torch=={version('torch').split('+')[0]}\n")
    done = run(python, "-m", "pip", "install", "--quiet", "-r", "requirements.txt",
               "-c", constraints, cwd=bundles[tp])
    assert done.returncode == 0, done.stdout + done.stderr
    buggy = bundles[tp] / "buggy.py"
    buggy.write_text(mutant_source(tp, next(iter(mutants(tp)))))
    for file, exit_codes in ((f"{tp}.py", {1}), ("buggy.py", {1})):
        done = run(python, "-m", "grader.cli", "check", tp, file, cwd=bundles[tp])
        text = done.stdout + done.stderr
        assert done.returncode in exit_codes, text
        assert "Traceback" not in text and "mal definidas" not in text, text
        # One line per exercise of the public checks, with its points.
        assert text.count(" / ") >= 3, text
