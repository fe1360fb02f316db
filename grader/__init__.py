"""Autograder for the course "Aprendizaje Profundo" (FIUBA).

Student code runs only in a sandboxed worker process; the checks, the reference solutions and the
scores live in the trusted process, which receives nothing from the worker but validated data.
The command line (``grader check | grade | gradebook | release | selftest``) is the main interface;
this package exports the few names a program needs.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .results import Status, SubmissionResult
from .sandbox.base import Limits

__all__ = ["Limits", "Status", "SubmissionResult", "__version__"]
