"""Running the attack submissions for real and watching the host while they run.

Used by the red-team tests (``tests/attacks/``) and by ``tests/attacks/summary.py``. One
``Lab`` is one run: a fresh copy of the attack course with canaries, the submissions with the
real paths and ports planted in them, loopback services that count whatever reaches them, and
the checks of the host afterwards (files, processes, containers, connections).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
COURSE = HERE / "fixtures" / "course"
SUBMISSIONS = HERE / "fixtures" / "submissions"
REPO = HERE.parent.parent
#: The second batch, graded one at a time in this order (``--jobs 1``): a submission that leaves
#: data behind, the one that looks for it, and a regrade of the overfitting one.
ORDERED = ("between_1_leaves_data", "between_2_finds_data", "hardcodes_public_answers")
REGRADED = "hardcodes_public_answers"
HONEST = ("honest_file", "honest_notebook")
CANARY_KINDS = ("HIDDEN", "REFERENCE", "EXPECTED", "LABELS", "SECRET")


class LoopbackServices:
    """A TCP and a UDP service on the host's loopback that record everything that reaches them."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.connections: list[str] = []
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._receive, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self.tcp.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(0.5)
                try:
                    data = connection.recv(64)
                except OSError:
                    data = b""
            self.connections.append(f"{peer[0]}:{peer[1]} {data!r}")

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.udp.recvfrom(4096)
            except OSError:
                continue
            self.datagrams.append(data)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.tcp.close()
        self.udp.close()


@dataclass
class Lab:
    """One red-team run's folders, canaries and services.

    Args:
        root: an empty folder for everything this run writes.
    """

    root: Path
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    services: LoopbackServices = field(default_factory=LoopbackServices)

    def __post_init__(self) -> None:
        self.marker = f"atk{self.token[:8]}"
        """In the name or command line of every process an attack leaves behind (ps shows it)."""
        self.marker_dir = self.root / "markers"
        """Where shipped files would drop a marker if they ever ran on the host: stays empty."""
        self.marker_dir.mkdir(parents=True)
        self.course = self.root / "course"
        shutil.copytree(COURSE, self.course)
        for path in self.course.rglob("*"):
            if path.is_file():
                path.write_text(path.read_text(encoding="utf-8").replace("@TOKEN@", self.token),
                                encoding="utf-8")
        self.secret = f"CANARY-SECRET-{self.token}"

    @property
    def canaries(self) -> list[str]:
        return [f"CANARY-{kind}-{self.token}" for kind in CANARY_KINDS]

    def plant(self, text: str, results: Path, marker: str = "") -> str:
        """A submission's text with this run's paths, ports and marker in it."""
        values = {"@RESULTS@": str(results), "@MARKER@": marker or self.marker,
                  "@MARKER_DIR@": str(self.marker_dir), "@TCP_PORT@": str(self.services.tcp_port),
                  "@UDP_PORT@": str(self.services.udp_port)}
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    def submissions(self, folder: Path, names: list[str], results: Path, marker: str = "") -> Path:
        """Copies the named submissions (files or student folders) into ``folder``, planted."""
        folder.mkdir(parents=True)
        for name in names:
            source = SUBMISSIONS / f"{name}.py"
            if source.is_file():
                (folder / source.name).write_text(self.plant(source.read_text(), results, marker))
                continue
            target = folder / name
            target.mkdir()
            for path in (SUBMISSIONS / name).iterdir():
                if path.suffix == ".ipynb":
                    shutil.copyfile(path, target / path.name)
                else:
                    (target / path.name).write_text(self.plant(path.read_text(), results, marker))
        return folder

    def environment(self) -> dict[str, str]:
        return {**os.environ, "GRADER_SECRET": self.secret}

    def grade(self, backend: str, names: list[str], *, jobs: int, label: str,
              results: Path | None = None, extra: list[str] = ()) -> Batch:
        """Runs ``grader grade`` (the CLI, as a course would) on the named submissions."""
        results = results or self.root / f"results-{label}"
        folder = self.submissions(self.root / f"submissions-{label}", names, results)
        command = [sys.executable, "-m", "grader.cli", "grade", "tp1", str(folder), "--out",
                   str(results), "--jobs", str(jobs), "--backend", backend, "--course",
                   str(self.course / "course.toml"), *extra]
        started = time.monotonic()
        done = subprocess.run(command, cwd=self.root, env=self.environment(), capture_output=True,
                              text=True, timeout=900)
        return Batch(backend=backend, results=results, folder=folder, returncode=done.returncode,
                     stdout=done.stdout, stderr=done.stderr, seconds=time.monotonic() - started)


