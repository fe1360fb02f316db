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

Every number is computed once, in ``summarize``; the writers only format it.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

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
class ClassSummary:
    course: str
    scale_max: float
    pass_mark: float
    students: tuple[str, ...]
    tps: tuple[TPSummary, ...]
    final: Distribution
    slowest: tuple[SlowSubmission, ...]
    anomalies: tuple[Anomaly, ...]


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


def summarize(collected: gradebook.Collected, course: Course, *, extra: Iterable[Anomaly] = (),
              slowest: int = SLOWEST) -> ClassSummary:
    """Every number of the class report, from the results ``gradebook.collect`` read.

    TP grades are the results' scores; final grades are the gradebook's (``gradebook.build``,
    late policy included), and so are the late submissions.
    """
    book = gradebook.build(collected, course)  # may add problems (late policy) to ``collected``
    students = sorted({student for student, _ in collected.results})
    anomalies: list[Anomaly] = [Anomaly("", "", "problem", p) for p in collected.problems]
    anomalies += _late_anomalies(book, course)
    tps = []
    for entry in course.tps:
        own = [r for (_, tp), r in sorted(collected.results.items()) if tp == entry.name]
        loaded = [r for r in own if not r.load_error]
        exercises: dict[str, list] = {}
        for result in loaded:
            for score in result.exercises:
                exercises.setdefault(score.name, []).append(score)
        rates = tuple(ExerciseRate(
            name, scores[0].title or name, scores[0].points,
            sum(1 for s in scores if s.earned >= s.points - 1e-9), len(scores),
            statistics.fmean(s.earned for s in scores)) for name, scores in exercises.items())
        present = {r.student for r in own}
        missing = [s for s in students if s not in present]
        anomalies += [Anomaly(s, entry.name, "missing", "no hay resultado de este TP") for s in missing]
        for result in own:
            anomalies += anomalies_of(result)
        tps.append(TPSummary(entry.name, _distribution(entry.name.upper(), entry.name,
                                                        [r.score for r in own], course),
                             len(own) - len(loaded), len(missing), rates))
    finals = [float(v) for v in book["final"]]
    by_time = sorted(collected.results.values(), key=lambda r: (-r.duration_s, r.tp, r.student))
    slow = tuple(_slow(r) for r in by_time[:slowest])
    anomalies += list(extra)
    order = {entry.name: i for i, entry in enumerate(course.tps)}
    anomalies.sort(key=lambda a: (order.get(a.tp, len(order)), a.tp, a.student, a.kind, a.detail))
    return ClassSummary(course.name, course.scale_max, course.pass_mark, tuple(students), tuple(tps),
                        _distribution("Nota final", "final", finals, course), slow,
                        tuple(anomalies))


