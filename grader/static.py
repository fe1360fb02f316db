"""Static checks of a student's source, done on the trusted side without running it.

``analyse`` answers, for the functions of a TP's numpy parts and everything they reach at module
level (helpers, classes and their methods, module-level assignments): which forbidden libraries
(torch, tensorflow, jax, scipy, scikit-learn) do they certainly use, and what do they do that no
static reading can settle? ``forbidden_uses`` is its first half. The file may still import torch
at the top for its PyTorch part: only what the numpy functions reach counts.

*Definite* uses fail the exercise: the library is named in the code, directly or through an
alias, or a dynamic import's name folds to a constant (``importlib.import_module("tor" + "ch")``,
``sys.modules["torch"]``, ``getattr(builtins, "__import__")("torch")``, ``globals()["torch"]``,
``exec("import torch")``).

*Undecidable* uses are for staff to review by hand and never fail a student by themselves
(issue 15): code that reaches the import machinery or a namespace with a name or code computed
at run time (``exec(code)``, ``__import__(name)``, ``globals()[name]``, ``sys.modules`` iterated,
``getattr(__builtins__, name)``, a frame's ``f_globals``, ``importlib.util``, ``gc``), code that
replaces attributes of an imported module (``np.maximum = ...``), and such code run when the
module loads (outside functions, classes and plain assignments), which may change what any
function calls.

The reading tracks values by kind only: an expression is harmless or one of a few kinds (a
forbidden library, ``sys``, ``sys.modules``, ``builtins``, ``importlib``, an import function,
exec, eval/compile, ``globals()``...). A dangerous kind used in a way the rules below do not
follow (passed to a function, iterated, stored in an object) is undecidable. It is a check of a
course rule, not a sandbox: nothing that runs student code may rely on it.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field

# Kinds. "lib:NAME" is a forbidden library or anything taken from it; "module:NAME" a harmless
# imported module (stores into it matter); "opaque:WHAT" reaches modules without naming them, so
# any use of it is undecidable; "getter:KIND" is the bound ``get``/``pop`` of a mapping kind.
_IMPORT, _EXEC, _EVAL = "import", "exec", "eval"
_BUILTINS, _SYS, _MODULES, _IMPORTLIB, _GC = "builtins", "sys", "sys.modules", "importlib", "gc"
_NAMESPACE, _NAMESPACE_FN = "namespace", "namespace-fn"
_GETATTR, _SETATTR = "getattr", "setattr"

_BUILTIN_NAMES = {"__import__": _IMPORT, "exec": _EXEC, "eval": _EVAL, "compile": _EVAL,
                  "globals": _NAMESPACE_FN, "vars": _NAMESPACE_FN, "locals": _NAMESPACE_FN,
                  "getattr": _GETATTR, "setattr": _SETATTR, "delattr": _SETATTR,
                  "__builtins__": _BUILTINS, "__loader__": "opaque:__loader__"}
_SPECIAL_MODULES = {"builtins": _BUILTINS, "sys": _SYS, "importlib": _IMPORTLIB, "gc": _GC,
                    "__main__": "opaque:__main__", "runpy": "opaque:runpy", "imp": "opaque:imp",
                    "pkgutil": "opaque:pkgutil", "zipimport": "opaque:zipimport"}
_MEMBERS: dict[str, dict[str, str]] = {
    # ``__builtins__`` is the module in __main__ and its dict elsewhere: both forms are read.
    _BUILTINS: {**_BUILTIN_NAMES, "__dict__": _BUILTINS, "get": "getter:builtins",
                "__getitem__": "getter:builtins"},
    _SYS: {"modules": _MODULES, "__dict__": _SYS, "meta_path": "opaque:sys.meta_path",
           "path_hooks": "opaque:sys.path_hooks",
           "path_importer_cache": "opaque:sys.path_importer_cache"},
    _IMPORTLIB: {"import_module": _IMPORT, "__import__": _IMPORT, "__dict__": _IMPORTLIB},
    # Every live object, the torch module the worker preloads for TP2 and TP3 among them.
    _GC: {"get_objects": "opaque:gc.get_objects", "get_referrers": "opaque:gc.get_referrers",
          "get_referents": "opaque:gc.get_referents"},
    _MODULES: {"get": "getter:sys.modules", "pop": "getter:sys.modules",
               "setdefault": "getter:sys.modules", "__getitem__": "getter:sys.modules"},
    _NAMESPACE: {"get": "getter:namespace", "__getitem__": "getter:namespace"},
}
# Attributes that mean the same on any object: ``print.__self__`` is the builtins module, a
# module's ``__builtins__`` its dict, a function's ``__globals__`` and a frame's ``f_globals``
# hold some module's names.
_ANY_MEMBER = {"__import__": _IMPORT, "import_module": _IMPORT, "__builtins__": _BUILTINS,
               "__self__": _BUILTINS, "sys": _SYS, "importlib": _IMPORTLIB, "builtins": _BUILTINS,
               **{a: f"opaque:{a}" for a in ("__globals__", "f_globals", "f_locals", "f_builtins",
                                             "__subclasses__", "__loader__")}}
_LABELS = {_BUILTINS: "__builtins__", _SYS: "sys", _IMPORTLIB: "importlib", _GC: "gc",
           _MODULES: "sys.modules", _NAMESPACE: "globals()/vars()/locals()"}
_ESCAPES = {
    _BUILTINS: "usa __builtins__ (o el módulo builtins) de una forma que no se puede seguir",
    _SYS: "usa el módulo sys de una forma que no se puede seguir",
    _MODULES: "lee sys.modules",
    _IMPORTLIB: "usa importlib de una forma que no se puede seguir",
    _GC: "usa el módulo gc de una forma que no se puede seguir",
    _IMPORT: "usa __import__/importlib.import_module sin llamarla con un nombre fijo",
    _EXEC: "usa exec",
    _EVAL: "usa eval/compile",
    _NAMESPACE: "usa globals()/vars()/locals()",
    _NAMESPACE_FN: "usa globals()/vars()/locals()",
}
_CALLABLES = _ESCAPES.keys() - _LABELS.keys()
"""Kinds that are functions: indexing or ``getattr`` on them reaches nothing we follow."""
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
             ast.TryStar, ast.Match)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)
_TOO_DEEP = "tiene código anidado demasiado hondo para leerlo"
_SPECIALIZATIONS = 200
"""Calls with constant arguments read per closure (a recursion that grows its argument stops)."""


@dataclass(frozen=True)
class StaticReport:
    """What ``analyse`` found, per function asked about; functions with nothing are left out.

    Example:
        >>> analyse("def f(x):\\n    return exec(x)\\n", ["f"], ["torch"]).undecidable
        {'f': ['usa exec (línea 2)']}
    """

    forbidden: dict[str, list[str]] = field(default_factory=dict)
    """Function -> forbidden libraries it certainly uses, sorted: its exercise fails."""
    undecidable: dict[str, list[str]] = field(default_factory=dict)
    """Function -> what it does that cannot be settled statically (Spanish, sorted): staff
    review it by hand; the student is not failed for it."""
    libraries: tuple[str, ...] = ()
    """The forbidden libraries that were looked for."""

    def review_notes(self) -> list[str]:
        """One line per undecidable finding, for the staff log (never the student's report).

        Functions that certainly use a forbidden library are left out: they fail anyway.
        """
        libraries = ", ".join(self.libraries)
        return [f"revisar a mano: {name} {reason}; no se puede decidir estáticamente si usa "
                f"{libraries}" for name, reasons in self.undecidable.items()
                if name not in self.forbidden for reason in reasons]


def forbidden_uses(source: str, functions: Iterable[str],
                   forbidden: Iterable[str]) -> dict[str, list[str]]:
    """Maps each function that (transitively) certainly uses a forbidden library to those
    libraries: ``analyse(...).forbidden``."""
    return analyse(source, functions, forbidden).forbidden


def analyse(source: str, functions: Iterable[str], forbidden: Iterable[str], *,
            module: str | None = None) -> StaticReport:
    """Reads ``source`` (never runs it) for the numpy-only rule.

    Functions not defined in ``source`` and sources that do not parse are left out: the checks
    report those problems themselves.

    Args:
        source: the student's module.
        functions: the functions (or classes) of the numpy-only exercises.
        forbidden: top-level names of the forbidden libraries (``"torch"``, ``"sklearn"``).
        module: the name the worker imports ``source`` as (``"tp1"``), so that the file reaching
            its own names (``sys.modules[__name__].torch``, ``import tp1``) is followed.
    """
    libraries = tuple(forbidden)
    names = list(functions)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return StaticReport(libraries=libraries)
    except RecursionError:
        # The worker's import fails the same way; say so rather than read nothing.
        return StaticReport({}, {n: [_TOO_DEEP] for n in names}, libraries)
    try:
        return _Analysis(tree, set(libraries), module).report(names, libraries)
    except RecursionError:
        return StaticReport({}, {n: [_TOO_DEEP] for n in names}, libraries)


def _top(module: str) -> str:
    return module.split(".")[0]


def _is_main_guard(stmt: ast.stmt) -> bool:
    """``if __name__ == "__main__":``, whose body never runs when the worker imports the file."""
    test = stmt.test if isinstance(stmt, ast.If) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, *test.comparators]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _binding(node: ast.AST) -> list[str]:
    """The names ``node`` itself binds (not its children)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or _top(a.name) for a in node.names if a.name != "*"]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    return []


