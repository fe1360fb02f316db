"""One typed request for the trusted child, one acceptance of its result for local and cluster
batches, and one definition of the course files a fingerprint covers (issue 16)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grader import results
from grader.batch.cluster import course_files
from grader.batch.local import _grade_in_child
from grader.batch.request import BatchJob, GradeRequest, accept, result_path
from grader.course import load_course
from grader.engine.grade import fingerprint, tp_files, tp_folders
from grader.errors import ConfigError
from grader.results import SubmissionResult
from grader.sandbox.base import Limits
from grader.submissions import Submission


@pytest.fixture
def job(mini_course: Path, tmp_path: Path) -> BatchJob:
    course = load_course(mini_course / "course.toml")
    tp = course.tps[0].name
    return BatchJob(course_file=mini_course / "course.toml", course=course, tp=tp,
                    out=tmp_path / "out", backend="subprocess", limits=Limits(),
                    fingerprint=fingerprint(course, course.tp(tp)))


@pytest.fixture
def submission(tmp_path: Path) -> Submission:
    path = tmp_path / "ana.py"
    path.write_text("x = 1\n")
    return Submission("ana", path, notes=("una nota",), submitted_at="2026-11-01T10:00:00-03:00")


def test_a_request_crosses_as_plain_data_and_back(job, submission):
    request = GradeRequest.for_submission(job, submission, slot=3)
    data = request.to_dict()
    assert data["backend_options"] == {"gpus": "none", "slot": 3}
    assert data["notes"] == ["una nota"]
    assert GradeRequest.from_dict({**data, "log": "/tmp/x.log"}) == request  # warm adds "log"


def test_a_subprocess_request_carries_the_gpus_and_the_slot_that_picks_one(job, submission):
    # issue 21: the slot's GPU (slot % N) is picked by the backend in the child
    job = dataclasses.replace(job, gpus="2")
    assert GradeRequest.for_submission(job, submission, slot=5).backend_options == {
        "gpus": "2", "slot": 5}


def test_a_priming_request_is_its_slots_setup_with_no_submission(job, submission):
    # issue 23: a warm process gets ready for exactly what its slot's submissions will ask
    job = dataclasses.replace(job, backend="docker", image="img:1", exercises=frozenset({"b", "a"}))
    priming = GradeRequest.priming(job, slot=2)
    graded = GradeRequest.for_submission(job, submission, slot=2)
    assert (priming.file, priming.student, priming.out) == ("", "", "")
    assert {k: v for k, v in priming.to_dict().items() if k not in ("file", "student", "out")} == {
        k: v for k, v in graded.to_dict().items()
        if k not in ("file", "student", "out", "notes", "submitted_at")} | {
        "notes": [], "submitted_at": ""}
    assert GradeRequest.from_dict({**priming.to_dict(), "prime": True}) == priming


def test_a_malformed_request_says_what_was_expected(job, submission):
    data = GradeRequest.for_submission(job, submission).to_dict()
    del data["student"]
    with pytest.raises(ConfigError, match="se esperaban las claves"):
        GradeRequest.from_dict(data)


def _result(job: BatchJob, student: str, sha256: str) -> SubmissionResult:
    return SubmissionResult(student=student, tp=job.tp, submission_file="ana.py",
                            submission_sha256=sha256, grader_version="x",
                            fingerprint=job.fingerprint, checks=[], exercises=[], earned=0.0,
                            possible=1.0, score=0.0)


@pytest.mark.parametrize("student, sha", [("bea", None), ("ana", "0" * 64)])
def test_a_local_batch_refuses_a_result_that_is_not_its_submissions(job, submission, student, sha):
    path = result_path(job.out, job.tp, submission.student)

    def run(request, log, *, timeout_s):  # a trusted child that wrote someone else's result
        results.save(_result(job, student, sha or submission.sha256), Path(request["out"]))
        return 0

    event = _grade_in_child(job, submission, 0, run)
    assert event.kind == "failed"
    assert "se esperaba" in event.message
    assert not path.exists() and not path.with_suffix(".md").exists()  # regraded next time
    assert not job.staging_path(submission.student).exists()


def test_a_local_batch_accepts_its_own_result_and_writes_its_reports(job, submission):
    path = result_path(job.out, job.tp, submission.student)

    def run(request, log, *, timeout_s):
        assert Path(request["out"]) == job.staging_path(submission.student)
        results.save(_result(job, "ana", submission.sha256), Path(request["out"]))
        return 0

    assert _grade_in_child(job, submission, 0, run).kind == "graded"
    assert results.load(path).student == "ana"
    assert path.with_suffix(".md").is_file() and path.with_suffix(".html").is_file()
    assert not job.staging_path(submission.student).exists()


@pytest.mark.parametrize("text, message", [
    ("{", "JSON inválido"),
    ("[]", "se esperaba un objeto JSON"),
    ('{"schema": "otro"}', "esquema 'otro'"),
])
def test_accept_refuses_what_is_not_a_result_and_writes_nothing(job, submission, text, message):
    event = accept(job, "ana", submission.sha256, text, source="el calificador")
    assert (event.kind, event.result) == ("failed", None)
    assert message in event.message
    assert not (job.out / job.tp).exists()


def test_a_cluster_task_carries_exactly_the_files_the_fingerprint_covers(job):
    files, course_file = course_files(job)
    entry = job.course.tp(job.tp)
    covered = {path.resolve() for folder in tp_folders(entry) for path in tp_files(folder)}
    base = job.course_file.resolve().parent
    carried = {(base / name).resolve() for name in files if name != course_file}
    assert carried == covered
