"""TP1: redes feed-forward desde cero (solo numpy).

En este TP vas a implementar, sin frameworks, las piezas de una red neuronal feed-forward: la capa
lineal, las activaciones (ReLU, leaky ReLU, sigmoide, tanh), softmax, las funciones de pérdida
(entropía cruzada con softmax, entropía cruzada binaria con logits, error cuadrático medio), las
reglas de actualización (SGD, SGD con momentum, RMSProp, Adam), un MLP completo con su bucle de
entrenamiento y una red chiquita que aprende XOR. Todo con numpy: no importes torch, tensorflow,
jax, scipy ni scikit-learn (las comprobaciones lo verifican).

Cómo comprobar tu trabajo
-------------------------
Completá cada función (reemplazá el ``raise NotImplementedError(...)``) y corré las comprobaciones
públicas sobre este archivo::

    grader check tp1 tp1.py

(o ``grader check tp1 tp1.ipynb`` si trabajás en el notebook). Te dice, ejercicio por ejercicio,
qué pasa y qué falla, con la forma, el tipo o el valor que se esperaba. La nota final sale además de
comprobaciones ocultas, parecidas a las públicas pero con otras entradas.

Convenciones (valen para todo el TP)
------------------------------------
- **Batch primero**: las filas son muestras. ``x`` tiene forma ``(N, D)``: N ejemplos de D
  atributos.
- **API de capas**: ``*_forward(...)`` devuelve ``(out, cache)``; ``*_backward(dout, cache)``
  devuelve los gradientes. En ``cache`` guardás lo que tu backward necesite: solo lo lee tu propio
  backward.
- **Formas y tipos**: cada gradiente tiene la misma forma y dtype que el array del que es
  gradiente. Si entra float64, sale float64. Las etiquetas enteras son int64.
- **Sin efectos secundarios**: no modifiques los arrays que recibís como argumento (nada de
  ``x += ...`` ni ``x[x < 0] = 0`` sobre la entrada); trabajá sobre copias o arrays nuevos.
- **Pérdidas**: promediadas sobre el batch, como ``reduction="mean"`` de PyTorch; devuelven
  ``(loss, dscores)`` con ``loss`` un float de Python.
- **Aleatoriedad**: solo a partir del argumento ``seed``, con ``rng = np.random.default_rng(seed)``.
  Nunca uses ``np.random.seed`` ni el estado global.
"""

import numpy as np  # noqa: F401  (lo vas a usar en cada función)

# ---------------------------------------------------------------------------------------------
# Ejercicio 1: capa lineal (2 puntos)
# ---------------------------------------------------------------------------------------------


def linear_forward(x, W, b):
    """Forward de la capa lineal (afín).

    ``out = x @ W + b``

    Args:
        x: entradas, forma ``(N, D)``.
        W: pesos, forma ``(D, M)``.
        b: sesgos, forma ``(M,)`` (se suman a cada fila por broadcasting).

    Returns:
        ``(out, cache)``: ``out`` de forma ``(N, M)``; ``cache`` lo que necesite tu backward
        (por ejemplo ``(x, W)``).
    """
    raise NotImplementedError("Implementá linear_forward")


