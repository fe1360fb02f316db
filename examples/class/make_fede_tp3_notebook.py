"""Builds ``tp3/fede_gomez.ipynb``: a correct TP3 handed in as a Colab-style notebook.

The notebook's cells are written below (``CELLS``), so the example can be read and edited as
text. It looks like what students export from Colab: a ``!pip install`` cell, a ``%matplotlib
inline`` cell, Spanish markdown between the exercises, a light self-test at top level (no
training: every code cell runs each time the notebook is graded) and prints. The grader comments
out the ``!`` and ``%`` lines and runs the code cells in order as one module.

Usage (from the repository root)::

    .venv/bin/python examples/class/make_fede_tp3_notebook.py          # writes the notebook
    .venv/bin/python examples/class/make_fede_tp3_notebook.py --check  # exit 1 if out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).resolve().parent / "tp3" / "fede_gomez.ipynb"

# (kind, source) in notebook order; kind is "md" or "code".
CELLS: list[tuple[str, str]] = [
    ("md", """\
# TP3 — CNN, RNN y atención

**Federico Gómez** · Aprendizaje Profundo

Convolución y pooling con `sliding_window_view`, RNN y LSTM con BPTT, atención con máscara, y
la parte de PyTorch."""),
    ("code", "!pip install torch scikit-learn"),
    ("code", """\
%matplotlib inline
import numpy as np
import torch
from torch import nn
from numpy.lib.stride_tricks import sliding_window_view"""),
    ("md", """\
## 1. Convolución

Con `sliding_window_view` saco todas las ventanas de $x_p$ y me quedo con una cada `stride`:
$out_{nfij} = b_f + \\sum_{c,p,q} V_{ncij\\,pq}\\, w_{fcpq}$."""),
    ("code", """\
def conv2d_forward(x, w, b, stride=1, pad=0):
    F_, C, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    V = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("ncijpq,fcpq->nfij", V, w) + b[:, None, None]
    return out, (x.shape, xp, V, w, stride, pad)


def conv2d_backward(dout, cache):
    x_shape, xp, V, w, stride, pad = cache
    N, C, H, W = x_shape
    HH, WW = w.shape[2:]
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfij,ncijpq->fcpq", dout, V)
    dV = np.einsum("nfij,fcpq->ncijpq", dout, w)
    dxp = np.zeros_like(xp)
    Ho, Wo = dout.shape[2:]
    for p in range(HH):
        for q in range(WW):
            dxp[:, :, p:p + stride * (Ho - 1) + 1:stride,
                q:q + stride * (Wo - 1) + 1:stride] += dV[..., p, q]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db"""),
    ("md", """\
## 2. Max pooling

El backward manda el gradiente al primer máximo de cada ventana (`argmax` sobre la ventana
aplanada) y acumula con `np.add.at` cuando las ventanas se pisan."""),
    ("code", """\
def maxpool2d_forward(x, kernel=2, stride=2):
    V = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    flat = V.reshape(V.shape[:4] + (-1,))
    idx = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    return out, (x.shape, idx, kernel, stride)


def maxpool2d_backward(dout, cache):
    shape, idx, k, s = cache
    dx = np.zeros(shape)
    n, c, i, j = np.meshgrid(*[np.arange(m) for m in dout.shape], indexing="ij")
    np.add.at(dx, (n, c, i * s + idx // k, j * s + idx % k), dout)
    return dx"""),
    ("md", """\
## 3 y 4. RNN

$h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)$. En el BPTT el gradiente de $h_t$ es el de afuera más
el que vuelve de $t+1$."""),
    ("code", """\
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1 - h * h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(0)


def rnn_forward(x, h0, Wx, Wh, b):
    h, caches = h0, []
    out = []
    for t in range(x.shape[1]):
        h, cache = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        out.append(h)
        caches.append(cache)
    return np.stack(out, 1), caches


def rnn_backward(dh, cache):
    grads = [0.0, 0.0, 0.0]
    dxs, carry = [], 0.0
    for t in reversed(range(dh.shape[1])):
        dx, carry, *g = rnn_step_backward(dh[:, t] + carry, cache[t])
        dxs.append(dx)
        grads = [a + b for a, b in zip(grads, g)]
    return (np.stack(dxs[::-1], 1), carry, *grads)"""),
    ("md", """\
## 5 y 6. LSTM

Orden de PyTorch: $i, f, g, o$. $c = f c_{prev} + i g$, $h = o \\tanh(c)$."""),
    ("code", """\
def _sigmoid(a):
    return np.where(a >= 0, 1 / (1 + np.exp(-np.abs(a))), np.exp(-np.abs(a)) / (1 + np.exp(-np.abs(a))))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    a = x @ Wx + h_prev @ Wh + b
    H = h_prev.shape[1]
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, c)


