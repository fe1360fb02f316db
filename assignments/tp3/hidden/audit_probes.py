"""Probes for ``grader audit tp3``: the inputs that tell a mutant of the reference from the reference.

Never shipped to students (``hidden/``). Same format as TP1's (``assignments/tp1/hidden/
audit_probes.py``): ``PROBES`` maps a graded name (a function, or a class for all its methods) to
probes ``probe(module, rng) -> value``, run on the reference and on a mutant with the same seed.
Layers run forward and backward together and return their inputs too (none may be modified).

Inputs stay inside the contract (``/spec/tps.md``): non-square images and kernels with distinct
sizes, strides that skip the last rows, padding, overlapping and strided pooling windows with
ties, batches of one, single-step sequences, attention with no mask, ``(Tq, Tk)`` and ``(N, 1,
Tk)`` masks and a query with no allowed key. The PyTorch part runs in float64 where the probe
builds the tensors, trains on a few dozen samples (``fit_cnn`` and ``fit_seq_regressor`` keep
their own epochs, so their probes stay small), and returns parameters and outputs.
"""
# CANARY-HIDDEN-TP3-AUDIT-91c4: the course's audit probes; never ship to students.

from __future__ import annotations

import numpy as np
import torch

# --- convolution and pooling -------------------------------------------------------------------


def _conv(m, rng, x_shape, w_shape, **kwargs):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = m.conv2d_forward(x, w, b, **kwargs)
    dout = rng.standard_normal(out.shape)
    return out, m.conv2d_backward(dout, cache), x, w, b, dout


def conv_defaults(m, rng):
    return _conv(m, rng, (2, 3, 5, 6), (4, 3, 3, 2))


def conv_stride_and_pad(m, rng):
    return _conv(m, rng, (2, 2, 7, 6), (3, 2, 3, 3), stride=2, pad=1)


def conv_stride_skips_rows(m, rng):
    return _conv(m, rng, (1, 2, 8, 7), (2, 2, 3, 2), stride=3, pad=0)


def conv_batch_of_one_wide_pad(m, rng):
    return _conv(m, rng, (1, 1, 4, 3), (2, 1, 2, 2), stride=1, pad=2)


def conv_one_by_one(m, rng):
    return _conv(m, rng, (3, 2, 3, 4), (5, 2, 1, 1))


def _pool(m, rng, x, **kwargs):
    out, cache = m.maxpool2d_forward(x, **kwargs)
    dout = rng.standard_normal(out.shape)
    return out, m.maxpool2d_backward(dout, cache), x, dout


def maxpool_defaults(m, rng):
    return _pool(m, rng, rng.standard_normal((2, 3, 4, 6)))


def maxpool_overlapping(m, rng):
    return _pool(m, rng, rng.standard_normal((1, 2, 5, 4)), kernel=3, stride=1)


def maxpool_ties(m, rng):
    x = rng.integers(0, 3, (2, 1, 4, 4)).astype(np.float64)
    return _pool(m, rng, x)


def maxpool_overlapping_ties(m, rng):
    x = rng.integers(0, 2, (1, 2, 4, 5)).astype(np.float64)
    return _pool(m, rng, x, kernel=2, stride=1)


def maxpool_odd_sizes(m, rng):
    return _pool(m, rng, rng.standard_normal((2, 1, 5, 7)), kernel=2, stride=2)


def maxpool_stride_beyond_kernel(m, rng):
    return _pool(m, rng, rng.standard_normal((1, 1, 8, 7)), kernel=2, stride=3)


# --- RNN and LSTM ------------------------------------------------------------------------------


def _rnn_weights(rng, d, h, gates=1):
    return (rng.standard_normal((d, gates * h)) * 0.5, rng.standard_normal((h, gates * h)) * 0.5,
            rng.standard_normal(gates * h) * 0.5)


