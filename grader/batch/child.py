"""The trusted child: the process that grades one submission of a batch (``python -m
grader.batch.child REQUEST``) or, warm, request after request (``--serve``, ``grader.batch.warm``).

It runs the checks and the reference; student code runs only in the sandboxed workers it starts.
It writes the result's JSON where the request says, for the batch to ``accept``, and prints
staff's log of it (``grader.output.stafflog``), which becomes ``OUT/TP/logs/STUDENT.log``. A warm
child keeps its sandbox backends (each with a worker launched ahead) and each TP's reference
outputs between submissions: both are owned by ``main``, never module state.
"""

from __future__ import annotations

import atexit
import faulthandler
import json
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from grader import results
from grader.batch.request import GradeRequest
from grader.batch.warm import serve
from grader.course import load_course
from grader.course.limits import Limits
from grader.engine.grade import grade_submission, warm_up
from grader.engine.reference import References
from grader.output import stafflog
from grader.sandbox.base import die_with_parent
from grader.sandbox.registry import Backends

MODULE = "grader.batch.child"
"""What ``python -m`` runs as the trusted child."""


def grade_request(data: dict[str, Any], *, backends: Backends | None = None,
                  references: References | None = None) -> str:
    """Grades one ``GradeRequest`` (as its mapping) and writes its result's JSON; returns a line
    for the log."""
    request = GradeRequest.from_dict(data)
    course = load_course(Path(request.course))
    result = grade_submission(
        course, request.tp, Path(request.file), student=request.student,
        backend=request.backend, limits=Limits(**request.limits), notes=request.notes,
        backend_options=request.backend_options, submitted_at=request.submitted_at,
        backends=backends, references=references, exercises=frozenset(request.exercises))
    result.environment["trusted_peak_rss_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    result.environment["trusted_pid"] = os.getpid()
    results.save(result, Path(request.out))
    # What this process prints is staff's log (OUT/TP/logs/STUDENT.log): the whole result, hidden
    # checks' output included, which the student's reports never show (issue 20).
    print(stafflog.render(result), end="")
    return f"{result.student}: {result.score:.2f} ({result.duration_s:.1f} s)"


def prime_request(data: dict[str, Any], *, backends: Backends, references: References) -> None:
    """Gets a warm child ready for the submissions of a ``GradeRequest`` (``GradeRequest.priming``:
    one with no submission) before the first arrives: the reference loaded, the first worker
    launched (``grader.engine.grade.warm_up``)."""
    request = GradeRequest.from_dict(data)
    warm_up(load_course(Path(request.course)), request.tp, backend=request.backend,
            limits=Limits(**request.limits), backend_options=request.backend_options,
            backends=backends, references=references)


def run_child(request: GradeRequest, log: Path, *, timeout_s: float,
              children: set[subprocess.Popen[bytes]], lock: threading.Lock,
              env: dict[str, str] | None = None) -> int:
    """Runs a fresh trusted child on ``request``, its output into ``log``; returns its exit code.

    The child is registered in ``children`` (under ``lock``) while it runs, so that whoever
    stops the batch can kill it; it is killed after ``timeout_s`` and dies with its parent.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:
        child = subprocess.Popen([sys.executable, "-m", MODULE, json.dumps(request.to_dict())],
                                 stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 preexec_fn=die_with_parent, env=env)
        with lock:
            children.add(child)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        finally:
            with lock:
                children.discard(child)
    return child.returncode


def child_timeout_s(limits: Limits) -> float:
    """How long a trusted child may take before it is killed: its checks' budget and a margin."""
    return limits.submission_timeout_s + 300


def main(argv: list[str]) -> int:
    """``--serve``: grade request after request, keeping backends and references warm (and get
    ready ahead when the batch asks, ``prime_request``); otherwise grade the one request given."""
    # A crash of this trusted process (a segfault in a library the reference uses) leaves its
    # Python stack on stderr, which reaches the submission's log (``run_child``, ``WarmChild``).
    faulthandler.enable()
    if argv == ["--serve"]:
        backends, references = Backends(prestart=True), References(cache=True)
        return serve(lambda data: grade_request(data, backends=backends, references=references),
                     prime=lambda data: prime_request(data, backends=backends,
                                                      references=references))
    print(grade_request(json.loads(argv[0])))
    return 0


def _exit_now(code: int) -> None:
    """Ends a warm child that has served its batch: its exit handlers run (they stop the
    launched-ahead worker and remove temporary folders), the interpreter's teardown does not.
    The batch waits for its slots' processes to end, and tearing down torch and the rest costs
    about 0.3 s per slot at the end of every batch for nothing (issue 23)."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    if sys.argv[1:] == ["--serve"]:
        _exit_now(code)
    sys.exit(code)
