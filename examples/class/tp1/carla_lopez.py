"""
TP1 - Redes feed-forward desde cero
Alumna: Carla López
"""
import numpy as np


def linear_forward(x, W, b):
    out = x @ W + b
    cache = (x, W, b)
    return out, cache


def linear_backward(dout, cache):
    x, W, b = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.mean(axis=0)  # BUG (intencional): db promedia en vez de sumar
    return dx, dW, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx


def leaky_relu_forward(x, alpha=0.01):
    out = np.where(x > 0, x, alpha * x)
    cache = (x, alpha)
    return out, cache


def leaky_relu_backward(dout, cache):
    x, alpha = cache
    dx = dout.copy()
    dx[x <= 0] *= alpha
    return dx


def sigmoid(x):
    # versión estable
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_forward(x):
    out = sigmoid(x)
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    out = cache
    dx = dout * out * (1 - out)
    return dx


def tanh_forward(x):
    out = np.tanh(x)
    cache = out
    return out, cache


def tanh_backward(dout, cache):
    out = cache
    dx = dout * (1 - out ** 2)
    return dx


def softmax(scores):
    scores = scores - np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    return probs


def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted), axis=1, keepdims=True)
    log_probs = shifted - np.log(Z)
    probs = np.exp(log_probs)
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    return float(loss), dscores


def bce_with_logits(z, y):
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (sigmoid(z) - y) / z.size
    return float(loss), dz


def mse_loss(pred, target):
    diff = pred - target
    loss = np.mean(diff ** 2)
    dpred = 2 * diff / diff.size
    return float(loss), dpred


def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    t = config["t"] + 1
    m = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    v = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["t"], config["m"], config["v"] = t, m, v
    return next_w, config


class MLP:
    def __init__(self, layer_dims, activation="relu", seed=0):
        self.layer_dims = layer_dims
        self.activation = activation
        self.num_layers = len(layer_dims) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for i in range(1, self.num_layers + 1):
            fan_in = layer_dims[i - 1]
            fan_out = layer_dims[i]
            self.params["W" + str(i)] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            self.params["b" + str(i)] = np.zeros(fan_out)

    def loss(self, X, y=None):
        # forward guardando las entradas de cada capa
        inputs = []
        pre = []
        h = X
        for i in range(1, self.num_layers + 1):
            inputs.append(h)
            z = h @ self.params["W" + str(i)] + self.params["b" + str(i)]
            pre.append(z)
            if i < self.num_layers:
                if self.activation == "relu":
                    h = np.maximum(0, z)
                elif self.activation == "tanh":
                    h = np.tanh(z)
                else:
                    h = sigmoid(z)
            else:
                h = z
        scores = h
        if y is None:
            return scores

        loss, dscores = softmax_cross_entropy(scores, y)
        grads = {}
        dh = dscores
        for i in range(self.num_layers, 0, -1):
            if i < self.num_layers:
                z = pre[i - 1]
                if self.activation == "relu":
                    dh = dh * (z > 0)
                elif self.activation == "tanh":
                    dh = dh * (1 - np.tanh(z) ** 2)
                else:
                    s = sigmoid(z)
                    dh = dh * s * (1 - s)
            grads["W" + str(i)] = inputs[i - 1].T @ dh
            grads["b" + str(i)] = dh.sum(axis=0)
            dh = dh @ self.params["W" + str(i)].T
        return loss, grads


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    if optimizer == "sgd":
        update = sgd
    elif optimizer in ("sgd_momentum", "momentum"):
        update = sgd_momentum
    elif optimizer == "rmsprop":
        update = rmsprop
    elif optimizer == "adam":
        update = adam
    else:
        raise ValueError("optimizador desconocido: %s" % optimizer)

    rng = np.random.default_rng(seed)
    configs = {}
    for k in model.params:
        configs[k] = {"learning_rate": learning_rate}
    N = X.shape[0]
    history = {"loss": []}
    for epoch in range(epochs):
        perm = rng.permutation(N)
        epoch_loss = 0.0
        for start in range(0, N, batch_size):
            batch = perm[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            epoch_loss += loss * len(batch)
            for k in model.params:
                model.params[k], configs[k] = update(model.params[k], grads[k], configs[k])
        history["loss"].append(epoch_loss / N)
    return history


def xor_network(seed=0):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(seed)
    lr = 5.0
    for intento in range(50):
        W1 = rng.standard_normal((2, 2))
        b1 = rng.standard_normal(2)
        W2 = rng.standard_normal((2, 1))
        b2 = rng.standard_normal(1)
        for it in range(1000):
            h = sigmoid(X @ W1 + b1)
            out = sigmoid(h @ W2 + b2)
            if np.all(np.abs(out - Y) < 0.25):
                return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
            _, dout = mse_loss(out, Y)
            dz2 = dout * out * (1 - out)
            dW2 = h.T @ dz2
            db2 = dz2.sum(axis=0)
            dz1 = (dz2 @ W2.T) * h * (1 - h)
            dW1 = X.T @ dz1
            db1 = dz1.sum(axis=0)
            W1 = W1 - lr * dW1
            b1 = b1 - lr * db1
            W2 = W2 - lr * dW2
            b2 = b2 - lr * db2
    raise RuntimeError("no converge")
