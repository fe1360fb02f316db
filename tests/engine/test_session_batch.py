"""``Session.call_many``: K calls of one student function in a few requests, each call ending as
it would have on its own: same results, in-place changes, exception, status and message
(issue 23)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.engine.session import Session
from grader.errors import StudentError, WorkerCrash, WorkerTimeout
from grader.sandbox.base import Limits
from grader.sandbox.subprocess import SubprocessBackend

MODULE = '''
import sys
import time
import numpy as np

def affine(x, W, b=0.0):
    return x @ W + b, {"x": x}

def scale_in_place(a, k=2.0):
    a *= k
    return float(a.sum())

def fails_on_3(x):
    if x == 3:
        raise ValueError(f"mal: {x}")
    return x

def exits_on_2(x):
    if x == 2:
        sys.exit(4)
    return x

def spins_on_2(x):
    while x == 2:
        pass
    return x

def sleeps_on_1(x):
    while x == 1:
        time.sleep(1)
    return x

def busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return seconds

def zeros(n):
    return np.zeros(n)
'''


def make_session(tmp_path: Path, **limits: float) -> Session:
    path = tmp_path / "tp1.py"
    path.write_text(MODULE)
    return Session(SubprocessBackend(isolation="none"), path, "tp1", Limits(**limits))


@pytest.fixture
def session(tmp_path: Path):
    s = make_session(tmp_path)
    yield s
    s.close()


def test_k_calls_give_what_k_single_calls_give_in_one_request(session):
    student = session.module()
    rng = np.random.default_rng(0)
    calls = [((rng.normal(size=(2, 3)), rng.normal(size=(3, 4))), {"b": float(i)})
             for i in range(20)]
    single = [student.affine(*args, **kwargs) for args, kwargs in calls]
    before = session.stats["requests"]
    many = list(session.call_many(student.affine, calls))
    assert session.stats["requests"] - before == 1
    assert len(many) == len(single) == 20
    for (out, cache), (want, want_cache) in zip(many, single, strict=True):
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(cache["x"], want_cache["x"])


def test_each_calls_changes_in_place_are_copied_back_into_its_own_arguments(session):
    student = session.module()
    arrays = [np.ones(3), np.ones(3), np.ones(3)]
    calls = [((arrays[0],), {}), ((arrays[1],), {"k": 5.0}), ((), {"a": arrays[2], "k": -1.0})]
    assert list(session.call_many(student.scale_in_place, calls)) == [6.0, 15.0, -3.0]
    for array, k in zip(arrays, (2.0, 5.0, -1.0), strict=True):
        np.testing.assert_array_equal(array, np.full(3, k))


def test_an_exception_at_call_j_comes_after_the_results_before_it_as_a_single_call_raises_it(
        session):
    student = session.module()
    with pytest.raises(StudentError) as single:
        student.fails_on_3(3)
    results = session.call_many(student.fails_on_3, [((x,), {}) for x in range(6)])
    assert [next(results), next(results), next(results)] == [0, 1, 2]
    with pytest.raises(StudentError) as batched:
        next(results)
    assert str(batched.value) == str(single.value)
    assert batched.value.student_traceback == single.value.student_traceback


def test_sys_exit_mid_batch_is_the_crash_a_single_call_gives(session):
    student = session.module()
    with pytest.raises(WorkerCrash) as single:
        student.exits_on_2(2)
    student = session.module()  # a fresh worker
    results = session.call_many(student.exits_on_2, [((x,), {}) for x in range(5)])
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(WorkerCrash) as batched:
        next(results)
    assert str(batched.value) == str(single.value)


def test_an_infinite_loop_mid_batch_times_out_after_one_calls_budget_with_its_message(tmp_path):
    # A wall net far away: on a loaded machine the CPU budget is what ends both calls.
    session = make_session(tmp_path, call_timeout_s=0.5, wall_factor=30)
    try:
        student = session.module()
        with pytest.raises(WorkerTimeout) as single:
            student.spins_on_2(2)
        student = session.module()
        calls = [((x,), {}) for x in range(50)]
        results = session.call_many(student.spins_on_2, calls)
        assert [next(results), next(results)] == [0, 1]
        with pytest.raises(WorkerTimeout) as batched:
            next(results)
        assert str(batched.value) == str(single.value)
        assert session.restarts == 2  # the worker was killed, as after the single call
    finally:
        session.close()


def test_a_wait_mid_batch_hits_one_calls_wall_net_with_its_message(tmp_path):
    session = make_session(tmp_path, call_timeout_s=0.3)
    try:
        student = session.module()
        results = session.call_many(student.sleeps_on_1, [((x,), {}) for x in range(50)])
        assert next(results) == 0
        with pytest.raises(WorkerTimeout) as batched:
            next(results)
        # A single call's message also says how much CPU it used, when that was measured.
        assert str(batched.value).startswith("la llamada no terminó en 1.2 s de reloj")
        assert "¿espera algo que nunca llega?" in str(batched.value)
    finally:
        session.close()


def test_the_batchs_cpu_budget_is_k_calls_budgets(tmp_path):
    # Three calls of 0.3 s of CPU each: more than one call's 0.5 s, within each call's own.
    session = make_session(tmp_path, call_timeout_s=0.5)
    try:
        student = session.module()
        assert list(session.call_many(student.busy, [((0.3,), {})] * 3)) == [0.3] * 3
    finally:
        session.close()


def test_a_batch_whose_reply_would_pass_the_message_limit_is_split(tmp_path):
    # Results of 600,000 bytes, a 4 MiB reply limit (less a 1 MiB margin): five per request.
    session = make_session(tmp_path, max_message_mb=4)
    try:
        zeros = session.module().zeros
        before = session.stats["requests"]
        results = list(session.call_many(zeros, [((75_000,), {})] * 8))
        assert session.stats["requests"] - before == 2
        assert [r.shape for r in results] == [(75_000,)] * 8
    finally:
        session.close()


def test_a_function_given_up_on_is_not_called_in_a_batch_either(tmp_path):
    session = make_session(tmp_path, call_timeout_s=0.5, retries_per_function=1)
    try:
        with pytest.raises(WorkerTimeout):
            session.module().spins_on_2(2)
        spins = session.module().spins_on_2
        before = session.stats["requests"]
        with pytest.raises(WorkerTimeout, match="no se volvió a llamar a spins_on_2"):
            next(session.call_many(spins, [((0,), {})]))
        assert session.stats["requests"] - before == 0
    finally:
        session.close()
