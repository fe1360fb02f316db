"""The peer benchmark's assignment (``benchmarks/peer.py``, issue 23): both folders are built from
the same 16 notebooks, nbgrader's notebooks carry its markers, and each grader's verdicts are the
ones the benchmark expects. nbgrader itself is not needed: its kernel is simulated here by running
the notebook's cells in order, as ``nbgrader autograde`` does, with the hidden tests put back."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("benchmarks_peer", REPO / "benchmarks" / "peer.py")
assert _spec is not None and _spec.loader is not None
peer = importlib.util.module_from_spec(_spec)
sys.modules["benchmarks_peer"] = peer  # dataclasses look their module up while the class is made
_spec.loader.exec_module(peer)


def _sources(notebook: dict) -> list[str]:
    return [cell["source"] for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_both_graders_get_the_same_sixteen_notebooks(tmp_path):
    _, submissions = peer.build_ours(tmp_path / "grader")
    nb_course = peer.build_nbgrader(tmp_path / "nbgrader")

    ours = sorted(submissions.glob("*.ipynb"))
    theirs = sorted((nb_course / "submitted").glob(f"*/{peer.ASSIGNMENT}/{peer.ASSIGNMENT}.ipynb"))
    assert 16 == len(ours) == len(theirs)
    assert [p.stem for p in ours] == [p.parts[-3] for p in theirs]
    assert [p.read_bytes() for p in ours] == [p.read_bytes() for p in theirs]


def test_source_notebook_has_five_hidden_one_point_tests_and_students_never_see_them(tmp_path):
    source = peer.source_notebook()
    graded = [c["metadata"]["nbgrader"] for c in source["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade")]
    assert [g["points"] for g in graded] == [1] * 5
    assert all("### BEGIN HIDDEN TESTS" in s for s in _sources(source)[-5:])
    assert sum("### BEGIN SOLUTION" in s for s in _sources(source)) == 2
    for variant in peer.VARIANTS.values():
        text = json.dumps(peer.student_notebook(variant))
        assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def _as_nbgrader_would_score(variant) -> int:
    """Runs the student's cells in one namespace, then each hidden test: a test cell that raises
    scores 0, as in ``nbgrader autograde`` (which restores the hidden tests before running)."""
    namespace: dict = {}
    saved = np.allclose  # the mischievous notebook replaces it, as it would in its kernel
    try:
        for code in _sources(peer.student_notebook(variant))[:-5]:
            exec(code, namespace)
        points = 0
        for test in _sources(peer.source_notebook())[-5:]:
            try:
                exec(test, namespace)
            except Exception:
                continue
            points += 1
        return points
    finally:
        np.allclose = saved


def test_nbgrader_scores_are_the_expected_ones_when_its_kernel_is_simulated():
    assert ({name: _as_nbgrader_would_score(v) for name, v in peer.VARIANTS.items()}
            == {name: v.nbgrader for name, v in peer.VARIANTS.items()})


def test_our_verdicts_are_the_expected_ones_and_the_allclose_patch_earns_nothing(tmp_path):
    course, submissions = peer.build_ours(tmp_path / "grader")

    _, points = peer.grade_ours(course, submissions, tmp_path / "out", force=False)

    assert points == {name: v.ours for name, v in peer.VARIANTS.items()}
    assert points["patches_allclose"] == 0


def test_the_verdict_table_calls_the_allclose_disagreement_expected():
    nb = {name: float(v.nbgrader) for name, v in peer.VARIANTS.items()}
    ours = {name: float(v.ours) for name, v in peer.VARIANTS.items()}

    lines, as_expected = peer.verdict_table(nb, ours)

    assert as_expected
    assert [line for line in lines if " no" in line] == [
        line for line in lines if line.startswith("patches_allclose")]
    assert "esperado" in lines[-1]


@pytest.mark.parametrize("broken", ["passes_matmul", "patches_allclose"])
def test_the_verdict_table_flags_an_unexpected_score(broken):
    nb = {name: float(v.nbgrader) for name, v in peer.VARIANTS.items()}
    ours = {name: float(v.ours) for name, v in peer.VARIANTS.items()}
    ours[broken] = 3.0

    lines, as_expected = peer.verdict_table(nb, ours)

    assert not as_expected
    assert any(line.startswith(broken) and "INESPERADO" in line for line in lines)


def test_dry_run_builds_both_folders_without_nbgrader(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "peer.py"), "--dry-run",
                          "--keep", str(tmp_path), "--env", str(tmp_path / "no-env")],
                         capture_output=True, text=True)

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "nbgrader" / "source" / peer.ASSIGNMENT / f"{peer.ASSIGNMENT}.ipynb").is_file()
    assert len(list((tmp_path / "grader" / "entregas").glob("*.ipynb"))) == 16
    assert not (tmp_path / "no-env").exists()
