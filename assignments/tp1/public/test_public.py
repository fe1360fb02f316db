"""Comprobaciones públicas del TP1: redes feed-forward desde cero.

Son una muestra de las comprobaciones con las que se califica el TP: si fallan acá, también fallan
en la corrección. Que pasen todas no garantiza la nota completa (la corrección usa más casos:
otras formas, diferencias finitas, entradas extremas, comparación con PyTorch).

Los valores esperados vienen de la solución de la cátedra (``reference``), guardados como datos:
en este paquete no hay código de la solución.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grader.compare import (
    CheckFailure,
    assert_array,
    assert_close,
    assert_scalar_close,
    expect_dict,
    expect_tuple,
    to_float,
)

TOL = {"rtol": 1e-7, "atol": 1e-10}


def _signed(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Valores de ambos signos con 0.1 <= |x| <= 2 (lejos del quiebre de ReLU en 0)."""
    x = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    flat = x.reshape(-1)
    flat[0], flat[1] = -abs(flat[0]), abs(flat[1])
    return x


def _assert_unchanged(context: str, **pairs: tuple[np.ndarray, np.ndarray]) -> None:
    for name, (after, before) in pairs.items():
        if not (after.shape == before.shape and np.array_equal(after, before)):
            raise CheckFailure(f"{context} modificó su argumento {name}; las funciones no deben "
                               "cambiar sus entradas (trabajá sobre arrays nuevos)")


def _copy_config(config):
    """Una copia del config, para que ninguna llamada modifique un valor ya guardado."""
    return {k: v.copy() if type(v) is np.ndarray else v for k, v in config.items()}


# --- capa lineal ---------------------------------------------------------------------------------


@pytest.mark.exercise("linear")
def test_linear_forward(student, reference, rng):
    """linear_forward calcula x @ W + b con formas (N, D), (D, M), (M,)."""
    x, W, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=(3,))
    expected, _ = reference.linear_forward(x, W, b)
    out, _ = expect_tuple(student.linear_forward(x.copy(), W.copy(), b.copy()), 2,
                          names=("out", "cache"), context="linear_forward")
    assert_close(out, expected, name="out", context="linear_forward", **TOL)


@pytest.mark.exercise("linear")
def test_linear_backward(student, reference, rng):
    """linear_backward devuelve dx, dW, db con las formas y valores correctos."""
    x, W, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=(3,))
    dout = rng.normal(size=(4, 3))
    _, ref_cache = reference.linear_forward(x, W, b)
    expected = reference.linear_backward(dout, ref_cache)
    _, cache = expect_tuple(student.linear_forward(x.copy(), W.copy(), b.copy()), 2,
                            names=("out", "cache"), context="linear_forward")
    grads = expect_tuple(student.linear_backward(dout.copy(), cache), 3,
                         names=("dx", "dW", "db"), context="linear_backward")
    for name, got, want in zip(("dx", "dW", "db"), grads, expected, strict=True):
        assert_close(got, want, name=name, context="linear_backward", **TOL)


@pytest.mark.exercise("linear")
def test_linear_leaves_arguments_unchanged(student, rng):
    """linear_forward y linear_backward no modifican sus argumentos."""
    x, W, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=(3,))
    dout = rng.normal(size=(4, 3))
    saved = [a.copy() for a in (x, W, b, dout)]
    _, cache = expect_tuple(student.linear_forward(x, W, b), 2, names=("out", "cache"),
                            context="linear_forward")
    _assert_unchanged("linear_forward", x=(x, saved[0]), W=(W, saved[1]), b=(b, saved[2]))
    student.linear_backward(dout, cache)
    _assert_unchanged("linear_backward", dout=(dout, saved[3]))


# --- activaciones --------------------------------------------------------------------------------


def _check_activation(student, reference, fwd: str, bwd: str, x, dout, **kwargs) -> None:
    ref_out, ref_cache = getattr(reference, fwd)(x, **kwargs)
    ref_dx = getattr(reference, bwd)(dout, ref_cache)
    out, cache = expect_tuple(getattr(student, fwd)(x.copy(), **kwargs), 2,
                              names=("out", "cache"), context=fwd)
    assert_close(out, ref_out, name="out", context=fwd, **TOL)
    assert_close(getattr(student, bwd)(dout.copy(), cache), ref_dx, name="dx", context=bwd,
                 **TOL)


