"""Warm trusted children: what one writes on its own (a crash's stack) reaches the log, and one
primed before its first submission has its first worker launched already (issue 23)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from waiting import wait_until  # tests/ is on sys.path (pytest prepend import mode)

from grader.batch.local import grade_batch
from grader.batch.request import BatchJob, GradeRequest
from grader.batch.warm import WarmChild
from grader.course import load_assignment, load_course
from grader.submissions import Submission

pytestmark = pytest.mark.slow


def test_a_trusted_child_that_crashes_leaves_its_stack_in_the_log(mini_course, tmp_path):
    # The reference runs in the trusted child: a segfault there (a library's bug) kills it. No
    # core file: it would land in the repository on a machine that keeps them.
    reference = mini_course / "ref" / "tp1.py"
    reference.write_text("import os, resource, signal\n"
                         "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
                         "os.kill(os.getpid(), signal.SIGSEGV)\n" + reference.read_text())
    folder = tmp_path / "entregas"
    folder.mkdir()
    (folder / "ana.py").write_text((mini_course / "students" / "passes_all.py").read_text())
    summary = grade_batch(mini_course / "course.toml", "tp1", folder, tmp_path / "res", jobs=1)
    assert summary.graded == 0 and len(summary.failed) == 1
    log = (tmp_path / "res" / "tp1" / "logs" / "ana.log").read_text()
    assert "== salida propia del proceso calificador ==\nFatal Python error: Segmentation fault" in log
    assert f'File "{reference}", line 3 in <module>' in log
    assert log.endswith("el proceso calificador terminó sin responder (código -11)\n")
    assert summary.failed[0].endswith("el proceso calificador terminó sin responder (código -11)")


@pytest.fixture
def job(mini_course: Path, tmp_path: Path) -> BatchJob:
    course = load_course(mini_course / "course.toml")
    assignment = load_assignment(course.tp("tp1").assignment)
    return BatchJob(course_file=mini_course / "course.toml", course=course, tp="tp1",
                    out=tmp_path / "res", backend="subprocess",
                    limits=course.limits_for(assignment, threads=1), fingerprint="")


def descendants(pid: int) -> list[tuple[int, bytes]]:
    """Processes below ``pid`` (children, theirs, ...), with their command lines."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    found, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        for child in frontier:
            try:
                found.append((child, (Path("/proc") / str(child) / "cmdline").read_bytes()))
            except OSError:
                continue
    return found


def grade_ana(warm: WarmChild, job: BatchJob, mini_course: Path) -> tuple[int, str]:
    submission = Submission("ana", mini_course / "students" / "passes_all.py")
    code = warm.grade(GradeRequest.for_submission(job, submission).to_dict(),
                      job.log_path("ana"), timeout_s=120)
    return code, job.log_path("ana").read_text()


def test_a_primed_process_launches_its_first_worker_before_any_submission(job, mini_course):
    warm = WarmChild()
    try:
        warm.prime(GradeRequest.priming(job).to_dict(), job.logs)
        assert warm._process is not None
        wait_until(lambda: any(b"_graderrt.worker" in cmd for _, cmd in descendants(warm._process.pid)),
                   timeout_s=60, what="the primed process to launch a worker")
        pid = warm._process.pid
        code, log = grade_ana(warm, job, mini_course)
        assert code == 0 and "ana: 10.00" in log
        assert warm._process is not None and warm._process.pid == pid, "the primed one graded it"
        assert job.staging_path("ana").is_file()
    finally:
        warm.close()


def test_a_priming_that_fails_costs_no_submission_and_its_stack_reaches_the_log(job, mini_course):
    warm = WarmChild()
    try:
        warm.prime(GradeRequest.priming(dataclasses.replace(job, tp="tp9")).to_dict(), job.logs)
        primed = warm._process
        code, log = grade_ana(warm, job, mini_course)
        assert code == 0 and "ana: 10.00" in log
        assert warm._process is not primed, "graded in a fresh process, never the failed one"
        assert "ConfigError" in log and "tp9" in log
        assert ("la preparación anticipada del proceso calificador falló (código 1): esta entrega "
                "se calificó en uno nuevo") in log
    finally:
        warm.close()
