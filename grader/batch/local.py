"""Grading a batch: every submission of a folder, resumable and parallel.

``grade_batch`` grades each pending submission in a trusted child process (``grader.batch.child``),
``jobs`` at a time on this machine (one warm child per job slot, ``grader.batch.warm``) or as
tasks of a Dask cluster (``grader.batch.cluster``), and writes each result the moment it is
accepted (``grader.batch.request.accept``). A result is reused when both the submission's hash
and the grading fingerprint (checks, reference, course settings, grader version) still match,
so rerunning the same command after an interruption grades only what is missing or changed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
import warnings
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from grader import results
from grader.batch.child import child_timeout_s
from grader.batch.request import (
    BatchEvent,
    BatchJob,
    BatchSummary,
    GradeRequest,
    accept,
    is_current,
    result_path,
    write_reports,
)
from grader.batch.warm import WarmChild
from grader.course import load_assignment, load_course
from grader.engine.grade import fingerprint, selected
from grader.errors import UsageError
from grader.sandbox import registry
from grader.submissions import Submission, discover


def grade_batch(course_file: Path, tp: str, folder: Path, out: Path, *, jobs: int,
                backend: str = "subprocess", force: bool = False, gpus: str = "none",
                image: str | None = None, cluster: str | None = None,
                on_event: Callable[[BatchEvent], None] = lambda e: None,
                on_start: Callable[[int], None] = lambda n: None,
                exercises: frozenset[str] = frozenset()) -> BatchSummary:
    """Grades every submission in ``folder`` into ``OUT/TP/STUDENT.json``.

    Args:
        jobs: submissions graded at once; each worker gets ``cores // jobs`` BLAS threads.
            Ignored with ``cluster``, where each Dask worker's ``--nthreads`` decides.
        gpus, image: for ``backend="docker"``: GPUs (``none``, ``all`` or a count, one GPU per
            job slot) and the sandbox image.
        cluster: a Dask scheduler address (``tcp://HOST:8786``): each pending submission runs
            there as one task (``grader.batch.cluster``); results are still written here.
        force: regrade even when a current result exists.
        on_event: called from the calling thread as each submission finishes.
        on_start: called with the number of submissions once they are listed.
        exercises: grade only these exercises (``grader audit``); empty: all of them.
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
        from grader.batch.cluster import check_options

        # The sandbox runs on the cluster's machines: each is checked when the batch connects.
        check_options(backend=backend, gpus=gpus)
    else:
        # Fail before grading anything when the sandbox itself is unusable (no image, no daemon).
        warning = registry.preflight(backend, gpus=gpus, image=image)
        if warning:
            from grader.sandbox.subprocess import NoIsolationWarning

            # The workers warn too, but in their own processes: say it here, where people look.
            warnings.warn(warning, NoIsolationWarning, stacklevel=2)
    summary = BatchSummary(total=len(submissions), cores=os.cpu_count() or 1,
                           skipped=[f"{s.entry.name}: {s.reason}" for s in skipped])
    for item in skipped:
        on_event(BatchEvent("skipped", item.entry.name, message=item.reason))
    on_start(len(submissions))
    selected(assignment, exercises)  # an unknown exercise fails here, not in every child
    fp = fingerprint(course, entry, exercises)
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
            write_reports(reused, path, missing_only=True)
            on_event(BatchEvent("reused", submission.student, reused))
        else:
            pending.append(submission)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    job = BatchJob(course_file=course_file, course=course, tp=tp, out=out, backend=backend,
                   limits=course.limits_for(assignment, threads=threads), fingerprint=fp,
                   gpus=gpus, image=image, exercises=exercises)
    # The one step that differs: where each pending submission's trusted child runs.
    if cluster is None:
        events = _run_local(job, pending, jobs=jobs)
    else:
        from grader.batch.cluster import run_on_cluster

        events = run_on_cluster(cluster, job, pending)
    try:
        with contextlib.closing(events):
            for event in events:
                summary.peak_load = max(summary.peak_load, _load())
                if event.kind == "graded":
                    summary.graded += 1
                else:
                    summary.failed.append(f"{event.student}: {event.message}")
                on_event(event)
    except KeyboardInterrupt:
        summary.interrupted = True
        raise
    if cluster is None:
        # A trusted process killed mid-batch leaves its workers' containers stopped, never
        # running (their lifeline closes): clear them now rather than at the next batch.
        registry.cleanup(backend)
    return summary


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


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
    # (grader.batch.warm): imports, check collection and reference outputs are paid once per slot.
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


def _grade_in_child(job: BatchJob, submission: Submission, slot: int,
                    run: Callable[..., int]) -> BatchEvent:
    """Grades one submission with ``run(request, log, timeout_s=...)`` (a warm trusted process)
    and ``accept``s the result it left."""
    log = job.log_path(submission.student)
    staged = job.staging_path(submission.student)
    try:
        sha256 = submission.sha256
    except OSError:
        sha256 = ""  # gone since it was listed: the child fails on it, or its result mismatches
    staged.unlink(missing_ok=True)
    returncode = run(GradeRequest.for_submission(job, submission, slot=slot).to_dict(), log,
                     timeout_s=child_timeout_s(job.limits))
    try:
        if returncode == 0 and staged.is_file():
            return accept(job, submission.student, sha256,
                          staged.read_text(encoding="utf-8", errors="replace"),
                          source="el calificador")
    finally:
        staged.unlink(missing_ok=True)
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    return BatchEvent("failed", submission.student,
                      message=f"el calificador falló (código {returncode}); ver {log}: "
                              + " | ".join(tail))
