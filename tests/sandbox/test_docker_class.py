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


def gradebook(out: Path, book: Path) -> str:
    run = subprocess.run([sys.executable, "-m", "grader.cli", "gradebook", str(out), "--out",
                          str(book)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return book.read_text()


def test_docker_and_subprocess_give_the_same_gradebook_and_statuses(sandbox_image, example_class,
                                                                    tmp_path):
    docker = tmp_path / "docker"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "tp1", str(CLASS),
                          "--out", str(docker), "--backend", "docker", "--jobs", "2"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # The subprocess side is the example class as README's main job grades it (shared fixture).
    in_subprocess_dir = tmp_path / "subprocess"
    (in_subprocess_dir / "tp1").mkdir(parents=True)
    for path in (example_class("tp1") / "tp1").glob("*.json"):
        (in_subprocess_dir / "tp1" / path.name).write_bytes(path.read_bytes())
    assert gradebook(docker, tmp_path / "docker.csv") == gradebook(in_subprocess_dir,
                                                                   tmp_path / "subprocess.csv")
    for path in sorted((docker / "tp1").glob("*.json")):
        in_docker = results.load(path)
        in_subprocess = results.load(in_subprocess_dir / "tp1" / path.name)
        assert in_docker.environment["backend"] == "docker"
        assert [(c.id, c.status, c.points) for c in in_docker.checks] == [
            (c.id, c.status, c.points) for c in in_subprocess.checks], path.stem
