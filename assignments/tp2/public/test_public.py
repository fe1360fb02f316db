"""Comprobaciones públicas del TP2: PyTorch, regularización y embeddings.

Son una muestra de las comprobaciones con las que se califica el TP: si fallan acá, también fallan
en la corrección. Que pasen todas no garantiza la nota completa (la corrección usa más casos:
otras formas y modos, diferencias finitas, comparación con PyTorch, otros datos).

Los valores esperados de la parte numpy vienen de la solución de la cátedra (``reference``),
guardados como datos: en este paquete no hay código de la solución. Los de la parte PyTorch salen
de propiedades del contrato (formas, cantidad de parámetros, modos) o de PyTorch mismo. Tu código
corre en otro proceso: ``inworker`` son los ayudantes de ``worker_helpers.py``, que arman ahí lo
que necesitan tus funciones (un DataLoader, un optimizador) y recorren las capas de tu modelo.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.compare import (
    CheckFailure,
    assert_array,
    assert_close,
    assert_scalar_close,
    expect_dict,
    expect_tuple,
    to_float,
)
from grader.errors import StudentError

TOL = {"rtol": 1e-7, "atol": 1e-10}


def _np(value, *, name, context, shape=None):
    if type(value) is not torch.Tensor:
        raise CheckFailure(f"{context}: {name} debe ser un torch.Tensor; llegó {value!r}")
    array = value.detach().numpy()
    if shape is not None and tuple(array.shape) != tuple(shape):
        raise CheckFailure(f"{context}: {name} tiene forma {tuple(array.shape)}; se esperaba "
                           f"{tuple(shape)}")
    return array


# --- parte numpy ---------------------------------------------------------------------------------


def _bn_data(rng):
    # Cada columna con su propia media y escala: normalizar sobre el eje equivocado se nota.
    x = np.array([-3.0, 5.0, 0.5, 10.0]) + np.array([0.5, 2.0, 1.0, 4.0]) * rng.normal(size=(6, 4))
    return x, rng.uniform(0.5, 2.0, size=4), rng.normal(size=4), rng.normal(size=(6, 4))


@pytest.mark.exercise("batchnorm")
def test_batchnorm_train_forward_and_running_stats(student, reference, rng):
    """Modo train: salida como la referencia y estadísticas móviles como BatchNorm1d."""
    x, gamma, beta, _ = _bn_data(rng)
    bn_param = {"mode": "train", "momentum": 0.2, "running_mean": np.zeros(4),
                "running_var": np.ones(4)}
    out, _ = expect_tuple(student.batchnorm_forward(x.copy(), gamma.copy(), beta.copy(), bn_param),
                          2, names=("out", "cache"), context="batchnorm_forward")
    expected, _ = reference.batchnorm_forward(x, gamma, beta, {"mode": "train", "momentum": 0.2})
    assert_close(out, expected, name="out", context="batchnorm_forward", **TOL)
    # PyTorch: running = (1 - momentum) * running + momentum * stat, con la varianza insesgada.
    expect_dict(bn_param, ["running_mean", "running_var"], name="bn_param",
                context="batchnorm_forward")
    assert_close(np.asarray(bn_param["running_mean"]), 0.2 * x.mean(axis=0),
                 name="bn_param['running_mean']", context="batchnorm_forward", **TOL)
    assert_close(np.asarray(bn_param["running_var"]), 0.8 + 0.2 * x.var(axis=0, ddof=1),
                 name="bn_param['running_var']", context="batchnorm_forward", **TOL)


@pytest.mark.exercise("batchnorm")
def test_batchnorm_backward(student, reference, rng):
    """dx, dgamma, dbeta coinciden con la referencia."""
    x, gamma, beta, dout = _bn_data(rng)
    _, cache = expect_tuple(student.batchnorm_forward(x.copy(), gamma.copy(), beta.copy(),
                                                      {"mode": "train"}), 2,
                            context="batchnorm_forward")
    grads = expect_tuple(student.batchnorm_backward(dout.copy(), cache), 3,
                         names=("dx", "dgamma", "dbeta"), context="batchnorm_backward")
    _, ref_cache = reference.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    expected = reference.batchnorm_backward(dout, ref_cache)
    for name, got, want in zip(("dx", "dgamma", "dbeta"), grads, expected, strict=True):
        assert_close(got, want, name=name, context="batchnorm_backward", **TOL)


@pytest.mark.exercise("dropout")
def test_dropout_train_and_test(student, rng):
    """Train: cada salida es 0 o x / (1 - p_drop), ~p_drop anuladas, misma semilla = misma
    máscara; test: identidad."""
    p = 0.3
    x = rng.uniform(0.5, 2.0, size=(100, 50))
    out, _ = expect_tuple(student.dropout_forward(x.copy(), p, "train", 0), 2,
                          context="dropout_forward")
    assert_array(out, shape=x.shape, dtype=x.dtype, name="out", context="dropout_forward")
    if not np.all((out == 0) | np.isclose(out, x / (1 - p), rtol=1e-12, atol=0)):
        raise CheckFailure("dropout_forward: cada salida debe ser 0 o x / (1 - p_drop)")
    dropped = float(np.mean(out == 0))
    if abs(dropped - p) > 0.04:
        raise CheckFailure(f"dropout_forward: se anuló una fracción {dropped:.3f}; con "
                           f"p_drop={p} se esperaba ~{p} (p_drop es la probabilidad de anular)")
    again, _ = expect_tuple(student.dropout_forward(x.copy(), p, "train", 0), 2,
                            context="dropout_forward")
    if not np.array_equal(out, again):
        raise CheckFailure("dropout_forward: la misma semilla debe dar la misma máscara")
    same, _ = expect_tuple(student.dropout_forward(x.copy(), p, "test", 0), 2,
                           context="dropout_forward")
    assert_close(same, x, name="out", context="dropout_forward (modo test)", rtol=0, atol=0)


@pytest.mark.exercise("l2")
def test_l2_penalty(student, reference, rng):
    """0.5 * reg * suma de W**2 (solo pesos); un gradiente por parámetro."""
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 2)),
              "b2": rng.normal(size=2)}
    loss, grads = expect_tuple(student.l2_penalty({k: v.copy() for k, v in params.items()}, 0.1),
                               2, names=("loss", "grads"), context="l2_penalty")
    ref_loss, ref_grads = reference.l2_penalty(params, 0.1)
    assert_scalar_close(loss, ref_loss, name="loss", context="l2_penalty", rtol=1e-10, atol=1e-12)
    expect_dict(grads, list(params), name="grads", context="l2_penalty")
    for key in params:
        assert_close(grads[key], ref_grads[key], name=f"grads[{key!r}]", context="l2_penalty",
                     **TOL)


@pytest.mark.exercise("embedding")
def test_embedding_forward_and_backward(student, reference, rng):
    """out = W[idx]; dW acumula los índices repetidos."""
    idx = np.array([[0, 2, 2], [1, 2, 0]], dtype=np.int64)
    W, dout = rng.normal(size=(4, 3)), rng.normal(size=(2, 3, 3))
    out, cache = expect_tuple(student.embedding_forward(idx.copy(), W.copy()), 2,
                              context="embedding_forward")
    ref_out, ref_cache = reference.embedding_forward(idx, W)
    assert_close(out, ref_out, name="out", context="embedding_forward", **TOL)
    assert_close(student.embedding_backward(dout.copy(), cache),
                 reference.embedding_backward(dout, ref_cache), name="dW",
                 context="embedding_backward", **TOL)


# --- parte PyTorch -------------------------------------------------------------------------------


@pytest.mark.exercise("linear_function")
def test_linear_function(student, inworker, rng, device):
    """forward = x @ W + b (W de forma (D, M)); backward a mano da dx, dW, db (float64)."""
    x, W, b, dout = (torch.from_numpy(rng.normal(size=s)) for s in ((4, 5), (5, 3), (3,), (4, 3)))
    try:
        # Tu backward corre sin motor de autograd: si lo usa, la llamada falla.
        result = inworker.linear_function(student.LinearFunction, x, W, b, dout, device)
    except StudentError as exc:
        if exc.type_name != "AutogradNoDisponible":
            raise
        raise CheckFailure("LinearFunction.backward usa autograd; calculá los gradientes a "
                           "mano") from None
    xt, Wt, bt = (t.detach().clone().requires_grad_() for t in (x, W, b))
    out = xt @ Wt + bt
    out.backward(dout)
    tol = {"rtol": 1e-9, "atol": 1e-12}  # float64 en CPU o CUDA
    assert_close(_np(result["out"], name="out", context="LinearFunction.forward"),
                 out.detach().numpy(), name="out", context="LinearFunction.forward", **tol)
    grads = result["grads"]
    if grads is None:
        raise CheckFailure("LinearFunction: la salida de apply no tiene grad_fn; forward debe "
                           "devolver el tensor calculado con x @ W + b")
    if type(grads) is not list or len(grads) != 3:
        raise CheckFailure("LinearFunction.backward debe devolver (dx, dW, db)")
    for name, got, want in zip(("dx", "dW", "db"), grads, (xt.grad, Wt.grad, bt.grad), strict=True):
        assert_close(_np(got, name=name, context="LinearFunction.backward"), want.numpy(),
                     name=name, context="LinearFunction.backward", **tol)


@pytest.mark.exercise("mlp_classifier")
@pytest.mark.parametrize("batchnorm", [False, True])
def test_mlp_parameter_count_and_logits(student, inworker, rng, device, batchnorm):
    """Cantidad de parámetros de Linear(5, 8) [BatchNorm1d(8)] ReLU Dropout Linear(8, 3), y
    logits de forma (N, 3)."""
    model = inworker.to_device(student.MLPClassifier(5, [8], 3, p_drop=0.2, batchnorm=batchnorm),
                               device)
    want = (5 * 8 + 8) + (8 * 3 + 3) + (2 * 8 if batchnorm else 0)
    got = inworker.count_parameters(model)
    if got != want:
        raise CheckFailure(f"MLPClassifier(5, [8], 3, batchnorm={batchnorm}) tiene {got} "
                           f"parámetros; se esperaban {want}")
    logits = inworker.forward(model, torch.from_numpy(rng.normal(size=(7, 5))).float(), False)
    _np(logits, name="logits", context="MLPClassifier.forward", shape=(7, 3))


def _loop(rng, inworker, device):
    weights = [torch.from_numpy(rng.normal(scale=0.5, size=s)).float()
               for s in ((8, 6), (8,), (8,), (8,), (3, 8), (3,))]
    x = torch.from_numpy(rng.normal(size=(50, 6))).float()
    y = torch.from_numpy(rng.integers(0, 3, size=50)).long()
    model = inworker.make_loop_model(weights, device)
    return model, inworker.make_loader(x, y, 16), inworker.make_cross_entropy()


@pytest.mark.exercise("train_loop")
def test_train_one_epoch_updates_the_model(student, inworker, rng, device):
    """train_one_epoch devuelve un float y cambia los pesos."""
    model, loader, loss_fn = _loop(rng, inworker, device)
    before = inworker.model_state(model)["params"]
    loss = to_float(student.train_one_epoch(model, loader, inworker.make_sgd(model, 0.1),
                                            loss_fn, device), name="pérdida",
                    context="train_one_epoch")
    if not (np.isfinite(loss) and loss > 0):
        raise CheckFailure(f"train_one_epoch devolvió {loss}; se esperaba la pérdida media (> 0)")
    after = inworker.model_state(model)["params"]
    if all(torch.equal(a, b) for a, b in zip(after, before, strict=True)):
        raise CheckFailure("train_one_epoch no cambió los pesos del modelo")


@pytest.mark.exercise("train_loop")
def test_evaluate_returns_loss_and_accuracy(student, inworker, rng, device):
    """evaluate devuelve (pérdida, exactitud en [0, 1]) y no cambia los pesos."""
    model, loader, loss_fn = _loop(rng, inworker, device)
    before = inworker.model_state(model)["params"]
    loss, accuracy = expect_tuple(student.evaluate(model, loader, loss_fn, device), 2,
                                  names=("loss", "accuracy"), context="evaluate")
    loss, accuracy = to_float(loss, name="loss", context="evaluate"), to_float(
        accuracy, name="accuracy", context="evaluate")
    if not 0.0 <= accuracy <= 1.0:
        raise CheckFailure(f"evaluate: accuracy = {accuracy}; debe ser una fracción en [0, 1]")
    if not (np.isfinite(loss) and loss > 0):
        raise CheckFailure(f"evaluate: loss = {loss}; se esperaba la pérdida media (> 0)")
    after = inworker.model_state(model)["params"]
    if not all(torch.equal(a, b) for a, b in zip(after, before, strict=True)):
        raise CheckFailure("evaluate cambió los pesos del modelo")


def _split(X, y, seed):
    order = np.random.default_rng(seed).permutation(len(y))
    train, held = order[: int(0.6 * len(y))], order[int(0.6 * len(y)):]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    return (((X[train] - mean) / std).astype(np.float32), y[train].astype(np.int64),
            ((X[held] - mean) / std).astype(np.float32), y[held].astype(np.int64))


@pytest.mark.exercise("fit_classifier")
@pytest.mark.timeout_s(2 * 60)  # the contract's "within 60 s on 2 CPU cores", in CPU seconds
def test_fit_classifier_on_wine(student, inworker, credit, device):
    """Exactitud sobre vinos reservados (load_wine): completa desde 0.90, nada por debajo de 0.60."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X_train, y_train, X_held, y_held = _split(X, y, 7)
    model = student.fit_classifier(X_train, y_train, seed=0, device=device)
    logits = _np(inworker.predict(model, torch.from_numpy(X_held), device), name="logits",
                 context="modelo de fit_classifier", shape=(len(y_held), 3))
    accuracy = float(np.mean(logits.argmax(axis=1) == y_held))
    credit.award(float(np.clip((accuracy - 0.60) / (0.90 - 0.60), 0.0, 1.0)),
                 f"exactitud {accuracy:.3f} sobre {len(y_held)} vinos reservados (completa desde "
                 "0.90, nada por debajo de 0.60)")