@pytest.mark.exercise("relu")
def test_relu(student, reference, rng):
    """relu_forward y relu_backward coinciden con la solución."""
    _check_activation(student, reference, "relu_forward", "relu_backward",
                      _signed(rng, (4, 6)), rng.normal(size=(4, 6)))


@pytest.mark.exercise("relu")
def test_relu_leaves_input_unchanged(student, rng):
    """relu_forward no modifica x."""
    x = _signed(rng, (4, 6))
    saved = x.copy()
    student.relu_forward(x)
    _assert_unchanged("relu_forward", x=(x, saved))


@pytest.mark.exercise("leaky_relu")
def test_leaky_relu_with_alpha(student, reference, rng):
    """leaky_relu_forward/backward respetan alpha (acá alpha=0.2)."""
    _check_activation(student, reference, "leaky_relu_forward", "leaky_relu_backward",
                      _signed(rng, (4, 6)), rng.normal(size=(4, 6)), alpha=0.2)


@pytest.mark.exercise("sigmoid")
def test_sigmoid(student, reference, rng):
    """sigmoid_forward y sigmoid_backward coinciden con la solución."""
    _check_activation(student, reference, "sigmoid_forward", "sigmoid_backward",
                      rng.normal(scale=3.0, size=(4, 6)), rng.normal(size=(4, 6)))


@pytest.mark.exercise("sigmoid")
def test_sigmoid_is_stable_for_large_inputs(student, reference, rng):
    """sigmoid con entradas de magnitud 1e3: sin nan ni inf."""
    x = np.array([[-1000.0, -800.0, -40.0, 0.5], [1000.0, 800.0, 40.0, -0.5]])
    _check_activation(student, reference, "sigmoid_forward", "sigmoid_backward",
                      x, rng.normal(size=x.shape))


@pytest.mark.exercise("tanh")
def test_tanh(student, reference, rng):
    """tanh_forward y tanh_backward coinciden con la solución."""
    _check_activation(student, reference, "tanh_forward", "tanh_backward",
                      rng.normal(scale=2.0, size=(4, 6)), rng.normal(size=(4, 6)))


# --- softmax y pérdidas --------------------------------------------------------------------------


@pytest.mark.exercise("softmax")
def test_softmax(student, reference, rng):
    """softmax sobre el último eje, estable para logits de magnitud 1e3."""
    scores = rng.normal(scale=3.0, size=(4, 6))
    scores[0] = [1000.0, 0.0, -1000.0, 999.0, 1.0, 2.0]
    expected = reference.softmax(scores)
    assert_close(student.softmax(scores.copy()), expected, name="probs", context="softmax", **TOL)


@pytest.mark.exercise("cross_entropy")
def test_softmax_cross_entropy(student, reference, rng):
    """softmax_cross_entropy devuelve la pérdida media y dscores."""
    scores = rng.normal(scale=2.0, size=(5, 4))
    y = rng.integers(0, 4, size=5).astype(np.int64)
    ref_loss, ref_d = reference.softmax_cross_entropy(scores, y)
    loss, dscores = expect_tuple(student.softmax_cross_entropy(scores.copy(), y.copy()), 2,
                                 names=("loss", "dscores"), context="softmax_cross_entropy")
    assert_scalar_close(loss, to_float(ref_loss), name="loss", context="softmax_cross_entropy",
                        **TOL)
    assert_close(dscores, ref_d, name="dscores", context="softmax_cross_entropy", **TOL)


