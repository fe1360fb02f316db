"""A call's time limit is CPU time, as the kernel counts it: load does not change a grade (issue 17).

Every test runs on both sandboxes. The wall clock stays a safety net only, for code that waits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.engine.session import Session
from grader.errors import WorkerTimeout
from grader.sandbox.base import Limits, tree_cpu_seconds
from grader.sandbox.docker import DockerBackend, DockerChannel
from grader.sandbox.subprocess import SubprocessBackend

ZOO = Path(__file__).parent.parent / "fixtures" / "worker" / "zoo.py"


@pytest.fixture(params=["subprocess", pytest.param("docker", marks=pytest.mark.docker)])
def backend(request):
    if request.param == "docker":
        return DockerBackend(image=request.getfixturevalue("sandbox_image"))
    return SubprocessBackend(isolation="bwrap")


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes() if name.isdigit() else b""
        except OSError:
            continue
        if stat:
            children.setdefault(int(stat[stat.rfind(b")") + 2:].split()[1]), []).append(int(name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


@contextlib.contextmanager
def preempted(s: Session):
    """Stops the worker's processes three quarters of the time, as a machine busy with other
    work does (but without depending on how this kernel shares cores between groups)."""
    channel = s._channel
    if isinstance(channel, DockerChannel):
        channel.cpu_seconds()
        root = channel._host_pid
    else:
        root = channel.process.pid
    done = threading.Event()

    def run():
        while not done.is_set():
            pids = descendants(root)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            time.sleep(0.3)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            time.sleep(0.1)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        for pid in descendants(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def session(backend, **limits) -> Session:
    return Session(backend, ZOO, "zoo", Limits(memory_mb=1024, **limits))


def test_a_call_within_its_cpu_budget_passes_however_busy_the_machine(backend):
    s = session(backend, call_timeout_s=2.5, wall_factor=8)
    try:
        s.module().add(1, 2)  # the worker's start and import are not part of the call
        with preempted(s):
            started = time.monotonic()
            assert s.module().burn(1.5) >= 1.5
            wall = time.monotonic() - started
    finally:
        s.close()
    # The point of the test: preempted, the call took longer in wall time than its limit,
    # which a wall-clock budget would have called a TIMEOUT.
    assert wall > 2.5


def test_a_call_over_its_cpu_budget_is_a_timeout_that_says_so(backend):
    s = session(backend, call_timeout_s=1)
    try:
        with pytest.raises(WorkerTimeout, match=r"no terminó en 1 s de CPU.*bucle infinito"):
            s.module().infinite_loop()
        assert s.module().add(1, 2) == 3
    finally:
        s.close()


def test_cpu_used_by_a_child_process_counts(backend):
    """Forking a worker to compute while the parent sleeps does not hide the CPU."""
    s = session(backend, call_timeout_s=1, wall_factor=20)
    try:
        # "de CPU", not "de reloj": the child's CPU stopped it, not the wall net (20 s).
        with pytest.raises(WorkerTimeout, match="s de CPU"):
            s.module().spins_in_a_child()
    finally:
        s.close()


def test_a_call_that_waits_hits_the_wall_net_which_names_load(backend):
    s = session(backend, call_timeout_s=0.5, wall_factor=4)
    try:
        with pytest.raises(WorkerTimeout, match=r"no terminó en 2 s de reloj.*sobrecargada"):
            s.module().sleeps(60)
    finally:
        s.close()


def test_tree_cpu_seconds_counts_descendants():
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'while True: pass']); time.sleep(60)")])
    try:
        deadline = time.monotonic() + 30
        while (tree_cpu_seconds(parent.pid) or 0) < 1.0:
            assert time.monotonic() < deadline, "the child's CPU never showed in its parent's tree"
            time.sleep(0.1)
    finally:
        subprocess.run(["pkill", "-KILL", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
    assert tree_cpu_seconds(2**22 + 12345) is None
