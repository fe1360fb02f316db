"""Checks the TP1 reference solution against PyTorch (float64) and against the contract.

Run with the project's virtual environment (needs torch and scikit-learn):

    .venv/bin/python reference_solutions/tp1/verify_against_torch.py

Prints one ``OK`` line per check and exits with status 1 if any check fails.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
CANARY = "# CANARY-REFERENCE-TP1-7f3a: the course's reference solution; never ship to students."
RTOL, ATOL = 1e-10, 1e-12

torch.set_default_dtype(torch.float64)


def load(path: Path, name: str = "tp1_reference"):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load(HERE / "tp1.py")
CHECKS: list[tuple[str, Callable[[], None]]] = []


def check(name: str):
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        CHECKS.append((name, fn))
        return fn
    return register


def close(actual, expected, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype == np.float64:
        assert actual.dtype == np.float64, f"{what}: dtype {actual.dtype}, expected float64"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def unchanged(before: list[np.ndarray], after: list[np.ndarray], what: str) -> None:
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        assert np.array_equal(a, b, equal_nan=True), f"{what}: argument {i} was modified"


def t(a: np.ndarray, grad: bool = True) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def strict_numpy(fn: Callable, *args, **kwargs):
    """Calls ``fn`` with numpy's overflow / invalid / divide-by-zero turned into errors.

    Underflow stays ignored (numpy's default): ``exp(-1000) == 0`` is exactly what the stable
    formulations rely on.
    """
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


rng = np.random.default_rng(1234)


# --------------------------------------------------------------------------- static properties

@check("module: canary comment is the first line after the docstring; imports numpy only")
def _static() -> None:
    source = (HERE / "tp1.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    doc_end = tree.body[0].end_lineno
    assert isinstance(tree.body[0], ast.Expr), "the module must start with its docstring"
    assert source.splitlines()[doc_end] == CANARY, "canary comment missing or misplaced"
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"numpy", "__future__"}, f"unexpected imports {imported}"


# --------------------------------------------------------------------------- layers

@check("linear_forward / linear_backward == torch (x @ W + b)")
def _linear() -> None:
    x, W, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((7, 3))
    before = [x.copy(), W.copy(), b.copy(), dout.copy()]
    out, cache = strict_numpy(ref.linear_forward, x, W, b)
    dx, dW, db = strict_numpy(ref.linear_backward, dout, cache)
    unchanged(before, [x, W, b, dout], "linear")
    tx, tW, tb = t(x), t(W), t(b)
    tout = tx @ tW + tb
    tout.backward(torch.tensor(dout))
    close(out, tout, "linear out")
    close(dx, tx.grad, "dx")
    close(dW, tW.grad, "dW")
    close(db, tb.grad, "db")


def _activation(name: str, forward, backward, torch_fn, x: np.ndarray, **kwargs) -> None:
    dout = rng.standard_normal(x.shape)
    before = [x.copy(), dout.copy()]
    out, cache = strict_numpy(forward, x, **kwargs)
    dx = strict_numpy(backward, dout, cache)
    unchanged(before, [x, dout], name)
    tx = t(x)
    tout = torch_fn(tx)
    tout.backward(torch.tensor(dout))
    close(out, tout, f"{name} out")
    close(dx, tx.grad, f"{name} dx")
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx)), f"{name}: nan/inf"


def _points(shape: tuple[int, ...]) -> np.ndarray:
    # Includes exact zeros (the kink of relu / leaky relu, where torch's gradient is defined).
    x = rng.standard_normal(shape)
    x.flat[::5] = 0.0
    return x


@check("relu forward/backward == torch.relu (any shape, 0 at x == 0)")
def _relu() -> None:
    _activation("relu", ref.relu_forward, ref.relu_backward, torch.relu, _points((4, 3, 5)))


@check("leaky_relu forward/backward == F.leaky_relu (default alpha and alpha=0.2)")
def _leaky() -> None:
    _activation("leaky_relu", ref.leaky_relu_forward, ref.leaky_relu_backward,
                lambda z: F.leaky_relu(z, 0.01), _points((6, 4)))
    _activation("leaky_relu(0.2)", ref.leaky_relu_forward, ref.leaky_relu_backward,
                lambda z: F.leaky_relu(z, 0.2), _points((6, 4)), alpha=0.2)


@check("sigmoid forward/backward == torch.sigmoid, stable up to |x| = 1e3 without warnings")
def _sigmoid() -> None:
    _activation("sigmoid", ref.sigmoid_forward, ref.sigmoid_backward, torch.sigmoid,
                rng.standard_normal((5, 4)) * 5)
    extreme = np.array([[-1000.0, -745.0, -710.0, -40.0, 0.0, 40.0, 710.0, 1000.0]])
    _activation("sigmoid (extreme)", ref.sigmoid_forward, ref.sigmoid_backward, torch.sigmoid,
                extreme)


@check("tanh forward/backward == torch.tanh")
def _tanh() -> None:
    _activation("tanh", ref.tanh_forward, ref.tanh_backward, torch.tanh,
                rng.standard_normal((3, 4, 2)) * 3)


# --------------------------------------------------------------------------- softmax and losses

@check("softmax == torch.softmax(dim=-1), stable for logits of magnitude 1e3")
def _softmax() -> None:
    for scores in (rng.standard_normal((6, 5)), rng.standard_normal((6, 5)) * 1e3,
                   np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]])):
        before = scores.copy()
        probs = strict_numpy(ref.softmax, scores)
        unchanged([before], [scores], "softmax")
        close(probs, torch.softmax(torch.tensor(scores), dim=-1), "softmax")


def _loss(name, fn, torch_fn, a: np.ndarray, b: np.ndarray) -> None:
    before = [a.copy(), b.copy()]
    loss, da = strict_numpy(fn, a, b)
    unchanged(before, [a, b], name)
    assert isinstance(loss, float), f"{name}: loss is {type(loss)}, expected a Python float"
    ta = t(a)
    tloss = torch_fn(ta, torch.tensor(b))
    tloss.backward()
    close(loss, tloss, f"{name} loss")
    close(da, ta.grad, f"{name} gradient")


@check("softmax_cross_entropy == F.cross_entropy (mean), incl. logits of magnitude 1e3")
def _cross_entropy() -> None:
    y = rng.integers(0, 5, size=8)
    _loss("cross_entropy", ref.softmax_cross_entropy, F.cross_entropy,
          rng.standard_normal((8, 5)), y)
    _loss("cross_entropy (1e3)", ref.softmax_cross_entropy, F.cross_entropy,
          rng.standard_normal((8, 5)) * 1e3, y)


@check("bce_with_logits == F.binary_cross_entropy_with_logits (mean over all elements)")
def _bce() -> None:
    for scale in (1.0, 1e3):
        z = rng.standard_normal((6, 3)) * scale
        y = rng.integers(0, 2, size=(6, 3)).astype(np.float64)
        _loss(f"bce (scale {scale})", ref.bce_with_logits, F.binary_cross_entropy_with_logits,
              z, y)
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    _loss("bce (extreme)", ref.bce_with_logits, F.binary_cross_entropy_with_logits, z,
          np.array([1.0, 0.0, 1.0, 1.0, 0.0]))


@check("mse_loss == F.mse_loss (mean over all elements)")
def _mse() -> None:
    _loss("mse", ref.mse_loss, F.mse_loss, rng.standard_normal((5, 3, 2)),
          rng.standard_normal((5, 3, 2)))


# --------------------------------------------------------------------------- update rules

def _run_torch(opt_cls, w0: np.ndarray, grads: list[np.ndarray], **kwargs) -> np.ndarray:
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = opt_cls([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


def _run_ours(update, w0: np.ndarray, grads: list[np.ndarray], config):
    w = w0.copy()
    for g in grads:
        w_before, g_before = w.copy(), g.copy()
        next_w, config = strict_numpy(update, w, g, config)
        unchanged([w_before, g_before], [w, g], update.__name__)
        assert next_w.dtype == np.float64 and next_w.shape == w.shape
        w = next_w
    return w, config


def _steps(n: int = 10, shape=(4, 3)) -> tuple[np.ndarray, list[np.ndarray]]:
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(n)]


@check("sgd == torch.optim.SGD; default learning_rate 1e-2; user keys kept")
def _sgd() -> None:
    w0, grads = _steps()
    ours, config = _run_ours(ref.sgd, w0, grads, None)
    assert config == {"learning_rate": 1e-2}, config
    close(ours, _run_torch(torch.optim.SGD, w0, grads, lr=1e-2), "sgd default")
    ours, config = _run_ours(ref.sgd, w0, grads, {"learning_rate": 0.3})
    assert config["learning_rate"] == 0.3
    close(ours, _run_torch(torch.optim.SGD, w0, grads, lr=0.3), "sgd lr=0.3")


@check("sgd_momentum == contract formula (v = mu v - lr dw; w += v) and torch SGD(momentum)")
def _momentum() -> None:
    w0, grads = _steps()
    ours, config = _run_ours(ref.sgd_momentum, w0, grads, None)
    assert config["learning_rate"] == 1e-2 and config["momentum"] == 0.9, config
    w, v = w0.copy(), np.zeros_like(w0)
    for g in grads:
        v = 0.9 * v - 1e-2 * g
        w = w + v
    close(ours, w, "momentum vs contract formula")
    close(config["velocity"], v, "momentum velocity")
    # With a constant learning rate torch's form (buf = mu buf + g; w -= lr buf) is the same.
    close(ours, _run_torch(torch.optim.SGD, w0, grads, lr=1e-2, momentum=0.9), "momentum vs torch")
    ours, config = _run_ours(ref.sgd_momentum, w0, grads, {"learning_rate": 0.1, "momentum": 0.5})
    close(ours, _run_torch(torch.optim.SGD, w0, grads, lr=0.1, momentum=0.5), "momentum 0.5")


@check("rmsprop == contract formula and torch.optim.RMSprop(alpha=decay_rate, eps=epsilon)")
def _rmsprop() -> None:
    w0, grads = _steps()
    ours, config = _run_ours(ref.rmsprop, w0, grads, None)
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)
    w, cache = w0.copy(), np.zeros_like(w0)
    for g in grads:
        cache = 0.99 * cache + 0.01 * g**2
        w = w - 1e-2 * g / (np.sqrt(cache) + 1e-8)
    close(ours, w, "rmsprop vs contract formula")
    close(config["cache"], cache, "rmsprop cache")
    close(ours, _run_torch(torch.optim.RMSprop, w0, grads, lr=1e-2, alpha=0.99, eps=1e-8),
          "rmsprop vs torch")


@check("adam == contract formula and torch.optim.Adam; t counts the steps")
def _adam() -> None:
    w0, grads = _steps(25)
    ours, config = _run_ours(ref.adam, w0, grads, None)
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]) == (
        1e-3, 0.9, 0.999, 1e-8), config
    assert config["t"] == 25 and isinstance(config["t"], int), config["t"]
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for step, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        w = w - 1e-3 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    close(ours, w, "adam vs contract formula")
    close(config["m"], m, "adam m")
    close(config["v"], v, "adam v")
    close(ours, _run_torch(torch.optim.Adam, w0, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8),
          "adam vs torch")
    user = {"learning_rate": 0.05, "beta1": 0.8}
    ours, config = _run_ours(ref.adam, w0, grads, user)
    assert config["beta1"] == 0.8 and config["learning_rate"] == 0.05
    close(ours, _run_torch(torch.optim.Adam, w0, grads, lr=0.05, betas=(0.8, 0.999), eps=1e-8),
          "adam with user config")


# --------------------------------------------------------------------------- MLP, train, XOR

@check("MLP: He init from default_rng(seed), scores and gradients == torch autograd")
def _mlp() -> None:
    dims = [6, 5, 4, 3]
    model = ref.MLP(dims, seed=7)
    init = np.random.default_rng(7)
    expected_keys = ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert list(model.params) == expected_keys, list(model.params)
    for i in range(1, len(dims)):
        fan_in, fan_out = dims[i - 1], dims[i]
        W = init.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        assert np.array_equal(model.params[f"W{i}"], W), f"W{i} is not He init"
        assert np.array_equal(model.params[f"b{i}"], np.zeros(fan_out)), f"b{i} is not zeros"
    X = rng.standard_normal((9, 6))
    y = rng.integers(0, 3, size=9)
    torch_act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    for activation, act in torch_act.items():
        model = ref.MLP(dims, activation=activation, seed=3)
        params_before = copy.deepcopy(model.params)
        scores = strict_numpy(model.loss, X)
        loss, grads = strict_numpy(model.loss, X, y)
        unchanged(list(params_before.values()), list(model.params.values()), "MLP.loss")
        tp = {k: t(v) for k, v in model.params.items()}
        h = torch.tensor(X)
        for i in range(1, 4):
            h = h @ tp[f"W{i}"] + tp[f"b{i}"]
            if i < 3:
                h = act(h)
        tloss = F.cross_entropy(h, torch.tensor(y))
        tloss.backward()
        close(scores, h, f"MLP({activation}) scores")
        close(loss, tloss, f"MLP({activation}) loss")
        assert sorted(grads) == sorted(model.params), sorted(grads)
        for k in model.params:
            close(grads[k], tp[k].grad, f"MLP({activation}) grad {k}")


def load_digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float64), y.astype(np.int64), test_size=0.2, stratify=y, random_state=0)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


@check("train(adam, 1e-3, 32, 30 epochs) on digits reaches test accuracy >= 0.95 in seconds")
def _train() -> None:
    X_train, X_test, y_train, y_test = load_digits_split()
    model = ref.MLP([64, 64, 10], seed=0)
    params = model.params
    X_before = X_train.copy()
    start = time.perf_counter()
    history = ref.train(model, X_train, y_train, optimizer="adam", learning_rate=1e-3,
                        batch_size=32, epochs=30, seed=0)
    elapsed = time.perf_counter() - start
    unchanged([X_before], [X_train], "train")
    assert model.params is params, "train must update model.params in place"
    losses = history["loss"]
    assert len(losses) == 30 and all(isinstance(v, float) for v in losses), losses
    assert losses[-1] < losses[0], losses
    accuracy = float((model.loss(X_test).argmax(axis=1) == y_test).mean())
    assert accuracy >= 0.95, f"accuracy {accuracy:.4f} < 0.95"
    print(f"    test accuracy {accuracy:.4f}, final loss {losses[-1]:.4f}, {elapsed:.2f} s")
    # The first epoch's loss is the batch-size-weighted mean of the minibatch losses.
    model = ref.MLP([64, 64, 10], seed=0)
    replay = ref.MLP([64, 64, 10], seed=0)
    history = ref.train(model, X_train[:50], y_train[:50], optimizer="sgd", learning_rate=0.1,
                        batch_size=32, epochs=1, seed=5)
    order = np.random.default_rng(5).permutation(50)
    total = 0.0
    for batch in (order[:32], order[32:]):
        loss, grads = replay.loss(X_train[batch], y_train[batch])
        total += loss * len(batch)
        for k in replay.params:
            replay.params[k] = replay.params[k] - 0.1 * grads[k]
    assert abs(history["loss"][0] - total / 50) < 1e-12, (history["loss"][0], total / 50)
    for k in model.params:
        close(model.params[k], replay.params[k], f"train sgd replay {k}")
    for optimizer in ("sgd", "sgd_momentum", "momentum", "rmsprop"):
        ref.train(ref.MLP([64, 16, 10]), X_train[:64], y_train[:64], optimizer=optimizer, epochs=1)
    try:
        ref.train(ref.MLP([64, 10]), X_train, y_train, optimizer="lbfgs")
    except ValueError as exc:
        assert "desconocido" in str(exc), str(exc)
    else:
        raise AssertionError("train accepted an unknown optimizer")


@check("xor_network classifies the four XOR points for seeds 0..19")
def _xor() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    start = time.perf_counter()
    for seed in range(20):
        params = ref.xor_network(seed=seed)
        shapes = {k: v.shape for k, v in params.items()}
        assert shapes == {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}, shapes
        assert all(v.dtype == np.float64 for v in params.values())
        tp = {k: torch.tensor(v) for k, v in params.items()}
        out = torch.sigmoid(torch.sigmoid(torch.tensor(X) @ tp["W1"] + tp["b1"]) @ tp["W2"]
                            + tp["b2"]).numpy().ravel()
        assert (out > 0.5).tolist() == [False, True, True, False], (seed, out)
        again = ref.xor_network(seed=seed)
        assert all(np.array_equal(params[k], again[k]) for k in params), f"seed {seed} not reproducible"
    print(f"    {(time.perf_counter() - start) / 40 * 1000:.1f} ms per call")


def main() -> int:
    failed = 0
    for name, fn in CHECKS:
        try:
            fn()
        except Exception:
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        else:
            print(f"OK   {name}")
    print(f"{len(CHECKS) - failed}/{len(CHECKS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
