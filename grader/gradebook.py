"""The course gradebook, always derived from the per-submission result files.

``gradebook.csv`` has one row per student and the fixed columns ``student, tp1, tp2, tp3, final,
tp1_status, tp2_status, tp3_status, condition`` (one score and one status per TP of the course).
A status is ``graded``, ``load_error`` (the file did not import: scored 0) or ``missing`` (no
result: counts 0). The long CSV has one row per student x check. Text cells that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import results, scoring
from .course import Course
from .errors import ConfigError
from .results import SubmissionResult

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


def build(collected: Collected, course: Course) -> pd.DataFrame:
    """One row per student, columns in the fixed order."""
    students = sorted({student for student, _ in collected.results})
    weights = {t.name: t.weight for t in course.tps}
    rows = []
    for student in students:
        row: dict[str, object] = {"student": student}
        scores: dict[str, float | None] = {}
        for entry in course.tps:
            result = collected.results.get((student, entry.name))
            scores[entry.name] = result.score if result else None
            row[entry.name] = result.score if result else 0.0
        row["final"] = scoring.final_grade(scores, weights, decimals=course.decimals)
        for entry in course.tps:
            row[f"{entry.name}_status"] = _status(collected.results.get((student, entry.name)))
        row["condition"] = "aprobado" if row["final"] >= course.pass_mark else "desaprobado"  # type: ignore[operator]
        rows.append(row)
    columns = (["student", *[t.name for t in course.tps], "final"]
               + [f"{t.name}_status" for t in course.tps] + ["condition"])
    return pd.DataFrame(rows, columns=columns)


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
