"""``grader check``: a student runs the public checks of a TP on their own file.

The checks come from a released bundle (``checks/`` beside the file or in the current folder,
with the expected values baked as data) or, for course staff, from the course repository
(public checks with the live reference). Only public checks run; the hidden ones never leave the
course repository.
"""

from __future__ import annotations

import importlib.metadata
import shlex
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from grader import scoring
from grader.course import ASSIGNMENT_FILE, Assignment, Course, find_course, load_assignment, load_course
from grader.course.load import REQUIREMENT
from grader.engine.plugin import run_on_module
from grader.engine.reference import EXPECTED_FILE, ReplayReference, load_reference
from grader.errors import ConfigError, MissingPackages, SubmissionError, UsageError
from grader.notebooks import DEFAULT_NOTEBOOK_MODE, MODES
from grader.results import CheckResult, ExerciseScore
from grader.sandbox.base import Backend, Channel, Limits, install
from grader.sandbox.pool import WrappedBackend
from grader.sandbox.subprocess import SubprocessBackend
from grader.submissions import check_size, prepared_source


@dataclass(repr=False)
class CheckReport:
    assignment: Assignment
    file: Path
    checks: list[CheckResult]
    exercises: list[ExerciseScore]
    earned: float
    possible: float
    score: float
    load_error: str
    source: str
    """Where the checks came from (bundle folder or course repository)."""
    notes: list[str] = field(default_factory=list)
    """What the student should know about how the file was read (notebook cells skipped, ...)."""
    in_notebook: bool = False
    """Run from a notebook (``grader.check``): the feedback says to rerun the cell."""

    @property
    def passed(self) -> bool:
        return not self.load_error and bool(self.checks) and all(
            c.status.value == "PASS" for c in self.checks)

    def __repr__(self) -> str:
        # Short: in a notebook the report is also a cell's value, shown below the feedback.
        outcome = "todas pasan" if self.passed else "hay comprobaciones que no pasan"
        return (f"<CheckReport {self.assignment.name}: {self.earned:g} / {self.possible:g} "
                f"puntos, {outcome}>")


CLI_HINT = ("Corré el comando dentro de la carpeta del TP que te dio la cátedra (la que tiene "
            "checks/) o pasá --checks CARPETA.")


