"""Definitions-only mode: of each cell's top-level statements, keep what defines and drop what runs.

Long top-level work (a training loop, plots, printing a dataset) must not make grading slow or
fail, and the checks only need the definitions. Top-level statements are judged one by one in
notebook order, so a later definition replaces an earlier one exactly as in Python.

Kept:

- imports (``try: import x`` / ``except ImportError: x = None`` too, see below);
- ``def`` and ``class`` with their decorators, when every name evaluated while defining them
  (decorators, default values, annotations, base classes, the class body) is defined by then;
- assignments (``=``, ``+=``, annotated) to names, or to an item or attribute of a kept name, of
  a *constant expression*: literals; names already kept; attribute access (``np.float64``);
  subscripts; tuples, lists, sets, dicts, comprehensions and f-strings of those; arithmetic,
  comparisons, ``and``/``or``/``not``, ``a if c else b``; ``lambda``; and calls to the small
  allow-list ``SAFE_CALLS`` (``np.array``, ``np.float64``, ``torch.device``,
  ``torch.cuda.is_available``, ``nn.CrossEntropyLoss``, ``int``, ``range``, ...): cheap, with no
  side effects, and commonly used by the functions that follow;
- ``if`` with a constant-expression test and ``try`` whose handlers name exception classes, when
  every statement inside would be kept (``if torch.cuda.is_available(): DEVICE = "cuda"``);
- ``pass``, ``global`` and bare string literals (they do nothing).

Dropped: everything else. Calls as statements (``print(...)``, ``model.fit(...)``, ``plt.show()``),
assignments from other calls (``model = MLP()``, ``X = np.load(...)``), loops, ``with``,
``assert``, ``del``, and ``if __name__ == "__main__":``. Dropped statements stay in the module as
comments. The student is told which cells were skipped entirely and which ran only in part (one
line each, cell ranges compressed, and one line on why), then, cell by cell, which definitions
could not be made and which kept functions read a global that no longer exists.
"""

from __future__ import annotations

import ast
import builtins
import symtable
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from grader.notebooks.cells import CodeCell, cell_ranges
from grader.notebooks.magics import MARK
from grader.notebooks.syntax import parse_cell

_NUMPY = ("array", "asarray", "zeros", "ones", "full", "empty", "eye", "identity", "arange",
          "linspace", "logspace", "zeros_like", "ones_like", "full_like", "float16", "float32",
          "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "dtype", "finfo",
          "iinfo", "sqrt", "exp", "log", "log2", "log10", "random.default_rng")
_TORCH = ("device", "tensor", "as_tensor", "zeros", "ones", "full", "eye", "arange", "linspace",
          "cuda.is_available", "backends.mps.is_available", "get_default_dtype")
_TORCH_NN = ("CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "BCELoss", "NLLLoss", "L1Loss",
             "SmoothL1Loss", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax",
             "LogSoftmax", "Identity", "Flatten", "Dropout")
_BUILTIN_CALLS = ("abs", "bool", "complex", "dict", "divmod", "enumerate", "float", "frozenset",
                  "int", "len", "list", "max", "min", "object", "pow", "range", "reversed",
                  "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip")
SAFE_CALLS = frozenset({
    *_BUILTIN_CALLS, *(f"numpy.{n}" for n in _NUMPY), *(f"torch.{n}" for n in _TORCH),
    *(f"torch.nn.{n}" for n in _TORCH_NN),
    *(f"math.{n}" for n in ("sqrt", "exp", "log", "log2", "log10", "pow", "ceil", "floor")),
    "collections.namedtuple", "typing.TypeVar", "functools.partial", "os.path.join",
    "os.getenv", "os.environ.get", "pathlib.Path"})
"""Calls allowed in a kept constant, by the name they resolve to through the kept imports
(``np.zeros`` with ``import numpy as np`` is ``numpy.zeros``)."""

_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__doc__", "__file__", "__spec__",
                                        "__loader__", "__package__", "__builtins__"}
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SILENT = (ast.Pass, ast.Global, ast.Nonlocal)


