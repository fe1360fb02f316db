"""The subprocess sandbox never runs the student as host root, and the kernel refuses what student
code never needs (issue 15): /proc/sys is read-only, no nested user namespaces, no mounts, no
keyrings, no ptrace; each job slot has its own host uid and so its own per-uid kernel quotas."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from grader.engine.session import Session
from grader.errors import ConfigError, SandboxUnavailable
from grader.sandbox import base, seccomp
from grader.sandbox import subprocess as sandbox_subprocess
from grader.sandbox.base import Limits, WeakSandboxWarning, sandbox_uid
from grader.sandbox.subprocess import SubprocessBackend

PROBES = Path(__file__).parent.parent / "fixtures" / "worker" / "kernel_probes.py"
ROOT = os.getuid() == 0
pytestmark = pytest.mark.bwrap


@pytest.fixture
def probes():
    session = Session(SubprocessBackend(isolation="bwrap"), PROBES, "kernel_probes",
                      Limits(call_timeout_s=20))
    yield session.module()
    session.close()


def test_the_worker_is_never_host_root(probes):
    ids = probes.uids()
    assert ids["host_uid"] != 0
    assert ids["capabilities"] == 0
    assert ids["groups"] == []
    if ROOT:  # CI and the developers' machines: the slot's own unprivileged uid
        assert (ids["uid"], ids["gid"], ids["host_uid"]) == (sandbox_uid(0),) * 3


def test_each_job_slot_has_its_own_uid():
    if not ROOT:
        pytest.fail("run the suite as root (as CI does): slots get uids only from root")
    uids = []
    for slot in (0, 3):
        session = Session(SubprocessBackend(isolation="bwrap", slot=slot), PROBES,
                          "kernel_probes", Limits())
        try:
            uids.append(session.module().uids()["host_uid"])
        finally:
            session.close()
    assert uids == [sandbox_uid(0), sandbox_uid(3)]
    assert uids[1] - uids[0] == 3


@pytest.mark.parametrize("name", ["kernel/core_pattern", "vm/drop_caches", "kernel/pid_max",
                                  "fs/file-max", "kernel/randomize_va_space",
                                  "vm/panic_on_oom"])
def test_sysctls_are_read_only(probes, name):
    assert probes.write_sysctl(name) in ("EROFS", "EACCES")


def test_nested_user_namespaces_and_mounts_are_refused(probes):
    assert probes.unshare_user() == "EPERM"
    assert probes.clone_new_user() == "EPERM"
    assert probes.mount_tmpfs() == "EPERM"


def test_keyrings_and_ptrace_are_refused(probes):
    assert probes.keyctl() == "EPERM"
    assert probes.ptrace_parent() == "EPERM"


def test_everyday_work_still_runs_under_the_filter(probes):
    assert probes.everyday_work() == {"thread": True, "fork": 7, "child": 3, "tmp": 1,
                                     "proc": True}


def test_a_slot_exhausting_inotify_leaves_other_slots_and_root_their_own():
    if not ROOT:
        pytest.fail("run the suite as root (as CI does): slots get uids only from root")
    greedy = Session(SubprocessBackend(isolation="bwrap", slot=0), PROBES, "kernel_probes",
                     Limits(open_files=4096))
    other = Session(SubprocessBackend(isolation="bwrap", slot=1), PROBES, "kernel_probes",
                    Limits())
    try:
        held = greedy.module().hold_inotify()
        with open("/proc/sys/fs/inotify/max_user_instances") as handle:
            quota = int(handle.read())
        assert held == quota  # it ran into its own uid's quota ...
        assert other.module().hold_inotify(1) == 1  # ... which is not the next slot's
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init()  # ... nor root's
        assert fd >= 0
        os.close(fd)
    finally:
        greedy.close()
        other.close()


def test_the_seccomp_numbers_match_this_machines_headers():
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if seccomp.machine() != "x86_64" or not header.is_file():
        pytest.fail("this check needs x86-64 and linux-libc-dev's headers (CI has both)")
    numbers = {}
    for line in header.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("__NR_"):
            numbers[parts[1][5:]] = int(parts[2])
    table = seccomp._NUMBERS["x86_64"]
    assert {name: numbers[name] for name in table} == table
    assert set(seccomp.DENIED_SYSCALLS) <= set(table)


def test_the_filter_fits_bpf_and_docker_gets_the_same_list():
    program = seccomp.bpf_program("x86_64")
    assert len(program) % 8 == 0 and len(program) // 8 < 256
    profile = seccomp.docker_profile("x86_64")
    denied = {name for rule in profile["syscalls"] if "args" not in rule
              for name in rule["names"] if rule["errnoRet"] == seccomp.EPERM}
    assert denied == set(seccomp.DENIED_SYSCALLS)
    flags = [rule["args"][0]["value"] for rule in profile["syscalls"] if "args" in rule]
    assert sum(flags) == seccomp.NAMESPACE_FLAGS


def test_a_bubblewrap_without_seccomp_refuses_to_grade(monkeypatch):
    monkeypatch.setattr(sandbox_subprocess, "_bwrap_options", lambda bwrap: "--size --disable-userns")
    monkeypatch.delenv(base.WEAK_SANDBOX_VARIABLE, raising=False)
    with pytest.raises(SandboxUnavailable, match=r"filtro seccomp.*GRADER_WEAK_SANDBOX=1"):
        SubprocessBackend(isolation="bwrap")


def test_the_weak_sandbox_flag_grades_with_a_loud_warning(monkeypatch):
    monkeypatch.setattr(sandbox_subprocess, "_bwrap_options", lambda bwrap: "--size --disable-userns")
    monkeypatch.setenv(base.WEAK_SANDBOX_VARIABLE, "1")
    with pytest.warns(WeakSandboxWarning, match=r"SANDBOX DEBILITADO.*seccomp"):
        backend = SubprocessBackend(isolation="bwrap")
    assert backend.describe()["seccomp"] is False


def test_a_worker_that_cannot_start_unprivileged_refuses_to_grade(monkeypatch):
    if not ROOT:
        pytest.fail("run the suite as root (as CI does)")
    monkeypatch.setattr(SubprocessBackend, "_probe", lambda self: "bwrap: Permission denied")
    monkeypatch.delenv(base.WEAK_SANDBOX_VARIABLE, raising=False)
    with pytest.raises(SandboxUnavailable, match="usuario sin privilegios 2000000000"):
        SubprocessBackend(isolation="bwrap")


def test_the_uid_base_can_be_moved_and_is_validated(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX_UID_BASE", "700000")
    assert sandbox_uid(2) == 700002
    monkeypatch.setenv("GRADER_SANDBOX_UID_BASE", "0")
    with pytest.raises(ConfigError, match="entre 1000 y"):
        sandbox_uid(0)
    monkeypatch.setenv("GRADER_SANDBOX_UID_BASE", "root")
    with pytest.raises(ConfigError, match="llegó 'root'"):
        sandbox_uid(0)
