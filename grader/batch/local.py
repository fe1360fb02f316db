"""Grading a batch: every submission of a folder, resumable and parallel.

``grade_batch`` grades each pending submission in a trusted child process (``grader.batch.child``),
``jobs`` at a time on this machine (one warm child per job slot, ``grader.batch.warm``) or as
tasks of a Dask cluster (``grader.batch.cluster``), and writes each result the moment it is
accepted (``grader.batch.request.accept``). A result is reused when both the submission's hash
and the grading fingerprint (checks, reference, course settings, grader version) still match,
so rerunning the same command after an interruption grades only what is missing or changed.
One batch at a time per results folder (``grader.batch.lock``); ``plan_batch`` says what a batch
would grade and why without grading (``--dry-run``), and a batch that regrades students who had
a result says what changed in ``cambios.md`` (``grader.batch.changes``).

The warm processes of a local batch start as soon as it knows it will grade something (a
submission with no result, or ``--force``), and get ready (imports, the reference, a first
worker) once the batch holds its lock, while it checks the sandbox and hashes the submissions: the
first submission does not wait for them (issue 23). A batch with nothing to grade starts none.
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
from dataclasses import dataclass
from pathlib import Path

from grader import results
from grader.batch import lock
from grader.batch.changes import BatchPlan, Change, Planned, change, reasons, write_changes
from grader.batch.child import child_timeout_s
from grader.batch.request import (
    BatchEvent,
    BatchJob,
    BatchSummary,
    GradeRequest,
    accept,
    result_path,
    write_reports,
)
from grader.batch.warm import WarmChild
from grader.course import Assignment, Course, load_assignment, load_course
from grader.engine.grade import grading_setup, selected
from grader.errors import ConfigError, UsageError
from grader.sandbox import registry
from grader.submissions import Skipped, Submission, discover


def grade_batch(course_file: Path, tp: str, folder: Path, out: Path, *, jobs: int,
                backend: str = "subprocess", force: bool = False, gpus: str = "none",
                image: str | None = None, cluster: str | None = None,
                on_event: Callable[[BatchEvent], None] = lambda e: None,
                on_start: Callable[[int], None] = lambda n: None,
                exercises: frozenset[str] = frozenset()) -> BatchSummary:
    """Grades every submission in ``folder`` into ``OUT/TP/STUDENT.json``.

    The batch holds ``OUT/TP/.grader.lock`` from start to end (``grader.batch.lock``): a second
    batch on the same results fails at once instead of regrading everything beside this one.
    Students regraded from an earlier result are listed, with what changed, in
    ``OUT/TP/cambios.md`` and ``cambios.csv`` (``grader.batch.changes``).

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

    Raises:
        UsageError: bad options, a folder with no submission, or another batch holding the lock.
    """
    if backend == "inprocess":
        raise UsageError("el backend inprocess no aísla nada: solo sirve para 'grader check' en "
                         "la máquina del estudiante, nunca para calificar")
    if jobs < 1:
        raise UsageError(f"--jobs debe ser al menos 1 (llegó {jobs})")
    setup = _Setup.of(course_file, tp, folder, exercises)
    job = setup.job(out, jobs=jobs, backend=backend, gpus=gpus, image=image)
    if cluster is not None:
        from grader.batch.cluster import check_options

        # The sandbox runs on the cluster's machines: each is checked when the batch connects.
        check_options(backend=backend, gpus=gpus)
        with lock.batch_lock(out / tp):
            return _graded(setup, job, slots=None, cluster=cluster, force=force,
                           on_event=on_event, on_start=on_start)
    registry.check_options(backend, gpus=gpus)  # no process starts for options nothing can use
    # The lock comes first: a primed process writes into OUT/TP/logs, which belongs to whoever
    # holds the lock.
    with lock.batch_lock(out / tp):
        slots = _Slots(jobs)
        try:
            # A submission with no result is surely graded: its slot's warm process gets ready
            # now, alongside the sandbox's check and the hashing below (issue 23).
            slots.prime(job, count=len(setup.submissions) if force else setup.without_result(out))
            # Fail before grading anything when the sandbox itself is unusable (no image, no daemon).
            warning = registry.preflight(backend, gpus=gpus, image=image)
            if warning:
                from grader.sandbox.subprocess import NoIsolationWarning

                # The workers warn too, but in their own processes: say it here, where people look.
                warnings.warn(warning, NoIsolationWarning, stacklevel=2)
            return _graded(setup, job, slots=slots, cluster=None, force=force,
                           on_event=on_event, on_start=on_start)
        except BaseException:  # a bad sandbox, Ctrl-C
            slots.kill()
            raise
        finally:
            slots.close()


def plan_batch(course_file: Path, tp: str, folder: Path, out: Path, *, force: bool = False,
               exercises: frozenset[str] = frozenset()) -> BatchPlan:
    """What ``grade_batch`` would grade, reuse and skip, and why (``grader grade --dry-run``).

    Reads the submissions and the results already in ``OUT/TP``; writes nothing and takes no
    lock (a batch running now is named in ``BatchPlan.running``)."""
    setup = _Setup.of(course_file, tp, folder, exercises)
    holder = lock.holder(out / tp)
    running = holder.describe() if holder is not None and not holder.is_gone() else ""
    return BatchPlan(tp=tp, results=out / tp, planned=setup.plan(out, force=force),
                     skipped=setup.skipped, running=running)


@dataclass(frozen=True)
class _Setup:
    """A batch's course, submissions and grading fingerprint, checked before anything runs."""

    course_file: Path
    course: Course
    tp: str
    assignment: Assignment
    submissions: list[Submission]
    skipped: list[Skipped]
    exercises: frozenset[str]
    fingerprint: str
    parts: dict[str, str]

    @classmethod
    def of(cls, course_file: Path, tp: str, folder: Path, exercises: frozenset[str]) -> _Setup:
        course = load_course(course_file)
        entry = course.tp(tp)
        assignment = load_assignment(entry.assignment)
        submissions, skipped = discover(folder, assignment.module)
        selected(assignment, exercises)  # an unknown exercise fails here, not in every child
        fp, parts = grading_setup(course, entry, exercises)
        return cls(course_file=course_file, course=course, tp=tp, assignment=assignment,
                   submissions=submissions, skipped=skipped, exercises=exercises,
                   fingerprint=fp, parts=parts)

    def job(self, out: Path, *, jobs: int, backend: str, gpus: str,
            image: str | None) -> BatchJob:
        """What each pending submission is graded with; each of the ``jobs`` slots' workers
        gets ``cores // jobs`` BLAS threads."""
        threads = max(1, (os.cpu_count() or 1) // jobs)
        return BatchJob(course_file=self.course_file, course=self.course, tp=self.tp, out=out,
                        backend=backend,
                        limits=self.course.limits_for(self.assignment, threads=threads),
                        fingerprint=self.fingerprint, gpus=gpus, image=image,
                        exercises=self.exercises)

    def without_result(self, out: Path) -> int:
        """Submissions with no result file in ``out``: graded for sure, known before hashing."""
        return sum(not result_path(out, self.tp, s.student).is_file() for s in self.submissions)

    def plan(self, out: Path, *, force: bool) -> list[Planned]:
        """Each submission with why it is graded (nothing: reused) and its earlier result."""
        planned = []
        for submission in self.submissions:
            path = result_path(out, self.tp, submission.student)
            previous, unreadable = None, False
            if path.is_file():
                try:
                    previous = results.load(path)
                except ConfigError:
                    unreadable = True
            why = reasons(previous, sha256=submission.sha256, fingerprint=self.fingerprint,
                          parts=self.parts, force=force, unreadable=unreadable)
            planned.append(Planned(submission, why, previous))
        return planned


def _graded(setup: _Setup, job: BatchJob, *, slots: _Slots | None, cluster: str | None,
            force: bool, on_event: Callable[[BatchEvent], None],
            on_start: Callable[[int], None]) -> BatchSummary:
    """``grade_batch``'s work, under the batch lock: locally in ``slots``, or on ``cluster``."""
    tp, out = setup.tp, job.out
    summary = BatchSummary(total=len(setup.submissions), cores=os.cpu_count() or 1,
                           skipped=[f"{s.entry.name}: {s.reason}" for s in setup.skipped])
    for item in setup.skipped:
        on_event(BatchEvent("skipped", item.entry.name, message=item.reason))
    on_start(len(setup.submissions))
    # A batch killed with SIGKILL may leave a temporary of a file it was writing; never a
    # half-written result (files are written to a temporary, then renamed).
    for stale in (out / tp).glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    pending: list[Submission] = []
    regraded: dict[str, Planned] = {}
    for planned in setup.plan(out, force=force):
        submission = planned.submission
        if planned.reasons:
            pending.append(submission)
            if planned.previous is not None:
                regraded[submission.student] = planned
            continue
        summary.reused += 1
        path = result_path(out, tp, submission.student)
        reused = planned.previous
        assert reused is not None  # a result is reused only when there is one
        if reused.submitted_at != submission.submitted_at:
            # Same file handed in again (or a new intake): only the time changes, no regrade.
            reused.submitted_at = submission.submitted_at
            results.save(reused, path)
        write_reports(reused, path, missing_only=True)
        on_event(BatchEvent("reused", submission.student, reused))
    # The one step that differs: where each pending submission's trusted child runs.
    if slots is not None:
        slots.prime(job, count=len(pending))  # those not primed before hashing
        events = _run_local(job, pending, slots)
    else:
        assert cluster is not None
        from grader.batch.cluster import run_on_cluster

        events = run_on_cluster(cluster, job, pending)
    found: list[Change] = []
    try:
        with contextlib.closing(events):
            for event in events:
                summary.peak_load = max(summary.peak_load, _load())
                if event.kind == "graded":
                    summary.graded += 1
                    before = regraded.get(event.student)
                    if before is not None and before.previous is not None and event.result:
                        found.append(change(before.previous, event.result, before.reasons))
                else:
                    summary.failed.append(f"{event.student}: {event.message}")
                on_event(event)
    except KeyboardInterrupt:
        summary.interrupted = True
        raise
    finally:
        # Also after Ctrl-C: a rerun would reuse these results and could no longer tell.
        summary.changes = len(found)
        summary.changes_file = write_changes(out / tp, found)
    if slots is not None:
        # A trusted process killed mid-batch leaves its workers' containers stopped, never
        # running (their lifeline closes): clear them now rather than at the next batch.
        registry.cleanup(job.backend)
    return summary


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


class _Slots:
    """A local batch's job slots: one warm trusted process each (``grader.batch.warm``), which
    grades that slot's submissions one after another (imports, check collection and reference
    outputs are paid once per slot), and every process they started, to kill on Ctrl-C."""

    def __init__(self, jobs: int) -> None:
        self.children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self.warm = [WarmChild(register=self._register, unregister=self._unregister)
                     for _ in range(jobs)]
        self.primed = 0
        """Slots whose process was started and asked to get ready (the first ones)."""

    def prime(self, job: BatchJob, *, count: int) -> None:
        """Starts the processes of the first ``count`` slots (at most all of them) that are not
        started yet, each getting ready for ``job`` (``WarmChild.prime``) without waiting."""
        for slot in range(self.primed, min(count, len(self.warm))):
            self.warm[slot].prime(GradeRequest.priming(job, slot=slot).to_dict(), job.logs)
            self.primed = slot + 1

    def _register(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self.children.add(child)

    def _unregister(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self.children.discard(child)

    def kill(self) -> None:
        """Kills every process the slots started (Ctrl-C, or the batch failed)."""
        with self._lock:
            for child in self.children:
                child.kill()

    def close(self) -> None:
        """Ends each slot's process (it stops its launched-ahead worker first)."""
        for grader in self.warm:
            grader.close()


def _run_local(job: BatchJob, pending: list[Submission],
               slots: _Slots) -> Generator[BatchEvent, None, None]:
    """Grades ``pending`` on this machine, one trusted child per job slot at a time."""
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    for slot in range(len(slots.warm)):
        free.put(slot)

    def run_one(submission: Submission) -> BatchEvent:
        slot = free.get()  # a job slot owns its share of CPUs and, with --gpus N, one GPU
        try:
            return _grade_in_child(job, submission, slot, slots.warm[slot].grade)
        finally:
            free.put(slot)

    pool = ThreadPoolExecutor(max_workers=len(slots.warm))
    try:
        futures = [pool.submit(run_one, s) for s in pending]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:  # Ctrl-C, or the caller stopped early (GeneratorExit)
        pool.shutdown(wait=False, cancel_futures=True)
        slots.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        slots.close()


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
