"""The mutation operators of ``grader audit`` (issue 17): where in a function's body a mutant may
change something, and what each operator changes there.

``sites(function)`` lists the nodes of a function's body in source order (never its signature,
decorators, docstrings, strings, annotations or ``raise`` statements); ``mutations(site)`` gives,
for one node, each operator that applies and the node that would replace it. Building the mutated
module from that is ``grader.audit.mutate``'s job.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

OPERATORS = ("arith", "cmp", "neg", "augassign", "axis", "const", "index", "transpose", "reduce",
             "drop", "args", "unary", "bool", "return")
"""The mutation operators, in the order a function's mutants of one node are listed:

- ``arith``: a binary operator swapped (``+`` / ``-``, ``*`` / ``/``, ``//`` -> ``/``,
  ``**`` -> ``*``, ``@`` -> ``*``, ``%`` -> ``//``);
- ``cmp``: a comparison moved across its boundary (``>`` / ``>=``, ``<`` / ``<=``, ``==`` /
  ``!=``, ``is`` / ``is not``, ``in`` / ``not in``);
- ``neg``: a condition negated (``>`` -> ``<=``; ``if c`` -> ``if not c``; ``not c`` -> ``c``);
- ``augassign``: ``+=`` / ``-=``, ``*=`` / ``/=``;
- ``axis``: an ``axis=``/``dim=`` keyword to another axis or ``None``, ``keepdims`` flipped;
- ``const``: an integer ``c`` to ``c + 1`` and ``0``, a float to ``0`` and ``2 * c``, a zero to
  one (not in indices, which ``index`` shifts, nor in axes);
- ``index``: an integer subscript, a slice bound or an index variable shifted by one;
- ``transpose``: ``.T`` dropped, or added to a name multiplied with ``@``;
- ``reduce``: ``sum`` / ``mean``, ``max`` / ``min``, ``argmax`` / ``argmin``,
  ``maximum`` / ``minimum``;
- ``drop``: a term dropped (``a + b`` -> ``a``, ``b``; ``a - b`` -> ``a``);
- ``args``: two neighbouring positional arguments of a call swapped;
- ``unary``: a unary minus removed, or added to an assigned or returned value;
- ``bool``: ``and`` / ``or``;
- ``return``: two neighbouring values of a returned tuple swapped, or of a tuple inside it (a
  cache: ``return out, (x, W)`` -> ``return out, (W, x)``).
"""

Path = tuple[tuple[str, int | None], ...]
"""Where a node sits under its function: ``(field, index in that list or None)`` from the top."""


@dataclass(frozen=True)
class Site:
    """One node of a function's body, and where it sits."""

    node: ast.AST
    parent: ast.AST
    path: Path
    statement: Path
    """The innermost statement that holds the node (the node itself when it is one)."""
    keyword: str | None = None
    """The keyword argument the node is part of (``"axis"`` for the ``-1`` of ``axis=-1``)."""
    returned: bool = False
    """Whether the node is the returned value or an item of a returned tuple (at any depth:
    ``(x, W)`` in ``return out, (x, W)``)."""


_ARITH: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult, ast.MatMult: ast.Mult, ast.Mod: ast.FloorDiv}
_AUGASSIGN: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_NEGATION: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Lt: ast.GtE, ast.LtE: ast.Gt}
_REDUCTIONS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "amax": "amin",
               "amin": "amax", "argmax": "argmin", "argmin": "argmax", "maximum": "minimum",
               "minimum": "maximum"}
_AXIS_KEYWORDS = ("axis", "dim")
_KEEPDIMS_KEYWORDS = ("keepdims", "keepdim")
_NOT_NEGATED = {"zeros", "zeros_like", "ones", "ones_like", "empty", "empty_like", "arange",
                "default_rng", "permutation", "Generator", "manual_seed", "copy", "shape"}
"""Calls whose value a unary minus would only break or leave unchanged (``-np.zeros_like(w)``)."""


def _is_docstring(statement: ast.AST) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


_NOT_VISITED: dict[type[ast.AST], tuple[str, ...]] = {
    ast.FunctionDef: ("args", "decorator_list", "returns"),
    ast.Lambda: ("args",),
    ast.ClassDef: ("bases", "keywords", "decorator_list"),
    ast.AnnAssign: ("annotation",),
}
"""Fields never mutated: signatures (defaults and annotations), decorators, annotations."""


