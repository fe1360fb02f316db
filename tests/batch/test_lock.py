"""The batch lock: one ``grader grade`` at a time per results folder (issue 20)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import lock
from grader.batch.lock import LOCK_FILE, Holder, StaleLockWarning, batch_lock
from grader.errors import UsageError


def write_lock(folder: Path, **changes: object) -> Path:
    """A lock as another run would leave it: by default, this very process's."""
    data = {"pid": os.getpid(), "host": socket.gethostname(),
            "started_at": "2026-09-01T10:00:00-03:00",
            "starttime": lock.process_starttime(os.getpid()), "argv": ["grader", "grade", "tp1"],
            **changes}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    path.write_text(json.dumps(data))
    return path


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_lock_names_its_holder_and_is_removed_at_the_end(tmp_path):
    with batch_lock(tmp_path / "tp1") as me:
        data = json.loads((tmp_path / "tp1" / LOCK_FILE).read_text())
        assert data["pid"] == os.getpid() == me.pid
        assert data["host"] == socket.gethostname()
        assert data["starttime"] == lock.process_starttime(os.getpid())
        assert data["argv"] == sys.argv
        assert data["started_at"][:4].isdigit() and data["started_at"][-6] in "+-"
    assert not (tmp_path / "tp1" / LOCK_FILE).exists()


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    with batch_lock(tmp_path) as first:
        with pytest.raises(UsageError) as error, batch_lock(tmp_path):
            pass
        assert (tmp_path / LOCK_FILE).exists(), "the refused one removes nothing"
    message = str(error.value)
    assert f"otra corrida de 'grader grade' está usando {tmp_path}" in message
    assert f"pid {first.pid} en {first.host}, empezó {first.started_at}" in message
    assert error.value.exit_code == 2


def test_a_lock_held_by_another_live_process_is_refused(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys; from pathlib import Path; "
                               "from grader.batch.lock import batch_lock\n"
                               f"with batch_lock(Path({str(tmp_path)!r})):\n"
                               "    print('tengo', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "tengo\n"
        with pytest.raises(UsageError, match=f"pid {holder.pid} en "), batch_lock(tmp_path):
            pass
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_stale_lock_from_a_dead_pid_is_taken_over_with_a_warning(tmp_path):
    pid = dead_pid()
    write_lock(tmp_path, pid=pid, starttime=12345)
    with pytest.warns(StaleLockWarning, match=f"pid {pid} en .* ya no existe; tomo su lugar"):
        with batch_lock(tmp_path) as me:
            assert Holder.from_text((tmp_path / LOCK_FILE).read_text()) == me
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_live_pid_with_another_start_time_is_a_reused_pid_and_stale(tmp_path):
    write_lock(tmp_path, starttime=lock.process_starttime(os.getpid()) - 1)
    with pytest.warns(StaleLockWarning), batch_lock(tmp_path) as me:
        assert me.pid == os.getpid()


def test_a_lock_from_another_host_is_never_judged_stale(tmp_path):
    path = write_lock(tmp_path, pid=dead_pid(), host="otra-maquina")
    with pytest.raises(UsageError, match=f"corre en otra máquina \\(otra-maquina\\): si esa "
                                         f"corrida ya terminó, borrá {path}"):
        with batch_lock(tmp_path):
            pass


def test_an_unreadable_lock_is_refused_not_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text("")
    with pytest.raises(UsageError, match="existe pero no se puede leer"), batch_lock(tmp_path):
        pass
    assert (tmp_path / LOCK_FILE).exists()


def test_the_lock_is_released_on_an_exception_and_on_ctrl_c(tmp_path):
    for error in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(error), batch_lock(tmp_path):
            raise error()
        assert not (tmp_path / LOCK_FILE).exists()


def test_releasing_never_removes_another_runs_lock(tmp_path):
    with batch_lock(tmp_path):
        other = write_lock(tmp_path, pid=1, starttime=lock.process_starttime(1))
    assert other.exists()


def test_a_takeover_that_lost_the_race_puts_the_winners_lock_back(tmp_path):
    # Two runs judged the same stale lock; the other one already replaced it with its own lock.
    stale = write_lock(tmp_path, pid=dead_pid()).read_text()
    winner = write_lock(tmp_path, pid=1, starttime=lock.process_starttime(1)).read_text()
    with pytest.raises(UsageError, match="pid 1 en "):
        lock._remove_stale(tmp_path / LOCK_FILE, stale, Holder.from_text(stale))
    assert (tmp_path / LOCK_FILE).read_text() == winner
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]


def test_process_starttime_is_field_22_of_proc_stat_and_none_for_a_dead_pid():
    assert lock.process_starttime(os.getpid()) == int(
        Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    assert lock.process_starttime(dead_pid()) is None
