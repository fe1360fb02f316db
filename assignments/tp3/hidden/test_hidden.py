"""Checks ocultos del TP3: CNN, RNN y atención (nunca se entregan a los estudiantes).

numpy part: every value the student returns is compared against the course's float64 reference
and against PyTorch in float64 on CPU (``F.conv2d``, ``F.max_pool2d``, ``nn.RNNCell`` /
``nn.RNN`` and ``nn.LSTMCell`` / ``nn.LSTM`` with the contract's weight mapping,
``F.scaled_dot_product_attention``), and gradients also against centred finite differences of
the student's own forward. Sizes are odd, non-square and pairwise distinct where it matters
(``W' != F`` for the bias axis, ``D != H`` for ``Wx``/``Wh``, ``Tq != Tk`` and ``d != dv``),
upstream gradients are random and reach every time step (``T >= 3``), and convolutions run with
stride 1 and 2 and pad 0, 1 and 2, so the classic mistakes cannot pass by accident. Backward
functions must leave ``dout``, ``dh`` and ``dc`` untouched, not only forwards their inputs.

PyTorch part: models live in the student's process. The checks build them there, reach them
through remote references and the trusted helpers of ``public/worker_helpers.py`` (``inworker``),
and evaluate them on held-out data whose targets never leave this process. Training checks give
partial credit between a floor and a target set from the reference with margins (figures printed
by ``reference_solutions/tp3/verify_against_torch.py``).

Each check touches only the functions of its exercise (its ``exercise`` marker). The student's own
``rnn_forward`` may call the student's own ``rnn_step_forward`` (likewise the LSTM, and ``fit_*``
their model class): a bug there then costs both exercises, which is the student's code being
wrong, not a check reaching into another exercise.
"""
# CANARY-HIDDEN-TP3-9e57: the course's hidden checks; never ship to students.

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.compare import (
    CheckFailure,
    assert_array,
    assert_close,
    expect_tuple,
    numerical_gradient_many,
)
from grader.datasets import digits

# Student and reference may sum in another order; float64 agrees to ~1e-14.
EXACT_TOL = {"rtol": 1e-7, "atol": 1e-10}
# Centred differences in float64 with h = 1e-6 agree with exact gradients to ~1e-9.
FD_TOL = {"rtol": 1e-5, "atol": 1e-7}
# float32 models run twice on the same rows (CPU or CUDA with TF32 off): batch size may change the
# kernels and the summation order, never by more than this.
MODEL_TOL = {"rtol": 1e-4, "atol": 1e-5}


# --- helpers -------------------------------------------------------------------------------------


