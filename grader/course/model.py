"""The declarative course file (``course.toml``) and each assignment's ``assignment.toml``.

Both are validated on load and strict: every error names the file and the key, and a table or
key that is not read (a typo: ``[lates]``, ``pas_mark``) is an error listing the valid ones
(``grader.course.load``; issue 20)::

    [course]
    name = "Aprendizaje Profundo"   # required, not empty

    [grading]
    scale_max = 10      # TP scores and the final grade are on 0..scale_max (> 0)
    pass_mark = 4       # final >= pass_mark is "aprobado"; 0 < pass_mark <= scale_max
    decimals = 2        # an integer, 0..4
    secret_env = "GRADER_SECRET"   # env var with the key of per-student hidden inputs

    [[tp]]
    name = "tp1"
    weight = "1/3"      # a positive number or fraction; weights add up to 1
    assignment = "assignments/tp1"
    reference = "reference_solutions/tp1"
    notebook_mode = "definitions"   # or "full": what of a notebook runs (grader.notebooks)

    [limits]            # sandbox defaults (grader.sandbox.Limits), overridable per assignment
    call_timeout_s = 10

Deadlines (``[calendar]``, ``[[tp]] deadline`` or ``closes_after_class``) and the late policy
(``[late]``) are described in ``grader.course.late``; the form export's columns (``[form]``) and the roster
(``[roster]``) in ``grader.intake``. None of them takes part in the grading fingerprint
(``Course.score_settings``): changing them never regrades. Neither do ``[adjustments]``,
``[similarity]`` and ``[moodle]`` (``Course`` says what each holds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from grader.course.late import LatePolicy
from grader.course.limits import Limits
from grader.errors import ConfigError
from grader.notebooks import DEFAULT_NOTEBOOK_MODE

COURSE_FILE = "course.toml"
ASSIGNMENT_FILE = "assignment.toml"


@dataclass(frozen=True)
class Exercise:
    name: str
    """Identifier used by checks' ``exercise`` marker (``"linear"``)."""
    points: float
    """Points of the exercise in its TP."""
    title: str = ""
    """Spanish title shown to students."""
    functions: tuple[str, ...] = ()
    """The graded names the exercise covers (for the numpy-only static check)."""
    numpy_only: bool = False
    """Whether these functions must not use torch, tensorflow, jax, scipy or scikit-learn."""
    partial_credit: bool = False
    """Split the points over the checks; by default the exercise earns them only if all pass."""
    visibility: str = ""
    """How its checks are shown (one of ``VISIBILITIES``); empty: public checks ``visible``,
    hidden ones ``after_due_date`` (``grader.output.formats.visibility_of``)."""
    check_visibility: tuple[tuple[str, str], ...] = ()
    """Per-check overrides, ``(check name or id, visibility)``: ``check_visibility =
    {"hidden::test_train_accuracy" = "total_only"}`` in its ``[[exercise]]``."""


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published", "total_only")
"""Gradescope's four test visibilities, and ``total_only``: only the points count, the check's
name and message never reach a student."""