@dataclass
class Batch:
    backend: str
    results: Path
    folder: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def result(self, student: str) -> dict:
        path = self.results / "tp1" / f"{student}.json"
        assert path.is_file(), f"no result for {student}: {self.stderr[-3000:]}"
        return json.loads(path.read_text(encoding="utf-8"))

    def files(self) -> list[Path]:
        return sorted(p for p in self.results.rglob("*") if p.is_file())


# --- archives: uploads zipped to escape their folder or blow up ----------------------------------

_PAYLOAD = b"def relu(x):\n    return x\n"


def _link(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def build_archive(name: str, upload: Path, *, aim: Path, workdir: Path) -> Path:
    """Writes the zip of archive attack ``name`` (``attack_table.ARCHIVE_ATTACKS``) to
    ``upload``, aimed at the folder ``aim``, for extraction into ``workdir``."""
    depth = len(workdir.resolve().parts)
    builders: dict[str, Callable[[], list[tuple[str | zipfile.ZipInfo, bytes]]]] = {
        "zip_absolute_path": lambda: [("ana/tp1.py", _PAYLOAD), (str(aim / "tp1.py"), _PAYLOAD)],
        "zip_dot_dot": lambda: [("ana/tp1.py", _PAYLOAD),
                                ("../" * depth + str(aim / "tp1.py").lstrip("/"), _PAYLOAD)],
        "zip_dot_dot_backslash": lambda: [("ana\\tp1.py", _PAYLOAD),
                                          ("..\\" * depth + str(aim / "tp1.py").lstrip("/").replace(
                                              "/", "\\"), _PAYLOAD)],
        "zip_symlink": lambda: [_link("escape", str(aim)), ("escape/tp1.py", _PAYLOAD)],
        # 256 MiB of zeros in about 250 KiB: refused by its ratio before anything is inflated.
        "zip_bomb": lambda: [("ana/tp1.py", bytes(256 << 20))],
    }
    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry, data in builders[name]():
            archive.writestr(entry, data)
    return upload


# --- the host ------------------------------------------------------------------------------


def processes_with(marker: str) -> list[str]:
    """Processes on this host (containers' included) whose name or command line has ``marker``."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for name in ("cmdline", "comm"):
            try:
                data = Path(f"/proc/{entry}/{name}").read_bytes()
            except OSError:
                continue
            if needle in data:
                found.append(f"{entry}: {data[:200]!r}")
                break
    return found


def leaked_containers() -> list[str]:
    """Sandbox containers whose worker was already closed (its submission folder is gone): the
    ones a batch left behind. Containers of other batches running now still have their folder."""
    done = subprocess.run(["docker", "ps", "-aq", "--filter", "label=org.fiuba.grader.sandbox=1"],
                          capture_output=True, text=True)
    leaked = []
    for name in done.stdout.split():
        mounts = subprocess.run(["docker", "inspect", "--format",
                                 "{{range .Mounts}}{{.Source}} {{end}}", name],
                                capture_output=True, text=True)
        if mounts.returncode == 0 and not all(Path(p).exists() for p in mounts.stdout.split()):
            leaked.append(name)
    return leaked


def course_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


#: Names of files the attacks try to leave on the host, outside the results folder.
ATTACK_FILES = re.compile(r"^(gradebook\.csv|fill-\d+\.bin|leftover-.*|.*-loaded)$")


def stray_files(places: list[Path], marker: str, since: float) -> list[str]:
    """Files in ``places`` (not recursive) that an attack names, or that carry ``marker``."""
    found = []
    for place in places:
        try:
            entries = list(place.iterdir())
        except OSError:
            continue
        for path in entries:
            try:
                recent = path.lstat().st_mtime >= since
            except OSError:
                continue
            if marker in path.name or (recent and ATTACK_FILES.match(path.name)):
                found.append(str(path))
    return found


def modified_times(folder: Path) -> dict[Path, int]:
    """Every file under ``folder`` and when it was last written (ns)."""
    times = {}
    for path in folder.rglob("*"):
        try:
            times[path] = path.lstat().st_mtime_ns
        except OSError:
            continue
    return times


def quiet_for(find: Callable[[], list[str]], *, quiet_s: float, interval_s: float = 0.05) -> list[str]:
    """Watches for what cannot be seen in one look, something an attack left acting on the host.

    Returns what ``find`` finds as soon as it finds anything, or ``[]`` once it found nothing on
    every look for ``quiet_s`` in a row. Absence has no moment at which it happens, so this is the
    one wait bounded by a quiet period rather than by a condition: a clean run takes ``quiet_s``,
    a run with something escaped takes as long as the first look that sees it.
    """
    start = time.monotonic()
    while True:
        found = find()
        if found or time.monotonic() - start >= quiet_s:
            return found
        time.sleep(interval_s)


@dataclass
class Run:
    """Everything one backend did to the attack submissions, and the host right after."""

    lab: Lab
    main: Batch
    ordered: Batch
    processes: list[str]
    """Processes carrying the run's marker found after both batches (then killed)."""
    files: list[str]
    """Files the attacks tried to leave, found outside the results folders."""
    containers: list[str]
    """Sandbox containers the batches left behind (docker)."""
    course_changed: list[str]
    """Files of the course copy (checks, reference, data) that changed during the batches."""


def grade_everything(backend: str, root: Path, main: list[str]) -> Run:
    """Grades ``main`` (``--jobs 2``), then the ordered batch (``--jobs 1``), and looks at the host."""
    lab = Lab(root)
    before = course_digest(lab.course)
    started = time.time() - 1
    first = lab.grade(backend, main, jobs=2, label="main")
    second = lab.grade(backend, list(ORDERED), jobs=1, label="ordered")
    places = [Path("/tmp"), Path("/dev/shm"), Path("/var/tmp"), Path.home(), root, root.parent,
              Path.cwd(), lab.marker_dir]
    # A daemon that escaped the sandbox is already running when the CLI returns, and the attacks'
    # daemons write every 0.2 s: watch for one (a marked process, a stray file, a result rewritten
    # after the batch ended) for 1 s of quiet, stopping at the first sign of it.
    written = {**modified_times(first.results), **modified_times(second.results)}

    def signs_of_a_daemon() -> list[str]:
        now = {**modified_times(first.results), **modified_times(second.results)}
        rewritten = [str(path) for path, time_ns in now.items() if written.get(path) != time_ns]
        return processes_with(lab.marker) + stray_files(places, lab.marker, started) + rewritten

    quiet_for(signs_of_a_daemon, quiet_s=1.0)
    processes = processes_with(lab.marker)
    for line in processes:  # leave nothing running, even when the sandbox failed
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except OSError:
            pass
    after = course_digest(lab.course)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    containers = leaked_containers() if backend == "docker" else []
    return Run(lab, first, second, processes, stray_files(places, lab.marker, started), containers,
               changed)


# --- inprocess: grader check on a student's machine -------------------------------------------

# A warm interpreter that forks one child per ``grader check`` (the CLI's own ``main``): importing
# grader, pytest and numpy takes longer than most checks, and the attacks need a fresh process
# each. Each child gets its own session, limits, folder, environment and output file; the server
# kills the child's whole session when it ends or hangs, and answers one JSON line per request.
_SERVER = r"""
import json, os, resource, signal, sys, time, traceback
import grader.cli, grader.compare, grader.engine.plugin, grader.engine.reference, msgpack, numpy, pytest
import grader.student.check

MIB = 1024 * 1024
# RLIMIT_CPU stays above the hang timeout (30 s of wall clock, check_in_process): a spinning attack
# must be seen hanging, not killed by the lab's own limit first (which read as blocked).
LIMITS = ((resource.RLIMIT_AS, 3072 * MIB), (resource.RLIMIT_CPU, 60),
          (resource.RLIMIT_FSIZE, 16 * MIB), (resource.RLIMIT_NOFILE, 256), (resource.RLIMIT_CORE, 0))

def child(request):
    code = 1
    try:
        os.setsid()
        for which, value in LIMITS:
            resource.setrlimit(which, (value, value))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        grader.cli.main(request["args"], prog_name="grader")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code)

for line in sys.stdin:
    request = json.loads(line)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(request)
    hung = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > request["timeout"]:
            hung = True
            os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    try:
        os.killpg(pid, signal.SIGKILL)  # whatever the attack left in its session
    except ProcessLookupError:
        pass
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "hung": hung,
                      "seconds": time.monotonic() - started}), flush=True)
"""


@dataclass
class CheckRun:
    returncode: int
    output: str
    hung: bool
    seconds: float


class CheckServer:
    """Runs ``grader check ... --backend inprocess`` in limited children of a warm interpreter."""

    def __init__(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}  # no BLAS threads in a process that forks
        self._process = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)

    def check(self, file: Path, checks: Path, *, cwd: Path, env: dict[str, str],
              timeout: float) -> CheckRun:
        assert self._process.stdin is not None and self._process.stdout is not None
        output = cwd / "grader-check.out"
        request = {"args": ["check", "tp1", str(file), "--checks", str(checks), "--backend",
                            "inprocess"], "cwd": str(cwd), "env": env, "output": str(output),
                   "timeout": timeout}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        reply = json.loads(self._process.stdout.readline())
        text = output.read_text(errors="replace")
        output.unlink()
        return CheckRun(reply["code"], re.sub(r"\x1b\[[0-9;]*m", "", text), reply["hung"],
                        reply["seconds"])

    def close(self) -> None:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)
        self._process.stdout.close()