def _fresh(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Copies to hand to the student: modifying arguments is checked (and charged) separately."""
    return tuple(a.copy() for a in arrays)


def _assert_unchanged(context: str, **pairs: tuple[np.ndarray, np.ndarray]) -> None:
    """Each keyword is ``name=(argument after the call, copy taken before it)``."""
    for name, (after, before) in pairs.items():
        if not (after.shape == before.shape and after.dtype == before.dtype
                and np.array_equal(after, before)):
            raise CheckFailure(f"{context} modificó su argumento {name}; las funciones no deben "
                               "cambiar sus entradas (trabajá sobre arrays nuevos; ojo con += "
                               "sobre un argumento)")


def _pair(value, names: tuple[str, str], context: str):
    return expect_tuple(value, 2, names=names, context=context)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _compare(got, ref, twin, name: str, context: str) -> None:
    """Against the reference and the PyTorch twin (float64, CPU)."""
    assert_close(got, ref, name=name, context=context, **EXACT_TOL)
    assert_close(got, twin, name=name, context=context, **EXACT_TOL)


# --- conv ----------------------------------------------------------------------------------------

# N, C, F, H, W, HH, WW pairwise distinct, H and W odd: W' != F in every configuration below, so a
# bias added on the wrong axis breaks, and stride 2 leaves rows and columns out.
CONV_SHAPES = {"x": (2, 3, 11, 9), "w": (7, 3, 5, 4)}
CONV_CONFIGS = [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]


def _conv_data(rng, x_shape=CONV_SHAPES["x"], w_shape=CONV_SHAPES["w"]):
    return rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])


def _conv_forward(student, x, w, b, stride, pad, context="conv2d_forward"):
    return _pair(student.conv2d_forward(*_fresh(x, w, b), stride, pad), ("out", "cache"), context)


@pytest.mark.exercise("conv", weight=2)
@pytest.mark.parametrize(("stride", "pad"), CONV_CONFIGS,
                         ids=[f"stride{s}-pad{p}" for s, p in CONV_CONFIGS])
def test_conv_matches_reference_and_torch(student, reference, rng, stride, pad):
    """conv2d_forward/backward coinciden con la referencia y con F.conv2d (float64)."""
    x, w, b = _conv_data(rng)
    context = f"conv2d_forward (stride={stride}, pad={pad})"
    out, cache = _conv_forward(student, x, w, b, stride, pad, context)
    ref_out, ref_cache = reference.conv2d_forward(x, w, b, stride, pad)
    tx, tw, tb = _t(x), _t(w), _t(b)
    tout = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    _compare(out, ref_out, tout.detach().numpy(), "out", context)
    dout = rng.normal(size=ref_out.shape)
    tout.backward(torch.from_numpy(dout))
    context = f"conv2d_backward (stride={stride}, pad={pad})"
    grads = expect_tuple(student.conv2d_backward(dout.copy(), cache), 3,
                         names=("dx", "dw", "db"), context=context)
    ref_grads = reference.conv2d_backward(dout, ref_cache)
    for name, got, want, twin in zip(("dx", "dw", "db"), grads, ref_grads, (tx, tw, tb),
                                     strict=True):
        _compare(got, want, twin.grad.numpy(), name, context)


@pytest.mark.exercise("conv")
def test_conv_backward_matches_finite_differences(student, rng):
    """dx, dw y db coinciden con diferencias finitas del propio forward (stride 2, pad 1)."""
    x, w, b = _conv_data(rng, (2, 2, 5, 4), (3, 2, 3, 2))
    stride, pad = 2, 1
    out, cache = _conv_forward(student, x, w, b, stride, pad)
    out = assert_array(out, name="out", context="conv2d_forward")
    dout = rng.normal(size=out.shape)
    grads = expect_tuple(student.conv2d_backward(dout.copy(), cache), 3,
                         names=("dx", "dw", "db"), context="conv2d_backward")

    def objective(o) -> float:
        return float(np.sum(assert_array(o, shape=dout.shape, name="out",
                                         context="conv2d_forward") * dout))

    # The perturbed calls travel together (issue 23); objective and verdicts stay here. Only
    # each call's out comes back (pick): the pair was checked on the forward above.
    numeric = numerical_gradient_many(student.conv2d_forward,
                                      lambda: ((*_fresh(x, w, b), stride, pad), {}),
                                      objective, x, w, b, pick=(0,))
    for name, got, want in zip(("dx", "dw", "db"), grads, numeric, strict=True):
        assert_close(got, want, name=name,
                     context="conv2d_backward (vs. diferencias finitas)", **FD_TOL)


@pytest.mark.exercise("conv")
def test_conv_default_stride_and_pad(student, reference, rng):
    """Sin stride ni pad, conv2d_forward usa stride=1 y pad=0."""
    x, w, b = _conv_data(rng)
    out, _ = _pair(student.conv2d_forward(*_fresh(x, w, b)), ("out", "cache"), "conv2d_forward")
    want = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)).numpy()
    _compare(out, reference.conv2d_forward(x, w, b)[0], want, "out",
             "conv2d_forward (valores por defecto)")


@pytest.mark.exercise("conv")
def test_conv_leaves_arguments_unchanged(student, rng):
    """conv2d_forward no modifica x, w, b; conv2d_backward no modifica dout."""
    x, w, b = _conv_data(rng)
    saved = _fresh(x, w, b)
    out, cache = _pair(student.conv2d_forward(x, w, b, 2, 1), ("out", "cache"), "conv2d_forward")
    _assert_unchanged("conv2d_forward", x=(x, saved[0]), w=(w, saved[1]), b=(b, saved[2]))
    dout = rng.normal(size=assert_array(out, name="out", context="conv2d_forward").shape)
    dout0 = dout.copy()
    student.conv2d_backward(dout, cache)
    _assert_unchanged("conv2d_backward", dout=(dout, dout0))


# --- max pool ------------------------------------------------------------------------------------

# (kernel, stride): disjoint windows, overlapping ones (stride < kernel) and gaps (stride > kernel).
POOL_CONFIGS = [(2, 2), (3, 2), (3, 1), (2, 3)]


def _pool_check(student, reference, x, dout_rng, kernel, stride, label: str) -> None:
    context = f"maxpool2d_forward (kernel={kernel}, stride={stride}{label})"
    out, cache = _pair(student.maxpool2d_forward(x.copy(), kernel, stride), ("out", "cache"),
                       context)
    ref_out, ref_cache = reference.maxpool2d_forward(x, kernel, stride)
    tx = _t(x)
    tout = F.max_pool2d(tx, kernel, stride)
    _compare(out, ref_out, tout.detach().numpy(), "out", context)
    dout = dout_rng.normal(size=ref_out.shape)
    tout.backward(torch.from_numpy(dout))
    context = f"maxpool2d_backward (kernel={kernel}, stride={stride}{label})"
    dx = student.maxpool2d_backward(dout.copy(), cache)
    _compare(dx, reference.maxpool2d_backward(dout, ref_cache), tx.grad.numpy(), "dx", context)


@pytest.mark.exercise("maxpool", weight=2)
@pytest.mark.parametrize(("kernel", "stride"), POOL_CONFIGS,
                         ids=[f"kernel{k}-stride{s}" for k, s in POOL_CONFIGS])
def test_maxpool_matches_reference_and_torch(student, reference, rng, kernel, stride):
    """maxpool2d forward/backward coinciden con la referencia y con F.max_pool2d."""
    _pool_check(student, reference, rng.normal(size=(2, 3, 9, 7)), rng, kernel, stride, "")


@pytest.mark.exercise("maxpool")
@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 1)], ids=["kernel2-stride2",
                                                                      "kernel3-stride1"])
def test_maxpool_ties_go_to_the_first_maximum(student, reference, rng, kernel, stride):
    """Con empates, el gradiente va al primer máximo de la ventana (orden fila por fila)."""
    x = rng.integers(0, 3, size=(2, 3, 7, 8)).astype(np.float64)
    _pool_check(student, reference, x, rng, kernel, stride, ", con empates")


@pytest.mark.exercise("maxpool")
def test_maxpool_defaults_are_kernel_2_stride_2(student, reference, rng):
    """Sin kernel ni stride, maxpool2d_forward usa kernel=2 y stride=2."""
    x = rng.normal(size=(3, 2, 7, 9))
    out, _ = _pair(student.maxpool2d_forward(x.copy()), ("out", "cache"), "maxpool2d_forward")
    _compare(out, reference.maxpool2d_forward(x)[0],
             F.max_pool2d(torch.from_numpy(x), 2, 2).numpy(), "out",
             "maxpool2d_forward (valores por defecto)")


@pytest.mark.exercise("maxpool")
def test_maxpool_leaves_arguments_unchanged(student, rng):
    """maxpool2d_forward no modifica x; maxpool2d_backward no modifica dout."""
    x = rng.normal(size=(2, 3, 9, 7))
    x0 = x.copy()
    out, cache = _pair(student.maxpool2d_forward(x, 3, 2), ("out", "cache"), "maxpool2d_forward")
    _assert_unchanged("maxpool2d_forward", x=(x, x0))
    dout = rng.normal(size=assert_array(out, name="out", context="maxpool2d_forward").shape)
    dout0 = dout.copy()
    student.maxpool2d_backward(dout, cache)
    _assert_unchanged("maxpool2d_backward", dout=(dout, dout0))


# --- RNN and LSTM: shared data and PyTorch twins -------------------------------------------------

N, T, D, H = 3, 4, 5, 6  # pairwise distinct; D != H so Wx and Wh cannot be swapped unnoticed
# Finite differences call the student's forward twice per element: smaller, still D != H.
FD_N, FD_D, FD_H = 2, 3, 4


def _weights(rng, gates: int, d: int = D, h: int = H):
    return (rng.normal(scale=0.5, size=(d, gates)), rng.normal(scale=0.5, size=(h, gates)),
            rng.normal(scale=0.5, size=gates))


def _twin(kind: str, Wx, Wh, b) -> nn.Module:
    """``nn.RNN``/``nn.LSTM`` (or their cells) with the contract's mapping, in float64.

    ``weight_ih = Wx.T``, ``weight_hh = Wh.T``, ``bias_ih = b``, ``bias_hh = 0``.
    """
    d, hidden = Wx.shape[0], Wh.shape[0]
    cls = {"RNN": nn.RNN, "LSTM": nn.LSTM, "RNNCell": nn.RNNCell, "LSTMCell": nn.LSTMCell}[kind]
    module = (cls(d, hidden, batch_first=True) if not kind.endswith("Cell")
              else cls(d, hidden)).double()
    suffix = "" if kind.endswith("Cell") else "_l0"
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.from_numpy(Wx.T.copy()))
        getattr(module, "weight_hh" + suffix).copy_(torch.from_numpy(Wh.T.copy()))
        getattr(module, "bias_ih" + suffix).copy_(torch.from_numpy(b))
        getattr(module, "bias_hh" + suffix).zero_()
    return module


def _twin_grads(module: nn.Module) -> list[np.ndarray]:
    """``dWx, dWh, db`` of a twin, in the contract's layout."""
    names = [n for n, _ in module.named_parameters()]
    grads = dict(zip(names, (p.grad for p in module.parameters()), strict=True))
    suffix = "_l0" if "weight_ih_l0" in grads else ""
    return [grads["weight_ih" + suffix].numpy().T, grads["weight_hh" + suffix].numpy().T,
            grads["bias_ih" + suffix].numpy()]


# --- rnn_step ------------------------------------------------------------------------------------


def _rnn_step_data(rng, n=N, d=D, h=H):
    return (rng.normal(size=(n, d)), rng.normal(size=(n, h)), *_weights(rng, h, d, h),
            rng.normal(size=(n, h)))


@pytest.mark.exercise("rnn_step", weight=2)
def test_rnn_step_matches_reference_and_torch(student, reference, rng):
    """rnn_step_forward/backward coinciden con la referencia y con nn.RNNCell (float64)."""
    x, h_prev, Wx, Wh, b, dh = _rnn_step_data(rng)
    h, cache = _pair(student.rnn_step_forward(*_fresh(x, h_prev, Wx, Wh, b)), ("h", "cache"),
                     "rnn_step_forward")
    ref_h, ref_cache = reference.rnn_step_forward(x, h_prev, Wx, Wh, b)
    cell = _twin("RNNCell", Wx, Wh, b)
    tx, th = _t(x), _t(h_prev)
    tout = cell(tx, th)
    _compare(h, ref_h, tout.detach().numpy(), "h", "rnn_step_forward")
    tout.backward(torch.from_numpy(dh))
    grads = expect_tuple(student.rnn_step_backward(dh.copy(), cache), 5,
                         names=("dx", "dh_prev", "dWx", "dWh", "db"), context="rnn_step_backward")
    twins = [tx.grad.numpy(), th.grad.numpy(), *_twin_grads(cell)]
    for name, got, want, twin in zip(("dx", "dh_prev", "dWx", "dWh", "db"), grads,
                                     reference.rnn_step_backward(dh, ref_cache), twins,
                                     strict=True):
        _compare(got, want, twin, name, "rnn_step_backward")


@pytest.mark.exercise("rnn_step")
def test_rnn_step_backward_matches_finite_differences(student, rng):
    """Los cinco gradientes de rnn_step_backward coinciden con diferencias finitas."""
    x, h_prev, Wx, Wh, b, dh = _rnn_step_data(rng, FD_N, FD_D, FD_H)
    _, cache = _pair(student.rnn_step_forward(*_fresh(x, h_prev, Wx, Wh, b)), ("h", "cache"),
                     "rnn_step_forward")
    grads = expect_tuple(student.rnn_step_backward(dh.copy(), cache), 5,
                         names=("dx", "dh_prev", "dWx", "dWh", "db"), context="rnn_step_backward")

    def objective(h) -> float:
        return float(np.sum(assert_array(h, shape=dh.shape, name="h",
                                         context="rnn_step_forward") * dh))

    numeric = numerical_gradient_many(student.rnn_step_forward,
                                      lambda: (_fresh(x, h_prev, Wx, Wh, b), {}), objective,
                                      x, h_prev, Wx, Wh, b, pick=(0,))
    for name, got, want in zip(("dx", "dh_prev", "dWx", "dWh", "db"), grads, numeric,
                               strict=True):
        assert_close(got, want, name=name,
                     context="rnn_step_backward (vs. diferencias finitas)", **FD_TOL)


@pytest.mark.exercise("rnn_step")
def test_rnn_step_leaves_arguments_unchanged(student, rng):
    """rnn_step_forward no modifica sus entradas; rnn_step_backward no modifica dh."""
    x, h_prev, Wx, Wh, b, dh = _rnn_step_data(rng)
    saved = _fresh(x, h_prev, Wx, Wh, b, dh)
    _, cache = _pair(student.rnn_step_forward(x, h_prev, Wx, Wh, b), ("h", "cache"),
                     "rnn_step_forward")
    _assert_unchanged("rnn_step_forward", x=(x, saved[0]), h_prev=(h_prev, saved[1]),
                      Wx=(Wx, saved[2]), Wh=(Wh, saved[3]), b=(b, saved[4]))
    student.rnn_step_backward(dh, cache)
    _assert_unchanged("rnn_step_backward", dh=(dh, saved[5]))


# --- rnn -----------------------------------------------------------------------------------------


def _seq_data(rng, gates: int, t_len: int = T, n: int = N, d: int = D, h: int = H):
    """``x, h0, Wx, Wh, b, dh``; ``gates`` is ``h`` for the RNN and ``4 * h`` for the LSTM."""
    return (rng.normal(size=(n, t_len, d)), rng.normal(size=(n, h)),
            *_weights(rng, gates, d, h), rng.normal(size=(n, t_len, h)))


def _check_sequence(student, reference, kind: str, x, h0, Wx, Wh, b, dh) -> None:
    """``rnn``/``lstm`` forward and backward against the reference and nn.RNN / nn.LSTM."""
    fwd, bwd = f"{kind}_forward", f"{kind}_backward"
    h, cache = _pair(getattr(student, fwd)(*_fresh(x, h0, Wx, Wh, b)), ("h", "cache"), fwd)
    ref_h, ref_cache = getattr(reference, fwd)(x, h0, Wx, Wh, b)
    module = _twin(kind.upper(), Wx, Wh, b)
    tx, th0 = _t(x), _t(h0[None])
    state = th0 if kind == "rnn" else (th0, torch.zeros_like(th0))
    tout, _ = module(tx, state)
    _compare(h, ref_h, tout.detach().numpy(), "h", fwd)
    tout.backward(torch.from_numpy(dh))
    grads = expect_tuple(getattr(student, bwd)(dh.copy(), cache), 5,
                         names=("dx", "dh0", "dWx", "dWh", "db"), context=bwd)
    twins = [tx.grad.numpy(), th0.grad.numpy()[0], *_twin_grads(module)]
    for name, got, want, twin in zip(("dx", "dh0", "dWx", "dWh", "db"), grads,
                                     getattr(reference, bwd)(dh, ref_cache), twins, strict=True):
        _compare(got, want, twin, name, bwd)


def _check_sequence_fd(student, kind: str, x, h0, Wx, Wh, b, dh) -> None:
    fwd, bwd = f"{kind}_forward", f"{kind}_backward"
    _, cache = _pair(getattr(student, fwd)(*_fresh(x, h0, Wx, Wh, b)), ("h", "cache"), fwd)
    grads = expect_tuple(getattr(student, bwd)(dh.copy(), cache), 5,
                         names=("dx", "dh0", "dWx", "dWh", "db"), context=bwd)

    def objective(h) -> float:
        return float(np.sum(assert_array(h, shape=dh.shape, name="h", context=fwd) * dh))

    numeric = numerical_gradient_many(getattr(student, fwd),
                                      lambda: (_fresh(x, h0, Wx, Wh, b), {}), objective,
                                      x, h0, Wx, Wh, b, pick=(0,))
    for name, got, want in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, numeric, strict=True):
        assert_close(got, want, name=name,
                     context=f"{bwd} (vs. diferencias finitas)", **FD_TOL)


