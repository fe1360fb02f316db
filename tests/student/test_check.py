"""``grader check`` launches the student's worker before the checks are collected (issue 23): on
a student's two cores the worker's start-up overlaps the checks' imports, that worker is the one
the checks use, and no worker outlives the command, whatever happened to the file."""

from __future__ import annotations

import pytest

from grader.sandbox.base import Channel, Limits
from grader.sandbox.subprocess import SubprocessBackend
from grader.student import check
from grader.student.check import WorkerAhead, check_file


@pytest.fixture
def events(monkeypatch) -> list[tuple[str, Channel | None]]:
    """What ``check_file`` did, in order: each worker launched (with its channel) and the moment
    it handed the checks to pytest (``run_on_module``)."""
    seen: list[tuple[str, Channel | None]] = []
    launch, run_on_module = SubprocessBackend.launch, check.run_on_module

    def launched(self, filename: str, limits: Limits) -> Channel:
        channel = launch(self, filename, limits)
        seen.append(("launch", channel))
        return channel

    def checks(*args, **kwargs):
        seen.append(("checks", None))
        return run_on_module(*args, **kwargs)

    monkeypatch.setattr(SubprocessBackend, "launch", launched)
    monkeypatch.setattr(check, "run_on_module", checks)
    return seen


def test_the_worker_is_launched_before_the_checks_and_is_the_one_they_use(mini_course, monkeypatch,
                                                                          events):
    monkeypatch.chdir(mini_course)
    report = check_file("tp1", mini_course / "students" / "passes_all.py")
    assert report.passed
    assert [what for what, _ in events] == ["launch", "checks"]


def test_no_worker_outlives_the_command(mini_course, monkeypatch, events):
    monkeypatch.chdir(mini_course)
    for student in ("passes_all.py", "exits_process.py"):  # the second ends its worker itself
        check_file("tp1", mini_course / "students" / student)
    channels = [channel for what, channel in events if channel is not None]
    assert len(channels) == 2
    assert all(channel.process.poll() is not None for channel in channels)


def test_a_file_that_does_not_read_stops_the_worker_launched_for_it(mini_course, monkeypatch,
                                                                    events, tmp_path):
    monkeypatch.chdir(mini_course)
    notebook = tmp_path / "tp1.ipynb"
    notebook.write_text("esto no es un notebook", encoding="utf-8")
    report = check_file("tp1", notebook)
    assert report.load_error and not report.checks
    assert [what for what, _ in events] == ["launch"]
    assert events[0][1] is not None and events[0][1].process.poll() is not None


def test_a_torch_assignment_preloads_torch_in_the_worker_launched_ahead():
    backend = SubprocessBackend(isolation="none")
    ahead = WorkerAhead(backend, "tp3.py", Limits(), uses_torch=True)
    try:
        assert (ahead.preload, backend.preload) == (("torch",), ("torch",))
    finally:
        ahead.close()


def test_a_start_for_another_file_gets_a_fresh_worker(tmp_path, events):
    module = tmp_path / "otro.py"
    module.write_text("x = 1\n", encoding="utf-8")
    ahead = WorkerAhead(SubprocessBackend(isolation="none"), "tp1.py", Limits())
    channel = ahead.start(module, Limits())
    try:
        first, second = (c for _, c in events)
        assert channel is second and first is not None and first.process.poll() is not None
    finally:
        channel.close()
        ahead.close()


def test_the_command_skips_the_interpreters_last_collection_at_exit(mini_course, monkeypatch):
    import atexit
    import gc

    from click.testing import CliRunner

    from grader.cli import main

    at_exit: list = []
    monkeypatch.setattr(atexit, "register", lambda function, *args, **kwargs: at_exit.append(function))
    monkeypatch.chdir(mini_course)
    done = CliRunner().invoke(main, ["check", "tp1", "students/passes_all.py"])
    assert done.exit_code == 0, done.output
    assert gc.freeze in at_exit
