"""TP2: PyTorch, regularización y embeddings.

En este TP vas a implementar, primero con numpy, tres técnicas de regularización y la capa de
embeddings: batch normalization (forward y backward, con las estadísticas móviles de PyTorch),
dropout invertido, la penalización L2 y los embeddings. Después pasás a PyTorch: una
``torch.autograd.Function`` con el backward escrito a mano, un clasificador MLP con batch norm y
dropout opcionales, el bucle de entrenamiento y evaluación, un clasificador entrenado y un
recomendador con embeddings.

Las funciones de la parte numpy se resuelven solo con numpy: no uses torch, tensorflow, jax,
scipy ni scikit-learn dentro de ellas (ni en las funciones auxiliares que llamen). Las
comprobaciones lo verifican. El archivo sí importa torch arriba, para la parte PyTorch.

Cómo comprobar tu trabajo
-------------------------
Completá cada función (reemplazá el ``raise NotImplementedError(...)``) y corré las comprobaciones
públicas sobre este archivo::

    grader check tp2 tp2.py

(o ``grader check tp2 tp2.ipynb`` si trabajás en el notebook). La nota final sale además de
comprobaciones ocultas, parecidas a las públicas pero con otras entradas.

Convenciones (valen para todo el TP)
------------------------------------
- **Batch primero**: ``x`` tiene forma ``(N, D)``: N ejemplos de D atributos.
- **API de capas numpy**: ``*_forward(...)`` devuelve ``(out, cache)``; ``*_backward(dout, cache)``
  devuelve los gradientes, con la misma forma y dtype que el array del que son gradiente.
- **Sin efectos secundarios**: no modifiques los arrays que recibís (la única excepción es
  ``bn_param``, donde batch norm guarda sus estadísticas móviles).
- **Aleatoriedad**: solo a partir del argumento ``seed`` (``np.random.default_rng(seed)`` o
  ``torch.manual_seed(seed)``), nunca del estado global.
- **Dispositivo**: las funciones de PyTorch reciben ``device`` (``"cpu"`` o ``"cuda"``); mové ahí
  el modelo y cada batch (``x.to(device)``).
"""