def _check_sequence_unchanged(student, kind: str, x, h0, Wx, Wh, b, dh) -> None:
    fwd, bwd = f"{kind}_forward", f"{kind}_backward"
    saved = _fresh(x, h0, Wx, Wh, b, dh)
    _, cache = _pair(getattr(student, fwd)(x, h0, Wx, Wh, b), ("h", "cache"), fwd)
    _assert_unchanged(fwd, x=(x, saved[0]), h0=(h0, saved[1]), Wx=(Wx, saved[2]),
                      Wh=(Wh, saved[3]), b=(b, saved[4]))
    getattr(student, bwd)(dh, cache)
    _assert_unchanged(bwd, dh=(dh, saved[5]))


@pytest.mark.exercise("rnn", weight=2)
@pytest.mark.parametrize("t_len", [T, 7], ids=["T4", "T7"])
def test_rnn_matches_reference_and_torch(student, reference, rng, t_len):
    """rnn_forward/backward coinciden con la referencia y con nn.RNN (dh en todos los pasos)."""
    _check_sequence(student, reference, "rnn", *_seq_data(rng, H, t_len))


@pytest.mark.exercise("rnn")
def test_rnn_over_a_single_step(student, reference, rng):
    """Una secuencia de un solo paso (T = 1) también es una secuencia: rnn_forward/backward
    coinciden con la referencia y con nn.RNN."""
    _check_sequence(student, reference, "rnn", *_seq_data(rng, H, 1))


