"""Batches: every submission graded in the sandbox, in parallel, resumable after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import wait_until  # tests/ is on sys.path (pytest prepend import mode)

from grader import results
from grader.batch.local import grade_batch
from grader.errors import UsageError
from grader.results import Status

pytestmark = pytest.mark.slow


def students(course: Path) -> Path:
    return course / "students"


def statuses(result) -> dict[str, str]:
    return {c.id: c.status.value for c in result.checks}


def test_each_outcome_gets_its_status_and_only_its_points(mini_course):
    events = []
    summary = grade_batch(mini_course / "course.toml", "tp1", students(mini_course),
                          mini_course / "res", jobs=2, on_event=events.append)
    assert summary.graded == 6 and not summary.failed
    got = {e.student: e.result for e in events}
    assert got["passes_all"].score == 10.0
    assert statuses(got["infinite_loop"])["public::test_loop"] == "TIMEOUT"
    assert got["infinite_loop"].score == round(10 * 2 / 3, 2)
    assert statuses(got["exits_process"])["public::test_loop"] == "CRASH"
    assert got["exits_process"].score == round(10 * 2 / 3, 2)
    assert got["syntax_error"].score == 0.0
    assert "línea 5" in got["syntax_error"].load_error
    assert {c.status for c in got["syntax_error"].checks} == {Status.ERROR}
    assert got["uses_torch"].score == round(10 * 1 / 3, 2)
    assert "solo con numpy" in got["uses_torch"].checks[0].message
    transposed = got["fails_linear_transposed"]
    assert transposed.score == round(10 * 1 / 3, 2)
    assert "tiene forma (5, 3); se esperaba (3, 5)" in transposed.checks[0].message
    assert "calculando la capa lineal" in transposed.checks[0].output


def test_each_result_is_a_valid_file_with_a_markdown_report(mini_course):
    grade_batch(mini_course / "course.toml", "tp1", students(mini_course), mini_course / "res",
                jobs=2)
    for path in (mini_course / "res" / "tp1").glob("*.json"):
        loaded = results.load(path)
        assert loaded.schema == "grader.result/1"
        assert path.with_suffix(".md").read_text().startswith("# TP1: devolución para ")


def test_a_second_run_grades_only_what_changed(mini_course):
    course, folder, out = mini_course / "course.toml", students(mini_course), mini_course / "res"
    grade_batch(course, "tp1", folder, out, jobs=2)
    (folder / "passes_all.py").write_text((folder / "passes_all.py").read_text() + "\n# v2\n")
    summary = grade_batch(course, "tp1", folder, out, jobs=2)
    assert (summary.graded, summary.reused) == (1, 5)


def test_a_sandbox_that_cannot_start_produces_no_grades(mini_course):
    course = mini_course / "course.toml"
    course.write_text(course.read_text() + "memory_mb = 1\n")
    summary = grade_batch(course, "tp1", students(mini_course), mini_course / "res", jobs=2)
    assert summary.graded == 0 and len(summary.failed) == 6
    assert "el worker no pudo arrancar" in summary.failed[0]
    assert not list((mini_course / "res" / "tp1").glob("*.json"))


def test_inprocess_is_refused_for_grading(mini_course):
    with pytest.raises(UsageError, match="nunca para calificar"):
        grade_batch(mini_course / "course.toml", "tp1", students(mini_course),
                    mini_course / "res", jobs=1, backend="inprocess")


def processes_naming(text: str) -> list[int]:
    """Processes on this machine whose command line has ``text`` (not zombies: theirs is empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _gradebook(course: Path, out: Path, csv: Path) -> str:
    subprocess.run([sys.executable, "-m", "grader.cli", "gradebook", str(out), "--out", str(csv),
                    "--course", str(course)], check=True, capture_output=True)
    return csv.read_text()


def test_a_batch_killed_midway_resumes_and_gives_the_same_gradebook(mini_course, tmp_path):
    course, folder = mini_course / "course.toml", students(mini_course)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "grader.cli", "grade", "tp1", str(folder), "--out", str(out),
               "--jobs", "1", "--course", str(course)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: len(list((out / "tp1").glob("*.json"))) >= 2, timeout_s=60,
               what="two results written")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # Its trusted children write the results themselves and die with it, not at the same instant.
    wait_until(lambda: not processes_naming(str(out)), timeout_s=30,
               what="the killed batch's children to end")
    done_before = {p.name: p.stat().st_mtime_ns for p in (out / "tp1").glob("*.json")}
    assert 2 <= len(done_before) < 6
    # SIGKILL can land while a result is being written: a half-written temporary may remain,
    # never a half-written result. The rerun clears it, and every result has its report.
    (out / "tp1" / ".ana.md.x1y2z3.tmp").write_text("a medio escribir")
    (out / "tp1" / next(iter(done_before))).with_suffix(".md").unlink()

    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert not list((out / "tp1").glob(".*.tmp"))
    assert {p.stem for p in (out / "tp1").glob("*.md")} == {
        p.stem for p in (out / "tp1").glob("*.json")}
    assert f"{len(done_before)} ya estaban" in rerun.stderr
    for name, mtime in done_before.items():
        assert (out / "tp1" / name).stat().st_mtime_ns == mtime

    clean = tmp_path / "clean"
    subprocess.run([*command[:7], str(clean), *command[8:]], check=True, capture_output=True)
    assert _gradebook(course, out, tmp_path / "a.csv") == _gradebook(course, clean, tmp_path / "b.csv")