def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, c = cache
    t = np.tanh(c)
    dct = dc + dh * o * (1 - t ** 2)
    da = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f),
                         dct * i * (1 - g ** 2), dh * t * o * (1 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dct * f, x.T @ da, h_prev.T @ da, da.sum(0)


def lstm_forward(x, h0, Wx, Wh, b):
    h, c, hs, caches = h0, np.zeros_like(h0), [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, 1), caches


def lstm_backward(dh, cache):
    grads = [0.0, 0.0, 0.0]
    dxs, gh, gc = [], 0.0, np.zeros_like(dh[:, 0])
    for t in reversed(range(dh.shape[1])):
        dx, gh, gc, *g = lstm_step_backward(dh[:, t] + gh, gc, cache[t])
        dxs.append(dx)
        grads = [a + b for a, b in zip(grads, g)]
    return (np.stack(dxs[::-1], 1), gh, *grads)"""),
    ("md", """\
## 7. Atención

$\\mathrm{softmax}(q k^T / \\sqrt{d})\\, v$, con la máscara antes del softmax. Si una consulta no
puede mirar nada, le dejo ceros."""),
    ("code", """\
def scaled_dot_product_attention(q, k, v, mask=None):
    s = q @ k.swapaxes(1, 2) / np.sqrt(q.shape[-1])
    ok = np.ones(s.shape, bool) if mask is None else np.broadcast_to(mask, s.shape)
    s = np.where(ok, s, -np.inf)
    top = np.max(s, axis=-1, keepdims=True)
    e = np.where(ok, np.exp(s - np.where(ok.any(-1, keepdims=True), top, 0.0)), 0.0)
    z = e.sum(-1, keepdims=True)
    attn = e / np.where(z > 0, z, 1.0)
    return attn @ v, attn"""),
    ("code", """\
# prueba rápida: máscara causal
_q = np.random.default_rng(0).normal(size=(1, 3, 4))
_o, _a = scaled_dot_product_attention(_q, _q, _q, np.tril(np.ones((3, 3), bool)))
print(_a.round(2))"""),
    ("md", """\
## 8 a 11. PyTorch"""),
    ("code", """\
class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(32 * 16, 64), nn.ReLU(),
                                  nn.Linear(64, n_classes))

    def forward(self, x):
        return self.body(x)


def fit_cnn(X, y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    model = SmallCNN().to(device)
    X, y = torch.as_tensor(X).to(device), torch.as_tensor(y).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(12):
        for idx in torch.randperm(len(X)).split(32):
            idx = idx.to(device)
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
    return model.eval()"""),
    ("code", """\
class SeqRegressor(nn.Module):
    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        self.rnn = getattr(nn, cell)(input_size, hidden, batch_first=True)
        self.lin = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.lin(self.rnn(x)[0][:, -1])


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    torch.manual_seed(seed)
    model = SeqRegressor(cell="GRU").to(device)
    X, Y = torch.as_tensor(X).to(device), torch.as_tensor(Y).to(device)
    epochs = 20
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.02, total_steps=epochs * 32)
    for epoch in range(epochs):
        for idx in torch.randperm(len(X)).chunk(32):
            idx = idx.to(device)
            opt.zero_grad()
            nn.functional.mse_loss(model(X[idx]), Y[idx]).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    return model.eval()"""),
    ("code", """\
print("listo:", SmallCNN()(torch.zeros(2, 1, 8, 8)).shape, SeqRegressor()(torch.zeros(2, 50, 1)).shape)"""),
]


def build() -> nbformat.NotebookNode:
    cells = [new_markdown_cell(src, id=f"c{i}") if kind == "md" else
             new_code_cell(src, id=f"c{i}") for i, (kind, src) in enumerate(CELLS)]
    notebook = new_notebook(cells=cells, metadata={
        "colab": {"provenance": []},
        "kernelspec": {"display_name": "Python 3", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the notebook is not what CELLS generates")
    args = parser.parse_args(argv)
    text = nbformat.writes(build()) + "\n"
    if args.check:
        current = NOTEBOOK.read_text(encoding="utf-8") if NOTEBOOK.is_file() else ""
        if current != text:
            print(f"{NOTEBOOK.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK.name} is up to date")
        return 0
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
