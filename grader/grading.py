"""Grading one submission (in a trusted child process) and whole batches (resumable, parallel).

``grade_submission`` runs the public and hidden checks of one TP against one student file and
returns a ``SubmissionResult``. ``grade_batch`` runs it for every submission of a folder, each in
its own trusted child process (``python -m grader.grading``), ``jobs`` at a time, writing each
result file atomically the moment it is done. A result is reused when both the submission's hash
and the grading fingerprint (checks, reference, course settings, grader version) still match,
so rerunning the same command after an interruption grades only what is missing or changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import __version__, htmlreport, report, results, scoring
from .course import Course, TPEntry, load_assignment, load_course
from .errors import ConfigError, SubmissionError, UsageError
from .harness import run_on_module
from .reference import CachingReference, load_reference
from .results import SubmissionResult
from .sandbox.base import Limits, die_with_parent
from .submissions import Submission, discover, prepared_source, safe_name
from .warm import WarmChild, serve

BACKENDS = ("subprocess", "docker", "inprocess")


def make_backend(name: str, *, gpus: str = "none", image: str | None = None,
                 slot: int = 0, preload: tuple[str, ...] = ()) -> Any:
    """A sandbox backend by name; ``gpus`` and ``image`` apply to docker only; ``slot`` (the job
    slot) picks the sandbox uid, and docker's GPU.

    ``preload``: libraries its workers import before they get a submission. In a warm trusted
    process (``serve``) the backend is kept and launches each next worker ahead of time."""
    if _POOLS is None:
        return _new_backend(name, gpus=gpus, image=image, slot=slot, preload=preload)
    key = (name, gpus, image, slot, preload)
    if key not in _POOLS:
        from .sandbox.pool import PrestartedBackend

        _POOLS[key] = PrestartedBackend(
            _new_backend(name, gpus=gpus, image=image, slot=slot, preload=preload))
    return _POOLS[key]


def _new_backend(name: str, *, gpus: str, image: str | None, slot: int,
                 preload: tuple[str, ...]) -> Any:
    backend: Any
    if name == "subprocess":
        from .sandbox.subprocess import SubprocessBackend

        if gpus != "none":
            raise UsageError("--gpus solo funciona con --backend docker")
        backend = SubprocessBackend(slot=slot)
    elif name == "docker":
        from .sandbox.docker import DockerBackend

        backend = DockerBackend(gpus=gpus, image=image, slot=slot)
    else:
        raise UsageError(
            f"backend desconocido {name!r}; los disponibles son {', '.join(BACKENDS)}")
    backend.preload = preload
    return backend


_POOLS: dict[tuple[Any, ...], Any] | None = None
"""In a warm trusted process (``serve``): one backend per setup, each keeping a worker launched
ahead (``grader.sandbox.pool``). ``None``: a fresh backend per submission."""


def fingerprint(course: Course, entry: TPEntry) -> str:
    """Hash of everything besides the submission that decides a TP's raw score.

    Only the part of ``course.toml`` that can change a raw score counts (``score_settings``):
    deadlines, the late policy, extensions, the form and the roster are applied by the gradebook,
    so changing them never regrades (issue 6)."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(course.secret_digest().encode())
    digest.update(course.score_settings(entry.name))
    for folder in tp_folders(entry):
        for path in tp_files(folder):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def tp_folders(entry: TPEntry) -> list[Path]:
    """A TP's assignment and reference folders (those that exist)."""
    return [f for f in (entry.assignment, entry.reference) if f is not None and f.is_dir()]


def tp_files(folder: Path) -> list[Path]:
    """The files of a TP folder that decide its grades: what the fingerprint covers and what a
    cluster task carries (one definition, so both always agree)."""
    return [path for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts]


def _prepared_module(path: Path, module: str, workdir: Path, *,
                     notebook_mode: str) -> tuple[Path, tuple[str, ...]]:
    """Writes the submission as ``WORKDIR/MODULE.py`` (notebooks converted in ``notebook_mode``);
    returns it and the conversion's notes for the student (cells skipped, syntax errors)."""
    target = workdir / f"{module}.py"
    prepared = prepared_source(path, notebook_mode=notebook_mode)
    target.write_text(prepared.source, encoding="utf-8")
    return target, prepared.notes


_REFERENCES: dict[tuple[Path, str], Any] | None = None
"""In a warm trusted process (``serve``): each TP's reference, loaded once, with its outputs
cached for the whole batch (``CachingReference``). ``None``: load it fresh every time."""