def test_ctrl_c_keeps_what_was_graded_and_says_how_to_continue(mini_course, tmp_path):
    course, folder = mini_course / "course.toml", students(mini_course)
    # Graded last (one slot, by name), slow to import: the batch is surely still running when
    # Ctrl-C comes, however fast the others are.
    (folder / "zz_slow.py").write_text("import time\ntime.sleep(8)\n"
                                      + (folder / "passes_all.py").read_text())
    out = tmp_path / "interrupted"
    command = [sys.executable, "-m", "grader.cli", "grade", "tp1", str(folder), "--out", str(out),
               "--jobs", "1", "--course", str(course)]
    # A terminal's Ctrl-C sends SIGINT to the whole foreground process group.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    wait_until(lambda: list((out / "tp1").glob("*.json")), timeout_s=60, what="a result written")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "volvé a correr el mismo comando" in stderr
    kept = list((out / "tp1").glob("*.json"))
    assert 1 <= len(kept) < 7
    for path in kept:
        results.load(path)
    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0 and f"{len(kept)} ya estaban" in rerun.stderr


def test_grading_without_bubblewrap_says_so_before_starting(mini_course, monkeypatch):
    from grader.sandbox.subprocess import NoIsolationWarning

    monkeypatch.setattr("grader.sandbox.subprocess.bwrap_path", lambda: None)
    with pytest.warns(NoIsolationWarning, match="SIN aislamiento"):
        grade_batch(mini_course / "course.toml", "tp1", students(mini_course), mini_course / "res",
                    jobs=2)


def test_a_corrupt_result_file_is_regraded(mini_course):
    course, folder, out = mini_course / "course.toml", students(mini_course), mini_course / "res"
    grade_batch(course, "tp1", folder, out, jobs=2)
    (out / "tp1" / "passes_all.json").write_text(json.dumps({"schema": "otro"}))
    summary = grade_batch(course, "tp1", folder, out, jobs=2)
    assert summary.graded == 1
    assert results.load(out / "tp1" / "passes_all.json").score == 10.0


def test_changing_the_checks_regrades_everything(mini_course):
    course, folder, out = mini_course / "course.toml", students(mini_course), mini_course / "res"
    grade_batch(course, "tp1", folder, out, jobs=2)
    hidden = mini_course / "assignment" / "hidden" / "test_hidden.py"
    hidden.write_text(hidden.read_text() + "\n")
    summary = grade_batch(course, "tp1", folder, out, jobs=2)
    assert summary.graded == 6


def test_nothing_is_left_running_after_a_batch(mini_course):
    grade_batch(mini_course / "course.toml", "tp1", students(mini_course), mini_course / "res",
                jobs=2)
    # The last launched-ahead worker is stopped as its trusted process exits: wait for that, not
    # for a fixed time.
    wait_until(lambda: not subprocess_workers(), timeout_s=60,
               what="no sandboxed worker left running")


