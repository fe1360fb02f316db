"""Single-point mutants of a reference (grader.audit.mutate, issue 17), on a small synthetic module
that holds one site for every operator."""

from __future__ import annotations

import ast
import re

import pytest

from grader.audit.mutate import OPERATORS, PER_LINE, Mutant, mutants, sample

SOURCE = '''"""Module docstring."""

import numpy as np

LIMIT = 3  # module level: never mutated


def graded(x, w, b, items, flag=True):
    """Docstring: never mutated."""
    label: str = "name"
    y = x @ w + b
    z = np.sum(y, axis=0, keepdims=True)
    if y.shape[0] > 2 and flag:
        z = z - 1.5
    total = 0
    total += items[0]
    h = np.maximum(y.T, 0.0)
    if flag:
        raise ValueError(f"only the condition above may change, not this {label}")
    return z, h[:, 1:3]


def helper(x):
    return x + 1


class Model:
    """A graded class: every method is mutated."""

    def __init__(self, n):
        self.n = n * 2

    @staticmethod
    def forward(x, n):
        return -x[1] / n
'''

FUNCTIONS = {"graded": "exercise_one", "Model": "model"}


@pytest.fixture(scope="module")
def found() -> list[Mutant]:
    return mutants(SOURCE, FUNCTIONS)


def definition(source: str, function: str) -> ast.FunctionDef:
    """A top-level function (``"graded"``) or a method (``"Model.forward"``) of ``source``."""
    scope: list[ast.stmt] = ast.parse(source).body
    *owners, name = function.split(".")
    for owner in owners:
        scope = next(n for n in scope if isinstance(n, ast.ClassDef) and n.name == owner).body
    return next(n for n in scope if isinstance(n, ast.FunctionDef) and n.name == name)


def lines_of(function: str) -> range:
    """The reference's lines (1-based) of a function or method, decorators included."""
    node = definition(SOURCE, function)
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return range(start, (node.end_lineno or start) + 1)


def untouchable(node: ast.FunctionDef) -> list[str]:
    """What no operator may change: the signature, decorators, strings and annotations."""
    strings = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(
        n.value, str)]
    annotations = [ast.dump(n.annotation) for n in ast.walk(node) if isinstance(n, ast.AnnAssign)]
    raises = [ast.dump(n) for n in ast.walk(node) if isinstance(n, ast.Raise)]
    return [ast.dump(node.args), *map(ast.dump, node.decorator_list), *strings, *annotations,
            *raises]


def test_every_operator_has_a_mutant(found):
    assert {mutant.operator for mutant in found} == set(OPERATORS)


@pytest.mark.parametrize(("operator", "before", "after"), [
    ("arith", "y = x @ w + b", "y = x @ w - b"),
    ("arith", "y = x @ w + b", "y = x * w + b"),
    ("cmp", "if y.shape[0] > 2 and flag:", "if y.shape[0] >= 2 and flag:"),
    ("neg", "if y.shape[0] > 2 and flag:", "if y.shape[0] <= 2 and flag:"),
    ("neg", "if flag:", "if not flag:"),
    ("augassign", "total += items[0]", "total -= items[0]"),
    ("axis", "z = np.sum(y, axis=0, keepdims=True)", "z = np.sum(y, axis=None, keepdims=True)"),
    ("axis", "z = np.sum(y, axis=0, keepdims=True)", "z = np.sum(y, axis=1, keepdims=True)"),
    ("axis", "z = np.sum(y, axis=0, keepdims=True)", "z = np.sum(y, axis=0, keepdims=False)"),
    ("const", "z = z - 1.5", "z = z - 0.0"),
    ("const", "z = z - 1.5", "z = z - 3.0"),
    ("const", "total = 0", "total = 1"),
    ("index", "total += items[0]", "total += items[1]"),
    ("index", "total += items[0]", "total += items[-1]"),
    ("index", "return (z, h[:, 1:3])", "return (z, h[:, 2:3])"),
    ("index", "return (z, h[:, 1:3])", "return (z, h[:, 1:2])"),
    ("transpose", "h = np.maximum(y.T, 0.0)", "h = np.maximum(y, 0.0)"),
    ("transpose", "y = x @ w + b", "y = x.T @ w + b"),
    ("transpose", "y = x @ w + b", "y = x @ w.T + b"),
    ("reduce", "z = np.sum(y, axis=0, keepdims=True)", "z = np.mean(y, axis=0, keepdims=True)"),
    ("reduce", "h = np.maximum(y.T, 0.0)", "h = np.minimum(y.T, 0.0)"),
    ("drop", "y = x @ w + b", "y = x @ w"),
    ("drop", "y = x @ w + b", "y = b"),
    ("drop", "z = z - 1.5", "z = z"),
    ("args", "h = np.maximum(y.T, 0.0)", "h = np.maximum(0.0, y.T)"),
    ("unary", "y = x @ w + b", "y = -(x @ w + b)"),
    ("bool", "if y.shape[0] > 2 and flag:", "if y.shape[0] > 2 or flag:"),
    ("return", "return (z, h[:, 1:3])", "return (h[:, 1:3], z)"),
])
def test_each_operator_makes_its_change(found, operator, before, after):
    line = next(n for n, text in enumerate(SOURCE.splitlines(), 1) if before.split("(")[0] in text
                and "def " not in text)
    assert f"L{line} graded: {before}  ->  {after}" in [
        mutant.diff for mutant in found if mutant.operator == operator]


