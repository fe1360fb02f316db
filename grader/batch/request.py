"""The typed data of a batch: what a trusted child is asked to grade (``GradeRequest``), what
every submission of a batch is graded with (``BatchJob``), what the batch reports as each one
ends (``BatchEvent``), and the one way a batch takes a child's result (``accept``): local and
cluster batches alike, so a result is written only when it is valid and this very submission's.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from grader import results
from grader.course import Course
from grader.course.limits import Limits
from grader.errors import ConfigError, GraderError
from grader.output import html, markdown
from grader.results import SubmissionResult
from grader.submissions import Submission, safe_name

MAX_RESULT_MB = 64
"""Largest result text accepted from a trusted child (its outputs are already capped by the
harness)."""


@dataclass(frozen=True)
class BatchJob:
    """What every pending submission of a batch is graded with, wherever it runs."""

    course_file: Path
    course: Course
    tp: str
    out: Path
    backend: str
    limits: Limits
    fingerprint: str
    """The grading fingerprint on this machine: a result from elsewhere must carry it."""
    gpus: str = "none"
    image: str | None = None
    exercises: frozenset[str] = frozenset()
    """Grade only these exercises (``grader audit``); empty: all."""

    def result_path(self, student: str) -> Path:
        return result_path(self.out, self.tp, student)

    @property
    def logs(self) -> Path:
        """The folder of staff's logs (``log_path``)."""
        return self.out / self.tp / "logs"

    def log_path(self, student: str) -> Path:
        """Staff's log of one submission: what its trusted child printed."""
        return self.logs / f"{safe_name(student)}.log"

    def staging_path(self, student: str) -> Path:
        """Where a local trusted child writes its result for ``accept`` to check (a leftover of a
        killed batch is removed with the other ``.*.tmp`` files when the next batch starts)."""
        return self.out / self.tp / f".{safe_name(student)}.child.tmp"


@dataclass
class BatchEvent:
    kind: str
    """``reused``, ``graded``, ``failed`` (the grader could not produce a result), ``skipped``."""
    student: str
    result: SubmissionResult | None = None
    message: str = ""


@dataclass
class BatchSummary:
    total: int = 0
    graded: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    cores: int = 1
    peak_load: float = 0.0
    """The host's highest one-minute load average seen while grading (``os.getloadavg``)."""
    changes: int = 0
    """Students regraded from an earlier result (stale, or ``--force``)."""
    changes_file: Path | None = None
    """``OUT/TP/cambios.md`` when this batch wrote it (``changes`` > 0)."""

    @property
    def oversubscribed(self) -> bool:
        """The host ran far more than it has cores: grades do not change (time limits are CPU
        time), but wall-clock TIMEOUTs of this batch may come from it."""
        return self.peak_load > 1.5 * self.cores


def result_path(out: Path, tp: str, student: str) -> Path:
    return out / tp / f"{safe_name(student)}.json"