@pytest.mark.exercise("rnn")
def test_rnn_backward_matches_finite_differences(student, rng):
    """dx, dh0, dWx, dWh y db de rnn_backward coinciden con diferencias finitas (T = 3)."""
    _check_sequence_fd(student, "rnn", *_seq_data(rng, FD_H, 3, FD_N, FD_D, FD_H))


@pytest.mark.exercise("rnn")
def test_rnn_leaves_arguments_unchanged(student, rng):
    """rnn_forward no modifica sus entradas; rnn_backward no modifica dh."""
    _check_sequence_unchanged(student, "rnn", *_seq_data(rng, H))


# --- lstm_step -----------------------------------------------------------------------------------


def _lstm_step_data(rng, n=N, d=D, h=H):
    return (rng.normal(size=(n, d)), rng.normal(size=(n, h)), rng.normal(size=(n, h)),
            *_weights(rng, 4 * h, d, h), rng.normal(size=(n, h)), rng.normal(size=(n, h)))


def _lstm_step_forward(student, x, h_prev, c_prev, Wx, Wh, b):
    return expect_tuple(student.lstm_step_forward(*_fresh(x, h_prev, c_prev, Wx, Wh, b)), 3,
                        names=("h", "c", "cache"), context="lstm_step_forward")


LSTM_STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")


