"""Prints the grader package's modules (lines each) and its import cycles.

Usage: python benchmarks/import_graph.py [--package grader] [--lazy]

An edge A -> B means module A imports B (``import grader.b``, ``from . import b``, ``from .b import
x``). By default only imports at module level count; ``--lazy`` adds the imports inside functions
(they still tie the modules together, only later). A cycle is a strongly connected set of two or
more modules. Issue 16 asks for none, and for the numbers before and after a redesign.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.Module, name: str, is_package: bool, modules: set[str], *,
             lazy: bool) -> set[str]:
    """The package's modules that ``name`` imports."""
    package = name if is_package else name.rpartition(".")[0]
    nodes = _walk(tree) if lazy else iter(tree.body)
    found: set[str] = set()
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(0, node.level - 1)):
                base = base.rpartition(".")[0]
            prefix = (f"{base}.{node.module}" if node.module else base) if node.level else (
                node.module or "")
            targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        elif lazy is False and isinstance(node, (ast.If, ast.Try)) and not _type_checking(node):
            # ``if TYPE_CHECKING:`` blocks and optional imports at module level still count.
            inner = ast.Module(body=list(ast.iter_child_nodes(node)), type_ignores=[])
            found |= imported(inner, name, is_package, modules, lazy=False)
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # A submodule always imports its parent packages first: that is no cycle.
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def _type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:``: imports for type hints only, never run."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(tree: ast.AST):
    """Every node, except inside ``if TYPE_CHECKING:`` blocks."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if not _type_checking(node):
            pending.extend(ast.iter_child_nodes(node))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(root: Path, *, lazy: bool) -> tuple[dict[str, set[str]], dict[str, int]]:
    """The package at ``root``: each module's imports of the package's modules, and its lines."""
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    names = {module_name(p, root): p for p in files}
    graph: dict[str, set[str]] = {}
    lines: dict[str, int] = {}
    for name, path in names.items():
        text = path.read_text(encoding="utf-8")
        lines[name] = text.count("\n")
        graph[name] = imported(ast.parse(text), name, path.name == "__init__.py", set(names),
                               lazy=lazy)
    return graph, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="grader")
    parser.add_argument("--lazy", action="store_true", help="count imports inside functions")
    args = parser.parse_args()
    graph, lines = package_graph(REPO / args.package, lazy=args.lazy)
    print(f"{'module':<40} {'lines':>6}")
    for name, count in lines.items():
        print(f"{name:<40} {count:>6}")
    packages = sorted({name.split(".")[1] for name in lines if name.count(".") >= 1})
    print(f"{len(lines)} modules, {sum(lines.values())} lines; top-level names under "
          f"{args.package}/: {len(packages)}")
    found = cycles(graph)
    kind = "module-level and lazy" if args.lazy else "module-level"
    print(f"import cycles ({kind} imports): {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    return 0


if __name__ == "__main__":
    sys.exit(main())
