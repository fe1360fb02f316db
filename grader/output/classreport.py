"""The class report, for instructors: how the whole class did (``grader report RESULTS/ --out DIR``).

From the per-submission result files (``RESULTS/TP/STUDENT.json``) it writes, in ``DIR``:

- ``index.html``: one self-contained page, the plots embedded as ``data:`` PNGs (no script, no
  external resource, see ``grader.output.html``);
- ``README.md``: the same numbers in Markdown, with the plots as files beside it;
- the plots (matplotlib, Agg): ``grades-TP.png`` per TP and ``grades-final.png`` (distribution of
  the grades), ``pass-rate-TP.png`` per TP (the share of submissions that earned all the points of
  each exercise, so the topic the class did not get stands out).

It also lists the slowest submissions and every anomaly (``Anomaly``): checks that ran out of time
or memory, crashed or broke the protocol, files that did not load, missing submissions, result
files that could not be read, and submissions handed in late (when the course has deadlines and
the results know when they were handed in, as the gradebook sees them). Anomalies found
elsewhere, such as files that match no student, come in through ``extra`` (or an intake manifest,
``load_intake``). A result's ``notes`` are not anomalies: they tell the student what grading did
with the file (statements of a notebook it left out) and are in the student's report.

Students are counted as the gradebook counts them: the per-student table is built from
``gradebook.build`` (one row per student, per roster student with a roster: a roster student with
no result is in it, with final 0), so its rows, finals and conditions are gradebook.csv's. Each TP
score links to that student's feedback page (``RESULTS/TP/STUDENT.html``, written beside the
result); a manual adjustment (the frame's ``tpN_auto`` and ``tpN_adjustment`` columns, when there
are any) shows as ``7.50 → 8.50`` with its note. When a regrade left ``RESULTS/TP/cambios.csv``
(``grader grade``), the report lists it.

The page fits a 1280 px window: tables shrink to the page (long ids break anywhere) and long texts
are cut, with the whole text in the cell's ``title``.

Every number is computed once, in ``summarize``; the writers only format it.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import os
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from grader import results
from grader.course import Course
from grader.errors import ConfigError
from grader.intake.matching import KINDS as INTAKE_KINDS
from grader.output import gradebook
from grader.output.feedback import STATUS_TEXT, checks_text
from grader.output.html import document, esc
from grader.output.markdown import md_text
from grader.results import Status, SubmissionResult
from grader.similarity.report import CSV_FILE as SIMILARITY_CSV
from grader.similarity.report import section as similarity_section
from grader.submissions import safe_name

SIMILARITY_FOLDER = "similitud"
"""Where the report looks for ``grader similarity``'s output of each TP: ``RESULTS/TP/similitud/``."""

if TYPE_CHECKING:
    from grader.course.adjustments import Adjustments
    from grader.intake.roster import Roster

SLOWEST = 10
"""Rows of the slowest-submissions table."""
DPI = 100

KIND_TEXT = {
    **INTAKE_KINDS,  # what grader intake lists in intake.json (read with --intake)
    "load_error": "no se pudo cargar",
    "timeout": STATUS_TEXT[Status.TIMEOUT],
    "crash": STATUS_TEXT[Status.CRASH],
    "memory": STATUS_TEXT[Status.MEMORY],
    "protocol": STATUS_TEXT[Status.PROTOCOL],
    "missing": "sin entrega",
    "late": "entrega tardía",
    "unmatched": "archivo sin estudiante",
    "problem": "problema con los resultados",
    "review": "revisar a mano",
}
"""Spanish label of each known anomaly kind; other kinds are shown as they come."""
CHANGES_FILE = "cambios.csv"
CHANGE_COLUMNS = ("student", "tp", "reason", "old_score", "new_score", "changed_checks")
"""The columns of ``RESULTS/TP/cambios.csv``, as ``grader grade`` writes them after a regrade."""
_STATUS_KIND = {Status.TIMEOUT: "timeout", Status.CRASH: "crash", Status.MEMORY: "memory",
                Status.PROTOCOL: "protocol"}


@dataclass(frozen=True)
class Anomaly:
    """Something about one submission the instructor should look at."""

    student: str
    """Empty when it belongs to no student (a file that matched nobody)."""
    tp: str
    """Empty when it belongs to no TP."""
    kind: str
    """One of ``KIND_TEXT`` (``timeout``, ``late``, ...) or any other short word."""
    detail: str = ""
    """What happened, in Spanish."""

    @property
    def kind_text(self) -> str:
        return KIND_TEXT.get(self.kind, self.kind)