@pytest.mark.exercise("bce")
def test_bce_with_logits(student, reference, rng):
    """bce_with_logits: pérdida media y dz, estable con logits de magnitud 1e3."""
    z = rng.normal(scale=2.0, size=(4, 3))
    z[0] = [1000.0, -1000.0, 800.0]
    y = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    y[0] = [0.0, 1.0, 0.0]
    ref_loss, ref_dz = reference.bce_with_logits(z, y)
    loss, dz = expect_tuple(student.bce_with_logits(z.copy(), y.copy()), 2, names=("loss", "dz"),
                            context="bce_with_logits")
    assert_scalar_close(loss, to_float(ref_loss), name="loss", context="bce_with_logits", **TOL)
    assert_close(dz, ref_dz, name="dz", context="bce_with_logits", **TOL)


@pytest.mark.exercise("mse")
def test_mse_loss(student, reference, rng):
    """mse_loss devuelve la media sobre todos los elementos y dpred."""
    pred, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    ref_loss, ref_d = reference.mse_loss(pred, target)
    loss, dpred = expect_tuple(student.mse_loss(pred.copy(), target.copy()), 2,
                               names=("loss", "dpred"), context="mse_loss")
    assert_scalar_close(loss, to_float(ref_loss), name="loss", context="mse_loss", **TOL)
    assert_close(dpred, ref_d, name="dpred", context="mse_loss", **TOL)


# --- optimizadores -------------------------------------------------------------------------------


def _three_steps(student, reference, rng, fn: str) -> None:
    """Tres pasos desde config=None, pasando cada vez el config que devolvió el paso anterior."""
    w = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) * 10.0 ** rng.uniform(-4, 1, size=(4, 3)) for _ in range(3)]
    w_ref, ref_config = w, None
    expected = []
    for dw in grads:
        args = (w_ref, dw) if ref_config is None else (w_ref, dw, _copy_config(ref_config))
        w_ref, ref_config = getattr(reference, fn)(*args)
        expected.append(w_ref)
    w_student, config = w.copy(), None
    for step, (dw, want) in enumerate(zip(grads, expected, strict=True), start=1):
        args = (w_student, dw.copy()) if config is None else (w_student, dw.copy(), config)
        w_student, config = expect_tuple(getattr(student, fn)(*args), 2,
                                         names=("next_w", "config"), context=f"{fn} (paso {step})")
        config = expect_dict(config, name="config", context=f"{fn} (paso {step})")
        assert_close(w_student, want, name="next_w", context=f"{fn} (paso {step})",
                     rtol=1e-9, atol=1e-12)


@pytest.mark.exercise("sgd")
def test_sgd(student, reference, rng):
    """sgd con los valores por defecto, tres pasos."""
    _three_steps(student, reference, rng, "sgd")


@pytest.mark.exercise("momentum")
def test_sgd_momentum(student, reference, rng):
    """sgd_momentum guarda la velocidad en config entre pasos."""
    _three_steps(student, reference, rng, "sgd_momentum")


@pytest.mark.exercise("rmsprop")
def test_rmsprop(student, reference, rng):
    """rmsprop guarda su promedio de gradientes al cuadrado en config entre pasos."""
    _three_steps(student, reference, rng, "rmsprop")


@pytest.mark.exercise("adam")
def test_adam(student, reference, rng):
    """adam: t se incrementa primero, con corrección de sesgo, tres pasos."""
    _three_steps(student, reference, rng, "adam")


# --- MLP -----------------------------------------------------------------------------------------

DIMS = [6, 9, 7, 4]


@pytest.mark.exercise("mlp")
def test_mlp_params_shapes(student):
    """MLP([6, 9, 7, 4]) crea W1, b1, W2, b2, W3, b3 con las formas del contrato y b en cero."""
    params = expect_dict(student.MLP(DIMS, seed=0).params, ["W1", "b1", "W2", "b2", "W3", "b3"],
                         name="params", context="MLP")
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(DIMS), start=1):
        assert_array(params[f"W{i}"], shape=(fan_in, fan_out), dtype=np.float64,
                     name=f'params["W{i}"]', context="MLP")
        b = assert_array(params[f"b{i}"], shape=(fan_out,), dtype=np.float64,
                         name=f'params["b{i}"]', context="MLP")
        if np.any(b != 0):
            raise CheckFailure(f'MLP: params["b{i}"] debe inicializarse en ceros')


