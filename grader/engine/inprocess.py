"""The ``inprocess`` backend: the student's module imported into the checking process itself.

For ``grader check`` on a student's own machine only: it is fast and needs nothing, but it isolates
nothing, so student code could change how its own checks behave. Never use it to grade. A timer
(SIGALRM) still stops an infinite loop in the main thread so the student gets an answer.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import io
import signal
import sys
import threading
import traceback
from collections.abc import Collection
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.errors import ConfigError, GraderError, StudentError, WorkerError, WorkerTimeout
from grader.runtime.worker import reset_random_state, syntax_error_message, timers
from grader.sandbox.base import Limits
from grader.text import MESSAGE_CAP, TRACEBACK_CAP, TYPE_NAME_CAP, clean

HELPERS_FILE = "<grader_helpers>"
"""Where the assignment's worker helpers run from: in the sandbox they run in the worker, beside
the student's code, so what they raise is on the student's side too."""


class MissingName(StudentError, AttributeError):
    """A name the student's module does not define: still an AttributeError for
    ``getattr(m, n, default)``."""


class StudentModule(ModuleType):
    """The student's module in this process. A name it does not define reads as in the sandbox
    (``tp1.py no define 'softmax'``), not as a bare AttributeError of the check."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise MissingName("AttributeError", f"module '{self.__name__}' has no attribute '{name}'")


