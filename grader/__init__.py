"""Autograder for the course "Aprendizaje Profundo" (FIUBA).

Student code runs only in a sandboxed worker process; the checks, the reference solutions and the
scores live in the trusted process, which receives nothing from the worker but validated data.
The command line (``grader check | grade | gradebook | release | selftest``) is the main interface;
this package exports the few names a program needs, and ``check`` for students' notebooks
(``import grader; grader.check("tp1")``, see ``grader.kernel``).
"""

from __future__ import annotations

__version__ = "0.1.0"

import sys
import types

from .kernel import check
from .results import Status, SubmissionResult
from .sandbox.base import Limits

__all__ = ["Limits", "Status", "SubmissionResult", "__version__", "check"]


class _Package(types.ModuleType):
    """``grader.check`` is the notebook function. Python sets a package's attribute to each
    submodule it imports, so importing the command's module (``grader/check.py``) would replace
    the function with that module: that one assignment is refused."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "check" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
