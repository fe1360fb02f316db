"""Builds ``tp1/fede_gomez.ipynb``: a correct TP1 handed in as a Colab-style notebook.

The notebook's cells are written below (``CELLS``), so the example can be read and edited as
text. It looks like what students export from Colab: a ``!pip install`` cell, a ``%matplotlib
inline`` cell, Spanish markdown between the exercises, light self-tests at top level and a last
cell that trains XOR and prints the result. The grader comments out the ``!`` and ``%`` lines and
runs the code cells in order as one module.

Usage (from the repository root)::

    .venv/bin/python examples/class/make_fede_notebook.py          # writes the notebook
    .venv/bin/python examples/class/make_fede_notebook.py --check  # exit 1 if out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).resolve().parent / "tp1" / "fede_gomez.ipynb"

# (kind, source) in notebook order; kind is "md" or "code".
CELLS: list[tuple[str, str]] = [
    ("md", """\
# TP1 — Redes feed-forward desde cero

**Federico Gómez** · Aprendizaje Profundo

Implementación en numpy de las capas, pérdidas, optimizadores, un MLP y la red de XOR."""),
    ("code", "!pip install numpy"),
    ("code", """\
%matplotlib inline
import numpy as np"""),
    ("md", """\
## 1. Capa lineal

$out = xW + b$. Para el backward: $dx = dout\\,W^T$, $dW = x^T dout$ y $db$ es la suma de
$dout$ sobre el batch."""),
    ("code", """\
def linear_forward(x, W, b):
    out = x.dot(W) + b
    return out, (x, W, b)


def linear_backward(dout, cache):
    x, W, b = cache
    dx = dout.dot(W.T)
    dW = x.T.dot(dout)
    db = dout.sum(axis=0)
    return dx, dW, db"""),
    ("code", """\
# chequeo rápido con gradiente numérico
def grad_numerico(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp = x.copy(); xp[i] += h
        xm = x.copy(); xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


_r = np.random.default_rng(0)
_x, _W, _b = _r.normal(size=(3, 4)), _r.normal(size=(4, 2)), _r.normal(size=2)
_d = _r.normal(size=(3, 2))
_dx, _dW, _db = linear_backward(_d, linear_forward(_x, _W, _b)[1])
_num = grad_numerico(lambda W: (linear_forward(_x, W, _b)[0] * _d).sum(), _W)
print("error dW:", np.abs(_dW - _num).max())"""),
    ("md", """\
## 2. Activaciones

ReLU, leaky ReLU, sigmoide (estable: nunca hago `exp` de algo positivo) y tanh. En el cache
guardo lo mínimo que necesita el backward."""),
    ("code", """\
def relu_forward(x):
    return np.where(x > 0, x, 0.0), x > 0


def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)


def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x), (x > 0, alpha)


def leaky_relu_backward(dout, cache):
    pos, alpha = cache
    return np.where(pos, dout, alpha * dout)"""),
    ("code", """\
def sigmoide(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x):
    s = sigmoide(x)
    return s, s


def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)


def tanh_forward(x):
    t = np.tanh(x)
    return t, t


def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)


print(sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))[0])"""),
    ("md", """\
## 3. Softmax y pérdidas

Softmax restando el máximo de cada fila. Entropía cruzada con log-sum-exp, BCE con la forma
estable $\\max(z,0) - zy + \\log(1 + e^{-|z|})$ y MSE. Todas promedian (como `reduction="mean"`)."""),
    ("code", """\
def softmax(scores):
    ex = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return ex / ex.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    mx = scores.max(axis=1, keepdims=True)
    lse = mx + np.log(np.exp(scores - mx).sum(axis=1, keepdims=True))
    loss = (lse[:, 0] - scores[np.arange(n), y]).mean()
    dscores = np.exp(scores - lse)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


def bce_with_logits(z, y):
    loss = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()
    return float(loss), (sigmoide(z) - y) / z.size


def mse_loss(pred, target):
    diff = pred - target
    return float((diff ** 2).mean()), 2 * diff / diff.size"""),
    ("md", """\
## 4. Optimizadores

Todos con `config` (si viene `None` creo uno) y el estado adentro de `config`."""),
    ("code", """\
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    if "velocity" not in config:
        config["velocity"] = np.zeros_like(w)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    if "cache" not in config:
        config["cache"] = np.zeros_like(w)
    c = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw * dw
    config["cache"] = c
    return w - config["learning_rate"] * dw / (np.sqrt(c) + config["epsilon"]), config


def adam(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    if "m" not in config:
        config["m"] = np.zeros_like(w)
    if "v" not in config:
        config["v"] = np.zeros_like(w)
    if "t" not in config:
        config["t"] = 0
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] = config["t"] + 1
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1 ** config["t"])
    v_hat = config["v"] / (1 - b2 ** config["t"])
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config"""),
    ("md", """\
