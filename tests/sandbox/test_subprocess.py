"""The subprocess sandbox and the trusted session: every failure stays in its own call."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from waiting import wait_until  # tests/ is on sys.path (pytest prepend import mode)

from grader.engine.session import RemoteObject, Session
from grader.errors import ProtocolError, StudentError, WorkerCrash, WorkerMemory, WorkerTimeout
from grader.sandbox import subprocess as sandbox_subprocess
from grader.sandbox.base import Limits
from grader.sandbox.subprocess import NoIsolationWarning, SubprocessBackend

ZOO = Path(__file__).parent.parent / "fixtures" / "worker" / "zoo.py"
SCRATCH_WRITER = ZOO.parent / "scratch_writer.py"
REPO = Path(__file__).parent.parent.parent
# These need bubblewrap and fail (never skip) without it: SubprocessBackend(isolation="bwrap")
# raises, naming the package to install.
needs_bwrap = pytest.mark.bwrap


@pytest.fixture(params=["bwrap", "none"])
def backend(request):
    if request.param == "bwrap" and os.system("command -v bwrap >/dev/null") != 0:
        pytest.fail("bubblewrap must be installed for the test suite (apt-get install bubblewrap)")
    return SubprocessBackend(isolation=request.param)


@pytest.fixture
def session(backend):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=2, memory_mb=1024))
    yield s
    s.close()


def test_calls_return_data_as_plain_copies(session):
    out, cache = session.module().linear_forward(np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0))
    np.testing.assert_array_equal(out, np.ones((2, 4)) * 3 + np.arange(4.0))
    assert type(cache) is tuple and type(cache[0]) is np.ndarray


def test_objects_stay_remote_with_attributes_items_and_methods(session):
    model = session.module().Model(3)
    assert type(model) is RemoteObject
    np.testing.assert_array_equal(model.params["W1"], np.ones((3, 3)))
    model.params = {"W1": np.zeros((1, 1))}
    np.testing.assert_array_equal(model.params["W1"], np.zeros((1, 1)))
    assert model.loss(np.ones(5)) == 5.0


def test_remote_objects_can_be_passed_back_as_arguments(session):
    module = session.module()
    model = module.Model(2)
    assert module.identity(model).loss(np.ones(2)) == 2.0


def test_in_place_changes_to_arguments_reach_the_caller(session):
    x = np.ones(3)
    session.module().scale_in_place(x, 4.0)
    np.testing.assert_array_equal(x, [4.0, 4.0, 4.0])
    params = {"running_mean": np.zeros(2)}
    original = params["running_mean"]
    session.module().update_dict(params)
    np.testing.assert_array_equal(original, [1.0, 1.0])
    assert set(params) == {"running_mean", "new_key"}


def test_arguments_not_changed_are_left_alone(session):
    x = np.arange(3.0)
    session.module().add(x, 1.0)
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("name", ["returns_subclass", "returns_object_array", "returns_lying_float"])
def test_values_with_tricks_come_back_as_remote_objects_never_as_data(session, name):
    value = getattr(session.module(), name)()
    assert type(value) is RemoteObject


def test_student_exceptions_arrive_with_type_message_and_student_frames(session):
    with pytest.raises(StudentError) as caught:
        session.module().raises_value_error()
    assert caught.value.type_name == "ValueError"
    assert caught.value.message == "algo salió mal"
    assert "raises_value_error" in caught.value.student_traceback


def test_an_infinite_loop_times_out_and_the_next_call_works(session):
    with pytest.raises(WorkerTimeout, match="no terminó en 2 s"):
        session.module().infinite_loop()
    assert session.module().add(1, 2) == 3
    assert session.restarts == 1


def test_os_exit_is_a_crash_with_the_exit_code(session):
    with pytest.raises(WorkerCrash, match="código 7"):
        session.module().exits_process()
    assert session.module().add(1, 2) == 3


def test_sys_exit_is_a_crash_not_a_pass(session):
    with pytest.raises(WorkerCrash, match=r"sys\.exit"):
        session.module().calls_sys_exit()
    assert session.module().add(2, 2) == 4


def test_memory_exhaustion_is_reported_as_memory(backend):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=30, memory_mb=768))
    try:
        with pytest.raises(WorkerMemory, match="sin memoria"):
            s.module().eats_memory()
        assert s.module().add(1, 1) == 2
    finally:
        s.close()


def test_garbage_on_the_channel_is_a_protocol_failure(session):
    with pytest.raises(ProtocolError):
        session.module().writes_garbage_to_channel()
    assert session.module().add(1, 1) == 2


def test_objects_of_a_dead_worker_refuse_to_be_used(session):
    model = session.module().Model(2)
    with pytest.raises(WorkerCrash):
        session.module().exits_process()
    with pytest.raises(WorkerCrash, match="ya terminó"):
        model.loss(np.ones(2))


def test_output_is_captured_and_capped(session):
    session.module().prints_a_lot()
    output = session.take_output()
    assert output.startswith("zoo importado\nlínea 0\n")
    assert "caracteres omitidos" in output
    assert len(output) < 20_000


def test_the_whole_submission_has_a_deadline(backend):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=5, submission_timeout_s=1))
    try:
        with pytest.raises(WorkerTimeout):
            s.module().infinite_loop()
        with pytest.raises(WorkerTimeout, match="tiempo total"):
            s.module()
            s.module().add(1, 1)
    finally:
        s.close()


def test_importing_gets_its_own_longer_limit(backend):
    slow = Path(__file__).parent.parent / "fixtures" / "worker" / "slow_import.py"
    s = Session(backend, slow, "slow_import", Limits(call_timeout_s=0.5, import_timeout_s=10))
    try:
        assert s.module().ready() is True
    finally:
        s.close()


def test_a_module_that_does_not_import_fails_every_time_with_its_error(tmp_path, backend):
    broken = tmp_path / "tp1.py"
    broken.write_text("x = 1\ndef f(:\n")
    s = Session(backend, broken, "tp1", Limits(call_timeout_s=2))
    try:
        for _ in range(30):
            with pytest.raises(StudentError, match="línea 2") as raised:
                s.module()
        assert s.generation == 1
        # Raising the same exception object again grows its traceback every time: by check 90,
        # formatting it took most of a second per check.
        depth = 0
        tb = raised.value.__traceback__
        while tb is not None:
            depth, tb = depth + 1, tb.tb_next
        assert depth < 10
    finally:
        s.close()


def test_the_worker_environment_holds_no_secrets(session, monkeypatch):
    monkeypatch.setenv("GRADER_TEST_SECRET", "hunter2")
    session.close()
    environment = session.module().environment()
    assert "GRADER_TEST_SECRET" not in environment
    assert environment["OMP_NUM_THREADS"] == "1"
    assert environment["OMP_WAIT_POLICY"] == "PASSIVE"  # idle OpenMP threads sleep (issue 17)
    assert session.module().SECRET_ENV == ""


@needs_bwrap
def test_bwrap_hides_the_course_repository_and_runs_unprivileged():
    s = Session(SubprocessBackend(isolation="bwrap"), ZOO, "zoo", Limits(call_timeout_s=5))
    try:
        module = s.module()
        assert not module.can_see(str(REPO / "reference_solutions"))
        assert not module.can_see(str(REPO / "assignments"))
        assert not module.can_see(str(Path.home() / ".bash_history"))
        assert module.whoami() != 0
    finally:
        s.close()


@needs_bwrap
def test_python_installed_under_tmp_stays_visible(tmp_path, monkeypatch):
    # A virtualenv in /tmp (a fresh CI clone) was hidden by the sandbox's private /tmp.
    (tmp_path / "marker.txt").write_text("")
    tmp_path.chmod(0o755)  # as a virtualenv's folder is: the sandbox's uid must read it
    dirs = sandbox_subprocess._python_dirs()
    monkeypatch.setattr(sandbox_subprocess, "_python_dirs", lambda: [*dirs, str(tmp_path)])
    s = Session(SubprocessBackend(isolation="bwrap"), ZOO, "zoo", Limits(call_timeout_s=5))
    try:
        assert s.module().can_see(str(tmp_path / "marker.txt"))
    finally:
        s.close()


@needs_bwrap
def test_bwrap_has_no_network():
    s = Session(SubprocessBackend(isolation="bwrap"), ZOO, "zoo", Limits(call_timeout_s=5))
    try:
        assert s.module().network_interfaces() == ["lo"]
    finally:
        s.close()


def test_process_count_is_limited(tmp_path):
    s = Session(SubprocessBackend(isolation="bwrap" if os.system("command -v bwrap >/dev/null")
                                  == 0 else "none"),
                ZOO, "zoo", Limits(call_timeout_s=10, processes=16))
    try:
        started = s.module().fork_children(200)
        assert started < 200
    finally:
        s.close()


@needs_bwrap
def test_daemons_the_student_starts_do_not_outlive_the_worker():
    s = Session(SubprocessBackend(isolation="bwrap"), ZOO, "zoo", Limits(call_timeout_s=5))
    try:
        s.module().spawn_daemon(4242)
    finally:
        s.close()
    # It sleeps 4242 s: gone within the deadline means it died with the worker, not on its own.
    wait_until(lambda: subprocess.run(["pgrep", "-f", "sleep 4242"], capture_output=True,
                                      text=True).stdout.strip() == "",
               timeout_s=10, what="the student's daemon to end with the worker")


def test_no_cgroup_is_left_behind(monkeypatch):
    made = []
    original = sandbox_subprocess._PidsCgroup

    def recording(limit):
        made.append(original(limit))
        return made[-1]

    monkeypatch.setattr(sandbox_subprocess, "_PidsCgroup", recording)
    s = Session(SubprocessBackend(isolation="none"), ZOO, "zoo", Limits(call_timeout_s=5))
    s.module().spawn_daemon(4343)
    s.close()
    assert made and all(c.path is None or not c.path.exists() for c in made)


def test_without_bubblewrap_grading_warns_loudly(monkeypatch):
    monkeypatch.setattr("grader.sandbox.subprocess.bwrap_path", lambda: None)
    with pytest.warns(NoIsolationWarning, match="SIN aislamiento"):
        backend = SubprocessBackend()
    assert backend.describe()["isolation"] == "none"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubprocessBackend(isolation="none")


def test_relative_writes_land_in_scratch_space_and_the_submission_stays_read_only(backend):
    s = Session(backend, SCRATCH_WRITER, "scratch_writer", Limits(call_timeout_s=5))
    try:
        student = s.module()
        cwd, content = student.save()
        assert content == "png"
        if backend.isolated:
            assert cwd == "/tmp"
            with pytest.raises(StudentError, match="Read-only file system"):
                student.overwrite_self()
    finally:
        s.close()
