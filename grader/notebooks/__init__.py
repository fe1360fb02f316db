"""Turns a Jupyter/Colab notebook into the source of the student's module, as a pipeline of small
transforms (one module each, each tested on its own)::

    read_notebook        cells.py        nbformat 4 JSON validated; clear errors otherwise
    code_cells           cells.py        the code cells, numbered as in the notebook
    neutralise_magics    magics.py       %magics, %%cell magics, !shell, help? -> plain Python
    drop_syntax_errors   syntax.py       a cell that does not compile is left out and reported
    make_colab_harmless  colab.py        google.colab / IPython imports and get_ipython() inert
    hoist_future_imports assemble.py     ``from __future__`` imports moved to the top
    keep_definitions     definitions.py  definitions-only mode: top-level work dropped
    assemble             assemble.py     ``# celda N`` markers, one module

The mode is per TP in ``course.toml`` (``[[tp]] notebook_mode``): ``"definitions"`` (the default)
runs every step; ``"full"`` skips ``keep_definitions`` and runs every statement, as Jupyter would
(plotting works headless: the sandbox sets ``MPLBACKEND=Agg``). Either way the student gets notes
saying which cells or lines did not run and why.

Example:
    >>> converted = convert(Path("entregas/ana.ipynb"), mode="definitions")
    >>> converted.notes
    ('celdas 7 y 9 no se ejecutaron al calificar (solo se usan definiciones: ...)',)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError
from grader.notebooks.assemble import assemble, hoist_future_imports
from grader.notebooks.cells import CodeCell, Step, code_cells, read_notebook
from grader.notebooks.colab import make_colab_harmless
from grader.notebooks.definitions import keep_definitions
from grader.notebooks.magics import neutralise_magics
from grader.notebooks.syntax import drop_syntax_errors

DEFINITIONS = "definitions"
FULL = "full"
MODES = (DEFINITIONS, FULL)
"""The values of ``[[tp]] notebook_mode``."""
DEFAULT_NOTEBOOK_MODE = DEFINITIONS

__all__ = ["DEFAULT_NOTEBOOK_MODE", "DEFINITIONS", "FULL", "MODES", "CodeCell", "ConvertedNotebook",
           "convert", "notebook_to_source", "steps"]


@dataclass(frozen=True)
class ConvertedNotebook:
    source: str
    """The module's Python source."""
    notes: tuple[str, ...]
    """What the student should know, in Spanish: cells skipped, syntax errors, dropped lines."""


def steps(mode: str) -> list[Step]:
    """The transforms run after reading, in order, for ``mode``."""
    if mode not in MODES:
        raise ConfigError(f"modo de notebook desconocido {mode!r}; los válidos son {list(MODES)}")
    chosen: list[Step] = [neutralise_magics, drop_syntax_errors, make_colab_harmless,
                          hoist_future_imports]
    return [*chosen, keep_definitions] if mode == DEFINITIONS else chosen


def convert(path: Path, *, mode: str = DEFINITIONS) -> ConvertedNotebook:
    """Converts notebook ``path``; raises ``SubmissionError`` when it is not a usable notebook."""
    pipeline = steps(mode)
    cells = code_cells(read_notebook(path), name=path.name)
    notes: list[str] = []
    for step in pipeline:
        cells, new = step(cells)
        notes += new
    return ConvertedNotebook(assemble(cells), tuple(notes))


def notebook_to_source(path: Path, *, mode: str = DEFINITIONS) -> str:
    """The module source of notebook ``path`` (``convert`` without the notes)."""
    return convert(path, mode=mode).source