## 5. MLP

He init: $W_i \\sim \\mathcal{N}(0, 2/\\text{fan\\_in})$ con `default_rng(seed)`, capa por capa."""),
    ("code", """\
class MLP:
    def __init__(self, layer_dims, activation="relu", seed=0):
        self.dims = list(layer_dims)
        self.activation = activation
        self.capas = len(self.dims) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for i in range(self.capas):
            fan_in = self.dims[i]
            W = rng.standard_normal((fan_in, self.dims[i + 1]))
            self.params["W" + str(i + 1)] = W * np.sqrt(2.0 / fan_in)
            self.params["b" + str(i + 1)] = np.zeros(self.dims[i + 1])

    def _fwd(self, z):
        f = {"relu": relu_forward, "tanh": tanh_forward, "sigmoid": sigmoid_forward}
        return f[self.activation](z)

    def _bwd(self, d, c):
        f = {"relu": relu_backward, "tanh": tanh_backward, "sigmoid": sigmoid_backward}
        return f[self.activation](d, c)

    def loss(self, X, y=None):
        cache_lin, cache_act = [], []
        a = X
        for i in range(1, self.capas + 1):
            a, c = linear_forward(a, self.params["W" + str(i)], self.params["b" + str(i)])
            cache_lin.append(c)
            if i < self.capas:
                a, c = self._fwd(a)
                cache_act.append(c)
        if y is None:
            return a
        loss, d = softmax_cross_entropy(a, y)
        grads = {}
        for i in range(self.capas, 0, -1):
            if i < self.capas:
                d = self._bwd(d, cache_act[i - 1])
            d, grads["W" + str(i)], grads["b" + str(i)] = linear_backward(d, cache_lin[i - 1])
        return loss, grads"""),
    ("md", "## 6. Entrenamiento"),
    ("code", """\
OPTIMIZADORES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "momentum": sgd_momentum,
                 "rmsprop": rmsprop, "adam": adam}


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    if optimizer not in OPTIMIZADORES:
        raise ValueError("optimizador desconocido: " + repr(optimizer))
    paso = OPTIMIZADORES[optimizer]
    configs = {k: {"learning_rate": learning_rate} for k in model.params}
    rng = np.random.default_rng(seed)
    N = X.shape[0]
    history = {"loss": []}
    for epoca in range(epochs):
        orden = rng.permutation(N)
        total = 0.0
        for ini in range(0, N, batch_size):
            ids = orden[ini:ini + batch_size]
            loss, grads = model.loss(X[ids], y[ids])
            total += loss * ids.shape[0]
            for k in model.params:
                model.params[k], configs[k] = paso(model.params[k], grads[k], configs[k])
        history["loss"].append(total / N)
    return history"""),
    ("md", """\
## 7. XOR

Red 2-2-1 con sigmoides y MSE, descenso por gradiente con todo el batch. Si se queda trabada en un
mínimo local, reinicio con otros pesos del mismo `rng`."""),
    ("code", """\
def xor_network(seed=0):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(seed)
    for reinicio in range(50):
        p = {"W1": rng.standard_normal((2, 2)) * 1.5, "b1": rng.standard_normal(2),
             "W2": rng.standard_normal((2, 1)) * 1.5, "b2": rng.standard_normal(1)}
        for it in range(600):
            h, ch = sigmoid_forward(X @ p["W1"] + p["b1"])
            out, co = sigmoid_forward(h @ p["W2"] + p["b2"])
            if np.all(np.abs(out - Y) < 0.25):
                return p
            _, d = mse_loss(out, Y)
            d2 = sigmoid_backward(d, co)
            d1 = sigmoid_backward(d2 @ p["W2"].T, ch)
            g = {"W2": h.T @ d2, "b2": d2.sum(0), "W1": X.T @ d1, "b1": d1.sum(0)}
            for k in p:
                p[k] = p[k] - 10.0 * g[k]
    raise RuntimeError("no convergió")"""),
    ("code", """\
params = xor_network(seed=0)
X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
h_xor = sigmoide(X_xor @ params["W1"] + params["b1"])
print("predicciones XOR:", sigmoide(h_xor @ params["W2"] + params["b2"]).ravel().round(3))"""),
]


def build() -> nbformat.NotebookNode:
    cells = []
    for number, (kind, source) in enumerate(CELLS, start=1):
        cell_id = f"celda-{number:02d}"
        if kind == "md":
            cells.append(new_markdown_cell(source, id=cell_id))
        else:
            cells.append(new_code_cell(source, id=cell_id))
    notebook = new_notebook(cells=cells, metadata={
        "colab": {"name": "TP1_FedeGomez.ipynb", "provenance": []},
        "kernelspec": {"display_name": "Python 3", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook is out of date")
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