@pytest.mark.exercise("lstm_step", weight=2)
def test_lstm_step_matches_reference_and_torch(student, reference, rng):
    """lstm_step_forward/backward coinciden con la referencia y con nn.LSTMCell (i, f, g, o)."""
    x, h_prev, c_prev, Wx, Wh, b, dh, dc = _lstm_step_data(rng)
    h, c, cache = _lstm_step_forward(student, x, h_prev, c_prev, Wx, Wh, b)
    ref_h, ref_c, ref_cache = reference.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    cell = _twin("LSTMCell", Wx, Wh, b)
    tx, th, tc = _t(x), _t(h_prev), _t(c_prev)
    th_out, tc_out = cell(tx, (th, tc))
    _compare(h, ref_h, th_out.detach().numpy(), "h", "lstm_step_forward")
    _compare(c, ref_c, tc_out.detach().numpy(), "c", "lstm_step_forward")
    (th_out * torch.from_numpy(dh) + tc_out * torch.from_numpy(dc)).sum().backward()
    grads = expect_tuple(student.lstm_step_backward(dh.copy(), dc.copy(), cache), 6,
                         names=LSTM_STEP_GRADS, context="lstm_step_backward")
    twins = [tx.grad.numpy(), th.grad.numpy(), tc.grad.numpy(), *_twin_grads(cell)]
    for name, got, want, twin in zip(LSTM_STEP_GRADS, grads,
                                     reference.lstm_step_backward(dh, dc, ref_cache), twins,
                                     strict=True):
        _compare(got, want, twin, name, "lstm_step_backward")


@pytest.mark.exercise("lstm_step")
def test_lstm_step_backward_matches_finite_differences(student, rng):
    """Los seis gradientes de lstm_step_backward coinciden con diferencias finitas de
    sum(h * dh + c * dc)."""
    x, h_prev, c_prev, Wx, Wh, b, dh, dc = _lstm_step_data(rng, FD_N, FD_D, FD_H)
    _, _, cache = _lstm_step_forward(student, x, h_prev, c_prev, Wx, Wh, b)
    grads = expect_tuple(student.lstm_step_backward(dh.copy(), dc.copy(), cache), 6,
                         names=LSTM_STEP_GRADS, context="lstm_step_backward")

    def objective(value) -> float:
        h, c, _ = expect_tuple(value, 3, names=("h", "c", "cache"), context="lstm_step_forward")
        h = assert_array(h, shape=dh.shape, name="h", context="lstm_step_forward")
        c = assert_array(c, shape=dc.shape, name="c", context="lstm_step_forward")
        return float(np.sum(h * dh) + np.sum(c * dc))

    numeric = numerical_gradient_many(student.lstm_step_forward,
                                      lambda: (_fresh(x, h_prev, c_prev, Wx, Wh, b), {}),
                                      objective, x, h_prev, c_prev, Wx, Wh, b)
    for name, got, want in zip(LSTM_STEP_GRADS, grads, numeric, strict=True):
        assert_close(got, want, name=name,
                     context="lstm_step_backward (vs. diferencias finitas)", **FD_TOL)


@pytest.mark.exercise("lstm_step")
def test_lstm_step_leaves_arguments_unchanged(student, rng):
    """lstm_step_forward no modifica sus entradas; lstm_step_backward no modifica dh ni dc."""
    x, h_prev, c_prev, Wx, Wh, b, dh, dc = _lstm_step_data(rng)
    saved = _fresh(x, h_prev, c_prev, Wx, Wh, b, dh, dc)
    _, _, cache = expect_tuple(student.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b), 3,
                               names=("h", "c", "cache"), context="lstm_step_forward")
    _assert_unchanged("lstm_step_forward", x=(x, saved[0]), h_prev=(h_prev, saved[1]),
                      c_prev=(c_prev, saved[2]), Wx=(Wx, saved[3]), Wh=(Wh, saved[4]),
                      b=(b, saved[5]))
    student.lstm_step_backward(dh, dc, cache)
    _assert_unchanged("lstm_step_backward", dh=(dh, saved[6]), dc=(dc, saved[7]))


# --- lstm ----------------------------------------------------------------------------------------


@pytest.mark.exercise("lstm", weight=2)
@pytest.mark.parametrize("t_len", [T, 7], ids=["T4", "T7"])
def test_lstm_matches_reference_and_torch(student, reference, rng, t_len):
    """lstm_forward/backward coinciden con la referencia y con nn.LSTM (c0 = 0)."""
    _check_sequence(student, reference, "lstm", *_seq_data(rng, 4 * H, t_len))


@pytest.mark.exercise("lstm")
def test_lstm_over_a_single_step(student, reference, rng):
    """Una secuencia de un solo paso (T = 1) también es una secuencia: lstm_forward/backward
    coinciden con la referencia y con nn.LSTM."""
    _check_sequence(student, reference, "lstm", *_seq_data(rng, 4 * H, 1))


@pytest.mark.exercise("lstm")
def test_lstm_backward_matches_finite_differences(student, rng):
    """dx, dh0, dWx, dWh y db de lstm_backward coinciden con diferencias finitas (T = 3)."""
    _check_sequence_fd(student, "lstm", *_seq_data(rng, 4 * FD_H, 3, FD_N, FD_D, FD_H))


@pytest.mark.exercise("lstm")
def test_lstm_leaves_arguments_unchanged(student, rng):
    """lstm_forward no modifica sus entradas; lstm_backward no modifica dh."""
    _check_sequence_unchanged(student, "lstm", *_seq_data(rng, 4 * H))


# --- attention -----------------------------------------------------------------------------------

NA, TQ, TK, DK, DV = 2, 3, 5, 4, 6  # Tq != Tk, d != dv, sqrt(d) != d


def _attention_data(rng):
    return (rng.normal(size=(NA, TQ, DK)), rng.normal(size=(NA, TK, DK)),
            rng.normal(size=(NA, TK, DV)))


