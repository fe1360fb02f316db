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

__all__ = [
    "ArchiveError",
    "ClusterUnavailable",
    "ConfigError",
    "FormError",
    "GraderError",
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
