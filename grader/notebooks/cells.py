"""Reading a notebook file: validated nbformat 4 JSON in, the code cells out.

Only the standard library's ``json`` is used, so installing the grader stays light. A cell's
number is its position in the notebook counting every cell (markdown too) from 1: what a student
counts scrolling down, and what the ``# celda N`` markers and every note use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import SubmissionError
from grader.text import binary_kind

CELL_TYPES = ("code", "markdown", "raw")


@dataclass(frozen=True)
class CodeCell:
    """One code cell on its way through the pipeline."""

    number: int
    """Position in the notebook, counting every cell from 1; 0 for code the grader adds."""
    source: str
    """The cell's text, as the current step left it."""


Step = Callable[[Sequence[CodeCell]], tuple[list[CodeCell], list[str]]]
"""A transform: code cells in, code cells and notes for the student out."""


def cell_ranges(numbers: Sequence[int], *, limit: int = 20) -> str:
    """Cell numbers as a student reads them, runs of three or more joined: ``3, 29, 31-40``;
    after ``limit`` items, how many cells are left (``..., 58 y 940 más``)."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    items = [[(f"{run[0]}-{run[-1]}", len(run))] if len(run) > 2 else [(str(n), 1) for n in run]
             for run in runs]
    flat = [item for group in items for item in group]
    shown = ", ".join(text for text, _ in flat[:limit])
    left = sum(count for _, count in flat[limit:])
    return f"{shown} y {left} más" if left else shown


def _source(cell: dict[str, Any], number: int, name: str) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if isinstance(source, str):
        return source.replace("\r\n", "\n")  # saved on Windows by some tools
    raise SubmissionError(f"{name}: la celda {number} no es válida: su 'source' debe ser texto o "
                          f"una lista de líneas (llegó {type(source).__name__})")


def read_notebook(path: Path) -> list[tuple[int, str, str]]:
    """The cells of notebook ``path`` as ``(number, cell_type, source)``.

    Raises:
        SubmissionError: the file is missing, binary (a ``.zip``, a PDF), not JSON, not a
            notebook, not nbformat 4, or has no code to grade. The message names the file and
            says what arrived.
    """
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SubmissionError(f"no existe el notebook {path}") from None
    kind = binary_kind(data)
    if kind == "un .zip":
        raise SubmissionError(f"{name} es un .zip, no un notebook: si tu notebook está adentro, "
                              "descomprimilo y entregá el .ipynb")
    if kind is not None:
        detail = "" if kind == "un archivo binario" else f": es {kind}"
        raise SubmissionError(f"{name} es un archivo binario, no un notebook (un notebook es "
                              f"texto JSON){detail}; ¿entregaste el archivo equivocado?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} no es un notebook válido: no es texto UTF-8 (byte "
                              f"{exc.start}); ¿se dañó al subirlo?") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{name} no es un notebook válido: el JSON está roto en la línea "
                              f"{exc.lineno}, columna {exc.colno} ({exc.msg}); abrilo en Jupyter o "
                              "Colab y volvé a descargarlo") from None
    if not isinstance(data, dict) or not ({"cells", "worksheets", "nbformat"} & data.keys()):
        found = type(data).__name__ if not isinstance(data, dict) else (
            f"un objeto con las claves {sorted(data)[:6]}")
        raise SubmissionError(f"{name} no es un notebook de Jupyter: es JSON, pero {found} en "
                              "lugar de un notebook (con 'nbformat' y 'cells')")
    version = data.get("nbformat")
    if version != 4:
        raise SubmissionError(f"{name} está en nbformat {version!r}; se esperaba nbformat 4 "
                              "(abrilo y guardalo con Jupyter o Colab, que lo convierten)")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{name} no es un notebook válido: 'cells' debe ser una lista "
                              f"(llegó {type(cells).__name__})")
    if not cells:
        raise SubmissionError(f"{name} es un notebook vacío: no tiene ninguna celda")
    read = []
    for number, cell in enumerate(cells, start=1):
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if kind not in CELL_TYPES:
            raise SubmissionError(f"{name}: la celda {number} no es válida: 'cell_type' debe ser "
                                  f"uno de {list(CELL_TYPES)} (llegó {kind!r})")
        assert isinstance(cell, dict)
        read.append((number, kind, _source(cell, number, name)))
    return read


def code_cells(cells: Sequence[tuple[int, str, str]], *, name: str) -> list[CodeCell]:
    """The code cells, in order; an error when there is no code at all.

    Args:
        name: the file's name, for the message.
    """
    code = [CodeCell(number, source) for number, kind, source in cells if kind == "code"]
    if not code:
        raise SubmissionError(f"{name} no tiene celdas de código (solo texto): no hay nada que "
                              "calificar")
    if not any(cell.source.strip() for cell in code):
        raise SubmissionError(f"{name} no tiene código: sus {len(code)} celdas de código están "
                              "vacías")
    return code
