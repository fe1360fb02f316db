# TP1 Aprendizaje Profundo - Bruno Díaz (padrón 104321)
import numpy as np


def linear_forward(x, W, b):
    return np.einsum("nd,dm->nm", x, W) + b[None, :], (x, W, b)


def linear_backward(dout, cache):
    x, W, b = cache
    return (np.einsum("nm,dm->nd", dout, W),
            np.einsum("nd,nm->dm", x, dout),
            np.einsum("nm->m", dout))


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def leaky_relu_forward(x, alpha=0.01):
    scale = np.ones_like(x)
    scale[x <= 0] = alpha
    return x * scale, scale


def leaky_relu_backward(dout, cache):
    return dout * cache


def _sig(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])      # x < 0 => exp(x) < 1, no overflow
    out[~pos] = e / (1.0 + e)
    return out


def sigmoid_forward(x):
    s = _sig(x)
    return s, s


def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)


def tanh_forward(x):
    th = np.tanh(x)
    return th, th


def tanh_backward(dout, cache):
    return dout - dout * cache * cache


def softmax(scores):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.exp(log_p)


def softmax_cross_entropy(scores, y):
    N, C = scores.shape
    onehot = np.eye(C)[y]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -(onehot * log_p).sum() / N
    return float(loss), (np.exp(log_p) - onehot) / N


def bce_with_logits(z, y):
    n = z.size
    loss = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum() / n
    return float(loss), (_sig(z) - y) / n


def mse_loss(pred, target):
    r = pred - target
    return float((r * r).sum() / r.size), (2.0 / r.size) * r


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
    config["velocity"] = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    return w + config["velocity"], config


def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    if "cache" not in config:
        config["cache"] = np.zeros_like(w)
    r = config["decay_rate"]
    config["cache"] = r * config["cache"] + (1 - r) * np.square(dw)
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


def adam(w, dw, config=None):
    config = {} if config is None else config
    for k, v in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(k, v)
    for k in ("m", "v"):
        if k not in config:
            config[k] = np.zeros_like(w)
    config.setdefault("t", 0)
    config["t"] += 1
    t = config["t"]
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * np.square(dw)
    mhat = config["m"] / (1 - config["beta1"] ** t)
    vhat = config["v"] / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * mhat / (np.sqrt(vhat) + config["epsilon"]), config


class MLP:
    ACTS = {"relu": (relu_forward, relu_backward),
            "tanh": (tanh_forward, tanh_backward),
            "sigmoid": (sigmoid_forward, sigmoid_backward)}

    def __init__(self, layer_dims, activation="relu", seed=0):
        if activation not in self.ACTS:
            raise ValueError(f"activación inválida: {activation}")
        self.activation = activation
        self.dims = list(layer_dims)
        rng = np.random.default_rng(seed)
        self.params = {}
        for i in range(len(self.dims) - 1):
            d_in, d_out = self.dims[i], self.dims[i + 1]
            self.params[f"W{i + 1}"] = np.sqrt(2.0 / d_in) * rng.standard_normal((d_in, d_out))
            self.params[f"b{i + 1}"] = np.zeros(d_out)

    @property
    def n_layers(self):
        return len(self.dims) - 1

    def loss(self, X, y=None):
        act_f, act_b = self.ACTS[self.activation]
        stack = []
        out = X
        for i in range(1, self.n_layers + 1):
            out, lc = linear_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            stack.append(("lin", i, lc))
            if i < self.n_layers:
                out, ac = act_f(out)
                stack.append(("act", i, ac))
        if y is None:
            return out
        loss, grad = softmax_cross_entropy(out, y)
        grads = {}
        for kind, i, c in reversed(stack):
            if kind == "act":
                grad = act_b(grad, c)
            else:
                grad, grads[f"W{i}"], grads[f"b{i}"] = linear_backward(grad, c)
        return loss, grads


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    if optimizer == "momentum":
        optimizer = "sgd_momentum"
    if optimizer not in ("sgd", "sgd_momentum", "rmsprop", "adam"):
        raise ValueError(f"optimizer debe ser sgd, sgd_momentum, rmsprop o adam (llegó {optimizer!r})")
    step = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}[optimizer]
    cfgs = {k: dict(learning_rate=learning_rate) for k in model.params}
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        idx = np.arange(X.shape[0])
        rng.shuffle(idx)
        epoch_loss = 0.0
        for s in range(0, len(idx), batch_size):
            b = idx[s:s + batch_size]
            l, g = model.loss(X[b], y[b])
            epoch_loss += l * b.size
            for k in model.params:
                model.params[k], cfgs[k] = step(model.params[k], g[k], cfgs[k])
        losses.append(epoch_loss / X.shape[0])
    return {"loss": losses}


def xor_network(seed=0):
    X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    Y = np.array([[0.], [1.], [1.], [0.]])
    rng = np.random.default_rng(seed)
    for _ in range(100):
        W1 = rng.uniform(-2, 2, (2, 2))
        b1 = rng.uniform(-1, 1, 2)
        W2 = rng.uniform(-2, 2, (2, 1))
        b2 = rng.uniform(-1, 1, 1)
        for _ in range(800):
            h = _sig(X @ W1 + b1)
            out = _sig(h @ W2 + b2)
            if np.all(np.abs(out - Y) < 0.3):
                return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
            # backprop a mano (MSE -> sigmoide -> lineal -> sigmoide -> lineal)
            d2 = 2 * (out - Y) / 4 * out * (1 - out)
            d1 = (d2 @ W2.T) * h * (1 - h)
            W2 = W2 - 8.0 * h.T @ d2
            b2 = b2 - 8.0 * d2.sum(0)
            W1 = W1 - 8.0 * X.T @ d1
            b1 = b1 - 8.0 * d1.sum(0)
    raise RuntimeError("XOR no convergió")
