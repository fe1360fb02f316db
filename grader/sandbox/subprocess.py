"""The embedded default backend: a separate, resource-limited process, isolated with bubblewrap.

With bubblewrap (``bwrap``, Debian package ``bubblewrap``) the worker sees, read-only, only the
system libraries and the Python installation (interpreter, standard library, site-packages), plus
its private working directory holding a copy of the submission (read-only, like everything else);
``/tmp`` and ``/dev/shm`` are private tmpfs of ``scratch_mb`` each (bubblewrap 0.8 or later); it has
no network, its own PID, IPC and UTS namespaces and dies with the grader. The course repository,
the hidden checks, the reference solutions, the results folder and home directories are not
mounted.

Started by root with a user namespace, bubblewrap maps the sandbox's user onto the caller's: the
student was host root, and host root may write sysctls without any capability (issue 15:
``kernel.core_pattern`` ran a command as host root). So a root grader starts bubblewrap without a
user namespace (it mounts as root, so it can bind a Python that only root can reach, such as one
under ``/root``), keeps only CAP_SETUID and CAP_SETGID, and the worker's first statement drops to
an unprivileged host uid of its own per job slot (``base.sandbox_uid``), with no groups and so no
capabilities, before any student code exists in it. A grader that is not root runs bubblewrap in
an unprivileged user namespace (uid 65534 inside, the grader's uid outside) that may not create
further ones (``--disable-userns``). Either way ``/proc/sys`` is read-only inside, and a seccomp
filter (``grader.sandbox.seccomp``) denies the system calls student code never needs, nested
namespaces among them. A host that cannot give one of these refuses to grade, unless
``GRADER_WEAK_SANDBOX=1`` says to go on loudly.

Without bubblewrap the worker still runs in a separate process with the same limits and a
minimal environment, and the grader says loudly that it is not isolated.

With ``gpus`` (``--gpus all`` or ``N``, issue 21) the sandbox also shows the NVIDIA device nodes
of the job slot's GPU and the driver's libraries (``grader.sandbox.gpus``), and the worker's
address space is not capped with RLIMIT_AS: CUDA reserves far more virtual memory than any limit
(it would fail to start), so the memory cgroup caps what it really uses; a host without one
refuses (or, with ``GRADER_WEAK_SANDBOX=1``, warns). The seccomp filter needs nothing more: it
denies a list of calls, and none of them is one the driver makes (``ioctl``, ``mmap``,
``mbind``... stay allowed; ``tests/sandbox/test_gpus.py``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from grader.errors import SandboxUnavailable
from grader.sandbox import seccomp
from grader.sandbox.base import (
    PASSIVE_WAIT,
    Backend,
    Channel,
    Limits,
    die_with_parent,
    preload_environment,
    refuse_or_warn,
    runtime_dir,
    sandbox_uid,
    worker_command,
)
from grader.sandbox.gpus import GpuRequest, NvidiaHost

_SANDBOX_WORKDIR = "/sandbox"
_SANDBOX_RUNTIME = "/opt/grader-runtime"
_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                 "/etc/alternatives", "/etc/nsswitch.conf")
#: Environment variables passed through as they are: they select CPU kernels, not secrets.
_PASSTHROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


NO_ISOLATION = ("bubblewrap no está instalado: el código de los estudiantes corre SIN aislamiento "
                "(solo límites de recursos). Instalá 'bubblewrap' para calificar de verdad.")


class NoIsolationWarning(UserWarning):
    """Grading runs student code without bubblewrap isolation."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def worker_environment(limits: Limits, home: str) -> dict[str, str]:
    """The worker's whole environment: nothing inherited but CPU-kernel selectors."""
    threads = str(limits.threads)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "NUMEXPR_NUM_THREADS": threads, "VECLIB_MAXIMUM_THREADS": threads,
           "TORCH_NUM_THREADS": threads, "GRADER_SIDE": "worker", **PASSIVE_WAIT}
    env.update({k: os.environ[k] for k in _PASSTHROUGH if k in os.environ})
    return env


