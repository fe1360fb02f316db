"""Grading one submission (in a trusted child process) and whole batches (resumable, parallel).

``grade_submission`` runs the public and hidden checks of one TP against one student file and
returns a ``SubmissionResult``. ``grade_batch`` runs it for every submission of a folder, each in
its own trusted child process (``python -m grader.grading``), ``jobs`` at a time, writing each
result file atomically the moment it is done. A result is reused when both the submission's hash
and the grading fingerprint (checks, reference, course settings, grader version) still match,
so rerunning the same command after an interruption grades only what is missing or changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, report, results, scoring
from .course import Course, TPEntry, load_assignment, load_course
from .errors import ConfigError, SubmissionError, UsageError
from .harness import run_on_module
from .reference import load_reference
from .results import SubmissionResult
from .sandbox.base import Limits, die_with_parent
from .submissions import Submission, discover, module_source, safe_name

BACKENDS = ("subprocess", "docker", "inprocess")
NO_ISOLATION = ("bubblewrap no está instalado: el código de los estudiantes corre SIN aislamiento "
                "(solo límites de recursos). Instalá 'bubblewrap' para calificar de verdad.")


def make_backend(name: str, *, gpus: str = "none", image: str | None = None,
                 slot: int = 0) -> Any:
    """A sandbox backend by name; ``gpus``, ``image`` and ``slot`` apply to docker only."""
    if name == "subprocess":
        from .sandbox.subprocess import SubprocessBackend

        if gpus != "none":
            raise UsageError("--gpus solo funciona con --backend docker")
        return SubprocessBackend()
    if name == "docker":
        from .sandbox.docker import DockerBackend

        return DockerBackend(gpus=gpus, image=image, slot=slot)
    raise UsageError(f"backend desconocido {name!r}; los disponibles son {', '.join(BACKENDS)}")


def fingerprint(course: Course, entry: TPEntry) -> str:
    """Hash of everything besides the submission that decides a grade."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(course.secret_digest().encode())
    digest.update((course.root / "course.toml").read_bytes()
                  if (course.root / "course.toml").is_file() else b"")
    for folder in (entry.assignment, entry.reference):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _prepared_module(path: Path, module: str, workdir: Path) -> Path:
    """Writes the submission as ``WORKDIR/MODULE.py`` (notebooks converted)."""
    target = workdir / f"{module}.py"
    target.write_text(module_source(path), encoding="utf-8")
    return target


def grade_submission(course: Course, tp: str, path: Path, *, student: str,
                     backend: str = "subprocess", limits: Limits | None = None,
                     notes: tuple[str, ...] = (), backend_options: dict[str, Any] | None = None,
                     ) -> SubmissionResult:
    """Grades one file with the TP's public and hidden checks. Runs student code only in the
    sandbox (never in this process, unless ``backend="inprocess"``)."""
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if entry.reference is None:
        raise ConfigError(f"el TP {tp} no tiene 'reference' en course.toml")
    reference = load_reference(entry.reference, assignment.module)
    limits = limits or course.limits_for(assignment)
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    checks: list[results.CheckResult] = []
    load_error = ""
    environment: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="grader-sub-") as tmp:
        try:
            module_file = _prepared_module(path, assignment.module, Path(tmp))
        except SubmissionError as exc:
            load_error = str(exc)
        else:
            run = run_on_module(
                assignment, module_file, reference,
                [*assignment.public_checks, *assignment.hidden_checks],
                backend=None if backend == "inprocess" else make_backend(
                    backend, **(backend_options or {})), limits=limits,
                seed_key=course.name, hidden_seed_key=course.hidden_seed_key(student))
            checks, load_error, environment = run.checks, run.load_error, run.environment
    exercises = scoring.score_checks(checks, assignment.exercises)
    earned, possible, score = scoring.tp_score(exercises, scale_max=course.scale_max,
                                               decimals=course.decimals)
    return SubmissionResult(
        student=student, tp=tp, submission_file=path.name,
        submission_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        grader_version=__version__, fingerprint=fingerprint(course, entry), checks=checks,
        exercises=exercises, earned=earned, possible=possible, score=score,
        load_error=load_error, notes=list(notes), environment=environment,
        started_at=started_at, duration_s=round(time.monotonic() - started, 3))


# --- batches ---------------------------------------------------------------------------------


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


def result_path(out: Path, tp: str, student: str) -> Path:
    return out / tp / f"{safe_name(student)}.json"


def is_current(path: Path, sha256: str, fp: str) -> bool:
    """Whether a valid result for this exact submission and grading setup is already there."""
    if not path.is_file():
        return False
    try:
        previous = results.load(path)
    except ConfigError:
        return False
    return previous.submission_sha256 == sha256 and previous.fingerprint == fp