@dataclass(frozen=True)
class Distribution:
    """Grades of one TP (one per result) or final grades (one per student)."""

    label: str
    key: str
    """File-name part of its plot: the TP's name or ``final``."""
    scores: tuple[float, ...]
    edges: tuple[float, ...]
    """Ten bins from 0 to the scale's maximum; the last one includes its right edge."""
    counts: tuple[int, ...]
    passed: int
    """Grades at or above the course's pass mark."""

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None


@dataclass(frozen=True)
class ExerciseRate:
    name: str
    title: str
    points: float
    full: int
    """Submissions that earned all of the exercise's points."""
    graded: int
    """Submissions that loaded (a file that does not load fails every exercise alike)."""
    mean_earned: float

    @property
    def rate(self) -> float:
        return self.full / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class TPSummary:
    tp: str
    grades: Distribution
    load_errors: int
    missing: int
    exercises: tuple[ExerciseRate, ...]


@dataclass(frozen=True)
class SlowSubmission:
    student: str
    tp: str
    duration_s: float
    score: float
    slowest_check: str
    slowest_check_s: float


@dataclass(frozen=True)
class TPScore:
    """One TP of one student, as the gradebook has it."""

    tp: str
    score: float
    """The gradebook's (after the late penalty and any adjustment)."""
    status: str
    """The gradebook's ``graded``, ``load_error`` or ``missing``."""
    auto: float | None = None
    """The score before a manual adjustment; ``None`` when there is none."""
    adjustment: str = ""
    """The adjustment's note (Spanish), empty when there is none."""
    page: Path | None = None
    """The student's feedback page for this TP, when it exists."""


@dataclass(frozen=True)
class StudentRow:
    """One row of the gradebook, with what the report adds: links and anomalies."""

    student: str
    """The padrón with a roster, else the results' student key (the gradebook's identity)."""
    name: str
    """The roster's name; empty without a roster."""
    scores: tuple[TPScore, ...]
    final: float
    condition: str
    anomalies: tuple[Anomaly, ...]


@dataclass(frozen=True)
class Change:
    """A row of ``RESULTS/TP/cambios.csv``: a student whose result changed in the TP's last
    regrade. Scores stay the text the file has (two decimals)."""

    student: str
    tp: str
    reason: str
    old_score: str
    new_score: str
    changed_checks: str
    """``CHECK: OLD -> NEW`` items joined with ``"; "``."""


@dataclass(frozen=True)
class ClassSummary:
    course: str
    scale_max: float
    pass_mark: float
    students: tuple[str, ...]
    """The gradebook's rows (padrones with a roster)."""
    tps: tuple[TPSummary, ...]
    final: Distribution
    slowest: tuple[SlowSubmission, ...]
    anomalies: tuple[Anomaly, ...]
    rows: tuple[StudentRow, ...] = ()
    roster: bool = False
    """Whether the rows are a roster's (padrón and name) or the results' students."""
    changes: tuple[Change, ...] | None = None
    """The TPs' ``cambios.csv`` rows; ``None`` when no TP has the file."""
    similarity: tuple[tuple[str, str], ...] = ()
    """Per TP with a ``similitud.csv`` in ``RESULTS/TP/similitud/`` (``grader similarity``), its
    section as ``(markdown, html)``."""


@dataclass(frozen=True)
class ReportFiles:
    index: Path
    readme: Path
    images: tuple[Path, ...]
    summary: ClassSummary


# --- numbers -----------------------------------------------------------------------------------


def _distribution(label: str, key: str, scores: list[float], course: Course) -> Distribution:
    edges = np.linspace(0.0, course.scale_max, 11)
    counts, _ = np.histogram(scores, bins=edges)
    return Distribution(label, key, tuple(scores), tuple(float(e) for e in edges),
                        tuple(int(c) for c in counts),
                        sum(1 for s in scores if s >= course.pass_mark - 1e-9))


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"


def anomalies_of(result: SubmissionResult) -> list[Anomaly]:
    """The anomalies one result shows: it did not load, checks hit a limit, or the static check
    left something for staff to review."""
    if result.load_error:
        return [Anomaly(result.student, result.tp, "load_error", _first_line(result.load_error))]
    found = []
    for status, kind in _STATUS_KIND.items():
        hit = [c for c in result.checks if c.status is status]
        if hit:
            names = ", ".join(c.id for c in hit[:3]) + (f" y {len(hit) - 3} más" if len(hit) > 3 else "")
            found.append(Anomaly(result.student, result.tp, kind,
                                 f"{checks_text(len(hit))} ({names}): {_first_line(hit[0].message)}"))
    found += [Anomaly(result.student, result.tp, "review", line) for line in result.review]
    return found


