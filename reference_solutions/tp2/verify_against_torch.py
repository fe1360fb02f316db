"""Checks the TP2 reference solution against PyTorch (float64) and against the contract.

Run with the project's virtual environment (needs torch and scikit-learn)::

    .venv/bin/python reference_solutions/tp2/verify_against_torch.py

Prints one ``OK`` line per check and exits with status 1 if any check fails.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
CANARY = "# CANARY-REFERENCE-TP2-b41d: the course's reference solution; never ship to students."
RTOL, ATOL = 1e-10, 1e-12


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load(HERE / "tp2.py", "tp2_reference")
CHECKS: list[tuple[str, Callable[[], None]]] = []
rng = np.random.default_rng(0)


def check(name: str):
    def register(fn):
        CHECKS.append((name, fn))
        return fn
    return register


def close(actual, expected, what, rtol=RTOL, atol=ATOL):
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().numpy()
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol,
                               err_msg=what)


@check("the reference carries its canary")
def _canary():
    assert CANARY in (HERE / "tp2.py").read_text()


@check("batchnorm train/test forward, running stats and backward = F.batch_norm (float64)")
def _batchnorm():
    x = np.array([-3.0, 5.0, 3e-3]) + np.array([0.5, 2.0, 3e-3]) * rng.normal(size=(6, 3))
    gamma, beta, dout = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(6, 3))
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    param = {"mode": "train", "momentum": 0.3, "running_mean": rm.copy(), "running_var": rv.copy()}
    out, cache = ref.batchnorm_forward(x, gamma, beta, param)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tout = F.batch_norm(xt, trm, trv, gt, bt, training=True, momentum=0.3, eps=1e-5)
    tout.backward(torch.tensor(dout))
    close(out, tout, "out")
    close(param["running_mean"], trm, "running_mean")
    close(param["running_var"], trv, "running_var")
    for got, t in zip(ref.batchnorm_backward(dout, cache), (xt, gt, bt), strict=True):
        close(got, t.grad, "grad")
    param["mode"] = "test"
    saved = param["running_var"].copy()
    out, _ = ref.batchnorm_forward(x, gamma, beta, param)
    close(out, F.batch_norm(torch.tensor(x), trm, trv, torch.tensor(gamma), torch.tensor(beta),
                            training=False, eps=1e-5), "test out")
    assert np.array_equal(param["running_var"], saved)


@check("dropout: inverted, p_drop is the drop probability, same seed same mask")
def _dropout():
    x = rng.uniform(0.5, 2, size=(200, 100))
    out, cache = ref.dropout_forward(x, 0.3, "train", 1)
    assert np.all((out == 0) | np.isclose(out, x / 0.7)) and abs((out == 0).mean() - 0.3) < 0.02
    assert np.array_equal(out, ref.dropout_forward(x, 0.3, "train", 1)[0])
    close(ref.dropout_backward(np.ones_like(x), cache), (out != 0) / 0.7, "dx")
    assert np.array_equal(ref.dropout_forward(x, 0.3, "test", 1)[0], x)


@check("l2_penalty and embeddings = torch (float64)")
def _l2_embedding():
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    loss, grads = ref.l2_penalty(params, 0.2)
    close(loss, 0.1 * np.sum(params["W1"] ** 2), "loss")
    close(grads["W1"], 0.2 * params["W1"], "dW1")
    close(grads["b1"], np.zeros(2), "db1")
    idx = np.array([[0, 2, 2], [1, 2, 0]])
    W, dout = rng.normal(size=(4, 3)), rng.normal(size=(2, 3, 3))
    out, cache = ref.embedding_forward(idx, W)
    Wt = torch.tensor(W, requires_grad=True)
    tout = F.embedding(torch.tensor(idx), Wt)
    tout.backward(torch.tensor(dout))
    close(out, tout, "out")
    close(ref.embedding_backward(dout, cache), Wt.grad, "dW")


@check("LinearFunction passes torch.autograd.gradcheck")
def _linear_function():
    inputs = tuple(torch.randn(*s, dtype=torch.float64, requires_grad=True)
                   for s in ((4, 5), (5, 3), (3,)))
    assert torch.autograd.gradcheck(ref.LinearFunction.apply, inputs)


@check("MLPClassifier has the contract's parameter count")
def _mlp():
    for in_dim, hidden, c, bn in ((7, [], 3, False), (10, [16, 8], 4, True)):
        dims = [in_dim, *hidden, c]
        want = sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1))
        want += 2 * sum(hidden) if bn else 0
        got = sum(p.numel() for p in ref.MLPClassifier(in_dim, hidden, c, 0.2, bn).parameters())
        assert got == want, (got, want)


@check("fit_classifier: >= 0.95 on held-out digits in a few seconds (1 thread)")
def _fit_classifier():
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(2026).permutation(len(y))
    tr, te = order[:1078], order[1078:]
    mean, std = X[tr].mean(0), X[tr].std(0)
    std[std == 0] = 1
    start = time.monotonic()
    model = ref.fit_classifier(((X[tr] - mean) / std).astype(np.float32), y[tr])
    with torch.no_grad():
        pred = model(torch.tensor((X[te] - mean) / std, dtype=torch.float32)).argmax(1).numpy()
    accuracy = float(np.mean(pred == y[te]))
    assert accuracy >= 0.95 and time.monotonic() - start < 10, accuracy


def main() -> int:
    failed = 0
    for name, fn in CHECKS:
        try:
            fn()
            print(f"OK   {name}")
        except Exception:
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
