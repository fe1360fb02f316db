"""Warm trusted graders: one process per job slot grades submission after submission (issue 9).

A batch used to start a fresh trusted process (``python -m grader.batch.child REQUEST``) for every
submission, paying Python, numpy, pytest, torch and scikit-learn imports, the check files'
collection and the reference's computations each time (about 2-5 s of CPU per submission, more
than TP1's checks themselves). A ``WarmChild`` is that same trusted process kept alive: it reads
one request per line on stdin, grades it exactly as the one-shot child does (the student's code
still runs in a fresh sandboxed worker per submission: nothing of a student survives into the
next one) and answers one line on stdout. It keeps only trusted state between submissions:
imported libraries and the reference's outputs (``CachingReference``).

Failures stay contained: a request that fails for a grader reason is answered ``ok: false`` and
the process exits, so the next submission gets a fresh one; a process that dies, hangs past the
submission's time or is recycled after ``max_jobs`` submissions is replaced.

A batch starts its slots' processes early (``prime``, issue 23): while it is still checking the
sandbox and hashing submissions, each process imports what it needs, loads the reference and
launches its first worker, so the first submission does not wait for them. A priming that fails
costs no submission: its process is replaced by a fresh one, which meets the same problem again
inside a submission, where the log says what it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from grader.results import write_atomic
from grader.sandbox.base import die_with_parent
from grader.text import clean

#: Submissions one warm process grades before it is replaced (bounds slow leaks in libraries).
MAX_JOBS = 100
#: Bytes kept of what a warm process wrote on its own while grading one request (its end).
OWN_OUTPUT_CAP = 8000


class WarmChild:
    """A long-lived trusted grading process (``python -m grader.batch.child --serve``).

    Args:
        max_jobs: submissions graded before the process is replaced by a fresh one.
        register: called with the process when it starts and ``None`` arguments never; the batch
            keeps the set of its children to kill them on Ctrl-C.
        unregister: called with the process when it ends.
    """

    def __init__(self, *, max_jobs: int = MAX_JOBS,
                 register: Callable[[subprocess.Popen[bytes]], None] = lambda p: None,
                 unregister: Callable[[subprocess.Popen[bytes]], None] = lambda p: None) -> None:
        self.max_jobs = max_jobs
        self._register = register
        self._unregister = unregister
        self._process: subprocess.Popen[bytes] | None = None
        self._jobs = 0
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._primed_at: int | None = None
        """Where the process's own output stood when it was asked to prime, while that answer is
        still unread: the first submission's log gets what priming wrote."""

    def prime(self, request: dict[str, Any], logs: Path) -> None:
        """Starts the process (when it is not running) and has it get ready for ``request``'s
        course, TP, sandbox and limits (``grader.batch.child.prime_request``), without waiting:
        the answer is read by the next ``grade``. ``logs``: the batch's logs folder."""
        with self._lock:
            logs.mkdir(parents=True, exist_ok=True)
            fresh = self._process is None or self._process.poll() is not None
            process = self._ensure(logs)
            if not fresh or self._primed_at is not None:
                return
            assert process.stdin is not None and self._stderr is not None
            self._primed_at = os.fstat(self._stderr.fileno()).st_size
            try:
                process.stdin.write((json.dumps({**request, "prime": True}) + "\n").encode())
                process.stdin.flush()
            except OSError:
                pass  # it died at once: grade() finds no answer and starts a fresh one

    def grade(self, request: dict[str, Any], log: Path, *, timeout_s: float) -> int:
        """Grades one request; returns 0 when the result was written, else an exit-code-like
        number (the process is then gone). What the grader printed goes to ``log``, and after it
        what the process itself wrote to its stdout and stderr while grading this request (a
        library's warning, the stack of a crash: ``_own_output``)."""
        with self._lock:
            log.parent.mkdir(parents=True, exist_ok=True)
            since, failed_priming = self._primed(timeout_s)
            process = self._ensure(log.parent)
            assert process.stdin is not None and process.stdout is not None
            assert self._stderr is not None
            if since is None:
                since = os.fstat(self._stderr.fileno()).st_size
            line = json.dumps({**request, "log": str(log)}) + "\n"
            try:
                process.stdin.write(line.encode())
                process.stdin.flush()
                reply = _read_line(process.stdout, timeout_s)
            except (BrokenPipeError, OSError, TimeoutError):
                reply = b""
            self._jobs += 1
            try:
                answer = json.loads(reply) if reply else {}
            except json.JSONDecodeError:
                answer = {}
            if answer.get("ok") is True:
                _append(log, failed_priming + self._own_output(since))
                if self._jobs >= self.max_jobs:
                    self.close()
                return 0
            # A process that answered "not ok" is exiting on its own (and stopping its
            # launched-ahead worker); one that did not answer in time is killed.
            code = self._stop(grace_s=30 if reply else 0, keep_stderr=True)
            own = failed_priming + self._own_output(since)
            self._release_stderr()
            if not log.is_file() or not log.read_text(errors="replace").strip():
                # Last: the batch's failure message quotes the log's last lines.
                own += f"el proceso calificador terminó sin responder (código {code})\n"
            _append(log, own)
            return code if code else 1

    def _primed(self, timeout_s: float) -> tuple[int | None, str]:
        """Reads the answer to ``prime`` when one is due. Returns where the process's own output
        stood before priming (``None`` when it was not primed, or its priming failed) and, when
        it failed, what the process wrote then, for the log: that process is stopped and
        ``_ensure`` starts a fresh one."""
        since, self._primed_at = self._primed_at, None
        if since is None or self._process is None:
            return None, ""
        assert self._process.stdout is not None
        try:
            reply = _read_line(self._process.stdout, timeout_s)
        except (OSError, TimeoutError):
            reply = b""
        try:
            ok = bool(reply) and json.loads(reply).get("ok") is True
        except (json.JSONDecodeError, AttributeError):
            ok = False
        if ok:
            return since, ""
        # Nothing of it is reused: the submission goes to a fresh process, unprimed.
        code = self._stop(grace_s=30 if reply else 0, keep_stderr=True)
        own = self._own_output(since)
        self._release_stderr()
        return None, (f"{own}la preparación anticipada del proceso calificador falló (código "
                      f"{code}): esta entrega se calificó en uno nuevo\n")

    def _own_output(self, since: int) -> str:
        """What the process wrote to its stdout and stderr (both go to its stderr file) from
        byte ``since`` on, as a section for the log: its last ``OWN_OUTPUT_CAP`` bytes, where a
        crash's stack ends; empty when it wrote nothing."""
        if self._stderr is None:
            return ""
        with open(self._stderr.name, "rb") as handle:
            start = max(since, os.fstat(handle.fileno()).st_size - OWN_OUTPUT_CAP)
            handle.seek(start)
            text = clean(handle.read(OWN_OUTPUT_CAP).decode(errors="replace")).strip("\n")
        if not text.strip():
            return ""
        cut = f"(recortado: {start - since} bytes antes)\n" if start > since else ""
        return f"\n== salida propia del proceso calificador ==\n{cut}{text}\n"

    def _ensure(self, logs: Path) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        self._stderr = (logs / f".calificador-{os.getpid()}-{id(self)}.log").open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.batch.child", "--serve"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, preexec_fn=die_with_parent)
        self._jobs = 0
        self._register(self._process)
        return self._process

    def _stop(self, grace_s: float = 0, *, keep_stderr: bool = False) -> int:
        """Ends the process (``grace_s`` to exit on its own first) and returns its exit code; its
        stderr file goes too unless ``keep_stderr`` (then ``_release_stderr`` removes it)."""
        process, self._process = self._process, None
        self._primed_at = None
        code = 0
        if process is not None:
            if grace_s and process.poll() is None:
                if process.stdin is not None:
                    with contextlib.suppress(OSError):
                        process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=grace_s)
            if process.poll() is None:
                process.kill()
            code = process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self._unregister(process)
        if not keep_stderr:
            self._release_stderr()
        return code

    def _release_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            Path(self._stderr.name).unlink(missing_ok=True)
            self._stderr = None

    def close(self) -> None:
        """Ends the process: closing its stdin lets it finish and exit on its own (it stops its
        launched-ahead worker first); after 30 s it is killed."""
        self._stop(grace_s=30)


