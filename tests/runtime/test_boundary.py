"""The trust boundary is a folder: ``grader/runtime/`` is all the grader code a sandbox gets, and
it imports nothing of the trusted side (one stray import there would break every sandboxed run,
or carry trusted code into the sandbox)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from grader.sandbox.base import runtime_dir, runtime_sources

RUNTIME = Path(__file__).resolve().parents[2] / "grader" / "runtime"
THIRD_PARTY = {"numpy", "msgpack"}
ONLY_INSIDE_FUNCTIONS = {"torch"}
"""Imported only where a tensor crosses or a TP preloads it, never when the worker starts."""


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node, node.module or "", node.level))
    return found


def test_the_runtime_imports_only_itself_the_standard_library_numpy_and_msgpack():
    for path in sorted(RUNTIME.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node, name, level in _imports(tree):
            top = name.split(".")[0]
            if level:
                assert level == 1, f"{path.name}: relative import above the runtime: {name}"
            elif top == "__future__" or top in sys.stdlib_module_names or top in THIRD_PARTY:
                pass
            else:
                assert top in ONLY_INSIDE_FUNCTIONS and id(node) not in top_level, (
                    f"{path.name} imports {name!r}: the sandbox has only the runtime, the standard "
                    "library, numpy and msgpack")


def test_the_sandbox_gets_exactly_the_runtime_folder():
    expected = {path.name: path.read_bytes() for path in RUNTIME.glob("*.py")}
    assert runtime_sources() == expected
    copied = runtime_dir() / "_graderrt"
    assert {p.name: p.read_bytes() for p in copied.iterdir()} == expected


def test_every_op_is_defined_once_and_answered_by_the_worker():
    from grader.runtime import messages
    from grader.runtime.worker import Worker

    answered = {name[4:] for name in vars(Worker) if name.startswith("_op_")}
    assert answered == set(messages.OPS)
