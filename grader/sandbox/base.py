"""What every sandbox backend provides: limits, and a running worker reached through a channel."""

from __future__ import annotations

import atexit
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from grader.course.limits import Limits
from grader.errors import ConfigError, SandboxUnavailable
from grader.runtime import protocol

_RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
"""``grader/runtime/``: the only grader code a sandbox sees, copied whole."""

#: Host uid of job slot 0's sandboxed workers when the grader runs as root; slot k gets
#: ``SANDBOX_UID_BASE + k``. No account should own these ids (override:
#: ``GRADER_SANDBOX_UID_BASE``). A dedicated unprivileged uid per slot keeps the student off host
#: root and gives each concurrent submission its own per-uid kernel quotas (issue 15).
SANDBOX_UID_BASE = 2_000_000_000
#: Set to 1 to grade on a host that cannot give every protection (old bubblewrap, no unprivileged
#: user namespaces): grading then goes on with a loud warning instead of refusing to start.
WEAK_SANDBOX_VARIABLE = "GRADER_WEAK_SANDBOX"


class WeakSandboxWarning(UserWarning):
    """Grading goes on without one of the sandbox's protections (``GRADER_WEAK_SANDBOX=1``)."""


def sandbox_uid(slot: int) -> int:
    """The unprivileged host uid (and gid) of job slot ``slot``'s workers."""
    raw = os.environ.get("GRADER_SANDBOX_UID_BASE", "")
    try:
        base = int(raw) if raw else SANDBOX_UID_BASE
    except ValueError:
        raise ConfigError(f"GRADER_SANDBOX_UID_BASE debe ser un número de usuario (llegó {raw!r})") from None
    if not 1000 <= base <= 4_000_000_000 or slot < 0:
        raise ConfigError(f"GRADER_SANDBOX_UID_BASE debe estar entre 1000 y 4000000000 (llegó {base})")
    return base + slot


def weak_sandbox_allowed() -> bool:
    return os.environ.get(WEAK_SANDBOX_VARIABLE, "") == "1"


def refuse_or_warn(problems: list[str]) -> None:
    """Stops grading when the sandbox lacks a protection, unless ``GRADER_WEAK_SANDBOX=1``."""
    if not problems:
        return
    text = "; ".join(problems)
    if weak_sandbox_allowed():
        warnings.warn(f"SANDBOX DEBILITADO ({WEAK_SANDBOX_VARIABLE}=1): {text}",
                      WeakSandboxWarning, stacklevel=3)
        return
    raise SandboxUnavailable(f"el sandbox no puede dar todas sus protecciones en esta máquina: "
                             f"{text}. Arreglalo, o calificá igual con {WEAK_SANDBOX_VARIABLE}=1 "
                             "(inseguro: ver SECURITY.md)")


def runtime_sources() -> dict[str, bytes]:
    """The files of the worker's runtime package ``_graderrt``: every module of
    ``grader/runtime/`` and nothing else (what a sandbox image must have been built from)."""
    return {path.name: path.read_bytes() for path in sorted(_RUNTIME_DIR.glob("*.py"))}


def runtime_dir() -> Path:
    """A fresh directory holding the worker's runtime package ``_graderrt`` and nothing else."""
    root = Path(tempfile.mkdtemp(prefix="grader-rt-"))
    atexit.register(shutil.rmtree, root, True)
    package = root / "_graderrt"
    package.mkdir()
    for name, content in runtime_sources().items():
        (package / name).write_bytes(content)
    root.chmod(0o755)
    for path in package.iterdir():
        path.chmod(0o644)
    package.chmod(0o755)
    return root


PASSIVE_WAIT = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0", "GOMP_SPINCOUNT": "0"}
"""OpenMP threads (torch's, MKL's) that wait for work sleep instead of spinning: a spinning
thread burns a core another job slot owns, and on a busy machine that stretches every worker's
wall time (issue 17)."""