def summarize(collected: gradebook.Collected, course: Course, *, roster: Roster | None = None,
              adjustments: Adjustments | None = None, results_dir: Path | None = None,
              changes: Iterable[Change] | None = None, extra: Iterable[Anomaly] = (),
              slowest: int = SLOWEST) -> ClassSummary:
    """Every number of the class report, from the results ``gradebook.collect`` read.

    The students, their final grades and conditions are the gradebook's (``gradebook.build``,
    late policy and adjustments included), and so are the late submissions. TP grades are the
    scores of the results the gradebook uses (with a roster, results that match nobody are only a
    problem).

    Args:
        roster: the class list: every roster student is a row, as in gradebook.csv.
        adjustments: staff's manual adjustments (``grader.course.adjustments``), applied as the
            gradebook applies them.
        results_dir: where the results are: each TP score links to the feedback page beside its
            result when that page exists.
        changes: the rows of the TPs' ``cambios.csv`` (``load_changes``); ``None``: no file.
        extra: more anomalies (an intake manifest's, say).
    """
    # May add problems (late policy, roster) to ``collected``.
    book = gradebook.build(collected, course, roster, adjustments=adjustments)
    identity = "padron" if "padron" in book.columns else "student"
    keys = [str(key) for key in book[identity]]
    assigned = _assigned(collected, roster)
    extra = list(extra)
    anomalies: list[Anomaly] = [Anomaly("", "", "problem", p) for p in collected.problems]
    anomalies += _late_anomalies(book, course, identity)
    # An intake manifest already lists who handed nothing in: that is the same anomaly.
    reported = {(a.student, a.tp) for a in extra if a.kind == "no_submission"}
    tps = []
    for entry in course.tps:
        own = [assigned[key][entry.name] for key in keys if entry.name in assigned.get(key, {})]
        loaded = [r for r in own if not r.load_error]
        exercises: dict[str, list] = {}
        for result in loaded:
            for score in result.exercises:
                exercises.setdefault(score.name, []).append(score)
        rates = tuple(ExerciseRate(
            name, scores[0].title or name, scores[0].points,
            sum(1 for s in scores if s.earned >= s.points - 1e-9), len(scores),
            statistics.fmean(s.earned for s in scores)) for name, scores in exercises.items())
        missing = [key for key in keys if entry.name not in assigned.get(key, {})]
        anomalies += [Anomaly(key, entry.name, "missing", "no hay resultado de este TP")
                      for key in missing if (key, entry.name) not in reported]
        for (_, tp), result in sorted(collected.results.items()):
            if tp == entry.name:
                anomalies += anomalies_of(result)
        tps.append(TPSummary(entry.name, _distribution(entry.name.upper(), entry.name,
                                                        [r.score for r in own], course),
                             len(own) - len(loaded), len(missing), rates))
    finals = [float(v) for v in book["final"]]
    by_time = sorted(collected.results.values(), key=lambda r: (-r.duration_s, r.tp, r.student))
    slow = tuple(_slow(r) for r in by_time[:slowest])
    anomalies += extra
    order = {entry.name: i for i, entry in enumerate(course.tps)}
    anomalies.sort(key=lambda a: (order.get(a.tp, len(order)), a.tp, a.student, a.kind, a.detail))
    rows = []
    for key, (_, row) in zip(keys, book.iterrows(), strict=True):
        theirs = assigned.get(key, {})
        aliases = {key, *(r.student for r in theirs.values())}
        rows.append(StudentRow(
            key, str(row["nombre"]) if identity == "padron" else "",
            tuple(_tp_score(row, entry.name, theirs.get(entry.name), results_dir)
                  for entry in course.tps),
            float(row["final"]), str(row["condition"]),
            tuple(a for a in anomalies if a.student in aliases)))
    return ClassSummary(course.name, course.scale_max, course.pass_mark, tuple(keys), tuple(tps),
                        _distribution("Nota final", "final", finals, course), slow,
                        tuple(anomalies), tuple(rows), identity == "padron",
                        None if changes is None else tuple(changes))


def _assigned(collected: gradebook.Collected,
              roster: Roster | None) -> dict[str, dict[str, SubmissionResult]]:
    """Gradebook row key -> TP -> the result the gradebook used."""
    if roster is None:
        found: dict[str, dict[str, SubmissionResult]] = {}
        for (student, tp), result in collected.results.items():
            found.setdefault(student, {})[tp] = result
        return found
    # The gradebook's own matching, so that a row's links are to the results it scored; on a
    # copy, because ``gradebook.build`` already listed its problems.
    return gradebook._by_roster(gradebook.Collected(dict(collected.results)), roster)


