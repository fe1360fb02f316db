"""The last steps: ``from __future__`` imports first, then the cells joined into one module.

In Jupyter a ``from __future__ import annotations`` in any cell applies to the cells run after
it; in a module it must come first or the module does not compile, so it is moved to the top.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from grader.notebooks.cells import CodeCell
from grader.notebooks.magics import MARK
from grader.notebooks.syntax import parse_cell


def hoist_future_imports(cells: Sequence[CodeCell]) -> tuple[list[CodeCell], list[str]]:
    """The pipeline step: top-level ``from __future__`` imports moved into a first grader cell."""
    futures: list[str] = []
    out: list[CodeCell] = []
    for cell in cells:
        lines = cell.source.split("\n")
        for node in parse_cell(cell.source).body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
                segment = ast.get_source_segment(cell.source, node) or ""
                if "\n".join(lines[first: last + 1]).strip() == segment.strip():
                    futures.append(segment)
                    lines[first: last + 1] = [f"{MARK} movido al principio: {line}"
                                              for line in lines[first: last + 1]]
        out.append(CodeCell(cell.number, "\n".join(lines)))
    if futures:
        out.insert(0, CodeCell(0, "\n".join(dict.fromkeys(futures))))
    return out, []


def assemble(cells: Sequence[CodeCell]) -> str:
    """The module source: each cell under a ``# celda N`` marker, in order."""
    parts = [(f"# celda {c.number}" if c.number else f"{MARK} agregado al convertir el notebook")
             + "\n" + c.source for c in cells]
    return "\n\n".join(parts) + "\n"
