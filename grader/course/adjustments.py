"""Manual grade adjustments (``ajustes.toml``): staff's corrections on top of the automatic score.

Instructors change grades by hand (a regrade request, an excused absence, a check found wrong
mid-term). Those changes live in their own file, named by ``course.toml``::

    [adjustments]
    path = "ajustes.toml"

so a regrade, which replaces the result JSON, never loses them: the gradebook (and what is built
from it) applies them every time it is built. The file is a list of tables::

    [[adjustment]]
    student = "100001"      # the padrón with a roster; otherwise the result's student key
    tp = "tp1"
    exercise = "train"      # optional: the adjustment is on that exercise's points
    score = 8.5             # override: the TP score (or the exercise's points) becomes this
    # bonus = 1.0           # or: added (may be negative); exactly one of score and bonus
    by = "M. Pérez"
    date = 2026-11-12       # a TOML date or "2026-11-12"
    reason = "regrade pedido el 12/11: el check de train usaba un nombre de optimizador mal"

Semantics:

- An **exercise-level** adjustment (with ``exercise``) corrects the automatic score: the
  exercise's earned points are replaced (``score``) or bumped (``bonus``), clamped to
  ``[0, points]``, and the TP score is recomputed ``scale_max * earned / possible`` from the
  result's exercise scores. This happens BEFORE the late penalty, which then applies to the
  corrected score, as if the check had been right from the start.
- A **TP-level** adjustment (no ``exercise``) is staff's last word: the TP score becomes
  ``score`` or gets ``bonus`` added, clamped to ``[0, scale_max]``, AFTER the late penalty. It
  also applies to a TP with no result (an excused absence).
- Several adjustments of the same student and TP apply in file order; exercise-level ones always
  go before TP-level ones (before and after the late penalty).

``load_adjustments`` validates the file against the course (TPs, exercises, ranges) with errors
that name the file, the entry and the key. Students are checked where they are known: the
gradebook (``grader.output.gradebook``) rejects an adjustment for a student it does not have.
Each adjustment's ``describe`` writes the Spanish note the gradebook shows:
``7.50 -> 8.50, ajuste: <reason> (<by>, 12/11/2026)``.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course.load import load_assignment
from grader.course.model import Assignment, Course
from grader.errors import ConfigError
from grader.results import SubmissionResult

KEYS = ("student", "tp", "exercise", "score", "bonus", "by", "date", "reason")
"""The keys of an ``[[adjustment]]`` table, in the order the docs list them."""


@dataclass(frozen=True)
class Adjustment:
    """One ``[[adjustment]]`` of the file."""

    student: str
    """The padrón (with a roster) or the result's student key."""
    tp: str
    by: str
    """Who decided it."""
    date: dt.date
    reason: str
    """Why, in Spanish: it reaches the gradebook and the exports."""
    exercise: str = ""
    """The exercise whose points change; empty: the TP score changes."""
    score: float | None = None
    """Override: the new value (TP score, or the exercise's points)."""
    bonus: float | None = None
    """Or: what is added to the value (may be negative)."""
    number: int = 0
    """Its position in the file (1, 2...), for messages."""
    where: str = ""
    """The file and the entry (``ajustes.toml [[adjustment]] #2``), for messages."""

    def apply(self, value: float, maximum: float) -> float:
        """``value`` after this adjustment, clamped to ``[0, maximum]``."""
        new = self.score if self.score is not None else value + (self.bonus or 0.0)
        return min(max(new, 0.0), maximum)

    def describe(self, before: float, after: float, *, decimals: int = 2) -> str:
        """The note shown next to the adjusted score:
        ``7.50 -> 8.50, ajuste: <reason> (<by>, 12/11/2026)``; an exercise-level one starts
        with the exercise (``train: 1.00 -> 2.00, ...``, its points)."""
        where = f"{self.exercise}: " if self.exercise else ""
        return (f"{where}{before:.{decimals}f} -> {after:.{decimals}f}, ajuste: {self.reason} "
                f"({self.by}, {self.date:%d/%m/%Y})")


