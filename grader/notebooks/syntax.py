"""Each cell is compiled on its own: one with a syntax error is left out and reported.

This is what Jupyter does: a cell that does not compile raises, and the others still run. The
note names the cell and the line inside it (cells keep their line count through the pipeline).
Cells are compiled, not only parsed: ``return`` or ``await`` at top level parse, but would stop
the whole module from compiling.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence

from grader.notebooks.cells import CodeCell


def parse_cell(source: str, *, check: bool = False) -> ast.Module:
    """The AST of a cell; raises ``SyntaxError`` (also for a null byte). With ``check``, the
    cell is also compiled, which finds what only the compiler rejects (``return`` outside a
    function, a misplaced ``from __future__``).

    Compile-time warnings (an invalid escape such as ``"\\d"``) are silenced: they are not
    errors in Python, and a process where warnings are errors would otherwise refuse the cell.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(source)
            if check:
                compile(tree, "<celda>", "exec", dont_inherit=True)
            return tree
        except ValueError as exc:  # "source code string cannot contain null bytes"
            raise SyntaxError(str(exc)) from None


def syntax_note(number: int, exc: SyntaxError, source: str) -> str:
    """Spanish note for a cell that does not compile."""
    where = f"en la línea {exc.lineno}" if exc.lineno else "en algún lugar"
    note = f"celda {number}: error de sintaxis {where}: {exc.msg}"
    lines = source.split("\n")
    if exc.lineno and 0 < exc.lineno <= len(lines) and lines[exc.lineno - 1].strip():
        note += f" (`{lines[exc.lineno - 1].strip()[:80]}`)"
    return note + "; la celda no se ejecutó"


def drop_syntax_errors(cells: Sequence[CodeCell]) -> tuple[list[CodeCell], list[str]]:
    """The pipeline step: cells that compile, and a note for each one that does not."""
    kept: list[CodeCell] = []
    notes: list[str] = []
    for cell in cells:
        try:
            parse_cell(cell.source, check=True)
        except SyntaxError as exc:
            notes.append(syntax_note(cell.number, exc, cell.source))
        else:
            kept.append(cell)
    return kept, notes