def _reference(folder: Path, module: str) -> Any:
    if _REFERENCES is None:
        return load_reference(folder, module)
    key = (folder.resolve(), module)
    if key not in _REFERENCES:
        _REFERENCES[key] = CachingReference(load_reference(folder, module))
    return _REFERENCES[key]


def grade_submission(course: Course, tp: str, path: Path, *, student: str,
                     backend: str = "subprocess", limits: Limits | None = None,
                     notes: tuple[str, ...] = (), backend_options: dict[str, Any] | None = None,
                     submitted_at: str = "") -> SubmissionResult:
    """Grades one file with the TP's public and hidden checks. Runs student code only in the
    sandbox (never in this process, unless ``backend="inprocess"``). ``submitted_at`` (when it
    was handed in, from ``grader intake``) is stored in the result for the late policy."""
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if entry.reference is None:
        raise ConfigError(f"el TP {tp} no tiene 'reference' en course.toml")
    reference = _reference(entry.reference, assignment.module)
    limits = limits or course.limits_for(assignment)
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    checks: list[results.CheckResult] = []
    load_error = ""
    environment: dict[str, Any] = {}
    review: list[str] = []
    with tempfile.TemporaryDirectory(prefix="grader-sub-") as tmp:
        try:
            module_file, conversion_notes = _prepared_module(
                path, assignment.module, Path(tmp), notebook_mode=entry.notebook_mode)
            notes = (*notes, *conversion_notes)
        except SubmissionError as exc:
            load_error = str(exc)
        else:
            run = run_on_module(
                assignment, module_file, reference,
                [*assignment.public_checks, *assignment.hidden_checks],
                backend=None if backend == "inprocess" else make_backend(
                    backend, **(backend_options or {}),
                    preload=("torch",) if assignment.uses_torch else ()), limits=limits,
                seed_key=course.name, hidden_seed_key=course.hidden_seed_key(student))
            checks, load_error, environment = run.checks, run.load_error, run.environment
            review = run.review
    exercises = scoring.score_checks(checks, assignment.exercises)
    earned, possible, score = scoring.tp_score(exercises, scale_max=course.scale_max,
                                               decimals=course.decimals)
    return SubmissionResult(
        student=student, tp=tp, submission_file=path.name,
        submission_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        grader_version=__version__, fingerprint=fingerprint(course, entry), checks=checks,
        exercises=exercises, earned=earned, possible=possible, score=score,
        load_error=load_error, notes=list(notes), environment=environment, review=review,
        started_at=started_at, duration_s=round(time.monotonic() - started, 3),
        submitted_at=submitted_at)


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


