"""A submission that keeps failing the same way ends once (issue 19): a file too big is refused
before any worker starts, an import that kills or stalls the worker ends the submission with one
message, and a function whose calls keep killing the worker is not called again; the rest of the
batch, and the rest of the TP, are graded as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import results
from grader.batch.local import grade_batch
from grader.results import Status

PASSES = "def linear_forward(x, W, b):\n    return x @ W + b, (x, W, b)\ndef loop():\n    return 1\n"
IGNORES_SIGNALS = ("import signal\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):\n"
                   "    signal.signal(s, signal.SIG_IGN)\n")
MORE_LIN_CHECKS = '''import pytest
from grader.compare import assert_close, expect_tuple

@pytest.mark.exercise("lin")
@pytest.mark.parametrize("rows", [1, 2, 5])
def test_lin_more(student, reference, rng, rows):
    x = rng.standard_normal((rows, 4)); W = rng.standard_normal((4, 5)); b = rng.standard_normal(5)
    out, _ = expect_tuple(student.linear_forward(x, W, b), 2, context="linear_forward")
    assert_close(out, reference.linear_forward(x, W, b)[0], name="out", context="linear_forward")
'''


@pytest.fixture(scope="module", params=["subprocess", pytest.param("docker", marks=pytest.mark.docker)])
def graded(request, tmp_path_factory) -> Path:
    import shutil

    if request.param == "docker":
        request.getfixturevalue("sandbox_image")
    root = tmp_path_factory.mktemp("failing")
    course = root / "mini_course"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "mini_course", course)
    (course / "assignment" / "hidden" / "test_more.py").write_text(MORE_LIN_CHECKS)
    assignment = course / "assignment" / "assignment.toml"
    assignment.write_text(assignment.read_text().replace(
        'hidden_checks = ["hidden/test_hidden.py"]',
        'hidden_checks = ["hidden/test_hidden.py", "hidden/test_more.py"]'))
    toml = course / "course.toml"
    toml.write_text(toml.read_text() + "import_timeout_s = 5\nmemory_mb = 1024\n"
                    "max_submission_mb = 5\n")
    students = root / "students"
    students.mkdir()
    (students / "passes.py").write_text(PASSES)
    # A correct file padded to 50 MB (issue 19's case: 637 s and 0/10 on main at 8a2dead).
    (students / "padded.py").write_text(PASSES + "# " + "x" * (50 * 2**20) + "\n")
    (students / "import_memory.py").write_text(
        "blob = bytearray(2 * 2**30)\n" + PASSES)
    (students / "import_spins.py").write_text(IGNORES_SIGNALS + "while True:\n    pass\n" + PASSES)
    (students / "lin_spins.py").write_text(
        IGNORES_SIGNALS + "def linear_forward(x, W, b):\n    while True:\n        pass\n"
        "def loop():\n    return 1\n")
    summary = grade_batch(toml, "tp1", students, root / "out", jobs=1, backend=request.param)
    assert summary.graded == 5, summary.failed
    return root / "out" / "tp1"


def result(graded: Path, student: str) -> results.SubmissionResult:
    return results.load(graded / f"{student}.json")


@pytest.mark.slow
def test_a_file_over_the_size_limit_is_refused_before_any_worker_starts(graded):
    padded = result(graded, "padded")
    assert padded.score == 0.0 and padded.checks == []
    assert padded.load_error == ("tu archivo pesa 50.0 MB y el máximo que se califica es 5 MB "
                                 "([limits] max_submission_mb)")
    assert "worker_restarts" not in padded.environment  # no worker was started for it
    assert "max_submission_mb" in (graded / "padded.md").read_text()


@pytest.mark.slow
def test_the_rest_of_the_batch_is_graded_as_usual(graded):
    assert result(graded, "passes").score == 10.0


@pytest.mark.slow
def test_an_import_out_of_memory_ends_the_submission_with_one_message(graded):
    failed = result(graded, "import_memory")
    assert failed.load_error.startswith("al importar tu archivo (pesa ")
    assert "pasó el límite de 1024 MiB de memoria" in failed.load_error
    assert {c.status for c in failed.checks} == {Status.MEMORY}
    assert failed.environment["worker_restarts"] == 1  # one import, never retried per check


@pytest.mark.slow
def test_an_import_that_spins_ignoring_signals_ends_the_submission_with_one_timeout(graded):
    failed = result(graded, "import_spins")
    assert failed.load_error.startswith("importar tu archivo (pesa ")
    assert "llevó más de 5 s" in failed.load_error
    assert {c.status for c in failed.checks} == {Status.TIMEOUT}
    assert failed.environment["worker_restarts"] == 1
    log = (graded / "logs" / "import_spins.log").read_text()
    assert "import_spins: tiempo:" in log and "no cargó: importar tu archivo" in log


@pytest.mark.slow
def test_a_function_that_keeps_killing_the_worker_is_not_called_again(graded):
    spins = result(graded, "lin_spins")
    lin = [c for c in spins.checks if c.exercise == "lin"]
    assert len(lin) == 5 and {c.status for c in lin} == {Status.TIMEOUT}
    ran, not_retried = lin[:2], lin[2:]
    assert all(c.message.startswith("la llamada no terminó") for c in ran)
    assert all(c.message.startswith("no se volvió a llamar a linear_forward: sus 2 llamadas "
                                     "anteriores terminaron igual (la llamada no terminó")
               for c in not_retried)
    assert spins.environment["worker_restarts"] == 2  # one worker killed per call that ran
    loop = [c for c in spins.checks if c.exercise == "loop"]
    assert [c.status for c in loop] == [Status.PASS]  # its other functions are still graded
    log = (graded / "logs" / "lin_spins.log").read_text()
    assert "3 comprobaciones no llamaron a una función" in log