def _masks(rng) -> dict[str, np.ndarray]:
    """One mask of every broadcastable shape the contract allows, some with empty rows."""
    causal = np.tril(np.ones((TQ, TK), dtype=bool))
    padding = np.ones((NA, 1, TK), dtype=bool)
    padding[0, 0, 3:] = False
    padding[1, 0, 1:] = False
    full = rng.random((NA, TQ, TK)) < 0.6
    full[:, :, 0] = True
    return {
        "causal (Tq, Tk)": causal,
        "padding (N, 1, Tk)": padding,
        "(N, Tq, Tk)": full,
        "(1, Tq, Tk)": (rng.random((1, TQ, TK)) < 0.5) | causal[None],
        "(Tk,)": np.array([True, False, True, True, False]),
        "(1, Tk)": np.array([[False, True, True, False, True]]),
        "(Tq, 1) con filas vacías": np.array([[True], [False], [True]]),
        "(N, Tq, 1) con filas vacías": np.array([[[True], [True], [False]],
                                                 [[False], [True], [True]]]),
    }


def _check_attention(student, reference, q, k, v, mask, label: str) -> None:
    context = f"scaled_dot_product_attention ({label})"
    args = _fresh(q, k, v) + (() if mask is None else (mask.copy(),))
    out, attn = _pair(student.scaled_dot_product_attention(*args), ("out", "attn"), context)
    ref_out, ref_attn = reference.scaled_dot_product_attention(q, k, v, mask)
    twin = F.scaled_dot_product_attention(
        torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
        attn_mask=None if mask is None else torch.from_numpy(mask)).numpy()
    assert_close(attn, ref_attn, name="attn", context=context, **EXACT_TOL)
    _compare(out, ref_out, twin, "out", context)


@pytest.mark.exercise("attention", weight=2)
def test_attention_without_mask_matches_reference_and_torch(student, reference, rng):
    """Sin máscara: out y attn coinciden con la referencia y con F.scaled_dot_product_attention."""
    _check_attention(student, reference, *_attention_data(rng), None, "sin máscara")


@pytest.mark.exercise("attention", weight=2)
def test_attention_with_masks_of_every_shape(student, reference, rng):
    """Máscaras de cada forma que se difunde a (N, Tq, Tk): causal, de padding, (Tk,), ..."""
    q, k, v = _attention_data(rng)
    for label, mask in _masks(rng).items():
        _check_attention(student, reference, q, k, v, mask, f"máscara {label}")


@pytest.mark.exercise("attention")
def test_attention_fully_masked_query_gets_zeros(student, rng):
    """Una consulta sin ninguna clave permitida da pesos y salida en cero (sin nan)."""
    q, k, v = _attention_data(rng)
    mask = np.ones((NA, TQ, TK), dtype=bool)
    mask[1, 2] = False
    mask[0, 0] = False
    context = "scaled_dot_product_attention (consulta sin claves permitidas)"
    out, attn = _pair(student.scaled_dot_product_attention(*_fresh(q, k, v), mask.copy()),
                      ("out", "attn"), context)
    out = assert_array(out, shape=(NA, TQ, DV), name="out", context=context)
    attn = assert_array(attn, shape=(NA, TQ, TK), name="attn", context=context)
    for name, value in (("out", out), ("attn", attn)):
        for n, i in ((1, 2), (0, 0)):
            row = value[n, i]
            if not np.all(row == 0):
                what = "nan" if np.isnan(row).any() else "valores distintos de cero"
                raise CheckFailure(f"{context}: {name}[{n}, {i}] tiene {what}; una consulta sin "
                                   "claves permitidas debe dar ceros")


@pytest.mark.exercise("attention")
def test_attention_leaves_arguments_unchanged(student, rng):
    """scaled_dot_product_attention no modifica q, k, v ni mask."""
    q, k, v = _attention_data(rng)
    mask = _masks(rng)["(N, Tq, Tk)"]
    saved = _fresh(q, k, v, mask)
    student.scaled_dot_product_attention(q, k, v, mask)
    _assert_unchanged("scaled_dot_product_attention", q=(q, saved[0]), k=(k, saved[1]),
                      v=(v, saved[2]), mask=(mask, saved[3]))


# --- PyTorch: SmallCNN ---------------------------------------------------------------------------


def _predict(inworker, model, x: np.ndarray, *, n_out: int, context: str) -> np.ndarray:
    """``model(x)`` in eval mode in the student's process; checks it is a float tensor
    ``(len(x), n_out)`` and returns it as a float64 array."""
    if not inworker.is_module(model):
        raise CheckFailure(f"{context} debe ser un torch.nn.Module; llegó "
                           f"{inworker.type_name(model)}")
    model.eval()
    out = inworker.predict(model, torch.from_numpy(x))
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(f"{context}: el forward debe devolver un torch.Tensor; devolvió "
                           f"{type(out).__name__}")
    if tuple(out.shape) != (len(x), n_out):
        raise CheckFailure(f"{context}: la salida para una entrada de forma {x.shape} tiene forma "
                           f"{tuple(out.shape)}; se esperaba {(len(x), n_out)}")
    if not out.is_floating_point():
        raise CheckFailure(f"{context}: la salida tiene dtype {out.dtype}; se esperaba float")
    values = out.double().numpy()
    if not np.isfinite(values).all():
        raise CheckFailure(f"{context}: la salida tiene nan o inf")
    return values


def _digit_images(rng, n: int) -> np.ndarray:
    return rng.normal(size=(n, 1, 8, 8)).astype(np.float32)


@pytest.mark.exercise("small_cnn")
@pytest.mark.parametrize("n_classes", [10, 7], ids=["default", "n_classes7"])
def test_small_cnn_returns_logits_of_the_right_shape(student, inworker, device, rng, n_classes):
    """SmallCNN con entrada (N, 1, 8, 8) float32 devuelve logits (N, n_classes), sin softmax."""
    model = student.SmallCNN() if n_classes == 10 else student.SmallCNN(n_classes=n_classes)
    context = "SmallCNN()" if n_classes == 10 else f"SmallCNN(n_classes={n_classes})"
    inworker.to_device(model, device)
    logits = _predict(inworker, model, _digit_images(rng, 37), n_out=n_classes, context=context)
    # Logits of a freshly built network take both signs; probabilities (softmax or sigmoid at the
    # end) all lie in [0, 1]. A softmax still trains to a good accuracy, so this is its only check.
    if logits.min() >= 0.0 and logits.max() <= 1.0:
        raise CheckFailure(f"{context}: todas las salidas están entre 0 y 1, como probabilidades; "
                           "el modelo debe devolver logits (sin softmax ni sigmoide al final: "
                           "cross_entropy ya aplica log-softmax)")


