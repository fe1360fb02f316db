"""Result formats for other systems, each a small pure function over the result model.

From ``SubmissionResult`` (``grader.results``) and the TP's exercises:

- ``gradescope``: Gradescope's ``results.json``, as specified in "Autograder Specifications",
  section "Output format" (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
- ``junit``: JUnit XML as Jenkins' xUnit plugin reads it (``junit-10.xsd`` of
  https://github.com/jenkinsci/xunit-plugin, ``src/main/resources/org/jenkinsci/plugins/xunit/
  types/model/xsd/``): one ``testsuite`` per submission, one ``testcase`` per check.
- ``classroom``: the JSON a GitHub Classroom runner leaves, base64-encoded, in its ``result``
  output, which ``classroom-resources/autograding-grading-reporter`` decodes from the
  ``<RUNNER>_RESULTS`` variable (``src/main.js``), sums (``tests[].score`` over ``max_score``,
  ``src/notify-classroom.js``) and prints (``name``, ``status``, ``message``, ``line_no``,
  ``src/console-results.js``). Its fields follow the runners' own output
  (``classroom-resources/autograding-io-grader`` ``src/main.js``: ``version: 1``, ``status``,
  ``max_score``, ``tests[]`` with ``name``, ``status``, ``score``, ``message``, ``filename``,
  ``line_no`` and ``duration`` in milliseconds, which is what the runners write where the issue
  said ``execution_time``).
- The gradebook CSV is ``grader.output.gradebook``'s, never a second implementation.

Visibility: each check is ``visible``, ``hidden``, ``after_due_date`` or ``after_published``
(Gradescope's values) or ``total_only`` (only its points count), per exercise or per check in
``assignment.toml`` (``grader.course.Exercise``). For students, every check that is not visible
(yet) is folded into one entry, "comprobaciones ocultas: X / Y puntos", that never names a check
nor carries its message or output. Gradescope enforces its own four values, so there only
``total_only`` checks are folded; for staff nothing is.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import results
from grader.course import VISIBILITIES, Course, Exercise, load_assignment
from grader.errors import UsageError
from grader.output.feedback import NOTES_TITLE, check_name, short_id, shown_notes, shown_output
from grader.results import CheckResult, Status, SubmissionResult
from grader.submissions import safe_name

VISIBLE, HIDDEN, AFTER_DUE_DATE, AFTER_PUBLISHED, TOTAL_ONLY = VISIBILITIES
REVEALABLE = (AFTER_DUE_DATE, AFTER_PUBLISHED)
"""The visibilities that a date or the instructor can open to students; ``hidden`` and
``total_only`` never are."""


class Audience(enum.StrEnum):
    """Who reads a written result."""

    STUDENTS = "students"
    """Checks that are not visible to students are folded into one entry."""
    STAFF = "staff"
    """Every check with its name, message and output."""


class Format(enum.StrEnum):
    """The formats ``grader export`` writes."""

    GRADESCOPE = "gradescope"
    JUNIT = "junit"
    CLASSROOM = "classroom"
    CSV = "csv"


# Statuses that mean the student's code did not finish (JUnit <error>, Classroom "error").
ERRORED = frozenset({Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.MEMORY, Status.PROTOCOL})
LOAD_ERROR_NAME = "carga del archivo"


def visibility_of(check: CheckResult, exercise: Exercise | None) -> str:
    """The visibility of ``check``: its own override, its exercise's, or the default (public
    checks ``visible``, hidden ones ``after_due_date``)."""
    if exercise is not None:
        overrides = dict(exercise.check_visibility)
        for key in (check.id, short_id(check)):
            if key in overrides:
                return overrides[key]
        if exercise.visibility:
            return exercise.visibility
    return VISIBLE if check.visibility == "public" else AFTER_DUE_DATE


@dataclass(frozen=True)
class Entry:
    """One line of a written result: a check, or the checks folded into one."""

    name: str
    exercise: str
    """The exercise's name (``linear``); empty for the folded entry."""
    title: str
    status: Status
    message: str
    output: str
    points: float
    max_points: float
    duration_s: float
    visibility: str
    check_id: str = ""
    """Empty for the folded entry."""
    folded: int = 0
    """How many checks the folded entry stands for."""


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def folded_name(points: float, max_points: float) -> str:
    return f"comprobaciones ocultas: {_points(points)} / {_points(max_points)} puntos"


