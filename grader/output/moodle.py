"""Grades for FIUBA's Campus (Moodle): the gradebook import CSV and the offline grading worksheet.

Both are views of the gradebook (``grader.output.gradebook.build``): the same scores, after the
late policy and staff's adjustments, never recomputed here.

- ``gradebook_csv``: the file for Calificaciones > Importar > Archivo CSV. One row per roster
  student, keyed the way Moodle finds users: ``Número de ID`` (the padrón, mapped to
  ``useridnumber``) and ``Dirección de correo`` (``useremail``, the alternative), then one grade
  column per TP (headers from ``[moodle] items``), its feedback column if ``[moodle] feedback``
  (``TP1 (devolución)``), and ``Nota final``.
- ``fill_worksheet``: the offline grading worksheet a Moodle assignment downloads ("Descargar
  planilla de calificación"), with one TP's grade and feedback written into its rows. Rows are
  matched by email (without case), else by full name (``grader.intake.names.name_key``);
  every other cell, row, quote, line ending and the BOM stay byte for byte as downloaded, since
  Moodle reads the file back by its headers and its "Last modified (grade)" column.

What Moodle does with the cells (``grade/import/csv/classes/load_data.php``,
``mod/assign/feedback/offline/locallib.php``):

- A blank grade is "no grade" (the import clears one). So a TP the student never handed in is
  blank, unless an adjustment gave it a score; a file that did not import is a real 0. A TP
  nobody has a result for yet gets no column at all (so a mid-term export clears nothing), and
  ``Nota final`` is written only when every TP of the course has results.
- Numbers go through ``unformat_float`` in the importer's language: it deletes that language's
  thousands separator and then reads its decimal one. ``8.50`` imported in Spanish can read as
  850, ``8,50`` in English as 850. Grades are written with ``[moodle] decimal_separator`` (default
  ``","``, the Spanish Campus), without trailing zeros (``10``, ``7,5``: a whole grade has no
  separator to misread); the worksheet's own "Calificación máxima" column, which Moodle writes
  in the downloader's language, decides its separator when it has one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import results
from grader.errors import UsageError
from grader.intake.names import email_key, fold, name_key
from grader.output import gradebook as book
from grader.submissions import safe_name

if TYPE_CHECKING:
    import pandas as pd

    from grader.course import Course
    from grader.course.adjustments import Adjustments
    from grader.intake.roster import Roster

ID_HEADER = "Número de ID"
"""Moodle's header for ``idnumber`` (Spanish): the import maps it to "Número de ID"."""
EMAIL_HEADER = "Dirección de correo"
NAME_HEADER = "Nombre completo"
FINAL_HEADER = "Nota final"
FEEDBACK_SUFFIX = " (devolución)"

# The worksheet's headers, as Moodle writes them in Spanish and English (mod/assign
# gradingtable.php: get_string('grade'), 'maxgrade', the email profile field, 'fullname', and the
# feedback comments plugin's name); compared without case or accents.
GRADE_HEADERS = ("Calificación", "Grade", "Nota")
FEEDBACK_HEADERS = ("Comentarios de retroalimentación", "Feedback comments",
                    "Comentarios de la retroalimentación")
EMAIL_HEADERS = ("Dirección de correo", "Dirección Email", "Dirección de correo electrónico",
                 "Correo electrónico", "Email address", "Email", "E-mail")
NAME_HEADERS = ("Nombre completo", "Full name")
MAX_HEADERS = ("Calificación máxima", "Maximum grade", "Nota máxima")
_NEEDS_QUOTES = ('"', "\r", "\n", "\t", " ")  # and the delimiter; as PHP's fputcsv quotes


@dataclass(frozen=True)
class TPGrade:
    score: float | None
    """``None``: no grade (nothing handed in and no adjustment), a blank cell."""
    feedback: str = ""


@dataclass(frozen=True)
class StudentGrades:
    key: str
    """The padrón with a roster, else the results' student key."""
    name: str
    email: str
    tps: dict[str, TPGrade]
    final: float


@dataclass
class Exported:
    path: Path
    rows: int
    """Students written (gradebook CSV) or worksheet rows filled in."""
    problems: list[str] = field(default_factory=list)


def number(value: float, separator: str, decimals: int) -> str:
    """``value`` rounded to ``decimals``, without trailing zeros: ``number(7.5, ",", 2) == "7,5"``."""
    text = f"{round(value, decimals):.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text.replace(".", separator)


