"""Array and value checks with precise Spanish messages, for check authors.

Every failure raises ``CheckFailure`` (an ``AssertionError``) whose message says what was checked,
what was expected and what arrived, in the order shape, dtype, finiteness, values::

    linear_backward: dW tiene forma (5, 7); se esperaba (7, 5)
    linear_backward: dW difiere: error absoluto máx 3.2e-02 en [2, 4] (error relativo 1.1e-01;
    tolerancia atol=1e-08, rtol=1e-06); 12 de 35 elementos fuera de tolerancia

Expected values are never printed. A value failure shows the student's own value at the worst
index with the absolute and relative error, which together pin the expected value there
(``|e| = abs / rel``): fine for a public check, whose expected values ship to students anyway, but
not for a hidden one. So every ``CheckFailure`` also carries ``hidden_message``, the text a hidden
check records (``grader.engine.plugin``), with the relative error and where, and no value::

    linear_backward: dW difiere: error relativo máx 1.1e-01 en [2, 4] (tolerancia atol=1e-08,
    rtol=1e-06); 12 de 35 elementos fuera de tolerancia
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CheckFailure",
    "assert_array",
    "assert_close",
    "assert_finite",
    "assert_scalar_close",
    "call_many",
    "expect_dict",
    "expect_tuple",
    "numerical_gradient",
    "numerical_gradient_many",
    "to_float",
]


class CheckFailure(AssertionError):
    """A check found the student's value wrong; the message is shown to the student as is.

    Args:
        message: what a public check shows.
        hidden_message: what a hidden check shows instead, when ``message`` holds something that
            gives away a reference value; defaults to ``message``.
        relative_error: for values that were compared and differ (``assert_close``,
            ``assert_scalar_close``), the largest ``|a - e| / (|e| + atol)`` out of tolerance: the
            engine re-runs on CPU a check that failed on CUDA by float32 noise (issue 21).
    """

    def __init__(self, message: str, *, hidden_message: str | None = None,
                 relative_error: float | None = None) -> None:
        super().__init__(message)
        self.hidden_message = message if hidden_message is None else hidden_message
        self.relative_error = relative_error


def _fmt_index(index: tuple[Any, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _where(context: str, name: str) -> str:
    return f"{context}: {name}" if context else name


def _type_name(value: Any) -> str:
    kind = type(value)
    if kind.__name__ == "RemoteObject":
        return f"un objeto {value}"
    return f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__name__


def assert_array(actual: Any, *, shape: Sequence[int] | None = None, dtype: Any = None,
                 name: str = "resultado", context: str = "") -> np.ndarray:
    """Checks that ``actual`` is a plain ``np.ndarray`` with the given shape and dtype.

    Returns the array so callers can chain further checks.
    """
    label = _where(context, name)
    if type(actual) is not np.ndarray:
        raise CheckFailure(f"{label} debe ser un numpy.ndarray; llegó {_type_name(actual)}")
    if shape is not None and tuple(actual.shape) != tuple(shape):
        raise CheckFailure(
            f"{label} tiene forma {tuple(actual.shape)}; se esperaba {tuple(shape)}")
    if dtype is not None and actual.dtype != np.dtype(dtype):
        raise CheckFailure(f"{label} tiene dtype {actual.dtype}; se esperaba {np.dtype(dtype)}")
    return actual


def assert_finite(actual: np.ndarray, *, name: str = "resultado", context: str = "") -> None:
    """Fails when ``actual`` holds nan or inf, naming the first bad index."""
    bad = ~np.isfinite(actual)
    if bad.any():
        index = tuple(np.argwhere(bad)[0]) if actual.ndim else ()
        what = "nan" if np.isnan(actual[index]) else "inf"
        raise CheckFailure(
            f"{_where(context, name)} contiene {what} en {_fmt_index(index)} "
            f"({int(bad.sum())} de {actual.size} elementos no finitos)")


def assert_close(actual: Any, expected: np.ndarray, *, name: str = "resultado", context: str = "",
                 rtol: float = 1e-6, atol: float = 1e-8, check_dtype: bool = True) -> None:
    """Compares an array against the expected one: shape, dtype, finiteness, then values.

    Args:
        actual: what the student's code returned (must be a plain ``np.ndarray``).
        expected: the reference value.
        name: what the value is (``"dW"``), for the message.
        context: where it came from (``"linear_backward"``), for the message.
        rtol, atol: elements pass when ``|a - e| <= atol + rtol * |e|``.
        check_dtype: require ``actual.dtype == expected.dtype``.

    Example:
        >>> assert_close(dW, ref_dW, name="dW", context="linear_backward")
    """
    expected = np.asarray(expected)
    assert_array(actual, shape=expected.shape, dtype=expected.dtype if check_dtype else None,
                 name=name, context=context)
    if expected.dtype.kind == "b" or actual.dtype.kind == "b":
        wrong = actual != expected
        if wrong.any():
            index = tuple(np.argwhere(wrong)[0])
            raise CheckFailure(f"{_where(context, name)} difiere en {_fmt_index(index)} "
                               f"({int(wrong.sum())} de {actual.size} elementos)")
        return
    if np.isfinite(expected).all():
        assert_finite(actual, name=name, context=context)
    a = actual.astype(np.float64) if actual.dtype.kind != "c" else actual
    e = expected.astype(np.float64) if expected.dtype.kind != "c" else expected
    with np.errstate(all="ignore"):
        abs_err = np.abs(a - e)
        both_nan = np.isnan(a) & np.isnan(e)
        abs_err = np.where(both_nan, 0.0, abs_err)
        abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
        rel_err = abs_err / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        bad = abs_err > atol + rtol * np.abs(e)
    if not bad.any():
        return
    score = np.where(bad, abs_err, -1.0)
    index = np.unravel_index(int(np.argmax(score)), a.shape) if a.ndim else ()
    defined = abs(e[index]) > 1e-12
    relative = f"error relativo {rel_err[index]:.2e}" if defined else "error relativo no definido"
    label, where, tolerance = _where(context, name), _fmt_index(index), f"atol={atol:g}, rtol={rtol:g}"
    count = f"{int(bad.sum())} de {a.size} elementos fuera de tolerancia"
    hidden = (f"{label} difiere: error relativo máx {rel_err[index]:.2e} en {where}" if defined
              else f"{label} difiere en {where}")
    with np.errstate(all="ignore"):
        margin = float(np.max(abs_err[bad] / (np.abs(e[bad]) + atol)))
    raise CheckFailure(
        f"{label} difiere: error absoluto máx {abs_err[index]:.2e} en {where} ({relative}; "
        f"valor obtenido {_short(a[index])}; tolerancia {tolerance}); {count}",
        hidden_message=f"{hidden} (tolerancia {tolerance}); {count}",
        relative_error=margin if np.isfinite(margin) else None)


def _short(value: Any) -> str:
    return f"{value:.6g}" if np.isrealobj(value) else f"{value:.4g}"


def to_float(value: Any, *, name: str = "resultado", context: str = "") -> float:
    """Accepts a Python/numpy real number or a 0-d (or size-1) array and returns a float."""
    label = _where(context, name)
    if type(value) in (float, int) or (isinstance(value, np.generic) and np.isrealobj(value)
                                       and type(value).__module__ == "numpy"):
        return float(value)
    if type(value) is np.ndarray and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(()))
    raise CheckFailure(f"{label} debe ser un número (float o array 0-d); llegó {_type_name(value)}"
                       + (f" de forma {value.shape}" if type(value) is np.ndarray else ""))


def assert_scalar_close(actual: Any, expected: float, *, name: str = "resultado",
                        context: str = "", rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Compares a scalar (a float or 0-d array) against the expected value."""
    value = to_float(actual, name=name, context=context)
    if not np.isfinite(value):
        raise CheckFailure(f"{_where(context, name)} es {value}; se esperaba un número finito")
    err = abs(value - expected)
    if err > atol + rtol * abs(expected):
        rel = err / max(abs(expected), np.finfo(np.float64).tiny)
        label, tolerance = _where(context, name), f"(atol={atol:g}, rtol={rtol:g})"
        raise CheckFailure(f"{label} difiere: obtenido {value:.8g}, error absoluto {err:.2e}, "
                           f"error relativo {rel:.2e} {tolerance}",
                           hidden_message=f"{label} difiere: error relativo {rel:.2e} {tolerance}",
                           relative_error=err / (abs(expected) + atol))


