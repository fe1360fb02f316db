"""Reading the CSV files instructors bring (form exports, rosters) however they were saved."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import SubmissionError
from grader.intake.names import fold

_DELIMITERS = (",", ";", "\t")
MAX_BYTES = 64 * 1024 * 1024


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]
    """``(row, header -> cell)``; rows are numbered as a spreadsheet shows them (headers: 1)."""
    notes: list[str] = field(default_factory=list)
    """How it was read, when that was not the plain case (an Excel encoding, ...)."""

    def column(self, wanted: str) -> str | None:
        """The header equal to ``wanted`` up to case, accents and spaces, or ``None``."""
        key = fold(wanted)
        return next((h for h in self.headers if fold(h) == key), None)


def read_table(path: Path, *, what: str) -> Table:
    """Reads a CSV: UTF-8 with or without BOM (Google's exports), or Windows-1252 (a file saved
    again by Excel); comma, semicolon or tab separated (whichever splits the header most).

    Raises:
        SubmissionError: missing, too big, empty, or with repeated headers.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"no se puede leer {what} {path} ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise SubmissionError(f"{path.name} ocupa {len(data) // 2**20} MiB; se esperaba {what} de "
                              f"menos de {MAX_BYTES // 2**20} MiB")
    notes = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notes.append(f"{path.name} no es UTF-8: se leyó como Windows-1252 (guardado con Excel)")
    first = text.lstrip().partition("\n")[0]
    delimiter = max(_DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _parse(reader, path, what, notes)
    except csv.Error as exc:
        raise SubmissionError(f"{path.name}, línea {reader.line_num}: no es un CSV legible ({exc}); "
                              f"se esperaba {what}") from None


def _parse(reader: Any, path: Path, what: str, notes: list[str]) -> Table:
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise SubmissionError(f"{path.name} está vacío: se esperaba {what} con una fila de "
                              "encabezados") from None
    repeated = sorted({h for h in headers if h and headers.count(h) > 1})
    if repeated:
        raise SubmissionError(f"{path.name}: columnas repetidas {repeated}; cada encabezado debe "
                              "aparecer una vez")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append((number, {h: (cells[i].strip() if i < len(cells) else "")
                              for i, h in enumerate(headers) if h}))
    return Table(headers=[h for h in headers if h], rows=rows, notes=notes)