class InprocessStudent:
    """Imports the student's file in this process and times each check with interval timers.

    Args:
        module_file: the student's ``.py`` file (notebooks already converted); ``None`` when
            ``module`` is given.
        module_name: the name to import it under.
        limits: only ``call_timeout_s`` applies (as a per-check budget).
        module: an already-built module to check instead of importing a file: what a running
            notebook kernel has defined (``grader.check`` in a notebook).
        cpu_time: budgets are this process's CPU time (its threads capped, as in
            ``run_on_module``); False: wall clock, for a student's own notebook kernel, whose
            threads are the student's to choose.
        student_files: with ``module``, the files its code was written in (a notebook's cells),
            so that what it raises is told apart from what the checks raise.
    """

    isolated = False

    def __init__(self, module_file: Path | None, module_name: str, limits: Limits, *,
                 uses_torch: bool = False, helpers_source: str | None = None,
                 module: ModuleType | None = None, cpu_time: bool = True,
                 student_files: Collection[str] = ()) -> None:
        if (module_file is None) == (module is None):
            raise ValueError("InprocessStudent needs exactly one of module_file and module")
        self.module_file = module_file
        self.student_files = frozenset(student_files if module_file is None else {str(module_file)})
        """Where the student's code was written: its frames in a traceback are the student's."""
        self.module_name = module_name
        self.limits = limits
        self.call_timeout_s = limits.call_timeout_s
        self.cpu_time = cpu_time
        self.restarts = 0
        self.load_failure: WorkerError | None = None
        """Never set: in this process a failing import is the student's error (no worker)."""
        self.environment: dict[str, Any] = {"backend": "inprocess"}
        self.uses_torch = uses_torch
        self.helpers_source = helpers_source
        self.device = "cpu"
        self._module = module
        self._helpers: ModuleType | None = None
        self._load_error: StudentError | None = None
        self._output = io.StringIO()

    def module(self) -> ModuleType:
        if self._load_error is not None:
            raise self._load_error.with_traceback(None)
        if self._module is None:
            assert self.module_file is not None  # __init__: a file when no module was given
            name = f"_student_{self.module_name}"
            spec = importlib.util.spec_from_file_location(name, self.module_file)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            module.__class__ = StudentModule
            sys.modules[name] = module
            try:
                with self.timed(self.limits.import_timeout_s), self.captured():
                    spec.loader.exec_module(module)
            except WorkerTimeout:
                raise
            except BaseException as exc:
                self._load_error = student_error(exc, str(self.module_file))
                raise self._load_error from None
            self._module = module
        return self._module

    def begin_check(self, seed: int) -> None:
        self.module()
        self.environment.update(reset_random_state(seed, torch=self.uses_torch))

    def helpers(self) -> ModuleType:
        if self.helpers_source is None:
            raise ConfigError("esta consigna no declara [assignment].worker_helpers")
        if self._helpers is None:
            helpers = ModuleType("grader_helpers")
            exec(compile(self.helpers_source, HELPERS_FILE, "exec"), helpers.__dict__)
            # In the sandbox the helpers run in the worker: a check catches what they raise as a
            # StudentError (TP2's "usa autograd"), so here too.
            for name, value in list(vars(helpers).items()):
                if inspect.isfunction(value) and value.__code__.co_filename == HELPERS_FILE:
                    setattr(helpers, name, reporting(value, self.student_files))
            self._helpers = helpers
        return self._helpers

    @contextlib.contextmanager
    def captured(self) -> Any:
        with contextlib.redirect_stdout(self._output), contextlib.redirect_stderr(self._output):
            yield

    @contextlib.contextmanager
    def timed(self, seconds: float) -> Any:
        """Raises ``WorkerTimeout`` in the main thread when the block uses ``seconds`` of this
        process's CPU time (all threads: a busy machine does not change it, as in the sandbox),
        or, as a safety net for code that waits, ``wall_factor`` times that of wall clock."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        if not self.cpu_time:
            with self._wall_clock(seconds):
                yield
            return
        wall = seconds * self.limits.wall_factor

        def expire(kind: str) -> None:
            if kind == "cpu":
                raise WorkerTimeout(f"la comprobación no terminó en {seconds:g} s de CPU "
                                    "(¿un bucle infinito?)")
            raise WorkerTimeout(f"la comprobación no terminó en {wall:g} s de reloj (¿espera algo "
                                "que nunca llega? si la máquina estaba sobrecargada, puede ser "
                                "la causa)")

        with timers(seconds, wall, expire):
            yield

    @contextlib.contextmanager
    def _wall_clock(self, seconds: float) -> Any:
        def expire(signum: int, frame: Any) -> None:
            raise WorkerTimeout(f"la comprobación no terminó en {seconds:g} s (¿un bucle infinito?)")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def take_output(self) -> str:
        text = self._output.getvalue()
        self._output = io.StringIO()
        return clean(text, 16384)

    def close(self, *, grace_s: float = 0.0) -> str:
        return ""


def student_error(exc: BaseException, student_file: str | Collection[str]) -> StudentError:
    """Describes an exception raised by student code with the student's own frames only (those
    of ``student_file``, or of any of several files: a notebook kernel's cells)."""
    files = {student_file} if isinstance(student_file, str) else set(student_file)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
    message = syntax_error_message(exc) if isinstance(exc, SyntaxError) else str(exc)
    return StudentError(clean(type(exc).__name__, TYPE_NAME_CAP), clean(message, MESSAGE_CAP),
                        clean("".join(traceback.format_list(frames[-8:])), TRACEBACK_CAP))


def reporting(function: Any, student_files: Collection[str]) -> Any:
    """``function`` raising what it raises as the student's error, as the sandbox's worker
    reports it (``no está implementado todavía``, ``el código lanzó ValueError ...`` with the
    student's frames)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (GraderError, StudentError):
            raise  # the check's deadline (WorkerTimeout), or a nested call already described
        except Exception as exc:
            raise student_error(exc, student_files) from None

    return call


def as_sandbox_reports(exc: BaseException, student_files: Collection[str]) -> BaseException:
    """``exc`` as the sandbox would report it. There, whatever the worker raises while it runs
    the student's code (or the helpers beside it) comes back as a ``StudentError``; in this
    process it arrives raw. So an exception whose traceback passes through ``student_files`` or
    the helpers becomes that ``StudentError``; any other is returned as it is."""
    if not student_files or isinstance(exc, (StudentError, GraderError)):
        return exc
    inside = {*student_files, HELPERS_FILE}
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in inside:
            return student_error(exc, student_files)
        tb = tb.tb_next
    return exc