def expect_tuple(value: Any, length: int, *, names: Sequence[str] = (), context: str = "") -> tuple:
    """Checks that a function returned a tuple (or list) of ``length`` items and returns it.

    Example:
        >>> out, cache = expect_tuple(student.linear_forward(x, W, b), 2,
        ...                           names=("out", "cache"), context="linear_forward")
    """
    if type(value) not in (tuple, list) or len(value) != length:
        shown = f"{type(value).__name__} de {len(value)} elementos" if type(value) in (
            tuple, list) else _type_name(value)
        expected = f"({', '.join(names)})" if names else f"una tupla de {length} elementos"
        raise CheckFailure(f"{context} debe devolver {expected}; devolvió {shown}")
    return tuple(value)


def expect_dict(value: Any, keys: Sequence[str] | None = None, *, name: str = "resultado",
                context: str = "") -> dict:
    """Checks that ``value`` is a dict containing ``keys`` and returns it."""
    if type(value) is not dict:
        raise CheckFailure(f"{_where(context, name)} debe ser un dict; llegó {_type_name(value)}")
    missing = [k for k in keys or () if k not in value]
    if missing:
        raise CheckFailure(f"{_where(context, name)} no tiene las claves {missing}; "
                           f"tiene {sorted(map(str, value))}")
    return value