def subprocess_workers() -> list[str]:
    """Workers of the subprocess backend on this machine (docker's, in their containers' cgroups,
    belong to other runs: a benchmark or another agent's batch)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"_graderrt.worker" not in cmdline.read_bytes():
                continue
            if b"docker" in (cmdline.parent / "cgroup").read_bytes():
                continue
        except OSError:
            continue
        found.append(cmdline.parent.name)
    return found


def test_copying_results_elsewhere_keeps_them_valid(mini_course, tmp_path):
    grade_batch(mini_course / "course.toml", "tp1", students(mini_course), mini_course / "res",
                jobs=2)
    shutil.copytree(mini_course / "res", tmp_path / "copy")
    assert results.load(tmp_path / "copy" / "tp1" / "passes_all.json").score == 10.0


def test_one_warm_trusted_process_per_slot_grades_submission_after_submission(mini_course):
    out = mini_course / "res"
    summary = grade_batch(mini_course / "course.toml", "tp1", students(mini_course), out, jobs=1)
    assert summary.graded == 6
    pids = {results.load(p).environment["trusted_pid"] for p in (out / "tp1").glob("*.json")}
    assert len(pids) == 1
    assert not own_children(), "the warm process ends with the batch"


def test_the_first_slots_trusted_process_starts_before_the_batch_hashes_and_dispatches(mini_course):
    # issue 23: it gets ready (imports, reference, first worker) while the batch is prepared
    running_at_start = []
    summary = grade_batch(mini_course / "course.toml", "tp1", students(mini_course),
                          mini_course / "res", jobs=1,
                          on_start=lambda n: running_at_start.append(own_children()))
    assert summary.graded == 6
    assert len(running_at_start) == 1 and len(running_at_start[0]) == 1
    pids = {results.load(p).environment["trusted_pid"]
            for p in (mini_course / "res" / "tp1").glob("*.json")}
    assert pids == {int(running_at_start[0][0])}, "the process started early graded them all"
    assert not own_children()


def test_a_batch_with_nothing_to_grade_starts_no_trusted_process(mini_course, monkeypatch):
    from grader.batch.warm import WarmChild

    course, folder, out = mini_course / "course.toml", students(mini_course), mini_course / "res"
    grade_batch(course, "tp1", folder, out, jobs=2)
    started = []
    ensure = WarmChild._ensure
    monkeypatch.setattr(WarmChild, "_ensure",
                        lambda self, logs: started.append(logs) or ensure(self, logs))
    summary = grade_batch(course, "tp1", folder, out, jobs=2)
    assert (summary.reused, summary.graded, started) == (6, 0, [])


def test_a_batch_refused_by_the_lock_starts_nothing_and_writes_nothing(mini_course, monkeypatch):
    """Priming writes into OUT/TP/logs, which belongs to the run holding the lock: a refused
    batch must not have started a process or written a file there."""
    from grader.batch import lock
    from grader.batch.warm import WarmChild

    started = []
    ensure = WarmChild._ensure
    monkeypatch.setattr(WarmChild, "_ensure",
                        lambda self, logs: started.append(ensure(self, logs)) or started[-1])
    results = mini_course / "res" / "tp1"
    with lock.batch_lock(results), pytest.raises(UsageError, match="está usando"):
        grade_batch(mini_course / "course.toml", "tp1", students(mini_course),
                    mini_course / "res", jobs=2)
    assert started == [] and not own_children()
    assert list(results.iterdir()) == []


def own_children() -> list[str]:
    """Trusted children (``python -m grader.batch.child``) whose parent is this test process:
    other agents' batches, and other tests' helpers still exiting (a Dask cluster), do not
    count."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"grader.batch.child" in command:
            found.append(stat.parent.name)
    return found


def test_own_children_sees_a_trusted_child_of_this_process():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                              "grader.batch.child"], stdin=subprocess.PIPE)
    try:
        assert own_children() == [str(child.pid)]
    finally:
        child.communicate()
    assert own_children() == []


def test_a_grader_failure_costs_only_its_submission_and_a_fresh_process_goes_on(mini_course):
    folder = students(mini_course)
    # A file that disappears after the batch listed it makes the trusted process raise (a bad
    # file of the student's is a load error instead, graded 0). With one slot, submissions are
    # graded in order: the first one's event comes while the fifth is still waiting.
    def vanish(event):
        (folder / "syntax_error.py").unlink(missing_ok=True)

    out = mini_course / "res"
    (folder / "aaa_first.py").write_text((folder / "passes_all.py").read_text())
    summary = grade_batch(mini_course / "course.toml", "tp1", folder, out, jobs=1,
                          on_event=vanish)
    assert [f.split(":")[0] for f in summary.failed] == ["syntax_error"]
    assert "FileNotFoundError" in (out / "tp1" / "logs" / "syntax_error.log").read_text()
    pids = {s: results.load(out / "tp1" / f"{s}.json").environment["trusted_pid"]
            for s in ("aaa_first", "uses_torch")}
    assert pids["aaa_first"] != pids["uses_torch"], "a process that failed is never reused"
    assert summary.graded == 6


def test_subprocess_workers_sees_a_running_worker(tmp_path):
    from grader.engine.session import Session
    from grader.sandbox.base import Limits
    from grader.sandbox.subprocess import SubprocessBackend

    module = tmp_path / "tp1.py"
    module.write_text("x = 1\n")
    session = Session(SubprocessBackend(), module, "tp1", Limits())
    try:
        assert session.module().x == 1
        assert subprocess_workers()
    finally:
        session.close()
