"""Array checks fail in the order shape, dtype, finiteness, values, with precise Spanish messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.compare import (
    CheckFailure,
    assert_close,
    assert_scalar_close,
    call_many,
    expect_dict,
    expect_tuple,
    numerical_gradient,
    numerical_gradient_many,
    to_float,
)
from grader.engine.session import Session
from grader.sandbox.base import Limits
from grader.sandbox.subprocess import SubprocessBackend


def failure(function, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as caught:
        function(*args, **kwargs)
    return str(caught.value)


def test_shape_is_checked_first():
    message = failure(assert_close, np.zeros((5, 7)), np.zeros((7, 5)), name="dW",
                      context="linear_backward")
    assert message == "linear_backward: dW tiene forma (5, 7); se esperaba (7, 5)"


def test_then_dtype():
    message = failure(assert_close, np.zeros(3, np.float32), np.zeros(3), name="out")
    assert message == "out tiene dtype float32; se esperaba float64"


def test_then_finiteness_with_the_first_bad_index():
    actual = np.array([[1.0, np.nan], [np.inf, 0.0]])
    message = failure(assert_close, actual, np.zeros((2, 2)), name="probs", context="softmax")
    assert message == "softmax: probs contiene nan en [0, 1] (2 de 4 elementos no finitos)"


def test_then_values_with_the_largest_errors_and_where():
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 0.5
    actual[0, 1] += 0.1
    message = failure(assert_close, actual, expected, name="dx", context="relu_backward")
    assert message.startswith("relu_backward: dx difiere: error absoluto máx 5.00e-01 en [1, 2] "
                              "(error relativo 1.00e-01; valor obtenido 5.5;")
    assert message.endswith("2 de 6 elementos fuera de tolerancia")


def test_the_expected_value_is_never_shown():
    expected = np.array([0.123456789])
    message = failure(assert_close, np.array([9.0]), expected, name="out")
    assert "0.123" not in message
    assert "valor obtenido 9" in message


def hidden_failure(function, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as caught:
        function(*args, **kwargs)
    return caught.value.hidden_message


def test_the_hidden_form_of_a_value_failure_does_not_pin_the_expected_value():
    # The student's value, the absolute and the relative error together give the expected value
    # (|e| = abs / rel): a hidden check shows the relative error and where, nothing more.
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 0.5
    message = hidden_failure(assert_close, actual, expected, name="dx", context="relu_backward")
    assert message == ("relu_backward: dx difiere: error relativo máx 1.00e-01 en [1, 2] "
                       "(tolerancia atol=1e-08, rtol=1e-06); 1 de 6 elementos fuera de tolerancia")


def test_the_hidden_form_of_a_scalar_failure_shows_only_the_relative_error():
    message = hidden_failure(assert_scalar_close, 2.5, 2.0, name="loss", context="mse_loss")
    assert message == "mse_loss: loss difiere: error relativo 2.50e-01 (atol=1e-08, rtol=1e-06)"


def test_failures_that_show_no_value_read_the_same_in_hidden_checks():
    expected = np.zeros((7, 5))
    with pytest.raises(CheckFailure) as caught:
        assert_close(np.zeros((5, 7)), expected, name="dW", context="linear_backward")
    assert caught.value.hidden_message == str(caught.value)


def test_a_relative_error_against_zero_is_not_reported_as_a_number():
    message = failure(assert_close, np.array([1.0]), np.array([0.0]), name="dx")
    assert "error relativo no definido" in message


def test_something_that_is_not_an_array_is_named():
    message = failure(assert_close, [1.0, 2.0], np.zeros(2), name="out", context="relu_forward")
    assert message == "relu_forward: out debe ser un numpy.ndarray; llegó list"


def test_values_within_tolerance_pass():
    assert_close(np.array([1.0 + 1e-12]), np.array([1.0]))


def test_expected_nan_matches_nan():
    assert_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))


def test_tuples_of_the_wrong_length_say_what_was_expected():
    message = failure(expect_tuple, np.zeros(2), 2, names=("out", "cache"),
                      context="linear_forward")
    assert message == ("linear_forward debe devolver (out, cache); devolvió numpy.ndarray")
    message = failure(expect_tuple, (1, 2, 3), 2, context="f")
    assert message == "f debe devolver una tupla de 2 elementos; devolvió tuple de 3 elementos"


def test_dicts_missing_keys_list_what_they_have():
    message = failure(expect_dict, {"W1": 1}, ["W1", "b1"], name="grads", context="MLP.loss")
    assert message == "MLP.loss: grads no tiene las claves ['b1']; tiene ['W1']"


@pytest.mark.parametrize("value", [1.5, np.float64(1.5), np.array(1.5), np.array([1.5])])
def test_losses_may_be_floats_or_zero_d_arrays(value):
    assert to_float(value) == 1.5


def test_a_loss_of_the_wrong_shape_is_refused():
    message = failure(to_float, np.zeros(3), name="loss", context="mse_loss")
    assert message == ("mse_loss: loss debe ser un número (float o array 0-d); llegó "
                       "numpy.ndarray de forma (3,)")


def test_scalar_comparison_reports_the_obtained_value_and_errors():
    message = failure(assert_scalar_close, 2.5, 2.0, name="loss", context="mse_loss")
    assert message.startswith("mse_loss: loss difiere: obtenido 2.5, error absoluto 5.00e-01")


def test_numerical_gradient_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: float(np.sum(x ** 2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])


# --- call_many and numerical_gradient_many (issue 23) --------------------------------------------


def test_call_many_on_a_local_function_calls_it_as_the_loop_asks_and_raises_at_that_call():
    seen = []

    def f(x, *, k=1):
        seen.append(x)
        if x == 2:
            raise ValueError("dos")
        return k * x

    results = call_many(f, [((0,), {"k": 5}), ((1,), {}), ((2,), {}), ((3,), {})])
    assert seen == []
    assert [next(results), next(results)] == [0, 1] and seen == [0, 1]
    with pytest.raises(ValueError, match="dos"):
        next(results)
    assert seen == [0, 1, 2]


class AnswersAnything:
    """Like a remote object: any attribute of an instance is an answer from somewhere else."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: ["no", "se", "usa"]

    def __call__(self, x: int) -> int:
        return x + 1


