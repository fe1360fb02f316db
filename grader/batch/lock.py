"""One batch at a time per results folder: ``OUT/TP/.grader.lock``.

Two ``grader grade`` runs on the same ``--out`` would both regrade everything and interleave
their logs (issue 20). The lock is a small JSON file (who holds it: pid, host, start time, the
process's start time in clock ticks from ``/proc/PID/stat`` and its command line), created with
``O_CREAT | O_EXCL`` so that exactly one run gets it, and removed when that run ends, however it
ends (normal exit, an exception, Ctrl-C).

A run killed with SIGKILL (or a power cut) leaves the file behind. A lock is *stale* when it was
taken on this host by a process that is gone: its pid is not running, or is running with another
start time (the pid was reused by a later process). A stale lock is taken over with a
``StaleLockWarning``; a lock from another host is never judged (its processes cannot be seen
from here): the error says which file to remove once that run is known to be over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.errors import UsageError

LOCK_FILE = ".grader.lock"


class StaleLockWarning(UserWarning):
    """A lock left by a run that no longer exists was taken over."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: what the file says."""

    pid: int
    host: str
    started_at: str
    """When the run took the lock (ISO 8601, with offset)."""
    starttime: int | None
    """The process's start time in clock ticks since boot (``/proc/PID/stat``, field 22): with
    the pid, it names one process even after the pid is reused. ``None`` where there is no
    ``/proc``."""
    argv: list[str] = field(default_factory=list)

    @classmethod
    def this_process(cls) -> Holder:
        return cls(pid=os.getpid(), host=socket.gethostname(),
                   started_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                   starttime=process_starttime(os.getpid()), argv=list(sys.argv))

    @classmethod
    def from_text(cls, text: str) -> Holder | None:
        """The holder a lock file names, or ``None`` when it is not a lock of ours (empty,
        half-written by a run that died in the instant it was taking it, edited by hand)."""
        try:
            data = json.loads(text)
            holder = cls(pid=data["pid"], host=data["host"], started_at=data["started_at"],
                         starttime=data.get("starttime"), argv=list(data.get("argv", [])))
        except (ValueError, TypeError, KeyError):
            return None
        ok = (isinstance(holder.pid, int) and isinstance(holder.host, str)
              and isinstance(holder.started_at, str)
              and (holder.starttime is None or isinstance(holder.starttime, int)))
        return holder if ok else None

    def to_text(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    def describe(self) -> str:
        return f"pid {self.pid} en {self.host}, empezó {self.started_at}"

    def is_gone(self) -> bool:
        """Whether the process that took the lock surely no longer runs: only decidable on the
        host that took it."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's
        now = process_starttime(self.pid)
        return None not in (now, self.starttime) and now != self.starttime


def process_starttime(pid: int) -> int | None:
    """Field 22 of ``/proc/PID/stat`` (clock ticks after boot), or ``None`` when unreadable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        # The command name (field 2) is in parentheses and may hold spaces or ')': split after
        # the last one; what follows starts at field 3.
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def batch_lock(folder: Path) -> Iterator[Holder]:
    """Holds ``FOLDER/.grader.lock`` for the duration of the ``with`` block.

    Raises:
        UsageError: another run holds it; the message names its pid, host and start time.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    me = Holder.this_process()
    _acquire(path, me)
    try:
        yield me
    finally:
        _release(path, me)


def holder(folder: Path) -> Holder | None:
    """Who holds ``FOLDER/.grader.lock`` now, if anyone does (a stale lock included)."""
    try:
        return Holder.from_text((folder / LOCK_FILE).read_text(encoding="utf-8"))
    except OSError:
        return None


def _acquire(path: Path, me: Holder) -> None:
    if _create(path, me):
        return
    text = _read(path)
    other = Holder.from_text(text) if text is not None else None
    if text is not None and (other is None or not other.is_gone()):
        raise UsageError(_held_message(path, other))
    if text is not None and other is not None:
        _remove_stale(path, text, other)
    if not _create(path, me):
        # Another run took it between our two tries.
        raise UsageError(_held_message(path, Holder.from_text(_read(path) or "")))


def _create(path: Path, me: Holder) -> bool:
    """Creates the lock with ``me`` in it; ``False`` when it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        # One write, then fsync: a reader sees the whole lock or, for an instant, an empty file
        # (which it treats as held, never as stale).
        os.write(fd, me.to_text().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None  # released since we tried to create it


def _remove_stale(path: Path, text: str, stale: Holder) -> None:
    """Removes the stale lock ``text`` without ever removing a live one: two runs that both
    judged it stale race here, and the second must not remove the lock the first just took."""
    aside = path.with_name(f"{path.name}.{os.getpid()}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # the other run moved it first
    moved = _read(aside)
    if moved != text:
        # Not the stale lock we judged: a run that took over first. Put it back.
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        raise UsageError(_held_message(path, Holder.from_text(moved or "")))
    aside.unlink(missing_ok=True)
    warnings.warn(f"{path}: la corrida anterior ({stale.describe()}) ya no existe; tomo su "
                  "lugar (quedó el lock de un lote interrumpido con kill -9 o un corte)",
                  StaleLockWarning, stacklevel=2)


def _release(path: Path, me: Holder) -> None:
    """Removes the lock if it is still ``me``'s (never another run's)."""
    text = _read(path)
    if text is not None and Holder.from_text(text) == me:
        path.unlink(missing_ok=True)


def _held_message(path: Path, other: Holder | None) -> str:
    if other is None:
        return (f"otra corrida de 'grader grade' está usando {path.parent} ({path} existe pero "
                "no se puede leer); esperá a que termine o, si no hay ninguna, borrá ese archivo")
    where = ("" if other.host == socket.gethostname() else
             f"; corre en otra máquina ({other.host}): si esa corrida ya terminó, borrá {path}")
    return (f"otra corrida de 'grader grade' está usando {path.parent} ({other.describe()}: "
            f"{' '.join(other.argv) or 'comando desconocido'}); esperá a que termine{where}")