def _tp_score(row: pd.Series, tp: str, result: SubmissionResult | None,
              results_dir: Path | None) -> TPScore:
    note = row.get(f"{tp}_adjustment")  # columns the gradebook has only when adjustments exist
    adjusted = isinstance(note, str) and bool(note.strip())
    page = None
    if result is not None and results_dir is not None:
        page = results_dir / tp / f"{safe_name(result.student)}.html"  # as the batch names it
        page = page if page.is_file() else None
    return TPScore(tp, float(row[tp]), str(row[f"{tp}_status"]),
                   float(row[f"{tp}_auto"]) if adjusted else None,
                   str(note).strip() if adjusted else "", page)


def _late_anomalies(book: pd.DataFrame, course: Course, identity: str) -> list[Anomaly]:
    """One per TP handed in late, from the gradebook's ``TP_late_days`` columns (present only
    when the course has deadlines and the results know when they were handed in)."""
    found = []
    for entry in course.tps:
        days, raw, penalty = (f"{entry.name}_late_days", f"{entry.name}_raw", f"{entry.name}_penalty")
        if not {days, raw, penalty} <= set(book.columns):
            continue
        for _, row in book.iterrows():
            if isinstance(row[days], (int, float)) and row[days] > 0:
                found.append(Anomaly(str(row[identity]), entry.name, "late",
                                     f"{row[days]:g} días tarde: {row[raw]:.2f} − {row[penalty]:.2f}"
                                     f" = {row[entry.name]:.2f}"))
    return found


def _slow(result: SubmissionResult) -> SlowSubmission:
    check = max(result.checks, key=lambda c: c.duration_s, default=None)
    return SlowSubmission(result.student, result.tp, result.duration_s, result.score,
                          check.id if check else "", check.duration_s if check else 0.0)


def load_intake(path: Path) -> list[Anomaly]:
    """The ``anomalies`` of an intake manifest (``intake.json``): a list of objects with
    ``student``, ``tp``, ``kind`` and ``detail``. A missing file, or one without the list, adds
    nothing; a list with something else in it is an error that names the file and the entry."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: no se puede leer el manifiesto de entregas ({exc})") from None
    entries = data.get("anomalies") if isinstance(data, dict) else None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'anomalies' debe ser una lista; llegó {type(entries).__name__}")
    found = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str) or not entry["kind"]:
            raise ConfigError(f"{path}: anomalies[{i}] debe ser un objeto con 'student', 'tp', "
                              f"'kind' y 'detail'; llegó {str(entry)[:200]}")
        found.append(Anomaly(*(str(entry.get(k) or "") for k in ("student", "tp", "kind", "detail"))))
    return found


def load_changes(path: Path) -> list[Change]:
    """The rows of a ``cambios.csv`` (``CHANGE_COLUMNS``, as ``grader grade`` writes it).

    Raises:
        ConfigError: the file cannot be read or its columns are not those (the message names
            the file, the columns expected and the ones found).
    """
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = tuple(reader.fieldnames or ())
            if columns != CHANGE_COLUMNS:
                raise ConfigError(f"{path}: se esperaban las columnas {','.join(CHANGE_COLUMNS)}; "
                                  f"llegaron {','.join(columns) or 'ninguna'}")
            return [Change(*(row[c] or "" for c in CHANGE_COLUMNS)) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: no se pueden leer los cambios de la recalificación ({exc})") from None


# --- plots -------------------------------------------------------------------------------------


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    # No "Software" entry: the same numbers give the same bytes.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def grades_plot(grades: Distribution, pass_mark: float) -> bytes:
    """Histogram of one distribution, with the pass mark."""
    figure = Figure(figsize=(6.4, 3.2), layout="constrained")
    axes = figure.subplots()
    widths = np.diff(grades.edges)
    axes.bar(grades.edges[:-1], grades.counts, width=widths, align="edge", color="#4c72b0",
             edgecolor="white")
    axes.axvline(pass_mark, color="#cf222e", linestyle="--", linewidth=1.2, label="aprobación")
    axes.set_xticks(grades.edges)
    axes.set_xlim(grades.edges[0], grades.edges[-1])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("nota")
    axes.set_ylabel("estudiantes" if grades.key == "final" else "entregas")
    axes.set_title(f"{grades.label}: distribución de notas (n = {len(grades.scores)})")
    axes.legend(loc="upper left", frameon=False)
    return _png(figure)


def pass_rate_plot(tp: TPSummary) -> bytes:
    """Horizontal bars: the share of submissions that earned all points of each exercise."""
    figure = Figure(figsize=(7.2, 1.2 + 0.32 * max(len(tp.exercises), 1)), layout="constrained")
    axes = figure.subplots()
    labels = [e.title for e in tp.exercises]
    rates = [100 * e.rate for e in tp.exercises]
    colors = ["#cf222e" if r < 50 else "#bf8700" if r < 90 else "#1a7f37" for r in rates]
    bars = axes.barh(labels, rates, color=colors)
    axes.bar_label(bars, labels=[f"{e.full}/{e.graded}" for e in tp.exercises], padding=3,
                   fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 112)
    axes.xaxis.set_major_formatter(PercentFormatter())
    axes.set_xticks(range(0, 101, 20))
    axes.tick_params(axis="y", labelsize=8)
    graded = max((e.graded for e in tp.exercises), default=0)
    figure.suptitle(f"{tp.tp.upper()}: entregas con todos los puntos del ejercicio (n = {graded})",
                    fontsize=11)
    return _png(figure)


def plots(summary: ClassSummary) -> dict[str, bytes]:
    """File name → PNG, in the order the report shows them."""
    images = {f"grades-{t.tp}.png": grades_plot(t.grades, summary.pass_mark) for t in summary.tps}
    images["grades-final.png"] = grades_plot(summary.final, summary.pass_mark)
    images.update({f"pass-rate-{t.tp}.png": pass_rate_plot(t) for t in summary.tps if t.exercises})
    return images


# --- writers -----------------------------------------------------------------------------------

# What the class report adds to ``grader.output.html.STYLE`` (a <style> in the body: the page
# loads nothing). A wider page, and tables that shrink to it: in the columns of ids and free
# text (``wrap``) ``anywhere`` lets a long id break between any two characters, which also lowers
# the cell's minimum width, so the table can give up width there (``break-word`` does not). Only
# there: everywhere, it lets the browser squeeze short columns into a letter a line.
PAGE_STYLE = """
main { max-width: 78rem; }
table { max-width: 100%; }
th, td { overflow-wrap: break-word; }
td.wrap { overflow-wrap: anywhere; }
td[title] { text-decoration: underline dotted var(--muted); }
"""
LONG = 120
"""Longest text a cell shows whole; a longer one is cut, whole in the cell's ``title``."""
SHORT = 48
"""Same, for the per-student table's anomalies and adjustments."""