#: What an attack prints when it got what it wanted (the in-process runs look for these).
LOOT = re.compile(r"FOUND:|LABELS-FOUND|DNS: REACHABLE|DOCKER-SOCKET: OPEN|LEFTOVER-FOUND")
#: What each network attack sends, so what reaches the loopback services names its sender.
NETWORK_TAGS = {"connects_to_loopback": "steal", "resolves_dns": "canary\\x07invalid"}


@dataclass
class InprocessOutcome:
    succeeded: bool
    why: list[str]
    run: CheckRun


def release(lab: Lab) -> Path:
    """The student bundle of the attack course (``grader release``): what ``grader check`` uses."""
    out = lab.root / "bundle"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "release", "tp1", "--out", str(out),
                           "--course", str(lab.course / "course.toml")], capture_output=True,
                          text=True, cwd=lab.root)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "checks"


def check_in_process(server: CheckServer, lab: Lab, checks: Path, name: str, *,
                     timeout: float = 30.0) -> InprocessOutcome:
    """Runs attack ``name`` through ``grader check --backend inprocess`` in a limited child, with
    its own folders, and says whether it got anything (``timeout``: past the check's 6 s of CPU
    and its wall-clock safety net, 4 times that, a check hangs): a pass it did not earn, a hang, files or
    processes left on the host, a connection, or something secret in its output."""
    home = lab.root / "inprocess" / name
    results, scratch = home / "results", home / "tmp"
    # Its own marker: attacks run two at a time, and what one leaves must not count for the other.
    marker = lab.marker + hashlib.sha256(name.encode()).hexdigest()[:3]
    folder = lab.submissions(home / "submission", [name], results, marker)
    scratch.mkdir()
    file = folder / f"{name}.py" if (folder / f"{name}.py").is_file() else folder / name / "tp1.py"
    env = {**lab.environment(), "HOME": str(home), "TMPDIR": str(scratch)}
    run = server.check(file, checks, cwd=home, env=env, timeout=timeout)

    def left_on_host() -> list[str]:
        return [str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and (
            p.is_relative_to(results) or ATTACK_FILES.match(p.name) or marker in p.name)]

    # What escaped the child's session is already running when the check returns: watch for it
    # (a marked process, a file it writes) for 0.3 s of quiet, stopping at the first sign of it.
    quiet_for(lambda: processes_with(marker) + left_on_host(), quiet_s=0.3)
    why = []
    if run.hung:
        why.append(f"the check hung past {timeout:g} s")
    if run.returncode == 0:
        why.append("grader check said every public check passes")
    left = left_on_host()
    if left:
        why.append(f"files written on the host: {left[:5]}")
    processes = processes_with(marker)
    for line in processes:
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except OSError:
            pass
    if processes:
        why.append(f"processes left running: {processes[:3]}")
    loot = LOOT.search(run.output) or any(c in run.output for c in lab.canaries)
    if loot:
        why.append("found something secret")
    return InprocessOutcome(bool(why), why, run)


def reached_services(lab: Lab, name: str) -> list[str]:
    """What attack ``name`` got through to the loopback services (by the payload it sends)."""
    tag = NETWORK_TAGS.get(name)
    received = [*lab.services.connections, *map(repr, lab.services.datagrams)]
    return [item for item in received if tag and tag in item]