def grade_batch(course_file: Path, tp: str, folder: Path, out: Path, *, jobs: int,
                backend: str = "subprocess", force: bool = False, gpus: str = "none",
                image: str | None = None, cluster: str | None = None,
                on_event: Callable[[BatchEvent], None] = lambda e: None,
                on_start: Callable[[int], None] = lambda n: None) -> BatchSummary:
    """Grades every submission in ``folder`` into ``OUT/TP/STUDENT.json``.

    Args:
        jobs: submissions graded at once; each worker gets ``cores // jobs`` BLAS threads.
            Ignored with ``cluster``, where each Dask worker's ``--nthreads`` decides.
        gpus, image: for ``backend="docker"``: GPUs (``none``, ``all`` or a count, one GPU per
            job slot) and the sandbox image.
        cluster: a Dask scheduler address (``tcp://HOST:8786``): each pending submission runs
            there as one task (``grader.cluster``); results are still written here.
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
    if cluster is not None:
        from .cluster import check_options

        # The sandbox runs on the cluster's machines: each is checked when the batch connects.
        check_options(backend=backend, gpus=gpus)
    else:
        # Fail before grading anything when the sandbox itself is unusable (no image, no daemon).
        make_backend(backend, gpus=gpus, image=image)
        if backend == "docker":
            from .sandbox.docker import remove_leftovers

            remove_leftovers()  # stopped containers of an earlier batch that was killed
        if backend == "subprocess":
            from .sandbox.subprocess import NO_ISOLATION, NoIsolationWarning, bwrap_path

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
            if reused.submitted_at != submission.submitted_at:
                # Same file handed in again (or a new intake): only the time changes, no regrade.
                reused.submitted_at = submission.submitted_at
                results.save(reused, path)
            if not path.with_suffix(".md").is_file():
                results.write_atomic(path.with_suffix(".md"), report.markdown(reused))
            if not path.with_suffix(".html").is_file():
                results.write_atomic(path.with_suffix(".html"), htmlreport.html_report(reused))
            on_event(BatchEvent("reused", submission.student, reused))
        else:
            pending.append(submission)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    job = BatchJob(course_file=course_file, course=course, tp=tp, out=out, backend=backend,
                   limits=course.limits_for(assignment, threads=threads), fingerprint=fp,
                   gpus=gpus, image=image)
    # The one step that differs: where each pending submission's trusted child runs.
    if cluster is None:
        events = _run_local(job, pending, jobs=jobs)
    else:
        from .cluster import run_on_cluster

        events = run_on_cluster(cluster, job, pending)
    try:
        with contextlib.closing(events):
            for event in events:
                if event.kind == "graded":
                    summary.graded += 1
                else:
                    summary.failed.append(f"{event.student}: {event.message}")
                on_event(event)
    except KeyboardInterrupt:
        summary.interrupted = True
        raise
    if backend == "docker" and cluster is None:
        from .sandbox.docker import remove_leftovers

        # A trusted process killed mid-batch leaves its workers' containers stopped, never
        # running (their lifeline closes): clear them now rather than at the next batch.
        remove_leftovers()
    return summary


def _run_local(job: BatchJob, pending: list[Submission], *,
               jobs: int) -> Generator[BatchEvent, None, None]:
    """Grades ``pending`` on this machine, ``jobs`` trusted children at a time."""
    children: set[subprocess.Popen[bytes]] = set()
    lock = threading.Lock()
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for slot in range(jobs):
        slots.put(slot)

    def register(child: subprocess.Popen[bytes]) -> None:
        with lock:
            children.add(child)

    def unregister(child: subprocess.Popen[bytes]) -> None:
        with lock:
            children.discard(child)

    # One warm trusted process per slot grades that slot's submissions one after another
    # (grader.warm): imports, check collection and reference outputs are paid once per slot.
    warm = [WarmChild(register=register, unregister=unregister) for _ in range(jobs)]

    def run_one(submission: Submission) -> BatchEvent:
        slot = slots.get()  # a job slot owns its share of CPUs and, with --gpus N, one GPU
        try:
            return _grade_in_child(job, submission, slot, warm[slot].grade)
        finally:
            slots.put(slot)

    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(run_one, s) for s in pending]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:  # Ctrl-C, or the caller stopped early (GeneratorExit)
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for child in children:
                child.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for grader in warm:
            grader.close()


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
    """Path of the result file to write (its reports and log go beside it)."""
    backend: str
    backend_options: dict[str, Any]
    """``make_backend``'s options: the job slot, and docker's GPUs and image."""
    limits: dict[str, Any]
    """``Limits`` as a mapping."""
    notes: tuple[str, ...] = ()
    submitted_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: Any) -> GradeRequest:
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not {f.name for f in fields(cls)
                                              if f.default is MISSING} <= set(data):
            raise ConfigError(f"pedido de calificación mal formado: se esperaban las claves "
                              f"{sorted(names)}; llegó {data!r:.300}")
        return cls(**{**{k: v for k, v in data.items() if k in names},
                      "notes": tuple(data.get("notes", ()))})


def child_request(job: BatchJob, submission: Submission, *, slot: int = 0) -> GradeRequest:
    """The request the trusted child (``python -m grader.grading REQUEST``) grades; a cluster
    worker sends the same one with its own copies of the paths (``grader.cluster``)."""
    options: dict[str, Any] = (
        {"gpus": job.gpus, "image": job.image, "slot": slot} if job.backend == "docker"
        else {"slot": slot} if job.backend == "subprocess" else {})
    return GradeRequest(
        course=str(job.course_file), tp=job.tp, file=str(submission.path),
        student=submission.student, out=str(result_path(job.out, job.tp, submission.student)),
        backend=job.backend, backend_options=options, limits=job.limits.__dict__,
        notes=tuple(submission.notes), submitted_at=submission.submitted_at)


def run_child(request: GradeRequest, log: Path, *, timeout_s: float,
              children: set[subprocess.Popen[bytes]], lock: threading.Lock,
              env: dict[str, str] | None = None) -> int:
    """Runs the trusted child on ``request``, its output into ``log``; returns its exit code.

    The child is registered in ``children`` (under ``lock``) while it runs, so that whoever
    stops the batch can kill it; it is killed after ``timeout_s`` and dies with its parent.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:
        child = subprocess.Popen([sys.executable, "-m", "grader.grading",
                                  json.dumps(request.to_dict())],
                                 stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 preexec_fn=die_with_parent, env=env)
        with lock:
            children.add(child)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        finally:
            with lock:
                children.discard(child)
    return child.returncode