def entries(result: SubmissionResult, exercises: Sequence[Exercise], *, audience: Audience,
            fold: Collection[str]) -> list[Entry]:
    """The checks of ``result`` in order; those whose visibility is in ``fold`` become one entry
    at the end, with only their points. For students, a hidden check shown by name (visible, or
    revealed by a date) still loses its parametrization id and what the student's code printed
    during it, as in the feedback report (``grader.output.markdown``): both can carry its inputs."""
    by_name = {e.name: e for e in exercises}
    shown: list[Entry] = []
    folded: list[CheckResult] = []
    for check in result.checks:
        exercise = by_name.get(check.exercise)
        visibility = visibility_of(check, exercise)
        if visibility in fold:
            folded.append(check)
            continue
        students = audience is Audience.STUDENTS
        shown.append(Entry(
            name=check_name(check) if students else short_id(check),
            exercise=check.exercise, title=(exercise.title if exercise else "") or check.exercise,
            status=check.status, message=check.message,
            output=shown_output(check) if students else check.output, points=check.points,
            max_points=check.max_points, duration_s=check.duration_s, visibility=visibility,
            check_id=check.id))
    if folded:
        points = sum(c.points for c in folded)
        max_points = sum(c.max_points for c in folded)
        name = folded_name(points, max_points)
        ok = all(c.status is Status.PASS for c in folded)
        shown.append(Entry(
            name=name, exercise="", title="", status=Status.PASS if ok else Status.FAIL,
            message="" if ok else name, output="", points=points, max_points=max_points,
            duration_s=sum(c.duration_s for c in folded), visibility=VISIBLE, folded=len(folded)))
    return shown


def student_fold(revealed: Collection[str] = ()) -> frozenset[str]:
    """What a student may not see by name: everything but ``visible`` and the ``revealed``
    ones of ``after_due_date``/``after_published``."""
    return frozenset(VISIBILITIES) - {VISIBLE} - (set(revealed) & set(REVEALABLE))


def _detail(entry: Entry) -> str:
    text = entry.message
    if entry.output:
        text += ("\n\n" if text else "") + "Salida de tu código:\n" + entry.output
    return text


# --- Gradescope ------------------------------------------------------------------------------


