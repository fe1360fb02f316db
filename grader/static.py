"""Static checks of a student's source, done on the trusted side without running it.

``forbidden_uses`` answers: which of these functions (or the module-level helpers and classes they
reach) use a forbidden library? A TP's numpy parts must not use torch, tensorflow, jax, scipy or
scikit-learn; the file may still import torch at the top for its PyTorch part.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

_IMPORT_CALLS = {"__import__", "import_module"}


def _top(module: str) -> str:
    return module.split(".")[0]


def _module_aliases(tree: ast.Module, forbidden: set[str]) -> dict[str, str]:
    """Names bound at module level to a forbidden library (``nn`` -> ``torch``)."""
    aliases: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _top(alias.name) in forbidden:
                    aliases[alias.asname or _top(alias.name)] = _top(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _top(node.module) in forbidden:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = _top(node.module)
    return aliases


def _definitions(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level functions, classes and assignments by name (the last one wins, as in Python)."""
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
    return found


def _direct_uses(node: ast.AST, aliases: dict[str, str], forbidden: set[str]) -> tuple[set[str], set[str]]:
    """Forbidden libraries used directly in ``node``, and the plain names it reads."""
    used: set[str] = set()
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Import):
            used.update(_top(a.name) for a in child.names if _top(a.name) in forbidden)
        elif isinstance(child, ast.ImportFrom) and child.module and _top(child.module) in forbidden:
            used.add(_top(child.module))
        elif isinstance(child, ast.Name):
            names.add(child.id)
            if child.id in aliases:
                used.add(aliases[child.id])
        elif isinstance(child, ast.Call):
            func = child.func
            called = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if called in _IMPORT_CALLS and child.args and isinstance(child.args[0], ast.Constant):
                value = child.args[0].value
                if isinstance(value, str) and _top(value) in forbidden:
                    used.add(_top(value))
    return used, names


def forbidden_uses(source: str, functions: Iterable[str],
                   forbidden: Iterable[str]) -> dict[str, list[str]]:
    """Maps each function that (transitively) uses a forbidden library to those libraries.

    Functions not defined in ``source`` and sources that do not parse are left out: the
    checks report those problems themselves.
    """
    forbidden_set = set(forbidden)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    aliases = _module_aliases(tree, forbidden_set)
    definitions = _definitions(tree)
    result: dict[str, list[str]] = {}
    for name in functions:
        if name not in definitions:
            continue
        used: set[str] = set()
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen or current not in definitions:
                continue
            seen.add(current)
            direct, names = _direct_uses(definitions[current], aliases, forbidden_set)
            used |= direct
            pending.extend(n for n in names if n in definitions and n not in seen)
        if used:
            result[name] = sorted(used)
    return result