class Batched(AnswersAnything):
    def grader_call_many(self, calls, pick=()):
        return iter([("lote", args, pick) for args, _ in calls])


def test_call_many_uses_the_batch_hook_of_the_class_never_of_the_instance():
    assert list(call_many(AnswersAnything(), [((1,), {}), ((2,), {})])) == [2, 3]
    assert list(call_many(Batched(), [((1,), {})])) == [("lote", (1,), ())]


def test_call_many_with_pick_gives_that_part_of_each_result_and_fails_at_its_call():
    def f(x):
        return (x, {"twice": 2 * x}) if x < 2 else x

    results = call_many(f, [((0,), {}), ((1,), {}), ((2,), {})], pick=(1, "twice"))
    assert [next(results), next(results)] == [0, 2]
    with pytest.raises(TypeError):
        next(results)
    assert list(call_many(Batched(), [((1,), {})], pick=(0,))) == [("lote", (1,), (0,))]


def test_numerical_gradient_many_gives_numerical_gradients_of_each_array_bit_for_bit():
    rng = np.random.default_rng(0)
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    dout = rng.normal(size=(3, 2))
    x0 = x.copy()

    def f():
        return float(np.sum(np.tanh(x @ W) * dout))

    expected = [numerical_gradient(f, x), numerical_gradient(f, W)]
    got = list(numerical_gradient_many(lambda a, b: np.tanh(a @ b),
                                       lambda: ((x.copy(), W.copy()), {}),
                                       lambda out: float(np.sum(out * dout)), x, W))
    assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True))
    assert np.array_equal(x, x0)


def test_numerical_gradient_many_judges_outputs_in_numerical_gradients_order_and_lazily():
    x, w = np.array([1.0, 2.0]), np.array([3.0])
    judged: list[float] = []

    def objective(value: float) -> float:
        judged.append(value)
        return value

    grads = numerical_gradient_many(lambda a, b: float(a.sum() * b[0]),
                                    lambda: ((x.copy(), w.copy()), {}), objective, x, w, h=0.5)
    assert judged == []
    np.testing.assert_allclose(next(grads), [3.0, 3.0])
    assert judged == [10.5, 7.5, 10.5, 7.5]  # x[0] + h, x[0] - h, x[1] + h, x[1] - h
    np.testing.assert_allclose(next(grads), [3.0])
    assert judged[4:] == [10.5, 7.5]


def test_numerical_gradient_many_stops_at_the_first_bad_output_with_its_message():
    x = np.array([1.0, 2.0, 3.0])

    def objective(value: Any) -> float:
        return to_float(value, name="loss", context="f")

    grads = numerical_gradient_many(lambda a: "roto" if a[1] > 2.0 else float(a.sum()),
                                    lambda: ((x.copy(),), {}), objective, x)
    with pytest.raises(CheckFailure, match="f: loss debe ser un número"):
        next(grads)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


STUDENT = """
import numpy as np

def forward(x, W):
    return np.tanh(x @ W), {"x": x}
"""


def test_numerical_gradient_many_is_the_same_for_the_sandboxed_and_the_local_function(tmp_path):
    path = tmp_path / "tp1.py"
    path.write_text(STUDENT)
    namespace: dict[str, Any] = {}
    exec(compile(STUDENT, str(path), "exec"), namespace)
    rng = np.random.default_rng(1)
    x, W, dout = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))

    def objective(value: Any) -> float:
        out, _ = expect_tuple(value, 2, names=("out", "cache"), context="forward")
        return float(np.sum(out * dout))

    def gradients(forward: Any) -> list[np.ndarray]:
        return list(numerical_gradient_many(forward, lambda: ((x.copy(), W.copy()), {}),
                                            objective, x, W))

    session = Session(SubprocessBackend(isolation="none"), path, "tp1", Limits())
    try:
        remote = session.module().forward
        before = session.stats["requests"]
        sandboxed = gradients(remote)
        assert session.stats["requests"] - before == 1  # 2 * (12 + 8) calls
    finally:
        session.close()
    local = gradients(namespace["forward"])
    assert all(np.array_equal(s, lo) for s, lo in zip(sandboxed, local, strict=True))