def linear_backward(dout, cache):
    """Backward de la capa lineal.

    Con ``dout = dL/dout`` de forma ``(N, M)``:

    - ``dx = dout @ W.T``      forma ``(N, D)``
    - ``dW = x.T @ dout``      forma ``(D, M)``
    - ``db = dout.sum(axis=0)``  forma ``(M,)``: el sesgo se usa en las N filas, así que sus
      gradientes se **suman** (no se promedian).

    Args:
        dout: gradiente que llega desde arriba, forma ``(N, M)``.
        cache: lo que guardó ``linear_forward``.

    Returns:
        ``(dx, dW, db)``.
    """
    raise NotImplementedError("Implementá linear_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 2: ReLU (1 punto)
# ---------------------------------------------------------------------------------------------


def relu_forward(x):
    """Forward de ReLU, elemento a elemento y para cualquier forma.

    ``out = max(x, 0)``

    Returns:
        ``(out, cache)`` con ``out`` de la forma de ``x``.
    """
    raise NotImplementedError("Implementá relu_forward")


def relu_backward(dout, cache):
    """Backward de ReLU.

    ``dx = dout * (x > 0)``: pasa el gradiente donde la entrada era positiva y 0 en el resto
    (en ``x == 0`` la derivada se toma como 0, igual que PyTorch).

    Returns:
        ``dx`` con la forma de ``dout``.
    """
    raise NotImplementedError("Implementá relu_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 3: leaky ReLU (1 punto)
# ---------------------------------------------------------------------------------------------


def leaky_relu_forward(x, alpha=0.01):
    """Forward de leaky ReLU.

    ``out = x`` si ``x > 0``, si no ``alpha * x``.

    Returns:
        ``(out, cache)``.
    """
    raise NotImplementedError("Implementá leaky_relu_forward")


def leaky_relu_backward(dout, cache):
    """Backward de leaky ReLU.

    ``dx = dout`` donde ``x > 0`` y ``alpha * dout`` en el resto (también en ``x == 0``).

    Returns:
        ``dx``.
    """
    raise NotImplementedError("Implementá leaky_relu_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 4: sigmoide (1 punto)
# ---------------------------------------------------------------------------------------------


def sigmoid_forward(x):
    """Forward de la sigmoide.

    ``s(x) = 1 / (1 + exp(-x))``

    Tiene que ser estable para entradas de magnitud hasta 1e3: sin warnings de overflow y sin nan.
    Ojo: ``np.exp(-x)`` desborda para ``x = -1000``. Pista: con ``z = exp(-|x|)`` (que nunca
    desborda), ``s(x) = 1 / (1 + z)`` si ``x >= 0`` y ``s(x) = z / (1 + z)`` si ``x < 0``.

    Returns:
        ``(out, cache)``.
    """
    raise NotImplementedError("Implementá sigmoid_forward")


def sigmoid_backward(dout, cache):
    """Backward de la sigmoide.

    ``ds/dx = s * (1 - s)``, así que ``dx = dout * s * (1 - s)`` (conviene guardar ``s`` en el
    cache).

    Returns:
        ``dx``.
    """
    raise NotImplementedError("Implementá sigmoid_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 5: tangente hiperbólica (1 punto)
# ---------------------------------------------------------------------------------------------


def tanh_forward(x):
    """Forward de tanh, elemento a elemento.

    ``out = tanh(x)`` (podés usar ``np.tanh``).

    Returns:
        ``(out, cache)``.
    """
    raise NotImplementedError("Implementá tanh_forward")


def tanh_backward(dout, cache):
    """Backward de tanh.

    ``d tanh(x)/dx = 1 - tanh(x)**2``, así que ``dx = dout * (1 - out**2)``.

    Returns:
        ``dx``.
    """
    raise NotImplementedError("Implementá tanh_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 6: softmax (1 punto)
# ---------------------------------------------------------------------------------------------


def softmax(scores):
    """Softmax sobre el último eje de ``scores (N, C)``.

    ``p[i, j] = exp(s[i, j]) / sum_k exp(s[i, k])``

    Tiene que ser estable para logits de magnitud 1e3: restá el máximo de cada fila antes de
    exponenciar (``s - s.max(axis=-1, keepdims=True)``), que no cambia el resultado.

    Returns:
        ``probs`` de forma ``(N, C)``; cada fila suma 1.
    """
    raise NotImplementedError("Implementá softmax")


# ---------------------------------------------------------------------------------------------
# Ejercicio 7: entropía cruzada con softmax (2 puntos)
# ---------------------------------------------------------------------------------------------


def softmax_cross_entropy(scores, y):
    """Entropía cruzada con softmax, promediada sobre el batch (= ``F.cross_entropy``).

    ``loss = -(1/N) * sum_i log p[i, y_i]``, con ``p = softmax(scores)``.

    Para que sea estable calculá ``log p`` con log-sum-exp:
    ``log p[i, j] = s[i, j] - m_i - log(sum_k exp(s[i, k] - m_i))`` con ``m_i = max_k s[i, k]``.

    Gradiente: ``dscores = (p - onehot(y)) / N``.

    Args:
        scores: logits, forma ``(N, C)``.
        y: etiquetas enteras (int64), forma ``(N,)``, con valores en ``0..C-1``.

    Returns:
        ``(loss, dscores)``: ``loss`` un float; ``dscores`` de forma ``(N, C)``.
    """
    raise NotImplementedError("Implementá softmax_cross_entropy")


# ---------------------------------------------------------------------------------------------
# Ejercicio 8: entropía cruzada binaria con logits (1 punto)
# ---------------------------------------------------------------------------------------------


def bce_with_logits(z, y):
    """Entropía cruzada binaria sobre logits, promediada sobre todos los elementos.

    ``loss = mean(-y * log s(z) - (1 - y) * log(1 - s(z)))`` con ``s`` la sigmoide
    (= ``F.binary_cross_entropy_with_logits``).

    Forma estable (logits de magnitud hasta 1e3):
    ``loss = mean(max(z, 0) - z * y + log(1 + exp(-|z|)))`` (``np.log1p`` ayuda).

    Gradiente: ``dz = (s(z) - y) / z.size`` (``z.size`` = cantidad total de elementos).

    Args:
        z: logits, cualquier forma.
        y: objetivos en {0, 1}, misma forma que ``z``.

    Returns:
        ``(loss, dz)``.
    """
    raise NotImplementedError("Implementá bce_with_logits")


# ---------------------------------------------------------------------------------------------
# Ejercicio 9: error cuadrático medio (1 punto)
# ---------------------------------------------------------------------------------------------


def mse_loss(pred, target):
    """Error cuadrático medio sobre todos los elementos (= ``F.mse_loss``).

    ``loss = mean((pred - target)**2)``

    Gradiente: ``dpred = 2 * (pred - target) / pred.size``.

    Returns:
        ``(loss, dpred)``.
    """
    raise NotImplementedError("Implementá mse_loss")


# ---------------------------------------------------------------------------------------------
# Ejercicios 10 a 13: reglas de actualización (1 punto cada una)
#
# Todas reciben los pesos ``w``, su gradiente ``dw`` (misma forma) y un diccionario ``config``
# con los hiperparámetros y el estado, y devuelven ``(next_w, config)``. Si ``config`` es None,
# creá un diccionario nuevo; completá los valores por defecto que falten sin pisar los que vinieron
# (``config.setdefault(...)``). El estado (velocidad, cache, m, v, t) vuelve dentro de ``config``
# para el paso siguiente. No modifiques ``w``: devolvé un array nuevo.
# ---------------------------------------------------------------------------------------------


def sgd(w, dw, config=None):
    """Descenso por gradiente estocástico.

    ``next_w = w - learning_rate * dw``

    ``config``: ``learning_rate`` (por defecto 1e-2).

    Returns:
        ``(next_w, config)``.
    """
    raise NotImplementedError("Implementá sgd")


def sgd_momentum(w, dw, config=None):
    """SGD con momentum.

    ``v = momentum * v - learning_rate * dw``
    ``next_w = w + v``

    ``config``: ``learning_rate`` (1e-2), ``momentum`` (0.9) y el estado ``velocity`` (``v``),
    que arranca en ceros con la forma de ``w`` y vuelve actualizado en ``config["velocity"]``.

    Returns:
        ``(next_w, config)``.
    """
    raise NotImplementedError("Implementá sgd_momentum")


def rmsprop(w, dw, config=None):
    """RMSProp.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``

    ``config``: ``learning_rate`` (1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8) y el estado
    ``cache``, que arranca en ceros y vuelve en ``config["cache"]``.

    Returns:
        ``(next_w, config)``.
    """
    raise NotImplementedError("Implementá rmsprop")


def adam(w, dw, config=None):
    """Adam, con corrección de sesgo.

    En este orden:

    ``t = t + 1``
    ``m = beta1 * m + (1 - beta1) * dw``
    ``v = beta2 * v + (1 - beta2) * dw**2``
    ``m_hat = m / (1 - beta1**t)``
    ``v_hat = v / (1 - beta2**t)``
    ``next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)``

    ``config``: ``learning_rate`` (1e-3), ``beta1`` (0.9), ``beta2`` (0.999), ``epsilon`` (1e-8)
    y el estado ``m`` y ``v`` (arrancan en ceros) y ``t`` (arranca en 0), que vuelven en
    ``config``.

    Returns:
        ``(next_w, config)``.
    """
    raise NotImplementedError("Implementá adam")


# ---------------------------------------------------------------------------------------------
# Ejercicio 14: MLP (2 puntos)
# ---------------------------------------------------------------------------------------------


class MLP:
    """Perceptrón multicapa: ``linear -> activación -> ... -> linear`` (sin activación al final).

    Args:
        layer_dims: ``[D, H1, ..., C]``: dimensión de entrada, anchos de las capas ocultas y
            cantidad de clases. ``[64, 10]`` es una regresión logística; ``[64, 64, 10]`` tiene
            una capa oculta.
        activation: ``"relu"``, ``"tanh"`` o ``"sigmoid"``, entre capas (nunca después de la
            última).
        seed: semilla de la inicialización.

    Attributes:
        params: diccionario ``{"W1": (D, H1), "b1": (H1,), ..., "WL": (H_{L-1}, C), "bL": (C,)}``.

    Inicialización de He: con ``rng = np.random.default_rng(seed)`` y para cada capa ``i = 1..L``
    en orden, ``W_i = rng.standard_normal((fan_in, fan_out)) * sqrt(2 / fan_in)``, es decir
    ``W_i ~ N(0, 2 / fan_in)``; y ``b_i = 0``.
    """

    def __init__(self, layer_dims, activation="relu", seed=0):
        """Crea ``self.params`` con la inicialización de He (ver la docstring de la clase)."""
        raise NotImplementedError("Implementá MLP.__init__")

    def loss(self, X, y=None):
        """Forward (y backward si hay etiquetas) de la red.

        Forward: para ``i = 1..L``, ``h = linear(h, W_i, b_i)`` y, si ``i < L``,
        ``h = activación(h)``. Lo último son los ``scores (N, C)``.

        Si ``y is None`` devolvé los ``scores``. Si no, calculá ``loss, dscores =
        softmax_cross_entropy(scores, y)`` y propagá hacia atrás con los backward de tus capas
        (en orden inverso) para obtener ``grads["W_i"]`` y ``grads["b_i"]``.

        Args:
            X: entradas, forma ``(N, D)``.
            y: etiquetas enteras ``(N,)``, o ``None``.

        Returns:
            ``scores (N, C)`` si ``y is None``; si no ``(loss, grads)`` con ``grads`` con las
            mismas claves y formas que ``self.params``.
        """
        raise NotImplementedError("Implementá MLP.loss")


# ---------------------------------------------------------------------------------------------
# Ejercicio 15: entrenamiento (2 puntos)
# ---------------------------------------------------------------------------------------------


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    """Entrena ``model`` con minibatches y actualiza ``model.params`` en el lugar.

    - ``optimizer`` es el nombre de una de tus reglas de actualización: ``"sgd"``,
      ``"sgd_momentum"``, ``"rmsprop"`` o ``"adam"``. Otro nombre: ``ValueError``.
    - Cada parámetro (``"W1"``, ``"b1"``, ...) tiene su propio ``config``, que arranca como
      ``{"learning_rate": learning_rate}`` y se pasa de un paso al siguiente.
    - ``rng = np.random.default_rng(seed)``; en cada época mezclá los ejemplos con una permutación
      nueva (``rng.permutation(N)``) y recorrelos en minibatches de ``batch_size`` (el último
      puede ser más chico). Por minibatch: ``loss, grads = model.loss(X_b, y_b)`` y un paso de la
      regla para cada parámetro (``model.params[k], config[k] = regla(...)``).

    Args:
        model: un ``MLP``.
        X: entradas ``(N, D)``.
        y: etiquetas enteras ``(N,)``.

    Returns:
        ``history`` con ``history["loss"]``: una lista con la pérdida media de entrenamiento de
        cada época (el promedio de las pérdidas de los minibatches, ponderado por su tamaño).
    """
    raise NotImplementedError("Implementá train")


# ---------------------------------------------------------------------------------------------
# Ejercicio 16: XOR (1 punto)
# ---------------------------------------------------------------------------------------------


def xor_network(seed=0):
    """Entrena una red 2-2-1 que resuelve XOR y devuelve sus parámetros.

    Datos: ``X = [[0, 0], [0, 1], [1, 0], [1, 1]]``, objetivos ``[0, 1, 1, 0]``.
    Red: ``h = s(X @ W1 + b1)`` (oculta sigmoide) y ``out = s(h @ W2 + b2)`` (salida sigmoide),
    con pérdida MSE. Entrenala con descenso por gradiente de batch completo (o con tu ``adam``)
    partiendo de pesos sorteados con ``np.random.default_rng(seed)``.

    Con solo dos neuronas ocultas, algunas inicializaciones quedan atrapadas en un mínimo local: si
    pasa, volvé a empezar desde otra inicialización sorteada del mismo ``rng`` (con un límite de
    intentos).

    Returns:
        ``{"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}`` tal que ``out > 0.5`` para
        ``[0, 1]`` y ``[1, 0]`` y ``out < 0.5`` para ``[0, 0]`` y ``[1, 1]``.
    """
    raise NotImplementedError("Implementá xor_network")
