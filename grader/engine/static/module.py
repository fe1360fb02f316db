"""The module-level walk: the file's definitions, aliases and constants, read once, and the
closure of each function over the helpers it reaches, which gives the report."""

from __future__ import annotations

import ast
import builtins

from grader.engine.static.report import StaticReport, _reason
from grader.engine.static.scan import _Scan
from grader.engine.static.syntax import _COMPOUND, _binding, _bound_names, _is_main_guard

_SPECIALIZATIONS = 200
"""Calls with constant arguments read per closure (a recursion that grows its argument stops)."""


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