def grade_batch(course_file: Path, tp: str, folder: Path, out: Path, *, jobs: int,
                backend: str = "subprocess", force: bool = False, gpus: str = "none",
                image: str | None = None,
                on_event: Callable[[BatchEvent], None] = lambda e: None,
                on_start: Callable[[int], None] = lambda n: None) -> BatchSummary:
    """Grades every submission in ``folder`` into ``OUT/TP/STUDENT.json``.

    Args:
        jobs: submissions graded at once; each worker gets ``cores // jobs`` BLAS threads.
        gpus, image: for ``backend="docker"``: GPUs (``none``, ``all`` or a count, one GPU per
            job slot) and the sandbox image.
        force: regrade even when a current result exists.
        on_event: called from the calling thread as each submission finishes.
        on_start: called with the number of submissions once they are listed.
    """
    if backend == "inprocess":
        raise UsageError("el backend inprocess no aísla nada: solo sirve para 'grader check' en "
                         "la máquina del estudiante, nunca para calificar")
    if jobs < 1:
        raise UsageError(f"--jobs debe ser al menos 1 (llegó {jobs})")
    course = load_course(course_file)
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    submissions, skipped = discover(folder, assignment.module)
    # Fail before grading anything when the sandbox itself is unusable (no image, no daemon).
    make_backend(backend, gpus=gpus, image=image)
    if backend == "docker":
        from .sandbox.docker import remove_leftovers

        remove_leftovers()  # stopped containers of an earlier batch that was killed
    if backend == "subprocess":
        from .sandbox.subprocess import NoIsolationWarning, bwrap_path

        if bwrap_path() is None:
            # The workers warn too, but in their own processes: say it here, where people look.
            warnings.warn(NO_ISOLATION, NoIsolationWarning, stacklevel=2)
    summary = BatchSummary(total=len(submissions), skipped=[f"{s.entry.name}: {s.reason}"
                                                            for s in skipped])
    for item in skipped:
        on_event(BatchEvent("skipped", item.entry.name, message=item.reason))
    on_start(len(submissions))
    fp = fingerprint(course, entry)
    # A batch killed with SIGKILL may leave a temporary of a file it was writing; never a
    # half-written result (files are written to a temporary, then renamed).
    for stale in (out / tp).glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    pending: list[Submission] = []
    for submission in submissions:
        path = result_path(out, tp, submission.student)
        if not force and is_current(path, submission.sha256, fp):
            summary.reused += 1
            reused = results.load(path)
            if not path.with_suffix(".md").is_file():
                results.write_atomic(path.with_suffix(".md"), report.markdown(reused))
            on_event(BatchEvent("reused", submission.student, reused))
        else:
            pending.append(submission)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    limits = course.limits_for(assignment, threads=threads)
    children: set[subprocess.Popen[bytes]] = set()
    lock = threading.Lock()
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for slot in range(jobs):
        slots.put(slot)

    def run_one(submission: Submission) -> BatchEvent:
        slot = slots.get()  # a job slot owns its share of CPUs and, with --gpus N, one GPU
        try:
            options = {"gpus": gpus, "image": image, "slot": slot} if backend == "docker" else {}
            return _grade_in_child(course_file, tp, submission, out, backend, options, limits,
                                   children, lock)
        finally:
            slots.put(slot)

    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(run_one, s) for s in pending]
        for future in as_completed(futures):
            event = future.result()
            if event.kind == "graded":
                summary.graded += 1
            else:
                summary.failed.append(f"{event.student}: {event.message}")
            on_event(event)
    except KeyboardInterrupt:
        summary.interrupted = True
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for child in children:
                child.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return summary


def _grade_in_child(course_file: Path, tp: str, submission: Submission, out: Path, backend: str,
                    options: dict[str, Any], limits: Limits, children: set[subprocess.Popen[bytes]],
                    lock: threading.Lock) -> BatchEvent:
    path = result_path(out, tp, submission.student)
    log = out / tp / "logs" / f"{safe_name(submission.student)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    request = {"course": str(course_file), "tp": tp, "file": str(submission.path),
               "student": submission.student, "out": str(path), "backend": backend,
               "backend_options": options, "limits": limits.__dict__, "notes": list(submission.notes)}
    with log.open("wb") as handle:
        child = subprocess.Popen([sys.executable, "-m", "grader.grading", json.dumps(request)],
                                 stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 preexec_fn=die_with_parent)
        with lock:
            children.add(child)
        try:
            child.wait(timeout=limits.submission_timeout_s + 300)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        finally:
            with lock:
                children.discard(child)
    if child.returncode == 0 and path.is_file():
        try:
            return BatchEvent("graded", submission.student, results.load(path))
        except ConfigError as exc:
            return BatchEvent("failed", submission.student, message=str(exc))
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    return BatchEvent("failed", submission.student,
                      message=f"el calificador falló (código {child.returncode}); ver {log}: "
                              + " | ".join(tail))


def _child_main(argv: list[str]) -> int:
    """Entry point of the trusted child: grade one submission, write its result atomically."""
    request = json.loads(argv[0])
    course = load_course(Path(request["course"]))
    result = grade_submission(
        course, request["tp"], Path(request["file"]), student=request["student"],
        backend=request["backend"], limits=Limits(**request["limits"]),
        notes=tuple(request["notes"]), backend_options=request["backend_options"])
    out = Path(request["out"])
    # The report first: a result file on disk always has its report beside it.
    results.write_atomic(out.with_suffix(".md"), report.markdown(result))
    results.save(result, out)
    print(f"{result.student}: {result.score:.2f} ({result.duration_s:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