@dataclass(frozen=True)
class Cell:
    """A table cell that is more than its text."""

    text: str
    href: str = ""
    """A link, relative to the report's folder (already URL-quoted)."""
    title: str = ""
    """The whole text (HTML ``title``) when ``text`` is cut, or a note about it."""


Row = list[str | Cell]


def _cut(text: str, limit: int = LONG) -> str | Cell:
    return text if len(text) <= limit else Cell(text[:limit - 1] + "…", title=text)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _bin(edges: tuple[float, ...], i: int) -> str:
    return f"{edges[i]:g}–{edges[i + 1]:g}"


def _overview_rows(summary: ClassSummary) -> list[Row]:
    rows: list[Row] = []
    for tp in summary.tps:
        g = tp.grades
        rows.append([g.label, str(len(g.scores)), str(tp.missing), str(tp.load_errors), _num(g.mean),
                     _num(g.median), _num(min(g.scores, default=None)), _num(max(g.scores, default=None)),
                     str(g.passed)])
    f = summary.final
    rows.append([f.label, str(len(f.scores)), "—", "—", _num(f.mean), _num(f.median),
                 _num(min(f.scores, default=None)), _num(max(f.scores, default=None)), str(f.passed)])
    return rows


OVERVIEW = ["", "Notas", "Sin entrega", "No cargaron", "Promedio", "Mediana", "Mínima", "Máxima",
            "Aprobadas"]
EXERCISES = ["Ejercicio", "Puntos", "Con todos los puntos", "Porcentaje", "Puntos promedio"]
SLOW = ["Estudiante", "TP", "Duración (s)", "Nota", "Comprobación más lenta", "Su duración (s)"]
ANOMALIES = ["TP", "Estudiante", "Tipo", "Detalle"]
CHANGES = ["TP", "Estudiante", "Motivo", "Nota anterior", "Nota nueva", "Comprobaciones que cambiaron"]