@dataclass(frozen=True)
class Adjustments:
    """The validated adjustments file."""

    path: Path
    items: tuple[Adjustment, ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    def unknown_student(self, student: str, known: str) -> ConfigError:
        """The error for an adjustment naming a student the gradebook does not have; ``known``
        says where students come from (``"en el padrón x.csv"``)."""
        numbers = ", ".join(f"#{a.number}" for a in self.items if a.student == student)
        return ConfigError(f"{self.path}: el ajuste {numbers} es para el estudiante {student!r}, "
                           f"que no está {known}; se esperaba un estudiante de la planilla")


def apply_to_exercises(result: SubmissionResult, adjustments: list[Adjustment], *,
                       scale_max: float, decimals: int = 2) -> tuple[float, list[str]]:
    """The TP score of ``result`` after the exercise-level ``adjustments`` (in order), recomputed
    ``scale_max * earned / possible`` from its exercise scores, and one note per adjustment.
    Without exercise-level adjustments the result's own score is kept as it is.

    Raises:
        ConfigError: the result has no score for the adjustment's exercise (it was graded
            without it).
    """
    own = [a for a in adjustments if a.exercise]
    if not own:
        return result.score, []
    earned = {e.name: e.earned for e in result.exercises}
    points = {e.name: e.points for e in result.exercises}
    notes = []
    for adjustment in own:
        if adjustment.exercise not in earned:
            raise ConfigError(f"{adjustment.where}: el resultado de {result.student} en "
                              f"{result.tp} no tiene el ejercicio {adjustment.exercise!r} (tiene "
                              f"{', '.join(earned)}); recalificalo o ajustá la nota del TP")
        before = earned[adjustment.exercise]
        earned[adjustment.exercise] = adjustment.apply(before, points[adjustment.exercise])
        notes.append(adjustment.describe(before, earned[adjustment.exercise], decimals=decimals))
    possible = sum(points.values())
    score = round(scale_max * sum(earned.values()) / possible, decimals) if possible else 0.0
    return score, notes


def apply_to_tp(score: float, adjustments: list[Adjustment], *, scale_max: float,
                decimals: int = 2) -> tuple[float, list[str]]:
    """``score`` (after the late penalty) after the TP-level ``adjustments`` in order, and one
    note per adjustment."""
    notes = []
    for adjustment in (a for a in adjustments if not a.exercise):
        after = round(adjustment.apply(score, scale_max), decimals)
        notes.append(adjustment.describe(score, after, decimals=decimals))
        score = after
    return score, notes


def load_adjustments(path: Path, course: Course) -> Adjustments:
    """Reads and validates an adjustments file against ``course``.

    Raises:
        ConfigError: the file is missing or not TOML; an entry has an unknown key, lacks
            ``by``/``date``/``reason``, has both or neither of ``score`` and ``bonus``, names a TP
            or exercise the course does not have, or a ``score`` out of range. Every message names
            the file, the entry (``[[adjustment]] #2``) and the key.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no existe el archivo de ajustes {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: no se pudo leer el archivo de ajustes ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido: {exc}") from None
    extra = sorted(set(data) - {"adjustment"})
    if extra:
        raise ConfigError(f"{path}: clave desconocida {extra[0]!r}; el archivo de ajustes solo "
                          "tiene tablas [[adjustment]]")
    raw = data.get("adjustment", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: cada ajuste va en una tabla [[adjustment]] (con doble "
                          "corchete), no [adjustment]")
    assignments: dict[str, Assignment] = {}
    items = tuple(_adjustment(entry, i + 1, course, assignments, f"{path} [[adjustment]] #{i + 1}")
                  for i, entry in enumerate(raw))
    return Adjustments(path=path, items=items)


def _adjustment(raw: Any, number: int, course: Course,
                assignments: dict[str, Assignment], where: str) -> Adjustment:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: se esperaba una tabla [[adjustment]] (llegó {raw!r})")
    for key in raw:
        if key not in KEYS:
            raise ConfigError(f"{where}: clave desconocida {key!r}; las válidas son "
                              f"{', '.join(KEYS)}")
    if "student" not in raw:
        raise ConfigError(f"{where}: falta la clave 'student'")
    student = raw["student"]
    if isinstance(student, int) and not isinstance(student, bool):
        student = str(student)  # a padrón written without quotes
    if not isinstance(student, str) or not student.strip():
        raise ConfigError(f"{where}.student debe ser el padrón o el nombre del estudiante "
                          f"(llegó {student!r})")
    tp = _text(raw, "tp", where)
    names = [t.name for t in course.tps]
    if tp not in names:
        raise ConfigError(f"{where}.tp: no hay un TP llamado {tp!r}; los TPs del curso son "
                          f"{', '.join(names)}")
    exercise = raw.get("exercise", "")
    maximum = course.scale_max
    if exercise != "":
        if not isinstance(exercise, str) or not exercise.strip():
            raise ConfigError(f"{where}.exercise debe ser el nombre de un ejercicio de {tp} "
                              f"(llegó {exercise!r})")
        if tp not in assignments:
            assignments[tp] = load_assignment(course.tp(tp).assignment)
        known = {e.name: e.points for e in assignments[tp].exercises}
        if exercise not in known:
            raise ConfigError(f"{where}.exercise: {tp} no tiene un ejercicio {exercise!r}; los "
                              f"ejercicios de {tp} son {', '.join(known)}")
        maximum = known[exercise]
    if ("score" in raw) == ("bonus" in raw):
        arrived = "llegaron las dos" if "score" in raw else "no llegó ninguna"
        raise ConfigError(f"{where}: se esperaba exactamente una de score (la nota pasa a ser "
                          f"ese valor) o bonus (se suma); {arrived}")
    score = bonus = None
    if "score" in raw:
        score = _number(raw, "score", where)
        if not 0 <= score <= maximum:
            of = f"los puntos del ejercicio {exercise}" if exercise else "la nota de un TP"
            raise ConfigError(f"{where}.score debe estar entre 0 y {maximum:g} ({of}); llegó "
                              f"{score:g}")
    else:
        bonus = _number(raw, "bonus", where)
    return Adjustment(student=student.strip(), tp=tp, exercise=exercise, score=score, bonus=bonus,
                      by=_text(raw, "by", where), date=_date(raw, where),
                      reason=_text(raw, "reason", where), number=number, where=where)


def _missing(key: str, where: str) -> ConfigError:
    why = (" (cada ajuste dice quién lo hizo: by, cuándo: date, y por qué: reason)"
           if key in ("by", "date", "reason") else "")
    return ConfigError(f"{where}: falta la clave {key!r}{why}")


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    if key not in raw:
        raise _missing(key, where)
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key} debe ser texto no vacío (llegó {value!r})")
    return value.strip()


def _number(raw: dict[str, Any], key: str, where: str) -> float:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key} debe ser un número (llegó {value!r})")
    return float(value)


def _date(raw: dict[str, Any], where: str) -> dt.date:
    if "date" not in raw:
        raise _missing("date", where)
    value = raw["date"]
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ConfigError(f"{where}.date debe ser una fecha como 2026-11-12 (llegó {value!r})")
    return value
