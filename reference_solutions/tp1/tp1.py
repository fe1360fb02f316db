"""TP1: redes feed-forward desde cero (solución de referencia del curso, solo numpy).

Implementa cada nombre del contrato de TP1 (``/spec/tps.md``): capas con API
``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache) -> grads``, funciones de pérdida
promediadas sobre el batch como ``reduction="mean"`` de PyTorch, reglas de actualización con
``config`` (SGD, momentum, RMSProp, Adam), un MLP, su bucle de entrenamiento y una red 2-2-1 para
XOR.

Convenciones: batch primero (filas = muestras), float64 entra y float64 sale, ningún argumento
array se modifica, y la aleatoriedad sale solo del argumento ``seed``.
"""
# CANARY-REFERENCE-TP1-7f3a: the course's reference solution; never ship to students.

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Capas
# ---------------------------------------------------------------------------------------------


def linear_forward(x, W, b):
    """Capa lineal (afín): ``out = x @ W + b``.

    Args:
        x: entradas ``(N, D)``.
        W: pesos ``(D, M)``.
        b: sesgos ``(M,)``.

    Returns:
        ``(out, cache)`` con ``out (N, M)``.
    """
    out = x @ W + b
    return out, (x, W)


def linear_backward(dout, cache):
    """Gradientes de la capa lineal: ``dx = dout @ W.T``, ``dW = x.T @ dout``, ``db = dout.sum(0)``.

    Returns:
        ``(dx, dW, db)`` con las formas de ``x``, ``W`` y ``b``.
    """
    x, W = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


def relu_forward(x):
    """ReLU elemento a elemento: ``out = max(x, 0)`` (cualquier forma; nan sigue nan, como PyTorch)."""
    out = np.maximum(x, 0.0)
    return out, x


def relu_backward(dout, cache):
    """``dx = dout`` donde ``x > 0`` y 0 en el resto (en ``x = 0`` vale 0, como PyTorch)."""
    x = cache
    return np.where(x > 0, dout, 0.0)


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: ``x`` si ``x > 0``, si no ``alpha * x``."""
    out = np.where(x > 0, x, alpha * x)
    return out, (x, alpha)


def leaky_relu_backward(dout, cache):
    """``dx = dout`` donde ``x > 0`` y ``alpha * dout`` en el resto (incluido ``x = 0``)."""
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def _sigmoid(x):
    # NOTE: 1 / (1 + exp(-x)) desborda exp para x << 0. Con z = exp(-|x|) <= 1 nunca desborda:
    # para x >= 0 vale 1 / (1 + z) y para x < 0 vale z / (1 + z).
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_forward(x):
    """Sigmoide ``s(x) = 1 / (1 + exp(-x))``, estable para ``|x|`` hasta 1e3 (y más)."""
    out = _sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """``dx = dout * s * (1 - s)``, con ``s`` la salida guardada en el forward."""
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """Tangente hiperbólica elemento a elemento."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """``dx = dout * (1 - tanh(x)**2)``, con ``tanh(x)`` la salida guardada en el forward."""
    t = cache
    return dout * (1.0 - t * t)


# ---------------------------------------------------------------------------------------------
# Softmax y pérdidas
# ---------------------------------------------------------------------------------------------


def softmax(scores):
    """Softmax sobre el último eje: ``exp(s - max) / sum(exp(s - max))``.

    Restar el máximo de cada fila no cambia el resultado y evita que ``exp`` desborde con
    logits de magnitud 1e3.
    """
    shifted = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(scores, y):
    """Entropía cruzada con softmax, promediada sobre el batch (= ``F.cross_entropy``).

    ``loss = -mean_i log p[i, y_i]`` con ``log p = s - logsumexp(s)`` (estable), y
    ``dscores = (p - onehot(y)) / N``.

    Args:
        scores: logits ``(N, C)``.
        y: etiquetas enteras ``(N,)`` en ``0..C-1``.

    Returns:
        ``(loss, dscores)``: ``loss`` float de Python, ``dscores (N, C)``.
    """
    n = scores.shape[0]
    rows = np.arange(n)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    dscores /= n
    return float(loss), dscores


def bce_with_logits(z, y):
    """Entropía cruzada binaria sobre logits, promediada sobre todos los elementos.

    ``loss = mean(max(z, 0) - z * y + log(1 + exp(-|z|)))`` (forma estable de
    ``-y log s(z) - (1 - y) log(1 - s(z))``) y ``dz = (s(z) - y) / z.size``.

    Args:
        z: logits de cualquier forma.
        y: objetivos en {0, 1} con la forma de ``z``.

    Returns:
        ``(loss, dz)``: ``loss`` float de Python, ``dz`` con la forma de ``z``.
    """
    y = np.asarray(y, dtype=z.dtype)
    loss = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (_sigmoid(z) - y) / z.size
    return float(loss), dz


def mse_loss(pred, target):
    """Error cuadrático medio sobre todos los elementos (= ``F.mse_loss``).

    ``loss = mean((pred - target)**2)`` y ``dpred = 2 * (pred - target) / pred.size``.
    """
    diff = pred - target
    loss = np.mean(diff * diff)
    return float(loss), 2.0 * diff / diff.size


# ---------------------------------------------------------------------------------------------
# Reglas de actualización
# ---------------------------------------------------------------------------------------------


def sgd(w, dw, config=None):
    """SGD: ``next_w = w - learning_rate * dw``.

    ``config``: ``learning_rate`` (1e-2 por defecto). Devuelve ``(next_w, config)``.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD con momentum: ``v = momentum * v - learning_rate * dw``; ``next_w = w + v``.

    ``config``: ``learning_rate`` (1e-2), ``momentum`` (0.9) y el estado ``velocity`` (arranca en
    ceros). Devuelve ``(next_w, config)`` con la velocidad nueva en ``config["velocity"]``.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``;
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    ``config``: ``learning_rate`` (1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8) y el estado
    ``cache`` (arranca en ceros). Devuelve ``(next_w, config)``.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1.0 - decay) * (dw * dw)
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam con corrección de sesgo.

    ``t = t + 1``; ``m = beta1 * m + (1 - beta1) * dw``; ``v = beta2 * v + (1 - beta2) * dw**2``;
    ``m_hat = m / (1 - beta1**t)``; ``v_hat = v / (1 - beta2**t)``;
    ``next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)``.

    ``config``: ``learning_rate`` (1e-3), ``beta1`` (0.9), ``beta2`` (0.999), ``epsilon`` (1e-8) y
    el estado ``m``, ``v`` (ceros) y ``t`` (0). Devuelve ``(next_w, config)``.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m = np.zeros_like(w)
    if v is None:
        v = np.zeros_like(w)
    beta1, beta2 = config["beta1"], config["beta2"]
    t = int(config.get("t", 0)) + 1
    m = beta1 * m + (1.0 - beta1) * dw
    v = beta2 * v + (1.0 - beta2) * (dw * dw)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


