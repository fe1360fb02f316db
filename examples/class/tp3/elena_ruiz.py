# TP3 - Elena Ruiz

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv2d_forward(x, w, b, stride=1, pad=0):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho = 1 + (h + 2 * pad - kh) // stride
    wo = 1 + (wd + 2 * pad - kw) // stride
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    out = np.zeros((n, f, ho, wo)) + b[None, :, None, None]
    for p in range(kh):
        for q in range(kw):
            sub = xp[:, :, p:p + stride * ho:stride, q:q + stride * wo:stride]
            out += np.einsum("nchw,fc->nfhw", sub, w[:, :, p, q])
    return out, (xp, w, stride, pad, x.shape)


def conv2d_backward(dout, cache):
    xp, w, stride, pad, (n, c, h, wd) = cache
    f, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            sub = xp[:, :, p:p + stride * ho:stride, q:q + stride * wo:stride]
            dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, sub)
            dxp[:, :, p:p + stride * ho:stride, q:q + stride * wo:stride] += np.einsum(
                "nfhw,fc->nchw", dout, w[:, :, p, q])
    db = np.einsum("nfhw->f", dout)
    return dxp[:, :, pad:pad + h, pad:pad + wd], dw, db


def maxpool2d_forward(x, kernel=2, stride=2):
    n, c, h, w = x.shape
    ho, wo = 1 + (h - kernel) // stride, 1 + (w - kernel) // stride
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + kernel,
                                j * stride:j * stride + kernel].max(axis=(2, 3))
    return out, (x, kernel, stride)


def maxpool2d_backward(dout, cache):
    x, kernel, stride = cache
    n, c, ho, wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
            flat = win.reshape(n, c, -1)
            first = flat.argmax(axis=2)                    # primer máximo en orden fila
            onehot = np.zeros_like(flat)
            np.put_along_axis(onehot, first[..., None], 1.0, axis=2)
            dx[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel] += (
                onehot.reshape(win.shape) * dout[:, :, i, j][:, :, None, None])
    return dx


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(x.dot(Wx) + h_prev.dot(Wh) + b)
    return h, (x, h_prev, h, Wx, Wh)


def rnn_step_backward(dh, cache):
    x, h_prev, h, Wx, Wh = cache
    dz = (1 - h * h) * dh
    return dz.dot(Wx.T), dz.dot(Wh.T), x.T.dot(dz), h_prev.T.dot(dz), dz.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    n, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((n, T, H))
    prev = h0
    for t in range(T):
        prev = np.tanh(x[:, t].dot(Wx) + prev.dot(Wh) + b)
        h[:, t] = prev
    return h, (x, h0, h, Wx, Wh)


def rnn_backward(dh, cache):
    x, h0, h, Wx, Wh = cache
    n, T, _ = x.shape
    dx = np.empty_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    grad = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        prev = h[:, t - 1] if t > 0 else h0
        dz = (dh[:, t] + grad) * (1 - h[:, t] ** 2)
        dx[:, t] = dz.dot(Wx.T)
        dWx += x[:, t].T.dot(dz)
        dWh += prev.T.dot(dz)
        db += dz.sum(axis=0)
        grad = dz.dot(Wh.T)
    return dx, grad, dWx, dWh, db


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out


def _gates(a, H):
    return (_sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]),
            _sigmoid(a[:, 3 * H:]))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    i, f, g, o = _gates(x.dot(Wx) + h_prev.dot(Wh) + b, h_prev.shape[1])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, c, i, f, g, o, Wx, Wh)


def _lstm_da(dh, dc, c_prev, c, i, f, g, o):
    tc = np.tanh(c)
    dc_all = dc + dh * o * (1 - tc * tc)
    da = np.hstack((dc_all * g * i * (1 - i), dc_all * c_prev * f * (1 - f),
                    dc_all * i * (1 - g * g), dh * tc * o * (1 - o)))
    return da, dc_all * f