def _python_dirs() -> list[str]:
    """Directories the interpreter needs: installation prefixes and site-packages."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable))}
    dirs = sorted({os.path.realpath(p) for p in candidates} | candidates)
    # Keep only the outermost of nested directories; skip what /usr already covers.
    kept: list[str] = []
    for path in dirs:
        if not os.path.isdir(path) or any(path == k or path.startswith(k + "/") for k in kept):
            continue
        if path == "/usr" or path.startswith("/usr/"):
            continue
        kept.append(path)
    return kept


def _count_user_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


class _PidsCgroup:
    """A cgroup-v1 pids controller group, when this process may create one (usually as root).

    RLIMIT_NPROC does not bind root, so a fork bomb run by a root grader is capped here instead.
    """

    ROOT = Path("/sys/fs/cgroup/pids")

    def __init__(self, limit: int) -> None:
        self.path: Path | None = None
        if not os.access(self.ROOT, os.W_OK):
            return
        try:
            path = Path(tempfile.mkdtemp(prefix="grader-", dir=self.ROOT))
        except OSError:
            return
        try:
            self._configure(path, limit)
            self.path = path
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()

    def _configure(self, path: Path, limit: int) -> None:
        (path / "pids.max").write_text(str(limit))

    def join(self) -> None:
        if self.path is not None:
            (self.path / "cgroup.procs").write_text("0")

    def remove(self) -> None:
        """Kills whatever is still in the group (daemons the student left) and removes it."""
        if self.path is None:
            return
        # The kernel reaps killed members asynchronously: usually within a few ms, so poll
        # often (a 20 ms step cost every submission 20 ms) for at most 2 s.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                for pid in (self.path / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.002)


class _MemoryCgroup(_PidsCgroup):
    """A cgroup-v1 memory controller group, when this process may create one (usually as root).

    RLIMIT_AS binds each process alone: forked children (each under the limit, together far over
    it) and the files written to the sandbox's tmpfs add up here instead (issue 8).
    """

    ROOT = Path("/sys/fs/cgroup/memory")

    def _configure(self, path: Path, limit: int) -> None:
        (path / "memory.limit_in_bytes").write_text(str(limit))
        swap = path / "memory.memsw.limit_in_bytes"  # present only with swap accounting
        if swap.exists():
            swap.write_text(str(limit))

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a member of the group for going over the limit."""
        if self.path is None:
            return False
        try:
            for line in (self.path / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        except (OSError, ValueError):
            pass
        return False


def _bwrap_options(bwrap: str) -> str:
    """bubblewrap's ``--help``: which options this version knows (``--size``, ``--seccomp`` and
    ``--disable-userns`` came with 0.8)."""
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr


class SubprocessBackend(Backend):
    """Runs each worker as a child process, in bubblewrap when available.

    Args:
        isolation: ``"auto"`` (bubblewrap if installed, else none with a warning), ``"bwrap"``
            (required) or ``"none"`` (explicitly unisolated).
        slot: this grading job's slot (from 0): as root, its workers run as host uid
            ``sandbox_uid(slot)``; with ``gpus`` a count N they get GPU ``slot % N``.
        gpus: ``"none"``, ``"all"`` or a count ``"N"`` (``grader.sandbox.gpus``).
        gpu_host: where the NVIDIA driver's nodes and libraries are (tests pass a fake one).
    """

    name = "subprocess"

    def __init__(self, *, isolation: str = "auto", slot: int = 0, gpus: str = "none",
                 gpu_host: NvidiaHost | None = None) -> None:
        if isolation not in ("auto", "bwrap", "none"):
            raise ValueError(f"isolation debe ser auto, bwrap o none; llegó {isolation!r}")
        self.gpu = GpuRequest.parse(gpus, slot=slot)
        self.gpu_host = gpu_host or NvidiaHost()
        # Found once, when the backend is made: no GPU, or fewer than asked for, refuses here.
        self._gpu_binds = self.gpu.binds(self.gpu_host)
        self._gpu_devices = [f"nvidia{g}" for g in self.gpu.visible(self.gpu_host)]
        self._bwrap = bwrap_path() if isolation != "none" else None
        if isolation == "bwrap" and self._bwrap is None:
            raise SandboxUnavailable("se pidió aislamiento con bubblewrap, pero 'bwrap' no está instalado "
                               "(Debian/Ubuntu: apt-get install bubblewrap)")
        self.isolated = self._bwrap is not None
        self._cuda_environment = self.gpu.cuda_environment(self.gpu_host, isolated=self.isolated)
        if isolation == "auto" and not self.isolated:
            warnings.warn(NO_ISOLATION, NoIsolationWarning, stacklevel=2)
        self._runtime = runtime_dir()
        self.uid: int | None = None
        """Host uid the worker runs as, when it is not this process's (a root grader)."""
        self._sized_tmpfs = self._seccomp = self._disable_userns = False
        if self._bwrap is not None:
            self._harden(self._bwrap, slot)

    def _harden(self, bwrap: str, slot: int) -> None:
        """Turns on every protection this host can give; refuses (or warns) for the others."""
        options = _bwrap_options(bwrap)
        problems: list[str] = []
        self._sized_tmpfs = "--size" in options
        self._seccomp = "--seccomp" in options and seccomp.supported()
        if not self._seccomp:
            problems.append("no se puede aplicar el filtro seccomp (bubblewrap sin --seccomp, o "
                            f"un procesador sin tabla de llamadas: {seccomp.machine()})")
        if os.getuid() == 0:
            self.uid = sandbox_uid(slot)
            unreadable = self.gpu.unreadable_nodes(self.gpu_host)
            if unreadable:
                problems.append(f"el usuario sin privilegios del sandbox no puede abrir "
                                f"{', '.join(unreadable)} (hace falta modo 0666, como lo deja "
                                "el driver de NVIDIA)")
        else:
            self._disable_userns = "--disable-userns" in options
            if not self._disable_userns:
                problems.append("este bubblewrap no sabe --disable-userns (hace falta 0.8 o "
                                "posterior): el estudiante podría crear user namespaces")
        if self.gpu.wanted and not os.access(_MemoryCgroup.ROOT, os.W_OK):
            problems.append("con GPU la memoria del worker solo se puede limitar con un cgroup de "
                            f"memoria ({_MemoryCgroup.ROOT} no se puede escribir)")
        failure = self._probe() if self.uid is not None else ""
        if failure:
            problems.append(f"el worker no arranca como el usuario sin privilegios {self.uid} "
                            f"({failure})")
            self.uid = None
        refuse_or_warn(problems)

    def _probe(self) -> str:
        """Starts the sandbox once with the interpreter doing nothing: empty when it works, else
        what went wrong (no unprivileged user namespaces, a folder the uid cannot read)."""
        workdir = Path(tempfile.mkdtemp(prefix="grader-probe-"))
        workdir.chmod(0o755)
        try:
            filters = self._seccomp_fds()
            command, _ = self._bwrap_command(workdir, "probe.py", Limits(), filters,
                                             code="assert os.getuid() != 0")
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=60, cwd=workdir,
                    env=worker_environment(Limits(), "/tmp"), pass_fds=filters,
                    preexec_fn=die_with_parent)
            finally:
                for fd in filters:
                    os.close(fd)
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return "" if done.returncode == 0 else (done.stderr.strip()[-500:] or
                                                 f"código {done.returncode}")

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": self.name, "isolated": self.isolated,
                                "isolation": "bwrap" if self.isolated else "none"}
        if self.isolated:
            info.update(sandbox_uid=self.uid if self.uid is not None else os.getuid(),
                        seccomp=self._seccomp)
        if self.gpu.wanted:
            # The session reads "gpus" to refuse a worker that does not see CUDA.
            info.update(gpus=self.gpu.text(),
                        gpu_devices=list(self._gpu_devices))
        return info

    def _seccomp_fds(self) -> tuple[int, ...]:
        """A fresh descriptor holding the seccomp filter, for bubblewrap to read (``--seccomp``)."""
        if not self._seccomp:
            return ()
        fd = os.memfd_create("grader-seccomp", 0)
        os.write(fd, seccomp.bpf_program())
        os.lseek(fd, 0, os.SEEK_SET)
        return (fd,)

    def launch(self, filename: str, limits: Limits) -> Channel:
        workdir = Path(tempfile.mkdtemp(prefix="grader-work-"))
        workdir.chmod(0o755)
        target = workdir / filename
        pids = _PidsCgroup(limits.processes)
        memory = _MemoryCgroup(limits.memory_mb * 1024 * 1024)
        filters: tuple[int, ...] = ()
        if self.isolated:
            filters = self._seccomp_fds()
            command, module_path = self._bwrap_command(workdir, filename, limits, filters)
            home = "/tmp"
        else:
            command = worker_command(sys.executable, str(self._runtime))
            module_path, home = str(target), str(workdir)
        environment = {**worker_environment(limits, home), **preload_environment(self.preload),
                       **self._cuda_environment}
        capped = not self.gpu.wanted
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=workdir, env=environment, start_new_session=True, pass_fds=filters,
                preexec_fn=lambda: _limit_child(limits, [pids, memory], self.uid,
                                                address_space=capped), close_fds=True)
        finally:
            for fd in filters:
                os.close(fd)
        channel = Channel(process, workdir=workdir, module_path=module_path)

        def note_out_of_memory() -> None:
            channel.out_of_memory = memory.out_of_memory()

        channel._cleanup += [note_out_of_memory, memory.remove, pids.remove]
        return channel

    def _bwrap_command(self, workdir: Path, filename: str, limits: Limits,
                       filters: tuple[int, ...] = (), *,
                       code: str | None = None) -> tuple[list[str], str]:
        """bubblewrap's command line; ``filters``: descriptors of seccomp programs to apply;
        ``code``: run instead of the worker (the start-up probe)."""
        assert self._bwrap is not None
        if self.uid is not None:
            # Root: namespaces without a user namespace; the worker drops to self.uid itself.
            args = [self._bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net",
                    "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL",
                    "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            # Inside, uid/gid 65534 in a user namespace with no capabilities; outside, our uid.
            args = [self._bwrap, "--unshare-all", "--unshare-user", "--uid", "65534",
                    "--gid", "65534", "--cap-drop", "ALL"]
            if self._disable_userns:
                args.append("--disable-userns")
        args += ["--die-with-parent", "--new-session"]
        made: set[str] = {"/"}

        def bind(source: str, target: str) -> None:
            # bubblewrap makes missing parents 0700 when it runs as root: the worker, once
            # unprivileged, could not walk through them.
            for parent in reversed(Path(target).parents):
                if str(parent) not in made:
                    made.add(str(parent))
                    args.extend(["--perms", "0755", "--dir", str(parent)])
            args.extend(["--ro-bind", source, target])

        for path in _SYSTEM_DIRS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                bind(path, path)
        for path in _SYSTEM_FILES:
            if os.path.exists(path):
                bind(path, path)
        # A tmpfs without a size can grow into all of the host's memory, and a writable working
        # directory into its disk (issue 8): scratch space is /tmp and /dev/shm, capped.
        size = ["--size", str(limits.scratch_mb * 1024 * 1024)] if self._sized_tmpfs else []
        scratch = [*size, "--perms", "1777"]
        # The private /tmp first: a Python installed under /tmp (a CI clone's virtualenv) is then
        # bound on top of it instead of being hidden by it.
        args += [*scratch, "--tmpfs", "/tmp"]
        made.add("/tmp")
        for path in _python_dirs():
            bind(path, path)
        bind(str(self._runtime), _SANDBOX_RUNTIME)
        bind(str(workdir), _SANDBOX_WORKDIR)
        # bubblewrap leaves the fresh /proc's sys/ writable (issue 15): bind it read-only.
        args += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
                 "--dev", "/dev", *scratch, "--tmpfs", "/dev/shm"]
        for option, source, target in self._gpu_binds:
            if option == "--ro-bind":
                bind(source, target)  # a driver library outside the system folders
            else:
                args += [option, source, target]  # a device node, read-write, into the new /dev
        # Relative writes (a notebook's plt.savefig("fig.png")) land in capped scratch.
        args += ["--chdir", "/tmp"]
        for fd in filters:
            args += ["--seccomp", str(fd)]  # bubblewrap applies it right before the worker starts
        args.append("--")
        extra = {} if code is None else {"code": code}
        args += worker_command(sys.executable, _SANDBOX_RUNTIME, uid=self.uid, **extra)
        return args, f"{_SANDBOX_WORKDIR}/{filename}"


def _limit_child(limits: Limits, cgroups: list[_PidsCgroup], uid: int | None, *,
                 address_space: bool = True) -> None:
    """Runs in the child between fork and exec: the limits then bind bwrap and the worker, which
    drops to ``uid`` when given (RLIMIT_NPROC counts that uid's processes). ``address_space``:
    cap it with RLIMIT_AS (not with a GPU: CUDA reserves more than any cap, see above)."""
    mib = 1024 * 1024
    die_with_parent()
    for cgroup in cgroups:
        cgroup.join()
    settings = [
        *([(resource.RLIMIT_AS, limits.memory_mb * mib)] if address_space else []),
        (resource.RLIMIT_CPU, int(limits.cpu_time_s)),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * mib),
        (resource.RLIMIT_NOFILE, int(limits.open_files)),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, _count_user_processes(os.getuid() if uid is None else uid)
         + int(limits.processes)),
    ]
    for which, value in settings:
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