@pytest.mark.exercise("fit_recommender")
def test_embedding_recommender_shape(student, inworker, device):
    """EmbeddingRecommender(5, 4, 3)(users, items) devuelve un rating por par: forma (N,)."""
    model = inworker.to_device(student.EmbeddingRecommender(5, 4, 3), device)
    out = inworker.recommend(model, torch.tensor([0, 4, 2]), torch.tensor([3, 0, 3]), device)
    _np(out, name="ratings", context="EmbeddingRecommender.forward", shape=(3,))


@pytest.mark.exercise("fit_recommender", weight=3)
@pytest.mark.timeout_s(2 * 60)  # the contract's "within 60 s on 2 CPU cores", in CPU seconds
def test_fit_recommender_beats_the_mean(student, inworker, credit, device):
    """RMSE sobre pares reservados de ratings sintéticos de rango bajo (ruido 0.25): completa
    desde 0.50, nada por encima del 90 % de la RMSE de predecir la media."""
    rng = np.random.default_rng(5)
    n_users, n_items = 80, 60
    U, V = rng.normal(0, 0.6, (n_users, 3)), rng.normal(0, 0.6, (n_items, 3))
    pairs = rng.choice(n_users * n_items, 2400, replace=False)
    u, i = pairs // n_items, pairs % n_items
    r = 3.5 + np.sum(U[u] * V[i], axis=1) + rng.normal(0, 0.25, len(u))
    train, held = np.arange(2000), np.arange(2000, 2400)
    held = held[np.isin(u[held], u[train]) & np.isin(i[held], i[train])]
    model = student.fit_recommender(u[train], i[train], r[train].astype(np.float32), n_users,
                                    n_items, seed=0, device=device)
    pred = _np(inworker.recommend(model, torch.from_numpy(u[held]), torch.from_numpy(i[held]),
                                  device), name="ratings", context="modelo de fit_recommender",
               shape=(len(held),)).astype(np.float64)
    if not np.isfinite(pred).all():
        raise CheckFailure("modelo de fit_recommender: las predicciones tienen nan o inf")
    rmse = float(np.sqrt(np.mean((pred - r[held]) ** 2)))
    floor = 0.9 * float(np.sqrt(np.mean((r[train].mean() - r[held]) ** 2)))
    credit.award(float(np.clip((floor - rmse) / (floor - 0.50), 0.0, 1.0)),
                 f"RMSE {rmse:.3f} sobre {len(held)} pares reservados (completa desde 0.50, nada "
                 f"por encima de {floor:.2f})")
