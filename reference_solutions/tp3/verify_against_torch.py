"""Checks the TP3 reference solution against PyTorch (float64) and against the contract.

Run with the project's virtual environment (needs torch and scikit-learn):

    .venv/bin/python reference_solutions/tp3/verify_against_torch.py

Prints one ``OK`` line per check and exits with status 1 if any check fails. The training
checks also print how long ``fit_cnn`` and ``fit_seq_regressor`` take on one thread and what they
reach: the hidden checks' targets are set from these figures, with margins.
"""

from __future__ import annotations

import ast
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
from torch import nn

HERE = Path(__file__).resolve().parent
CANARY = "# CANARY-REFERENCE-TP3-b41d: the course's reference solution; never ship to students."
RTOL, ATOL = 1e-10, 1e-12
NUMPY_PART = ["conv2d_forward", "conv2d_backward", "maxpool2d_forward", "maxpool2d_backward",
              "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
              "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
              "scaled_dot_product_attention"]


def load(path: Path, name: str = "tp3_reference"):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load(HERE / "tp3.py")
CHECKS: list[tuple[str, Callable[[], None]]] = []
rng = np.random.default_rng(2024)


def check(name: str):
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        CHECKS.append((name, fn))
        return fn
    return register


def close(actual, expected, what: str) -> None:
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.float64, f"{what}: dtype {actual.dtype}, expected float64"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def strict(fn: Callable, *args):
    """Calls ``fn`` with numpy warnings as errors and checks it leaves its arguments alone."""
    before = [a.copy() for a in args if isinstance(a, np.ndarray)]
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fn(*args)
    after = [a for a in args if isinstance(a, np.ndarray)]
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        assert np.array_equal(a, b), f"{fn.__name__}: array argument {i} was modified"
    return result


@check("module: canary after the docstring; numpy part uses no forbidden library")
def _static() -> None:
    sys.path.insert(0, str(HERE.parents[1]))
    from grader.engine.static import forbidden_uses

    source = (HERE / "tp3.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert source.splitlines()[tree.body[0].end_lineno] == CANARY, "canary missing or misplaced"
    uses = forbidden_uses(source, NUMPY_PART, ["torch", "tensorflow", "jax", "scipy", "sklearn"])
    assert not uses, uses


@check("conv2d forward/backward == F.conv2d for stride 1, 2, 3 and pad 0, 1, 2")
def _conv() -> None:
    for stride, pad in [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 1), (1, 2)]:
        x, w, b = rng.standard_normal((3, 2, 9, 7)), rng.standard_normal((4, 2, 3, 2)), \
            rng.standard_normal(4)
        out, cache = strict(ref.conv2d_forward, x, w, b, stride, pad)
        tx, tw, tb = t(x), t(w), t(b)
        tout = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
        dout = rng.standard_normal(tout.shape)
        tout.backward(torch.tensor(dout))
        close(out, tout, f"conv out s={stride} p={pad}")
        for got, want, name in zip(strict(ref.conv2d_backward, dout, cache), (tx, tw, tb),
                                   ("dx", "dw", "db"), strict=True):
            close(got, want.grad, f"conv {name} s={stride} p={pad}")


@check("maxpool2d forward/backward == F.max_pool2d (overlapping windows, ties)")
def _pool() -> None:
    for kernel, stride, shape in [(2, 2, (2, 3, 8, 6)), (3, 2, (2, 3, 9, 7)), (3, 1, (1, 2, 5, 6)),
                                  (2, 3, (2, 2, 8, 7))]:
        for x in (rng.standard_normal(shape), rng.integers(0, 3, size=shape).astype(np.float64)):
            out, cache = strict(ref.maxpool2d_forward, x, kernel, stride)
            tx = t(x)
            tout = F.max_pool2d(tx, kernel, stride)
            dout = rng.standard_normal(tout.shape)
            tout.backward(torch.tensor(dout))
            close(out, tout, f"pool out k={kernel} s={stride}")
            close(strict(ref.maxpool2d_backward, dout, cache), tx.grad,
                  f"pool dx k={kernel} s={stride}")


def _rnn_module(kind: str, Wx, Wh, b):
    d, gates = Wx.shape
    hidden = Wh.shape[0]
    module = (nn.RNN if kind == "RNN" else nn.LSTM)(d, hidden, batch_first=True).double()
    assert gates == hidden * (4 if kind == "LSTM" else 1)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(Wx.T))
        module.weight_hh_l0.copy_(torch.tensor(Wh.T))
        module.bias_ih_l0.copy_(torch.tensor(b))
        module.bias_hh_l0.zero_()
    return module


