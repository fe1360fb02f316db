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
exec, eval/compile, ``globals()``...). A dangerous kind used in a way the rules of ``scan`` do
not follow (passed to a function, iterated, stored in an object) is undecidable. It is a check
of a course rule, not a sandbox: nothing that runs student code may rely on it.

The package reads in two layers: ``module`` walks the file's top level once (its definitions,
aliases and constants) and follows what each function reaches; ``scan`` reads one definition,
expression by expression, for the kind of each value. ``tables`` holds the kinds and what their
members are, ``syntax`` the helpers on the syntax tree, ``report`` the answer and its wording.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from grader.engine.static.module import _Analysis
from grader.engine.static.report import StaticReport

__all__ = ["StaticReport", "analyse", "forbidden_uses"]

_TOO_DEEP = "tiene código anidado demasiado hondo para leerlo"


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
