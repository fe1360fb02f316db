"""The online form's responses export: one row per response, read as Google Forms writes it.

Columns are found by the headers in ``[form]`` of ``course.toml`` (``grader.course.FormColumns``;
the defaults are Google Forms' Spanish export: "Marca temporal", "Dirección de correo
electrónico", plus the course's questions "Padrón", "Nombre y apellido" and "TP"). A header
set to ``""`` is not read. The upload question's cells hold Drive links, one per uploaded file;
when ``upload`` is not set, the column whose cells hold Drive links is used.

Timestamps come as the exporter's locale writes them (``23/11/2026 18:04:05``) or in ISO 8601
(``2026-11-23 18:04:05``, ``2026-11-23T18:04:05-03:00``); without an offset they are in the
form's timezone (``[form] timezone``, by default the course's).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from grader.course import FormColumns
from grader.errors import FormError
from grader.intake.names import fold
from grader.intake.table import read_table

_LOCALE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Response:
    row: int
    """Row in the spreadsheet (the headers are row 1)."""
    submitted_at: dt.datetime
    """Timezone-aware."""
    name: str
    email: str = ""
    student_id: str = ""
    tp: str = ""
    links: tuple[str, ...] = ()
    """Links to the uploaded files (empty when the form has no upload column)."""

    @property
    def uploads(self) -> int:
        """How many files this response uploaded (1 when the export does not say)."""
        return max(1, len(self.links))


@dataclass
class FormExport:
    responses: list[Response]
    headers: list[str]
    notes: list[str]
    has_tp_column: bool = True

    def for_tp(self, tp: str) -> list[Response]:
        """The responses that hand in ``tp`` (every response when the form has no TP column)."""
        if not self.has_tp_column:
            return list(self.responses)
        return [r for r in self.responses if tp_matches(r.tp, tp)]


def tp_matches(cell: str, tp: str) -> bool:
    """Whether the answer ``cell`` ("TP1", "tp 1", "Trabajo Práctico 1") names the TP ``tp``."""
    answer, wanted = fold(cell).replace(" ", ""), fold(tp).replace(" ", "")
    if answer == wanted:
        return True
    digits = re.findall(r"\d+", wanted)
    return bool(digits) and re.findall(r"\d+", answer) == digits


def parse_timestamp(text: str, zone: dt.tzinfo) -> dt.datetime:
    """A form timestamp as an aware datetime.

    Raises:
        ValueError: not one of the accepted formats.
    """
    text = text.strip()
    moment = None
    for pattern in _LOCALE_FORMATS:
        try:
            moment = dt.datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    if moment is None:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))  # raises ValueError
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def read_form(path: Path, columns: FormColumns | None = None) -> FormExport:
    """Reads the responses export.

    Raises:
        FormError: a configured column is missing (the message lists the headers found), two
            columns hold Drive links and ``[form] upload`` does not say which, or a timestamp
            cannot be read (the message names the row).
    """
    columns = columns or FormColumns()
    table = read_table(path, what="la planilla de respuestas del formulario")
    found: dict[str, str | None] = {}
    for key in ("timestamp", "name", "email", "student_id", "tp", "upload"):
        wanted = getattr(columns, key)
        if not wanted:
            found[key] = None
            continue
        found[key] = table.column(wanted)
        if found[key] is None:
            raise FormError(f"{path.name}: falta la columna {wanted!r} ([form].{key} en course.toml; "
                            f"\"\" si el formulario no la tiene); las columnas del archivo son "
                            f"{table.headers}")
    if found["upload"] is None:
        found["upload"] = _upload_column(table.headers, [cells for _, cells in table.rows], path)
    zone = zoneinfo.ZoneInfo(columns.timezone)
    responses = []
    for row, cells in table.rows:
        stamp = cells.get(found["timestamp"] or "", "")
        try:
            submitted_at = parse_timestamp(stamp, zone)
        except ValueError:
            raise FormError(f"{path.name}, fila {row}: {found['timestamp']!r} = {stamp!r} no es una "
                            "fecha; se esperaba 23/11/2026 18:04:05 o 2026-11-23T18:04:05") from None

        def cell(key: str, cells: dict[str, str] = cells) -> str:
            header = found[key]
            return cells.get(header, "") if header else ""

        responses.append(Response(
            row=row, submitted_at=submitted_at, name=cell("name"), email=cell("email"),
            student_id=cell("student_id"), tp=cell("tp"),
            links=tuple(_LINK.findall(cell("upload")))))
    return FormExport(responses=responses, headers=table.headers, notes=table.notes,
                      has_tp_column=found["tp"] is not None)


def _upload_column(headers: list[str], rows: list[dict[str, str]], path: Path) -> str | None:
    with_links = [h for h in headers if any("drive.google.com" in r.get(h, "") for r in rows)]
    if len(with_links) > 1:
        raise FormError(f"{path.name}: hay varias columnas con enlaces de Drive ({with_links}); "
                        "decí cuál es la del archivo entregado con [form] upload en course.toml")
    return with_links[0] if with_links else None
