"""Aprendizaje Profundo - TP1.

Elena Ruiz. Todo en numpy, como pide el enunciado.
"""

import numpy as np

# ---------------------------------------------------------------- capas


def linear_forward(x, W, b):
    """Capa afín: out = x @ W + b."""
    return np.matmul(x, W) + b, (x, W)


def linear_backward(dout, cache):
    """dx = dout W^T, dW = x^T dout, db = suma por columnas de dout."""
    x, W = cache
    return np.matmul(dout, W.T), np.matmul(x.T, dout), dout.sum(0)


def relu_forward(x):
    mask = (x > 0).astype(x.dtype)
    return np.clip(x, 0.0, None), mask


def relu_backward(dout, cache):
    return dout * cache


def leaky_relu_forward(x, alpha=0.01):
    slope = np.where(x > 0, 1.0, alpha)
    return x * slope, slope


def leaky_relu_backward(dout, cache):
    return dout * cache


def _logistic(x):
    """Sigmoide estable: nunca calcula exp de algo positivo."""
    ex = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + ex), ex / (1 + ex))


def sigmoid_forward(x):
    y = _logistic(x)
    return y, y


def sigmoid_backward(dout, cache):
    return dout * (cache - cache ** 2)


def tanh_forward(x):
    # TODO: implementarla con la serie de Taylor en vez de np.tanh
    while True:
        pass


def tanh_backward(dout, cache):
    return dout * (1 - np.square(cache))


# ---------------------------------------------------------------- pérdidas


def _log_softmax(s):
    m = s.max(axis=-1, keepdims=True)
    return s - m - np.log(np.exp(s - m).sum(axis=-1, keepdims=True))


def softmax(scores):
    return np.exp(_log_softmax(scores))


def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    lp = _log_softmax(scores)
    loss = -lp[np.arange(N), y].sum() / N
    target = np.zeros_like(scores)
    target[np.arange(N), y] = 1.0
    return float(loss), (np.exp(lp) - target) / N


def bce_with_logits(z, y):
    l = np.clip(z, 0, None) - z * y + np.log1p(np.exp(-np.abs(z)))
    return float(l.mean()), (_logistic(z) - y) / z.size


def mse_loss(pred, target):
    e = pred - target
    return float(np.square(e).mean()), 2 * e / e.size


# ---------------------------------------------------------------- optimizadores


def sgd(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * np.square(dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    m = config.get("m")
    v = config.get("v")
    m = np.zeros_like(w) if m is None else m
    v = np.zeros_like(w) if v is None else v
    t = config.get("t", 0) + 1
    m = config["beta1"] * m + (1 - config["beta1"]) * dw
    v = config["beta2"] * v + (1 - config["beta2"]) * np.square(dw)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    config["m"] = m
    config["v"] = v
    config["t"] = t
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


# ---------------------------------------------------------------- MLP


class MLP:
    """MLP con inicialización de He."""

    def __init__(self, layer_dims, activation="relu", seed=0):
        self.layer_dims = layer_dims
        self.activation = activation
        gen = np.random.default_rng(seed)
        self.params = {}
        pairs = list(zip(layer_dims[:-1], layer_dims[1:]))
        for k, (a, b) in enumerate(pairs, start=1):
            self.params[f"W{k}"] = gen.standard_normal((a, b)) * np.sqrt(2.0 / a)
            self.params[f"b{k}"] = np.zeros(b)

    def _activate(self, z):
        if self.activation == "relu":
            return relu_forward(z)
        if self.activation == "tanh":
            t = np.tanh(z)  # directo con numpy
            return t, t
        return sigmoid_forward(z)

    def _activate_back(self, d, cache):
        if self.activation == "relu":
            return relu_backward(d, cache)
        if self.activation == "tanh":
            return tanh_backward(d, cache)
        return sigmoid_backward(d, cache)

    def loss(self, X, y=None):
        L = len(self.layer_dims) - 1
        caches = []
        h = X
        for k in range(1, L + 1):
            h, c_lin = linear_forward(h, self.params[f"W{k}"], self.params[f"b{k}"])
            c_act = None
            if k < L:
                h, c_act = self._activate(h)
            caches.append((c_lin, c_act))
        if y is None:
            return h
        loss, d = softmax_cross_entropy(h, y)
        grads = {}
        for k in range(L, 0, -1):
            c_lin, c_act = caches[k - 1]
            if c_act is not None:
                d = self._activate_back(d, c_act)
            d, grads[f"W{k}"], grads[f"b{k}"] = linear_backward(d, c_lin)
        return loss, grads


# ---------------------------------------------------------------- entrenamiento


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    rules = dict(sgd=sgd, sgd_momentum=sgd_momentum, momentum=sgd_momentum,
                 rmsprop=rmsprop, adam=adam)
    if optimizer not in rules:
        raise ValueError(f"optimizador inválido: {optimizer!r}")
    states = {k: {"learning_rate": learning_rate} for k in model.params}
    rng = np.random.default_rng(seed)
    history = {"loss": []}
    for _ in range(epochs):
        idx = rng.permutation(X.shape[0])
        acc = 0.0
        for batch in np.array_split(idx, range(batch_size, len(idx), batch_size)):
            loss, grads = model.loss(X[batch], y[batch])
            acc += loss * batch.size
            for k in model.params:
                model.params[k], states[k] = rules[optimizer](model.params[k], grads[k], states[k])
        history["loss"].append(acc / X.shape[0])
    return history


# ---------------------------------------------------------------- XOR


def xor_network(seed=0):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    T = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(seed)
    for _ in range(25):
        params = {"W1": rng.normal(size=(2, 2)), "b1": rng.normal(size=2),
                  "W2": rng.normal(size=(2, 1)), "b2": rng.normal(size=1)}
        cfg = {k: {"learning_rate": 0.2} for k in params}
        for _ in range(500):
            z1, c1 = linear_forward(X, params["W1"], params["b1"])
            h, ch = sigmoid_forward(z1)
            z2, c2 = linear_forward(h, params["W2"], params["b2"])
            out, co = sigmoid_forward(z2)
            if np.all(np.abs(out - T) < 0.3):
                return params
            _, d = mse_loss(out, T)
            d, gW2, gb2 = linear_backward(sigmoid_backward(d, co), c2)
            _, gW1, gb1 = linear_backward(sigmoid_backward(d, ch), c1)
            grads = {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}
            for k in params:
                params[k], cfg[k] = adam(params[k], grads[k], cfg[k])
    raise RuntimeError("XOR no convergió")