@dataclass
class _Scope:
    """What kept statements have defined so far."""

    bound: set[str] = field(default_factory=set)
    """Names the notebook's kept statements bind."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Name -> the dotted path it stands for (``np`` -> ``numpy``), from kept imports."""
    star: bool = False
    """A kept ``from x import *``: any name may exist."""
    lazy_annotations: bool = sys.version_info >= (3, 14)

    def copy(self) -> _Scope:
        return _Scope(set(self.bound), dict(self.aliases), self.star, self.lazy_annotations)

    def known(self, name: str) -> bool:
        return self.star or name in self.bound or name in _BUILTINS

    def bind(self, name: str, alias: str | None = None) -> None:
        self.bound.add(name)
        if alias is None:
            self.aliases.pop(name, None)
        else:
            self.aliases[name] = alias

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name ``node`` resolves to (``np.random.default_rng``), if it is one."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return node.id if node.id in _BUILTINS and node.id not in self.bound else None
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        return None


def _stored(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}


def _loaded(nodes: Iterable[ast.AST | None]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if node is not None:
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Load)} - _stored(node)
    return names


def safe(node: ast.expr | None, scope: _Scope, local: frozenset[str] = frozenset()) -> bool:
    """Whether ``node`` is a constant expression (see the module docstring)."""
    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in local or scope.known(node.id)
    if isinstance(node, (ast.Attribute, ast.Starred)):
        return safe(node.value, scope, local)
    if isinstance(node, ast.Call):
        return (scope.qualified(node.func) in SAFE_CALLS
                and all(safe(a, scope, local) for a in node.args)
                and all(safe(k.value, scope, local) for k in node.keywords))
    if isinstance(node, ast.Lambda):
        return all(safe(d, scope, local) for d in (*node.args.defaults, *node.args.kw_defaults))
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        inner = set(local)
        for generator in node.generators:
            if not safe(generator.iter, scope, frozenset(inner)):
                return False
            inner |= _stored(generator.target)
            if not all(safe(c, scope, frozenset(inner)) for c in generator.ifs):
                return False
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return all(safe(p, scope, frozenset(inner)) for p in parts)
    if isinstance(node, (ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.BinOp,
                         ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.JoinedStr,
                         ast.FormattedValue)):
        return all(safe(child, scope, local) for child in ast.iter_child_nodes(node)
                   if isinstance(child, ast.expr))
    return False


