"""Grading on a Dask cluster (``grader grade ... --cluster``): the results store of a local run,
resumable, and no result lost when a worker dies mid-batch.

The cluster is a real one on loopback: a scheduler and two worker processes (each restarted by
its nanny when killed), started once for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import distributed
import pytest
from click.testing import CliRunner
from waiting import wait_until  # tests/ is on sys.path (pytest prepend import mode)

from grader import results
from grader.batch import cluster as grader_cluster
from grader.batch.local import grade_batch
from grader.batch.request import BatchJob
from grader.cli import main
from grader.course import load_course
from grader.errors import UsageError
from grader.results import SubmissionResult
from grader.sandbox.base import Limits
from grader.submissions import Submission

REPO = Path(__file__).parents[2]
CLASS = REPO / "examples" / "class" / "tp1"
FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def dask_cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    yield cluster.scheduler_address, client
    client.close()
    cluster.close()


def two_workers(client: distributed.Client) -> dict[str, int]:
    """Waits until both workers run (a killed one is restarted by its nanny); their pids."""
    client.wait_for_workers(2, timeout=60)
    return client.run(os.getpid)


def grade_command(tp: str, folder: Path, out: Path, address: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", "grade", tp, str(folder), "--out", str(out),
            "--cluster", address, *extra]


def gradebook(out: Path, book: Path, *extra: str) -> str:
    run = subprocess.run([sys.executable, "-m", "grader.cli", "gradebook", str(out), "--out",
                          str(book), *extra], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return book.read_text()


@dataclass
class Killed:
    pid: int
    key: str


def kill_a_worker_while_it_grades(client: distributed.Client, pids: dict[str, int]) -> Killed:
    """SIGKILLs the first worker seen executing a grading task."""
    def grading() -> tuple[str, str] | None:
        running = client.run(lambda dask_worker: sorted(str(t.key) for t in
                                                        dask_worker.state.executing))
        return next(((worker, keys[0]) for worker, keys in running.items()
                     if keys and keys[0].startswith("grade-")), None)

    worker, key = wait_until(grading, timeout_s=120, interval_s=0.1,
                             what="a grading task running on a worker")
    os.kill(pids[worker], signal.SIGKILL)
    return Killed(pids[worker], key)


@dataclass
class Batch:
    out: Path
    returncode: int
    stderr: str
    killed: Killed


@pytest.fixture(scope="module")
def tp1_on_cluster(dask_cluster, tmp_path_factory) -> Batch:
    """The example class's TP1 graded on the cluster, one worker SIGKILLed mid-task."""
    address, client = dask_cluster
    pids = two_workers(client)
    out = tmp_path_factory.mktemp("cluster")
    process = subprocess.Popen(grade_command("tp1", CLASS, out, address), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        killed = kill_a_worker_while_it_grades(client, pids)
        _, stderr = process.communicate(timeout=600)
    finally:
        process.kill()
    return Batch(out, process.returncode, stderr, killed)


@pytest.mark.slow
def test_the_cluster_gives_the_gradebook_and_checks_of_a_local_run(tp1_on_cluster, example_class,
                                                                    tmp_path):
    assert tp1_on_cluster.returncode == 0, tp1_on_cluster.stderr
    # The local side is the example class as README's main job grades it (shared fixture).
    local = tmp_path / "local"
    (local / "tp1").mkdir(parents=True)
    for path in (example_class("tp1") / "tp1").glob("*.json"):
        (local / "tp1" / path.name).write_bytes(path.read_bytes())
    assert gradebook(tp1_on_cluster.out, tmp_path / "cluster.csv") == gradebook(
        local, tmp_path / "local.csv")
    names = sorted(p.name for p in (tp1_on_cluster.out / "tp1").glob("*.json"))
    assert names == sorted(p.name for p in (local / "tp1").glob("*.json"))
    for name in names:
        on_cluster = results.load(tp1_on_cluster.out / "tp1" / name)
        here = results.load(local / "tp1" / name)
        assert [(c.id, c.status, c.points, c.message) for c in on_cluster.checks] == [
            (c.id, c.status, c.points, c.message) for c in here.checks], name
        assert (on_cluster.fingerprint, on_cluster.submission_sha256) == (
            here.fingerprint, here.submission_sha256)


@pytest.mark.slow
def test_the_cluster_writes_the_files_a_local_run_writes(tp1_on_cluster, example_class):
    local = {p.relative_to(example_class("tp1")).as_posix() for p in
             (example_class("tp1") / "tp1").rglob("*")}
    on_cluster = {p.relative_to(tp1_on_cluster.out).as_posix() for p in
                  (tp1_on_cluster.out / "tp1").rglob("*")}
    assert on_cluster == local
    # The same report, but for the day each was graded on.
    cluster_day = results.load(tp1_on_cluster.out / "tp1" / "carla_lopez.json").started_at[:10]
    local_day = results.load(example_class("tp1") / "tp1" / "carla_lopez.json").started_at[:10]
    report = (tp1_on_cluster.out / "tp1" / "carla_lopez.md").read_text()
    assert report.replace(cluster_day, local_day) == (
        example_class("tp1") / "tp1" / "carla_lopez.md").read_text()


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_no_result(tp1_on_cluster, dask_cluster):
    _, client = dask_cluster
    assert tp1_on_cluster.killed.pid not in two_workers(client).values()  # it did die
    student = tp1_on_cluster.killed.key.removeprefix("grade-tp1-").rsplit("-", 1)[0]
    assert results.load(tp1_on_cluster.out / "tp1" / f"{student}.json").student == student
    assert "7 entregas: 7 calificadas ahora, 0 ya estaban, 0 sin resultado" in tp1_on_cluster.stderr


@pytest.mark.slow
def test_a_rerun_on_the_cluster_reuses_every_result(tp1_on_cluster, dask_cluster):
    address, _ = dask_cluster
    before = {p.name: p.stat().st_mtime_ns for p in (tp1_on_cluster.out / "tp1").glob("*.*")}
    rerun = subprocess.run(grade_command("tp1", CLASS, tp1_on_cluster.out, address), cwd=REPO,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "7 entregas: 0 calificadas ahora, 7 ya estaban, 0 sin resultado" in rerun.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (tp1_on_cluster.out / "tp1").glob("*.*")} == before


def mini_class(tmp_path: Path, students: dict[str, str], limits: str = "") -> Path:
    """A copy of the mini course whose ``students/`` holds only ``students`` (name: source)."""
    course = tmp_path / "mini_course"
    shutil.copytree(FIXTURES / "mini_course", course)
    shutil.rmtree(course / "students")
    (course / "students").mkdir()
    for name, source in students.items():
        (course / "students" / name).write_text(source)
    if limits:
        (course / "course.toml").write_text((course / "course.toml").read_text() + limits)
    return course


PASSES = (FIXTURES / "mini_course" / "students" / "passes_all.py").read_text()


@pytest.mark.slow
def test_ctrl_c_cancels_running_tasks_and_keeps_written_results(dask_cluster, tmp_path):
    address, client = dask_cluster
    two_workers(client)
    course = mini_class(tmp_path, {"passes_all.py": PASSES,
                                   "sleeps_at_import.py": "import time\ntime.sleep(120)\n" + PASSES})
    out = tmp_path / "out"
    process = subprocess.Popen(grade_command("tp1", course / "students", out, address, "--course",
                                             str(course / "course.toml")),
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: (out / "tp1" / "passes_all.json").is_file(), timeout_s=120, interval_s=0.1,
               what="the first result")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrumpido" in stderr
    assert results.load(out / "tp1" / "passes_all.json").score == 10.0
    assert not (out / "tp1" / "sleeps_at_import.json").exists()
    # The sleeping submission's task was cancelled and its trusted child killed: both workers are
    # idle long before its two minutes are up.
    wait_until(lambda: not any(client.run(
        lambda dask_worker: len(dask_worker.state.executing)).values()), timeout_s=60,
        interval_s=0.2, what="both Dask workers idle")


@pytest.mark.slow
def test_a_grader_failure_on_a_worker_gives_no_result_like_a_local_run(dask_cluster, tmp_path):
    address, client = dask_cluster
    two_workers(client)
    course = mini_class(tmp_path, {"passes_all.py": PASSES}, limits="memory_mb = 1\n")
    out = tmp_path / "out"
    run = subprocess.run(grade_command("tp1", course / "students", out, address, "--course",
                                       str(course / "course.toml")),
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "1 entregas: 0 calificadas ahora, 0 ya estaban, 1 sin resultado" in run.stderr
    assert "el worker no pudo arrancar" in run.stderr
    assert not list((out / "tp1").glob("*.json"))
    assert "el worker no pudo arrancar" in (out / "tp1" / "logs" / "passes_all.log").read_text()


@pytest.mark.slow
def test_gpu_batches_need_a_worker_that_offers_gpus(dask_cluster, tmp_path):
    address, _ = dask_cluster
    course = mini_class(tmp_path, {"passes_all.py": PASSES})
    with pytest.raises(grader_cluster.ClusterUnavailable, match=r"ningún worker .* ofrece GPUs"):
        grade_batch(course / "course.toml", "tp1", course / "students", tmp_path / "out", jobs=1,
                    backend="docker", gpus="1", cluster=address)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch, unused_port):
    monkeypatch.setattr(grader_cluster, "CONNECT_TIMEOUT_S", 1)
    course = mini_class(tmp_path, {"passes_all.py": PASSES})
    with pytest.raises(grader_cluster.ClusterUnavailable, match="no pude conectarme al scheduler"):
        grade_batch(course / "course.toml", "tp1", course / "students", tmp_path / "out", jobs=1,
                    cluster=f"tcp://127.0.0.1:{unused_port}")


def test_without_distributed_cluster_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    course = mini_class(tmp_path, {"passes_all.py": PASSES})
    with pytest.raises(UsageError, match=r"pip install 'fiuba-ap-grader\[cluster\]'"):
        grade_batch(course / "course.toml", "tp1", course / "students", tmp_path / "out", jobs=1,
                    cluster="tcp://127.0.0.1:8786")


def test_jobs_does_not_apply_to_a_cluster(tmp_path):
    run = CliRunner().invoke(main, ["grade", "tp1", str(tmp_path), "--out", str(tmp_path / "o"),
                                    "--jobs", "2", "--cluster", "tcp://127.0.0.1:8786"])
    assert run.exit_code == 2
    assert "--jobs no se usa con --cluster" in run.output


# --- what the client accepts from a worker ---------------------------------------------------


@pytest.fixture
def job(tmp_path) -> BatchJob:
    course_file = mini_class(tmp_path, {"passes_all.py": PASSES}) / "course.toml"
    return BatchJob(course_file=course_file, course=load_course(course_file), tp="tp1",
                    out=tmp_path / "out", backend="subprocess", limits=Limits(), fingerprint="f" * 64)


def reply(**result_fields: object) -> str:
    result = SubmissionResult(student="ana", tp="tp1", submission_file="ana.py",
                              submission_sha256="a" * 64, grader_version="0", fingerprint="f" * 64,
                              checks=[], exercises=[], earned=3.0, possible=3.0, score=10.0)
    data = {**result.to_dict(), **result_fields}
    return json.dumps({"returncode": 0, "result": json.dumps(data), "log": "ana: 10.00\n",
                       "worker": "tcp://10.0.0.7:4000"})


ANA = Submission(student="ana", path=Path("ana.py"))


def test_a_valid_reply_is_written_as_a_local_result(job):
    event = grader_cluster.take_reply(job, ANA, "a" * 64, reply())
    assert (event.kind, event.result and event.result.score) == ("graded", 10.0)
    assert results.load(job.out / "tp1" / "ana.json").score == 10.0
    assert (job.out / "tp1" / "ana.md").is_file()
    assert (job.out / "tp1" / "logs" / "ana.log").read_text() == "ana: 10.00\n"


@pytest.mark.parametrize(("bad_reply", "message"), [
    ("no es json", "JSON inválido"),
    (json.dumps({"returncode": 0}), "sin returncode, log, worker y result"),
    (reply(schema="otro"), "esquema 'otro'"),
    (reply(student="bruno"), "student 'bruno'; se esperaba 'ana'"),
    (reply(tp="tp2"), "tp 'tp2'; se esperaba 'tp1'"),
    (reply(submission_sha256="b" * 64), "submission_sha256 'bbbb"),
    (reply(fingerprint="0" * 64), "fingerprint '0000"),
    (json.dumps({"returncode": 1, "result": None, "log": "a\nb\nTraceback: boom\n",
                 "worker": "tcp://10.0.0.7:4000"}),
     "el calificador falló en tcp://10.0.0.7:4000 (código 1)"),
])
def test_a_reply_that_is_not_this_submissions_result_gives_no_result(job, bad_reply, message):
    event = grader_cluster.take_reply(job, ANA, "a" * 64, bad_reply)
    assert event.kind == "failed" and event.result is None
    assert message in event.message
    assert not (job.out / "tp1" / "ana.json").exists()