def child_timeout_s(limits: Limits) -> float:
    """How long a trusted child may take before it is killed: its checks' budget and a margin."""
    return limits.submission_timeout_s + 300


def _grade_in_child(job: BatchJob, submission: Submission, slot: int,
                    run: Callable[..., int]) -> BatchEvent:
    """Grades one submission with ``run(request, log, timeout_s=...)`` (a warm trusted process)
    and turns what it left on disk into the batch's event."""
    path = result_path(job.out, job.tp, submission.student)
    log = job.out / job.tp / "logs" / f"{safe_name(submission.student)}.log"
    try:
        sha256 = submission.sha256
    except OSError:
        sha256 = ""  # gone since it was listed: the child fails on it, or its result mismatches
    returncode = run(child_request(job, submission, slot=slot).to_dict(), log,
                     timeout_s=child_timeout_s(job.limits))
    if returncode == 0 and path.is_file():
        try:
            result = results.load(path)
        except ConfigError as exc:
            return BatchEvent("failed", submission.student, message=str(exc))
        problem = mismatch(job, submission.student, sha256, result, source="el calificador")
        if problem:
            # Not this submission's result: gone, so the next run grades it again.
            for stale in (path, path.with_suffix(".md"), path.with_suffix(".html")):
                stale.unlink(missing_ok=True)
            return BatchEvent("failed", submission.student, message=problem)
        return BatchEvent("graded", submission.student, result)
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    return BatchEvent("failed", submission.student,
                      message=f"el calificador falló (código {returncode}); ver {log}: "
                              + " | ".join(tail))


def mismatch(job: BatchJob, student: str, sha256: str, result: SubmissionResult, *,
             source: str) -> str:
    """Why ``result`` cannot be ``student``'s result of this batch (another student, TP,
    submission or grading setup), in Spanish; empty when it can. Local and cluster batches both
    accept a result only through here."""
    expected = {"student": student, "tp": job.tp, "submission_sha256": sha256,
                "fingerprint": job.fingerprint}
    for key, value in expected.items():
        if getattr(result, key) != value:
            return (f"{source} devolvió un resultado con {key} {getattr(result, key)!r}; se "
                    f"esperaba {value!r} (¿otro código del calificador, o cambió el curso o la "
                    "entrega durante el lote?)")
    return ""


def write_result(result: SubmissionResult, path: Path) -> None:
    """Writes ``result`` to ``path`` and its reports (``.md``, ``.html``) beside it, each file
    atomically."""
    # The reports first: a result file on disk always has its reports beside it.
    results.write_atomic(path.with_suffix(".md"), report.markdown(result))
    results.write_atomic(path.with_suffix(".html"), htmlreport.html_report(result))
    results.save(result, path)


def grade_request(data: dict[str, Any]) -> str:
    """Grades one ``GradeRequest`` (as its mapping) and writes its result files; returns a line
    for the log."""
    request = GradeRequest.from_dict(data)
    course = load_course(Path(request.course))
    result = grade_submission(
        course, request.tp, Path(request.file), student=request.student,
        backend=request.backend, limits=Limits(**request.limits), notes=request.notes,
        backend_options=request.backend_options, submitted_at=request.submitted_at)
    result.environment["trusted_peak_rss_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    result.environment["trusted_pid"] = os.getpid()
    write_result(result, Path(request.out))
    for line in result.review:  # the log is staff's: what the static check could not decide
        print(f"{result.student}: {line}")
    return f"{result.student}: {result.score:.2f} ({result.duration_s:.1f} s)"


def _child_main(argv: list[str]) -> int:
    """Entry point of the trusted child: ``--serve`` grades request after request (a warm
    process, ``grader.warm``); otherwise grade the one request given, write its result."""
    global _REFERENCES, _POOLS
    if argv == ["--serve"]:
        _REFERENCES, _POOLS = {}, {}
        return serve(grade_request)
    print(grade_request(json.loads(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
