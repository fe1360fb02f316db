"""The pytest plugin: check files of different assignments never mix in one process, and measured
credit is the student's, whatever their outputs."""

from __future__ import annotations

import shutil

import pytest

from grader.course import load_course
from grader.engine.grade import grade_submission
from grader.errors import ConfigError
from grader.student.check import check_file


def test_two_assignments_with_the_same_check_file_names_run_their_own_checks(mini_course,
                                                                              tmp_path,
                                                                              monkeypatch):
    other = tmp_path / "other"
    shutil.copytree(mini_course, other)
    toml = other / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace('name = "lin"', 'name = "lineal"'))
    public = other / "assignment" / "public" / "test_public.py"
    public.write_text(public.read_text().replace('exercise("lin")', 'exercise("lineal")'))
    hidden = other / "assignment" / "hidden" / "test_hidden.py"
    hidden.write_text(hidden.read_text().replace('exercise("lin"', 'exercise("lineal"'))

    for course, exercise in ((mini_course, "lin"), (other, "lineal"), (mini_course, "lin")):
        monkeypatch.chdir(course)
        report = check_file("tp1", course / "students" / "passes_all.py")
        assert {c.exercise for c in report.checks} == {exercise, "loop"}
        assert report.passed


def test_student_tracebacks_name_the_file_not_the_sandbox_copy():
    from grader.engine.plugin import student_message
    from grader.errors import StudentError

    error = StudentError("ValueError", "malo",
                         '  File "/sandbox/tp1.py", line 3, in relu_forward\n    raise ValueError\n')
    message = student_message(error, "tp1.py")
    assert message.startswith("el código lanzó ValueError: malo")
    assert 'File "tp1.py", line 3, in relu_forward' in message
    assert "/sandbox" not in message


def test_a_missing_function_is_named():
    from grader.engine.plugin import student_message
    from grader.errors import StudentError

    error = StudentError("AttributeError", "module 'tp1' has no attribute 'relu_forward'")
    assert student_message(error, "tp1.py") == "tp1.py no define 'relu_forward'"


def test_a_bug_in_the_grader_stops_grading_instead_of_failing_the_student(mini_course,
                                                                          monkeypatch):
    import pytest

    from grader.errors import GraderError
    from grader.runtime import protocol

    monkeypatch.chdir(mini_course)
    # Any grader function called wrongly: a TypeError raised inside the grader's own code.
    monkeypatch.setattr("grader.engine.session.Session.module", protocol.Encoder.encode)
    with pytest.raises(GraderError, match="error interno del calificador"):
        check_file("tp1", mini_course / "students" / "passes_all.py")


def test_a_student_ending_the_test_session_in_process_never_reads_as_a_pass(mini_course, tmp_path):
    # In process (the student's own machine) pytest.exit(returncode=0) from student code ends the
    # session with code 0: the checks that never ran must still count, as errors.
    student = tmp_path / "tp1.py"
    student.write_text("import pytest\n\n"
                       "def linear_forward(x, W, b):\n    return x @ W + b, (x, W, b)\n\n"
                       "def loop():\n    pytest.exit('listo', returncode=0)\n")
    course = load_course(mini_course / "course.toml")
    result = grade_submission(course, "tp1", student, student="ana", backend="inprocess")
    statuses = {c.id: c.status.value for c in result.checks}
    assert statuses == {"public::test_lin": "PASS", "public::test_loop": "ERROR",
                        "hidden::test_lin_hidden": "ERROR"}
    assert all("terminó la sesión" in c.message for c in result.checks if c.status.value == "ERROR")
    assert result.score < 10


def test_a_hidden_check_records_no_value_that_gives_away_the_expected_one(mini_course):
    # fails_linear_transposed returns out.T: in the hidden check (square out) the values differ.
    course = load_course(mini_course / "course.toml")
    result = grade_submission(course, "tp1", mini_course / "students" / "fails_linear_transposed.py",
                              student="ana", backend="inprocess")
    hidden = next(c for c in result.checks if c.id == "hidden::test_lin_hidden")
    assert hidden.status.value == "FAIL"
    assert hidden.message.startswith("linear_forward: out difiere: error relativo máx ")
    assert "obtenido" not in hidden.message and "error absoluto" not in hidden.message


def test_a_metric_of_nan_is_the_students_zero_credit_never_a_course_error():
    # A diverged model gives nan predictions, and the check's RMSE is nan: that is no credit
    # for the student, not "comprobaciones mal definidas" for the whole submission (issue 17).
    from grader.engine.plugin import Credit

    credit = Credit()
    credit.award(float("nan"), "RMSE nan sobre 400 pares")
    assert credit.fraction == 0.0
    assert credit.message == ("RMSE nan sobre 400 pares (la métrica dio nan: hay nan o inf en lo "
                              "que devolvió tu código)")
    with pytest.raises(ConfigError, match=r"entre 0 y 1; llegó 1\.5"):
        credit.award(1.5, "un error de quien escribió la comprobación")


