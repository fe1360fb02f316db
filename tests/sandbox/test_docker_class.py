"""The docker backend grades the example class exactly as the subprocess backend does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader import results

REPO = Path(__file__).parent.parent.parent
CLASS = REPO / "examples" / "class" / "tp1"
pytestmark = [pytest.mark.docker, pytest.mark.slow]


def grade(backend: str, out: Path) -> str:
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "tp1", str(CLASS),
                          "--out", str(out), "--backend", backend, "--jobs", "2"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    book = subprocess.run([sys.executable, "-m", "grader.cli", "gradebook", str(out), "--out",
                           str(out / "gradebook.csv")], cwd=REPO, capture_output=True, text=True)
    assert book.returncode == 0, book.stderr
    return (out / "gradebook.csv").read_text()


def test_docker_and_subprocess_give_the_same_gradebook_and_statuses(sandbox_image, tmp_path):
    docker_book = grade("docker", tmp_path / "docker")
    subprocess_book = grade("subprocess", tmp_path / "subprocess")
    assert docker_book == subprocess_book
    for path in sorted((tmp_path / "docker" / "tp1").glob("*.json")):
        in_docker = results.load(path)
        in_subprocess = results.load(tmp_path / "subprocess" / "tp1" / path.name)
        assert in_docker.environment["backend"] == "docker"
        assert [(c.id, c.status, c.points) for c in in_docker.checks] == [
            (c.id, c.status, c.points) for c in in_subprocess.checks], path.stem
