"""``student.f(x)`` costs one round trip once ``f`` is known, and never calls a stale binding."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.session import Session
from grader.sandbox.base import Limits
from grader.sandbox.subprocess import SubprocessBackend

MODULE = '''
VALUE = 1

def f():
    return VALUE

def rebind():
    global f
    f = lambda: "nueva"

def set_value(v):
    global VALUE
    VALUE = v

def __getattr__(name):
    return name.upper()
'''


@pytest.fixture
def session(tmp_path: Path):
    path = tmp_path / "tp1.py"
    path.write_text(MODULE)
    s = Session(SubprocessBackend(isolation="none"), path, "tp1", Limits())
    yield s
    s.close()


def test_a_known_function_is_called_in_one_round_trip(session):
    student = session.module()
    assert student.f() == 1
    before = session.stats["requests"]
    assert student.f() == 1 and student.f() == 1
    assert session.stats["requests"] - before == 2


def test_rebinding_a_function_is_seen_by_the_next_call(session):
    student = session.module()
    assert student.f() == 1
    student.rebind()
    assert student.f() == "nueva"


def test_data_and_module_getattr_are_always_asked_for(session):
    student = session.module()
    assert student.VALUE == 1
    student.set_value(5)
    assert student.VALUE == 5 and student.f() == 5
    assert student.anything == "ANYTHING"


def test_a_restarted_worker_gets_fresh_handles(session):
    student = session.module()
    student.f()
    session.close()
    assert session.module().f() == 1


def test_the_functions_the_checks_will_call_come_in_one_request_after_the_import(tmp_path):
    """``prefetch`` (issue 23): one ``getattrs`` instead of a ``getattr`` per function; a name
    the module lacks or binds to data is still asked for, and answered, as before."""
    path = tmp_path / "tp1.py"
    path.write_text(MODULE)
    session = Session(SubprocessBackend(isolation="none"), path, "tp1", Limits(),
                      prefetch=("f", "rebind", "VALUE", "missing"))
    try:
        student = session.module()
        before = session.stats["requests"]
        assert student.f() == 1
        assert session.stats["requests"] - before == 1
        student.rebind()  # the prefetched binding is stale now: asked for again
        assert student.f() == "nueva"
        assert student.VALUE == 1 and student.missing == "MISSING"
    finally:
        session.close()
