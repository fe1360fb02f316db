"""Workers launched ahead: each submission still gets its own fresh worker and folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from waiting import wait_until  # tests/ is on sys.path (pytest prepend import mode)

from grader.engine.session import Session
from grader.sandbox.base import Limits
from grader.sandbox.pool import PrestartedBackend
from grader.sandbox.subprocess import SubprocessBackend

MODULE = '''
import os
NAME = {name!r}

def who():
    found = os.path.exists("/tmp/dejado.txt")
    open("/tmp/dejado.txt", "w").write(NAME)
    return NAME, os.getpid(), found
'''


@pytest.fixture
def pool():
    backend = PrestartedBackend(SubprocessBackend(isolation="bwrap"))
    yield backend
    backend.close()


def submission(folder: Path, name: str) -> Path:
    path = folder / name / "tp1.py"
    path.parent.mkdir()
    path.write_text(MODULE.format(name=name))
    return path


def grade(backend, path: Path, limits: Limits) -> tuple[str, int, bool]:
    session = Session(backend, path, "tp1", limits)
    try:
        return session.module().who()
    finally:
        session.close()


def test_the_next_worker_is_launched_ahead_and_serves_one_submission_only(pool, tmp_path):
    limits = Limits(call_timeout_s=10)
    assert grade(pool, submission(tmp_path, "ana"), limits)[0] == "ana"
    spare = pool._spare[1].result(timeout=30)
    session = Session(pool, submission(tmp_path, "bruno"), "tp1", limits)
    try:
        name, _, found = session.module().who()
        assert session._channel is spare, "bruno got the worker launched while ana was graded"
    finally:
        session.close()
    assert name == "bruno"
    assert found is False, "nothing ana left in /tmp reaches bruno"
    assert pool._spare is not None and pool._spare[1].result(timeout=30) is not spare


def test_a_spare_for_other_limits_or_one_that_died_is_not_used(pool, tmp_path):
    grade(pool, submission(tmp_path, "ana"), Limits(call_timeout_s=10))
    spare = pool._spare[1].result(timeout=30)
    assert grade(pool, submission(tmp_path, "bruno"), Limits(call_timeout_s=9))[0] == "bruno"
    wait_until(lambda: spare.process.poll() is not None, timeout_s=60,
               what="the spare launched for other limits to stop")
    dead = pool._spare[1].result(timeout=30)
    dead.process.kill()
    dead.process.wait()
    assert grade(pool, submission(tmp_path, "carla"), Limits(call_timeout_s=9))[0] == "carla"


def test_closing_the_pool_stops_its_spare(tmp_path):
    pool = PrestartedBackend(SubprocessBackend(isolation="bwrap"))
    grade(pool, submission(tmp_path, "ana"), Limits(call_timeout_s=10))
    spare = pool._spare[1].result(timeout=30)
    pool.close()
    assert spare.process.poll() is not None and not spare.workdir.exists()


def test_a_primed_pool_hands_its_first_submission_the_worker_launched_before_it(pool, tmp_path):
    # issue 23: a batch's warm process launches its first worker while the batch is prepared
    limits = Limits(call_timeout_s=10)
    pool.prime("tp1.py", limits)
    primed = pool._spare[1].result(timeout=30)
    pool.prime("tp1.py", limits)  # already launched for these: nothing new
    assert pool._spare[1].result(timeout=30) is primed
    session = Session(pool, submission(tmp_path, "ana"), "tp1", limits)
    try:
        assert session.module().who()[0] == "ana"
        assert session._channel is primed
    finally:
        session.close()
