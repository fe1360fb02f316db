"""TP3 de Carla López: CNN, RNN y atención."""

import numpy as np
import torch
from torch import nn


def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    kernel = w
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, kernel, axes=([1, 2, 3], [1, 2, 3]))
    out += b.reshape(1, F, 1, 1)
    return out, (x, w, b, stride, pad)


def conv2d_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            r, s = i * stride, j * stride
            window = xp[:, :, r:r + HH, s:s + WW]
            dw += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
            dxp[:, :, r:r + HH, s:s + WW] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:-pad, pad:-pad]  # saco el padding
    return dx, dw, db


def maxpool2d_forward(x, kernel=2, stride=2):
    N, C, H, W = x.shape
    H_out = 1 + (H - kernel) // stride
    W_out = 1 + (W - kernel) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, kernel, stride)


def maxpool2d_backward(dout, cache):
    x, kernel, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    r, s = i * stride, j * stride
                    window = x[n, c, r:r + kernel, s:s + kernel]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, r + p, s + q] += dout[n, c, i, j]
    return dx


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1 - h ** 2)
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dWx = x.T @ da
    dWh = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches = []
    prev = h0
    for t in range(T):
        prev, cache_t = rnn_step_forward(x[:, t, :], prev, Wx, Wh, b)
        h[:, t, :] = prev
        caches.append(cache_t)
    return h, caches


def rnn_backward(dh, cache):
    N, T, Hd = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, Hd))
    dWh = np.zeros((Hd, Hd))
    db = np.zeros(Hd)
    dprev = np.zeros((N, Hd))
    for t in reversed(range(T)):
        step = rnn_step_backward(dh[:, t, :] + dprev, cache[t])
        dx[:, t, :], dprev = step[0], step[1]
        dWx += step[2]
        dWh += step[3]
        db += step[4]
    dh0 = dprev
    return dx, dh0, dWx, dWh, db


def sigmoid(z):
    # forma estable: tanh no desborda
    return 0.5 * (1 + np.tanh(0.5 * z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    Hd = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i = sigmoid(a[:, :Hd])
    f = sigmoid(a[:, Hd:2 * Hd])
    g = np.tanh(a[:, 2 * Hd:3 * Hd])
    o = sigmoid(a[:, 3 * Hd:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, c)


def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, c = cache
    tc = np.tanh(c)
    dc_total = dc + dh * o * (1 - tc ** 2)
    di = dc_total * g
    df = dc_total * c_prev
    dg = dc_total * i
    do = dh * tc
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)])
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dc_prev = dc_total * f
    dWx = x.T @ da
    dWh = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, np.zeros_like(h0)
    caches = []
    for t in range(T):
        prev_h, prev_c, cache_t = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(cache_t)
    return h, caches


def lstm_backward(dh, cache):
    N, T, Hd = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 4 * Hd))
    dWh = np.zeros((Hd, 4 * Hd))
    db = np.zeros(4 * Hd)
    dnext_h = np.zeros((N, Hd))
    dnext_c = np.zeros((N, Hd))
    for t in reversed(range(T)):
        dh_t = dh[:, t, :] + dnext_h
        dx[:, t, :], dnext_h, dnext_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh_t, dnext_c, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dnext_h, dWx, dWh, db


def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.shape[-1]
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    if mask is None:
        mask = np.ones(scores.shape, dtype=bool)
    mask = np.broadcast_to(mask, scores.shape)
    scores = np.where(mask, scores, -np.inf)
    row_max = scores.max(axis=-1, keepdims=True)
    row_max[~np.isfinite(row_max)] = 0.0
    weights = np.exp(scores - row_max)
    total = weights.sum(axis=-1, keepdims=True)
    attn = weights / np.maximum(total, 1e-300)
    out = attn @ v
    return out, attn


class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, n_classes)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        logits = self.fc2(x)
        return logits


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    model = SmallCNN().to(device)
    X = torch.tensor(X, dtype=torch.float32, device=device)
    y = torch.tensor(y, dtype=torch.long, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    epochs = 10
    for _ in range(epochs):
        order = torch.randperm(len(X), device=device)
        for start in range(0, len(X), 64):
            idx = order[start:start + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
    return model.eval()


class SeqRegressor(nn.Module):
    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        layer = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[cell]
        self.rnn = layer(input_size, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x):
        states, _ = self.rnn(x)
        return self.out(states[:, -1, :])


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    model = SeqRegressor().to(device)
    X = torch.tensor(X, dtype=torch.float32, device=device)
    Y = torch.tensor(Y, dtype=torch.float32, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    epochs = 20
    batches = (len(X) + 63) // 64
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2,
                                                   total_steps=epochs * batches)
    for _ in range(epochs):
        order = torch.randperm(len(X), device=device)
        for start in range(0, len(X), 64):
            idx = order[start:start + 64]
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    return model.eval()