def _bound_names(node: ast.AST) -> list[str]:
    """Every name bound anywhere in ``node``, once per binding."""
    return [name for child in ast.walk(node) for name in _binding(child)]


def _scope_locals(scope: ast.AST) -> set[str]:
    """The names local to a function, lambda or comprehension: Python decides this from the
    source, so inside it they never mean a builtin or a module-level name."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        found = {a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg)}
        pending: list[ast.AST] = list(scope.body) if isinstance(scope.body, list) else [scope.body]
    else:  # a comprehension: its targets
        found = {n for g in scope.generators for n in _bound_names(g.target)}  # type: ignore[attr-defined]
        pending = []
    declared: set[str] = set()
    while pending:
        node = pending.pop()
        found.update(_binding(node))
        if isinstance(node, ast.Global):
            declared.update(node.names)
        if not isinstance(node, _SCOPES):  # a nested scope's names are its own
            pending += ast.iter_child_nodes(node)
    return found - declared


class _Analysis:
    """The module's top level, read once: its definitions, aliases and constants."""

    def __init__(self, tree: ast.Module, forbidden: set[str], own: str | None) -> None:
        self.forbidden = forbidden
        self.own = own
        self.definitions: dict[str, list[ast.AST]] = {}
        self.loose: list[ast.stmt] = []
        """Code run when the module loads that is not a definition, an import or a plain
        assignment (those are read when a function reaches them)."""
        self.shadowed: set[str] = set()
        """Builtin names the file binds for good at top level (``def compile(...)``)."""
        self.env: dict[str, str] = {}
        self.imported: set[str] = set()
        self.star_libraries: set[str] = set()
        bindings = _bound_names(tree)
        self.constants: dict[str, str] = {}
        # A name bound once in the whole file, to a constant string, is that string everywhere.
        for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assign)),
                           key=lambda n: (n.lineno, n.col_offset)):
            target = node.targets[0]
            if len(node.targets) == 1 and isinstance(target, ast.Name) and bindings.count(target.id) == 1:
                value = _Scan(self).fold(node.value)
                if value is not None:
                    self.constants[target.id] = value
        top_level: list[ast.stmt] = []
        self._walk(tree.body, top_level, conditional=False)
        # A name deleted or declared global somewhere may be the builtin again when a function runs.
        self.shadowed -= {n.id for n in ast.walk(tree)
                          if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Del)}
        self.shadowed -= {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
        scan = _Scan(self, top_level=True)
        for stmt in top_level:
            scan.visit(stmt)
        self.env = scan.env
        self.imported = scan.imported
        self.star_libraries = scan.star_libraries
        for name, store in scan.stores.items():
            self.definitions.setdefault(name, []).append(store)
        self.module_names = set(bindings) | set(self.env) | set(self.definitions) | set(dir(builtins))
        self._scans: dict[tuple[int, tuple[tuple[str, str], ...]], _Scan] = {}

    def _walk(self, body: list[ast.stmt], top_level: list[ast.stmt], *, conditional: bool) -> None:
        for stmt in body:
            if _is_main_guard(stmt):
                self._walk(stmt.orelse, top_level, conditional=True)  # type: ignore[attr-defined]
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self._define(stmt.name, stmt, conditional)
            elif isinstance(stmt, _COMPOUND):
                # Read part by part, so that a def under an if or a try stays a definition.
                headers = [getattr(stmt, a) for a in ("test", "iter", "subject") if hasattr(stmt, a)]
                headers += [item.context_expr for item in getattr(stmt, "items", [])]
                loose = [ast.Expr(h, lineno=h.lineno, col_offset=h.col_offset) for h in headers]
                self.loose += loose
                top_level += loose
                for part in ("body", "orelse", "finalbody", "handlers", "cases"):
                    for item in getattr(stmt, part, []):
                        inner = item.body if isinstance(item, (ast.ExceptHandler, ast.match_case)) else [item]
                        self._walk(inner, top_level, conditional=True)
            elif (code := self._top_level_exec(stmt)) is not None:
                self._walk(code.body, top_level, conditional=conditional)
            else:
                top_level.append(stmt)
                targets = (stmt.targets if isinstance(stmt, ast.Assign) else
                           [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value else [])
                if targets and all(isinstance(t, ast.Name) for t in targets):
                    for target in targets:
                        self._define(target.id, stmt, conditional)  # type: ignore[attr-defined]
                elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    if not conditional:
                        self.shadowed.update(_binding(stmt))
                else:
                    self.loose.append(stmt)

    def _define(self, name: str, node: ast.AST, conditional: bool) -> None:
        # In sequence the last definition wins, as in Python; under an if or a try any may run.
        self.definitions[name] = [*self.definitions.get(name, []), node] if conditional else [node]
        if not conditional:
            self.shadowed.add(name)

    def _top_level_exec(self, stmt: ast.stmt) -> ast.Module | None:
        """The code of a top-level ``exec("...")`` statement, which defines module names."""
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "exec"
                and len(call.args) == 1 and not call.keywords and "exec" not in self.shadowed):
            return None
        code = _Scan(self).fold(call.args[0])
        try:
            return ast.parse(code) if code is not None else None
        except (SyntaxError, ValueError):
            return None

    def _scan(self, node: ast.AST, arguments: tuple[tuple[str, str], ...] = ()) -> _Scan:
        key = (id(node), arguments)
        if key not in self._scans:
            scan = _Scan(self)
            rebound = _bound_names(node)
            # A parameter that the body never rebinds is the constant it was called with.
            scan.arguments = {p: v for p, v in arguments if rebound.count(p) == 1}
            scan.visit(node)
            self._scans[key] = scan
        return self._scans[key]

    def closure(self, start: str, nodes: list[ast.AST]) -> tuple[set[str], set[str]]:
        """Libraries used and reasons found in ``nodes`` and in every definition they reach."""
        used: set[str] = set()
        reasons: set[str] = set()
        seen = {start}
        seen_calls: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        pending: list[tuple[str, ast.AST, tuple[tuple[str, str], ...]]] = [
            (start, node, ()) for node in nodes]
        while pending:
            name, node, arguments = pending.pop()
            scan = self._scan(node, arguments)
            helper = None if name == start else name
            used |= scan.used
            reasons |= {_reason(core, detail, line, helper) for line, core, detail in scan.reasons}
            free = (scan.names - self.module_names - set(_bound_names(node))
                    if self.star_libraries else set())
            if free:
                # A name defined nowhere can only come from the star import (or worse).
                reasons.add(_reason(f"usa nombres que no define ({', '.join(sorted(free)[:5])}) y el "
                                    f"módulo hace 'from {min(self.star_libraries)} import *'",
                                    "", None, helper))
            for read in sorted((scan.names | scan.members) - seen):
                if read in self.definitions:
                    seen.add(read)
                    pending += [(read, n, ()) for n in self.definitions[read]]
            # ``_lib("ch")`` reads ``_lib`` again with ``name = "ch"``: the red team's
            # ``import_module("tor" + name)`` (issue 15) is then a definite use.
            for call in sorted(scan.calls - seen_calls)[:_SPECIALIZATIONS - len(seen_calls)]:
                seen_calls.add(call)
                pending.append((call[0], self.definitions[call[0]][0], call[1]))
        return used, reasons

    def report(self, functions: list[str], libraries: tuple[str, ...]) -> StaticReport:
        forbidden: dict[str, list[str]] = {}
        undecidable: dict[str, list[str]] = {}
        _, on_load = self.closure("", [ast.Module(body=self.loose, type_ignores=[])])
        on_load = {f"al cargarse, el módulo {reason}" for reason in on_load}
        for name in functions:
            if name not in self.definitions:
                continue
            used, reasons = self.closure(name, self.definitions[name])
            if used:
                forbidden[name] = sorted(used)
            if reasons | on_load:
                undecidable[name] = sorted(reasons | on_load)
        return StaticReport(forbidden, undecidable, libraries)


def _reason(core: str, detail: str, line: int | None, helper: str | None) -> str:
    where = [p for p in (detail, f"en {helper}" if helper else "", f"línea {line}" if line else "") if p]
    return f"{core} ({', '.join(where)})" if where else core


def _argument(call: ast.Call, index: int, keyword: str | None) -> ast.expr | None:
    if len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if keyword and k.arg == keyword), None)


