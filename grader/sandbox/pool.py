"""Workers started ahead of time: while one submission is graded, the next worker boots (issue 9).

A ``PrestartedBackend`` wraps a sandbox backend and keeps one spare worker launched (interpreter
started, numpy and the TP's heavy libraries such as torch imported) with an empty private
folder. ``start`` hands the spare out after copying the submission into its folder, and launches
the next spare in the background. Each worker still serves exactly one submission (restarts
included): nothing a student leaves behind reaches anyone else, exactly as without the pool.
A spare that died while waiting, or was launched for other limits, is discarded.
"""

from __future__ import annotations

import atexit
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.sandbox.base import Backend, Channel, Limits, install


class WrappedBackend(Backend):
    """A backend that starts workers its own way and leaves everything else to ``backend``:
    the base of the ones that launch a worker ahead (``PrestartedBackend`` here, ``grader
    check``'s ``WorkerAhead``)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.isolated = backend.isolated
        self.start_attempts = backend.start_attempts
        self.preload = backend.preload

    def describe(self) -> dict[str, Any]:
        return self.backend.describe()

    def startup_error(self, channel: Channel) -> str:
        return self.backend.startup_error(channel)

    def launch(self, filename: str, limits: Limits) -> Channel:
        return self.backend.launch(filename, limits)


class PrestartedBackend(WrappedBackend):
    """``backend`` with one worker always launched ahead (see the module docstring)."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._spare: tuple[tuple[str, Limits], Future[Channel]] | None = None
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-spare")
        self._lock = threading.Lock()
        atexit.register(self.close)

    def prime(self, filename: str, limits: Limits) -> None:
        """Launches the spare for a module named ``filename`` under ``limits`` now, before the
        first ``start`` (a warm process getting ready while its batch is still being listed,
        issue 23): the first submission then finds its worker booted instead of booting one
        beside the next spare. Nothing when such a spare is already launched."""
        key = (filename, limits)
        with self._lock:
            if self._spare is not None and self._spare[0] == key:
                return
            if self._spare is not None:
                self._discard(self._spare[1])
            self._spare = (key, self._launcher.submit(self.backend.launch, *key))

    def start(self, module_file: Path, limits: Limits) -> Channel:
        key = (module_file.name, limits)
        with self._lock:
            spare, self._spare = self._spare, None
            channel = self._take(spare) if spare is not None and spare[0] == key else None
            if spare is not None and channel is None:
                self._discard(spare[1])
            self._spare = (key, self._launcher.submit(self.backend.launch, *key))
        if channel is None:
            return self.backend.start(module_file, limits)
        install(channel, module_file)
        return channel

    @staticmethod
    def _take(spare: tuple[tuple[str, Limits], Future[Channel]]) -> Channel | None:
        try:
            channel = spare[1].result()
        except Exception:  # it could not launch: start one the ordinary way, which reports why
            return None
        if channel.process.poll() is not None:
            channel.close()
            return None
        return channel

    @staticmethod
    def _discard(future: Future[Channel]) -> None:
        future.add_done_callback(lambda f: f.exception() is None and f.result().close())

    def close(self) -> None:
        """Stops the spare (at the end of the process, or when the batch is done)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            self._discard(spare[1])
        self._launcher.shutdown(wait=True)
