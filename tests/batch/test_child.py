"""The trusted child's log (``OUT/TP/logs/STUDENT.log``): staff see every check, its whole message
and what the student's code printed, hidden checks included; the student's reports never do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.batch.local import grade_batch
from grader.results import SubmissionResult

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parents[1] / "fixtures"
PRINTS_ITS_INPUTS = '''\
import sys

print("cargando datos al importar")
print("aviso al importar", file=sys.stderr)


def linear_forward(x, W, b):
    print(f"entrada x de forma {x.shape}, x[0, 0] = {x[0, 0]:.6f}")
    return (x @ W + b).T, None


def loop():
    return 1
'''
"""Fails both ``lin`` checks and prints its inputs in each: the hidden check's are hidden inputs."""


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SubmissionResult]:
    """One batch of the mini course with one submission: the course, the results, its result."""
    root = tmp_path_factory.mktemp("child_log")
    course = root / "mini_course"
    shutil.copytree(FIXTURES / "mini_course", course)
    folder = root / "entregas"
    folder.mkdir()
    (folder / "prints_its_inputs.py").write_text(PRINTS_ITS_INPUTS)
    events = []
    grade_batch(course / "course.toml", "tp1", folder, root / "res", jobs=1,
                on_event=events.append)
    assert [e.kind for e in events] == ["graded"]
    assert events[0].result is not None
    return course, root / "res", events[0].result


def hidden_check(result: SubmissionResult):
    [check] = [c for c in result.checks if c.visibility == "hidden"]
    return check


def test_the_log_of_a_failing_submission_has_each_checks_message_and_what_it_printed(batch):
    _, out, result = batch
    log = (out / "tp1" / "logs" / "prints_its_inputs.log").read_text()
    hidden = hidden_check(result)
    assert hidden.status.value == "FAIL" and "linear_forward: out difiere" in hidden.message
    assert "hidden::test_lin_hidden · ejercicio lin · incorrecto (FAIL)" in log
    assert "  | " + hidden.message in log
    assert "  | entrada x de forma (2, 3), x[0, 0] = " in log  # printed during the hidden check
    assert "  | entrada x de forma (3, 4), x[0, 0] = " in log  # during the public one
    assert "  | cargando datos al importar\n  | aviso al importar\n" in log
    assert log.startswith("== prints_its_inputs · tp1 · registro de la cátedra ==\n")
    assert "prints_its_inputs: tiempo: " in log
    assert log.endswith(f"prints_its_inputs: {result.score:.2f} ({result.duration_s:.1f} s)\n")


def test_the_students_reports_never_show_what_the_hidden_check_printed(batch):
    _, out, result = batch
    hidden_line = hidden_check(result).output.strip()
    assert hidden_line.startswith("entrada x de forma (2, 3)")
    for suffix in (".md", ".html"):
        report = (out / "tp1" / f"prints_its_inputs{suffix}").read_text()
        assert "entrada x de forma (3, 4)" in report  # a public check's output is shown
        assert "entrada x de forma (2, 3)" not in report
        assert hidden_line.split("= ")[1] not in report


def test_a_rerun_that_reuses_the_result_keeps_the_log(batch):
    course, out, _ = batch
    log = out / "tp1" / "logs" / "prints_its_inputs.log"
    before = log.read_text()
    summary = grade_batch(course / "course.toml", "tp1", out.parent / "entregas", out, jobs=1)
    assert (summary.reused, summary.graded) == (1, 0)
    assert log.read_text() == before
    assert "hidden::test_lin_hidden · ejercicio lin · incorrecto (FAIL)" in before