def _definition_time_names(node: ast.stmt, scope: _Scope) -> set[str]:
    """Names read while a ``def``/``class`` statement runs (not when the function is called)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args
        parts: list[ast.expr | None] = [*node.decorator_list, *args.defaults, *args.kw_defaults]
        if not scope.lazy_annotations:
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            parts += [a.annotation for a in every if a is not None] + [node.returns]
        return _loaded(parts)
    assert isinstance(node, ast.ClassDef)
    names = _loaded([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
    body_bound: set[str] = set()
    for statement in node.body:
        if isinstance(statement, _DEFINITIONS):
            names |= _definition_time_names(statement, scope) - body_bound
            body_bound.add(statement.name)
        else:
            names |= _loaded([statement]) - body_bound
            body_bound |= _stored(statement)
    return names


def _target_ok(target: ast.expr, scope: _Scope) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_target_ok(t, scope) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _target_ok(target.value, scope)
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        root: ast.expr = target
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            if isinstance(root, ast.Subscript) and not safe(root.slice, scope):
                return False
            root = root.value
        return isinstance(root, ast.Name) and root.id in scope.bound
    return False


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _bind_import(node: ast.Import | ast.ImportFrom, scope: _Scope) -> None:
    for alias in node.names:
        if isinstance(node, ast.Import):
            bound = alias.asname or alias.name.split(".")[0]
            scope.bind(bound, alias.name if alias.asname else bound)
        elif alias.name == "*":
            scope.star = True
        elif node.level == 0 and node.module:
            scope.bind(alias.asname or alias.name, f"{node.module}.{alias.name}")
        else:
            scope.bind(alias.asname or alias.name)


def _bind_assignment(targets: Sequence[ast.expr], value: ast.expr | None, scope: _Scope) -> None:
    alias = scope.qualified(value) if isinstance(value, (ast.Name, ast.Attribute)) else None
    for target in targets:
        for name in sorted(_stored(target)):
            scope.bind(name, alias if isinstance(target, ast.Name) else None)


class _Filter:
    """Decides statement by statement, carrying the scope across cells."""

    def __init__(self, lazy_annotations: bool) -> None:
        self.scope = _Scope()
        self.scope.lazy_annotations |= lazy_annotations
        self.missing: dict[int, set[str]] = {}
        """``id()`` of each definition dropped at top level -> the names it needed."""

    def keep(self, node: ast.stmt, scope: _Scope, *, top: bool) -> bool:
        """Whether to keep ``node``; binds what it defines into ``scope`` when kept."""
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _bind_import(node, scope)
            return True
        if isinstance(node, _DEFINITIONS):
            needed = {n for n in _definition_time_names(node, scope) if not scope.known(n)}
            if needed:
                if top:
                    self.missing[id(node)] = needed
                return False
            scope.bind(node.name)
            return True
        if isinstance(node, ast.Assign):
            if not (all(_target_ok(t, scope) for t in node.targets) and safe(node.value, scope)):
                return False
            _bind_assignment(node.targets, node.value, scope)
            return True
        if isinstance(node, ast.AnnAssign):
            annotation_ok = scope.lazy_annotations or safe(node.annotation, scope)
            if not (_target_ok(node.target, scope) and annotation_ok and safe(node.value, scope)):
                return False
            if node.value is not None:
                _bind_assignment([node.target], node.value, scope)
            return True
        if isinstance(node, ast.AugAssign):
            defined = not isinstance(node.target, ast.Name) or node.target.id in scope.bound
            return defined and _target_ok(node.target, scope) and safe(node.value, scope)
        if isinstance(node, ast.Expr):
            return isinstance(node.value, ast.Constant)
        if isinstance(node, _SILENT):
            return True
        if isinstance(node, ast.If) and not _is_main_guard(node):
            return safe(node.test, scope) and self._keep_all([*node.body, *node.orelse], scope)
        if isinstance(node, ast.Try) and all(safe(h.type, scope) for h in node.handlers):
            inner = [*node.body, *(s for h in node.handlers for s in h.body), *node.orelse,
                     *node.finalbody]
            return self._keep_all(inner, scope)
        return False

    def _keep_all(self, statements: list[ast.stmt], scope: _Scope) -> bool:
        trial = scope.copy()
        if not all(self.keep(s, trial, top=False) for s in statements):
            return False
        scope.bound, scope.aliases, scope.star = trial.bound, trial.aliases, trial.star
        return True


def _span(node: ast.stmt) -> tuple[int, int]:
    """First and last line (0-based) of a statement, decorators included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first - 1, (node.end_lineno or node.lineno) - 1


def _rewrite(source: str, decisions: list[tuple[ast.stmt, bool]]) -> str:
    """``source`` with the dropped statements commented out, line count kept."""
    lines = source.split("\n")
    groups: list[list[tuple[ast.stmt, bool]]] = []
    for decision in decisions:  # statements sharing a line (``a = 1; print(a)``) go together
        if groups and _span(decision[0])[0] <= _span(groups[-1][-1][0])[1]:
            groups[-1].append(decision)
        else:
            groups.append([decision])
    for group in groups:
        if all(kept for _, kept in group):
            continue
        first, last = _span(group[0][0])[0], _span(group[-1][0])[1]
        original = lines[first: last + 1]
        if any(kept for _, kept in group):
            segments = {kept: [ast.get_source_segment(source, n) or "" for n, k in group if k == kept]
                        for kept in (True, False)}
            new = "; ".join(segments[True]).split("\n")
            new[-1] += f"  {MARK} omitido: " + "; ".join(s.split("\n")[0] for s in segments[False])
            new += [MARK] * (len(original) - len(new))
        else:
            new = [f"{MARK} omitido: {line}" for line in original]
        lines[first: last + 1] = new
    return "\n".join(lines)


