"""TP3 - Diego Martín (armado a partir de los apuntes de la clase 5 y 6)."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


# ---------------------------------------------------------------- convolución (im2col)

def _im2col(xp, HH, WW, stride, H_out, W_out):
    """Columnas (N, H_out, W_out, C * HH * WW) con cada ventana aplanada como w[f]."""
    N, C = xp.shape[:2]
    cols = np.empty((N, H_out, W_out, C, HH, WW))
    for i in range(H_out):
        for j in range(W_out):
            cols[:, i, j] = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
    return cols.reshape(N, H_out, W_out, -1)


def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    cols = _im2col(xp, HH, WW, stride, H_out, W_out)
    out = cols @ w.reshape(F, -1).T + b                   # (N, H_out, W_out, F)
    cache = {"x_shape": x.shape, "xp_shape": xp.shape, "cols": cols, "w": w,
             "stride": stride, "pad": pad}
    return out.transpose(0, 3, 1, 2), cache


def conv2d_backward(dout, cache):
    w, stride, pad = cache["w"], cache["stride"], cache["pad"]
    N, C, H, W = cache["x_shape"]
    F, _, HH, WW = w.shape
    d = dout.transpose(0, 2, 3, 1)                          # (N, H_out, W_out, F)
    db = d.sum(axis=(0, 1, 2))
    dw = np.tensordot(d, cache["cols"], axes=([0, 1, 2], [0, 1, 2])).reshape(w.shape)
    dcols = (d @ w.reshape(F, -1)).reshape(d.shape[:3] + (C, HH, WW))
    dxp = np.zeros(cache["xp_shape"])
    for i in range(d.shape[1]):
        for j in range(d.shape[2]):
            dxp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dcols[:, i, j]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


# ---------------------------------------------------------------- max pooling

def maxpool2d_forward(x, kernel=2, stride=2):
    N, C, H, W = x.shape
    H_out, W_out = (H - kernel) // stride + 1, (W - kernel) // stride + 1
    windows = np.stack([x[:, :, p:p + stride * H_out:stride, q:q + stride * W_out:stride]
                        for p in range(kernel) for q in range(kernel)], axis=-1)
    windows = windows[:, :, :H_out, :W_out]
    arg = windows.argmax(axis=-1)                          # primer máximo, fila por fila
    out = np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, arg, kernel, stride)


def maxpool2d_backward(dout, cache):
    shape, arg, kernel, stride = cache
    dx = np.zeros(shape)
    N, C, H_out, W_out = dout.shape
    n, c, i, j = np.indices((N, C, H_out, W_out))
    rows = i * stride + arg // kernel
    cols = j * stride + arg % kernel
    np.add.at(dx, (n, c, rows, cols), dout)
    return dx


# ---------------------------------------------------------------- RNN

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "h": h}


def rnn_step_backward(dh, cache):
    da = dh * (1.0 - cache["h"] ** 2)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da,
            cache["h_prev"].T @ da, da.sum(0))


def rnn_forward(x, h0, Wx, Wh, b):
    hs, caches, h = [], [], h0
    for t in range(x.shape[1]):
        h, c = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        hs.append(h)
        caches.append(c)
    return np.stack(hs, axis=1), caches


def rnn_backward(dh, cache):
    T = dh.shape[1]
    dxs = [None] * T
    dWx = dWh = db = 0.0
    dnext = np.zeros_like(dh[:, 0])
    for t in range(T - 1, -1, -1):
        dx_t, dnext, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dnext, cache[t])
        dxs[t] = dx_t
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    return np.stack(dxs, axis=1), dnext, dWx, dWh, db


# ---------------------------------------------------------------- LSTM

def _sig(z):
    return np.exp(-np.logaddexp(0.0, -z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    ai, af, ag, ao = np.split(a, 4, axis=1)
    i, f, g, o = _sig(ai), _sig(af), np.tanh(ag), _sig(ao)
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    assert h.shape[1] == H
    return h, c, dict(x=x, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh, i=i, f=f, g=g, o=o, tc=tc)


def lstm_step_backward(dh, dc, cache):
    i, f, g, o, tc = cache["i"], cache["f"], cache["g"], cache["o"], cache["tc"]
    dct = dc + dh * o * (1 - tc ** 2)
    da = np.concatenate([dct * g * i * (1 - i), dct * cache["c_prev"] * f * (1 - f),
                         dct * i * (1 - g ** 2), dh * tc * o * (1 - o)], axis=1)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, dct * f, cache["x"].T @ da,
            cache["h_prev"].T @ da, da.sum(0))


def lstm_forward(x, h0, Wx, Wh, b):
    h, c = h0, np.zeros_like(h0)
    hs, caches = [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


def lstm_backward(dh, cache):
    T = dh.shape[1]
    dxs = [None] * T
    dWx, dWh, db = 0.0, 0.0, 0.0
    dh_next = np.zeros_like(dh[:, 0])
    dc_next = np.zeros_like(dh[:, 0])
    for t in range(T - 1, -1, -1):
        dxs[t], dh_next, dc_next, a, bb, cc = lstm_step_backward(dh[:, t] + dh_next, dc_next,
                                                                 cache[t])
        dWx, dWh, db = dWx + a, dWh + bb, db + cc
    return np.stack(dxs, axis=1), dh_next, dWx, dWh, db


# ---------------------------------------------------------------- atención

def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.shape[-1]
    scores = np.einsum("nqd,nkd->nqk", q, k) / d  # escalo por la dimensión
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    m = np.max(scores, axis=-1, keepdims=True)
    m = np.where(np.isneginf(m), 0.0, m)
    e = np.exp(scores - m)
    s = e.sum(axis=-1, keepdims=True)
    attn = np.divide(e, s, out=np.zeros_like(e), where=s > 0)
    return attn @ v, attn


# ---------------------------------------------------------------- PyTorch

class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 4 x 4
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 2 x 2
            nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Linear(128, n_classes))

    def forward(self, x):
        return self.net(x)


def _train(model, loader, loss_fn, epochs, lr, device):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    model.eval()
    return model


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    data = TensorDataset(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y))
    loader = DataLoader(data, batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model = SmallCNN().to(device)
    return _train(model, loader, nn.CrossEntropyLoss(), epochs=8, lr=1e-3, device=device)


class SeqRegressor(nn.Module):
    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        if cell == "RNN":
            self.rnn = nn.RNN(input_size, hidden, batch_first=True)
        elif cell == "LSTM":
            self.rnn = nn.LSTM(input_size, hidden, batch_first=True)
        elif cell == "GRU":
            self.rnn = nn.GRU(input_size, hidden, batch_first=True)
        else:
            raise ValueError(cell)
        self.fc = nn.Linear(hidden, n_out)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    data = TensorDataset(torch.as_tensor(X), torch.as_tensor(Y))
    loader = DataLoader(data, batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model = SeqRegressor(cell="GRU").to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20 * len(loader))
    for _ in range(20):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            nn.functional.mse_loss(model(xb), yb).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    return model.eval()