def _exercise_rows(tp: TPSummary) -> list[Row]:
    return [[e.title, f"{e.points:g}", f"{e.full} de {e.graded}", f"{100 * e.rate:.0f} %",
             f"{e.mean_earned:.2f}"] for e in tp.exercises]


def _slow_rows(summary: ClassSummary) -> list[Row]:
    return [[s.student, s.tp.upper(), f"{s.duration_s:.1f}", f"{s.score:.2f}", _cut(s.slowest_check),
             f"{s.slowest_check_s:.1f}"] for s in summary.slowest]


def _anomaly_rows(summary: ClassSummary) -> list[Row]:
    return [[a.tp.upper() or "—", a.student or "—", a.kind_text, _cut(a.detail or "—")]
            for a in summary.anomalies]


def _change_rows(changes: tuple[Change, ...]) -> list[Row]:
    return [[c.tp.upper(), c.student, c.reason, c.old_score, c.new_score, _cut(c.changed_checks or "—")]
            for c in changes]


def _student_header(summary: ClassSummary) -> list[str]:
    identity = ["Padrón", "Nombre"] if summary.roster else ["Estudiante"]
    return [*identity, *(t.tp.upper() for t in summary.tps), "Final", "Condición", "Ajustes",
            "Anomalías"]


def _student_numeric(summary: ClassSummary) -> set[int]:
    first = 2 if summary.roster else 1
    return set(range(first, first + len(summary.tps) + 1))


def _student_wrap(summary: ClassSummary) -> set[int]:
    """The identity columns, adjustments and anomalies."""
    last = len(_student_header(summary)) - 1
    return {0, 1, last - 1, last} if summary.roster else {0, last - 1, last}


def _link(page: Path | None, out: Path | None) -> str:
    if page is None or out is None:
        return ""
    return quote(Path(os.path.relpath(page.resolve(), out.resolve())).as_posix())


def _score_cell(score: TPScore, out: Path | None) -> str | Cell:
    if score.auto is not None:
        shown = f"{score.auto:.2f} → {score.score:.2f}"
    else:
        shown = "—" if score.status == "missing" else f"{score.score:.2f}"
    href = _link(score.page, out)
    return Cell(shown, href, score.adjustment) if href or score.adjustment else shown


def _anomalies_cell(anomalies: tuple[Anomaly, ...]) -> str | Cell:
    if not anomalies:
        return "—"
    names = "; ".join(f"{a.tp.upper()} {a.kind_text}".strip() for a in anomalies)
    whole = "; ".join(f"{a.tp.upper()} {a.kind_text}".strip() + (f": {a.detail}" if a.detail else "")
                      for a in anomalies)
    text = f"{len(anomalies)}: {names}"
    return Cell(text if len(text) <= SHORT else text[:SHORT - 1] + "…", title=whole)


def _student_rows(summary: ClassSummary, out: Path | None) -> list[Row]:
    rows: list[Row] = []
    for row in summary.rows:
        notes = [f"{s.tp.upper()}: {s.adjustment}" for s in row.scores if s.adjustment]
        adjusted = ", ".join(s.tp.upper() for s in row.scores if s.adjustment)
        rows.append([*([row.student, row.name] if summary.roster else [row.student]),
                     *(_score_cell(s, out) for s in row.scores), f"{row.final:.2f}", row.condition,
                     Cell(adjusted, title="; ".join(notes)) if notes else "—",
                     _anomalies_cell(row.anomalies)])
    return rows


def _adjustment_notes(summary: ClassSummary) -> list[str]:
    """The whole note of every adjustment (the table shows only which TPs), one line each."""
    return [f"{row.student}{f' ({row.name})' if row.name else ''}, {s.tp.upper()}: {s.adjustment}"
            for row in summary.rows for s in row.scores if s.adjustment]


def _intro(summary: ClassSummary) -> str:
    who = "estudiantes del padrón" if summary.roster else "estudiantes"
    tps = "TP" if len(summary.tps) == 1 else "TPs"
    return (f"{len(summary.students)} {who}, {len(summary.tps)} {tps}. Nota de 0 a "
            f"{summary.scale_max:g}; se aprueba con {summary.pass_mark:g}. Las notas de cada TP son "
            "las de la corrección; la nota final es la de la planilla (un TP sin entrega cuenta 0 "
            "y, si el curso tiene fechas de entrega, se descuenta lo entregado tarde).")


def _students_intro(summary: ClassSummary) -> str:
    linked = any(s.page for row in summary.rows for s in row.scores)
    return ("Una fila por estudiante, como en la planilla"
            + (" (todo el padrón: quien no entregó nada tiene nota final 0)" if summary.roster else "")
            + (". Cada nota lleva a la devolución de esa entrega." if linked else "."))