def _rnn_step(m, rng, n, d, h):
    x, h_prev = rng.standard_normal((n, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _rnn_weights(rng, d, h)
    out, cache = m.rnn_step_forward(x, h_prev, Wx, Wh, b)
    dh = rng.standard_normal(out.shape)
    return out, m.rnn_step_backward(dh, cache), x, h_prev, Wx, Wh, b, dh


def rnn_step_random(m, rng):
    return _rnn_step(m, rng, 3, 4, 5)


def rnn_step_batch_of_one(m, rng):
    return _rnn_step(m, rng, 1, 2, 3)


def rnn_step_square(m, rng):
    return _rnn_step(m, rng, 4, 4, 4)


def _rnn(m, rng, n, t, d, h):
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _rnn_weights(rng, d, h)
    out, cache = m.rnn_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(out.shape)
    return out, m.rnn_backward(dh, cache), x, h0, Wx, Wh, b, dh


def rnn_random(m, rng):
    return _rnn(m, rng, 2, 4, 3, 5)


def rnn_one_step(m, rng):
    return _rnn(m, rng, 3, 1, 2, 4)


def rnn_batch_of_one(m, rng):
    return _rnn(m, rng, 1, 3, 4, 2)


def _lstm_step(m, rng, n, d, h):
    x, h_prev, c_prev = (rng.standard_normal((n, d)), rng.standard_normal((n, h)),
                         rng.standard_normal((n, h)))
    Wx, Wh, b = _rnn_weights(rng, d, h, gates=4)
    out, c, cache = m.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    dh, dc = rng.standard_normal(out.shape), rng.standard_normal(c.shape)
    return out, c, m.lstm_step_backward(dh, dc, cache), x, h_prev, c_prev, Wx, Wh, b, dh, dc


def lstm_step_random(m, rng):
    return _lstm_step(m, rng, 3, 4, 5)


def lstm_step_batch_of_one(m, rng):
    return _lstm_step(m, rng, 1, 2, 3)


def lstm_step_square(m, rng):
    return _lstm_step(m, rng, 2, 3, 3)


def _lstm(m, rng, n, t, d, h):
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    Wx, Wh, b = _rnn_weights(rng, d, h, gates=4)
    out, cache = m.lstm_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(out.shape)
    return out, m.lstm_backward(dh, cache), x, h0, Wx, Wh, b, dh


def lstm_random(m, rng):
    return _lstm(m, rng, 2, 4, 3, 5)


def lstm_one_step(m, rng):
    return _lstm(m, rng, 3, 1, 2, 4)


def lstm_batch_of_one(m, rng):
    return _lstm(m, rng, 1, 3, 4, 2)


# --- attention ----------------------------------------------------------------------------------


def _attention(m, rng, n, tq, tk, d, dv, mask=None, scale=1.0):
    q = rng.standard_normal((n, tq, d)) * scale
    k, v = rng.standard_normal((n, tk, d)), rng.standard_normal((n, tk, dv))
    out, attn = m.scaled_dot_product_attention(q, k, v, mask=mask)
    return out, attn, q, k, v, mask


def attention_no_mask(m, rng):
    return _attention(m, rng, 2, 3, 5, 4, 6)


def attention_square_default_mask(m, rng):
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    out, attn = m.scaled_dot_product_attention(q, k, v)
    return out, attn, q, k, v


def attention_causal_mask(m, rng):
    return _attention(m, rng, 2, 4, 4, 3, 2, mask=np.tril(np.ones((4, 4), dtype=bool)))


def attention_padding_mask(m, rng):
    mask = np.array([[[True, True, False, False, True]], [[True, False, True, True, True]]])
    return _attention(m, rng, 2, 3, 5, 2, 3, mask=mask)


def attention_query_with_no_key(m, rng):
    mask = np.array([[True, False, True], [False, False, False]])
    return _attention(m, rng, 1, 2, 3, 4, 2, mask=mask)


def _unit_rows(rng, shape):
    x = rng.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def attention_large_scores(m, rng):
    # Scores of magnitude ~1e3 (q . k / sqrt(d) with |q| = 2000, |k| = 1): exp overflows unless
    # each row is shifted by its own maximum.
    q, k = 2000 * _unit_rows(rng, (1, 3, 4)), _unit_rows(rng, (1, 4, 4))
    v = rng.standard_normal((1, 4, 2))
    out, attn = m.scaled_dot_product_attention(q, k, v)
    return out, attn, q, k, v


def attention_large_scores_masked(m, rng):
    q, k = 2000 * _unit_rows(rng, (2, 3, 4)), _unit_rows(rng, (2, 5, 4))
    v = rng.standard_normal((2, 5, 3))
    mask = np.array([[True, False, True, True, False], [False, True, True, False, True],
                     [True, True, True, True, True]])
    out, attn = m.scaled_dot_product_attention(q, k, v, mask=mask)
    return out, attn, q, k, v, mask


def attention_rows_of_different_scale(m, rng):
    # One query's scores near 1e3, the other's near 1: a shift shared by all rows underflows
    # the second row to zero.
    q = _unit_rows(rng, (1, 2, 4)) * np.array([[[2000.0], [2.0]]])
    k, v = _unit_rows(rng, (1, 3, 4)), rng.standard_normal((1, 3, 2))
    k[0, 0] = q[0, 0] / 2000.0  # the first query's best score is exactly 1000
    out, attn = m.scaled_dot_product_attention(q, k, v)
    return out, attn, q, k, v


def attention_one_dimension(m, rng):
    return _attention(m, rng, 3, 2, 4, 1, 1)


# --- PyTorch ------------------------------------------------------------------------------------


def _seed(rng):
    torch.manual_seed(int(rng.integers(2**31)))


def _observable(model):
    """What the contract lets a check see of a model: its mode, its parameters and buffers in
    order (not their names: how the layers are stored is free)."""
    return {"training": model.training,
            "parameters": [p.detach().clone() for p in model.parameters()],
            "buffers": [b.detach().clone() for b in model.buffers()]}


def _digits(rng, n):
    X = torch.tensor(rng.standard_normal((n, 1, 8, 8)), dtype=torch.float32)
    return X, torch.tensor(rng.integers(0, 10, n), dtype=torch.int64)


def small_cnn_default(m, rng):
    _seed(rng)
    model = m.SmallCNN()
    X, _ = _digits(rng, 3)
    return _observable(model), model(X), sum(p.numel() for p in model.parameters())


def small_cnn_three_classes(m, rng):
    _seed(rng)
    model = m.SmallCNN(n_classes=3).double()
    X = torch.tensor(rng.standard_normal((2, 1, 8, 8)))
    return _observable(model), model(X)


def fit_cnn_small(m, rng):
    X, y = _digits(rng, 70)  # more than one batch of 64
    model = m.fit_cnn(X.numpy(), y.numpy(), seed=1)
    with torch.no_grad():
        return _observable(model), model(X)


def _seq(m, rng, **kwargs):
    _seed(rng)
    model = m.SeqRegressor(**kwargs).double()
    x = torch.tensor(rng.standard_normal((2, 7, kwargs.get("input_size", 1))))
    return _observable(model), model(x)


def seq_regressor_default(m, rng):
    return _seq(m, rng)


def seq_regressor_rnn(m, rng):
    return _seq(m, rng, input_size=3, hidden=4, n_out=2, cell="RNN")


def seq_regressor_gru(m, rng):
    return _seq(m, rng, input_size=2, hidden=5, n_out=3, cell="GRU")


def seq_regressor_rejects_unknown_cell(m, rng):
    return m.SeqRegressor(cell="Transformer")


def fit_seq_regressor_small(m, rng):
    # More than one batch of 64; short series keep it fast; large targets make the gradient
    # norm exceed the clipping threshold.
    X = rng.standard_normal((70, 12, 1)).astype(np.float32)
    Y = 5 * rng.standard_normal((70, 10)).astype(np.float32)
    model = m.fit_seq_regressor(X, Y, seed=2)
    with torch.no_grad():
        return _observable(model), model(torch.from_numpy(X))


# --- the table ----------------------------------------------------------------------------------

CONV = [conv_defaults, conv_stride_and_pad, conv_stride_skips_rows, conv_batch_of_one_wide_pad,
        conv_one_by_one]
MAXPOOL = [maxpool_defaults, maxpool_overlapping, maxpool_ties, maxpool_overlapping_ties,
           maxpool_odd_sizes, maxpool_stride_beyond_kernel]
RNN_STEP = [rnn_step_random, rnn_step_batch_of_one, rnn_step_square]
RNN = [rnn_random, rnn_one_step, rnn_batch_of_one]
LSTM_STEP = [lstm_step_random, lstm_step_batch_of_one, lstm_step_square]
LSTM = [lstm_random, lstm_one_step, lstm_batch_of_one]

PROBES = {
    "conv2d_forward": CONV,
    "conv2d_backward": CONV,
    "maxpool2d_forward": MAXPOOL,
    "maxpool2d_backward": MAXPOOL,
    "rnn_step_forward": RNN_STEP,
    "rnn_step_backward": RNN_STEP,
    "rnn_forward": RNN,
    "rnn_backward": RNN,
    "lstm_step_forward": LSTM_STEP,
    "lstm_step_backward": LSTM_STEP,
    "lstm_forward": LSTM,
    "lstm_backward": LSTM,
    "scaled_dot_product_attention": [
        attention_no_mask, attention_square_default_mask, attention_causal_mask,
        attention_padding_mask, attention_query_with_no_key, attention_large_scores,
        attention_large_scores_masked, attention_rows_of_different_scale, attention_one_dimension],
    "SmallCNN": [small_cnn_default, small_cnn_three_classes],
    "fit_cnn": [fit_cnn_small],
    "SeqRegressor": [seq_regressor_default, seq_regressor_rnn, seq_regressor_gru,
                     seq_regressor_rejects_unknown_cell],
    "fit_seq_regressor": [fit_seq_regressor_small],
}
