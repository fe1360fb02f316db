"""Code that only exists in Colab or Jupyter made harmless, so the module imports anywhere.

- An import of ``google.colab`` or ``IPython`` (``from google.colab import drive``, ``from
  IPython.display import clear_output``) becomes an assignment of the same names to a stand-in
  whose every attribute and call does nothing: ``drive.mount(...)``, ``files.upload()`` and
  ``clear_output()`` then run and do nothing. An import inside ``try: ... except ImportError:`` is
  left alone: failing there takes the student's own non-Colab branch, as on their machine.
- ``get_ipython()`` and ``display(...)``, which Jupyter provides without an import, get the
  stand-in too when the notebook uses them without defining them.

The stand-in is defined in a preamble cell (number 0) that later steps pass through untouched.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from grader.notebooks.cells import CodeCell
from grader.notebooks.syntax import parse_cell

NOTEBOOK_ONLY_MODULES = ("google.colab", "IPython")
JUPYTER_BUILTINS = ("get_ipython", "display")
ABSENT = "_grader_absent"
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}

PREAMBLE = f'''\
class _GraderAbsent:
    """Colab y Jupyter no existen al calificar: esto ocupa el lugar de lo que solo existe ahí."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __bool__(self):
        return False

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __str__(self):
        return ""

    def __repr__(self):
        return "<solo existe en Colab o Jupyter>"


{ABSENT} = _GraderAbsent()'''


def _notebook_only(module: str | None) -> bool:
    return module is not None and any(module == m or module.startswith(m + ".")
                                      for m in NOTEBOOK_ONLY_MODULES)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS for t in types)


def _replacement(node: ast.Import | ast.ImportFrom) -> str | None:
    """The text that replaces an import statement, or None when it imports nothing notebook-only."""
    if isinstance(node, ast.ImportFrom):
        if node.level or not _notebook_only(node.module):
            return None
        names = [a.asname or a.name for a in node.names if a.name != "*"]
        return " = ".join([*names, ABSENT]) if names else "pass"
    if not any(_notebook_only(a.name) for a in node.names):
        return None
    parts = []
    for alias in node.names:
        bound = alias.asname or alias.name.split(".")[0]
        if _notebook_only(alias.name):
            parts.append(f"{bound} = {ABSENT}")
        else:
            parts.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
    return "; ".join(parts)


def _unguarded_imports(nodes: Iterable[ast.AST], guarded: bool = False) -> list[tuple[ast.stmt, str]]:
    """Notebook-only imports among ``nodes`` (at any depth) that no ``except ImportError`` guards,
    with their replacement text."""
    found: list[tuple[ast.stmt, str]] = []
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = _replacement(node)
            if text is not None and not guarded:
                found.append((node, text))
        elif isinstance(node, ast.Try):
            inner = guarded or any(_catches_import_error(h) for h in node.handlers)
            found += _unguarded_imports(node.body, inner)
            found += _unguarded_imports([*node.handlers, *node.orelse, *node.finalbody], guarded)
        else:
            found += _unguarded_imports(ast.iter_child_nodes(node), guarded)
    return found


def _replace(source: str, node: ast.stmt, text: str) -> str:
    """``source`` with statement ``node`` replaced by ``text``, keeping the line count when the
    statement spanned several lines and nothing but a comment follows it."""
    lines = source.encode().split(b"\n")
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    head = lines[first][: node.col_offset]
    tail = lines[last][node.end_col_offset or 0:]
    padding = b"\n" * (last - first) if tail.strip()[:1] in (b"", b"#") else b""
    lines[first: last + 1] = [head + text.encode() + padding + tail]
    return b"\n".join(lines).decode()


def _bound_and_loaded(tree: ast.AST) -> tuple[set[str], set[str]]:
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, loaded


def make_colab_harmless(cells: Sequence[CodeCell]) -> tuple[list[CodeCell], list[str]]:
    """The pipeline step (cells must compile: it runs after the syntax check)."""
    out: list[CodeCell] = []
    bound: set[str] = set()
    loaded: set[str] = set()
    for cell in cells:
        tree = parse_cell(cell.source)
        source = cell.source
        replacements = _unguarded_imports(tree.body)
        for node, text in sorted(replacements, key=lambda r: (r[0].lineno, r[0].col_offset),
                                 reverse=True):
            source = _replace(source, node, text)
        cell_bound, cell_loaded = _bound_and_loaded(parse_cell(source))
        bound |= cell_bound
        loaded |= cell_loaded
        out.append(CodeCell(cell.number, source))
    builtins = [name for name in JUPYTER_BUILTINS if name in loaded and name not in bound]
    if ABSENT in loaded or builtins:
        preamble = PREAMBLE + "".join(f"\n{name} = {ABSENT}" for name in builtins)
        out.insert(0, CodeCell(0, preamble))
    return out, []
