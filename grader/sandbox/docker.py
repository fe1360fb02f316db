"""The ``docker`` backend: each worker in a fresh, locked-down container (GPUs on request).

One container per worker start (a submission, or a restart after a crash), removed when the
worker is closed. The trusted harness stays on the host and talks to the worker over the
container's stdin and stdout (``docker run -i``, no TTY): the same length-prefixed frames as the
``subprocess`` backend. Nothing else the container writes is read; the daemon's own message (the
CLI's stderr) is read only when a container never answered, to explain why it could not start.

The container gets: no network, a read-only root filesystem, a size-capped ``/tmp`` tmpfs, the
submission mounted read-only at ``/sandbox``, an unprivileged uid of its own per job slot
(``base.sandbox_uid``: concurrent students never share per-uid kernel quotas such as inotify's)
with every capability dropped and ``no-new-privileges``, the seccomp policy of the subprocess
backend (``grader.sandbox.seccomp``), a pids limit, a memory limit with no extra swap, a CPU
quota, ulimits for file size, open files and core dumps, and an explicit minimal environment.
Wall-clock deadlines are kept by the trusted side, which kills the container (``docker kill``)
when one passes.
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from grader.errors import SandboxUnavailable
from grader.sandbox import seccomp
from grader.sandbox.base import (
    PASSIVE_WAIT,
    Backend,
    Channel,
    Limits,
    describe_exit,
    die_with_parent,
    preload_environment,
    runtime_sources,
    sandbox_uid,
    tree_cpu_seconds,
)
from grader.sandbox.gpus import GpuRequest

IMAGE_RUNTIME = "/opt/grader-runtime"
IMAGE_PYTHON = "/opt/venv/bin/python"
DEFAULT_IMAGES = {False: "grader-sandbox:cpu", True: "grader-sandbox:gpu"}
RUNTIME_LABEL = "org.fiuba.grader.runtime"
CONTAINER_LABEL = "org.fiuba.grader.sandbox"
_SANDBOX_DIR = "/sandbox"
_DOCKER_TIMEOUT_S = 60


def runtime_hash() -> str:
    """Hash of the worker runtime files: an image is usable only if built from the same ones."""
    digest = hashlib.sha256()
    for name, content in sorted(runtime_sources().items()):
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()[:16]


def docker_cli() -> str:
    path = shutil.which("docker")
    if path is None:
        raise SandboxUnavailable("el backend docker necesita el cliente 'docker' y un daemon en "
                                 "marcha (Debian/Ubuntu: apt-get install docker.io)")
    return path


def run_docker(*args: str, timeout: float = _DOCKER_TIMEOUT_S,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs a docker CLI command; daemon problems become ``SandboxUnavailable``."""
    try:
        done = subprocess.run([docker_cli(), *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SandboxUnavailable(f"docker {args[0]} no respondió en {timeout:g} s") from None
    if check and done.returncode != 0:
        raise SandboxUnavailable(f"docker {' '.join(args[:2])} falló: "
                                 f"{(done.stderr or done.stdout).strip()[-800:]}")
    return done


class DockerChannel(Channel):
    """A worker in a container: closing kills and removes the container, not only the CLI."""

    def __init__(self, process: subprocess.Popen[bytes], *, name: str, workdir: Path,
                 stderr_file: Path, fds: tuple[int, int]) -> None:
        super().__init__(process, workdir=workdir, module_path="", fds=fds)
        self.name = name
        self._stderr_file = stderr_file
        self._host_pid: int | None = None
        self.stderr_tail = ""
        """What the docker CLI printed (read at close; shown only for a container that never
        answered, where it holds the daemon's reason)."""

    def close(self, *, grace_s: float = 0.05) -> str:
        if grace_s > 0 and self.process.poll() is None:
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        # The CLI goes first: a worker blocked writing a reply nobody reads (one over the size
        # limit) holds the daemon's attach stream, and 'docker rm -f' then waits for it (60 s, and
        # no grade; issue 8). With the CLI gone the stream breaks and the removal is immediate.
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_streams()
        state = self._container_state()
        run_docker("rm", "-f", self.name, check=False)
        try:
            self.stderr_tail = self._stderr_file.read_text(errors="replace")[-1000:].strip()
        except OSError:
            self.stderr_tail = ""
        for action in self._cleanup:
            action()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.out_of_memory = bool(state.get("OOMKilled"))
        if self.out_of_memory:
            return "el contenedor superó su límite de memoria (lo terminó el kernel)"
        code = state.get("ExitCode")
        if type(code) is int and code > 128:
            return describe_exit(128 - code)  # 137 -> SIGKILL, as a signal
        return describe_exit(code if type(code) is int else self.process.returncode)

    def cpu_seconds(self) -> float | None:
        """CPU time of the container's processes: the worker is not a child of the docker CLI
        (``self.process``), so the tree starts at the container's first process."""
        if self._host_pid is None:
            pid = self._container_state().get("Pid")
            if type(pid) is not int or pid <= 0:
                return None
            self._host_pid = pid
        return tree_cpu_seconds(self._host_pid)

    def _container_state(self) -> dict[str, Any]:
        done = run_docker("inspect", "--format", "{{json .State}}", self.name, check=False)
        try:
            state = json.loads(done.stdout) if done.returncode == 0 else {}
        except json.JSONDecodeError:
            state = {}
        return state if isinstance(state, dict) else {}



class DockerBackend(Backend):
    """Runs each worker in its own container of the sandbox image.

    Args:
        image: the sandbox image (``grader image build`` makes ``grader-sandbox:cpu``/``:gpu``).
        gpus: ``"none"``, ``"all"`` or a count ``"N"``; with a count, job slot ``k`` gets GPU
            ``k % N`` (one GPU per slot); with ``all`` every container sees every GPU.
        slot: this grading job's slot (from 0), to pick its GPU and its containers' uid.
    """

    name = "docker"
    isolated = True
    start_attempts = 3
    """Daemon hiccups are retried before the sandbox is declared unavailable."""

    def __init__(self, *, image: str | None = None, gpus: str = "none", slot: int = 0) -> None:
        self._gpu = GpuRequest.parse(gpus, slot=slot)
        self.gpus = self._gpu.kind
        self.image = image or DEFAULT_IMAGES[self._gpu.wanted]
        self.slot = slot
        self.uid = sandbox_uid(slot)
        self._image_info = self._check_image()
        self._seccomp_profile = _seccomp_profile_file()

    def _check_image(self) -> dict[str, Any]:
        done = run_docker("image", "inspect", "--format", "{{json .Config.Labels}}", self.image,
                          check=False)
        if done.returncode != 0:
            if "No such image" in done.stderr or "No such object" in done.stderr:
                raise SandboxUnavailable(
                    f"no existe la imagen {self.image}; construila con 'grader image build"
                    f"{' --gpu' if self.gpus != 'none' else ''}'")
            raise SandboxUnavailable(f"docker no responde: {done.stderr.strip()[-500:]}")
        labels = json.loads(done.stdout or "null") or {}
        expected = runtime_hash()
        if labels.get(RUNTIME_LABEL) != expected:
            raise SandboxUnavailable(
                f"la imagen {self.image} tiene otro worker (runtime {labels.get(RUNTIME_LABEL)!r}, "
                f"este calificador usa {expected!r}); reconstruila con 'grader image build'")
        return {str(k): str(v) for k, v in labels.items()}

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": self.name, "isolated": True, "image": self.image,
                                "gpus": self._gpu.docker() or "", "sandbox_uid": self.uid,
                                "seccomp": True}
        return info

    def startup_error(self, channel: Channel) -> str:
        return channel.stderr_tail if isinstance(channel, DockerChannel) else ""

    def command(self, name: str, workdir: Path, limits: Limits) -> list[str]:
        """The ``docker run`` command line of one worker container."""
        mib = 1024 * 1024
        args = [docker_cli(), "run", "-i", "--name", name, "--label", f"{CONTAINER_LABEL}=1",
                "--network", "none", "--read-only",
                "--tmpfs", f"/tmp:rw,nosuid,nodev,size={limits.scratch_mb}m",
                "--mount", f"type=bind,source={workdir},target={_SANDBOX_DIR},readonly",
                "--workdir", "/tmp", "--user", f"{self.uid}:{self.uid}",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--security-opt", f"seccomp={self._seccomp_profile}",
                "--pids-limit", str(limits.processes),
                "--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m",
                "--cpus", str(limits.threads),
                "--ulimit", f"fsize={limits.file_size_mb * mib}:{limits.file_size_mb * mib}",
                "--ulimit", f"nofile={limits.open_files}:{limits.open_files}",
                "--ulimit", "core=0:0",
                "--ulimit", f"cpu={int(limits.cpu_time_s)}:{int(limits.cpu_time_s)}",
                "--log-driver", "none"]
        gpus = self._gpu.docker()  # slot k: GPU k % N, as the subprocess backend
        if gpus is not None:
            args += ["--gpus", gpus]
        for key, value in {**self.environment(limits), "GRADER_CHANNEL": _SANDBOX_DIR,
                           **preload_environment(self.preload)}.items():
            args += ["--env", f"{key}={value}"]
        args += [self.image, IMAGE_PYTHON, "-I", "-B", "-c",
                 f"import sys; sys.path.insert(0, {IMAGE_RUNTIME!r}); "
                 "from _graderrt.worker import main; main()"]
        return args

    @staticmethod
    def environment(limits: Limits) -> dict[str, str]:
        threads = str(limits.threads)
        return {"PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
                "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
                "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                "MKL_NUM_THREADS": threads, "NUMEXPR_NUM_THREADS": threads,
                "TORCH_NUM_THREADS": threads, "GRADER_SIDE": "worker", **PASSIVE_WAIT}

    def launch(self, filename: str, limits: Limits) -> Channel:
        workdir = Path(tempfile.mkdtemp(prefix="grader-docker-"))
        workdir.chmod(0o755)
        name = f"grader-{uuid.uuid4().hex[:16]}"
        stderr_file = workdir.parent / f"{workdir.name}.stderr"
        for pipe in ("to_worker", "from_worker"):
            os.mkfifo(workdir / pipe)
            (workdir / pipe).chmod(0o666)  # the worker runs as an unprivileged uid
        # Our read end first (it never blocks): the worker's open for writing then succeeds.
        read_fd = os.open(workdir / "from_worker", os.O_RDONLY | os.O_NONBLOCK)
        with stderr_file.open("wb") as stderr:
            # The CLI dies with the grader; the container's stdin (never written: the channel
            # is the named pipes) then closes and the worker exits, wherever it was.
            process = subprocess.Popen(self.command(name, workdir, limits),
                                       stdin=subprocess.PIPE, stdout=stderr, stderr=stderr,
                                       start_new_session=True, close_fds=True,
                                       preexec_fn=die_with_parent)
        try:
            write_fd = _open_writer(workdir / "to_worker", process,
                                    deadline=time.monotonic() + limits.import_timeout_s)
        except BaseException:
            os.close(read_fd)
            raise
        os.set_blocking(read_fd, True)
        channel = DockerChannel(process, name=name, workdir=workdir, stderr_file=stderr_file,
                                fds=(read_fd, write_fd))
        channel.module_path = f"{_SANDBOX_DIR}/{filename}"
        channel._cleanup.append(lambda: stderr_file.unlink(missing_ok=True))
        return channel


def _seccomp_profile_file() -> Path:
    """The seccomp profile as a file for the docker CLI (which reads it and sends its text)."""
    handle, name = tempfile.mkstemp(prefix="grader-seccomp-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        out.write(seccomp.docker_profile_json())
    atexit.register(os.unlink, name)
    return Path(name)


def _open_writer(path: Path, process: subprocess.Popen[bytes], *, deadline: float) -> int:
    """Opens our end of the worker's request pipe once the worker has opened its end.

    Until then an open for writing fails with ENXIO; if the container never gets there (no
    image, a daemon error) we return a descriptor of /dev/null, so the first request meets the
    end of file the session reports as a worker that could not start."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        else:
            os.set_blocking(fd, True)
            return fd
        if process.poll() is not None or time.monotonic() > deadline:
            return os.open(os.devnull, os.O_RDONLY)
        time.sleep(0.005)


def remove_leftovers() -> int:
    """Removes stopped sandbox containers (a grader killed with SIGKILL cannot remove its own);
    running ones may belong to another batch and are left alone. Returns how many."""
    done = run_docker("ps", "-aq", "--filter", f"label={CONTAINER_LABEL}=1", "--filter",
                      "status=exited", check=False)
    names = done.stdout.split()
    if names:
        run_docker("rm", "-f", *names, check=False)
    return len(names)


def wait_for_daemon(timeout: float = 30.0) -> None:
    """Waits until ``docker info`` answers (a daemon started in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        if run_docker("info", check=False, timeout=10).returncode == 0:
            return
        if time.monotonic() > deadline:
            raise SandboxUnavailable("el daemon de docker no responde ('docker info' falla)")
        time.sleep(0.5)
