"""Exceptions raised by the grader: the tree lives in ``grader.runtime.errors``, because the
sandboxed worker raises some of them too (one class per error on both sides of the boundary)."""

from __future__ import annotations

from grader.runtime.errors import (
    ArchiveError,
    ClusterUnavailable,
    ConfigError,
    FormError,
    GraderError,
    ProtocolError,
    RosterError,
    SandboxUnavailable,
    StudentError,
    SubmissionError,
    UsageError,
    WorkerCrash,
    WorkerError,
    WorkerMemory,
    WorkerTimeout,
)


class MissingPackages(UsageError):
    """The machine running the checks lacks packages the TP needs: the student's environment,
    never the course's checks (issue 18)."""

    def __init__(self, tp: str, missing: list[str], install: str) -> None:
        self.missing = missing
        super().__init__(f"para comprobar {tp or 'este TP'} faltan estos paquetes de Python: "
                         f"{', '.join(missing)}. Instalalos con:\n\n    {install}\n")


__all__ = [
    "ArchiveError",
    "ClusterUnavailable",
    "ConfigError",
    "FormError",
    "GraderError",
    "MissingPackages",
    "ProtocolError",
    "RosterError",
    "SandboxUnavailable",
    "StudentError",
    "SubmissionError",
    "UsageError",
    "WorkerCrash",
    "WorkerError",
    "WorkerMemory",
    "WorkerTimeout",
]