def gradescope(result: SubmissionResult, exercises: Sequence[Exercise], *,
               audience: Audience = Audience.STUDENTS) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission, in points (``score`` = earned).

    Gradescope shows or hides each test by its ``visibility`` itself; ``total_only`` checks are
    folded for students and marked ``hidden`` for staff."""
    fold = {TOTAL_ONLY} if audience is Audience.STUDENTS else set()
    tests = []
    for entry in entries(result, exercises, audience=audience, fold=fold):
        test: dict[str, Any] = {
            "name": f"{entry.title}: {entry.name}" if entry.title else entry.name,
            "score": round(entry.points, 4), "max_score": round(entry.max_points, 4),
            "status": "passed" if entry.status is Status.PASS else "failed",
            "visibility": HIDDEN if entry.visibility == TOTAL_ONLY else entry.visibility,
            "output": _detail(entry) if entry.status is not Status.PASS else entry.output}
        if entry.exercise:
            test["tags"] = [entry.exercise]
        tests.append(test)
    if result.load_error:
        tests.append({"name": LOAD_ERROR_NAME, "score": 0.0, "max_score": round(result.possible, 4),
                      "status": "failed", "visibility": VISIBLE, "output": result.load_error})
    summary = [f"Nota: {result.score:.2f} / 10 ({_points(result.earned)} de "
               f"{_points(result.possible)} puntos)"]
    if result.load_error:
        summary.append(f"Tu archivo no se pudo cargar: {result.load_error}")
    notes = shown_notes(result.notes)
    if notes:
        summary += ["", f"{NOTES_TITLE}:", *(f"- {note}" for note in notes)]
    return {"score": round(result.earned, 4), "execution_time": round(result.duration_s, 3),
            "output": "\n".join(summary), "visibility": VISIBLE, "stdout_visibility": HIDDEN,
            "tests": tests}


# --- JUnit XML -------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, not even escaped (a student's print of "\x1b[31m").
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML cannot hold written as ``\\xNN``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit(results: Sequence[SubmissionResult], exercises: Mapping[str, Sequence[Exercise]], *,
          audience: Audience = Audience.STUDENTS, revealed: Mapping[str, Collection[str]] | None = None,
          ) -> str:
    """A JUnit XML document: one ``testsuite`` per submission (``exercises`` and ``revealed`` by
    TP), one ``testcase`` per check with ``classname`` = exercise; ``<failure>`` for FAIL and
    PARTIAL, ``<error>`` for ERROR, TIMEOUT, CRASH, MEMORY and PROTOCOL."""
    root = ET.Element("testsuites", name="grader")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    time_total = 0.0
    for result in results:
        fold = (set() if audience is Audience.STAFF
                else student_fold((revealed or {}).get(result.tp, ())))
        suite = ET.SubElement(root, "testsuite", name=xml_text(f"{result.tp}.{result.student}"))
        properties = ET.SubElement(suite, "properties")
        for key, value in (("student", result.student), ("tp", result.tp),
                           ("file", result.submission_file), ("score", f"{result.score:.2f}"),
                           ("points", f"{_points(result.earned)} / {_points(result.possible)}")):
            ET.SubElement(properties, "property", name=key, value=xml_text(value))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for entry in entries(result, exercises.get(result.tp, ()), audience=audience, fold=fold):
            case = ET.SubElement(suite, "testcase", name=xml_text(entry.name),
                                 classname=xml_text(entry.exercise or "ocultas"),
                                 time=f"{entry.duration_s:.3f}")
            counts["tests"] += 1
            if entry.status is not Status.PASS:
                kind = "error" if entry.status in ERRORED else "failure"
                counts["errors" if kind == "error" else "failures"] += 1
                detail = entry.message
                if entry.status is Status.PARTIAL:
                    detail += f" ({_points(entry.points)} de {_points(entry.max_points)} puntos)"
                element = ET.SubElement(case, kind, message=xml_text(detail),
                                        type=entry.status.value)
                element.text = xml_text(detail)
            if entry.output:
                ET.SubElement(case, "system-out").text = xml_text(entry.output)
        if result.load_error:
            case = ET.SubElement(suite, "testcase", name=LOAD_ERROR_NAME, classname="carga", time="0")
            error = ET.SubElement(case, "error", message=xml_text(result.load_error), type="LOAD")
            error.text = xml_text(result.load_error)
            counts["tests"] += 1
            counts["errors"] += 1
        for kind, count in counts.items():
            suite.set(kind, str(count))
            totals[kind] += count
        suite.set("time", f"{result.duration_s:.3f}")
        if result.started_at:
            suite.set("timestamp", result.started_at[:19])
        time_total += result.duration_s
    for kind, count in totals.items():
        root.set(kind, str(count))
    root.set("time", f"{time_total:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- GitHub Classroom ------------------------------------------------------------------------


def cents(values: Sequence[float]) -> list[float]:
    """``values`` rounded to hundredths so that they add up to their total rounded to hundredths
    (largest remainders get the leftover cents): the reporter shows the plain sum of the tests'
    scores, and three checks of 2/3 of a point each must add up to 2, not 2.0001."""
    exact = [v * 100 for v in values]
    units = [int(v + 1e-9) for v in exact]
    leftover = round(sum(exact)) - sum(units)
    by_remainder = sorted(range(len(values)), key=lambda i: units[i] - exact[i])
    for i in by_remainder[:max(leftover, 0)]:
        units[i] += 1
    return [u / 100 for u in units]


def classroom(result: SubmissionResult, exercises: Sequence[Exercise], *,
              audience: Audience = Audience.STUDENTS, revealed: Collection[str] = (),
              lines: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The runner output of GitHub Classroom's reporter for one submission, in points.

    Args:
        lines: check id -> line of the student's file to point at (``line_no``).
    """
    fold = set() if audience is Audience.STAFF else student_fold(revealed)
    tests = []
    shown = entries(result, exercises, audience=audience, fold=fold)
    for entry, score in zip(shown, cents([e.points for e in shown]), strict=True):
        status = ("pass" if entry.status is Status.PASS
                  else "error" if entry.status in ERRORED else "fail")
        tests.append({
            "name": f"{entry.exercise}: {entry.name}" if entry.exercise else entry.name,
            "status": status, "score": score,
            "message": None if status == "pass" else _detail(entry),
            "filename": result.submission_file if not entry.folded else "",
            "line_no": (lines or {}).get(entry.check_id, 0),
            "duration": round(entry.duration_s * 1000)})
    if result.load_error:
        tests.append({"name": LOAD_ERROR_NAME, "status": "error", "score": 0.0,
                      "message": result.load_error, "filename": result.submission_file,
                      "line_no": (lines or {}).get(LOAD_ERROR_NAME, 0), "duration": 0})
    status = ("error" if result.load_error else
              "pass" if result.checks and all(c.status is Status.PASS for c in result.checks)
              else "fail")
    return {"version": 1, "status": status, "max_score": round(result.possible, 4), "tests": tests}


