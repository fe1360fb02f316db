"""IPython syntax neutralised: magics, shell lines and help, so a cell is plain Python.

Every cell keeps its number of lines, so a syntax error found later points at the line the
student sees. Lines are only rewritten where a new statement starts (not inside a string, a
bracket or a backslash continuation), so ``"%d" % x`` or a docstring line starting with ``!`` is
left alone.

- ``!cmd``, ``%magic``, ``%pip install``, ``pip install ...``, ``np.zeros?``: ``pass``.
- ``%time STATEMENT``: the statement (it runs once, as in IPython).
- ``files = !ls``, ``x = %pwd``: ``files = None``.
- ``%%time``, ``%%timeit``, ``%%capture``, ``%%prun`` cells: the body runs as Python.
- Any other cell magic (``%%bash``, ``%%writefile``, ``%%html``, ...): the whole cell is commented
  out and the student is told.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.notebooks.cells import CodeCell, cell_ranges

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
"""Cell magics whose body is Python that IPython runs in the notebook's namespace."""
MARK = "# [grader]"

_ASSIGNED_MAGIC = re.compile(r"^([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*([!%].*)$")
_HELP = re.compile(r"^(\?{1,2}[\w.]+|[\w.]+\?{1,2})$")
_SHELL_WORDS = re.compile(r"^(pip|pip3|conda|apt|apt-get)\s+(install|uninstall)\b")
_TIME_STATEMENT = re.compile(r"^%time\s+(\S.*)$")


class _Scanner:
    """Knows, line after line, whether the next line starts a new logical line."""

    def __init__(self) -> None:
        self.quote: str | None = None
        self.depth = 0
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> None:
        i, n, comment = 0, len(line), False
        while i < n:
            char = line[i]
            if self.quote is not None:
                if char == "\\":
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                else:
                    i += 1
                continue
            if char == "#":
                comment = True
                break
            if char in "\"'":
                self.quote = char * 3 if line.startswith(char * 3, i) else char
                i += len(self.quote)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        ends_with_backslash = line.endswith("\\") and not comment
        if self.quote in ("'", '"') and not ends_with_backslash:
            self.quote = None  # an unterminated one-line string: a syntax error, reported later
        self.continued = self.quote is None and ends_with_backslash


def neutralise_line(line: str) -> str:
    """``line`` as plain Python, when it starts a statement (see the module docstring)."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if not stripped:
        return line
    timed = _TIME_STATEMENT.match(stripped)
    if timed:
        return indent + timed.group(1)
    assigned = _ASSIGNED_MAGIC.match(stripped)
    if assigned:
        return f"{indent}{assigned.group(1)} = None  {MARK} omitido: {assigned.group(2)}"
    if stripped.startswith(("!", "%")) or _HELP.match(stripped) or _SHELL_WORDS.match(stripped):
        return f"{indent}pass  {MARK} omitido: {stripped}"
    return line


def neutralise_lines(source: str) -> str:
    """Every statement-starting magic or shell line of ``source`` replaced (same line count)."""
    scanner = _Scanner()
    out = []
    for line in source.split("\n"):
        out.append(neutralise_line(line) if scanner.at_statement_start else line)
        scanner.feed(line)
    return "\n".join(out)


def _cell_magic(source: str) -> tuple[int, str] | None:
    """The index of a cell-magic first line (``%%name``) and the magic's name, if any."""
    lines = source.split("\n")
    for index, line in enumerate(lines):
        if line.strip():
            if line.startswith("%%"):
                return index, (line[2:].split() or [""])[0]
            return None
    return None


def neutralise_magics(cells: Sequence[CodeCell]) -> tuple[list[CodeCell], list[str]]:
    """The pipeline step: every cell made plain Python; one note for the non-Python cell magics."""
    out: list[CodeCell] = []
    skipped: dict[int, str] = {}
    for cell in cells:
        magic = _cell_magic(cell.source)
        if magic is None:
            out.append(CodeCell(cell.number, neutralise_lines(cell.source)))
            continue
        index, name = magic
        lines = cell.source.split("\n")
        if name in PYTHON_CELL_MAGICS:
            head = f"{MARK} {lines[index].strip()}"
            body = neutralise_lines("\n".join(lines[index + 1:]))
            out.append(CodeCell(cell.number, "\n".join([*lines[:index], head, body])))
        else:
            out.append(CodeCell(cell.number, "\n".join(f"{MARK} {line}" for line in lines)))
            skipped[cell.number] = f"%%{name}"
    if not skipped:
        return out, []
    kinds = ", ".join(dict.fromkeys(skipped.values()))
    if len(skipped) == 1:
        what = f"celda {next(iter(skipped))}: no se ejecutó: es una celda {kinds}"
    else:
        what = f"celdas que no se ejecutaron: {cell_ranges(list(skipped))}: son celdas {kinds}"
    return out, [what + " (al calificar solo corre código Python)"]
