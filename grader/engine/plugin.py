"""The pytest plugin that runs an assignment's checks against one student's module.

Checks are ordinary pytest tests in the trusted process. They reach the student's code through
the ``student`` fixture (a proxy to the sandboxed worker, or the module itself in ``inprocess``
mode), the course's solution through ``reference``, and draw inputs from ``rng``. ``inworker`` is
the assignment's trusted helper module run inside the same worker (to build a DataLoader or find a
model's layers there), ``device`` is where student code should run, and ``credit.award(f, msg)``
gives a graded check a fraction of its points. Every check carries
``@pytest.mark.exercise(name, weight=1)``; a slow one ``@pytest.mark.timeout_s(s)``.

The plugin turns each test's outcome into a ``CheckResult`` with a status and a Spanish message.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest

from grader.compare import CheckFailure
from grader.course import Assignment
from grader.engine import static
from grader.engine.inprocess import InprocessStudent, as_sandbox_reports
from grader.engine.session import Session
from grader.errors import (
    ConfigError,
    GraderError,
    MissingPackages,
    SandboxUnavailable,
    StudentError,
    WorkerError,
)
from grader.results import CheckResult, Status
from grader.sandbox.base import Backend, Limits, cap_threads
from grader.text import CHECK_MESSAGE_CAP, MESSAGE_CAP, TRACEBACK_CAP, TYPE_NAME_CAP, clean

_COPY_PATH = re.compile(r'File "[^"]*/([^/"]+\.py)"')
CUDA_NOISE = 1e-3
"""A check that ran student code on CUDA and failed a comparison by at most this relative error
(``CheckFailure.relative_error``) is re-run on CPU before it is charged (issue 21). float32
reductions in another order (cuBLAS, cuDNN) drift by thousands of ulps through a few layers
(~1e-4); a wrong formula is off by far more. The CPU run decides the verdict, so a wrong
submission loses exactly what it loses on CPU, and the staff log says that it happened."""


class StudentProvider(Protocol):
    """What the plugin needs from a backend session (``grader.engine.session.Session``,
    ``InprocessStudent``)."""

    call_timeout_s: float
    limits: Any
    load_failure: WorkerError | None
    """Set when importing the student's file killed or stalled the worker (it is not retried)."""

    @property
    def device(self) -> str: ...
    def module(self) -> Any: ...
    def begin_check(self, seed: int) -> None: ...
    def helpers(self) -> Any: ...
    def take_output(self) -> str: ...


class Credit:
    """The ``credit`` fixture: a check's share of points, for measured targets.

    Example:
        >>> credit.award(0.4, "exactitud 0.81: el objetivo es 0.90 (mínimo 0.75)")
    """

    def __init__(self) -> None:
        self.fraction: float | None = None
        self.message = ""

    def award(self, fraction: float, message: str) -> None:
        """Gives the check ``fraction`` (0 to 1) of its points; ``message`` says why, in Spanish."""
        fraction = float(fraction)
        if math.isnan(fraction):
            # A metric of nan comes from the student's outputs (a model that diverged): no
            # credit, and their failure, never "comprobaciones mal definidas".
            self.fraction = 0.0
            self.message = f"{message} (la métrica dio nan: hay nan o inf en lo que devolvió tu código)"
            return
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(f"credit.award espera una fracción entre 0 y 1; llegó {fraction}")
        self.fraction, self.message = fraction, message


class ForbiddenLibrary(CheckFailure):
    """A numpy-only exercise uses a forbidden library."""


def student_message(exc: StudentError, module_name: str) -> str:
    """Spanish description of an exception raised by student code, cleaned and capped (the
    sandbox's session did so already; ``inprocess`` and a notebook's kernel did not)."""
    kind, text = clean(exc.type_name, TYPE_NAME_CAP), clean(exc.message, MESSAGE_CAP)
    if kind == "NotImplementedError":
        return "no está implementado todavía (NotImplementedError" + (f": {text})" if text else ")")
    if kind == "AttributeError" and text.startswith("module "):
        name = text.rsplit("'", 2)[-2] if text.count("'") >= 4 else text
        return f"{module_name} no define {name!r}"
    message = f"el código lanzó {kind}: {text}"
    if exc.student_traceback:
        # The file ran from a private copy (/sandbox/tp1.py, a temp dir): name it as the student does.
        message += "\n" + _COPY_PATH.sub(r'File "\1"', clean(exc.student_traceback,
                                                               TRACEBACK_CAP).rstrip())
    return message