def cap_threads(threads: int) -> None:
    """Caps this (trusted) process's own BLAS/OpenMP/torch threads to ``threads``, as its
    workers are: the checks' oracles and the reference run here, beside the workers."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMEXPR_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ.update(PASSIVE_WAIT)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def worker_command(python: str, runtime: str, *, uid: int | None = None,
                   code: str = "from _graderrt.worker import main; main()") -> list[str]:
    """The worker's command line. ``uid``: the worker starts as root inside its sandbox and drops
    to this uid and gid, with no groups (and so no capabilities), before anything else runs."""
    # Changing uid makes the process non-dumpable: its own /proc/self files would turn root's and
    # unreadable to it, unlike any ordinary process; PR_SET_DUMPABLE (4) puts that back
    # (RLIMIT_CORE is 0, and ptrace is denied by the seccomp filter).
    drop = (f"import os, ctypes; os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); "
            f"os.setresuid({uid}, {uid}, {uid}); ctypes.CDLL(None).prctl(4, 1, 0, 0, 0); "
            "del ctypes; ") if uid is not None else ""
    return [python, "-I", "-B", "-c", f"{drop}import sys; sys.path.insert(0, {runtime!r}); {code}"]


def describe_exit(returncode: int | None) -> str:
    """Spanish description of how a worker process ended."""
    if returncode is None:
        return "sigue en ejecución"
    if returncode >= 0:
        return f"salió con código {returncode}"
    signum = -returncode
    reasons: dict[int, str] = {signal.SIGXCPU: "se agotó el tiempo de CPU", signal.SIGXFSZ:
               "escribió un archivo más grande que el límite", signal.SIGSEGV:
               "violación de segmento", signal.SIGKILL: "fue terminado (SIGKILL)"}
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else signum
    return f"terminó por la señal {name}" + (f": {reasons[signum]}" if signum in reasons else "")


class Channel:
    """A running worker process reached through two pipes."""

    out_of_memory = False
    """Set by ``close`` when the worker was killed for exceeding its memory limit."""

    def __init__(self, process: subprocess.Popen[bytes], *, workdir: Path, module_path: str,
                 cleanup: list[Any] | None = None,
                 fds: tuple[int, int] | None = None) -> None:
        self.process = process
        self.workdir = workdir
        self.module_path = module_path
        self._cleanup = cleanup or []
        self._own_fds = fds is not None
        if fds is None:
            assert process.stdin is not None and process.stdout is not None
            fds = (process.stdout.fileno(), process.stdin.fileno())
        self._read_fd, self._write_fd = fds
        """``fds``: (read, write) descriptors of the channel when it is not the process's stdio
        (the docker backend's named pipes); the channel closes them."""

    def send(self, payload: bytes | list[bytes | memoryview]) -> None:
        try:
            protocol.write_frame(self._write_fd, payload)
        except (BrokenPipeError, OSError):
            raise EOFError from None

    def receive(self, *, deadline: float, max_size: int) -> bytearray:
        return protocol.read_frame(self._read_fd, max_size=max_size, deadline=deadline)

    def wait_readable(self, timeout: float) -> bool:
        """Whether a reply (or the worker's end) arrives within ``timeout`` seconds; reads
        nothing, so a caller can measure the worker between waits without tearing a frame."""
        ready, _, _ = select.select([self._read_fd], [], [], max(0.0, timeout))
        return bool(ready)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, every thread) the worker and the processes it started have
        used so far, as the kernel counts it: the student cannot fake it. None where ``/proc``
        cannot tell."""
        return tree_cpu_seconds(self.process.pid)

    def close(self, *, grace_s: float = 0.05) -> str:
        """Kills the worker and everything it started; returns how it ended, in Spanish.

        ``grace_s``: after a failed call the worker may already be exiting on its own
        (``os._exit``); waiting a moment lets the student see its real exit code rather than our
        SIGKILL. A session that ended normally passes 0 (each submission paid 50 ms for it)."""
        if grace_s > 0 and self.process.poll() is None:
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        returncode = self.process.poll()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._close_streams()
        for action in self._cleanup:
            action()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return describe_exit(returncode if returncode is not None else self.process.returncode)


    def _close_streams(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        if self._own_fds:
            for fd in (self._read_fd, self._write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._own_fds = False


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of process ``root`` and all its descendants, from ``/proc``.

    Each process counts its own time and that of the children it has waited for (``cutime``,
    ``cstime``), so work done by short-lived children is not lost. A few milliseconds: callers
    measure only calls that already lasted a while.
    """
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ... utime stime cutime cstime ...": comm may hold spaces or ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        try:
            parents[int(name)] = int(fields[1])
            times[int(name)] = sum(int(value) for value in fields[11:15])
        except (IndexError, ValueError):
            continue
    if root not in times:
        return None
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total / _CLOCK_TICKS


class Backend(ABC):
    """Starts workers. Implementations: ``subprocess`` (bubblewrap when available), ``inprocess``.

    The Docker backend plugs in here too: ``start`` returns a ``Channel`` whose pipes are the
    container's stdin and stdout.
    """

    name: str = ""
    #: Whether student code is isolated from the grader's files and the network.
    isolated: bool = False
    #: Tries to start a worker before the sandbox counts as unavailable (daemon hiccups).
    start_attempts: int = 1

    #: Modules the worker imports before it is handed a submission (``("torch",)`` for TPs
    #: that use torch), so a worker started ahead of time (``sandbox.pool``) has paid for them.
    preload: tuple[str, ...] = ()

    def start(self, module_file: Path, limits: Limits) -> Channel:
        """Starts a fresh worker with a private copy of ``module_file`` in its working directory."""
        channel = self.launch(module_file.name, limits)
        install(channel, module_file)
        return channel

    @abstractmethod
    def launch(self, filename: str, limits: Limits) -> Channel:
        """Starts a fresh worker whose module, ``filename``, is not there yet (``install``
        puts it in its working directory before the worker is asked to load it)."""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "isolated": self.isolated}

    def startup_error(self, channel: Channel) -> str:
        """Why a worker that never answered could not start, when the backend can tell."""
        return ""


def install(channel: Channel, module_file: Path) -> None:
    """Copies the submission into a launched worker's private, read-only-mounted directory."""
    target = channel.workdir / module_file.name
    shutil.copyfile(module_file, target)
    target.chmod(0o444)


def preload_environment(preload: tuple[str, ...]) -> dict[str, str]:
    return {"GRADER_PRELOAD": ",".join(preload)} if preload else {}


def die_with_parent() -> None:
    """In a child between fork and exec: ask Linux to SIGKILL it when its parent dies.

    So a killed grader (kill -9, power loss aside) leaves no grading children or workers behind.
    Does nothing where ``prctl`` is not available.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


_PR_SET_PDEATHSIG = 1