@dataclass(frozen=True)
class Assignment:
    """One TP: its exercises, check files and limits, from ``assignment.toml``."""

    name: str
    title: str
    module: str
    root: Path
    exercises: tuple[Exercise, ...]
    public_checks: tuple[Path, ...]
    hidden_checks: tuple[Path, ...]
    starter: tuple[Path, ...]
    forbidden_modules: tuple[str, ...]
    limits: dict[str, Any] = field(default_factory=dict)
    uses_torch: bool = False
    """``torch = true``: the worker imports torch after the student's module, turns TF32 off and
    seeds torch before every check, and reports the torch/CUDA versions and device."""
    requirements: tuple[str, ...] = ()
    """What a student must ``pip install`` for this TP besides the grader (``torch>=2.1``):
    ``grader release`` writes them to the bundle's ``requirements.txt`` and ``grader check``
    looks for each before running anything."""
    worker_helpers: Path | None = None
    """Trusted helper module run inside the student's worker (the ``inworker`` fixture). It runs
    next to student code and ships in the public bundle: it must hold nothing secret."""

    def exercise(self, name: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise ConfigError(f"{self.root / ASSIGNMENT_FILE}: no existe el ejercicio {name!r}; "
                          f"los definidos son {[e.name for e in self.exercises]}")

    @property
    def possible(self) -> float:
        return sum(e.points for e in self.exercises)


@dataclass(frozen=True)
class TPEntry:
    name: str
    weight: Fraction
    assignment: Path
    reference: Path | None
    notebook_mode: str = DEFAULT_NOTEBOOK_MODE
    """How a notebook becomes the module: ``"definitions"`` (top-level work dropped) or
    ``"full"`` (every statement runs); see ``grader.notebooks``. ``grader release`` writes it
    into the bundle so ``grader check`` converts the same way."""


DEFAULT_TIMEZONE = "America/Argentina/Buenos_Aires"
# Sections and [[tp]] keys that never change a raw score (see Course.score_settings). The
# assignment and reference folders are hashed by content (grader.engine.grade.fingerprint), not by path.
_NOT_SCORE_SECTIONS = frozenset({"form", "roster", "calendar", "late", "adjustments", "similarity",
                                 "moodle"})
_NOT_SCORE_TP_KEYS = frozenset({"weight", "deadline", "closes_after_class", "assignment", "reference"})


@dataclass(frozen=True)
class FormColumns:
    """``[form]``: the headers of the online form's responses export (defaults: Google Forms in
    Spanish). An optional column set to ``""`` is not read; ``upload = ""`` finds the column
    whose cells hold Drive links."""

    timestamp: str = "Marca temporal"
    email: str = "Dirección de correo electrónico"
    student_id: str = "Padrón"
    name: str = "Nombre y apellido"
    tp: str = "TP"
    """Which TP the response hands in; rows of other TPs are left aside."""
    upload: str = ""
    timezone: str = DEFAULT_TIMEZONE
    """The exporter's timezone: timestamps in the file carry no offset."""


@dataclass(frozen=True)
class RosterSettings:
    """``[roster]``: the class list, source of identity (``grader.intake.roster``)."""

    path: Path | None = None
    student_id: str = "padrón"
    name: str = "nombre"
    email: str = "email"


@dataclass(frozen=True)
class MoodleSettings:
    """``[moodle]``: how ``grader export --format moodle`` names its columns
    (``grader.output.moodle``)."""

    items: dict[str, str] = field(default_factory=dict)
    """TP name (or ``"final"``) -> the header of its grade column, the name of the Moodle grade
    item it maps to; unset: the TP's name in capitals (``TP1``) and ``Nota final``."""
    feedback: bool = True
    """Whether each TP gets a feedback column (a short summary and where to read the rest)."""
    feedback_url: str = ""
    """Where the feedback pages are published (``https://.../tp1/ana.html`` is
    ``feedback_url/tp1/ana.html``); empty: the feedback names the file."""
    decimal_separator: str = ","
    """How grades are written: ``","`` (``7,5``) or ``"."`` (``7.5``). Moodle reads a number with
    the language of whoever imports it (``unformat_float``: it deletes that language's thousands
    separator, then reads its decimal one), so ``8.50`` imported in Spanish may become 850. The
    default fits FIUBA's Campus in Spanish; an offline grading worksheet says its own separator
    (its maximum grade column) and that wins."""


DEFAULT_SIMILARITY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Course:
    name: str
    root: Path
    tps: tuple[TPEntry, ...]
    scale_max: float = 10.0
    pass_mark: float = 4.0
    decimals: int = 2
    limits: dict[str, Any] = field(default_factory=dict)
    secret_env: str = "GRADER_SECRET"
    """Environment variable holding the course secret that keys each student's hidden inputs."""
    timezone: str = DEFAULT_TIMEZONE
    """``[calendar] timezone``: the zone of deadlines written without an offset."""
    deadlines: dict[str, dt.datetime] = field(default_factory=dict)
    """TP name -> its deadline (timezone-aware); TPs without one are absent."""
    late: LatePolicy = field(default_factory=LatePolicy)
    form: FormColumns = field(default_factory=FormColumns)
    roster: RosterSettings | None = None
    """``[roster]``: the roster file and its columns, when the course names one."""
    adjustments: Path | None = None
    """``[adjustments] path``: staff's manual adjustments file (``ajustes.toml``), applied on top
    of the automatic scores by the gradebook, the exports and the reports; never regrades."""
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD
    """``[similarity] threshold``: the share of a submission's own code, 0..1, from which
    ``grader similarity`` lists a pair for review."""
    moodle: MoodleSettings = field(default_factory=MoodleSettings)
    settings: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The parsed ``course.toml``, for ``score_settings``."""

    def score_settings(self, tp: str) -> bytes:
        """What in ``course.toml`` decides ``tp``'s raw scores, canonically serialised (for the
        grading fingerprint): every section except the form, roster, calendar and late policy,
        and of the ``[[tp]]`` tables only ``tp``'s, without its weight, deadline keys and folder
        paths (the fingerprint hashes the folders' contents).

        Unknown sections are kept on purpose: a new setting regrades until someone decides here
        that it cannot change a score."""
        kept: dict[str, Any] = {k: v for k, v in self.settings.items()
                                if k not in _NOT_SCORE_SECTIONS and k != "tp"}
        entries = [t for t in self.settings.get("tp", []) if isinstance(t, dict) and t.get("name") == tp]
        kept["tp"] = [{k: v for k, v in t.items() if k not in _NOT_SCORE_TP_KEYS} for t in entries]
        return json.dumps(kept, sort_keys=True, default=str, ensure_ascii=False).encode()

    def hidden_seed_key(self, student: str) -> str:
        """The key of ``student``'s hidden-check inputs: a hash of the course secret (the course
        name when the variable is unset) and the student, so a regrade draws the same inputs."""
        secret = os.environ.get(self.secret_env) or self.name
        return hashlib.sha256(f"{secret}\0{student}".encode()).hexdigest()

    def secret_digest(self) -> str:
        """A hash of the secret in use, for the grading fingerprint (never the secret itself)."""
        secret = os.environ.get(self.secret_env) or self.name
        return hashlib.sha256(f"grader-secret\0{secret}".encode()).hexdigest()

    def tp(self, name: str) -> TPEntry:
        for entry in self.tps:
            if entry.name == name:
                return entry
        raise ConfigError(f"{self.root / COURSE_FILE}: no hay un TP llamado {name!r}; "
                          f"los TPs del curso son {[t.name for t in self.tps]}")

    def limits_for(self, assignment: Assignment, **overrides: Any) -> Limits:
        values = {**self.limits, **assignment.limits, **overrides}
        return Limits.from_mapping(values, where=f"{assignment.root / ASSIGNMENT_FILE} [limits]")
