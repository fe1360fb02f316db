"""The expression visitor: one reading of a definition, in source order, that gives each value
its kind, folds constant strings, resolves aliases and records what it uses and what it cannot
settle."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING

from grader.engine.static.syntax import _argument, _arguments, _scope_locals, _top
from grader.engine.static.tables import (
    _ANY_MEMBER,
    _BUILTIN_NAMES,
    _CALLABLES,
    _ESCAPES,
    _EVAL,
    _EXEC,
    _GETATTR,
    _IMPORT,
    _IMPORTLIB,
    _LABELS,
    _MEMBERS,
    _MODULES,
    _NAMESPACE,
    _NAMESPACE_FN,
    _SETATTR,
    _SPECIAL_MODULES,
)

if TYPE_CHECKING:
    from grader.engine.static.module import _Analysis


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
