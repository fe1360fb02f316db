"""Single-point mutants of a reference solution (issue 17).

Each mutant changes one AST node inside the body of one graded function, or of one method of a
graded class: an operator, a comparison, an axis, a constant, an index, a transpose, a reduction,
a term, the order of two arguments or of two returned values. Only that function is regenerated
(``ast.unparse``) and spliced back over its own lines, padded with blank lines to its original
length, so the rest of the file is byte-identical and every line number after it still points
at the same code.

Usage::

    found = mutants(source, {"relu_backward": "relu", "MLP": "mlp"})
    chosen = sample(found, seed=0, per_function=5)
"""

from __future__ import annotations

import ast
import copy
import random
import textwrap
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from grader.audit.operators import OPERATORS, Path, Site, at, mutations, sites

__all__ = ["OPERATORS", "PER_LINE", "Mutant", "mutants", "sample"]

T = TypeVar("T")

PER_LINE = 3
"""The most mutants of one operator on one line (spread over that line's candidates): a long
index expression or a layer's literal sizes would otherwise fill the list with near-copies."""


@dataclass(frozen=True)
class Mutant:
    """One mutant of the reference: the whole module with one change."""

    id: str
    """Stable, short, filename-safe and unique: ``relu_backward-L60-cmp-1`` (function, line of the
    change in the reference, operator, rank among that function's mutants of that line and
    operator)."""
    function: str
    """The graded name it lives in: ``"relu_backward"``, or ``"MLP.loss"`` for a method."""
    exercise: str
    """The exercise that owns that function (from the mapping given to ``mutants``)."""
    operator: str
    """One of ``OPERATORS`` (``grader.audit.operators`` says what each changes)."""
    line: int
    """The line of the change in the reference file."""
    diff: str
    """One line for people: ``L60 relu_backward: return np.where(x > 0, dout, 0.0)  ->
    return np.where(x >= 0, dout, 0.0)``."""
    source: str
    """The whole mutated module's source."""


def mutants(source: str, functions: Mapping[str, str]) -> list[Mutant]:
    """The single-point mutants of the graded functions of ``source``, in a deterministic order.

    Args:
        source: the reference module's text.
        functions: graded name (a top-level function or class) -> the exercise that owns it; a
            class stands for all its methods. Names not defined in ``source`` are ignored.

    Returns:
        The mutants in file order (function by function, node by node), without duplicates,
        no-ops or changes that do not compile; at most ``PER_LINE`` of one operator on one line.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    # (function, line, operator) -> [(position in file order, mutant without its id)]
    groups: dict[tuple[str, int, str], list[tuple[int, Mutant]]] = defaultdict(list)
    seen: set[str] = set()
    for name, function, exercise in _graded(tree, functions):
        original = ast.unparse(function)
        for site in sites(function):
            for operator, replacement in mutations(site):
                mutated = _replaced(function, site.path, replacement)
                text = ast.unparse(mutated)
                if text == original or text in seen:
                    continue
                module = _splice(lines, function, text)
                try:
                    compile(module, "<mutant>", "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    continue
                seen.add(text)
                line = _line(function, site)
                groups[name, line, operator].append((len(seen), Mutant(
                    id="", function=name, exercise=exercise, operator=operator, line=line,
                    diff=_diff(name, line, function, mutated, site), source=module)))
    found: list[tuple[int, Mutant]] = []
    for (name, line, operator), group in groups.items():
        for rank, (position, mutant) in enumerate(_spread(group, PER_LINE), start=1):
            found.append((position, replace(mutant, id=f"{name}-L{line}-{operator}-{rank}")))
    return [mutant for _, mutant in sorted(found, key=lambda pair: pair[0])]


def _line(function: ast.FunctionDef, site: Site) -> int:
    """The change's line: its node's, or (for nodes without one, like operators) its statement's."""
    for node in (site.node, at(function, site.statement)):
        line = getattr(node, "lineno", None)
        if isinstance(line, int):
            return line
    return function.lineno


def _spread(group: list[T], most: int) -> list[T]:
    """At most ``most`` members of ``group``, spread evenly over it (first and last included)."""
    if len(group) <= most:
        return group
    if most <= 1:
        return group[:most]
    return [group[round(i * (len(group) - 1) / (most - 1))] for i in range(most)]