# ---------------------------------------------------------------------------------------------
# MLP y entrenamiento
# ---------------------------------------------------------------------------------------------

_ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
}


class MLP:
    """Perceptrón multicapa: ``linear -> activación -> ... -> linear`` (sin activación al final).

    Args:
        layer_dims: ``[D, H1, ..., C]``: entrada, capas ocultas y cantidad de clases.
        activation: ``"relu"``, ``"tanh"`` o ``"sigmoid"``, entre capas.
        seed: semilla de ``np.random.default_rng`` para la inicialización.

    Attributes:
        params: ``{"W1": (D, H1), "b1": (H1,), ..., "WL": (H_{L-1}, C), "bL": (C,)}``, con
            inicialización de He: ``W_i ~ N(0, 2 / fan_in)`` sorteada capa por capa con
            ``rng.standard_normal((fan_in, fan_out)) * sqrt(2 / fan_in)``, y ``b_i = 0``.

    Ejemplo:
        >>> model = MLP([64, 64, 10], seed=0)
        >>> scores = model.loss(X)            # (N, 10)
        >>> loss, grads = model.loss(X, y)    # grads con las mismas claves que model.params
    """

    def __init__(self, layer_dims, activation="relu", seed=0):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activación desconocida {activation!r}; se esperaba 'relu', "
                             "'tanh' o 'sigmoid'")
        dims = [int(d) for d in layer_dims]
        if len(dims) < 2:
            raise ValueError(f"layer_dims necesita al menos dos valores [D, C] (llegó {dims})")
        self.layer_dims = dims
        self.activation = activation
        self.num_layers = len(dims) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for i in range(1, len(dims)):
            fan_in, fan_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            self.params[f"b{i}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        """Scores si ``y is None``; si no, ``(loss, grads)`` con entropía cruzada con softmax.

        Args:
            X: entradas ``(N, D)``.
            y: etiquetas enteras ``(N,)`` o ``None``.

        Returns:
            ``scores (N, C)``, o ``(loss, grads)`` con ``grads`` indexado como ``params``.
        """
        act_forward, act_backward = _ACTIVATIONS[self.activation]
        caches = []
        h = X
        for i in range(1, self.num_layers + 1):
            h, linear_cache = linear_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            act_cache = None
            if i < self.num_layers:
                h, act_cache = act_forward(h)
            caches.append((linear_cache, act_cache))
        scores = h
        if y is None:
            return scores

        loss, dh = softmax_cross_entropy(scores, y)
        grads = {}
        for i in range(self.num_layers, 0, -1):
            linear_cache, act_cache = caches[i - 1]
            if act_cache is not None:
                dh = act_backward(dh, act_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = linear_backward(dh, linear_cache)
        return loss, grads


_OPTIMIZERS = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "momentum": sgd_momentum,
    "rmsprop": rmsprop,
    "adam": adam,
}


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    """Entrena ``model`` con minibatches y actualiza ``model.params`` en el lugar.

    Cada época sortea una permutación nueva con ``rng = np.random.default_rng(seed)`` y recorre
    minibatches de ``batch_size`` (el último puede ser más chico). Cada parámetro tiene su propio
    ``config`` (con ``learning_rate``) para la regla de actualización elegida.

    Args:
        model: un ``MLP`` (o cualquier objeto con ``params`` y ``loss(X, y)``).
        X: entradas ``(N, D)``.
        y: etiquetas enteras ``(N,)``.
        optimizer: ``"sgd"``, ``"sgd_momentum"`` (o ``"momentum"``), ``"rmsprop"`` o ``"adam"``.
        learning_rate: tasa de aprendizaje.
        batch_size: tamaño de minibatch.
        epochs: cantidad de épocas.
        seed: semilla del orden de los ejemplos.

    Returns:
        ``{"loss": [...]}`` con la pérdida media de entrenamiento de cada época (promedio de las
        pérdidas de los minibatches ponderado por su tamaño).
    """
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizador desconocido {optimizer!r}; se esperaba uno de "
                         f"{sorted(_OPTIMIZERS)}")
    update = _OPTIMIZERS[optimizer]
    configs = {key: {"learning_rate": learning_rate} for key in model.params}
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    history = {"loss": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = model.loss(X[idx], y[idx])
            total += float(loss) * len(idx)
            for key in model.params:
                model.params[key], configs[key] = update(model.params[key], grads[key],
                                                         configs[key])
        history["loss"].append(total / n)
    return history


# ---------------------------------------------------------------------------------------------
# XOR
# ---------------------------------------------------------------------------------------------

_XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def xor_network(seed=0):
    """Entrena una red 2-2-1 (oculta sigmoide, salida sigmoide, MSE) sobre los 4 puntos de XOR.

    Descenso por gradiente de batch completo (``learning_rate=10``) desde pesos y sesgos
    ``N(0, 1)`` sorteados con ``np.random.default_rng(seed)``, hasta que cada salida quede a
    menos de 0.2 de su objetivo. Con dos neuronas ocultas la red a veces queda atrapada en un
    mínimo local (alrededor de 1 de cada 5 inicializaciones); entonces vuelve a empezar desde otra
    inicialización sorteada del mismo ``rng`` (a lo sumo 50 intentos de 500 pasos).

    Returns:
        ``{"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}`` tal que
        ``sigmoid(sigmoid(X @ W1 + b1) @ W2 + b2)`` es > 0.5 para ``[0, 1]`` y ``[1, 0]`` y < 0.5
        para ``[0, 0]`` y ``[1, 1]``.
    """
    rng = np.random.default_rng(seed)
    for _attempt in range(50):
        params = {
            "W1": rng.standard_normal((2, 2)),
            "b1": rng.standard_normal(2),
            "W2": rng.standard_normal((2, 1)),
            "b2": rng.standard_normal(1),
        }
        configs = {key: {"learning_rate": 10.0} for key in params}
        for _step in range(500):
            z1, cache1 = linear_forward(_XOR_X, params["W1"], params["b1"])
            h, cache_h = sigmoid_forward(z1)
            z2, cache2 = linear_forward(h, params["W2"], params["b2"])
            out, cache_out = sigmoid_forward(z2)
            # Margen de 0.2 (no solo el lado correcto de 0.5): el resultado no depende del redondeo.
            if np.all(np.abs(out - _XOR_Y) < 0.2):
                return params
            _loss, dout = mse_loss(out, _XOR_Y)
            dz2 = sigmoid_backward(dout, cache_out)
            dh, dW2, db2 = linear_backward(dz2, cache2)
            dz1 = sigmoid_backward(dh, cache_h)
            _dx, dW1, db1 = linear_backward(dz1, cache1)
            grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
            for key in params:
                params[key], configs[key] = sgd(params[key], grads[key], configs[key])
    raise RuntimeError(f"xor_network(seed={seed}) no convergió en 50 intentos")
