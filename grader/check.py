"""``grader check``: a student runs the public checks of a TP on their own file.

The checks come from a released bundle (``checks/`` beside the file or in the current folder,
with the expected values baked as data) or, for course staff, from the course repository
(public checks with the live reference). Only public checks run; the hidden ones never leave the
course repository.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import scoring
from .course import Assignment, Course, find_course, load_assignment, load_course
from .errors import SubmissionError, UsageError
from .harness import run_on_module
from .reference import EXPECTED_FILE, ReplayReference, load_reference
from .results import CheckResult, ExerciseScore
from .sandbox.base import Limits
from .sandbox.subprocess import SubprocessBackend
from .submissions import module_source


@dataclass
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

    @property
    def passed(self) -> bool:
        return not self.load_error and bool(self.checks) and all(
            c.status.value == "PASS" for c in self.checks)


def locate(tp: str, file: Path, checks_dir: Path | None) -> tuple[Assignment, Any, str]:
    """Finds the public checks for ``tp``: returns the assignment, its reference and a label."""
    candidates = [checks_dir] if checks_dir else [
        file.parent / "checks", Path.cwd() / "checks", file.parent / tp / "checks"]
    for folder in candidates:
        if folder is not None and (folder / "assignment.toml").is_file():
            assignment = load_assignment(folder)
            if assignment.name != tp:
                raise UsageError(f"{folder} tiene las comprobaciones de {assignment.name}, no de {tp}")
            expected = folder / EXPECTED_FILE
            if expected.is_file():
                return assignment, ReplayReference(expected), str(folder)
    course_file = find_course(Path.cwd()) or find_course(file.parent)
    if course_file is not None:
        course = load_course(course_file)
        entry = course.tp(tp)
        assignment = load_assignment(entry.assignment)
        if entry.reference is not None:
            return (assignment, load_reference(entry.reference, assignment.module),
                    str(entry.assignment))
    looked = ", ".join(str(c) for c in candidates if c is not None)
    raise UsageError(f"no encontré las comprobaciones de {tp}: busqué {looked} y un course.toml. "
                     f"Corré el comando dentro de la carpeta del TP que te dio la cátedra "
                     f"(la que tiene checks/) o pasá --checks CARPETA.")


def check_file(tp: str, file: Path, *, checks_dir: Path | None = None,
               backend: str = "subprocess", limits: Limits | None = None) -> CheckReport:
    """Runs the public checks of ``tp`` on ``file`` (``.py`` or ``.ipynb``)."""
    if not file.is_file():
        raise UsageError(f"no existe el archivo {file}")
    if file.suffix not in (".py", ".ipynb"):
        raise UsageError(f"se esperaba un archivo .py o .ipynb; llegó {file.name}")
    assignment, reference, source = locate(tp, file, checks_dir)
    limits = limits or Limits.from_mapping(assignment.limits, where="assignment.toml [limits]")
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        module_file = Path(tmp) / f"{assignment.module}.py"
        try:
            module_file.write_text(module_source(file), encoding="utf-8")
        except SubmissionError as exc:
            return _report(assignment, file, [], str(exc), source)
        # On the student's own machine the point of a separate process is that an infinite loop
        # or os._exit cannot take the checks down, not isolation from their own files.
        run = run_on_module(
            assignment, module_file, reference, list(assignment.public_checks),
            backend=None if backend == "inprocess" else SubprocessBackend(isolation="none"),
            limits=limits)
    return _report(assignment, file, run.checks, run.load_error, source)


def _report(assignment: Assignment, file: Path, checks: list[CheckResult], load_error: str,
            source: str) -> CheckReport:
    exercises = scoring.score_checks(checks, assignment.exercises)
    earned, possible, score = scoring.tp_score(exercises)
    return CheckReport(assignment=assignment, file=file, checks=checks, exercises=exercises,
                       earned=earned, possible=possible, score=score, load_error=load_error,
                       source=source)


def course_of(path: Path) -> Course:
    course_file = find_course(path)
    if course_file is None:
        raise UsageError(f"no encontré course.toml en {path} ni en sus carpetas superiores; "
                         "pasá --course RUTA")
    return load_course(course_file)