def sites(function: ast.FunctionDef) -> list[Site]:
    """The nodes of the function's body in source order, without docstrings, strings (f-strings
    included) and ``raise`` statements (only their message could change)."""
    found: list[Site] = []

    def visit(node: ast.AST, parent: ast.AST, path: Path, statement: Path,
              keyword: str | None, returned: bool) -> None:
        if isinstance(node, (ast.Raise, ast.JoinedStr)):
            return
        if isinstance(node, ast.stmt):
            statement = path
        returned = isinstance(parent, ast.Return) or (returned and isinstance(parent, ast.Tuple))
        found.append(Site(node, parent, path, statement, keyword, returned))
        if isinstance(node, ast.keyword):
            keyword = node.arg
        skipped = _NOT_VISITED.get(type(node), ())
        for field, value in ast.iter_fields(node):
            if field in skipped:
                continue
            if isinstance(value, list):
                for index, item in enumerate(value):
                    docstring = field == "body" and index == 0 and isinstance(
                        node, (ast.FunctionDef, ast.ClassDef)) and _is_docstring(item)
                    if isinstance(item, ast.AST) and not docstring:
                        visit(item, node, (*path, (field, index)), statement, keyword,
                              returned)
            elif isinstance(value, ast.AST):
                visit(value, node, (*path, (field, None)), statement, keyword, returned)

    for index, statement in enumerate(function.body):
        if not (index == 0 and _is_docstring(statement)):
            visit(statement, function, (("body", index),), (("body", index),), None, False)
    return found


def at(root: ast.AST, path: Path) -> ast.AST:
    """The node at ``path`` under ``root`` (a function, or a mutated copy of it)."""
    node = root
    for field, index in path:
        value = getattr(node, field)
        node = value if index is None else value[index]
    return node


# --- what: the operators ----------------------------------------------------------------------


def mutations(site: Site) -> Iterator[tuple[str, ast.AST]]:
    """``(operator, node that replaces site.node)`` for every mutation of this node."""
    for rule in _RULES:
        yield from rule(site)


def _with(node: ast.AST, **fields: object) -> ast.AST:
    new = copy.deepcopy(node)
    for field, value in fields.items():
        setattr(new, field, value)
    return new


