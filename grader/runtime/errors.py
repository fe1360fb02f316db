"""Exceptions raised by the grader.

One root, subclassing the nearest builtin where one fits::

    GraderError (Exception)                 anything the grader raises on purpose
    ├── ConfigError (ValueError)            a course or assignment file is invalid (names the key)
    │   └── RosterError                     the roster misses a column or repeats a student
    ├── SubmissionError (ValueError)        a submission cannot be read or converted
    │   ├── ArchiveError                    the uploads' zip is refused whole (unsafe, not a zip)
    │   └── FormError                       the form's responses export cannot be read
    ├── UsageError                          bad command-line input; carries exit_code 2
    ├── SandboxUnavailable (RuntimeError)   the requested isolation is not installed here
    │   └── ClusterUnavailable              the Dask cluster is unreachable or cannot grade
    └── WorkerError (RuntimeError)          the sandboxed worker failed during a call
        ├── WorkerTimeout                   a call ran past its deadline          -> TIMEOUT
        ├── WorkerCrash                     the worker process died               -> CRASH
        ├── WorkerMemory                    the worker ran out of memory          -> MEMORY
        └── ProtocolError                   the worker sent something not allowed -> PROTOCOL

    StudentError (Exception)                student code raised an exception      -> ERROR

``StudentError`` is deliberately *not* a ``GraderError``: it is the student's exception, carried back
from the worker as data (type name, message and a traceback of the student's frames).
"""

from __future__ import annotations


class GraderError(Exception):
    """Root of every exception the grader raises on purpose."""

    exit_code = 1


class ConfigError(GraderError, ValueError):
    """A course or assignment file is invalid."""


class SubmissionError(GraderError, ValueError):
    """A submission cannot be read, found or converted to a module."""


class RosterError(ConfigError):
    """The roster file is missing a column, or repeats a student."""


class ArchiveError(SubmissionError):
    """The uploads cannot be used at all (not a zip, or a zip refused for safety): nothing is
    extracted and nothing is graded."""


class FormError(SubmissionError):
    """The responses export cannot be read: a missing column, a timestamp that is not one."""


class UsageError(GraderError):
    """Bad command-line input."""

    exit_code = 2


class SandboxUnavailable(GraderError, RuntimeError):
    """The requested isolation (bubblewrap, Docker) is not available on this machine."""


class ClusterUnavailable(SandboxUnavailable):
    """The Dask cluster cannot be reached, or none of its workers can grade."""


class WorkerError(GraderError, RuntimeError):
    """The worker failed during a call; the test it happened in gets this error's status."""

    status = "CRASH"


class WorkerTimeout(WorkerError):
    status = "TIMEOUT"


class WorkerCrash(WorkerError):
    status = "CRASH"


class WorkerMemory(WorkerError):
    status = "MEMORY"


class ProtocolError(WorkerError):
    status = "PROTOCOL"


class StudentError(Exception):
    """An exception raised by student code, described by data sent from the worker.

    Attributes:
        type_name: the exception's class name in the worker (for example ``"ValueError"``).
        message: ``str(exception)``, capped.
        student_traceback: the traceback restricted to the student's own frames.
    """

    def __init__(self, type_name: str, message: str, student_traceback: str = "") -> None:
        self.type_name = type_name
        self.message = message
        self.student_traceback = student_traceback
        super().__init__(f"{type_name}: {message}" if message else type_name)