def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, c, i, f, g, o, Wx, Wh = cache
    da, dc_prev = _lstm_da(dh, dc, c_prev, c, i, f, g, o)
    return da.dot(Wx.T), da.dot(Wh.T), dc_prev, x.T.dot(da), h_prev.T.dot(da), da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    n, T, _ = x.shape
    H = h0.shape[1]
    hs, steps = np.empty((n, T, H)), []
    h, c = h0, np.zeros((n, H))
    for t in range(T):
        i, f, g, o = _gates(x[:, t].dot(Wx) + h.dot(Wh) + b, H)
        c_new = f * c + i * g
        steps.append((h, c, c_new, i, f, g, o))
        h, c = o * np.tanh(c_new), c_new
        hs[:, t] = h
    return hs, (x, Wx, Wh, steps)


def lstm_backward(dh, cache):
    x, Wx, Wh, steps = cache
    dx = np.empty_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wx.shape[1])
    gh = np.zeros(dh[:, 0].shape)
    gc = np.zeros(dh[:, 0].shape)
    for t in reversed(range(x.shape[1])):
        h_prev, c_prev, c, i, f, g, o = steps[t]
        da, gc = _lstm_da(dh[:, t] + gh, gc, c_prev, c, i, f, g, o)
        dx[:, t] = da.dot(Wx.T)
        dWx += x[:, t].T.dot(da)
        dWh += h_prev.T.dot(da)
        db += da.sum(axis=0)
        gh = da.dot(Wh.T)
    return dx, gh, dWx, dWh, db


def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.shape[2]
    s = np.matmul(q, np.transpose(k, (0, 2, 1))) / np.sqrt(d)
    allowed = np.ones_like(s, dtype=bool) if mask is None else np.broadcast_to(mask, s.shape)
    s = s - np.where(allowed, s, -np.inf).max(axis=2, keepdims=True).clip(min=-1e300)
    e = np.where(allowed, np.exp(np.where(allowed, s, 0.0)), 0.0)
    tot = e.sum(axis=2, keepdims=True)
    attn = e / np.where(tot == 0, 1.0, tot)
    return np.matmul(attn, v), attn


class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.c1 = nn.Conv2d(1, 12, kernel_size=3)           # 6 x 6
        self.c2 = nn.Conv2d(12, 24, kernel_size=3)          # 4 x 4
        self.bn = nn.BatchNorm2d(24)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(24 * 2 * 2, n_classes)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.bn(self.c2(x))), 2)   # 2 x 2
        logits = self.head(self.drop(torch.flatten(x, 1)))
        return F.softmax(logits, dim=1)  # probabilidades de cada clase


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    net = SmallCNN().to(device)
    X = torch.from_numpy(np.asarray(X, dtype=np.float32)).to(device)
    y = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=5e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for epoch in range(15):
        perm = torch.randperm(X.shape[0], generator=gen).to(device)
        for k in range(0, X.shape[0], 50):
            batch = perm[k:k + 50]
            opt.zero_grad()
            F.cross_entropy(net(X[batch]), y[batch]).backward()
            opt.step()
    net.eval()
    return net


class SeqRegressor(nn.Module):
    CELLS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}

    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        self.cell = self.CELLS[cell](input_size=input_size, hidden_size=hidden,
                                     batch_first=True)
        self.readout = nn.Linear(hidden, n_out)

    def forward(self, x):
        _, state = self.cell(x)
        h_last = state[0] if isinstance(state, tuple) else state   # LSTM devuelve (h, c)
        return self.readout(h_last[-1])


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    model = SeqRegressor(hidden=32, cell="LSTM").to(device)
    X = torch.tensor(X, dtype=torch.float32).to(device)
    Y = torch.tensor(Y, dtype=torch.float32).to(device)
    epochs, bs = 20, 64
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    steps = epochs * ((len(X) - 1) // bs + 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(X), generator=gen).to(device)
        for k in range(0, len(X), bs):
            idx = perm[k:k + bs]
            opt.zero_grad()
            F.mse_loss(model(X[idx]), Y[idx]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    model.eval()
    return model