import numpy as np  # noqa: F401  (lo vas a usar en la parte numpy)
import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# Ejercicio 1: batch normalization (4 puntos)
# ---------------------------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    """Forward de batch norm sobre el eje del batch, como ``nn.BatchNorm1d``.

    ``bn_param`` es un dict con ``mode`` (``"train"`` o ``"test"``), ``eps`` (por defecto 1e-5),
    ``momentum`` (por defecto 0.1), ``running_mean`` y ``running_var`` (ceros y unos si faltan).

    Modo ``"train"``, con ``mu`` y ``var`` la media y la varianza **sesgada** de cada columna::

        x_hat = (x - mu) / sqrt(var + eps)
        out = gamma * x_hat + beta
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var * N / (N - 1)

    (la varianza móvil usa la varianza **insesgada**, como PyTorch). Guardá las nuevas
    estadísticas en ``bn_param["running_mean"]`` y ``bn_param["running_var"]``.

    Modo ``"test"``: normaliza con ``running_mean`` y ``running_var`` y no las cambia.

    Args:
        x: ``(N, D)`` con ``N >= 2``.
        gamma, beta: ``(D,)``.

    Returns:
        ``(out, cache)`` con ``out (N, D)``.
    """
    raise NotImplementedError("Implementá batchnorm_forward")


def batchnorm_backward(dout, cache):
    """Backward de batch norm (se pide solo después de un forward en modo train).

    El gradiente pasa también por la media y la varianza del batch. Con ``g = dout * gamma``::

        dbeta = sum(dout, axis=0)
        dgamma = sum(dout * x_hat, axis=0)
        dx = (1 / (N * sqrt(var + eps))) * (N * g - sum(g, axis=0) - x_hat * sum(g * x_hat, axis=0))

    Returns:
        ``(dx, dgamma, dbeta)``.
    """
    raise NotImplementedError("Implementá batchnorm_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 2: dropout invertido (2 puntos)
# ---------------------------------------------------------------------------------------------


def dropout_forward(x, p_drop, mode, seed):
    """Forward de dropout invertido.

    ``p_drop`` (``0 <= p_drop < 1``) es la probabilidad de **anular** cada unidad, como
    ``nn.Dropout(p)``. En ``"train"`` las unidades que quedan se escalan por ``1 / (1 - p_drop)``
    (así la esperanza de la salida es ``x``); en ``"test"`` la salida es ``x``.

    La máscara sale de ``np.random.default_rng(seed)``: la misma semilla da la misma máscara.

    Returns:
        ``(out, cache)``.
    """
    raise NotImplementedError("Implementá dropout_forward")


def dropout_backward(dout, cache):
    """Backward de dropout: ``dout`` pasa por la misma máscara (y escala) que usó el forward.

    En modo ``"test"`` es la identidad.
    """
    raise NotImplementedError("Implementá dropout_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 3: penalización L2 (1 punto)
# ---------------------------------------------------------------------------------------------


def l2_penalty(params, reg):
    """Penalización L2 de los pesos.

    ``loss = 0.5 * reg * sum(W ** 2)`` sumando sobre cada parámetro cuya clave empieza con
    ``"W"`` (los sesgos y demás no se penalizan). ``grads[k] = reg * W`` para los pesos y ceros
    para el resto: ``grads`` tiene una clave por cada clave de ``params``.

    Returns:
        ``(loss, grads)`` con ``loss`` un float.
    """
    raise NotImplementedError("Implementá l2_penalty")


# ---------------------------------------------------------------------------------------------
# Ejercicio 4: embeddings (2 puntos)
# ---------------------------------------------------------------------------------------------


def embedding_forward(idx, W):
    """Busca la fila de ``W`` de cada índice: ``out[n, t] = W[idx[n, t]]``.

    Args:
        idx: enteros ``(N, T)`` en ``[0, V)``.
        W: ``(V, D)``.

    Returns:
        ``(out, cache)`` con ``out (N, T, D)``.
    """
    raise NotImplementedError("Implementá embedding_forward")


def embedding_backward(dout, cache):
    """``dW`` de forma y dtype de ``W``: cada ``dout[n, t]`` se suma en la fila ``idx[n, t]``.

    Un índice que aparece varias veces **acumula** todos sus gradientes (``np.add.at``).
    """
    raise NotImplementedError("Implementá embedding_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 5: autograd.Function lineal (2 puntos)
# ---------------------------------------------------------------------------------------------


class LinearFunction(torch.autograd.Function):
    """``x @ W + b`` con ``W (D, M)`` (como en el TP1, no como ``nn.Linear``), con backward a mano.

    Se usa como ``LinearFunction.apply(x, W, b)``.
    """

    @staticmethod
    def forward(ctx, x, W, b):
        """Guardá en ``ctx`` lo que necesite el backward (``ctx.save_for_backward(x, W)``)."""
        raise NotImplementedError("Implementá LinearFunction.forward")

    @staticmethod
    def backward(ctx, dout):
        """Devolvé ``(dx, dW, db)`` calculados a mano: ``dout @ W.T``, ``x.T @ dout``,
        ``dout.sum(0)``. Sin autograd adentro (nada de ``torch.autograd.grad`` ni ``.backward()``).
        """
        raise NotImplementedError("Implementá LinearFunction.backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 6: MLPClassifier (3 puntos)
# ---------------------------------------------------------------------------------------------


class MLPClassifier(nn.Module):
    """Clasificador MLP que devuelve logits.

    Por cada ancho ``h`` de ``hidden`` (puede ser una lista vacía), en este orden:
    ``nn.Linear(prev, h)``, ``nn.BatchNorm1d(h)`` si ``batchnorm``, ``nn.ReLU()``,
    ``nn.Dropout(p_drop)`` si ``p_drop > 0``. Al final ``nn.Linear(prev, n_classes)``. Todas las
    Linear con sesgo. Cómo guardás las capas es libre (``nn.Sequential``, ``nn.ModuleList``, ...).
    """

    def __init__(self, in_dim, hidden, n_classes, p_drop=0.0, batchnorm=False):
        super().__init__()
        raise NotImplementedError("Implementá MLPClassifier.__init__")

    def forward(self, x):
        raise NotImplementedError("Implementá MLPClassifier.forward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 7: bucle de entrenamiento y evaluación (2 puntos)
# ---------------------------------------------------------------------------------------------


def train_one_epoch(model, loader, optimizer, loss_fn, device="cpu"):
    """Una época de entrenamiento.

    Poné el modelo en modo train; por cada batch ``(x, y)`` del loader: movelo a ``device``,
    poné los gradientes en cero, calculá la pérdida, ``backward`` y un paso del optimizador.

    Returns:
        La pérdida media por muestra de la época: cada pérdida de batch (calculada durante la
        época) pesada por el tamaño de su batch (el último puede ser más chico).
    """
    raise NotImplementedError("Implementá train_one_epoch")


def evaluate(model, loader, loss_fn, device="cpu"):
    """Evalúa sin gradientes (``model.eval()`` y ``torch.no_grad()``).

    Returns:
        ``(loss, accuracy)``: la pérdida media por muestra y la exactitud como fracción en [0, 1].
    """
    raise NotImplementedError("Implementá evaluate")


# ---------------------------------------------------------------------------------------------
# Ejercicio 8: clasificador entrenado (2 puntos)
# ---------------------------------------------------------------------------------------------


def fit_classifier(X, y, *, seed=0, device="cpu"):
    """Entrena un clasificador de tu elección (en menos de 60 s en 2 núcleos de CPU).

    Args:
        X: float32 ``(N, D)``, ya estandarizado.
        y: int64 ``(N,)`` con clases ``0..y.max()``.

    Returns:
        Un modelo que lleva un tensor float32 ``(N, D)`` a logits ``(N, C)``. Las comprobaciones
        lo ponen en modo eval y miden su exactitud sobre datos reservados.
    """
    raise NotImplementedError("Implementá fit_classifier")


# ---------------------------------------------------------------------------------------------
# Ejercicio 9: recomendador con embeddings (2 puntos)
# ---------------------------------------------------------------------------------------------


class EmbeddingRecommender(nn.Module):
    """Predice el rating de pares (usuario, ítem) con embeddings de dimensión ``dim``.

    Por ejemplo ``rating = <u_usuario, v_ítem> + b_usuario + b_ítem + mu``.
    ``forward(user_idx, item_idx)`` recibe índices int64 ``(N,)`` y devuelve ratings ``(N,)``.
    """

    def __init__(self, n_users, n_items, dim):
        super().__init__()
        raise NotImplementedError("Implementá EmbeddingRecommender.__init__")

    def forward(self, user_idx, item_idx):
        raise NotImplementedError("Implementá EmbeddingRecommender.forward")


def fit_recommender(user_idx, item_idx, ratings, n_users, n_items, *, seed=0, device="cpu"):
    """Entrena un ``EmbeddingRecommender`` (en menos de 60 s en 2 núcleos de CPU).

    Args:
        user_idx, item_idx: int64 ``(N,)``.
        ratings: float32 ``(N,)``.

    Returns:
        El modelo entrenado; las comprobaciones miden su RMSE sobre pares reservados (cada usuario
        e ítem reservado aparece en el entrenamiento).
    """
    raise NotImplementedError("Implementá fit_recommender")
