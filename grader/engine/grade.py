"""Grading one submission in this (trusted) process: the TP's public and hidden checks against one
student file, whose code runs only in a sandboxed worker. Also the grading fingerprint: the hash
of everything besides the submission that decides a score, so that a batch can tell a result that
is still current from one to regrade.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from grader import __version__, results, scoring
from grader.course import Assignment, Course, Exercise, TPEntry, load_assignment
from grader.course.limits import Limits
from grader.engine.plugin import import_checks, run_on_module
from grader.engine.reference import References
from grader.errors import ConfigError, SubmissionError
from grader.results import SubmissionResult
from grader.sandbox.base import Backend
from grader.sandbox.pool import PrestartedBackend
from grader.sandbox.registry import Backends
from grader.submissions import check_size, prepared_source


def fingerprint(course: Course, entry: TPEntry, exercises: frozenset[str] = frozenset()) -> str:
    """Hash of everything besides the submission that decides a TP's raw score.

    Only the part of ``course.toml`` that can change a raw score counts (``score_settings``):
    deadlines, the late policy, extensions, the form and the roster are applied by the gradebook,
    so changing them never regrades (issue 6). A grade of only some ``exercises`` is another
    grading setup: its result is never reused for a whole one."""
    return grading_setup(course, entry, exercises)[0]


def fingerprint_parts(course: Course, entry: TPEntry,
                      exercises: frozenset[str] = frozenset()) -> dict[str, str]:
    """What ``fingerprint`` is made of, one hash per part (``FINGERPRINT_PARTS``): stored in each
    result so that a regrade can say what changed (issue 20)."""
    return grading_setup(course, entry, exercises)[1]


FINGERPRINT_PARTS = ("grader", "exercises", "secret", "course", "checks", "reference")
"""The parts of a grading fingerprint: the grader's version, the exercise selection, the course
secret (its hash), ``course.toml``'s score settings, the assignment folder (checks) and the
reference folder."""


def grading_setup(course: Course, entry: TPEntry,
                  exercises: frozenset[str] = frozenset()) -> tuple[str, dict[str, str]]:
    """The fingerprint and its parts, reading each TP file once.

    The fingerprint is hashed exactly as before its parts were stored, so results written by an
    earlier version stay current."""
    digest = hashlib.sha256(__version__.encode())
    if exercises:
        digest.update(("exercises:" + ",".join(sorted(exercises))).encode())
    digest.update(course.secret_digest().encode())
    digest.update(course.score_settings(entry.name))
    parts = {"grader": _sha256(__version__.encode()),
             "exercises": _sha256(",".join(sorted(exercises)).encode()),
             "secret": _sha256(course.secret_digest().encode()),
             "course": _sha256(course.score_settings(entry.name))}
    for name, folder in (("checks", entry.assignment), ("reference", entry.reference)):
        part = hashlib.sha256()
        if folder is not None and folder.is_dir():
            for path in tp_files(folder):
                for data in (str(path.relative_to(folder)).encode(), path.read_bytes()):
                    digest.update(data)
                    part.update(data)
        parts[name] = part.hexdigest()
    return digest.hexdigest(), parts


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def selected(assignment: Assignment, exercises: frozenset[str]) -> list[Exercise]:
    """The exercises of ``assignment`` named in ``exercises`` (all of them when empty); an unknown
    name is a clear error."""
    unknown = sorted(exercises - {e.name for e in assignment.exercises})
    if unknown:
        raise ConfigError(f"{assignment.name} no tiene los ejercicios {unknown}; tiene "
                          f"{[e.name for e in assignment.exercises]}")
    return [e for e in assignment.exercises if not exercises or e.name in exercises]


def tp_folders(entry: TPEntry) -> list[Path]:
    """A TP's assignment and reference folders (those that exist)."""
    return [f for f in (entry.assignment, entry.reference) if f is not None and f.is_dir()]


def tp_files(folder: Path) -> list[Path]:
    """The files of a TP folder that decide its grades: what the fingerprint covers and what a
    cluster task carries (one definition, so both always agree)."""
    return [path for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
            and not path.name.startswith(AUDIT_FILES)
            and RECIPES not in path.relative_to(folder).parts]


AUDIT_FILES = ("audit_", "AUDIT")
"""``grader audit``'s probes, accepted survivors and report: they judge the checks, not
students, so changing them regrades nobody."""
RECIPES = "recipes"
"""``reference_solutions/TP/recipes/``: the calibration's independent solutions
(``benchmarks/calibrate.py``), not part of grading."""


