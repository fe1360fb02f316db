"""TP3: CNN, RNN y atención (solución de referencia del curso).

Implementa cada nombre del contrato de TP3 (``/spec/tps.md``). La parte numpy: convolución 2D y
max pooling con su backward, la celda RNN y la RNN sobre una secuencia con BPTT, la celda LSTM y
la LSTM sobre una secuencia, y la atención de producto escalar escalado. La parte PyTorch: una CNN
chica para los dígitos 8x8 y un regresor de secuencias con celda RNN, LSTM o GRU, cada uno con su
función de entrenamiento.

Convenciones: batch primero, float64 entra y float64 sale en la parte numpy, ningún argumento
array se modifica, y la aleatoriedad sale solo del argumento ``seed``.
"""
# CANARY-REFERENCE-TP3-b41d: the course's reference solution; never ship to students.

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# Convolución y pooling
# ---------------------------------------------------------------------------------------------


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Correlación cruzada 2D (como ``F.conv2d``, sin dar vuelta el kernel).

    ``out[n, f, i, j] = b[f] + sum_{c, p, q} xp[n, c, i*stride + p, j*stride + q] * w[f, c, p, q]``
    con ``xp`` la entrada con ``pad`` ceros de cada lado en alto y ancho.

    Args:
        x: ``(N, C, H, W)``; w: ``(F, C, HH, WW)``; b: ``(F,)``.

    Returns:
        ``(out, cache)`` con ``out (N, F, H', W')``, ``H' = 1 + (H + 2 pad - HH) // stride``.
    """
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out = 1 + (h + 2 * pad - hh) // stride
    w_out = 1 + (wd + 2 * pad - ww) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, f, h_out, w_out), dtype=np.result_type(x, w, b))
    # One product per kernel offset (p, q): the strided slice holds, for every output position,
    # the input value that meets w[:, :, p, q].
    for p in range(hh):
        for q in range(ww):
            patch = xp[:, :, p:p + stride * (h_out - 1) + 1:stride,
                       q:q + stride * (w_out - 1) + 1:stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    out += b[None, :, None, None]
    return out, (x.shape, xp, w, stride, pad)


def conv2d_backward(dout, cache):
    """Gradientes de la convolución: ``(dx, dw, db)`` con las formas de ``x``, ``w`` y ``b``.

    Cada posición de la entrada recibe la suma de lo que aportó a todas las ventanas que la
    contienen (las ventanas se superponen cuando ``stride < HH``).
    """
    x_shape, xp, w, stride, pad = cache
    _, _, h, wd = x_shape
    _, _, hh, ww = w.shape
    _, _, h_out, w_out = dout.shape
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for p in range(hh):
        for q in range(ww):
            rows = slice(p, p + stride * (h_out - 1) + 1, stride)
            cols = slice(q, q + stride * (w_out - 1) + 1, stride)
            dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + h, pad:pad + wd]
    return dx, dw, db


def _windows(x, kernel, stride):
    """Las ventanas del pooling, ``(N, C, H', W', kernel * kernel)`` en orden fila por fila."""
    _, _, h, wd = x.shape
    h_out = 1 + (h - kernel) // stride
    w_out = 1 + (wd - kernel) // stride
    parts = [x[:, :, p:p + stride * (h_out - 1) + 1:stride, q:q + stride * (w_out - 1) + 1:stride]
             for p in range(kernel) for q in range(kernel)]
    return np.stack(parts, axis=-1)


def maxpool2d_forward(x, kernel=2, stride=2):
    """Max pooling sin padding: ``H' = 1 + (H - kernel) // stride`` (como ``F.max_pool2d``).

    Returns:
        ``(out, cache)`` con ``out (N, C, H', W')``.
    """
    windows = _windows(x, kernel, stride)
    # argmax returns the first maximum in row-major order: that is the contract's tie rule.
    arg = windows.argmax(axis=-1)
    out = np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, arg, kernel, stride)


def maxpool2d_backward(dout, cache):
    """El gradiente de cada ventana va solo a su máximo (el primero, si hay empate); las
    ventanas superpuestas acumulan."""
    x_shape, arg, kernel, stride = cache
    n, c, h_out, w_out = dout.shape
    dx = np.zeros(x_shape, dtype=dout.dtype)
    rows = (np.arange(h_out) * stride)[None, None, :, None] + arg // kernel
    cols = (np.arange(w_out) * stride)[None, None, None, :] + arg % kernel
    nn_idx = np.arange(n)[:, None, None, None]
    cc_idx = np.arange(c)[None, :, None, None]
    np.add.at(dx, (np.broadcast_to(nn_idx, arg.shape), np.broadcast_to(cc_idx, arg.shape),
                   rows, cols), dout)
    return dx


# ---------------------------------------------------------------------------------------------
# RNN
# ---------------------------------------------------------------------------------------------


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """Un paso de la RNN: ``h = tanh(x @ Wx + h_prev @ Wh + b)``.

    Args:
        x: ``(N, D)``; h_prev: ``(N, H)``; Wx: ``(D, H)``; Wh: ``(H, H)``; b: ``(H,)``.
    """
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """Gradientes de un paso: ``da = dh * (1 - h**2)`` y de ahí ``dx, dh_prev, dWx, dWh, db``."""
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1.0 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """La RNN sobre toda la secuencia ``x (N, T, D)``: devuelve ``h (N, T, H)`` y el cache."""
    n, t_len, _ = x.shape
    h = np.zeros((n, t_len, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    caches = []
    prev = h0
    for t in range(t_len):
        prev, step = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        h[:, t] = prev
        caches.append(step)
    return h, caches


def rnn_backward(dh, cache):
    """BPTT: el gradiente que llega a ``h_t`` es ``dh[:, t]`` más el que vuelve desde ``t + 1``.

    Returns:
        ``(dx, dh0, dWx, dWh, db)``; los gradientes de los pesos se suman sobre los pasos.
    """
    caches = cache
    x0, h_prev0, Wx, Wh, _ = caches[0]
    n, t_len, _ = dh.shape
    dx = np.zeros((n, t_len, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = np.zeros(Wh.shape[0], dtype=dh.dtype)
    carry = np.zeros_like(h_prev0)
    for t in reversed(range(t_len)):
        dx[:, t], carry, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + carry, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, carry, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------------------------


def _sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """Un paso de la LSTM con las compuertas en el orden de PyTorch: ``i, f, g, o``.

    ``a = x @ Wx + h_prev @ Wh + b`` se parte en cuatro bloques de ``H`` columnas;
    ``c = f * c_prev + i * g`` y ``h = o * tanh(c)``.
    """
    hidden = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i = _sigmoid(a[:, :hidden])
    f = _sigmoid(a[:, hidden:2 * hidden])
    g = np.tanh(a[:, 2 * hidden:3 * hidden])
    o = _sigmoid(a[:, 3 * hidden:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc)


def lstm_step_backward(dh, dc, cache):
    """Gradientes de un paso: ``(dx, dh_prev, dc_prev, dWx, dWh, db)``.

    ``dc`` total = ``dc`` que llega + ``dh * o * (1 - tanh(c)**2)``; no se modifica ``dc``.
    """
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc = cache
    dc_total = dc + dh * o * (1.0 - tc * tc)
    da = np.concatenate([
        dc_total * g * i * (1.0 - i),
        dc_total * c_prev * f * (1.0 - f),
        dc_total * i * (1.0 - g * g),
        dh * tc * o * (1.0 - o),
    ], axis=1)
    return (da @ Wx.T, da @ Wh.T, dc_total * f, x.T @ da, h_prev.T @ da, da.sum(axis=0))


def lstm_forward(x, h0, Wx, Wh, b):
    """La LSTM sobre ``x (N, T, D)`` desde ``h0`` y ``c0 = 0``; devuelve ``h (N, T, H)``."""
    n, t_len, _ = x.shape
    h = np.zeros((n, t_len, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    prev_h, prev_c = h0, np.zeros_like(h0)
    caches = []
    for t in range(t_len):
        prev_h, prev_c, step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step)
    return h, caches


def lstm_backward(dh, cache):
    """BPTT de la LSTM: ``dh`` y ``dc`` se arrastran de ``t + 1`` a ``t``.

    Returns:
        ``(dx, dh0, dWx, dWh, db)``.
    """
    caches = cache
    x0, h_prev0, _, Wx, Wh = caches[0][:5]
    n, t_len, _ = dh.shape
    dx = np.zeros((n, t_len, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = np.zeros(Wx.shape[1], dtype=dh.dtype)
    carry_h, carry_c = np.zeros_like(h_prev0), np.zeros_like(h_prev0)
    for t in reversed(range(t_len)):
        dx[:, t], carry_h, carry_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + carry_h, carry_c, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, carry_h, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# Atención
# ---------------------------------------------------------------------------------------------


def scaled_dot_product_attention(q, k, v, mask=None):
    """Atención ``softmax(q k^T / sqrt(d)) v`` con máscara opcional.

    Args:
        q: ``(N, Tq, d)``; k: ``(N, Tk, d)``; v: ``(N, Tk, dv)``.
        mask: booleano que se puede difundir a ``(N, Tq, Tk)``; ``True`` = puede atender.

    Returns:
        ``(out, attn)`` con ``out (N, Tq, dv)`` y ``attn (N, Tq, Tk)``. Una consulta sin
        ninguna clave permitida recibe pesos y salida en cero.
    """
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    allowed = np.ones(scores.shape, dtype=bool) if mask is None else np.broadcast_to(
        np.asarray(mask, dtype=bool), scores.shape)
    masked = np.where(allowed, scores, -np.inf)
    top = masked.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(allowed, np.exp(masked - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    attn = e / np.where(total > 0, total, 1.0)
    return attn @ v, attn


# ---------------------------------------------------------------------------------------------
# PyTorch: CNN para los dígitos
# ---------------------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    """conv 3x3 (16) - ReLU - conv 3x3 (32) - ReLU - maxpool 2 - lineal 64 - ReLU - lineal.

    Entrada ``(N, 1, 8, 8)``; salida: logits ``(N, n_classes)`` (sin softmax).
    """

    def __init__(self, n_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def _fit(model, X, Y, loss_fn, *, epochs, batch_size, lr, seed, device, clip=None):
    """Adam con tasa de aprendizaje de un ciclo (sube y baja) sobre minibatches barajados."""
    generator = torch.Generator().manual_seed(seed)
    X, Y = X.to(device), Y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(X) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(device)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            schedule.step()
    model.eval()
    return model


def fit_cnn(X, y, *, seed=0, device="cpu"):
    """Entrena una ``SmallCNN`` con Adam y entropía cruzada; la devuelve en modo eval."""
    torch.manual_seed(seed)
    model = SmallCNN().to(device)
    X = torch.as_tensor(X, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    return _fit(model, X, y, nn.functional.cross_entropy, epochs=12, batch_size=64, lr=3e-3,
                seed=seed, device=device)


# ---------------------------------------------------------------------------------------------
# PyTorch: regresor de secuencias
# ---------------------------------------------------------------------------------------------


class SeqRegressor(nn.Module):
    """Una capa recurrente (``nn.RNN``, ``nn.LSTM`` o ``nn.GRU``, batch first) y una lineal que
    predice ``n_out`` valores desde el último estado oculto."""

    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        cells = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
        if cell not in cells:
            raise ValueError(f"cell debe ser 'RNN', 'LSTM' o 'GRU'; llegó {cell!r}")
        self.rnn = cells[cell](input_size, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    """Entrena un ``SeqRegressor`` (LSTM) con Adam y MSE; lo devuelve en modo eval."""
    torch.manual_seed(seed)
    model = SeqRegressor(cell="LSTM").to(device)
    X = torch.as_tensor(X, dtype=torch.float32)
    Y = torch.as_tensor(Y, dtype=torch.float32)
    return _fit(model, X, Y, nn.functional.mse_loss, epochs=20, batch_size=64, lr=2e-2,
                seed=seed, device=device, clip=1.0)
