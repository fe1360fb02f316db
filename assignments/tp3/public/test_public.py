"""Comprobaciones públicas del TP3: CNN, RNN y atención.

Son una muestra de las comprobaciones con las que se califica el TP: si fallan acá, también fallan
en la corrección. Que pasen todas no garantiza la nota completa (la corrección usa más casos:
otros strides y paddings, empates en el pooling, más pasos de tiempo, máscaras de todas las formas,
diferencias finitas, comparación con PyTorch y, para los entrenamientos, otros datos, más datos y
objetivos más exigentes).

Los valores esperados de la parte numpy vienen de la solución de la cátedra (``reference``),
guardados como datos: en este paquete no hay código de la solución. Los modelos de PyTorch se
evalúan con los ayudantes de ``worker_helpers.py``, que corren junto a tu código; las etiquetas de
los datos de evaluación nunca salen del proceso de las comprobaciones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.compare import CheckFailure, assert_close, expect_tuple
from grader.datasets import digits

TOL = {"rtol": 1e-7, "atol": 1e-10}


def _assert_unchanged(context: str, **pairs: tuple[np.ndarray, np.ndarray]) -> None:
    for name, (after, before) in pairs.items():
        if not (after.shape == before.shape and np.array_equal(after, before)):
            raise CheckFailure(f"{context} modificó su argumento {name}; las funciones no deben "
                               "cambiar sus entradas (trabajá sobre arrays nuevos)")


def _pair(value, names, context):
    return expect_tuple(value, 2, names=names, context=context)


# --- convolución y pooling -----------------------------------------------------------------------


@pytest.mark.exercise("conv")
def test_conv_forward_and_backward(student, reference, rng):
    """conv2d con stride=2 y pad=1: out, dx, dw y db (x (2, 3, 9, 7), w (4, 3, 3, 2))."""
    x, w, b = rng.normal(size=(2, 3, 9, 7)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    ref_out, ref_cache = reference.conv2d_forward(x, w, b, 2, 1)
    out, cache = _pair(student.conv2d_forward(x.copy(), w.copy(), b.copy(), 2, 1),
                       ("out", "cache"), "conv2d_forward")
    assert_close(out, ref_out, name="out", context="conv2d_forward (stride=2, pad=1)", **TOL)
    dout = rng.normal(size=ref_out.shape)
    grads = expect_tuple(student.conv2d_backward(dout.copy(), cache), 3,
                         names=("dx", "dw", "db"), context="conv2d_backward")
    for name, got, want in zip(("dx", "dw", "db"), grads,
                               reference.conv2d_backward(dout, ref_cache), strict=True):
        assert_close(got, want, name=name, context="conv2d_backward (stride=2, pad=1)", **TOL)


@pytest.mark.exercise("conv")
def test_conv_without_padding(student, reference, rng):
    """conv2d con stride=1 y pad=0 (el caso por defecto)."""
    x, w, b = rng.normal(size=(2, 3, 7, 9)), rng.normal(size=(5, 3, 2, 3)), rng.normal(size=5)
    ref_out, ref_cache = reference.conv2d_forward(x, w, b)
    out, cache = _pair(student.conv2d_forward(x.copy(), w.copy(), b.copy()), ("out", "cache"),
                       "conv2d_forward")
    assert_close(out, ref_out, name="out", context="conv2d_forward (stride=1, pad=0)", **TOL)
    dout = rng.normal(size=ref_out.shape)
    grads = expect_tuple(student.conv2d_backward(dout.copy(), cache), 3,
                         names=("dx", "dw", "db"), context="conv2d_backward")
    for name, got, want in zip(("dx", "dw", "db"), grads,
                               reference.conv2d_backward(dout, ref_cache), strict=True):
        assert_close(got, want, name=name, context="conv2d_backward (stride=1, pad=0)", **TOL)


@pytest.mark.exercise("maxpool")
def test_maxpool_overlapping_windows(student, reference, rng):
    """maxpool2d con kernel=3 y stride=2 (ventanas superpuestas): out y dx."""
    x = rng.normal(size=(2, 3, 9, 7))
    ref_out, ref_cache = reference.maxpool2d_forward(x, 3, 2)
    out, cache = _pair(student.maxpool2d_forward(x.copy(), 3, 2), ("out", "cache"),
                       "maxpool2d_forward")
    assert_close(out, ref_out, name="out", context="maxpool2d_forward (kernel=3, stride=2)", **TOL)
    dout = rng.normal(size=ref_out.shape)
    assert_close(student.maxpool2d_backward(dout.copy(), cache),
                 reference.maxpool2d_backward(dout, ref_cache), name="dx",
                 context="maxpool2d_backward (kernel=3, stride=2)", **TOL)


# --- RNN y LSTM ----------------------------------------------------------------------------------

N, T, D, H = 3, 4, 5, 6


def _weights(rng, gates):
    return (rng.normal(scale=0.5, size=(D, gates)), rng.normal(scale=0.5, size=(H, gates)),
            rng.normal(scale=0.5, size=gates))


@pytest.mark.exercise("rnn_step")
def test_rnn_step(student, reference, rng):
    """rnn_step_forward y rnn_step_backward (D=5, H=6)."""
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _weights(rng, H)
    ref_h, ref_cache = reference.rnn_step_forward(x, h_prev, Wx, Wh, b)
    h, cache = _pair(student.rnn_step_forward(x.copy(), h_prev.copy(), Wx.copy(), Wh.copy(),
                                              b.copy()), ("h", "cache"), "rnn_step_forward")
    assert_close(h, ref_h, name="h", context="rnn_step_forward", **TOL)
    dh = rng.normal(size=(N, H))
    grads = expect_tuple(student.rnn_step_backward(dh.copy(), cache), 5,
                         names=("dx", "dh_prev", "dWx", "dWh", "db"), context="rnn_step_backward")
    for name, got, want in zip(("dx", "dh_prev", "dWx", "dWh", "db"), grads,
                               reference.rnn_step_backward(dh, ref_cache), strict=True):
        assert_close(got, want, name=name, context="rnn_step_backward", **TOL)


def _sequence(student, reference, rng, kind: str, gates: int) -> None:
    fwd, bwd = f"{kind}_forward", f"{kind}_backward"
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _weights(rng, gates)
    ref_h, ref_cache = getattr(reference, fwd)(x, h0, Wx, Wh, b)
    h, cache = _pair(getattr(student, fwd)(x.copy(), h0.copy(), Wx.copy(), Wh.copy(), b.copy()),
                     ("h", "cache"), fwd)
    assert_close(h, ref_h, name="h", context=fwd, **TOL)
    dh = rng.normal(size=(N, T, H))
    saved = dh.copy()
    grads = expect_tuple(getattr(student, bwd)(dh, cache), 5,
                         names=("dx", "dh0", "dWx", "dWh", "db"), context=bwd)
    _assert_unchanged(bwd, dh=(dh, saved))
    for name, got, want in zip(("dx", "dh0", "dWx", "dWh", "db"), grads,
                               getattr(reference, bwd)(saved, ref_cache), strict=True):
        assert_close(got, want, name=name, context=bwd, **TOL)


@pytest.mark.exercise("rnn")
def test_rnn_sequence(student, reference, rng):
    """rnn_forward y rnn_backward con T=4 y gradiente en cada paso (dh (N, T, H))."""
    _sequence(student, reference, rng, "rnn", H)


@pytest.mark.exercise("lstm_step")
def test_lstm_step(student, reference, rng):
    """lstm_step_forward y lstm_step_backward, compuertas en el orden i, f, g, o."""
    x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    Wx, Wh, b = _weights(rng, 4 * H)
    ref_h, ref_c, ref_cache = reference.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    h, c, cache = expect_tuple(student.lstm_step_forward(x.copy(), h_prev.copy(), c_prev.copy(),
                                                         Wx.copy(), Wh.copy(), b.copy()), 3,
                               names=("h", "c", "cache"), context="lstm_step_forward")
    assert_close(h, ref_h, name="h", context="lstm_step_forward", **TOL)
    assert_close(c, ref_c, name="c", context="lstm_step_forward", **TOL)
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    saved = dh.copy(), dc.copy()
    names = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
    grads = expect_tuple(student.lstm_step_backward(dh, dc, cache), 6, names=names,
                         context="lstm_step_backward")
    _assert_unchanged("lstm_step_backward", dh=(dh, saved[0]), dc=(dc, saved[1]))
    for name, got, want in zip(names, grads, reference.lstm_step_backward(*saved, ref_cache),
                               strict=True):
        assert_close(got, want, name=name, context="lstm_step_backward", **TOL)


@pytest.mark.exercise("lstm")
def test_lstm_sequence(student, reference, rng):
    """lstm_forward y lstm_backward con T=4 (c0 = 0)."""
    _sequence(student, reference, rng, "lstm", 4 * H)


# --- atención ------------------------------------------------------------------------------------


@pytest.mark.exercise("attention")
def test_attention_with_causal_mask(student, reference, rng):
    """Atención con Tq=3, Tk=5, d=4, dv=6, sin máscara y con máscara causal (Tq, Tk)."""
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 6))
    for mask in (None, np.tril(np.ones((3, 5), dtype=bool))):
        label = "sin máscara" if mask is None else "máscara causal"
        args = (q.copy(), k.copy(), v.copy()) + (() if mask is None else (mask.copy(),))
        out, attn = _pair(student.scaled_dot_product_attention(*args), ("out", "attn"),
                          "scaled_dot_product_attention")
        ref_out, ref_attn = reference.scaled_dot_product_attention(q, k, v, mask)
        assert_close(out, ref_out, name="out", context=f"scaled_dot_product_attention ({label})",
                     **TOL)
        assert_close(attn, ref_attn, name="attn",
                     context=f"scaled_dot_product_attention ({label})", **TOL)


# --- PyTorch -------------------------------------------------------------------------------------


def _predict(inworker, model, x: np.ndarray, n_out: int, context: str) -> np.ndarray:
    if not inworker.is_module(model):
        raise CheckFailure(f"{context} debe ser un torch.nn.Module; llegó "
                           f"{inworker.type_name(model)}")
    out = inworker.predict(model, torch.from_numpy(x))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(x), n_out):
        shown = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise CheckFailure(f"{context}: para una entrada de forma {x.shape} devolvió {shown}; se "
                           f"esperaba un tensor de forma {(len(x), n_out)}")
    return out.double().numpy()


@pytest.mark.exercise("small_cnn")
def test_small_cnn_returns_logits(student, inworker, device, rng):
    """SmallCNN() con entrada (N, 1, 8, 8) devuelve logits (N, 10), no probabilidades."""
    model = inworker.to_device(student.SmallCNN(), device)
    logits = _predict(inworker, model, rng.normal(size=(16, 1, 8, 8)).astype(np.float32), 10,
                      "SmallCNN()")
    if logits.min() >= 0.0 and logits.max() <= 1.0:
        raise CheckFailure("SmallCNN(): todas las salidas están entre 0 y 1, como "
                           "probabilidades; el modelo debe devolver logits (sin softmax al final)")


# The public training checks are lighter than the hidden ones (issue 23): ``grader check`` is the
# command a student runs most, and on two cores it has to answer in a few seconds. They train on
# 400 examples instead of the hidden checks' 1300 digits and 2000 series; a student's fit_* keeps
# its own epochs, so it takes about a third (fit_cnn) and a fifth (fit_seq_regressor) of the
# optimizer steps: the reference trains in ~0.4 s and ~0.8 s of CPU instead of ~2.4 s and ~3.5 s.
# With so few steps every model is undertrained, so the thresholds are this size's own, measured
# in process with one thread (worst of seeds 0-5 of each fit_*): reference_solutions/tp3/recipes/,
# the reference, tests/fixtures/tp3/passes_all.py and examples/class/tp3 (ana, bruno, carla,
# elena). They say "training works" and nothing finer; the hidden checks grade with the full data
# and the calibrated targets, and tests/tp3/test_tp3_public_training.py pins what fails here.
CNN_TRAIN = 400
"""Digits the public fit_cnn check trains on (the hidden check: 1300)."""
CNN_FULL, CNN_NONE = 0.85, 0.60
"""Accuracy for full credit and at or below which there is none, on 1397 unseen digits. Worst
reasonable: 0.875 (LeNet, and a CNN trained through a softmax), reference 0.933; untrained, with
shuffled labels or one epoch at lr 2e-4: 0.08-0.17."""
SEQ_TRAIN = 400
"""Series the public fit_seq_regressor check trains on (the hidden check: 2000)."""
SEQ_FULL, SEQ_NONE = 0.4, 0.8
"""MSE for full credit and at or above which there is none, as fractions of the MSE of predicting
the training targets' mean, on 500 unseen series. Worst reasonable: 0.30 (the reference and the
two-layer LSTM with an MLP head), the GRU 0.27; a layer without batch_first 0.71; untrained, with
shuffled targets or one epoch at lr 2e-4: 1.05-1.09. (The linear regression is no yardstick at
this size: every model trained this little is about twice as bad as it.)"""


def _digits(seed: int, n_train: int):
    X, y = digits()  # load_digits(return_X_y=True), without scikit-learn's imports
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[:n_train], order[n_train:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    X = ((X - mean) / std).astype(np.float32).reshape(-1, 1, 8, 8)
    return X[train], y[train], X[test], y[test]


def _fraction(value: float, target: float, floor: float) -> float:
    return float(min(max((value - floor) / (target - floor), 0.0), 1.0))


@pytest.mark.exercise("fit_cnn")
@pytest.mark.timeout_s(2 * 60)  # the contract's "within 60 s on 2 CPU cores", in CPU seconds
def test_fit_cnn_accuracy(student, inworker, device, credit):
    """fit_cnn con 400 dígitos: exactitud en los que no vio (completo desde 85 %, nada con 60 %)."""
    X, y, X_test, y_test = _digits(seed=1, n_train=CNN_TRAIN)
    model = student.fit_cnn(X, y, seed=0, device=device)
    logits = _predict(inworker, model, X_test, 10, "fit_cnn(...)")
    accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
    credit.award(_fraction(accuracy, CNN_FULL, CNN_NONE),
                 f"fit_cnn: exactitud {accuracy:.1%} en {len(X_test)} dígitos nuevos, entrenando "
                 f"con {len(X)}; puntaje completo con {CNN_FULL:.0%} o más, nada con "
                 f"{CNN_NONE:.0%} o menos (la corrección entrena con más dígitos y pide más)")


@pytest.mark.exercise("seq_regressor")
def test_seq_regressor_output_shape(student, inworker, device, rng):
    """SeqRegressor(cell=...) con entrada (N, 50, 1) devuelve (N, 10) para RNN, LSTM y GRU."""
    x = rng.normal(size=(4, 50, 1)).astype(np.float32)
    for cell in ("RNN", "LSTM", "GRU"):
        model = inworker.to_device(student.SeqRegressor(cell=cell), device)
        _predict(inworker, model, x, 10, f'SeqRegressor(cell="{cell}")')
        used = sorted(inworker.recurrent_calls(model, torch.from_numpy(x)))
        if not used or not set(used) <= {cell, cell + "Cell"}:
            raise CheckFailure(f'SeqRegressor(cell="{cell}"): el forward debe usar nn.{cell}; '
                               f"usó {used or 'ninguna capa recurrente de PyTorch'}")


def _series(n: int, seed: int):
    """El generador del curso: dos senos de frecuencias y fases al azar más ruido."""
    r = np.random.default_rng(seed)
    freq1, freq2, offset1, offset2 = r.random((4, n, 1))
    time = np.linspace(0, 1, 60)
    s = 0.5 * np.sin((time - offset1) * (freq1 * 10 + 10))
    s = s + 0.2 * np.sin((time - offset2) * (freq2 * 20 + 20))
    s = (s + 0.1 * (r.random((n, 60)) - 0.5)).astype(np.float32)
    return s[:, :50, None], s[:, 50:]


@pytest.mark.exercise("fit_seq_regressor")
@pytest.mark.timeout_s(2 * 90)  # the contract's "within 90 s on 2 CPU cores", in CPU seconds
def test_fit_seq_regressor_mse(student, inworker, device, credit):
    """fit_seq_regressor con 400 series: MSE en series nuevas contra predecir el promedio."""
    X, Y = _series(SEQ_TRAIN, seed=1)
    X_test, Y_test = _series(500, seed=2)
    mean_mse = float(np.mean((Y.astype(np.float64).mean(axis=0) - Y_test) ** 2))
    model = student.fit_seq_regressor(X, Y, seed=0, device=device)
    pred = _predict(inworker, model, X_test, 10, "fit_seq_regressor(...)")
    mse = float(np.mean((pred - Y_test) ** 2))
    full, none = SEQ_FULL * mean_mse, SEQ_NONE * mean_mse
    credit.award(_fraction(-mse, -full, -none),
                 f"fit_seq_regressor: MSE {mse:.4g} en {len(X_test)} series nuevas, entrenando "
                 f"con {len(X)}; predecir siempre el promedio da {mean_mse:.4g}; puntaje completo "
                 f"con {full:.4g} o menos, nada con {none:.4g} o más (la corrección entrena con "
                 "2000 series y pide mejorar a la regresión lineal)")