def sample(found: list[Mutant], *, seed: int, per_function: int | None) -> list[Mutant]:
    """A reproducible subset: at most ``per_function`` mutants of each function.

    Within a function the choice goes round the operators (in an order drawn from ``seed``), so a
    small sample still mixes kinds of bugs. The result keeps the order of ``found``.

    Args:
        found: mutants from ``mutants``.
        seed: the same seed and mutants give the same subset.
        per_function: the most per function; ``None`` keeps them all.
    """
    if per_function is None:
        return list(found)
    if per_function < 0:
        raise ValueError(f"per_function must be >= 0 or None (got {per_function})")
    by_function: dict[str, dict[str, list[Mutant]]] = defaultdict(lambda: defaultdict(list))
    for mutant in found:
        by_function[mutant.function][mutant.operator].append(mutant)
    chosen: set[str] = set()
    for function, by_operator in by_function.items():
        # A string seed hashes with SHA-512 (not PYTHONHASHSEED): the same in every process.
        rng = random.Random(f"{seed}:{function}")
        queues = [rng.sample(group, len(group)) for _, group in sorted(by_operator.items())]
        rng.shuffle(queues)
        taken = 0
        while taken < per_function and any(queues):
            for queue in queues:
                if queue and taken < per_function:
                    chosen.add(queue.pop(0).id)
                    taken += 1
    return [mutant for mutant in found if mutant.id in chosen]


# --- where: the graded functions ---------------------------------------------------


def _graded(tree: ast.Module,
            functions: Mapping[str, str]) -> Iterator[tuple[str, ast.FunctionDef, str]]:
    """The graded functions and methods, then the module's own helpers they call.

    A helper (``_sigmoid``, ``_windows``) is part of every graded function that calls it, directly
    or through another helper: its owner is those functions' exercises, comma-separated, and a
    mutant of it is killed on its own exercise when any of them loses points.
    """
    helpers = {node.name: node for node in tree.body
               if isinstance(node, ast.FunctionDef) and node.name not in functions}
    owners: dict[str, set[str]] = defaultdict(set)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            yield node.name, node, functions[node.name]
            _claim(node, functions[node.name], helpers, owners)
        elif isinstance(node, ast.ClassDef) and node.name in functions:
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield f"{node.name}.{item.name}", item, functions[node.name]
                    _claim(item, functions[node.name], helpers, owners)
    for name, node in helpers.items():
        if owners[name]:
            yield name, node, ",".join(sorted(owners[name]))


def _claim(function: ast.FunctionDef, exercise: str, helpers: Mapping[str, ast.FunctionDef],
           owners: dict[str, set[str]]) -> None:
    """Marks ``exercise`` as an owner of every helper ``function`` reaches."""
    stack = [function]
    while stack:
        for node in ast.walk(stack.pop()):
            if isinstance(node, ast.Name) and node.id in helpers and exercise not in owners[node.id]:
                owners[node.id].add(exercise)
                stack.append(helpers[node.id])


def _replaced(function: ast.FunctionDef, path: Path, replacement: ast.AST) -> ast.FunctionDef:
    mutated = copy.deepcopy(function)
    parent = at(mutated, path[:-1])
    field, index = path[-1]
    if index is None:
        setattr(parent, field, copy.deepcopy(replacement))
    else:
        getattr(parent, field)[index] = copy.deepcopy(replacement)
    return mutated


# --- how: splicing and describing -------------------------------------------------------------


def _splice(lines: list[str], function: ast.FunctionDef, text: str) -> str:
    """The module with ``function``'s lines replaced by ``text``, indented like the original and
    padded with blank lines to the same length (line numbers after it do not move)."""
    start = min([function.lineno] + [d.lineno for d in function.decorator_list]) - 1
    end = function.end_lineno or function.lineno
    new = textwrap.indent(text, " " * function.col_offset).split("\n")
    new += [""] * (end - start - len(new))
    ending = "\n" if lines[end - 1].endswith("\n") else ""
    return "".join(lines[:start]) + "\n".join(new) + ending + "".join(lines[end:])


def _diff(name: str, line: int, original: ast.FunctionDef, mutated: ast.FunctionDef,
          site: Site) -> str:
    """``L42 f: before  ->  after``, showing the statement (a compound one's header), or when
    that is too long the largest expression around the change that is short enough."""
    for depth in range(len(site.statement), len(site.path) + 1):
        before, after = _shown(original, site.path[:depth]), _shown(mutated, site.path[:depth])
        if len(before) <= _DIFF_WIDTH or depth == len(site.path):
            return f"L{line} {name}: {before}  ->  {after}"
    raise AssertionError("unreachable: the last depth always returns")


_DIFF_WIDTH = 90


def _shown(function: ast.FunctionDef, path: Path) -> str:
    node = at(function, path)
    text = ast.unparse(node)
    return text.split("\n")[0] if isinstance(node, ast.stmt) else text