def bundle_notebook_mode(folder: Path) -> str:
    """The notebook mode a released bundle was graded with (``[notebook] mode`` in its
    ``assignment.toml``, written by ``grader release``); the default for older bundles."""
    path = folder / ASSIGNMENT_FILE
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("notebook", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido: {exc}") from None
    mode = table.get("mode", DEFAULT_NOTEBOOK_MODE) if isinstance(table, dict) else None
    if mode not in MODES:
        raise ConfigError(f"{path} [notebook].mode debe ser uno de {list(MODES)} (llegó {mode!r})")
    return str(mode)


def bundle_seed_key(folder: Path) -> str:
    """The key the course grades public checks with (``[checks] seed_key`` in a bundle's
    ``assignment.toml``, written by ``grader release``): the same inputs, so the same messages,
    here and in the graded feedback. Bundles older than it used ``""``."""
    path = folder / ASSIGNMENT_FILE
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("checks", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido: {exc}") from None
    key = table.get("seed_key", "") if isinstance(table, dict) else None
    if not isinstance(key, str):
        raise ConfigError(f"{path} [checks].seed_key debe ser un texto (llegó {key!r})")
    return key


class Located(NamedTuple):
    assignment: Assignment
    reference: Any
    label: str
    """Where the checks were found, for messages."""
    notebook_mode: str
    seed_key: str
    """The course's key for public checks' inputs (``Course.name``), as grading uses."""


def locate(tp: str, file: Path, checks_dir: Path | None, *,
           hint: str = CLI_HINT) -> Located:
    """Finds the public checks for ``tp``, in a bundle's ``checks/`` or the course repository.
    ``hint`` ends the error when nothing is found."""
    candidates = [checks_dir] if checks_dir else [
        file.parent / "checks", Path.cwd() / "checks", file.parent / tp / "checks"]
    for folder in candidates:
        if folder is not None and (folder / "assignment.toml").is_file():
            assignment = load_assignment(folder)
            if assignment.name != tp:
                raise UsageError(f"{folder} tiene las comprobaciones de {assignment.name}, no de {tp}")
            expected = folder / EXPECTED_FILE
            if expected.is_file():
                return Located(assignment, ReplayReference(expected), str(folder),
                               bundle_notebook_mode(folder), bundle_seed_key(folder))
    course_file = find_course(Path.cwd()) or find_course(file.parent)
    if course_file is not None:
        course = load_course(course_file)
        entry = course.tp(tp)
        assignment = load_assignment(entry.assignment)
        if entry.reference is not None:
            return Located(assignment, load_reference(entry.reference, assignment.module),
                           str(entry.assignment), entry.notebook_mode, course.name)
    looked = ", ".join(dict.fromkeys(str(c) for c in candidates if c is not None))
    raise UsageError(f"no encontré las comprobaciones de {tp}: busqué {looked} y un course.toml. "
                     + hint)


def missing_packages(requirements: tuple[str, ...]) -> list[str]:
    """The requirements (``torch>=2.1``) whose distribution is not installed here. Installed
    versions are not compared: an older torch still runs the checks, a missing one cannot."""
    missing = []
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        name = match["name"] if match else requirement
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    return missing


def require_packages(assignment: Assignment, source: str) -> None:
    """Raises ``MissingPackages`` naming every package the TP needs that this machine lacks,
    with the one command that installs them (the bundle's ``requirements.txt`` when there)."""
    missing = missing_packages(assignment.requirements)
    if not missing:
        return
    listed = Path(source).parent / "requirements.txt"
    install = (f"pip install -r {shlex.quote(str(listed))}" if listed.is_file()
               else "pip install " + " ".join(shlex.quote(r) for r in missing))
    raise MissingPackages(assignment.name, missing, install)


def check_file(tp: str, file: Path, *, checks_dir: Path | None = None,
               backend: str = "subprocess", limits: Limits | None = None) -> CheckReport:
    """Runs the public checks of ``tp`` on ``file`` (``.py`` or ``.ipynb``)."""
    if not file.is_file():
        raise UsageError(f"no existe el archivo {file}")
    if file.suffix not in (".py", ".ipynb"):
        raise UsageError(f"se esperaba un archivo .py o .ipynb; llegó {file.name}")
    assignment, reference, source, notebook_mode, seed_key = locate(tp, file, checks_dir)
    require_packages(assignment, source)
    limits = limits or Limits.from_mapping(assignment.limits, where="assignment.toml [limits]")
    filename = f"{assignment.module}.py"
    # On the student's own machine the point of a separate process is that an infinite loop or
    # os._exit cannot take the checks down, not isolation from their own files.
    ahead = None if backend == "inprocess" else WorkerAhead(
        SubprocessBackend(isolation="none"), filename, limits, uses_torch=assignment.uses_torch)
    try:
        with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
            module_file = Path(tmp) / filename
            try:
                check_size(file, limits.max_submission_mb)
                prepared = prepared_source(file, notebook_mode=notebook_mode)
            except SubmissionError as exc:
                return make_report(assignment, file, [], str(exc), source)
            module_file.write_text(prepared.source, encoding="utf-8")
            run = run_on_module(assignment, module_file, reference,
                                list(assignment.public_checks), backend=ahead, limits=limits,
                                seed_key=seed_key)
    finally:
        if ahead is not None:
            ahead.close()
    return make_report(assignment, file, run.checks, run.load_error, source, prepared.notes)


class WorkerAhead(WrappedBackend):
    """``backend`` with its first worker launched as soon as this is made (issue 23).

    ``grader check`` is a student's most frequent command and, on their two cores, its fixed
    cost was two Python start-ups with torch imported, one after the other: this process's
    (collecting the checks) and then the worker's. Launched here, before the checks are
    collected, the worker boots (torch preloaded for a TP that uses it) while this process
    imports, and the two overlap. Only the first ``start`` gets that worker, for ``filename``
    and ``limits``; a restart after a crash launches one the ordinary way. ``close`` stops it
    when no check took it (the file did not read, pytest found nothing to run).
    """

    def __init__(self, backend: Backend, filename: str, limits: Limits, *,
                 uses_torch: bool = False) -> None:
        backend.preload = ("torch",) if uses_torch else ()
        super().__init__(backend)
        self._key = (filename, limits)
        self._launched: Channel | None = backend.launch(filename, limits)

    def start(self, module_file: Path, limits: Limits) -> Channel:
        channel, self._launched = self._launched, None
        if channel is not None and (module_file.name, limits) == self._key:
            if channel.process.poll() is None:
                install(channel, module_file)
                return channel
        if channel is not None:
            channel.close(grace_s=0)
        return self.backend.start(module_file, limits)

    def close(self) -> None:
        """Stops the worker launched ahead if no check took it."""
        channel, self._launched = self._launched, None
        if channel is not None:
            channel.close(grace_s=0)


def make_report(assignment: Assignment, file: Path, checks: list[CheckResult], load_error: str,
                source: str, notes: tuple[str, ...] = (), *, in_notebook: bool = False) -> CheckReport:
    """Scores ``checks`` into the report that ``render_check`` shows."""
    exercises = scoring.score_checks(checks, assignment.exercises)
    earned, possible, score = scoring.tp_score(exercises)
    return CheckReport(assignment=assignment, file=file, checks=checks, exercises=exercises,
                       earned=earned, possible=possible, score=score, load_error=load_error,
                       source=source, notes=list(notes), in_notebook=in_notebook)


def course_of(path: Path) -> Course:
    course_file = find_course(path)
    if course_file is None:
        raise UsageError(f"no encontré course.toml en {path} ni en sus carpetas superiores; "
                         "pasá --course RUTA")
    return load_course(course_file)