def classroom_output(runner: Mapping[str, Any]) -> str:
    """The ``result`` output value: the runner JSON, base64-encoded as the runners write it."""
    text = json.dumps(runner, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- grader export ---------------------------------------------------------------------------


@dataclass
class Exported:
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Result files that could not be read (left out)."""


def revealed_for(course: Course, tp: str, *, published: bool = False,
                 now: dt.datetime | None = None) -> frozenset[str]:
    """What students may see of ``tp`` now: ``after_due_date`` once its deadline in
    ``course.toml`` has passed, ``after_published`` when the grades are ``published``."""
    now = now or dt.datetime.now(dt.UTC)
    deadline = course.deadlines.get(tp)
    opened = {AFTER_PUBLISHED} if published else set()
    if deadline is not None and now >= deadline:
        opened.add(AFTER_DUE_DATE)
    return frozenset(opened)


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def export(source: Path, fmt: Format, out: Path, *, course: Course, tp: str | None = None,
           audience: Audience = Audience.STUDENTS, published: bool = False,
           now: dt.datetime | None = None) -> Exported:
    """Writes the results in ``source`` (a results folder, or one ``STUDENT.json``) as ``fmt``.

    ``gradescope`` and ``classroom`` write one JSON per submission: ``out`` itself for a single
    result file, ``OUT/TP/STUDENT.json`` for a folder. ``junit`` writes one XML file with a
    suite per submission; ``csv`` the gradebook of the folder.
    """
    from grader.output import gradebook  # pandas: only where a CSV or a results folder is read

    done = Exported()
    if fmt is Format.CSV:
        if tp is not None or not source.is_dir():
            raise UsageError("el formato csv es la planilla de todo el curso: pasá la carpeta de "
                             "resultados y sin --tp")
        collected = gradebook.collect(source, course)
        gradebook.write_csv(gradebook.build(collected, course), out)
        return Exported([out], collected.problems)
    if source.is_dir():
        collected = gradebook.collect(source, course)
        chosen = [r for (_, name), r in sorted(collected.results.items()) if tp in (None, name)]
        done.problems = collected.problems
    elif source.is_file():
        chosen = [results.load(source)]
    else:
        raise UsageError(f"no existe {source}: se esperaba una carpeta de resultados o un "
                         "archivo ESTUDIANTE.json")
    tps = sorted({r.tp for r in chosen})
    exercises = {name: load_assignment(course.tp(name).assignment).exercises for name in tps}
    revealed = {name: revealed_for(course, name, published=published, now=now) for name in tps}
    if fmt is Format.JUNIT:
        results.write_atomic(out, junit(chosen, exercises, audience=audience, revealed=revealed))
        done.files.append(out)
        return done
    for result in chosen:
        if fmt is Format.GRADESCOPE:
            data = gradescope(result, exercises[result.tp], audience=audience)
        else:
            data = classroom(result, exercises[result.tp], audience=audience,
                             revealed=revealed[result.tp])
        path = out / result.tp / f"{safe_name(result.student)}.json" if source.is_dir() else out
        results.write_atomic(path, _dump(data))
        done.files.append(path)
    return done
