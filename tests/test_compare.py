"""Array checks fail in the order shape, dtype, finiteness, values, with precise Spanish messages."""

from __future__ import annotations

import numpy as np
import pytest

from grader.compare import (
    CheckFailure,
    assert_close,
    assert_scalar_close,
    expect_dict,
    expect_tuple,
    numerical_gradient,
    to_float,
)


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