def numerical_gradient(f: Callable[[], float], x: np.ndarray, *, h: float = 1e-6) -> np.ndarray:
    """Centred finite differences of a scalar function ``f()`` with respect to ``x`` (in place).

    ``f`` reads ``x`` each time it is called; each element is nudged by ``±h`` and restored.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])  # type: ignore[list-item]
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


Call = tuple[Sequence[Any], Mapping[str, Any]]
"""One call of ``call_many``: its positional and keyword arguments."""


def call_many(fn: Callable[..., Any], calls: Iterable[Call],
              pick: Sequence[int | str] = ()) -> Iterator[Any]:
    """``fn(*args, **kwargs)`` for each ``(args, kwargs)`` of ``calls``, in order: the results
    one by one, and the first call's exception when the loop reaches it. With ``pick``, each
    result indexed by its keys in turn (``pick=(0,)``: ``result[0]``), and only that travels
    back from the sandbox: for loops that look at one part of each result (an index that fails
    is that call's exception).

    For the student's function in the sandbox (a remote object) the calls travel together, a few
    requests in all instead of one each (issue 23); anything else (the in-process student, the
    reference, a local function) is called one call at a time, as the loop is consumed. Either
    way a loop over the results sees what a loop of calls would: the same results, in-place
    changes copied back, and the same exception at the same call. Give each call its own copies
    of the arguments: they travel as they are when the loop starts. Only the calls run together;
    every judgement on what they return stays with the caller.

    Example:
        >>> calls = [((x + d, W.copy(), b.copy()), {}) for d in deltas]
        >>> for out in call_many(student.linear_forward, calls):
        ...     check(out)
    """
    # Looked up on the class: an attribute of the instance would be a request to the student's
    # object, which could answer anything.
    batched = getattr(type(fn), "grader_call_many", None)
    if batched is not None:
        return iter(batched(fn, calls, tuple(pick)))
    return (_picked(fn(*args, **kwargs), pick) for args, kwargs in calls)


def _picked(value: Any, pick: Sequence[int | str]) -> Any:
    for key in pick:
        value = value[key]
    return value


def numerical_gradient_many(fn: Callable[..., Any], make_call: Callable[[], Call],
                            objective: Callable[[Any], float], *xs: np.ndarray,
                            h: float = 1e-6, pick: Sequence[int | str] = ()
                            ) -> Iterator[np.ndarray]:
    """``numerical_gradient`` of ``objective(fn(*args, **kwargs))`` with respect to each array of
    ``xs`` in turn, with all the calls of ``fn`` made together (``call_many``, issue 23).

    ``make_call()`` returns the arguments of one call built from the current ``xs`` (copies: it
    is called with each element nudged by ``+h`` and then ``-h``, and restored, as
    ``numerical_gradient`` does). ``objective`` turns what ``fn`` returned into a float, checking
    it as it likes. It runs here, on each result in the order ``numerical_gradient`` evaluates
    its ``f``, and each gradient is computed only when the loop asks for it: a loop that compares
    each gradient before asking for the next fails at the same output (or exception of ``fn``),
    with the same message, as one that called ``numerical_gradient`` for each array. ``pick``
    (``call_many``'s): ``objective`` gets only that part of each result, and only it travels;
    check the whole result's shape on a call of your own first (the analytic one).

    Example:
        >>> def objective(value):
        ...     out, _ = expect_tuple(value, 2, names=("out", "cache"), context="linear_forward")
        ...     return float(np.sum(out * dout))
        >>> numeric = numerical_gradient_many(student.linear_forward,
        ...                                   lambda: ((x.copy(), W.copy(), b.copy()), {}),
        ...                                   objective, x, W, b)
        >>> for name, got, want in zip(("dx", "dW", "db"), grads, numeric):
        ...     assert_close(got, want, name=name, rtol=1e-5, atol=1e-7)
    """
    calls: list[Call] = []
    indices: list[list[tuple[int, ...]]] = []
    for x in xs:
        indices.append([])
        it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])  # type: ignore[list-item]
        for _ in it:
            i = it.multi_index
            old = x[i]
            x[i] = old + h
            calls.append(make_call())
            x[i] = old - h
            calls.append(make_call())
            x[i] = old
            indices[-1].append(i)
    results = call_many(fn, calls, pick)
    for x, where in zip(xs, indices, strict=True):
        grad = np.zeros_like(x, dtype=np.float64)
        for i in where:
            plus = objective(next(results))
            minus = objective(next(results))
            grad[i] = (plus - minus) / (2 * h)
        yield grad