@dataclass(frozen=True)
class GradeRequest:
    """What a trusted child grades: one submission of a batch, on this machine or on a cluster
    worker (which replaces the paths with its own copies). It crosses processes as a JSON object
    (``to_dict``/``from_dict``), never as a pickle."""

    course: str
    """Path of ``course.toml``."""
    tp: str
    file: str
    """Path of the submission."""
    student: str
    out: str
    """Path where the child writes the result's JSON (``accept`` checks it and writes the
    result files)."""
    backend: str
    backend_options: dict[str, Any]
    """The backend registry's options (``grader.sandbox.registry``): the job slot, and docker's
    GPUs and image."""
    limits: dict[str, Any]
    """``Limits`` as a mapping."""
    notes: tuple[str, ...] = ()
    submitted_at: str = ""
    exercises: tuple[str, ...] = ()
    """Grade only these exercises; empty: all."""

    @classmethod
    def for_submission(cls, job: BatchJob, submission: Submission, *, slot: int = 0,
                       out: Path | None = None) -> GradeRequest:
        """The request for one submission of ``job`` in job slot ``slot``; the child writes its
        result to ``out`` (by default the job's staging path)."""
        return cls(
            course=str(job.course_file), tp=job.tp, file=str(submission.path),
            student=submission.student, out=str(out or job.staging_path(submission.student)),
            backend=job.backend, backend_options=_backend_options(job, slot),
            limits=job.limits.__dict__, notes=tuple(submission.notes),
            submitted_at=submission.submitted_at, exercises=tuple(sorted(job.exercises)))

    @classmethod
    def priming(cls, job: BatchJob, *, slot: int = 0) -> GradeRequest:
        """What a warm child of job slot ``slot`` gets ready for before its first submission of
        ``job`` (``grader.batch.warm.WarmChild.prime``): the same course, TP, sandbox and limits
        as ``for_submission``, and no submission (``file``, ``student`` and ``out`` empty)."""
        return cls(course=str(job.course_file), tp=job.tp, file="", student="", out="",
                   backend=job.backend, backend_options=_backend_options(job, slot),
                   limits=job.limits.__dict__, exercises=tuple(sorted(job.exercises)))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": list(self.notes), "exercises": list(self.exercises)}

    @classmethod
    def from_dict(cls, data: Any) -> GradeRequest:
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not {f.name for f in fields(cls)
                                              if f.default is MISSING} <= set(data):
            raise ConfigError(f"pedido de calificación mal formado: se esperaban las claves "
                              f"{sorted(names)}; llegó {data!r:.300}")
        exercises = data.get("exercises", [])
        if not isinstance(exercises, list) or not all(isinstance(e, str) for e in exercises):
            raise ConfigError(f"pedido de calificación mal formado: 'exercises' debe ser una "
                              f"lista de nombres; llegó {exercises!r:.200}")
        return cls(**{**{k: v for k, v in data.items() if k in names},
                      "notes": tuple(data.get("notes", ())), "exercises": tuple(exercises)})


def _backend_options(job: BatchJob, slot: int) -> dict[str, Any]:
    """The backend registry's options for job slot ``slot`` (``grader.sandbox.registry``)."""
    if job.backend == "docker":
        return {"gpus": job.gpus, "image": job.image, "slot": slot}
    return {"gpus": job.gpus, "slot": slot} if job.backend == "subprocess" else {}


def mismatch(job: BatchJob, student: str, sha256: str, result: SubmissionResult, *,
             source: str) -> str:
    """Why ``result`` cannot be ``student``'s result of this batch (another student, TP,
    submission or grading setup), in Spanish; empty when it can."""
    expected = {"student": student, "tp": job.tp, "submission_sha256": sha256,
                "fingerprint": job.fingerprint}
    for key, value in expected.items():
        if getattr(result, key) != value:
            return (f"{source} devolvió un resultado con {key} {getattr(result, key)!r}; se "
                    f"esperaba {value!r} (¿otro código del calificador, o cambió el curso o la "
                    "entrega durante el lote?)")
    return ""


def accept(job: BatchJob, student: str, sha256: str, text: str, *, source: str) -> BatchEvent:
    """The one way a batch takes a trusted child's result (``text``, its JSON): when it is a
    valid result of this very submission and grading setup, it is written with its reports and
    becomes a ``graded`` event; otherwise nothing is written and the event says why."""
    def failed(message: str) -> BatchEvent:
        return BatchEvent("failed", student, message=message)

    if len(text) > MAX_RESULT_MB * 1024 * 1024:
        return failed(f"{source} devolvió un resultado de {len(text) // 2**20} MB; se esperaban "
                      f"hasta {MAX_RESULT_MB} MB")
    try:
        result = SubmissionResult.from_dict(json.loads(text),
                                            source=f"{source}: resultado de {student}")
    except json.JSONDecodeError as exc:
        return failed(f"{source}: resultado de {student}: JSON inválido ({exc})")
    except GraderError as exc:
        return failed(str(exc))
    problem = mismatch(job, student, sha256, result, source=source)
    if problem:
        return failed(problem)
    write_result(result, job.result_path(student))
    return BatchEvent("graded", student, result)


def write_result(result: SubmissionResult, path: Path) -> None:
    """Writes ``result`` to ``path`` and its reports (``.md``, ``.html``) beside it, each file
    atomically."""
    # The reports first: a result file on disk always has its reports beside it.
    write_reports(result, path)
    results.save(result, path)


def write_reports(result: SubmissionResult, path: Path, *, missing_only: bool = False) -> None:
    """The student's feedback reports beside ``path``: ``.md`` and ``.html``."""
    for suffix, render in ((".md", markdown.markdown), (".html", html.html_report)):
        target = path.with_suffix(suffix)
        if not (missing_only and target.is_file()):
            results.write_atomic(target, render(result))