# --- a check that fails on CUDA by float32 noise is re-run on CPU (issue 21) ----------------

CUDA_CHECKS = '''\
import pytest

from grader.compare import assert_close


@pytest.mark.exercise("lin")
def test_double(student, device, rng, credit):
    x = rng.normal(size=4)
    assert_close(student.double(x, device), 2 * x, name="out", rtol=1e-7, atol=0)
    credit.award(1.0, "ok")
'''


class FakeCudaStudent:
    """A provider whose student code runs on "cuda": what ``double`` returns on each device is
    the test's choice (a correct submission off by float32 noise, a wrong one...)."""

    call_timeout_s = 1.0
    load_failure = None

    def __init__(self, factors: dict[str, float]) -> None:
        from grader.sandbox.base import Limits

        self.limits = Limits()
        self.factors = factors
        self.seeds: list[int] = []
        self.inputs: list[tuple[str, list[float]]] = []

    device = "cuda"

    def module(self):
        provider = self

        class Module:
            @staticmethod
            def double(x, device):
                provider.inputs.append((device, list(x)))
                return 2 * x * provider.factors[device]

        return Module()

    def begin_check(self, seed: int) -> None:
        self.seeds.append(seed)

    def helpers(self):
        raise AssertionError("not used")

    def take_output(self) -> str:
        return ""


def run_on_fake_cuda(mini_course, tmp_path, factors):
    from grader.course.load import load_assignment
    from grader.engine.plugin import GradingPlugin, run_checks

    checks = tmp_path / "test_cuda.py"
    checks.write_text(CUDA_CHECKS)
    provider = FakeCudaStudent(factors)
    plugin = GradingPlugin(assignment=load_assignment(mini_course / "assignment"),
                           provider=provider, reference=None, public_files={checks},
                           forbidden={})
    [result] = run_checks([checks], plugin, rootdir=tmp_path)
    return result, plugin.staff_notes, provider


def test_a_correct_submission_off_by_float32_noise_on_cuda_is_rerun_on_cpu_and_not_charged(
        mini_course, tmp_path):
    result, notes, provider = run_on_fake_cuda(mini_course, tmp_path,
                                               {"cuda": 1 + 3e-6, "cpu": 1.0})
    assert (result.status.value, result.credit) == ("PASS", 1.0)
    # Same inputs and the same worker seed on both runs: only the device changed.
    assert [device for device, _ in provider.inputs] == ["cuda", "cpu"]
    assert provider.inputs[0][1] == provider.inputs[1][1]
    assert len(provider.seeds) == 2 and provider.seeds[0] == provider.seeds[1]
    assert notes == ["public::test_double: falló en CUDA por un error relativo de 3.0e-06 (ruido "
                     "de float32: hasta 0.001); se volvió a correr en CPU, y pasó: no se cobra"]


def test_a_submission_wrong_by_a_little_still_loses_the_points_on_the_cpu_rerun(
        mini_course, tmp_path):
    result, notes, _ = run_on_fake_cuda(mini_course, tmp_path, {"cuda": 1 + 1e-4, "cpu": 1 + 1e-4})
    assert result.status.value == "FAIL" and result.message.startswith("out difiere")
    assert notes[0].endswith("se volvió a correr en CPU, y falló también ahí: se cobra")


def test_a_wrong_submission_on_cuda_is_charged_without_a_rerun(mini_course, tmp_path):
    result, notes, provider = run_on_fake_cuda(mini_course, tmp_path, {"cuda": 1.5, "cpu": 1.0})
    assert result.status.value == "FAIL"
    assert [device for device, _ in provider.inputs] == ["cuda"] and notes == []


def test_importing_the_checks_leaves_their_libraries_loaded_and_runs_none(tmp_path, monkeypatch):
    # issue 23: a warm process imports what the checks need (TP1's hidden checks: torch) before
    # its first submission arrives, and forgets the check modules as after every run.
    import sys

    from grader.engine.plugin import import_checks

    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "heavy_lib_of_the_checks.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(libs))
    checks = tmp_path / "assignment" / "hidden"
    checks.mkdir(parents=True)
    ran = tmp_path / "ran.txt"
    (checks / "test_hidden.py").write_text(
        "import pathlib\n\nimport heavy_lib_of_the_checks\n\n\n"
        f"def test_it():\n    pathlib.Path({str(ran)!r}).write_text('corrió')\n")
    monkeypatch.delitem(sys.modules, "heavy_lib_of_the_checks", raising=False)
    import_checks([checks / "test_hidden.py"], rootdir=tmp_path / "assignment")
    assert "heavy_lib_of_the_checks" in sys.modules
    assert not any(str(getattr(m, "__file__", "") or "").startswith(str(checks))
                   for m in list(sys.modules.values()))
    assert not ran.exists()
