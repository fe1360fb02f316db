"""Autograder for the course "Aprendizaje Profundo" (FIUBA).

Student code runs only in a sandboxed worker process; the checks, the reference solutions and the
scores live in the trusted process, which receives nothing from the worker but validated data.
The command line (``grader check | grade | gradebook | release | selftest``) is the main interface;
this package exports the few names a program needs, and ``check`` for students' notebooks
(``import grader; grader.check("tp1")``, see ``grader.student.kernel``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from grader.course.limits import Limits
from grader.results import Status, SubmissionResult
from grader.student.kernel import check

__all__ = ["Limits", "Status", "SubmissionResult", "__version__", "check"]