@pytest.mark.exercise("mlp")
def test_mlp_scores(student, reference, rng):
    """loss(X) devuelve los scores: lineal, ReLU, lineal, ReLU, lineal (nada al final)."""
    params = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(DIMS), start=1):
        params[f"W{i}"] = rng.normal(scale=0.7, size=(fan_in, fan_out))
        params[f"b{i}"] = rng.normal(scale=0.7, size=(fan_out,))
    X = rng.normal(size=(5, DIMS[0]))
    h = X
    for i in (1, 2, 3):
        h, _ = reference.linear_forward(h, params[f"W{i}"], params[f"b{i}"])
        if i < 3:
            h, _ = reference.relu_forward(h)
    model = student.MLP(DIMS, activation="relu", seed=0)
    # model.params["W1"] = ... no llega al modelo: se asigna el dict entero.
    model.params = {k: v.copy() for k, v in params.items()}
    assert_close(model.loss(X), h, name="scores", context="MLP.loss(X)", **TOL)


# --- entrenamiento -------------------------------------------------------------------------------


def _blobs(rng, n: int):
    """Cuatro nubes en las esquinas de un cuadrado, con etiquetas tipo XOR (no lineal)."""
    corners = np.array([[-1.5, -1.5], [-1.5, 1.5], [1.5, -1.5], [1.5, 1.5]])
    labels = np.array([0, 1, 1, 0])
    which = rng.integers(0, 4, size=n)
    return corners[which] + rng.normal(scale=0.4, size=(n, 2)), labels[which].astype(np.int64)


@pytest.mark.exercise("train")
@pytest.mark.timeout_s(60)
def test_train_learns_a_nonlinear_problem(student, rng):
    """Una MLP [2, 16, 2] entrenada con train llega a >= 95% en datos nuevos."""
    X_train, y_train = _blobs(rng, 400)
    X_test, y_test = _blobs(rng, 200)
    # Tu MLP con tu loss: para aprender, train necesita que MLP.loss también esté bien.
    model = student.MLP([2, 16, 2], seed=0)
    history = student.train(model, X_train.copy(), y_train.copy(), optimizer="adam",
                            learning_rate=1e-2, batch_size=16, epochs=20, seed=0)
    losses = expect_dict(history, ["loss"], name="history", context="train")["loss"]
    assert len(losses) == 20, (f'train: history["loss"] debe tener 20 valores (uno por época); '
                               f"tiene {len(losses)}")
    params = expect_dict(model.params, ["W1", "b1", "W2", "b2"], name="model.params",
                         context="train")
    hidden = np.maximum(X_test @ params["W1"] + params["b1"], 0.0)
    accuracy = float(np.mean((hidden @ params["W2"] + params["b2"]).argmax(axis=1) == y_test))
    assert accuracy >= 0.95, (f"train: la MLP entrenada clasifica bien el {accuracy:.1%} de los "
                              "datos nuevos; se esperaba al menos 95%")


# --- XOR -----------------------------------------------------------------------------------------


@pytest.mark.exercise("xor")
@pytest.mark.timeout_s(60)
def test_xor_network(student):
    """xor_network(seed=0) devuelve parámetros 2-2-1 que clasifican los cuatro puntos de XOR."""
    shapes = {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    params = expect_dict(student.xor_network(seed=0), list(shapes), name="params",
                         context="xor_network")
    for key, shape in shapes.items():
        assert_array(params[key], shape=shape, name=f'params["{key}"]', context="xor_network")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    with np.errstate(over="ignore"):
        hidden = 1.0 / (1.0 + np.exp(-(X @ params["W1"] + params["b1"])))
        out = 1.0 / (1.0 + np.exp(-(hidden @ params["W2"] + params["b2"])))
    predicted = (out[:, 0] > 0.5).astype(int)
    assert np.array_equal(predicted, [0, 1, 1, 0]), (
        f"xor_network: la red predice {predicted.tolist()} para (0,0), (0,1), (1,0), (1,1); "
        "se esperaba [0, 1, 1, 0]")