def _weights(d, hidden, gates):
    return (rng.standard_normal((d, gates)) * 0.5, rng.standard_normal((hidden, gates)) * 0.5,
            rng.standard_normal(gates) * 0.5)


@check("rnn_step and rnn (T = 5) forward/backward == nn.RNNCell / nn.RNN")
def _rnn() -> None:
    n, t_len, d, hidden = 3, 5, 4, 6
    Wx, Wh, b = _weights(d, hidden, hidden)
    x, h0 = rng.standard_normal((n, t_len, d)), rng.standard_normal((n, hidden))
    module = _rnn_module("RNN", Wx, Wh, b)
    h, cache = strict(ref.rnn_forward, x, h0, Wx, Wh, b)
    tx, th0 = t(x), t(h0[None])
    tout, _ = module(tx, th0)
    dh = rng.standard_normal(tout.shape)
    tout.backward(torch.tensor(dh))
    close(h, tout, "rnn h")
    dx, dh0, dWx, dWh, db = strict(ref.rnn_backward, dh, cache)
    close(dx, tx.grad, "rnn dx")
    close(dh0, th0.grad[0], "rnn dh0")
    close(dWx, module.weight_ih_l0.grad.T, "rnn dWx")
    close(dWh, module.weight_hh_l0.grad.T, "rnn dWh")
    close(db, module.bias_ih_l0.grad, "rnn db")

    cell = nn.RNNCell(d, hidden).double()
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in module.state_dict().items()})
    xs, hp = t(x[:, 0]), t(h0)
    th = cell(xs, hp)
    dstep = rng.standard_normal(th.shape)
    th.backward(torch.tensor(dstep))
    hstep, step_cache = strict(ref.rnn_step_forward, x[:, 0], h0, Wx, Wh, b)
    close(hstep, th, "rnn_step h")
    grads = strict(ref.rnn_step_backward, dstep, step_cache)
    for got, want, name in zip(grads, (xs.grad, hp.grad, cell.weight_ih.grad.T,
                                       cell.weight_hh.grad.T, cell.bias_ih.grad),
                               ("dx", "dh_prev", "dWx", "dWh", "db"), strict=True):
        close(got, want, f"rnn_step {name}")


@check("lstm_step and lstm (T = 5) forward/backward == nn.LSTMCell / nn.LSTM (i, f, g, o)")
def _lstm() -> None:
    n, t_len, d, hidden = 3, 5, 4, 6
    Wx, Wh, b = _weights(d, hidden, 4 * hidden)
    x, h0 = rng.standard_normal((n, t_len, d)), rng.standard_normal((n, hidden))
    module = _rnn_module("LSTM", Wx, Wh, b)
    h, cache = strict(ref.lstm_forward, x, h0, Wx, Wh, b)
    tx, th0 = t(x), t(h0[None])
    tout, _ = module(tx, (th0, torch.zeros(1, n, hidden, dtype=torch.float64)))
    dh = rng.standard_normal(tout.shape)
    tout.backward(torch.tensor(dh))
    close(h, tout, "lstm h")
    dx, dh0, dWx, dWh, db = strict(ref.lstm_backward, dh, cache)
    close(dx, tx.grad, "lstm dx")
    close(dh0, th0.grad[0], "lstm dh0")
    close(dWx, module.weight_ih_l0.grad.T, "lstm dWx")
    close(dWh, module.weight_hh_l0.grad.T, "lstm dWh")
    close(db, module.bias_ih_l0.grad, "lstm db")

    cell = nn.LSTMCell(d, hidden).double()
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in module.state_dict().items()})
    c0 = rng.standard_normal((n, hidden))
    xs, hp, cp = t(x[:, 0]), t(h0), t(c0)
    th, tc = cell(xs, (hp, cp))
    dhs, dcs = rng.standard_normal(th.shape), rng.standard_normal(tc.shape)
    (th * torch.tensor(dhs) + tc * torch.tensor(dcs)).sum().backward()
    hstep, cstep, step_cache = strict(ref.lstm_step_forward, x[:, 0], h0, c0, Wx, Wh, b)
    close(hstep, th, "lstm_step h")
    close(cstep, tc, "lstm_step c")
    grads = strict(ref.lstm_step_backward, dhs, dcs, step_cache)
    for got, want, name in zip(grads, (xs.grad, hp.grad, cp.grad, cell.weight_ih.grad.T,
                                       cell.weight_hh.grad.T, cell.bias_ih.grad),
                               ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), strict=True):
        close(got, want, f"lstm_step {name}")


