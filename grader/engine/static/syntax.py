"""Helpers on the syntax tree: which names a node binds, which are local to a scope, the
``__main__`` guard, and a call's arguments."""

from __future__ import annotations

import ast

_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
             ast.TryStar, ast.Match)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)


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


def _argument(call: ast.Call, index: int, keyword: str | None) -> ast.expr | None:
    if len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if keyword and k.arg == keyword), None)


def _arguments(call: ast.Call, skip: int = 0) -> list[ast.expr]:
    return [*call.args[skip:], *(k.value for k in call.keywords)]