def classify(exc: BaseException, module_name: str, *, hidden: bool = False,
             student_files: Collection[str] = ()) -> tuple[Status, str]:
    """The status and message of a check that raised ``exc``; a ``hidden`` check records the
    ``CheckFailure.hidden_message`` form, which gives no reference value away. The message is
    cleaned of terminal controls and capped: a check's own message may quote what the student's
    code returned.

    The one classification for every backend. With the student's code in this process
    (``inprocess``, a notebook's kernel) ``student_files`` names where it was written, and what
    it raised is classified as the sandbox's ``StudentError`` (``as_sandbox_reports``): the
    starter's ``NotImplementedError`` is ``ERROR`` "no está implementado todavía" everywhere."""
    status, message = _classify(as_sandbox_reports(exc, student_files), module_name, hidden=hidden)
    return status, clean(message, CHECK_MESSAGE_CAP)


def _classify(exc: BaseException, module_name: str, *, hidden: bool) -> tuple[Status, str]:
    if isinstance(exc, WorkerError):
        return Status(exc.status), str(exc)
    if isinstance(exc, StudentError):
        return Status.ERROR, student_message(exc, module_name)
    if hidden and isinstance(exc, CheckFailure):
        return Status.FAIL, exc.hidden_message
    if isinstance(exc, AssertionError):
        # pytest appends its own "assert ..." explanation; the check's message comes first.
        message = str(exc).split("\nassert ")[0].strip()
        return Status.FAIL, message or "la comprobación falló"
    if isinstance(exc, (pytest.skip.Exception, pytest.fail.Exception)):
        return Status.FAIL, str(exc) or "la comprobación no se completó"
    return Status.FAIL, (f"la comprobación no pudo usar el resultado ({type(exc).__name__}: "
                         f"{str(exc)[:500]})")