def grades(frame: pd.DataFrame, collected: book.Collected, course: Course,
           roster: Roster | None = None, *, separator: str = ",") -> list[StudentGrades]:
    """One ``StudentGrades`` per row of the gradebook ``frame`` (built from ``collected`` with
    ``roster``), with each TP's feedback text."""
    if roster is not None:
        # the gradebook's own matching, on a copy so its problems are not reported twice
        own = book._by_roster(book.Collected(results=dict(collected.results)), roster)
    else:
        own = {}
        for (student, tp), result in collected.results.items():
            own.setdefault(student, {})[tp] = result
    found = []
    for row in frame.to_dict("records"):
        key = str(row["padron"] if roster is not None else row["student"])
        email = str(row["email"]) if roster is not None else (key if "@" in key else "")
        name = str(row["nombre"]) if roster is not None else key
        tps = {tp.name: _tp_grade(tp.name, row, own.get(key, {}).get(tp.name), course, separator)
               for tp in course.tps}
        found.append(StudentGrades(key=key, name=name, email=email, tps=tps,
                                   final=float(row["final"])))
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""  # pandas gives NaN for an empty cell


def _tp_grade(tp: str, row: dict[str, Any], result: results.SubmissionResult | None,
              course: Course, separator: str) -> TPGrade:
    note = _text(row.get(f"{tp}_adjustment"))
    if row[f"{tp}_status"] == "missing" and not note:
        return TPGrade(None)
    score = float(row[tp])
    decimals = course.decimals
    if result is None:
        summary = "sin entrega"
    elif result.load_error:
        summary = "el archivo no se pudo cargar, se calificó 0"
    else:
        complete = sum(1 for e in result.exercises if e.earned >= e.points - 1e-9)
        summary = f"{complete} de {len(result.exercises)} ejercicios completos"
    parts = [f"{number(score, separator, decimals)}/{number(course.scale_max, separator, 0)}: "
             f"{summary}."]
    penalty = row.get(f"{tp}_penalty")
    if isinstance(penalty, (int, float)) and penalty > 0:
        days = row.get(f"{tp}_late_days")
        late = f" ({int(days)} día{'s' if int(days) != 1 else ''})" if isinstance(days, (int, float)) \
            and days == days else ""
        parts.append(f"Entrega tardía{late}: -{number(penalty, separator, decimals)} puntos.")
    if note:
        parts.append(f"Nota ajustada: {note}.")
    if result is not None:
        page = f"{tp}/{safe_name(result.student)}.html"
        where = f"{course.moodle.feedback_url}/{page}" if course.moodle.feedback_url else page
        parts.append(f"Devolución: {where}")
    return TPGrade(score, " ".join(parts))


def _header(course: Course, item: str) -> str:
    return course.moodle.items.get(item) or (FINAL_HEADER if item == "final" else item.upper())


def columns(people: Sequence[StudentGrades], course: Course,
            tp: str | None = None) -> tuple[list[str], bool, list[str]]:
    """The TPs that get a column, whether ``Nota final`` does, and why some did not: ``tp``
    alone when given; otherwise every TP someone has a grade for, and the final only if
    that is every TP."""
    names = [t.name for t in course.tps]
    if tp is not None:
        if tp not in names:
            raise UsageError(f"--tp {tp}: el curso no tiene ese TP (tiene {', '.join(names)})")
        return [tp], False, []
    graded = [n for n in names if any(p.tps[n].score is not None for p in people)]
    skipped = [n for n in names if n not in graded]
    notes = []
    if skipped:
        notes.append(f"sin columna para {', '.join(skipped)} ni '{_header(course, 'final')}': "
                     "nadie tiene resultado todavía (una celda vacía borraría la nota en Moodle)")
    return graded, not skipped, notes