def _late_anomalies(book: pd.DataFrame, course: Course) -> list[Anomaly]:
    """One per TP handed in late, from the gradebook's ``TP_late_days`` columns (present only
    when the course has deadlines and the results know when they were handed in)."""
    found = []
    for entry in course.tps:
        days, raw, penalty = (f"{entry.name}_late_days", f"{entry.name}_raw", f"{entry.name}_penalty")
        if not {days, raw, penalty} <= set(book.columns):
            continue
        for _, row in book.iterrows():
            if isinstance(row[days], (int, float)) and row[days] > 0:
                found.append(Anomaly(str(row["student"]), entry.name, "late",
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


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _bin(edges: tuple[float, ...], i: int) -> str:
    return f"{edges[i]:g}–{edges[i + 1]:g}"


def _overview_rows(summary: ClassSummary) -> list[list[str]]:
    rows = []
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


def _exercise_rows(tp: TPSummary) -> list[list[str]]:
    return [[e.title, f"{e.points:g}", f"{e.full} de {e.graded}", f"{100 * e.rate:.0f} %",
             f"{e.mean_earned:.2f}"] for e in tp.exercises]


def _slow_rows(summary: ClassSummary) -> list[list[str]]:
    return [[s.student, s.tp.upper(), f"{s.duration_s:.1f}", f"{s.score:.2f}", s.slowest_check,
             f"{s.slowest_check_s:.1f}"] for s in summary.slowest]


def _anomaly_rows(summary: ClassSummary) -> list[list[str]]:
    return [[a.tp.upper() or "—", a.student or "—", a.kind_text, a.detail or "—"]
            for a in summary.anomalies]


def _intro(summary: ClassSummary) -> str:
    return (f"{len(summary.students)} estudiantes, {len(summary.tps)} TPs. Nota de 0 a "
            f"{summary.scale_max:g}; se aprueba con {summary.pass_mark:g}. Las notas de cada TP son "
            "las de la corrección; la nota final es la de la planilla (un TP sin entrega cuenta 0 "
            "y, si el curso tiene fechas de entrega, se descuenta lo entregado tarde).")


def _md_table(header: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> list[str]:
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    return ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "|".join(align) + "|",
            *["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]]


def markdown(summary: ClassSummary) -> str:
    """``README.md``: the report with the plots as files beside it."""
    lines = [f"# Informe de la clase: {md_text(summary.course)}", "", _intro(summary), "",
             "## Notas", "", *_md_table(OVERVIEW, _overview_rows(summary), set(range(1, 9))), ""]
    for grades in [t.grades for t in summary.tps] + [summary.final]:
        lines += [f"### {md_text(grades.label)}", "",
                  f"![{md_text(grades.label)}: distribución de notas](grades-{grades.key}.png)", "",
                  *_md_table(["Nota", *(_bin(grades.edges, i) for i in range(len(grades.counts)))],
                             [["Cantidad", *map(str, grades.counts)]],
                             set(range(1, len(grades.counts) + 1))), ""]
    lines += ["## Ejercicios", "", "Porcentaje de las entregas que cargaron que obtuvieron todos los "
              "puntos de cada ejercicio.", ""]
    for tp in summary.tps:
        if tp.exercises:
            lines += [f"### {md_text(tp.tp.upper())}", "",
                      f"![{md_text(tp.tp.upper())}: ejercicios](pass-rate-{tp.tp}.png)", "",
                      *_md_table(EXERCISES, _exercise_rows(tp), {1, 3, 4}), ""]
    lines += ["## Las entregas más lentas", "", *_md_table(SLOW, _slow_rows(summary), {2, 3, 5}), "",
              f"## Anomalías ({len(summary.anomalies)})", ""]
    lines += _md_table(ANOMALIES, _anomaly_rows(summary)) if summary.anomalies else ["Ninguna."]
    return "\n".join(lines) + "\n"


def _html_table(header: list[str], rows: list[list[str]], numeric: Collection[int] = (),
                css: str = "") -> str:
    def cell(tag: str, i: int, text: str) -> str:
        attribute = ' class="num"' if i in numeric else ""
        return f"<{tag}{attribute}>{esc(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table class=\"{css}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{esc(alt)}\">"
            f"<figcaption>{esc(name)}</figcaption></figure>")


def html(summary: ClassSummary, images: dict[str, bytes]) -> str:
    """``index.html``: the report with every plot embedded."""
    body = [f"<h1>Informe de la clase: {esc(summary.course)}</h1>", f"<p>{esc(_intro(summary))}</p>",
            "<h2>Notas</h2>", _html_table(OVERVIEW, _overview_rows(summary), set(range(1, 9)),
                                           "overview")]
    for grades in [t.grades for t in summary.tps] + [summary.final]:
        name = f"grades-{grades.key}.png"
        body += [f"<h3>{esc(grades.label)}</h3>",
                 _figure(name, images[name], f"{grades.label}: distribución de notas"),
                 _html_table(["Nota", *(_bin(grades.edges, i) for i in range(len(grades.counts)))],
                             [["Cantidad", *map(str, grades.counts)]],
                             set(range(1, len(grades.counts) + 1)), "bins")]
    body += ["<h2>Ejercicios</h2>", "<p>Porcentaje de las entregas que cargaron que obtuvieron todos "
             "los puntos de cada ejercicio.</p>"]
    for tp in summary.tps:
        if tp.exercises:
            name = f"pass-rate-{tp.tp}.png"
            body += [f"<h3>{esc(tp.tp.upper())}</h3>",
                     _figure(name, images[name], f"{tp.tp.upper()}: ejercicios"),
                     _html_table(EXERCISES, _exercise_rows(tp), {1, 3, 4}, "exercises")]
    body += ["<h2>Las entregas más lentas</h2>", _html_table(SLOW, _slow_rows(summary), {2, 3, 5}, "slow"),
             f"<h2>Anomalías ({len(summary.anomalies)})</h2>",
             _html_table(ANOMALIES, _anomaly_rows(summary), css="anomalies") if summary.anomalies
             else "<p>Ninguna.</p>"]
    return document(f"Informe de la clase: {summary.course}", "\n".join(body))


def write(summary: ClassSummary, out: Path) -> ReportFiles:
    """Writes ``index.html``, ``README.md`` and the plots into ``out`` (each file atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    images = plots(summary)
    for name, png in images.items():
        (out / f".{name}.tmp").write_bytes(png)
        (out / f".{name}.tmp").replace(out / name)
    results.write_atomic(out / "README.md", markdown(summary))
    results.write_atomic(out / "index.html", html(summary, images))
    return ReportFiles(out / "index.html", out / "README.md", tuple(out / n for n in images), summary)


def class_report(results_dir: Path, course: Course, out: Path, *, intakes: Iterable[Path] = (),
                 extra: Iterable[Anomaly] = ()) -> ReportFiles:
    """Reads ``results_dir`` and writes the class report into ``out``.

    Args:
        intakes: intake manifests (one per TP) whose ``anomalies`` are added (``load_intake``).
        extra: more anomalies found by the caller.
    """
    collected = gradebook.collect(results_dir, course)
    more = [*extra, *(a for path in intakes for a in load_intake(path))]
    return write(summarize(collected, course, extra=more), out)
