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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from grader import results, scoring
from grader.course import Course, late
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


def build(collected: Collected, course: Course, roster: Roster | None = None) -> pd.DataFrame:
    """One row per student (per roster student, with ``roster``), columns in the fixed order
    of the module docstring. Roster and late-policy problems are added to ``collected.problems``."""
    tps = [t.name for t in course.tps]
    with_late = bool(course.deadlines) and any(r.submitted_at for r in collected.results.values())
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
    weights = {t.name: t.weight for t in course.tps}
    rows = []
    for key, row, own in people:
        scores: dict[str, float | None] = {}
        extra: dict[str, object] = {}
        for tp in tps:
            result = own.get(tp)
            raw = result.score if result else 0.0
            days: object = ""  # an int, or empty when unknown
            score, penalty = raw, 0.0
            if with_late and result is not None:
                score, days, penalty = _late(result, key, course, collected.problems)
            scores[tp] = score if result else None
            row[tp] = score
            extra.update({f"{tp}_raw": raw, f"{tp}_late_days": days, f"{tp}_penalty": penalty})
        row["final"] = scoring.final_grade(scores, weights, decimals=course.decimals)
        for tp in tps:
            row[f"{tp}_status"] = _status(own.get(tp))
        row["condition"] = "aprobado" if row["final"] >= course.pass_mark else "desaprobado"  # type: ignore[operator]
        rows.append({**row, **extra} if with_late else row)
    columns = ([*identity, *tps, "final"] + [f"{tp}_status" for tp in tps] + ["condition"])
    if with_late:
        columns += [f"{tp}_{suffix}" for tp in tps for suffix in ("raw", "late_days", "penalty")]
    return pd.DataFrame(rows, columns=columns)


def _late(result: SubmissionResult, student: str, course: Course,
          problems: list[str]) -> tuple[float, object, float]:
    """``(score, late days, penalty)`` of one result under the course's late policy."""
    deadline = course.deadlines.get(result.tp)
    if deadline is None:
        return result.score, "", 0.0
    if not result.submitted_at:
        problems.append(f"{result.student} ({result.tp}): no se sabe cuándo entregó (no pasó por "
                        "'grader intake'); no se aplicó la política de entregas tardías")
        return result.score, "", 0.0
    try:
        submitted = dt.datetime.fromisoformat(result.submitted_at)
        outcome = late.assess(result.score, submitted, deadline, course.late, student=student,
                              tp=result.tp, decimals=course.decimals)
    except ValueError:
        problems.append(f"{result.student} ({result.tp}): submitted_at {result.submitted_at!r} no "
                        "es una fecha ISO 8601 con zona horaria; no se aplicó la política de "
                        "entregas tardías")
        return result.score, "", 0.0
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
