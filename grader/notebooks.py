"""Turns a Jupyter/Colab notebook into the source of a Python module.

Code cells are kept in order; IPython magics (``%matplotlib inline``, ``%%time``) and shell lines
(``!pip install ...``) are commented out so the module imports as plain Python. Each cell is
preceded by a ``# celda N`` comment so errors can be traced back to the notebook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import SubmissionError


def _neutralise(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        indent = line[: len(line) - len(stripped)]
        return f"{indent}pass  # [grader] omitido: {stripped}"
    return line


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def notebook_to_source(path: Path) -> str:
    """The module source of notebook ``path``; raises ``SubmissionError`` if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path.name} no es un notebook válido (JSON ilegible: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError(f"{path.name} no es un notebook de Jupyter (nbformat 4): "
                              "no tiene la lista 'cells'")
    if data.get("nbformat") != 4:
        raise SubmissionError(f"{path.name} está en nbformat {data.get('nbformat')!r}; se esperaba "
                              "nbformat 4 (abrilo y guardalo con Jupyter o Colab)")
    parts = []
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        lines = _cell_source(cell).splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            lines = [f"# [grader] celda con magia de celda omitida: {lines[0].strip()}"]
        parts.append(f"# celda {number}\n" + "\n".join(_neutralise(line) for line in lines))
    return "\n\n".join(parts) + "\n"
