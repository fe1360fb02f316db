"""The course gradebook, always derived from the per-submission result files.

``gradebook.csv`` has one row per student and the fixed columns ``student, tp1, tp2, tp3, final,
tp1_status, tp2_status, tp3_status, condition`` (one score and one status per TP of the course).
A status is ``graded``, ``load_error`` (the file did not import: scored 0) or ``missing`` (no
result: counts 0). The long CSV has one row per student x check. Text cells that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'``.

With a roster (``grader.intake.roster``) the roster is the list of students: ``student`` is
replaced by ``padron, nombre, email`` (in that order, first), every roster student has a row (a TP
with no result is ``missing``), and results that match no roster student are left out and listed
in ``Collected.problems``.

When the course defines deadlines and the results carry when they were handed in
(``submitted_at``, from ``grader intake``), the late policy (``grader.course.late``) applies: ``tpN`` and
``final`` are after the penalty, and three columns per TP of the course follow ``condition``:
``tp1_raw, tp1_late_days, tp1_penalty, tp2_raw, ...`` (the score before the penalty, the days
late, the points lost). ``late_days`` is empty when unknown (no submission time, no deadline or
nothing handed in). Results graded from a plain folder have no submission time, so their
gradebook keeps the columns above unchanged.

With manual adjustments (``ajustes.toml``, ``grader.course.adjustments``, passed as
``adjustments``) that hold at least one entry, ``tpN``, ``final`` and ``condition`` are the
adjusted ones and two columns per TP of the course are appended at the end (after the late
columns): ``tp1_auto, tp1_adjustment, tp2_auto, ...``: the score without adjustments (after the
late penalty) and the adjustments' notes (``7.50 -> 8.50, ajuste: ... (M. Pérez, 12/11/2026)``,
several joined with ``; ``; empty when none). Exercise-level adjustments change the score the
penalty is taken from, so ``tpN_raw`` includes them; TP-level ones apply after the penalty. An
adjustment for a student the gradebook does not have (not in the roster; without a roster, no
result) is an error, never a silent skip.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from grader import results, scoring
from grader.course import Course, late
from grader.course.adjustments import Adjustment, Adjustments, apply_to_exercises, apply_to_tp
from grader.errors import ConfigError
from grader.results import SubmissionResult

if TYPE_CHECKING:
    from grader.intake.roster import Roster, RosterStudent

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Makes a text cell inert in spreadsheets (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass
class Collected:
    results: dict[tuple[str, str], SubmissionResult] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def collect(folder: Path, course: Course) -> Collected:
    """Reads every ``FOLDER/TP/*.json`` result of the course's TPs; unreadable ones are listed."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} no es una carpeta de resultados")
    found = Collected()
    for entry in course.tps:
        for path in sorted((folder / entry.name).glob("*.json")):
            try:
                result = results.load(path)
            except ConfigError as exc:
                found.problems.append(str(exc))
                continue
            if result.tp != entry.name:
                found.problems.append(f"{path}: dice ser del TP {result.tp!r}, no de {entry.name!r}")
                continue
            found.results[(result.student, entry.name)] = result
    return found


def _status(result: SubmissionResult | None) -> str:
    if result is None:
        return "missing"
    return "load_error" if result.load_error else "graded"


def build(collected: Collected, course: Course, roster: Roster | None = None,
          adjustments: Adjustments | None = None) -> pd.DataFrame:
    """One row per student (per roster student, with ``roster``), columns in the fixed order
    of the module docstring, ``adjustments`` applied. Roster and late-policy problems are added
    to ``collected.problems``.

    Raises:
        ConfigError: an adjustment names a student the gradebook does not have, or an exercise
            the student's result lacks.
    """
    tps = [t.name for t in course.tps]
    with_late = bool(course.deadlines) and any(r.submitted_at for r in collected.results.values())
    with_adjustments = adjustments is not None and len(adjustments) > 0
    people: list[tuple[str, dict[str, object], dict[str, SubmissionResult]]] = []
    if roster is None:
        for student in sorted({student for student, _ in collected.results}):
            people.append((student, {"student": student},
                           {tp: r for (s, tp), r in collected.results.items() if s == student}))
        identity = ["student"]
    else:
        assigned = _by_roster(collected, roster)
        for person in roster.students:
            people.append((person.student_id, {"padron": person.student_id, "nombre": person.name,
                                               "email": person.email},
                           assigned.get(person.student_id, {})))
        identity = ["padron", "nombre", "email"]
    own_adjustments = _adjustments_by_key(adjustments, roster, {key for key, _, _ in people})
    weights = {t.name: t.weight for t in course.tps}
    rows = []
    for key, row, own in people:
        scores: dict[str, float] = {}
        extra: dict[str, object] = {}
        adjusted: dict[str, object] = {}
        for tp in tps:
            result = own.get(tp)
            mine = own_adjustments.get((key, tp), [])
            auto, raw, days, penalty = _automatic(result, key, course, with_late, collected.problems)
            score = auto
            notes: list[str] = []
            if any(a.exercise for a in mine):
                if result is None:
                    raise ConfigError(
                        f"{next(a for a in mine if a.exercise).where}: {key} no tiene resultado de "
                        f"{tp}; un ajuste de ejercicio corrige la nota automática de una entrega: "
                        "para un TP sin entrega, ajustá la nota del TP (sin exercise)")
                raw, notes = apply_to_exercises(result, mine, scale_max=course.scale_max,
                                                decimals=course.decimals)
                # late-policy problems were already reported for the automatic score
                score, days, penalty = (_late(result, raw, key, course, []) if with_late
                                        else (raw, "", 0.0))
            score, tp_notes = apply_to_tp(score, mine, scale_max=course.scale_max,
                                          decimals=course.decimals)
            notes += tp_notes
            scores[tp] = score  # a TP without a result scores 0, or what an adjustment says
            row[tp] = score
            extra.update({f"{tp}_raw": raw, f"{tp}_late_days": days, f"{tp}_penalty": penalty})
            adjusted.update({f"{tp}_auto": auto, f"{tp}_adjustment": "; ".join(notes)})
        row["final"] = scoring.final_grade(scores, weights, decimals=course.decimals)
        for tp in tps:
            row[f"{tp}_status"] = _status(own.get(tp))
        row["condition"] = "aprobado" if row["final"] >= course.pass_mark else "desaprobado"  # type: ignore[operator]
        rows.append({**row, **(extra if with_late else {}),
                     **(adjusted if with_adjustments else {})})
    columns = ([*identity, *tps, "final"] + [f"{tp}_status" for tp in tps] + ["condition"])
    if with_late:
        columns += [f"{tp}_{suffix}" for tp in tps for suffix in ("raw", "late_days", "penalty")]
    if with_adjustments:
        columns += [f"{tp}_{suffix}" for tp in tps for suffix in ("auto", "adjustment")]
    return pd.DataFrame(rows, columns=columns)


def _automatic(result: SubmissionResult | None, key: str, course: Course, with_late: bool,
               problems: list[str]) -> tuple[float, float, object, float]:
    """``(score, raw score, late days, penalty)`` of one TP without adjustments; late days are
    an int, or empty when unknown."""
    if result is None:
        return 0.0, 0.0, "", 0.0
    if not with_late:
        return result.score, result.score, "", 0.0
    score, days, penalty = _late(result, result.score, key, course, problems)
    return score, result.score, days, penalty


def _adjustments_by_key(adjustments: Adjustments | None, roster: Roster | None,
                        keys: set[str]) -> dict[tuple[str, str], list[Adjustment]]:
    """Gradebook key (padrón with a roster, else the results' student) and TP -> its
    adjustments in file order.

    Raises:
        ConfigError: an adjustment names a student that is not in the gradebook.
    """
    found: dict[tuple[str, str], list[Adjustment]] = {}
    if adjustments is None:
        return found
    for adjustment in adjustments.items:
        key = adjustment.student
        if roster is not None:
            hit = roster.match(student_id=adjustment.student)
            key = hit[0].student_id if hit else ""
        if key not in keys:
            known = (f"en el padrón {roster.source}" if roster is not None else
                     "entre los estudiantes con resultados (" + _some(sorted(keys)) + ")")
            raise adjustments.unknown_student(adjustment.student, known)
        found.setdefault((key, adjustment.tp), []).append(adjustment)
    return found


def _some(names: list[str], shown: int = 10) -> str:
    if not names:
        return "no hay ninguno"
    more = f" y {len(names) - shown} más" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _late(result: SubmissionResult, raw: float, student: str, course: Course,
          problems: list[str]) -> tuple[float, object, float]:
    """``(score, late days, penalty)`` of one result whose score before the penalty is ``raw``
    (the result's, or corrected by exercise-level adjustments) under the course's late policy."""
    deadline = course.deadlines.get(result.tp)
    if deadline is None:
        return raw, "", 0.0
    if not result.submitted_at:
        problems.append(f"{result.student} ({result.tp}): no se sabe cuándo entregó (no pasó por "
                        "'grader intake'); no se aplicó la política de entregas tardías")
        return raw, "", 0.0
    try:
        submitted = dt.datetime.fromisoformat(result.submitted_at)
        outcome = late.assess(raw, submitted, deadline, course.late, student=student,
                              tp=result.tp, decimals=course.decimals)
    except ValueError:
        problems.append(f"{result.student} ({result.tp}): submitted_at {result.submitted_at!r} no "
                        "es una fecha ISO 8601 con zona horaria; no se aplicó la política de "
                        "entregas tardías")
        return raw, "", 0.0
    return outcome.score, outcome.late_days, outcome.penalty


def _by_roster(collected: Collected, roster: Roster) -> dict[str, dict[str, SubmissionResult]]:
    """Roster padrón -> TP -> result. A result is matched by its student key as padrón, email or
    name (``grader.intake.roster``); one that matches nobody, or a second result of the same
    student and TP, goes to ``collected.problems``."""
    rank = {"padrón": 0, "email": 1, "nombre": 2}
    best: dict[tuple[str, str], tuple[int, SubmissionResult]] = {}
    for (student, tp), result in sorted(collected.results.items()):
        hit = roster.match(student_id=student, email=student, name=student)
        if hit is None:
            collected.problems.append(f"{student} ({tp}): no coincide con nadie del padrón "
                                      f"{roster.source}; no figura en la planilla")
            continue
        person, how = hit
        previous = best.get((person.student_id, tp))
        if previous is not None:
            keep, drop = ((previous[1], result) if previous[0] <= rank[how]
                          else (result, previous[1]))
            collected.problems.append(f"{_who(person)} tiene dos resultados de {tp} ({keep.student} "
                                      f"y {drop.student}); se usó {keep.student}")
            if keep is previous[1]:
                continue
        best[(person.student_id, tp)] = (rank[how], result)
    assigned: dict[str, dict[str, SubmissionResult]] = {}
    for (student_id, tp), (_, result) in best.items():
        assigned.setdefault(student_id, {})[tp] = result
    return assigned


def _who(person: RosterStudent) -> str:
    return f"{person.name} ({person.student_id})"


def build_long(collected: Collected) -> pd.DataFrame:
    """One row per student x check."""
    rows = []
    for (student, tp), result in sorted(collected.results.items()):
        for check in result.checks:
            rows.append({"student": student, "tp": tp, "check": check.id,
                         "exercise": check.exercise, "visibility": check.visibility,
                         "status": check.status.value, "points": round(check.points, 4),
                         "max_points": round(check.max_points, 4), "message": check.message})
    columns = ["student", "tp", "check", "exercise", "visibility", "status", "points",
               "max_points", "message"]
    return pd.DataFrame(rows, columns=columns)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    safe = frame.map(neutralise) if not frame.empty else frame
    path.parent.mkdir(parents=True, exist_ok=True)
    text = safe.to_csv(index=False, float_format="%.2f", lineterminator="\n")
    results.write_atomic(path, text)
