"""The result model: one JSON file per graded submission, schema-versioned, written atomically.

The gradebook and every report are derived from these files, so a batch that is interrupted
keeps everything already written, and a regrade replaces a file in one step.
"""

from __future__ import annotations

import enum
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import ConfigError

SCHEMA = "grader.result/1"


class Status(enum.StrEnum):
    """Outcome of one check."""

    PASS = "PASS"
    """The student's code did what the check expected."""
    PARTIAL = "PARTIAL"
    """A graded check (accuracy, error against a target) earned part of its points: ``credit``."""
    FAIL = "FAIL"
    """It returned something wrong (shape, dtype, value, structure) or broke a rule."""
    ERROR = "ERROR"
    """It raised an exception (including NotImplementedError and import failures)."""
    TIMEOUT = "TIMEOUT"
    """A call ran past its deadline, or the submission's whole time was spent."""
    CRASH = "CRASH"
    """The worker process died (``os._exit``, ``sys.exit``, a signal)."""
    MEMORY = "MEMORY"
    """The worker ran out of memory."""
    PROTOCOL = "PROTOCOL"
    """The worker sent something that is not allowed data."""


@dataclass
class CheckResult:
    id: str
    """``public::test_name`` or ``hidden::test_name``."""
    exercise: str
    visibility: str
    """``"public"`` or ``"hidden"``."""
    status: Status
    weight: float = 1.0
    message: str = ""
    """What was wrong, in Spanish, for the student."""
    output: str = ""
    """What student code printed during the check (capped)."""
    duration_s: float = 0.0
    credit: float = 1.0
    """Fraction of its share a PASS (1) or PARTIAL (between 0 and 1) check earns."""
    points: float = 0.0
    """Points earned; filled in by scoring."""
    max_points: float = 0.0


@dataclass
class ExerciseScore:
    name: str
    title: str
    points: float
    earned: float
    checks: int
    passed: int


@dataclass
class SubmissionResult:
    student: str
    tp: str
    submission_file: str
    submission_sha256: str
    grader_version: str
    fingerprint: str
    """Hash of everything that decides the grade besides the submission (checks, reference,
    course settings, grader version): a result is reused only while both hashes match."""
    checks: list[CheckResult]
    exercises: list[ExerciseScore]
    earned: float
    possible: float
    score: float
    load_error: str = ""
    notes: list[str] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    duration_s: float = 0.0
    submitted_at: str = ""
    """When the student handed it in (ISO 8601 with offset, from ``grader intake``'s manifest);
    empty when unknown. Files written before this field existed load with it empty."""
    review: list[str] = field(default_factory=list)
    """For staff only, never in the student's feedback: what the numpy-only static check could not
    decide (``exec``, a computed import...) and a person should look at (issue 15)."""
    fingerprint_parts: dict[str, str] = field(default_factory=dict)
    """What ``fingerprint`` was made of, one hash per part (``grader``, ``exercises``, ``secret``,
    ``course``, ``checks``, ``reference``: ``grader.engine.grade.FINGERPRINT_PARTS``), so that a
    regrade can say what changed (issue 20). Files written before this field existed load with it
    empty: their regrade says only that the grading setup changed."""
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for check in data["checks"]:
            check["status"] = Status(check["status"]).value
        return data

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "resultado") -> SubmissionResult:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: se esperaba un objeto JSON; llegó {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ConfigError(f"{source}: esquema {data.get('schema')!r}; se esperaba {SCHEMA!r}")
        try:
            checks = [CheckResult(**{**c, "status": Status(c["status"])}) for c in data["checks"]]
            exercises = [ExerciseScore(**e) for e in data["exercises"]]
            rest = {k: v for k, v in data.items() if k not in ("checks", "exercises")}
            result = cls(checks=checks, exercises=exercises, **rest)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: resultado mal formado ({type(exc).__name__}: {exc})") from None
        for key in ("score", "earned", "possible"):
            if not isinstance(getattr(result, key), (int, float)):
                raise ConfigError(f"{source}: {key} debe ser un número")
        return result


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save(result: SubmissionResult, path: Path) -> None:
    write_atomic(path, json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")


def load(path: Path) -> SubmissionResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: no se puede leer el resultado ({exc})") from None
    return SubmissionResult.from_dict(data, source=str(path))