@check("scaled_dot_product_attention == F.scaled_dot_product_attention (masks, Tq != Tk)")
def _attention() -> None:
    n, tq, tk, d, dv = 2, 3, 5, 4, 6
    q, k, v = (rng.standard_normal((n, tq, d)), rng.standard_normal((n, tk, d)),
               rng.standard_normal((n, tk, dv)))
    masks = [None, np.tril(np.ones((tq, tk), dtype=bool)), rng.random((n, 1, tk)) < 0.7,
             rng.random((n, tq, tk)) < 0.6, rng.random(tk) < 0.6]
    for mask in masks:
        if mask is not None:
            mask.reshape(-1)[0] = True  # at least one allowed key in the row torch sees first
            mask = mask | np.eye(tq, tk, dtype=bool) if mask.shape[-2:] == (tq, tk) else mask
        out, attn = strict(ref.scaled_dot_product_attention, q, k, v, mask)
        tmask = None if mask is None else torch.tensor(np.broadcast_to(mask, (n, tq, tk)))
        want = F.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                              attn_mask=tmask)
        close(out, want, f"attention out (mask {None if mask is None else mask.shape})")
        close(attn.sum(-1), np.ones((n, tq)), "attention rows sum to 1")
    mask = np.ones((n, tq, tk), dtype=bool)
    mask[1, 2] = False
    out, attn = strict(ref.scaled_dot_product_attention, q, k, v, mask)
    assert np.all(out[1, 2] == 0) and np.all(attn[1, 2] == 0), "fully masked row must be zeros"


def _digits(seed: int):
    from sklearn.datasets import load_digits

    data = load_digits()
    X, y = data.data, data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[:1200], order[1200:]
    mean, std = X[train].mean(0), X[train].std(0)
    std[std == 0] = 1.0
    X = ((X - mean) / std).astype(np.float32).reshape(-1, 1, 8, 8)
    return X[train], y[train], X[test], y[test]


@check("fit_cnn: >= 0.96 on held-out digits, logits out, a few seconds on one thread")
def _fit_cnn() -> None:
    X, y, X_test, y_test = _digits(0)
    start = time.perf_counter()
    model = ref.fit_cnn(X, y, seed=0)
    took = time.perf_counter() - start
    with torch.no_grad():
        logits = model(torch.from_numpy(X_test))
    accuracy = float((logits.argmax(1).numpy() == y_test).mean())
    print(f"     fit_cnn: {took:.1f} s, accuracy {accuracy:.4f}")
    assert tuple(logits.shape) == (len(X_test), 10)
    assert logits.min() < 0 and not torch.allclose(logits.sum(1), torch.ones(len(X_test)))
    assert accuracy >= 0.96


def _series(n: int, seed: int):
    # The course's generator (two sines with random frequencies and offsets plus noise).
    r = np.random.default_rng(seed)
    f1, f2, o1, o2 = r.random((4, n, 1))
    time_axis = np.linspace(0, 1, 60)
    s = 0.5 * np.sin((time_axis - o1) * (f1 * 10 + 10))
    s = s + 0.2 * np.sin((time_axis - o2) * (f2 * 20 + 20)) + 0.1 * (r.random((n, 60)) - 0.5)
    s = s.astype(np.float32)
    return s[:, :50, None], s[:, 50:]


@check("fit_seq_regressor: held-out MSE well below the linear least-squares baseline")
def _fit_seq() -> None:
    X, Y = _series(2000, 0)
    X_test, Y_test = _series(500, 1)
    design = np.c_[X[:, :, 0], np.ones(len(X))].astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, Y.astype(np.float64), rcond=None)
    baseline = float(np.mean((np.c_[X_test[:, :, 0], np.ones(len(X_test))] @ coef - Y_test) ** 2))
    start = time.perf_counter()
    model = ref.fit_seq_regressor(X, Y, seed=0)
    took = time.perf_counter() - start
    with torch.no_grad():
        mse = float(((model(torch.from_numpy(X_test)).numpy() - Y_test) ** 2).mean())
    print(f"     fit_seq_regressor: {took:.1f} s, MSE {mse:.5f} (baseline {baseline:.5f}, "
          f"ratio {mse / baseline:.2f})")
    assert mse < 0.65 * baseline
    for cell in ("RNN", "LSTM", "GRU"):
        out = ref.SeqRegressor(input_size=2, hidden=7, n_out=3, cell=cell)(torch.zeros(4, 9, 2))
        assert tuple(out.shape) == (4, 3)


def main() -> int:
    torch.set_num_threads(1)
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