def _append(log: Path, text: str) -> None:
    """Adds ``text`` at the end of ``log`` (written again whole, atomically); nothing when empty."""
    if text:
        before = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        write_atomic(log, before + text if before.strip() else text.lstrip("\n"))


def _read_line(stream: IO[bytes], timeout_s: float) -> bytes:
    """One line from a pipe, or ``TimeoutError`` after ``timeout_s``."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout_s
    data = bytearray()
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def serve(grade_one: Callable[[dict[str, Any]], str],
          prime: Callable[[dict[str, Any]], None] = lambda request: None) -> int:
    """The warm child's loop: one JSON request per stdin line, one JSON answer per stdout line.

    ``grade_one`` grades a request and writes its result files; it returns a line for the log.
    A request marked ``"prime": true`` goes to ``prime`` instead (get ready for that setup; what
    it prints stays in the process's own output). A request that raises is answered
    ``ok: false`` and ends the process (state we cannot vouch for is never reused). Student
    code never runs here: only in the sandboxed workers.
    """
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    # Nothing a library prints may corrupt the answers: fd 1 becomes stderr.
    os.dup2(2, 1)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("prime") is True:
            try:
                prime(request)
            except BaseException:
                traceback.print_exc()
                replies.write(json.dumps({"ok": False}) + "\n")
                return 1
            replies.write(json.dumps({"ok": True}) + "\n")
            continue
        log = Path(request["log"])
        with log.open("w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle), \
                contextlib.redirect_stderr(handle):
            try:
                print(grade_one(request))
            except BaseException:
                traceback.print_exc()
                ok = False
            else:
                ok = True
        replies.write(json.dumps({"ok": ok}) + "\n")
        if not ok:
            return 1
    return 0