def gradebook_csv(people: Sequence[StudentGrades], course: Course, tps: Sequence[str],
                  with_final: bool, *, separator: str) -> str:
    """The CSV for Calificaciones > Importar > Archivo CSV (UTF-8, comma-separated)."""
    header = [ID_HEADER, EMAIL_HEADER, NAME_HEADER]
    for tp in tps:
        header.append(_header(course, tp))
        if course.moodle.feedback:
            header.append(_header(course, tp) + FEEDBACK_SUFFIX)
    if with_final:
        header.append(_header(course, "final"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for person in people:
        cells: list[object] = [person.key, person.email, person.name]
        for tp in tps:
            grade = person.tps[tp]
            cells.append("" if grade.score is None
                         else number(grade.score, separator, course.decimals))
            if course.moodle.feedback:
                cells.append(grade.feedback)
        if with_final:
            cells.append(number(person.final, separator, course.decimals))
        writer.writerow([book.neutralise(c) for c in cells])
    return out.getvalue()


@dataclass
class _Record:
    cells: list[str]
    """Each cell's text as it is in the file, quotes included."""
    end: str
    """The line ending after it; empty for a last line without one."""


def _records(text: str, delimiter: str) -> list[_Record]:
    """Splits CSV text into records keeping every cell's raw text, so untouched cells are
    written back exactly as they came (``csv`` would normalise quoting and line endings)."""
    records: list[_Record] = []
    cells: list[str] = []
    start = i = 0
    quoted = False
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"':
                if text.startswith('""', i):
                    i += 2
                    continue
                quoted = False
            i += 1
        elif char == '"' and i == start:
            quoted = True
            i += 1
        elif char == delimiter:
            cells.append(text[start:i])
            i = start = i + 1
        elif char in "\r\n":
            end = "\r\n" if text.startswith("\r\n", i) else char
            records.append(_Record([*cells, text[start:i]], end))
            cells = []
            i = start = i + len(end)
        else:
            i += 1
    if quoted:
        raise UsageError("la planilla tiene comillas sin cerrar; se esperaba el CSV tal como lo "
                         "descarga Moodle")
    if start < len(text) or cells:
        records.append(_Record([*cells, text[start:]], ""))
    return records


def _value(raw: str) -> str:
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw


def _cell(value: str, like: str, delimiter: str) -> str:
    """``value`` as a CSV cell, quoted if it needs it or if the cell it replaces was."""
    if like.startswith('"') or any(c in value for c in (delimiter, *_NEEDS_QUOTES)):
        return '"' + value.replace('"', '""') + '"'
    return value


def _find(header: list[str], names: Iterable[str]) -> int | None:
    keys = {fold(n) for n in names}
    return next((i for i, h in enumerate(header) if fold(h) in keys), None)


@dataclass
class Worksheet:
    """An offline grading worksheet as read: its records with their raw cells, and what was
    found in its header."""

    records: list[_Record]
    delimiter: str
    bom: bool
    grade_at: int
    email_at: int | None
    name_at: int | None
    feedback_at: int | None
    separator: str
    """The decimal separator to write grades with (``_separator``)."""
    source: str


@dataclass
class Filled:
    text: str
    filled: int
    problems: list[str] = field(default_factory=list)


def read_worksheet(data: bytes, course: Course, *, source: str = "la planilla") -> Worksheet:
    """Reads an offline grading worksheet downloaded from a Moodle assignment.

    Raises:
        UsageError: the file is not UTF-8 text, lacks the grade column or both the email and
            the full-name columns, or the assignment's maximum grade is not the course's scale.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{source} no es UTF-8: se esperaba la planilla tal como la descarga "
                         "Moodle (si se abrió y guardó con Excel, descargala de nuevo)") from None
    first = text.partition("\n")[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    records = _records(text, delimiter)
    if not records:
        raise UsageError(f"{source} está vacía; se esperaba la planilla de calificación de Moodle")
    header = [_value(c).strip() for c in records[0].cells]
    grade_at = _find(header, GRADE_HEADERS)
    email_at, name_at = _find(header, EMAIL_HEADERS), _find(header, NAME_HEADERS)
    if grade_at is None or (email_at is None and name_at is None):
        wanted = ("la columna de la calificación (" + ", ".join(GRADE_HEADERS) + ")"
                  if grade_at is None else "una columna de email (" + ", ".join(EMAIL_HEADERS)
                  + ") o de nombre completo (" + ", ".join(NAME_HEADERS) + ")")
        raise UsageError(f"{source}: no encontré {wanted}; sus columnas son {header}. Se esperaba "
                         "la planilla de calificación fuera de línea de una tarea de Moodle")
    return Worksheet(records=records, delimiter=delimiter, bom=data.startswith(b"\xef\xbb\xbf"),
                     grade_at=grade_at, email_at=email_at, name_at=name_at,
                     feedback_at=_find(header, FEEDBACK_HEADERS),
                     separator=_separator(records[1:], _find(header, MAX_HEADERS), course, source),
                     source=source)


def fill_worksheet(sheet: Worksheet, people: Sequence[StudentGrades], tp: str,
                   course: Course) -> Filled:
    """Writes ``tp``'s grade (and feedback, if the worksheet has the column and ``[moodle]
    feedback``) into the rows of ``sheet`` (its records change in place); everything else
    stays as it is."""
    records, delimiter, grade_at, source = sheet.records, sheet.delimiter, sheet.grade_at, sheet.source
    feedback_at = sheet.feedback_at if course.moodle.feedback else None
    separator = sheet.separator
    graded = [p for p in people if p.tps[tp].score is not None]
    by_email = {email_key(p.email): p for p in graded if p.email}
    by_name: dict[str, StudentGrades | None] = {}
    for student in graded:
        key = name_key(student.name)
        by_name[key] = None if key in by_name else student  # a shared name matches nobody
    found: set[str] = set()
    problems = []
    for row, record in enumerate(records[1:], start=2):
        if len(record.cells) <= grade_at:
            continue  # a blank or short line: not a student
        email, name = _at(record, sheet.email_at), _at(record, sheet.name_at)
        person: StudentGrades | None = by_email.get(email_key(email)) if email else None
        if person is None and name:
            person = by_name.get(name_key(name))
        if person is None:
            continue
        if person.key in found:
            problems.append(f"{source}, fila {row}: {person.name} ya tenía otra fila; se "
                            "completaron las dos")
        found.add(person.key)
        grade = person.tps[tp]
        assert grade.score is not None
        record.cells[grade_at] = _cell(number(grade.score, separator, course.decimals),
                                       record.cells[grade_at], delimiter)
        if feedback_at is not None and feedback_at < len(record.cells):
            record.cells[feedback_at] = _cell(str(book.neutralise(grade.feedback)),
                                              record.cells[feedback_at], delimiter)
    absent = [f"{p.name} ({p.key})" for p in graded if p.key not in found]
    if absent:
        problems.append(f"{len(absent)} estudiante(s) con nota de {tp} no están en {source} "
                        f"(ni por email ni por nombre): {', '.join(absent)}")
    if course.moodle.feedback and sheet.feedback_at is None:
        problems.append(f"{source} no tiene columna de comentarios ({', '.join(FEEDBACK_HEADERS)}):"
                        " se escribió solo la calificación (¿la tarea tiene activados los "
                        "comentarios de retroalimentación?)")
    body = "".join(delimiter.join(r.cells) + r.end for r in records)
    return Filled(text=("\ufeff" if sheet.bom else "") + body, filled=len(found),
                  problems=problems)


def _at(record: _Record, at: int | None) -> str:
    return _value(record.cells[at]).strip() if at is not None and at < len(record.cells) else ""


def _separator(rows: list[_Record], max_at: int | None, course: Course, source: str) -> str:
    """The worksheet's decimal separator, read from its maximum grade column (Moodle writes it
    with ``format_float`` in the downloader's language), else ``[moodle] decimal_separator``;
    and the check that the assignment is graded on the course's scale."""
    separator = course.moodle.decimal_separator
    cells = [_value(r.cells[max_at]).strip() for r in rows
             if max_at is not None and max_at < len(r.cells)]
    written = next((c for c in cells if c), "")
    if not written:
        return separator
    if "," in written or "." in written:
        separator = "," if "," in written else "."
    try:
        maximum = float(written.replace(separator, "."))
    except ValueError:
        return separator
    if abs(maximum - course.scale_max) > 1e-9:
        raise UsageError(f"{source}: la calificación máxima de la tarea es {written} y las notas "
                         f"del curso son sobre {number(course.scale_max, separator, 2)}; "
                         "configurá la tarea en Moodle con esa calificación máxima")
    return separator


def export(results_dir: Path, course: Course, out: Path, *, tp: str | None = None,
           roster: Roster | None = None, worksheet: Path | None = None,
           adjustments: Adjustments | None = None) -> Exported:
    """``grader export --format moodle``: the gradebook import CSV, or with ``worksheet`` that
    worksheet filled in with ``tp``'s grades; written atomically to ``out``.

    Raises:
        UsageError: no roster for the gradebook CSV (Moodle needs the padrón or the email), no
            ``tp`` for a worksheet, or a worksheet ``fill_worksheet`` refuses.
    """
    if worksheet is None and roster is None:
        raise UsageError("Moodle identifica a cada estudiante por su número de ID (el padrón) o "
                         "su email, y los resultados no los traen: pasá --roster padron.csv "
                         "(CSV con padrón, nombre y email) o poné [roster] path en course.toml")
    if worksheet is not None and tp is None:
        raise UsageError("--worksheet completa la planilla de una tarea, que es de un TP: pasá "
                         "--tp (por ejemplo --tp tp1)")
    collected = book.collect(results_dir, course)
    frame = book.build(collected, course, roster=roster, adjustments=adjustments)
    if worksheet is None:
        separator = course.moodle.decimal_separator
        people = grades(frame, collected, course, roster, separator=separator)
        tps, with_final, notes = columns(people, course, tp)
        text = gradebook_csv(people, course, tps, with_final, separator=separator)
        results.write_atomic(out, text)
        return Exported(out, len(people), [*collected.problems, *notes])
    assert tp is not None
    try:
        data = worksheet.read_bytes()
    except OSError as exc:
        raise UsageError(f"no se puede leer la planilla {worksheet} ({exc.strerror or exc})") from None
    sheet = read_worksheet(data, course, source=worksheet.name)
    people = grades(frame, collected, course, roster, separator=sheet.separator)
    columns(people, course, tp)  # validates the TP's name
    filled = fill_worksheet(sheet, people, tp, course)
    results.write_atomic(out, filled.text)
    return Exported(out, filled.filled, [*collected.problems, *filled.problems])