def _binop(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if not isinstance(node, ast.BinOp):
        return
    swap = _ARITH.get(type(node.op))
    if swap is not None:
        yield "arith", _with(node, op=swap())
    if isinstance(node.op, ast.MatMult):
        for side in ("left", "right"):
            operand = getattr(node, side)
            if isinstance(operand, ast.Name):
                yield "transpose", _with(node, **{side: ast.Attribute(operand, "T", ast.Load())})
    if isinstance(node.op, (ast.Add, ast.Sub)):
        yield "drop", node.left
    if isinstance(node.op, ast.Add):
        yield "drop", node.right


def _compare(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if not isinstance(node, ast.Compare):
        return
    for index, op in enumerate(node.ops):
        for operator, table in (("cmp", _BOUNDARY), ("neg", _NEGATION)):
            swap = table.get(type(op))
            if swap is not None:
                ops = list(node.ops)
                ops[index] = swap()
                yield operator, _with(node, ops=ops)


def _condition(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node, parent = site.node, site.parent
    is_test = isinstance(parent, (ast.If, ast.While, ast.IfExp)) and node is parent.test
    if is_test and isinstance(node, ast.expr) and not isinstance(node, (ast.Compare, ast.UnaryOp)):
        yield "neg", ast.UnaryOp(ast.Not(), node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "neg", node.operand
    if isinstance(node, ast.BoolOp):
        yield "bool", _with(node, op=ast.Or() if isinstance(node.op, ast.And) else ast.And())


def _augassign(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if isinstance(node, ast.AugAssign) and type(node.op) in _AUGASSIGN:
        yield "augassign", _with(node, op=_AUGASSIGN[type(node.op)]())


def _keyword(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if not isinstance(node, ast.keyword):
        return
    value = node.value
    if node.arg in _AXIS_KEYWORDS:
        axis = _literal(value)
        if isinstance(axis, int):
            others: list[Any] = [None, 1 if axis == 0 else 0]
        elif isinstance(axis, tuple) and axis:
            others = [None, axis[:-1] if len(axis) > 1 else 0]
        elif axis is None and isinstance(value, ast.Constant):
            others = [0]
        else:
            others = []
        for other in others:
            yield "axis", _with(node, value=_constant(other))
    elif node.arg in _KEEPDIMS_KEYWORDS and isinstance(value, ast.Constant) and isinstance(
            value.value, bool):
        yield "axis", _with(node, value=ast.Constant(not value.value))


def _number(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if not isinstance(node, ast.Constant) or not _is_number(node) or _in_index(site):
        return
    if site.keyword in _AXIS_KEYWORDS:  # the axis operator changes axes
        return
    # Two values per literal keep the count down (a TP has a hundred literals): an integer is
    # off by one or zero, a float is zero or doubled; a literal 0 becomes 1 (or 1.0).
    c = node.value
    assert isinstance(c, (int, float))
    if c == 0:
        values: list[int | float] = [1]
    elif isinstance(c, int):
        values = [c + 1, 0]
    else:
        values = [0, c * 2]
    for value in values:
        yield "const", _constant(float(value) if isinstance(c, float) else int(value))


def _subscript(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if not isinstance(node, ast.Subscript):
        return
    index = node.slice
    if isinstance(index, ast.Tuple):
        for position, element in enumerate(index.elts):
            for shifted in _shifts(element, names=True):
                elts = list(index.elts)
                elts[position] = shifted
                yield "index", _with(node, slice=_with(index, elts=elts))
    else:
        for shifted in _shifts(index, names=False):
            yield "index", _with(node, slice=shifted)


def _attribute(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield "transpose", node.value


def _call(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if not isinstance(node, ast.Call):
        return
    if isinstance(node.func, ast.Attribute) and node.func.attr in _REDUCTIONS:
        yield "reduce", _with(node, func=_with(node.func, attr=_REDUCTIONS[node.func.attr]))
    if not any(isinstance(arg, ast.Starred) for arg in node.args):
        for left in range(len(node.args) - 1):
            args = list(node.args)
            args[left], args[left + 1] = args[left + 1], args[left]
            # A string literal is a key or a name (``setdefault("beta1", 0.9)``): no plausible slip.
            strings = any(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                          for arg in args[left:left + 2])
            if not strings and ast.dump(args[left]) != ast.dump(args[left + 1]):
                yield "args", _with(node, args=args)


def _unary(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and (
            site.keyword not in _AXIS_KEYWORDS):
        yield "unary", node.operand
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and not isinstance(
            node.targets[0], ast.Tuple) and _negatable(node.value):
        yield "unary", _with(node, value=ast.UnaryOp(ast.USub(), node.value))
    if isinstance(node, ast.Return) and node.value is not None:
        if isinstance(node.value, ast.Tuple):
            for position, element in enumerate(node.value.elts):
                if _negatable(element):
                    elts = list(node.value.elts)
                    elts[position] = ast.UnaryOp(ast.USub(), element)
                    yield "unary", _with(node, value=_with(node.value, elts=elts))
        elif _negatable(node.value):
            yield "unary", _with(node, value=ast.UnaryOp(ast.USub(), node.value))


def _return(site: Site) -> Iterator[tuple[str, ast.AST]]:
    node = site.node
    if isinstance(node, ast.Tuple) and site.returned:
        for left in range(len(node.elts) - 1):
            swapped = list(node.elts)
            swapped[left], swapped[left + 1] = swapped[left + 1], swapped[left]
            if ast.dump(swapped[left]) != ast.dump(swapped[left + 1]):
                yield "return", _with(node, elts=swapped)


_RULES: tuple[Callable[[Site], Iterator[tuple[str, ast.AST]]], ...] = (
    _binop, _compare, _condition, _augassign, _keyword, _number, _subscript, _attribute, _call,
    _unary, _return)


# --- helpers of the operators -----------------------------------------------------------------


def _in_index(site: Site) -> bool:
    """Whether the node is (part of) a subscript's index, which ``index`` shifts instead."""
    fields = [field for field, _ in site.path]
    while fields and fields[-1] == "operand":  # -1 is UnaryOp(USub, 1)
        fields.pop()
    if fields and fields[-1] == "elts":
        fields.pop()
    return bool(fields) and fields[-1] in ("slice", "lower", "upper", "step")


def _is_number(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _literal(node: ast.AST) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ...


def _constant(value: Any) -> ast.expr:
    """A literal node; negative numbers as ``-c``, so that ``ast.unparse`` keeps precedence."""
    if isinstance(value, tuple):
        return ast.Tuple([_constant(v) for v in value], ast.Load())
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _shifts(index: ast.expr, *, names: bool) -> Iterator[ast.expr]:
    """``index`` moved by one in each direction: an integer, each bound of a slice, and (in a
    multi-dimensional index, where it cannot be a dict key) a variable."""
    if isinstance(index, ast.Slice):
        for bound in ("lower", "upper"):
            value = getattr(index, bound)
            if value is not None:
                for shifted in _plus_minus_one(value):
                    yield _with(index, **{bound: shifted})  # type: ignore[misc]
    elif _integer(index) is not None or (names and isinstance(index, ast.Name)):
        yield from _plus_minus_one(index)


def _integer(node: ast.AST) -> int | None:
    value = _literal(node)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plus_minus_one(value: ast.expr) -> Iterator[ast.expr]:
    literal = _integer(value)
    for step in (1, -1):
        if literal is not None:
            yield _constant(literal + step)
        elif (isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub))
              and _integer(value.right) is not None):
            # Fold into the existing offset: ``i - 1`` becomes ``i - 2`` or ``i``, not ``i - 1 + 1``.
            sign = 1 if isinstance(value.op, ast.Add) else -1
            offset = sign * (_integer(value.right) or 0) + step
            if offset == 0:
                yield value.left
            else:
                op: ast.operator = ast.Add() if offset > 0 else ast.Sub()
                yield ast.BinOp(value.left, op, ast.Constant(abs(offset)))
        else:
            yield ast.BinOp(value, ast.Add() if step > 0 else ast.Sub(), ast.Constant(1))


def _negatable(value: ast.expr) -> bool:
    """Whether ``-value`` is a plausible sign slip: arithmetic, or a numpy/torch function or an
    array reduction; not names (often a dict or a tuple), literals, or calls that build zeros,
    ranges and generators."""
    if isinstance(value, ast.BinOp):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        base = value.func.value
        library = isinstance(base, ast.Name) and base.id in ("np", "torch")
        return (library or value.func.attr in _REDUCTIONS) and value.func.attr not in _NOT_NEGATED
    return False
