"""TP1 - Aprendizaje Profundo
Ana García

Redes feed-forward desde cero con numpy.
"""

import numpy as np


# ---------------- Capa lineal ----------------

def linear_forward(x, W, b):
    """out = x W + b"""
    out = np.dot(x, W) + b
    cache = {"x": x, "W": W}
    return out, cache


def linear_backward(dout, cache):
    """dx = dout W^T, dW = x^T dout, db = suma de dout sobre el batch"""
    dx = np.dot(dout, cache["W"].T)
    dW = np.dot(cache["x"].T, dout)
    db = np.sum(dout, axis=0)
    return dx, dW, db


# ---------------- Activaciones ----------------

def relu_forward(x):
    out = np.maximum(x, 0.0)
    return out, {"mask": x > 0}


def relu_backward(dout, cache):
    return dout * cache["mask"]


def leaky_relu_forward(x, alpha=0.01):
    positivo = x > 0
    out = np.where(positivo, x, alpha * x)
    return out, {"mask": positivo, "alpha": alpha}


def leaky_relu_backward(dout, cache):
    pendiente = np.where(cache["mask"], 1.0, cache["alpha"])
    return dout * pendiente


def sigmoid_forward(x):
    # sigma(x) = exp(-log(1 + exp(-x))) y logaddexp(0, -x) = log(1 + exp(-x)) sin overflow
    out = np.exp(-np.logaddexp(0.0, -x))
    return out, {"s": out}


def sigmoid_backward(dout, cache):
    s = cache["s"]
    return dout * s * (1 - s)


def tanh_forward(x):
    out = np.tanh(x)
    return out, {"t": out}


def tanh_backward(dout, cache):
    return dout * (1 - cache["t"] ** 2)


# ---------------- Softmax y pérdidas ----------------

def softmax(scores):
    z = scores - np.max(scores, axis=-1, keepdims=True)
    ez = np.exp(z)
    return ez / np.sum(ez, axis=-1, keepdims=True)


def softmax_cross_entropy(scores, y):
    n = len(y)
    # log-softmax con logsumexp estable
    log_p = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
    loss = -np.mean(log_p[np.arange(n), y])
    grad = softmax(scores)
    grad[np.arange(n), y] = grad[np.arange(n), y] - 1
    return float(loss), grad / n


def bce_with_logits(z, y):
    # -y log s(z) - (1-y) log(1 - s(z)) = softplus(z) - y z
    perdidas = np.logaddexp(0.0, z) - y * z
    s, _ = sigmoid_forward(z)
    dz = (s - y) / np.size(z)
    return float(np.mean(perdidas)), dz


def mse_loss(pred, target):
    err = pred - target
    return float(np.mean(err ** 2)), 2 * err / np.size(err)


# ---------------- Optimizadores ----------------

def _con_defaults(config, **defaults):
    if config is None:
        config = {}
    for clave, valor in defaults.items():
        config.setdefault(clave, valor)
    return config


def sgd(w, dw, config=None):
    config = _con_defaults(config, learning_rate=1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    config = _con_defaults(config, learning_rate=1e-2, momentum=0.9)
    vel = config.get("velocity", np.zeros_like(w))
    vel = config["momentum"] * vel - config["learning_rate"] * dw
    config["velocity"] = vel
    return w + vel, config


def rmsprop(w, dw, config=None):
    config = _con_defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    acum = config.get("cache", np.zeros_like(w))
    acum = config["decay_rate"] * acum + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = acum
    paso = config["learning_rate"] * dw / (np.sqrt(acum) + config["epsilon"])
    return w - paso, config


def adam(w, dw, config=None):
    config = _con_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw ** 2
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


# ---------------- MLP ----------------

ACTIVACIONES = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
}


class MLP:
    def __init__(self, layer_dims, activation="relu", seed=0):
        self.layer_dims = list(layer_dims)
        self.activation = activation
        self.L = len(layer_dims) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for l in range(1, self.L + 1):
            fan_in, fan_out = layer_dims[l - 1], layer_dims[l]
            self.params["W%d" % l] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
            self.params["b%d" % l] = np.zeros(fan_out)

    def loss(self, X, y=None):
        fwd, bwd = ACTIVACIONES[self.activation]
        caches_lin, caches_act = [], []
        a = X
        for l in range(1, self.L + 1):
            a, c = linear_forward(a, self.params["W%d" % l], self.params["b%d" % l])
            caches_lin.append(c)
            if l != self.L:
                a, c = fwd(a)
                caches_act.append(c)
        if y is None:
            return a

        loss, d = softmax_cross_entropy(a, y)
        grads = {}
        for l in reversed(range(1, self.L + 1)):
            if l != self.L:
                d = bwd(d, caches_act[l - 1])
            d, grads["W%d" % l], grads["b%d" % l] = linear_backward(d, caches_lin[l - 1])
        return loss, grads


# ---------------- Entrenamiento ----------------

def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    reglas = {"sgd": sgd, "sgd_momentum": sgd_momentum, "momentum": sgd_momentum,
              "rmsprop": rmsprop, "adam": adam}
    if optimizer not in reglas:
        raise ValueError("optimizador no reconocido: " + str(optimizer))
    regla = reglas[optimizer]
    estados = {nombre: {"learning_rate": learning_rate} for nombre in model.params}
    rng = np.random.default_rng(seed)
    N = len(X)
    history = {"loss": []}
    for epoca in range(epochs):
        perm = rng.permutation(N)
        suma, vistos = 0.0, 0
        for i in range(0, N, batch_size):
            lote = perm[i:i + batch_size]
            loss, grads = model.loss(X[lote], y[lote])
            suma += loss * len(lote)
            vistos += len(lote)
            for nombre in model.params:
                model.params[nombre], estados[nombre] = regla(
                    model.params[nombre], grads[nombre], estados[nombre])
        history["loss"].append(suma / vistos)
    return history


# ---------------- XOR ----------------

def xor_network(seed=0):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    t = np.array([[0], [1], [1], [0]], dtype=float)
    rng = np.random.default_rng(seed)
    for intento in range(30):
        p = {"W1": rng.normal(0, 1, (2, 2)), "b1": np.zeros(2),
             "W2": rng.normal(0, 1, (2, 1)), "b2": np.zeros(1)}
        conf = {k: {"learning_rate": 0.3} for k in p}
        for it in range(600):
            z1, c1 = linear_forward(X, p["W1"], p["b1"])
            h, ch = sigmoid_forward(z1)
            z2, c2 = linear_forward(h, p["W2"], p["b2"])
            out, co = sigmoid_forward(z2)
            if np.all((out > 0.5) == (t > 0.5)) and np.max(np.abs(out - t)) < 0.25:
                return p
            _, d = mse_loss(out, t)
            d = sigmoid_backward(d, co)
            d, g_W2, g_b2 = linear_backward(d, c2)
            d = sigmoid_backward(d, ch)
            _, g_W1, g_b1 = linear_backward(d, c1)
            g = {"W1": g_W1, "b1": g_b1, "W2": g_W2, "b2": g_b2}
            for k in p:
                p[k], conf[k] = adam(p[k], g[k], conf[k])
    raise RuntimeError("no pude entrenar XOR")