def test_return_swaps_reach_a_tuple_inside_the_returned_one():
    source = "def forward(x, W):\n    return x @ W, (x, W)\n"
    swaps = [m.diff for m in mutants(source, {"forward": "e"}) if m.operator == "return"]
    assert swaps == ["L2 forward: return (x @ W, (x, W))  ->  return ((x, W), x @ W)",
                     "L2 forward: return (x @ W, (x, W))  ->  return (x @ W, (W, x))"]


def test_methods_are_mutated_under_their_class_name_and_exercise(found):
    methods = {(m.function, m.exercise) for m in found if m.function.startswith("Model.")}
    assert methods == {("Model.__init__", "model"), ("Model.forward", "model")}
    assert "L35 Model.forward: return -x[1] / n  ->  return x[1] / n" in [m.diff for m in found]


def test_only_graded_bodies_change_never_signatures_docstrings_strings_annotations_or_raise(found):
    assert {m.function for m in found} == {"graded", "Model.__init__", "Model.forward"}
    for mutant in found:
        assert untouchable(definition(mutant.source, mutant.function)) == untouchable(
            definition(SOURCE, mutant.function)), mutant.id


def test_the_rest_of_the_file_stays_byte_identical_and_lines_do_not_move(found):
    original = SOURCE.splitlines(keepends=True)
    for mutant in found:
        changed = lines_of(mutant.function)
        mutated = mutant.source.splitlines(keepends=True)
        assert len(mutated) == len(original), mutant.id
        assert [line for n, line in enumerate(mutated, 1) if n not in changed] == [
            line for n, line in enumerate(original, 1) if n not in changed], mutant.id
        assert mutant.line in changed


def test_every_mutant_compiles_and_differs_from_the_reference_and_from_each_other(found):
    for mutant in found:
        compile(mutant.source, mutant.id, "exec")
    assert SOURCE not in {mutant.source for mutant in found}
    assert len({mutant.source for mutant in found}) == len(found)


def test_a_method_mutant_runs_with_its_class():
    (mutant,) = [m for m in mutants(SOURCE, FUNCTIONS)
                 if m.diff == "L35 Model.forward: return -x[1] / n  ->  return x[1] / n"]
    namespace: dict[str, object] = {}
    exec(compile(mutant.source, mutant.id, "exec"), namespace)
    assert namespace["Model"].forward([0.0, 6.0], 3) == 2.0  # type: ignore[attr-defined]


def test_ids_are_unique_short_and_filename_safe(found):
    ids = [mutant.id for mutant in found]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_.]+-L\d+-[a-z]+-\d+", i) and len(i) < 60 for i in ids)
    assert "graded-L13-cmp-1" in ids


def test_ids_are_stable_when_code_after_the_function_changes(found):
    more = mutants(SOURCE + "\n\ndef graded_later(x):\n    return x * 2\n",
                   {**FUNCTIONS, "graded_later": "exercise_two"})
    assert [m.id for m in found] == [m.id for m in more if m.function != "graded_later"]
    assert [m.id for m in mutants(SOURCE, FUNCTIONS)] == [m.id for m in found]


def test_at_most_per_line_mutants_of_one_operator_on_one_line():
    source = "def wide(x):\n    return x[0, 1, 2, 3, 4]\n"
    shifted = [m.diff for m in mutants(source, {"wide": "e"}) if m.operator == "index"]
    assert len(shifted) == PER_LINE
    assert shifted[0].endswith("return x[1, 1, 2, 3, 4]")  # first and last site both kept
    assert shifted[-1].endswith("return x[0, 1, 2, 3, 3]")


def test_sample_is_reproducible_by_seed(found):
    first = sample(found, seed=3, per_function=4)
    assert first == sample(found, seed=3, per_function=4)
    assert [m.id for m in first] != [m.id for m in sample(found, seed=4, per_function=4)]


def test_sample_keeps_at_most_per_function_in_file_order_mixing_operators(found):
    chosen = sample(found, seed=0, per_function=3)
    for function in ("graded", "Model.__init__", "Model.forward"):
        mine = [m for m in chosen if m.function == function]
        available = [m for m in found if m.function == function]
        assert len(mine) == min(3, len(available))
        assert len({m.operator for m in mine}) == min(3, len({m.operator for m in available}))
    assert chosen == [m for m in found if m in chosen]


def test_sample_without_a_limit_keeps_everything(found):
    assert sample(found, seed=0, per_function=None) == found
    assert sample(found, seed=0, per_function=0) == []
    with pytest.raises(ValueError, match="per_function"):
        sample(found, seed=0, per_function=-1)


HELPERS = '''
def _square(x):
    return x * x


def _unused(x):
    return x - 1


def _norm(x):
    return _square(x) + 1


def first(x):
    return _norm(x)


def second(x):
    return _square(x) - 2
'''


def test_a_helper_the_graded_functions_call_is_mutated_and_owned_by_their_exercises():
    found = mutants(HELPERS, {"first": "one", "second": "two"})
    owners = {m.function: m.exercise for m in found}
    assert owners["_square"] == "one,two"  # reached from first through _norm, and from second
    assert owners["_norm"] == "one"
    assert "_unused" not in owners
    assert any(m.function == "_square" and "return x * x  ->  return x / x" in m.diff for m in found)