def _arguments(call: ast.Call, skip: int = 0) -> list[ast.expr]:
    return [*call.args[skip:], *(k.value for k in call.keywords)]


class _Scan:
    """One reading of a definition (or of the top level, for its bindings), in source order."""

    def __init__(self, module: _Analysis, *, top_level: bool = False) -> None:
        self.m = module
        self.top_level = top_level
        """Reading the top level for its bindings only: function and class bodies are skipped,
        and a builtin's name means the builtin until the statement that rebinds it."""
        self.env: dict[str, str] = {}
        """Names bound here to a kind (whatever the scope: more is found, never less)."""
        self.scopes: list[set[str]] = []
        """The local names of the functions and comprehensions being read."""
        self.used: set[str] = set()
        self.reasons: set[tuple[int, str, str]] = set()
        """(line, reason, detail)."""
        self.names: set[str] = set()
        """Names read, to follow the module-level definitions they name."""
        self.members: set[str] = set()
        """The file's own names reached as attributes of its own module."""
        self.stores: dict[str, ast.AST] = {}
        """``globals()["name"] = ...`` with a constant name: a definition like any other."""
        self.imported: set[str] = set()
        """Names bound by importing a harmless module (``np``): storing into them is a finding."""
        self.star_libraries: set[str] = set()
        self.arguments: dict[str, str] = {}
        """Parameters known to hold a constant string (this reading is for one call)."""
        self.calls: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        """Calls of module-level functions with constant string arguments: (name, arguments)."""
        self._anchor: int | None = None

    # --- findings ----------------------------------------------------------------------------

    def note(self, node: ast.AST, reason: str, detail: str = "") -> None:
        line = self._anchor if self._anchor is not None else int(getattr(node, "lineno", 0))
        self.reasons.add((line, reason, detail))

    def escape(self, node: ast.AST, kind: str) -> None:
        """``kind`` is used in a way that is not followed."""
        kind = kind.removeprefix("getter:")
        if kind.startswith("opaque:"):
            self.note(node, f"usa {kind.removeprefix('opaque:')}")
        elif kind in _ESCAPES:
            self.note(node, _ESCAPES[kind])

    def sink(self, node: ast.AST | None) -> None:
        if node is not None and (kind := self.visit(node)) is not None:
            self.escape(node, kind)

    def sink_all(self, nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            self.sink(node)

    # --- values ------------------------------------------------------------------------------

    def fold(self, node: ast.AST | None) -> str | None:
        """The string ``node`` always evaluates to, when that is plain from the source."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if node.id in self.arguments:
                return self.arguments[node.id]
            return self.m.own if node.id == "__name__" else self.m.constants.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.fold(node.left), self.fold(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            parts = [self.fold(v.value if isinstance(v, ast.FormattedValue) and v.conversion == -1
                               and v.format_spec is None else v) for v in node.values]
            return None if None in parts else "".join(parts)  # type: ignore[arg-type]
        return None

    def lookup(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        if any(name in scope for scope in self.scopes):
            return None
        if name in self.m.env:
            return self.m.env[name]
        return None if name in self.m.shadowed and not self.top_level else _BUILTIN_NAMES.get(name)

    def read(self, name: str) -> str | None:
        self.names.add(name)
        kind = self.lookup(name)
        if kind is not None and kind.startswith("lib:"):
            self.used.add(kind.removeprefix("lib:"))
        return kind

    def module_kind(self, dotted: str) -> str:
        top = _top(dotted)
        if top in self.m.forbidden:
            self.used.add(top)
            return f"lib:{top}"
        kind = _SPECIAL_MODULES.get(top)
        if kind is None:
            return f"module:{dotted}"
        for part in dotted.split(".")[1:]:
            kind = self.member(kind, part) or f"module:{dotted}"
        return kind

    def member(self, kind: str, name: str, node: ast.AST | None = None) -> str | None:
        """The kind of ``VALUE.name`` for a ``VALUE`` of ``kind``."""
        if name == "__call__" or kind.startswith(("lib:", "opaque:")):
            return kind
        table = _MEMBERS.get(kind, {})
        if name in table:
            return table[name]
        if kind == _IMPORTLIB:
            return f"opaque:importlib.{name}"
        if kind in (_MODULES, _NAMESPACE):
            if node is not None:
                self.escape(node, kind)
            return None
        if name in _ANY_MEMBER:
            return _ANY_MEMBER[name]
        if self.m.own is not None and kind == f"module:{self.m.own}":
            # The file reaching its own names as a module (``import tp1; tp1.torch``).
            self.members.add(name)
            own = self.lookup(name)
            if own is not None and own.startswith("lib:"):
                self.used.add(own.removeprefix("lib:"))
            return own
        return f"{kind}.{name}" if kind.startswith("module:") else None

    def resolve(self, node: ast.AST, kind: str, key: str | None, via: str) -> str | None:
        """``VALUE[key]``, ``VALUE.get(key)`` or ``getattr(VALUE, key)``."""
        if kind.startswith("lib:"):
            return kind
        if key is None:
            if kind == _MODULES:
                self.note(node, "lee sys.modules con un nombre calculado")
            elif kind == _NAMESPACE or (self.m.own is not None and kind == f"module:{self.m.own}"):
                self.note(node, "usa globals()/vars()/locals() con un nombre calculado")
            elif not kind.startswith("module:"):
                self.note(node, f"{via} {_LABELS.get(kind, kind.removeprefix('opaque:'))} "
                                "con un nombre calculado")
            return None
        if kind == _MODULES:
            return self.module_kind(key)
        if kind == _NAMESPACE:
            return self.read(key)
        return self.member(kind, key, node)

    # --- the walk ----------------------------------------------------------------------------

    def visit(self, node: ast.AST) -> str | None:
        """Records what ``node`` uses and returns the kind of its value (``None``: harmless)."""
        handler = getattr(self, f"_visit_{type(node).__name__}", None)
        if handler is not None:
            return handler(node)
        self.sink_all(ast.iter_child_nodes(node))
        return None

    def _visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if self.top_level:
            return
        # Decorators, defaults and annotations are evaluated where the function is defined.
        args = node.args
        self.sink_all([*getattr(node, "decorator_list", []), *args.defaults,
                       *(d for d in args.kw_defaults if d is not None),
                       *(a.annotation for a in ast.walk(args) if isinstance(a, ast.arg) and a.annotation)])
        self.sink(getattr(node, "returns", None))
        self.scopes.append(_scope_locals(node))
        self.sink_all(node.body if isinstance(node.body, list) else [node.body])
        self.scopes.pop()

    _visit_AsyncFunctionDef = _visit_Lambda = _visit_FunctionDef

    def _visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not self.top_level:
            self.sink_all(ast.iter_child_nodes(node))

    def _visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        self.sink(node.generators[0].iter)  # the only part evaluated in the enclosing scope
        self.scopes.append(_scope_locals(node))
        for index, generator in enumerate(node.generators):
            if index:
                self.sink(generator.iter)
            self.sink_all(generator.ifs)
        self.sink_all([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt])
        self.scopes.pop()

    _visit_SetComp = _visit_DictComp = _visit_GeneratorExp = _visit_ListComp

    def _visit_Name(self, node: ast.Name) -> str | None:
        return self.read(node.id) if isinstance(node.ctx, ast.Load) else None

    def _visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or _top(alias.name)
            self.env[name] = self.module_kind(alias.name if alias.asname else name)
            if self.env[name].startswith("module:"):
                self.imported.add(name)

    def _visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative: the student's file is a lone module, this fails when it loads
        base = self.module_kind(node.module)
        for alias in node.names:
            if alias.name == "*":
                if base.startswith("lib:"):
                    self.star_libraries.add(base.removeprefix("lib:"))
                self.env.update({k: v for k, v in _MEMBERS.get(base, {}).items()
                                 if not v.startswith("getter:")})
                continue
            kind = self.member(base, alias.name, node)
            if kind is not None:
                self.env[alias.asname or alias.name] = kind
                if kind.startswith("module:"):
                    self.imported.add(alias.asname or alias.name)

    def _visit_Attribute(self, node: ast.Attribute) -> str | None:
        kind = self.visit(node.value)
        if not isinstance(node.ctx, ast.Load):
            self.stored_into(node, kind)
            return None
        if kind is None:
            return _ANY_MEMBER.get(node.attr)
        return self.member(kind, node.attr, node)

    def _visit_Subscript(self, node: ast.Subscript) -> str | None:
        kind = self.visit(node.value)
        if not isinstance(node.ctx, ast.Load):
            self.sink(node.slice)
            self.stored_into(node, kind)
            return None
        if kind is None or kind.startswith("getter:") or kind in _CALLABLES:
            if kind is not None:
                self.escape(node.value, kind)
            self.sink(node.slice)
            return None
        key = self.fold(node.slice)
        if key is None:
            self.sink(node.slice)
        return self.resolve(node, kind, key, "indexa")

    def _visit_Call(self, node: ast.Call) -> str | None:
        kind = self.visit(node.func)
        if kind is None and isinstance(node.func, ast.Name):
            self.record_call(node, node.func.id)
        if kind is None or kind.startswith(("lib:", "module:")):
            self.sink_all(_arguments(node))
            return kind if kind is not None and kind.startswith("lib:") else None
        handler = {_IMPORT: self._call_import, _EXEC: self._call_code, _EVAL: self._call_code,
                   _NAMESPACE_FN: self._call_namespace, _GETATTR: self._call_getattr,
                   _SETATTR: self._call_setattr}.get(kind)
        if handler is not None:
            return handler(node, kind)
        if kind.startswith("getter:"):
            key = self.fold(_argument(node, 0, None))
            self.sink_all(_arguments(node))
            return self.resolve(node, kind.removeprefix("getter:"), key, "indexa")
        self.escape(node.func, kind)
        self.sink_all(_arguments(node))
        return None

    def record_call(self, node: ast.Call, name: str) -> None:
        """Notes a call of a module-level function with constant string arguments."""
        found = self.m.definitions.get(name, [])
        if (len(found) != 1 or not isinstance(found[0], (ast.FunctionDef, ast.AsyncFunctionDef))
                or any(name in scope for scope in self.scopes)):
            return
        args = found[0].args
        positional = [a.arg for a in [*args.posonlyargs, *args.args]]
        by_keyword = {a.arg for a in [*args.args, *args.kwonlyargs]}
        constants: dict[str, str] = {}
        for parameter, value in zip(positional, node.args, strict=False):
            if isinstance(value, ast.Starred):
                break
            if (folded := self.fold(value)) is not None:
                constants[parameter] = folded
        for keyword in node.keywords:
            if keyword.arg in by_keyword and (folded := self.fold(keyword.value)) is not None:
                constants[keyword.arg] = folded
        if constants:
            self.calls.add((name, tuple(sorted(constants.items()))))

    def _call_import(self, node: ast.Call, kind: str) -> str | None:
        name = self.fold(_argument(node, 0, "name"))
        if name is not None and name.startswith("."):
            name = self.fold(_argument(node, 1, "package"))  # import_module(".nn", "torch")
        self.sink_all(_arguments(node))
        if name is None:
            self.note(node, "importa un módulo con un nombre calculado", ast.unparse(node.func)[:60])
            return None
        return self.module_kind(name)

    def _call_code(self, node: ast.Call, kind: str) -> str | None:
        code = self.fold(_argument(node, 0, "source"))
        self.sink_all(_arguments(node))
        if code is None:
            self.note(node, _ESCAPES[kind])
            return None
        # A constant string of code is read as part of this code, at this call's line.
        outer, self._anchor = self._anchor, self._anchor or node.lineno
        try:
            if kind == _EVAL:
                try:
                    return self.visit(ast.parse(code, mode="eval").body)
                except SyntaxError:
                    pass  # compile(..., "exec")
            self.sink_all(ast.parse(code).body)
        except (SyntaxError, ValueError):
            pass  # it fails when it runs too
        finally:
            self._anchor = outer
        return None

    def _call_namespace(self, node: ast.Call, kind: str) -> str | None:
        if not node.args and not node.keywords:
            return _NAMESPACE
        inner = self.visit(node.args[0]) if node.args else None
        self.sink_all(_arguments(node, 1))
        if inner is None or inner.startswith(("lib:", "module:")) or inner in _LABELS:
            return inner  # vars(sys)["modules"] is sys.modules; vars(self) is harmless
        self.escape(node.args[0], inner)
        return None

    def _call_getattr(self, node: ast.Call, kind: str) -> str | None:
        value = self.visit(node.args[0]) if node.args else None
        key = self.fold(_argument(node, 1, None))
        self.sink_all(_arguments(node, 1))
        if value is None:
            return None
        if value.startswith("getter:") or value in _CALLABLES:
            self.escape(node.args[0], value)
            return None
        return self.resolve(node, value, key, "usa getattr sobre")

    def _call_setattr(self, node: ast.Call, kind: str) -> None:
        value = self.visit(node.args[0]) if node.args else None
        self.sink_all(_arguments(node, 1))
        if value is None or value.startswith("lib:"):
            return
        if value.startswith("module:"):
            if isinstance(node.args[0], ast.Name) and node.args[0].id in self.m.imported | self.imported:
                self.note(node, f"cambia atributos de {node.args[0].id}, un módulo importado")
        else:
            self.escape(node.args[0], value)

    def _visit_Assign(self, node: ast.Assign) -> None:
        kind = self.visit(node.value)
        for target in node.targets:
            self.bind(target, kind, node.value, node)

    def _visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.sink(node.annotation)
        if node.value is not None:
            self.bind(node.target, self.visit(node.value), node.value, node)

    def _visit_NamedExpr(self, node: ast.NamedExpr) -> str | None:
        kind = self.visit(node.value)
        self.bind(node.target, kind, node.value, node)
        return kind

    def bind(self, target: ast.AST, kind: str | None, value: ast.AST, statement: ast.AST) -> None:
        """``target = value``, where ``value`` has ``kind``."""
        if isinstance(target, ast.Name):
            if kind is not None:
                self.env[target.id] = kind
            return
        if isinstance(target, ast.Subscript):
            base = self.visit(target.value)
            key = self.fold(target.slice)
            if base == _NAMESPACE and key is not None:
                self.stores[key] = statement
                if kind is not None:
                    self.env[key] = kind
                return
            self.sink(target.slice)
            self.stored_into(target, base)
        elif isinstance(target, ast.Attribute):
            self.stored_into(target, self.visit(target.value))
        else:  # tuples, lists, starred: their parts are not followed one by one
            for child in ast.iter_child_nodes(target):
                self.bind(child, None, value, statement)
        if kind is not None:
            self.escape(value, kind)

    def stored_into(self, target: ast.Attribute | ast.Subscript, base: str | None) -> None:
        """A store or ``del`` into an attribute or item of a value of kind ``base``."""
        if base is None or base.startswith("lib:"):
            return
        if base.startswith("module:"):
            root = target.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in self.m.imported | self.imported:
                self.note(target, f"cambia {ast.unparse(target)[:60]}, de un módulo importado")
        elif base == _MODULES:
            self.note(target, "cambia sys.modules")
        elif base == _NAMESPACE:
            self.note(target, "cambia globals()/vars()/locals()")
        else:
            self.escape(target.value, base)
