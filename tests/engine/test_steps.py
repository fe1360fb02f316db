"""Dependent calls sent together (``grader.steps``, op ``steps``, issue 23): one request, and what
the same calls one by one would give, failures included, in the sandbox and in process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.engine.session import Session
from grader.errors import StudentError, WorkerTimeout
from grader.sandbox.base import Limits
from grader.sandbox.subprocess import SubprocessBackend
from grader.steps import Steps

MODULE = '''
import numpy as np

def forward(x, W):
    return x @ W, (x, W)

def backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout

def not_a_pair(x, W):
    return x @ W

def grow(config):
    config["t"] = config.get("t", 0) + 1
    return config

def scale_in_place(a):
    a *= 2
    return a.sum()

def loop(x):
    while True:
        pass

class Model:
    def __init__(self, n):
        self.params = {"W": np.zeros(n)}

    def loss(self, x):
        return float(self.params["W"] @ x)
'''


@pytest.fixture
def student(tmp_path: Path):
    path = tmp_path / "tp1.py"
    path.write_text(MODULE)
    session = Session(SubprocessBackend(isolation="none"), path, "tp1",
                      # A wall clock far past the CPU budget: a loaded machine never makes the
                      # looping step's end a matter of wall time.
                      Limits(call_timeout_s=1, wall_factor=60), prefetch=("forward", "backward"))
    yield session.module()
    session.close()


@pytest.fixture
def local(tmp_path: Path):
    path = tmp_path / "local_steps_module.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("local_steps_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("local_steps_module", None)


def _forward_backward(module):
    x, W, dout = np.arange(6.0).reshape(2, 3), np.ones((3, 4)), np.ones((2, 4))
    with Steps() as steps:
        forward = steps.call(module.forward, x, W)
        backward = steps.call(module.backward, dout, forward[1])
    return forward.value, backward.value


def test_a_forward_and_its_backward_are_one_request_with_the_same_values(student, local):
    session = student._session
    before = session.stats["requests"]
    (out, cache), (dx, dW) = _forward_backward(student)
    assert session.stats["requests"] - before == 1
    (want_out, _), (want_dx, want_dW) = _forward_backward(local)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(dx, want_dx)
    np.testing.assert_array_equal(dW, want_dW)
    assert len(cache) == 2


def test_a_model_is_built_given_params_and_called_in_one_request(student, local):
    for module in (student, local):
        with Steps() as steps:
            model = steps.call(module.Model, 3)
            steps.setattr(model, "params", {"W": np.arange(3.0)})
            loss = steps.call(steps.getattr(model, "loss"), np.ones(3))
            params = steps.getattr(model, "params")
        assert loss.value == 3.0
        np.testing.assert_array_equal(params.value["W"], [0.0, 1.0, 2.0])


def test_a_method_read_in_the_steps_is_named_as_a_student_would(student):
    """``model.loss`` read from a model built in the same steps is ``Model.loss`` in messages
    (a give-up names it), as when it was read one request at a time."""
    with Steps() as steps:
        loss = steps.getattr(steps.call(student.Model, 3), "loss")
    session = student._session
    assert session._callable_name(loss.value) == "Model.loss"


def test_each_step_reports_its_result_as_it_was_when_the_step_ended(student, local):
    """``grow`` changes the dict an earlier step returned: that step still reports it as it
    returned it, as when it came here before the next call."""
    for module in (student, local):
        with Steps() as steps:
            first = steps.call(module.grow, {})
            second = steps.call(module.grow, first)
        assert second.value == {"t": 2}
        if module is student:
            assert first.value == {"t": 1}


def test_a_failed_step_raises_where_the_check_reads_it_and_after_it(student, local):
    x, W, dout = np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4))
    for module in (student, local):
        with Steps() as steps:
            out = steps.call(module.not_a_pair, x, W)
            backward = steps.call(module.backward, dout, out[1])
            never = steps.call(module.forward, x, W)
        np.testing.assert_array_equal(out.value, x @ W)  # the check judges this first
        for later in (backward, never):
            with pytest.raises((StudentError, ValueError)):
                later.value  # noqa: B018


def test_a_step_changed_in_place_is_copied_back_unless_it_came_from_a_step(student):
    a = np.ones(3)
    with Steps() as steps:
        total = steps.call(student.scale_in_place, a)
    assert total.value == 6.0
    np.testing.assert_array_equal(a, [2.0, 2.0, 2.0])


def test_a_step_that_loops_ends_over_budget_and_keeps_the_results_before_it(student):
    with Steps() as steps:
        first = steps.call(student.grow, {})
        stuck = steps.call(student.loop, 1)
    assert first.value == {"t": 1}
    with pytest.raises(WorkerTimeout, match="de CPU"):
        stuck.value  # noqa: B018
    assert student._session.module().grow({}) == {"t": 1}  # a fresh worker answers


def test_a_later_goes_as_an_argument_itself_and_is_read_after_the_run(student):
    steps = Steps()
    out = steps.call(student.forward, np.ones((1, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="argumento en sí"):
        steps.call(student.backward, [out[1]], np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="todavía no corrieron"):
        out.value  # noqa: B018
    steps.run()
    assert out.value[0].shape == (1, 2)