def _globals_read(source: str) -> dict[str, set[str]]:
    """Top-level function/class name -> the module globals its body reads (via ``symtable``)."""
    def collect(table: symtable.SymbolTable) -> set[str]:
        names = {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        for child in table.get_children():
            names |= collect(child)
        return names

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        top = symtable.symtable(source, "<celda>", "exec")
    found: dict[str, set[str]] = {}
    for child in top.get_children():
        if child.get_type() in ("function", "class"):
            found[child.get_name()] = collect(child)
    return found


WHY_SKIPPED = ("al calificar solo se ejecutan las definiciones (imports, funciones, clases y "
               "constantes), no el resto del código (prints, gráficos, entrenamientos)")
"""The line that says why cells did not run, after the lists of those cells."""


def keep_definitions(cells: Sequence[CodeCell]) -> tuple[list[CodeCell], list[str]]:
    """The pipeline step (cells must compile). Grader cells (number 0) pass untouched."""
    trees = [parse_cell(cell.source) for cell in cells]
    lazy = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
               and any(a.name == "annotations" for a in n.names) for t in trees for n in t.body)
    keeper = _Filter(lazy)
    out: list[CodeCell] = []
    skipped: list[int] = []
    partly: list[int] = []
    notes: list[tuple[int, str]] = []
    dropped_binds: dict[str, int] = {}
    kept_definitions: dict[str, tuple[int, set[str]]] = {}
    for cell, tree in zip(cells, trees, strict=True):
        if cell.number == 0:
            for node in tree.body:
                keeper.scope.bound |= _stored(node) | (
                    {node.name} if isinstance(node, _DEFINITIONS) else set())
            out.append(cell)
            continue
        decisions = [(node, keeper.keep(node, keeper.scope, top=True)) for node in tree.body]
        meaningful = [(n, k) for n, k in decisions
                      if not isinstance(n, _SILENT) and not (isinstance(n, ast.Expr) and k)]
        dropped = [n for n, k in meaningful if not k]
        unmade = [n for n in dropped if id(n) in keeper.missing]
        for node in dropped:
            dropped_binds.update(dict.fromkeys(_stored(node), cell.number))
            if isinstance(node, _DEFINITIONS):
                dropped_binds[node.name] = cell.number
        reads = _globals_read(cell.source) if len(dropped) < len(meaningful) else {}
        for node, kept in meaningful:
            if kept and isinstance(node, _DEFINITIONS):
                kept_definitions[node.name] = (cell.number, reads.get(node.name, set()))
        if dropped and len(dropped) == len(meaningful):
            skipped.append(cell.number)
        elif len(dropped) > len(unmade):
            partly.append(cell.number)
        for node in unmade:
            assert isinstance(node, _DEFINITIONS)
            needed = ", ".join(f"`{n}`" for n in sorted(keeper.missing.pop(id(node))))
            notes.append((cell.number, f"celda {cell.number}: `{node.name}` no se definió al "
                          f"calificar: usa {needed}, que en ese punto no está definido (solo se "
                          "ejecutan definiciones)"))
        out.append(CodeCell(cell.number, _rewrite(cell.source, decisions)))
    for name, (number, globals_read) in kept_definitions.items():
        gone = sorted(n for n in globals_read if n in dropped_binds and not keeper.scope.known(n))
        for global_name in gone:
            notes.append((number, f"celda {number}: `{name}` usa `{global_name}`, que al calificar "
                          f"no existe: se asigna en la celda {dropped_binds[global_name]}, en una "
                          "instrucción que no se ejecuta"))
    # One line per kind, however many cells (a 2000-cell notebook once got 993 notes, issue 18);
    # what a student must act on (a definition left out, a global that is gone) stays per cell.
    ordered = [text for _, text in sorted(notes, key=lambda note: note[0])]
    summary = []
    if skipped:
        summary.append(("celdas que no se ejecutaron" if len(skipped) > 1
                        else "celda que no se ejecutó") + f" al calificar: {cell_ranges(skipped)}")
    if partly:
        summary.append(("celdas que se ejecutaron" if len(partly) > 1 else "celda que se ejecutó")
                       + f" solo en parte: {cell_ranges(partly)}")
    if summary:
        summary.append(WHY_SKIPPED)
    return out, summary + ordered
