"""Which mutants behave differently from the reference: the audit's oracle (issue 17).

A mutant that no probe tells apart from the reference is *equivalent* (``x * 1``, a change in
dead code, ``axis=-1`` for ``axis=1`` on 2-D inputs): no check could catch it, so the audit drops
it. The probes run in child processes (``grader.audit.probes.serve``), never here: a mutant may
loop forever, and a child that takes longer than ``timeout_s`` on one mutant is killed and the
mutant counts as different (``"timeout"``). Each child keeps the reference's outcomes for the
next mutants, so a TP's few hundred mutants cost one interpreter start per job, not per mutant.

Usage::

    verdicts = judge(reference, "tp1", found, Path("assignments/tp1/hidden/audit_probes.py"),
                     jobs=2)
    kept = [m for m, v in zip(found, verdicts) if not v.equivalent]
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from grader.audit.mutate import Mutant
from grader.errors import ConfigError

_CHILD = "from grader.audit.probes import serve; serve()"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
_SETUP_S = 120.0
"""The most a child may take to start, import the reference and the probes, or run the reference's
probes of one function (torch's import alone can take seconds on a busy machine)."""


@dataclass(frozen=True)
class Verdict:
    """Whether one mutant is equivalent to the reference, and why."""

    mutant_id: str
    equivalent: bool
    """True: no probe told it apart from the reference; the audit drops it."""
    reason: str
    """The probe that told it apart and how (``"relu_backward boundary: [0]: max abs diff 1"``),
    ``"timeout"``, or why it counts as equivalent."""


def judge(reference_source: str, module_name: str, found: list[Mutant], probes_file: Path, *,
          timeout_s: float = 20.0, jobs: int = 1) -> list[Verdict]:
    """One verdict per mutant, in the order of ``found``.

    Args:
        reference_source: the reference module's text.
        module_name: the name both the reference and each mutant are imported under (``"tp1"``).
        found: the mutants to judge (``grader.audit.mutate.mutants``).
        probes_file: the TP's probes (``assignments/tpN/hidden/audit_probes.py``).
        timeout_s: the most one mutant may take over all its probes.
        jobs: child processes working at once.

    Raises:
        ConfigError: the probes file is missing, or cannot be loaded, or the reference fails in
            the child (it names the file and the error).
    """
    if not Path(probes_file).is_file():
        raise ConfigError(f"no audit probes at {probes_file}: expected a file defining PROBES")
    if not found:
        return []
    setup = {"reference": reference_source, "module": module_name,
             "probes": str(Path(probes_file).resolve())}
    pending: queue.Queue[int] = queue.Queue()
    for index in range(len(found)):
        pending.put(index)
    verdicts: list[Verdict | None] = [None] * len(found)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with _Worker(setup, probes_file) as worker:
                while not failures:
                    try:
                        index = pending.get_nowait()
                    except queue.Empty:
                        return
                    verdicts[index] = worker.judge(found[index], timeout_s)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, name=f"audit-oracle-{n}", daemon=True)
               for n in range(max(1, min(jobs, len(found))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [verdict for verdict in verdicts if verdict is not None]


class _Worker:
    """One child process, restarted after a mutant that kills it or runs out of time."""

    def __init__(self, setup: dict[str, Any], probes_file: Path) -> None:
        self.setup = setup
        self.probes_file = probes_file
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: IO[bytes] | None = None

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.stderr is not None:
            self.stderr.close()

    def judge(self, mutant: Mutant, timeout_s: float) -> Verdict:
        if self.process is None:
            self.start()
        self.send({"id": mutant.id, "function": mutant.function, "source": mutant.source})
        # The reference's outcomes of a function not seen yet are computed before "begin": they
        # do not count against the mutant's time.
        for limit in (_SETUP_S, timeout_s):
            message = self.receive(limit)
            if message is None:
                return self.died(mutant)
            if isinstance(message, str):  # "timeout"
                self.kill()
                if limit == _SETUP_S:
                    raise ConfigError(f"{self.probes_file}: the reference's probes of "
                                      f"{mutant.function} took more than {_SETUP_S:.0f} s")
                return Verdict(mutant.id, False, "timeout")
            if "begin" not in message:
                return Verdict(mutant.id, bool(message["equivalent"]), str(message["reason"]))
        raise AssertionError("unreachable: the second message is the verdict")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
        self.stop()

    def died(self, mutant: Mutant) -> Verdict:
        code = self.stop()
        return Verdict(mutant.id, False, f"the child process died (exit code {code})")

    def start(self) -> None:
        env = {**os.environ, "PYTHONHASHSEED": "0",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                           os.environ.get("PYTHONPATH")])),
               # One thread per child: jobs=2 means two cores, and the sums come out the same.
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        if self.stderr is not None:
            self.stderr.close()
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=env, text=True, encoding="utf-8")
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines),
                         daemon=True).start()
        self.send(self.setup)
        message = self.receive(_SETUP_S)
        if not isinstance(message, dict) or not message.get("ready"):
            error = message.get("error") if isinstance(message, dict) else None
            code = self.stop()
            detail = error or f"exit code {code}, stderr: {self._stderr_tail()}"
            raise ConfigError(f"{self.probes_file}: the audit's child could not load the reference "
                              f"and the probes:\n{detail}")

    @staticmethod
    def _read(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
        # This thread owns the child's stdout and closes it at the end: closing it from another
        # thread while this one reads is a race.
        for line in _lines(stream):
            lines.put(line)
        if stream is not None:
            stream.close()
        lines.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the child is gone: receive() sees the end of its output

    def receive(self, timeout_s: float) -> dict[str, Any] | str | None:
        """The child's next message; ``"timeout"``, or ``None`` when the child has ended."""
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            return "timeout"
        return None if line is None else json.loads(line)

    def stop(self) -> int | None:
        """Ends the child (kills it if it does not end on its own) and returns its exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.stdin is not None:
            try:
                process.stdin.close()  # an idle child ends when its input does
            except BrokenPipeError:
                pass
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        return code

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        self.stderr.seek(0)
        return self.stderr.read()[-2000:].decode("utf-8", "replace")


def _lines(stream: IO[str] | None) -> Iterator[str]:
    if stream is None:
        return
    try:
        yield from stream
    except (OSError, ValueError):
        return  # closed under us by stop()