class GradingPlugin:
    """Provides ``student``, ``reference`` and ``rng``, and records one result per check.

    Args:
        assignment: the TP being checked (exercise names, numpy-only rules).
        provider: gives the student's module (sandboxed or in process).
        reference: the reference module, or a replay of its baked outputs (public bundle).
        public_files: check files whose results are visible to students.
        forbidden: function name -> forbidden libraries it uses (from ``static.forbidden_uses``).
        seed_key: mixed into every ``rng`` seed (per course, so inputs are reproducible).
        hidden_seed_key: when given, replaces ``seed_key`` for the ``rng`` of hidden checks. The
            batch passes a keyed hash of the course secret and the student, so each student's
            hidden inputs differ (answers hard-coded for someone else's inputs fail) and a
            regrade draws the same ones.
    """

    def __init__(self, *, assignment: Assignment, provider: StudentProvider, reference: Any,
                 public_files: set[Path], forbidden: dict[str, list[str]],
                 seed_key: str = "", hidden_seed_key: str | None = None,
                 timed: Callable[[float], Any] | None = None,
                 exercises: frozenset[str] = frozenset(),
                 student_files: Collection[str] = ()) -> None:
        self.assignment = assignment
        self.exercises = exercises
        """Run only the checks of these exercises (empty: all)."""
        self.provider = provider
        self.reference_module = reference
        self.public_files = {p.resolve() for p in public_files}
        self.forbidden = forbidden
        self.seed_key = seed_key
        self.hidden_seed_key = hidden_seed_key
        self.timed = timed
        self.student_files = student_files
        """Where the student's code was written when it runs in this process (see ``classify``)."""
        self.results: list[CheckResult] = []
        self.problems: list[str] = []
        self.load_error = ""
        self.fatal: GraderError | None = None
        """Set when grading cannot go on at all: the sandbox does not start, or a bug of ours."""
        self.collected: list[pytest.Item] = []
        self._pending: dict[str, CheckResult] = {}
        self._credits: dict[str, Credit] = {}
        self._started: dict[str, float] = {}
        self.staff_notes: list[str] = []
        """For the staff log only (``SubmissionResult.review``): checks re-run on CPU."""

    # --- configuration -----------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "exercise(name, weight=1): the exercise a check grades")
        config.addinivalue_line("markers", "timeout_s(seconds): per-call limit of a check, in "
                                "CPU seconds of the worker")

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        names = {e.name for e in self.assignment.exercises}
        for item in items:
            marker = item.get_closest_marker("exercise")
            if marker is None or not marker.args:
                self.problems.append(f"{item.nodeid}: falta @pytest.mark.exercise(...)")
            elif marker.args[0] not in names:
                self.problems.append(f"{item.nodeid}: ejercicio desconocido {marker.args[0]!r}")
        if self.exercises:
            kept = [i for i in items if (m := i.get_closest_marker("exercise")) is not None
                    and m.args and m.args[0] in self.exercises]
            config.hook.pytest_deselected(items=[i for i in items if i not in kept])
            items[:] = kept
        self.collected = list(items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.problems.append(f"no se pudieron cargar las comprobaciones {report.nodeid}: "
                                 f"{report.longreprtext[-2000:]}")

    # --- fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> Any:
        marker = request.node.get_closest_marker("exercise")
        exercise = self.assignment.exercise(marker.args[0])
        if exercise.numpy_only:
            uses = {f: self.forbidden[f] for f in exercise.functions if f in self.forbidden}
            if uses:
                detail = "; ".join(f"{f} usa {', '.join(libs)}" for f, libs in uses.items())
                raise ForbiddenLibrary(f"este ejercicio debe resolverse solo con numpy: {detail}")
        timeout = request.node.get_closest_marker("timeout_s")
        self.provider.call_timeout_s = float(timeout.args[0]) if timeout else (
            self.provider.limits.call_timeout_s)
        try:
            module = self.provider.module()
            self.provider.begin_check(self._seed(request.node.name, "worker") % 2**63)
            return module
        except StudentError as exc:
            self.load_error = student_message(exc, f"{self.assignment.module}.py")
            raise
        except WorkerError:
            if self.provider.load_failure is not None:
                self.load_error = str(self.provider.load_failure)
            raise
        except SandboxUnavailable as exc:
            self.fatal = exc
            pytest.exit(str(exc), returncode=pytest.ExitCode.INTERNAL_ERROR)

    @pytest.fixture
    def inworker(self, student: Any) -> Any:
        return self.provider.helpers()

    @pytest.fixture
    def device(self, student: Any) -> str:
        return self.provider.device

    @pytest.fixture
    def credit(self, request: pytest.FixtureRequest) -> Credit:
        credit = Credit()
        self._credits[request.node.nodeid] = credit
        return credit

    @pytest.fixture
    def reference(self) -> Any:
        return self.reference_module

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        return self._rng(request.node)

    def _rng(self, item: pytest.Item) -> np.random.Generator:
        hidden = Path(str(item.path)).resolve() not in self.public_files
        key = self.hidden_seed_key if hidden and self.hidden_seed_key is not None else None
        return np.random.default_rng(self._seed(item.name, key=key))

    def _seed(self, check: str, purpose: str = "", *, key: str | None = None) -> int:
        key = self.seed_key if key is None else key
        digest = hashlib.sha256(f"{key}:{check}{purpose}".encode()).digest()
        return int.from_bytes(digest[:8], "little")

    # --- outcomes ----------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        try:
            if self.timed is None:
                return (yield)
            # In this process, what the student's code prints during the check is kept for its
            # feedback here, as the worker keeps it in the sandbox.
            captured = (self.provider.captured() if isinstance(self.provider, InprocessStudent)
                        else contextlib.nullcontext())
            with self.timed(self.provider.call_timeout_s * 2), captured:
                return (yield)
        except CheckFailure as exc:
            if not _cuda_noise(item, exc):
                raise
            return self._rerun_on_cpu(item, exc)

    def _rerun_on_cpu(self, item: pytest.Item, failure: CheckFailure) -> None:
        """Runs the check again with ``device="cpu"``, from the same random state; its outcome
        is the check's (see ``CUDA_NOISE``)."""
        assert isinstance(item, pytest.Function)
        record = self._new_record(item)
        note = (f"{record.id}: falló en CUDA por un error relativo de "
                f"{failure.relative_error:.1e} (ruido de float32: hasta {CUDA_NOISE:g}); se volvió "
                "a correr en CPU")
        args = item.funcargs
        args["device"] = "cpu"
        if "rng" in args:
            args["rng"] = self._rng(item)
        if "credit" in args:
            args["credit"] = self._credits[item.nodeid] = Credit()
        self.provider.begin_check(self._seed(item.name, "worker") % 2**63)
        try:
            item.runtest()
        except BaseException:
            self.staff_notes.append(f"{note}, y falló también ahí: se cobra")
            raise
        self.staff_notes.append(f"{note}, y pasó: no se cobra")

    def _new_record(self, item: pytest.Item, status: Status = Status.PASS) -> CheckResult:
        marker = item.get_closest_marker("exercise")
        visibility = "public" if Path(str(item.path)).resolve() in self.public_files else "hidden"
        return CheckResult(
            id=f"{visibility}::{item.name}", exercise=marker.args[0] if marker and marker.args
            else "?", visibility=visibility, status=status,
            weight=float(marker.kwargs.get("weight", 1)) if marker else 1.0)

    def never_ran(self) -> None:
        """Records as errors the collected checks that never reported: student code running in
        this process (``inprocess``) ended the pytest session, even with exit code 0."""
        done = {r.id for r in self.results}
        for item in self.collected:
            record = self._new_record(item, Status.ERROR)
            if record.id not in done:
                record.message = ("la comprobación no llegó a correr: el código del estudiante "
                                  "terminó la sesión de pruebas")
                self.results.append(record)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        record = self._pending.get(item.nodeid)
        if record is None:
            record = self._pending[item.nodeid] = self._new_record(item)
            self._started[item.nodeid] = time.monotonic()
        if record.status is Status.PASS:
            if call.excinfo is not None and isinstance(call.excinfo.value, MissingPackages):
                # This machine lacks a package the checks use: its environment, nobody's grade.
                self.fatal = call.excinfo.value
                item.session.shouldstop = str(call.excinfo.value)
            elif call.excinfo is not None and report.failed and isinstance(call.excinfo.value,
                                                                           ConfigError):
                # The course's checks or files are wrong: nobody's grade, stop.
                self.problems.append(f"{item.nodeid}: {call.excinfo.value}")
                item.session.shouldstop = str(call.excinfo.value)
            elif call.excinfo is not None and report.failed:
                # What the student's code raised in this process is theirs, as in the sandbox.
                raised = as_sandbox_reports(call.excinfo.value, self.student_files)
                if _raised_inside_grader(call.excinfo.tb) and not isinstance(
                        raised, (AssertionError, StudentError, WorkerError)):
                    # A bug of ours must never become a student's FAIL: stop, grade nothing.
                    self.fatal = GraderError(f"error interno del calificador en {item.nodeid}: "
                                             f"{call.excinfo.typename}: {call.excinfo.value}")
                    item.session.shouldstop = str(self.fatal)
                record.status, record.message = classify(raised, self.assignment.module + ".py",
                                                         hidden=record.visibility == "hidden")
            elif report.skipped:
                record.status, record.message = Status.FAIL, "comprobación omitida"
            elif call.when == "call" and item.nodeid in self._credits:
                credit = self._credits.pop(item.nodeid)
                if credit.fraction is None:
                    self.problems.append(f"{item.nodeid} pide el fixture credit pero no llamó a "
                                         "credit.award")
                else:
                    record.credit, record.message = credit.fraction, credit.message
                    if credit.fraction < 1.0:
                        record.status = Status.PARTIAL if credit.fraction > 0.0 else Status.FAIL
        if call.when == "teardown":
            record.output = self.provider.take_output()
            record.duration_s = round(time.monotonic() - self._started.pop(item.nodeid), 4)
            self.results.append(self._pending.pop(item.nodeid))
        return report


@dataclass
class CheckRun:
    checks: list[CheckResult]
    load_error: str
    """Why the student's module did not import (empty when it did)."""
    environment: dict[str, Any]
    """The backend and what the worker reported about itself (versions, restarts)."""
    review: list[str]
    """For staff only, never the student: what the numpy-only rule could not decide statically
    (``static.StaticReport.review_notes``); the student is not failed for it (issue 15)."""


_PACKAGE = Path(__file__).resolve().parents[1]
"""``grader/``: a traceback that ends in its code is the grader's own failure."""
# compare.py works on whatever the student returned: its exceptions are about the student's values.
_STUDENT_FACING = {_PACKAGE / "compare.py"}


def _cuda_noise(item: pytest.Item, failure: CheckFailure) -> bool:
    """Whether a check failed on CUDA by no more than float32 noise (``CUDA_NOISE``)."""
    device = getattr(item, "funcargs", {}).get("device")
    return device == "cuda" and failure.relative_error is not None and (
        failure.relative_error <= CUDA_NOISE)


def _raised_inside_grader(tb: Any) -> bool:
    """Whether the innermost frame of a traceback is the grader's own machinery."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    path = Path(tb.tb_frame.f_code.co_filename).resolve()
    return path.is_relative_to(_PACKAGE) and path not in _STUDENT_FACING


def run_on_module(assignment: Assignment, module_file: Path, reference: Any, files: list[Path], *,
                  backend: Backend | None, limits: Limits, seed_key: str = "",
                  hidden_seed_key: str | None = None,
                  exercises: frozenset[str] = frozenset()) -> CheckRun:
    """Runs check ``files`` against the module ``module_file``.

    Args:
        backend: where student code runs; ``None`` means in this process (``inprocess``).
        seed_key: mixed into every check's ``rng`` seed.
        hidden_seed_key: replaces ``seed_key`` for hidden checks (per-student inputs).
        exercises: run only the checks of these exercises (empty: all of them).
    """
    numpy_only = static.analyse(
        module_file.read_text(encoding="utf-8"),
        [f for e in assignment.exercises if e.numpy_only for f in e.functions],
        assignment.forbidden_modules, module=assignment.module)
    forbidden = numpy_only.forbidden
    provider: InprocessStudent | Session
    helpers = (assignment.worker_helpers.read_text(encoding="utf-8")
               if assignment.worker_helpers is not None else None)
    # Torch, BLAS and OpenMP threads: as many as the worker's cores, waiting passively. Time
    # limits are CPU time, so spinning threads would spend a check's budget on nothing; this
    # process runs the reference (and, inprocess, the student's code) beside any worker.
    cap_threads(limits.threads)
    if backend is None:
        provider = InprocessStudent(module_file, assignment.module, limits,
                                    uses_torch=assignment.uses_torch, helpers_source=helpers)
        environment: dict[str, Any] = {"backend": "inprocess", "isolated": False}
    else:
        provider = Session(backend, module_file, assignment.module, limits,
                           uses_torch=assignment.uses_torch, helpers_source=helpers,
                           prefetch=tuple(f for e in assignment.exercises for f in e.functions))
        environment = backend.describe()
    plugin = GradingPlugin(
        assignment=assignment, provider=provider, reference=reference,
        public_files=set(assignment.public_checks), forbidden=forbidden, seed_key=seed_key,
        hidden_seed_key=hidden_seed_key,
        timed=provider.timed if isinstance(provider, InprocessStudent) else None,
        student_files=provider.student_files if isinstance(provider, InprocessStudent) else (),
        exercises=exercises)
    try:
        checks = run_checks(files, plugin, rootdir=assignment.root)
    finally:
        provider.close(grace_s=0)  # every check is done: nothing left to learn from its exit
    environment.update({f"worker_{k}": v for k, v in provider.environment.items()})
    if isinstance(provider, Session):
        environment["timing"] = {k: round(v, 4) for k, v in provider.stats.items()}
    environment["worker_restarts"] = provider.restarts
    return CheckRun(checks, plugin.load_error, environment,
                    [*numpy_only.review_notes(), *plugin.staff_notes])


_MISSING_MODULE = re.compile(r"No module named '([A-Za-z0-9_]+)")
_PIP_NAMES = {"sklearn": "scikit-learn", "PIL": "pillow", "cv2": "opencv-python",
              "yaml": "pyyaml"}
"""Import names whose distribution is called otherwise on the package index."""


def run_checks(files: list[Path], plugin: GradingPlugin, *, rootdir: Path) -> list[CheckResult]:
    """Runs the check files under pytest with ``plugin``; returns one result per check.

    Raises ``ConfigError`` when the check files themselves are broken (a course problem, which
    must never be reported as the student's failure).
    """
    code = _pytest_main(files, rootdir=rootdir, plugins=[plugin])
    if plugin.fatal is not None:
        raise plugin.fatal
    if plugin.problems:
        absent = sorted({_PIP_NAMES.get(m, m) for problem in plugin.problems
                         for m in _MISSING_MODULE.findall(problem)})
        if absent:
            # This machine lacks a package the checks import: its environment, not the checks.
            raise MissingPackages(plugin.assignment.name, absent,
                                  "pip install " + " ".join(absent))
        raise ConfigError("comprobaciones mal definidas:\n" + "\n".join(plugin.problems))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise ConfigError(f"pytest terminó con {pytest.ExitCode(code).name} al correr {files}")
    plugin.never_ran()
    return plugin.results


def import_checks(files: list[Path], *, rootdir: Path) -> None:
    """Collects the check files without running them: what they import (torch, scikit-learn,
    ``grader.compare``) and pytest's own first-run imports stay loaded, so a warm process's first
    submission does not pay for them (issue 23: TP1's hidden checks import torch, 2 s of the
    first submission). The check modules themselves are forgotten, as after every run."""
    _pytest_main(files, rootdir=rootdir, plugins=[], extra=("--collect-only",))


def _pytest_main(files: list[Path], *, rootdir: Path, plugins: list[object],
                 extra: tuple[str, ...] = ()) -> int | pytest.ExitCode:
    """``pytest.main`` on ``files`` as grading runs it: no conftest, cache, warnings or output of
    its own, and the check modules forgotten afterwards."""
    # Absolute: the check modules loaded from it are recognised by path and forgotten below.
    rootdir = rootdir.resolve()
    with tempfile.TemporaryDirectory(prefix="grader-pytest-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = [str(f) for f in files] + [
            "-c", str(ini), "--rootdir", str(rootdir), "--noconftest", "-p", "no:cacheprovider",
            "-p", "no:randomly", "-p", "no:warnings", "--import-mode=importlib", "-qq",
            # Plugins a grading run never uses; unraisableexception alone runs gc.collect() five
            # times per session (~0.5 s per submission, issue 9).
            "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:logging",
            "-p", "no:pastebin", "-p", "no:junitxml", "-p", "no:doctest", "-p", "no:faulthandler",
            "-p", "no:stepwise", "-p", "no:legacypath", "-p", "no:tmpdir",
            "--no-header", "--no-summary", "--capture=no",
            "--tb=native",  # pytest's own traceback filtering costs ~0.5 s per failed check
            "-o", "python_files=test_*.py", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *extra]
        env_addopts = os.environ.pop("PYTEST_ADDOPTS", None)
        before = set(sys.modules)
        try:
            # pytest's terminal output is not ours to show: results come from the plugin.
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                return pytest.main(args, plugins=plugins)
        finally:
            if env_addopts is not None:
                os.environ["PYTEST_ADDOPTS"] = env_addopts
            # Check modules are imported under names relative to their folder ("public.test_public"):
            # forget them, or the next assignment run in this process would get these checks.
            for name in set(sys.modules) - before:
                if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(rootdir)):
                    del sys.modules[name]