CHANGES_INTRO = ("Lo que cambió en la última recalificación de cada TP (RESULTS/TP/cambios.csv, que "
                 "escribe 'grader grade' cuando vuelve a calificar entregas que ya tenían resultado).")


def _md_cell(cell: str | Cell) -> str:
    if isinstance(cell, str):
        return md_text(cell)
    return f"[{md_text(cell.text)}]({cell.href})" if cell.href else md_text(cell.text)


def _md_table(header: list[str], rows: list[Row], numeric: Collection[int] = ()) -> list[str]:
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    return ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "|".join(align) + "|",
            *["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]]


def markdown(summary: ClassSummary, out: Path | None = None) -> str:
    """``README.md``: the report with the plots as files beside it; links are relative to
    ``out``, the report's folder (none without it)."""
    lines = [f"# Informe de la clase: {md_text(summary.course)}", "", _intro(summary), "",
             "## Notas", "", *_md_table(OVERVIEW, _overview_rows(summary), set(range(1, 9))), ""]
    for grades in [t.grades for t in summary.tps] + [summary.final]:
        lines += [f"### {md_text(grades.label)}", "",
                  f"![{md_text(grades.label)}: distribución de notas](grades-{grades.key}.png)", "",
                  *_md_table(["Nota", *(_bin(grades.edges, i) for i in range(len(grades.counts)))],
                             [["Cantidad", *map(str, grades.counts)]],
                             set(range(1, len(grades.counts) + 1))), ""]
    lines += [f"## Estudiantes ({len(summary.rows)})", "", md_text(_students_intro(summary)), "",
              *_md_table(_student_header(summary), _student_rows(summary, out),
                         _student_numeric(summary)), ""]
    if notes := _adjustment_notes(summary):
        lines += ["Ajustes:", "", *(f"- {md_text(n)}" for n in notes), ""]
    lines += ["## Ejercicios", "", "Porcentaje de las entregas que cargaron que obtuvieron todos los "
              "puntos de cada ejercicio.", ""]
    for tp in summary.tps:
        if tp.exercises:
            lines += [f"### {md_text(tp.tp.upper())}", "",
                      f"![{md_text(tp.tp.upper())}: ejercicios](pass-rate-{tp.tp}.png)", "",
                      *_md_table(EXERCISES, _exercise_rows(tp), {1, 3, 4}), ""]
    lines += ["## Las entregas más lentas", "", *_md_table(SLOW, _slow_rows(summary), {2, 3, 5}), ""]
    if summary.changes is not None:
        lines += [f"## Cambios de la última recalificación ({len(summary.changes)})", "",
                  md_text(CHANGES_INTRO), ""]
        lines += ([*_md_table(CHANGES, _change_rows(summary.changes), {3, 4}), ""] if summary.changes
                  else ["Ninguno.", ""])
    lines += [text for text, _ in summary.similarity]
    lines += [f"## Anomalías ({len(summary.anomalies)})", ""]
    lines += _md_table(ANOMALIES, _anomaly_rows(summary)) if summary.anomalies else ["Ninguna."]
    return "\n".join(lines) + "\n"


def _html_table(header: list[str], rows: list[Row], numeric: Collection[int] = (),
                css: str = "", wrap: Collection[int] = ()) -> str:
    """``wrap``: the columns whose cells may break anywhere (ids, free text)."""
    def cell(tag: str, i: int, content: str | Cell) -> str:
        classes = " ".join(c for c, on in (("num", i in numeric), ("wrap", tag == "td" and i in wrap))
                           if on)
        attributes = f' class="{classes}"' if classes else ""
        if isinstance(content, str):
            return f"<{tag}{attributes}>{esc(content)}</{tag}>"
        if content.title:
            attributes += f' title="{esc(content.title)}"'
        text = (f'<a href="{esc(content.href)}">{esc(content.text)}</a>' if content.href
                else esc(content.text))
        return f"<{tag}{attributes}>{text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table class=\"{css}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{esc(alt)}\">"
            f"<figcaption>{esc(name)}</figcaption></figure>")


