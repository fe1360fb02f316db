"""Ayudantes de las comprobaciones del TP1 que corren dentro del proceso de tu código.

Las comprobaciones se ejecutan en otro proceso y solo reciben datos. Lo que tiene que vivir junto a
tu código lo arman estas funciones; no contienen valores esperados ni soluciones: todo juicio (los
pesos después de entrenar) se hace afuera, con los datos que devuelven.

Algunas comprobaciones de ``train`` miden solo la regla de actualización: con ``batch_size = N``,
dos épocas tienen que ser exactamente dos pasos de la regla pedida, con su estado. Para eso no hace
falta una red: crean tu ``MLP`` y cambian el ``loss`` de esa instancia por una pérdida sintética
(``use_synthetic_loss``), una cuadrática de los parámetros cuyo gradiente es trivial y depende del
minibatch. Así esas comprobaciones no dependen de tu ``MLP.loss`` (un error ahí cuesta puntos en
``mlp``, no en ellas) y afuera se puede calcular exactamente cómo deberían quedar los parámetros.
Por eso ``train`` tiene que conseguir los gradientes llamando a ``model.loss(X, y)``.

Las comprobaciones que piden que ``train`` aprenda de verdad (digits, datos no lineales) usan tu
``MLP`` tal cual, con tu ``loss``: ahí un ``MLP.loss`` con errores también se nota.
"""

from __future__ import annotations

import numpy as np


def _targets(params, X, y):
    """El punto al que la pérdida sintética atrae a cada parámetro, calculado con el minibatch.

    ``s = mean_n((1 + y[n]) * X[n])`` (un vector de largo ``D``) se repite cíclicamente hasta
    llenar la forma del parámetro (``np.resize``) y se le suma la posición de la clave en orden
    alfabético, para que cada parámetro tenga su propio objetivo.
    """
    X = np.asarray(X, dtype=np.float64)
    weights = 1.0 + np.asarray(y, dtype=np.float64)
    summary = np.mean(X * weights[:, None], axis=0)
    return {key: np.resize(summary, np.shape(params[key])) + rank
            for rank, key in enumerate(sorted(params))}


class _SyntheticLoss:
    """``loss(X, y=None)`` con la interfaz del contrato y nada de una red.

    Con ``y``: ``(loss, grads)``, con ``loss = 0.5 * sum_k ||P_k - A_k||^2`` y
    ``grads[k] = P_k - A_k``, donde ``P_k`` son los parámetros y ``A_k`` sus objetivos
    (``_targets``) para el minibatch. Sin ``y``: scores ``(N, C)`` en cero (no representan nada;
    ``C`` sale de la última ``W``). Lee ``model.params`` en cada llamada (``train`` puede
    reemplazar los arrays o el dict).
    """

    def __init__(self, model):
        self._model = model

    def __call__(self, X, y=None):
        params = self._model.params
        if y is None:
            last = max(int(k[1:]) for k in params if k[:1] == "W" and k[1:].isdigit())
            return np.zeros((len(X), np.shape(params[f"W{last}"])[-1]))
        targets = _targets(params, X, y)
        grads = {key: np.asarray(params[key], dtype=np.float64) - targets[key] for key in params}
        loss = 0.5 * sum(float(np.sum(g ** 2)) for g in grads.values())
        return loss, grads


def use_synthetic_loss(model):
    """Cambia ``model.loss`` (solo en esta instancia) por la pérdida sintética de
    ``_SyntheticLoss``. ``model`` sigue siendo tu objeto: los demás atributos y métodos no
    cambian."""
    try:
        model.loss = _SyntheticLoss(model)
    except AttributeError as exc:
        raise AttributeError(f"las comprobaciones de train necesitan poder asignar model.loss en "
                             f"tu MLP y no pudieron ({exc})") from None


class _ConstantLoss:
    """``loss(X, y=None)`` que siempre vale lo mismo, con gradientes en cero (los parámetros no se
    mueven), y que anota qué filas de ``X`` (su primera columna) trae cada minibatch."""

    def __init__(self, model, value):
        self._model = model
        self._value = float(value)
        self.rows = []

    def __call__(self, X, y=None):
        params = self._model.params
        X = np.asarray(X)
        if y is None:
            last = max(int(k[1:]) for k in params if k[:1] == "W" and k[1:].isdigit())
            return np.zeros((len(X), np.shape(params[f"W{last}"])[-1]))
        self.rows.append(np.array(X[:, 0], dtype=np.float64))
        return self._value, {key: np.zeros(np.shape(value)) for key, value in params.items()}


def use_constant_loss(model, value):
    """Cambia ``model.loss`` (solo en esta instancia) por una pérdida que vale siempre ``value``:
    la pérdida media de cualquier época es entonces ``value``, se la calcule como se la calcule."""
    try:
        model.loss = _ConstantLoss(model, value)
    except AttributeError as exc:
        raise AttributeError(f"las comprobaciones de train necesitan poder asignar model.loss en "
                             f"tu MLP y no pudieron ({exc})") from None


def rows_seen(model):
    """Las primeras columnas de cada minibatch que ``train`` le pasó a la pérdida de
    ``use_constant_loss``, en orden (una lista de arrays)."""
    return list(model.loss.rows)


def floating_point_warnings(function, *args):
    """Llama ``function(*args)`` y devuelve ``(resultado, advertencias)``: el texto de cada
    advertencia de punto flotante que numpy emitió durante la llamada (overflow, división por
    cero, operación inválida; no las de underflow, que numpy calla por omisión y no son un error).
    El enunciado pide que sigmoid, softmax y las pérdidas sean estables con entradas de magnitud
    1e3: afuera se mira que esta lista venga vacía."""
    import warnings

    with warnings.catch_warnings(record=True) as caught, np.errstate(
            over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        result = function(*args)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught
                    if issubclass(w.category, RuntimeWarning)]


def loss_with_params(model, params, *args):
    """``model.params = params`` y después ``model.loss(*args)``, lo mismo que hacen afuera dos
    pedidos seguidos. Las diferencias finitas de ``MLP.loss`` evalúan la pérdida con un parámetro
    movido por vez; con esta función cada evaluación es una llamada, y todas viajan juntas
    (``grader.compare.call_many``). Lo que devuelve tu ``loss`` se juzga afuera."""
    model.params = params
    return model.loss(*args)
