"""The declarative course file (``course.toml``) and each assignment's ``assignment.toml``.

Both are validated on load; every error names the file and the key::

    [course]
    name = "Aprendizaje Profundo"

    [grading]
    scale_max = 10      # TP scores and the final grade are on 0..scale_max
    pass_mark = 4       # final >= pass_mark is "aprobado"
    decimals = 2
    secret_env = "GRADER_SECRET"   # env var with the key of per-student hidden inputs

    [[tp]]
    name = "tp1"
    weight = "1/3"      # a number or a fraction; weights add up to 1
    assignment = "assignments/tp1"
    reference = "reference_solutions/tp1"

    [limits]            # sandbox defaults (grader.sandbox.Limits), overridable per assignment
    call_timeout_s = 10
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .sandbox.base import Limits

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


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no existe {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido: {exc}") from None


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: falta la clave {key!r}")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " o ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key} debe ser {names} (llegó {value!r} que es "
                          f"{type(value).__name__})")
    return value


def _weight(value: Any, where: str) -> Fraction:
    try:
        weight = Fraction(value) if not isinstance(value, float) else Fraction(value).limit_denominator(1000)
    except (ValueError, TypeError, ZeroDivisionError):
        raise ConfigError(f"{where}.weight debe ser un número o una fracción como \"1/3\" "
                          f"(llegó {value!r})") from None
    if weight < 0:
        raise ConfigError(f"{where}.weight no puede ser negativo (llegó {value!r})")
    return weight


def load_course(path: Path) -> Course:
    """Loads and validates ``course.toml``; relative paths in it are relative to its folder."""
    path = path.resolve()
    data = _load_toml(path)
    where = str(path)
    course = data.get("course", {})
    grading = data.get("grading", {})
    tps = []
    raw_tps = data.get("tp")
    if not isinstance(raw_tps, list) or not raw_tps:
        raise ConfigError(f"{where}: se esperaba al menos una tabla [[tp]]")
    for i, raw in enumerate(raw_tps):
        at = f"{where} [[tp]] #{i + 1}"
        reference = raw.get("reference")
        tps.append(TPEntry(
            name=_require(raw, "name", str, at),
            weight=_weight(_require(raw, "weight", (int, float, str), at), at),
            assignment=path.parent / _require(raw, "assignment", str, at),
            reference=path.parent / reference if isinstance(reference, str) else None))
    names = [t.name for t in tps]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: hay TPs repetidos: {names}")
    total = sum(t.weight for t in tps)
    if total != 1:
        raise ConfigError(f"{where}: los pesos de los TPs deben sumar 1; suman {total} "
                          f"({', '.join(f'{t.name}={t.weight}' for t in tps)})")
    limits = data.get("limits", {})
    Limits.from_mapping(limits, where=f"{where} [limits]")
    return Course(
        name=str(course.get("name", "")), root=path.parent, tps=tuple(tps),
        scale_max=float(grading.get("scale_max", 10)), pass_mark=float(grading.get("pass_mark", 4)),
        decimals=int(grading.get("decimals", 2)), limits=limits,
        secret_env=str(grading.get("secret_env", "GRADER_SECRET")))


def find_course(start: Path) -> Path | None:
    """The nearest ``course.toml`` in ``start`` or its parents."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / COURSE_FILE).is_file():
            return folder / COURSE_FILE
    return None


def load_assignment(root: Path) -> Assignment:
    """Loads and validates ``ROOT/assignment.toml``."""
    path = root / ASSIGNMENT_FILE
    data = _load_toml(path)
    where = str(path)
    head = data.get("assignment", {})
    exercises = []
    for i, raw in enumerate(data.get("exercise", [])):
        at = f"{where} [[exercise]] #{i + 1}"
        points = _require(raw, "points", (int, float), at)
        if points <= 0:
            raise ConfigError(f"{at}.points debe ser positivo (llegó {points})")
        functions = raw.get("functions", [])
        if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
            raise ConfigError(f"{at}.functions debe ser una lista de nombres")
        exercises.append(Exercise(
            name=_require(raw, "name", str, at), points=float(points),
            title=str(raw.get("title", "")), functions=tuple(functions),
            numpy_only=bool(raw.get("numpy_only", False)),
            partial_credit=bool(raw.get("partial_credit", head.get("partial_credit", False)))))
    if not exercises:
        raise ConfigError(f"{where}: se esperaba al menos un [[exercise]]")
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: hay ejercicios repetidos: {names}")

    def paths(key: str) -> tuple[Path, ...]:
        values = head.get(key, [])
        if not isinstance(values, list):
            raise ConfigError(f"{where} [assignment].{key} debe ser una lista de rutas")
        return tuple(root / v for v in values)

    limits = data.get("limits", {})
    Limits.from_mapping(limits, where=f"{where} [limits]")
    uses_torch = head.get("torch", False)
    if not isinstance(uses_torch, bool):
        raise ConfigError(f"{where} [assignment].torch debe ser true o false (llegó {uses_torch!r})")
    helpers = head.get("worker_helpers")
    if helpers is not None:
        if not isinstance(helpers, str) or not (root / helpers).is_file():
            raise ConfigError(f"{where} [assignment].worker_helpers debe ser la ruta de un archivo "
                              f".py existente (llegó {helpers!r})")
        helpers = root / helpers
    return Assignment(
        name=_require(head, "name", str, f"{where} [assignment]"),
        title=str(head.get("title", "")),
        module=str(head.get("module", head.get("name"))), root=root,
        exercises=tuple(exercises), public_checks=paths("public_checks"),
        hidden_checks=paths("hidden_checks"), starter=paths("starter"),
        forbidden_modules=tuple(head.get("forbidden_modules", [])), limits=limits,
        uses_torch=uses_torch, worker_helpers=helpers)