@pytest.mark.exercise("small_cnn")
def test_small_cnn_rows_do_not_depend_on_each_other(student, inworker, device, rng):
    """En modo eval, la salida de cada imagen no depende de las otras del batch."""
    model = inworker.to_device(student.SmallCNN(), device)
    x = _digit_images(rng, 12)
    together = _predict(inworker, model, x, n_out=10, context="SmallCNN()")
    alone = np.concatenate([_predict(inworker, model, x[i:i + 1], n_out=10,
                                     context="SmallCNN()") for i in (0, 5, 11)])
    assert_close(alone, together[[0, 5, 11]], name="logits",
                 context="SmallCNN() (cada imagen sola vs. en un batch)", **MODEL_TOL)


# --- PyTorch: fit_cnn ----------------------------------------------------------------------------

# Calibrated on independent recipes (issue 17; ``python benchmarks/calibrate.py tp3 --recipes
# 'cnn_*' --shift-seeds``, reference_solutions/tp3/recipes/cnn_*.py), worst of five to ten training
# seeds: the reference 0.972, SGD with momentum 0.976, a wider CNN with batch norm and dropout
# 0.978, a single convolution 0.944, and a LeNet-style CNN (5x5 then 3x3 convolutions, two
# poolings down to 2x2, Adam 1e-3) 0.918 (median 0.941). Full credit from 0.90, below the worst
# reasonable recipe with a margin of ~9 digits of 497 (0.95, set on the reference alone, cost that
# LeNet up to 22 % of the points); nothing at 0.80 or below (untrained: ~0.1).
CNN_TARGET, CNN_FLOOR = 0.90, 0.80


