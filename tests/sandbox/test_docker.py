"""The docker backend, for real: images built without a registry, hardened containers, failures.

Needs a running Docker daemon (the README's test command starts one) and root for debootstrap;
these tests fail, never skip, without them. The first run bootstraps the Debian base and builds
the CPU image (a few minutes); later runs are cache hits.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from waiting import wait_until  # tests/ is on sys.path (pytest prepend import mode)

from grader.engine.session import Session
from grader.errors import (
    SandboxUnavailable,
    StudentError,
    UsageError,
    WorkerCrash,
    WorkerMemory,
    WorkerTimeout,
)
from grader.sandbox import images, seccomp
from grader.sandbox.base import PASSIVE_WAIT, Limits, sandbox_uid
from grader.sandbox.docker import CONTAINER_LABEL, DockerBackend
from grader.sandbox.gpus import parse_gpus

pytestmark = pytest.mark.docker
ZOO = Path(__file__).parent.parent / "fixtures" / "worker" / "zoo.py"
SCRATCH_WRITER = ZOO.parent / "scratch_writer.py"
PROBES = ZOO.parent / "kernel_probes.py"


@pytest.fixture
def backend(sandbox_image) -> DockerBackend:
    return DockerBackend(image=sandbox_image)


@pytest.fixture
def session(backend):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=10, memory_mb=1024, threads=1))
    yield s
    s.close()


def sandbox_containers() -> list[str]:
    done = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={CONTAINER_LABEL}=1"],
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.fixture
def containers_before() -> set[str]:
    """Sandbox containers that existed before the test (another suite's stopped leftovers, which
    the next batch removes): a test answers only for the ones it creates."""
    return set(sandbox_containers())


def new_containers(before: set[str]) -> set[str]:
    return set(sandbox_containers()) - before


def running_container(session: Session) -> dict:
    session.module()
    name = session._channel.name  # type: ignore[union-attr]
    done = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def test_rebuilding_with_nothing_changed_is_a_cache_hit(sandbox_image):
    report = images.build()
    assert report.cache_hit
    assert report.image == sandbox_image
    assert report.size_mb > 100


def test_the_image_holds_no_hidden_checks_or_reference(sandbox_image):
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", sandbox_image, "-c",
         "grep -rIl -e CANARY-HIDDEN -e CANARY-REFERENCE / --exclude-dir=proc --exclude-dir=sys "
         "2>/dev/null; true"], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.strip() == ""


def test_the_container_has_every_hardening_setting(session):
    info = running_container(session)
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/tmp": "rw,nosuid,nodev,size=256m"}
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"][0] == "no-new-privileges"
    # The subprocess backend's seccomp policy (the daemon keeps the profile's text).
    assert len(host["SecurityOpt"]) == 2 and host["SecurityOpt"][1].startswith("seccomp=")
    profile = json.loads(host["SecurityOpt"][1].removeprefix("seccomp="))
    assert profile == seccomp.docker_profile()
    assert host["PidsLimit"] == 64
    assert host["Memory"] == 1024 * 1024 * 1024
    assert host["MemorySwap"] == host["Memory"]  # no swap beyond the memory limit
    assert host["NanoCpus"] == 1_000_000_000
    ulimits = {u["Name"]: u["Hard"] for u in host["Ulimits"]}
    assert ulimits["fsize"] == 64 * 1024 * 1024
    assert ulimits["nofile"] == 256
    assert ulimits["core"] == 0
    mounts = info["Mounts"]
    assert [(m["Destination"], m["RW"]) for m in mounts] == [("/sandbox", False)]
    uid = sandbox_uid(0)  # the slot's own unprivileged uid (issue 15)
    assert info["Config"]["User"] == f"{uid}:{uid}"
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE",
                        "PYTHONHASHSEED", "MPLBACKEND", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                        "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TORCH_NUM_THREADS",
                        "GRADER_SIDE", "GRADER_CHANNEL", *PASSIVE_WAIT}
    assert env["GRADER_CHANNEL"] == "/sandbox"  # the folder of the channel's named pipes
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"  # idle OpenMP threads sleep (issue 17)
    assert session.module().whoami() == uid
    assert session.module().network_interfaces() == ["lo"]


def test_the_worker_environment_holds_no_secrets(session, monkeypatch):
    monkeypatch.setenv("GRADER_TEST_SECRET", "hunter2")
    assert "GRADER_TEST_SECRET" not in session.module().environment()


def test_writes_outside_the_scratch_tmpfs_fail_and_the_tmpfs_is_capped(session):
    zoo = session.module()
    assert zoo.try_write("/sandbox/notas.json", 10) == "OSError:30"  # read-only file system
    assert zoo.try_write("/opt/grader-runtime/x.py", 10).startswith("OSError:")
    assert zoo.try_write("/tmp/ok.bin", 1 << 20) == "ok"
    # 60 MiB files, below the per-file limit, until the 256 MiB tmpfs is full.
    results = [zoo.try_write(f"/tmp/big{i}.bin", 60 << 20) for i in range(6)]
    assert "OSError:28" in results  # no space left on device


def test_an_infinite_loop_times_out_and_the_container_is_removed(backend, containers_before):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=2))
    try:
        with pytest.raises(WorkerTimeout, match="no terminó en 2 s"):
            s.module().infinite_loop()
        assert s.module().add(1, 2) == 3
        assert s.restarts == 1
    finally:
        s.close()
    assert not new_containers(containers_before)


def test_os_exit_is_a_crash_with_the_exit_code(session):
    with pytest.raises(WorkerCrash, match="código 7"):
        session.module().exits_process()
    assert session.module().add(1, 2) == 3


def test_memory_exhaustion_is_reported_as_memory(backend):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=60, memory_mb=512))
    try:
        with pytest.raises(WorkerMemory, match="sin memoria"):
            s.module().eats_memory()
        assert s.module().add(1, 1) == 2
    finally:
        s.close()


def test_a_fork_bomb_stops_at_the_pids_limit(backend, containers_before):
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=20, processes=16))
    try:
        started = s.module().fork_children(200)
        assert started < 16
    finally:
        s.close()
    assert not new_containers(containers_before)


def test_daemon_errors_are_an_unavailable_sandbox_never_a_grade(backend, monkeypatch,
                                                                containers_before):
    original = DockerBackend.command

    def broken(self, name, workdir, limits):
        args = original(self, name, workdir, limits)
        return [*args[:2], "--no-such-docker-option", *args[2:]]

    monkeypatch.setattr(DockerBackend, "command", broken)
    monkeypatch.setattr("grader.engine.session.time.sleep", lambda s: None)
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=5))
    with pytest.raises(SandboxUnavailable, match="no-such-docker-option"):
        s.module()
    assert not new_containers(containers_before)


def test_a_missing_image_says_how_to_build_it():
    with pytest.raises(SandboxUnavailable, match="grader image build"):
        DockerBackend(image="grader-sandbox:no-such-tag")


def test_a_gpu_that_is_not_there_stops_grading_instead_of_using_the_cpu(sandbox_image):
    # This machine has no GPU (or no NVIDIA runtime): docker refuses the device request.
    backend = DockerBackend(image=sandbox_image, gpus="all")
    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=5))
    with pytest.raises(SandboxUnavailable, match=r"(?i)gpu|device driver"):
        s.module()


def test_gpus_option_is_validated():
    assert parse_gpus("2") == ("count", 2)
    assert parse_gpus("ALL") == ("all", 0)
    with pytest.raises(UsageError, match="--gpus"):
        parse_gpus("dos")


def test_a_killed_grader_leaves_only_a_stopped_container_that_the_next_batch_removes(
        backend, containers_before):
    from grader.sandbox.docker import remove_leftovers

    s = Session(backend, ZOO, "zoo", Limits(call_timeout_s=10))
    s.module()
    channel = s._channel
    assert channel is not None
    # What SIGKILL of the grader does: the docker CLI it started dies with it, and the kernel
    # closes the grader's ends of the channel's named pipes.
    channel.process.kill()
    channel.process.wait()
    channel._close_streams()
    # Its channel closed: the worker ends, nothing keeps running.
    wait_until(lambda: subprocess.run(["docker", "inspect", "--format", "{{.State.Status}}",
                                       channel.name], capture_output=True,
                                      text=True).stdout.strip() == "exited",
               timeout_s=60, interval_s=0.2, what="the container to exit with its channel closed")
    assert remove_leftovers() >= 1
    assert not new_containers(containers_before)
    s.close()  # the pipes of the dead CLI


def test_relative_writes_land_in_the_capped_tmp_and_the_submission_stays_read_only(backend):
    s = Session(backend, SCRATCH_WRITER, "scratch_writer", Limits(call_timeout_s=10, threads=1))
    try:
        student = s.module()
        assert student.save() == ("/tmp", "png")
        with pytest.raises(StudentError, match="Read-only file system"):
            student.overwrite_self()
    finally:
        s.close()


def test_a_worker_launched_ahead_exits_when_its_grader_dies_before_using_it(backend, tmp_path):
    """A spare worker (grader.sandbox.pool) waits for the grader to open its pipes; if the grader
    dies first, its docker CLI dies with it and the container must not wait forever."""
    workdir = tmp_path / "trabajo"
    workdir.mkdir()
    workdir.chmod(0o755)
    for pipe in ("to_worker", "from_worker"):
        os.mkfifo(workdir / pipe)
        (workdir / pipe).chmod(0o666)
    name = f"grader-test-{os.getpid()}"
    cli = subprocess.Popen(backend.command(name, workdir, Limits(threads=1)), stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def status() -> str:
        return subprocess.run(["docker", "inspect", "--format", "{{.State.Status}}", name],
                              capture_output=True, text=True).stdout.strip()

    def blocked_opening_a_fifo() -> bool:
        # The worker's process (seen from the host) sleeps in the kernel's fifo_open, which
        # waits for the other end in wait_for_partner.
        pids = subprocess.run(["docker", "top", name, "-o", "pid"], capture_output=True,
                              text=True).stdout.split()[1:]
        for pid in pids:
            try:
                if Path(f"/proc/{pid}/wchan").read_text() in ("fifo_open", "wait_for_partner"):
                    return True
            except OSError:
                continue
        return False

    try:
        wait_until(blocked_opening_a_fifo, timeout_s=120, interval_s=0.2,
                   what="the worker blocked opening its end of to_worker")
        cli.kill()  # what the grader's death does to the CLI (it dies with its parent)
        cli.wait()
        wait_until(lambda: status() == "exited", timeout_s=60, interval_s=0.2,
                   what="the container to exit once its CLI died")
    finally:
        assert cli.stdin is not None
        cli.stdin.close()
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_the_kernel_refuses_what_student_code_never_needs(sandbox_image):
    # The same probes as tests/sandbox/test_hardening.py, in a container of slot 2 (issue 15).
    session = Session(DockerBackend(image=sandbox_image, slot=2), PROBES, "kernel_probes",
                      Limits(call_timeout_s=20))
    try:
        probes = session.module()
        ids = probes.uids()
        assert (ids["host_uid"], ids["capabilities"]) == (sandbox_uid(2), 0)
        for name in ("kernel/core_pattern", "vm/drop_caches", "kernel/pid_max"):
            assert probes.write_sysctl(name) in ("EROFS", "EACCES"), name
        assert probes.unshare_user() == "EPERM"
        assert probes.clone_new_user() == "EPERM"
        assert probes.mount_tmpfs() == "EPERM"
        assert probes.keyctl() == "EPERM"
        assert probes.ptrace_parent() == "EPERM"
        assert probes.everyday_work() == {"thread": True, "fork": 7, "child": 3, "tmp": 1,
                                     "proc": True}
    finally:
        session.close()