def html(summary: ClassSummary, images: dict[str, bytes], out: Path | None = None) -> str:
    """``index.html``: the report with every plot embedded; links are relative to ``out``, the
    report's folder (none without it)."""
    body = [f"<style>{PAGE_STYLE}</style>",
            f"<h1>Informe de la clase: {esc(summary.course)}</h1>", f"<p>{esc(_intro(summary))}</p>",
            "<h2>Notas</h2>", _html_table(OVERVIEW, _overview_rows(summary), set(range(1, 9)),
                                           "overview")]
    for grades in [t.grades for t in summary.tps] + [summary.final]:
        name = f"grades-{grades.key}.png"
        body += [f"<h3>{esc(grades.label)}</h3>",
                 _figure(name, images[name], f"{grades.label}: distribución de notas"),
                 _html_table(["Nota", *(_bin(grades.edges, i) for i in range(len(grades.counts)))],
                             [["Cantidad", *map(str, grades.counts)]],
                             set(range(1, len(grades.counts) + 1)), "bins")]
    body += [f"<h2>Estudiantes ({len(summary.rows)})</h2>", f"<p>{esc(_students_intro(summary))}</p>",
             _html_table(_student_header(summary), _student_rows(summary, out),
                         _student_numeric(summary), "students", _student_wrap(summary))]
    if notes := _adjustment_notes(summary):
        body += ["<p>Ajustes:</p><ul class=\"adjustments\">"
                 + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"]
    body += ["<h2>Ejercicios</h2>", "<p>Porcentaje de las entregas que cargaron que obtuvieron todos "
             "los puntos de cada ejercicio.</p>"]
    for tp in summary.tps:
        if tp.exercises:
            name = f"pass-rate-{tp.tp}.png"
            body += [f"<h3>{esc(tp.tp.upper())}</h3>",
                     _figure(name, images[name], f"{tp.tp.upper()}: ejercicios"),
                     _html_table(EXERCISES, _exercise_rows(tp), {1, 3, 4}, "exercises", {0})]
    body += ["<h2>Las entregas más lentas</h2>",
             _html_table(SLOW, _slow_rows(summary), {2, 3, 5}, "slow", {0, 4})]
    if summary.changes is not None:
        body += [f"<h2>Cambios de la última recalificación ({len(summary.changes)})</h2>",
                 f"<p>{esc(CHANGES_INTRO)}</p>",
                 _html_table(CHANGES, _change_rows(summary.changes), {3, 4}, "changes", {1, 2, 5})
                 if summary.changes else "<p>Ninguno.</p>"]
    body += [page for _, page in summary.similarity]
    body += [f"<h2>Anomalías ({len(summary.anomalies)})</h2>",
             _html_table(ANOMALIES, _anomaly_rows(summary), css="anomalies", wrap={1, 3})
             if summary.anomalies
             else "<p>Ninguna.</p>"]
    return document(f"Informe de la clase: {summary.course}", "\n".join(body))


def write(summary: ClassSummary, out: Path) -> ReportFiles:
    """Writes ``index.html``, ``README.md`` and the plots into ``out`` (each file atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    images = plots(summary)
    for name, png in images.items():
        (out / f".{name}.tmp").write_bytes(png)
        (out / f".{name}.tmp").replace(out / name)
    results.write_atomic(out / "README.md", markdown(summary, out))
    results.write_atomic(out / "index.html", html(summary, images, out))
    return ReportFiles(out / "index.html", out / "README.md", tuple(out / n for n in images), summary)


def class_report(results_dir: Path, course: Course, out: Path, *, roster: Roster | None = None,
                 adjustments: Adjustments | None = None, intakes: Iterable[Path] = (),
                 extra: Iterable[Anomaly] = ()) -> ReportFiles:
    """Reads ``results_dir`` and writes the class report into ``out``.

    Args:
        roster: the class list (``grader.intake.roster``): the students are its rows, as in the
            gradebook.
        adjustments: staff's manual adjustments, as the gradebook applies them.
        intakes: intake manifests (one per TP) whose ``anomalies`` are added (``load_intake``).
        extra: more anomalies found by the caller.
    """
    collected = gradebook.collect(results_dir, course)
    more = [*extra, *(a for path in intakes for a in load_intake(path))]
    changes: list[Change] | None = None
    for entry in course.tps:
        path = results_dir / entry.name / CHANGES_FILE
        if path.is_file():
            changes = changes or []
            try:
                changes += load_changes(path)
            except ConfigError as exc:  # the rest of the report still says something useful
                more.append(Anomaly("", entry.name, "problem", str(exc)))
    summary = summarize(collected, course, roster=roster, adjustments=adjustments,
                        results_dir=results_dir, changes=changes, extra=more)
    similar = [results_dir / entry.name / SIMILARITY_FOLDER / SIMILARITY_CSV for entry in course.tps]
    sections = tuple(similarity_section(path) for path in similar if path.is_file())
    return write(dataclasses.replace(summary, similarity=sections), out)