def _digits(seed: int, n_train: int):
    """The 8x8 digits, split by ``seed`` and standardised per pixel with the training statistics."""
    X, y = digits()  # load_digits(return_X_y=True), without scikit-learn's imports
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[:n_train], order[n_train:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    X = ((X - mean) / std).astype(np.float32).reshape(-1, 1, 8, 8)
    return X[train], y[train], X[test], y[test]


def _graded(credit, value: float, target: float, floor: float, message: str) -> None:
    """Linear credit from ``floor`` (0) to ``target`` (1), either direction; ``message`` shows
    the measured value and both thresholds, never a held-out target."""
    fraction = (value - floor) / (target - floor) if np.isfinite(value) else 0.0
    credit.award(float(min(max(fraction, 0.0), 1.0)), message)


@pytest.mark.exercise("fit_cnn")
@pytest.mark.timeout_s(2 * 60)  # the contract's "within 60 s on 2 CPU cores", in CPU seconds
def test_fit_cnn_accuracy_on_held_out_digits(student, inworker, device, credit):
    """fit_cnn entrena una SmallCNN que clasifica dígitos nuevos (crédito parcial por exactitud)."""
    X, y, X_test, y_test = _digits(seed=7, n_train=1300)
    model = student.fit_cnn(X, y, seed=0, device=device)
    if not inworker.is_instance(model, student.SmallCNN):
        raise CheckFailure(f"fit_cnn debe devolver una SmallCNN; devolvió "
                           f"{inworker.type_name(model)}")
    logits = _predict(inworker, model, X_test, n_out=10, context="fit_cnn(...)")
    accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
    _graded(credit, accuracy, CNN_TARGET, CNN_FLOOR,
            f"fit_cnn: exactitud {accuracy:.1%} en {len(X_test)} dígitos nuevos; puntaje completo "
            f"con {CNN_TARGET:.0%} o más, nada con {CNN_FLOOR:.0%} o menos")


# --- PyTorch: SeqRegressor -----------------------------------------------------------------------

CELLS = ["RNN", "LSTM", "GRU"]


@pytest.mark.exercise("seq_regressor")
@pytest.mark.parametrize("cell", CELLS)
def test_seq_regressor_uses_its_cell_batch_first(student, inworker, device, rng, cell):
    """SeqRegressor(cell=...) usa esa celda, recibe (N, T, input_size) y devuelve (N, n_out)."""
    context = f'SeqRegressor(input_size=2, hidden=17, n_out=3, cell="{cell}")'
    model = inworker.to_device(student.SeqRegressor(input_size=2, hidden=17, n_out=3, cell=cell),
                               device)
    x = rng.normal(size=(6, 13, 2)).astype(np.float32)
    together = _predict(inworker, model, x, n_out=3, context=context)
    calls = inworker.recurrent_calls(model, torch.from_numpy(x))
    used = sorted(calls)
    allowed = {cell, cell + "Cell"}
    if not used or not set(used) <= allowed:
        raise CheckFailure(f"{context}: el forward debe usar la capa nn.{cell} (o nn.{cell}Cell) "
                           f"de PyTorch; usó {used or 'ninguna capa recurrente de PyTorch'}")
    sizes = {layer["hidden_size"] for layer in inworker.recurrent_layers(model)
             if layer["type"] in allowed}
    if sizes != {17}:
        raise CheckFailure(f"{context}: la capa recurrente debe tener hidden_size=17 (el "
                           f"argumento hidden); tiene {sorted(sizes)}")
    # Batch first: each series is a row, so its prediction cannot depend on the other rows (an
    # nn.{cell} built without batch_first=True reads the batch as time and mixes them).
    alone = np.concatenate([_predict(inworker, model, x[i:i + 1], n_out=3, context=context)
                            for i in (0, 3, 5)])
    assert_close(alone, together[[0, 3, 5]], name="salida",
                 context=f"{context} (cada serie sola vs. en un batch: ¿batch_first=True?)",
                 **MODEL_TOL)


@pytest.mark.exercise("seq_regressor")
def test_seq_regressor_defaults(student, inworker, device, rng):
    """SeqRegressor() toma series (N, 50, 1) y devuelve (N, 10), con una LSTM de 32 unidades."""
    model = inworker.to_device(student.SeqRegressor(), device)
    x = rng.normal(size=(5, 50, 1)).astype(np.float32)
    _predict(inworker, model, x, n_out=10, context="SeqRegressor()")
    calls = sorted(inworker.recurrent_calls(model, torch.from_numpy(x)))
    if not calls or not set(calls) <= {"LSTM", "LSTMCell"}:
        raise CheckFailure(f'SeqRegressor(): por defecto cell="LSTM"; el forward usó '
                           f"{calls or 'ninguna capa recurrente de PyTorch'}")
    sizes = {layer["hidden_size"] for layer in inworker.recurrent_layers(model)}
    if sizes != {32}:
        raise CheckFailure(f"SeqRegressor(): por defecto hidden=32; la capa recurrente tiene "
                           f"hidden_size {sorted(sizes)}")


@pytest.mark.exercise("seq_regressor")
@pytest.mark.parametrize("cell", CELLS)
def test_seq_regressor_prediction_depends_on_the_last_step(student, inworker, device, rng, cell):
    """Pronosticar lo que sigue a una serie depende de su último valor: cambiar solo el último
    paso de la entrada cambia la salida de cada serie."""
    context = f'SeqRegressor(cell="{cell}")'
    model = inworker.to_device(student.SeqRegressor(cell=cell), device)
    x = rng.normal(size=(4, 50, 1)).astype(np.float32)
    moved = x.copy()
    moved[:, -1] += 1.0
    before = _predict(inworker, model, x, n_out=10, context=context)
    after = _predict(inworker, model, moved, n_out=10, context=context)
    unchanged = [i for i in range(len(x)) if np.max(np.abs(after[i] - before[i])) < 1e-6]
    if unchanged:
        raise CheckFailure(f"{context}: cambiar solo el último paso de la serie no cambió la "
                           f"predicción de las series {unchanged}; la cabeza debe leer el estado "
                           "después del último paso (por ejemplo out[:, -1] con batch_first=True)")


# --- PyTorch: fit_seq_regressor ------------------------------------------------------------------

# Calibrated on independent recipes (issue 17; ``python benchmarks/calibrate.py tp3 --recipes
# 'seq_*' --shift-seeds``, reference_solutions/tp3/recipes/seq_*.py): MSE as a fraction of the
# linear least-squares baseline, worst of five training seeds: the reference 0.65, a GRU with
# OneCycleLR 0.60, the default LSTM with Adam at a fixed 5e-3 0.68, two LSTM layers with an MLP
# head and StepLR 0.79. Full credit at 0.9 of the baseline (0.8, set on the reference alone, left
# that last recipe a margin of 1 %); nothing at the baseline itself, so the model must still beat
# the linear regression (predicting the mean scores ~9 times the baseline). Recipes that stop
# while the loss still falls (Adam 1e-3 for 20 epochs: 0.66-1.03 by seed) or a plain RNN (one seed
# in five stays at 1.15-1.26) are a lottery no threshold that asks to beat the baseline can absorb:
# see reference_solutions/tp3/recipes/README.md.
SEQ_TARGET_RATIO, SEQ_FLOOR_RATIO = 0.9, 1.0


def _series(n: int, seed: int):
    """The course's generator: two sines with random frequencies and offsets plus noise; 60
    steps, the first 50 are the input ``(n, 50, 1)`` and the next 10 the target ``(n, 10)``."""
    r = np.random.default_rng(seed)
    freq1, freq2, offset1, offset2 = r.random((4, n, 1))
    time = np.linspace(0, 1, 60)
    s = 0.5 * np.sin((time - offset1) * (freq1 * 10 + 10))
    s = s + 0.2 * np.sin((time - offset2) * (freq2 * 20 + 20))
    s = (s + 0.1 * (r.random((n, 60)) - 0.5)).astype(np.float32)
    return s[:, :50, None], s[:, 50:]


def _linear_baseline(X, Y, X_test, Y_test) -> float:
    """MSE on the test series of least squares from the 50 inputs (and a bias) to the 10 targets."""
    design = np.c_[X[:, :, 0], np.ones(len(X))].astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, Y.astype(np.float64), rcond=None)
    test = np.c_[X_test[:, :, 0], np.ones(len(X_test))].astype(np.float64)
    return float(np.mean((test @ coef - Y_test) ** 2))


@pytest.mark.exercise("fit_seq_regressor")
@pytest.mark.timeout_s(2 * 90)  # the contract's "within 90 s on 2 CPU cores", in CPU seconds
def test_fit_seq_regressor_beats_the_linear_baseline(student, inworker, device, credit):
    """fit_seq_regressor predice 10 pasos de series nuevas mejor que mínimos cuadrados lineales."""
    X, Y = _series(2000, seed=11)
    X_test, Y_test = _series(500, seed=12)
    baseline = _linear_baseline(X, Y, X_test, Y_test)
    model = student.fit_seq_regressor(X, Y, seed=0, device=device)
    if not inworker.is_instance(model, student.SeqRegressor):
        raise CheckFailure(f"fit_seq_regressor debe devolver un SeqRegressor; devolvió "
                           f"{inworker.type_name(model)}")
    pred = _predict(inworker, model, X_test, n_out=10, context="fit_seq_regressor(...)")
    mse = float(np.mean((pred - Y_test) ** 2))
    target, floor = SEQ_TARGET_RATIO * baseline, SEQ_FLOOR_RATIO * baseline
    _graded(credit, mse, target, floor,
            f"fit_seq_regressor: MSE {mse:.4g} en {len(X_test)} series nuevas; la regresión lineal "
            f"por mínimos cuadrados da {baseline:.4g}; puntaje completo con {target:.4g} o menos, "
            "nada si no mejora a la regresión lineal")