def _prepared_module(path: Path, module: str, workdir: Path, *,
                     notebook_mode: str) -> tuple[Path, tuple[str, ...]]:
    """Writes the submission as ``WORKDIR/MODULE.py`` (notebooks converted in ``notebook_mode``);
    returns it and the conversion's notes for the student (cells skipped, syntax errors)."""
    target = workdir / f"{module}.py"
    prepared = prepared_source(path, notebook_mode=notebook_mode)
    target.write_text(prepared.source, encoding="utf-8")
    return target, prepared.notes


def _sandbox(assignment: Assignment, backend: str, backend_options: dict[str, Any] | None,
             backends: Backends) -> Backend:
    """The sandbox backend a submission of ``assignment`` runs in (its workers preload torch when
    the TP uses it)."""
    return backends.make(backend, **(backend_options or {}),
                         preload=("torch",) if assignment.uses_torch else ())


def warm_up(course: Course, tp: str, *, backend: str, limits: Limits,
            backend_options: dict[str, Any] | None = None, backends: Backends,
            references: References) -> None:
    """Gets a process that grades many submissions of ``tp`` ready for the first one, before it
    arrives (issue 23): when ``backends`` keeps workers launched ahead, launches the first one,
    which boots meanwhile; imports the reference and collects the checks (what they import, such
    as torch, stays imported). Grading afterwards is exactly as without it: the first submission
    finds all that ready instead of paying for it."""
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if backend != "inprocess":
        sandbox = _sandbox(assignment, backend, backend_options, backends)
        if isinstance(sandbox, PrestartedBackend):
            sandbox.prime(f"{assignment.module}.py", limits)
    if entry.reference is not None:
        references.load(entry.reference, assignment.module)
    import_checks([*assignment.public_checks, *assignment.hidden_checks], rootdir=assignment.root)


def grade_submission(course: Course, tp: str, path: Path, *, student: str,
                     backend: str = "subprocess", limits: Limits | None = None,
                     notes: tuple[str, ...] = (), backend_options: dict[str, Any] | None = None,
                     submitted_at: str = "", backends: Backends | None = None,
                     references: References | None = None,
                     exercises: frozenset[str] = frozenset()) -> SubmissionResult:
    """Grades one file with the TP's public and hidden checks. Runs student code only in the
    sandbox (never in this process, unless ``backend="inprocess"``). ``submitted_at`` (when it
    was handed in, from ``grader intake``) is stored in the result for the late policy.
    ``exercises``: grade only these (``grader audit``); the score is over them alone.

    ``backends`` and ``references``: what a process that grades many submissions keeps between
    them (``grader.batch.child``); by default everything is made fresh for this one."""
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if entry.reference is None:
        raise ConfigError(f"el TP {tp} no tiene 'reference' en course.toml")
    reference = (references or References()).load(entry.reference, assignment.module)
    limits = limits or course.limits_for(assignment)
    graded = selected(assignment, exercises)
    if exercises:
        notes = (*notes, "solo se calificaron los ejercicios " + ", ".join(sorted(exercises)))
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    checks: list[results.CheckResult] = []
    load_error = ""
    environment: dict[str, Any] = {}
    review: list[str] = []
    with tempfile.TemporaryDirectory(prefix="grader-sub-") as tmp:
        try:
            check_size(path, limits.max_submission_mb)  # before anything reads it
            module_file, conversion_notes = _prepared_module(
                path, assignment.module, Path(tmp), notebook_mode=entry.notebook_mode)
            notes = (*notes, *conversion_notes)
        except SubmissionError as exc:
            load_error = str(exc)
        else:
            run = run_on_module(
                assignment, module_file, reference,
                [*assignment.public_checks, *assignment.hidden_checks],
                backend=None if backend == "inprocess" else _sandbox(
                    assignment, backend, backend_options, backends or Backends()), limits=limits,
                seed_key=course.name, hidden_seed_key=course.hidden_seed_key(student),
                exercises=exercises)
            checks, load_error, environment = run.checks, run.load_error, run.environment
            review = run.review
    scores = scoring.score_checks(checks, graded)
    setup = grading_setup(course, entry, exercises)
    earned, possible, score = scoring.tp_score(scores, scale_max=course.scale_max,
                                               decimals=course.decimals)
    return SubmissionResult(
        student=student, tp=tp, submission_file=path.name,
        submission_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        grader_version=__version__, fingerprint=setup[0], fingerprint_parts=setup[1],
        checks=checks, exercises=scores, earned=earned, possible=possible, score=score,
        load_error=load_error, notes=list(notes), environment=environment, review=review,
        started_at=started_at, duration_s=round(time.monotonic() - started, 3),
        submitted_at=submitted_at)
