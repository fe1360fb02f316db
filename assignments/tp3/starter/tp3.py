"""TP3: CNN, RNN y atención.

En este TP vas a implementar con numpy las piezas de las redes convolucionales y recurrentes de
las clases 5 y 6: la convolución 2D y el max pooling con sus backward, la celda RNN y la RNN sobre
una secuencia con retropropagación en el tiempo (BPTT), la celda LSTM y la LSTM sobre una
secuencia, y la atención de producto escalar escalado. Después vas a usar PyTorch para entrenar
una CNN chica que clasifica los dígitos 8x8 de scikit-learn y un modelo recurrente que predice
los próximos 10 valores de una serie temporal.

La parte numpy (ejercicios 1 a 7) se resuelve solo con numpy: esas funciones no pueden usar
torch, tensorflow, jax, scipy ni scikit-learn (las comprobaciones lo verifican). El archivo
importa torch arriba de todo para la parte de PyTorch (ejercicios 8 a 11).

Cómo comprobar tu trabajo
-------------------------
Completá cada función (reemplazá el ``raise NotImplementedError(...)``) y corré las comprobaciones
públicas sobre este archivo::

    grader check tp3 tp3.py

(o ``grader check tp3 tp3.ipynb`` si trabajás en el notebook). Te dice, ejercicio por ejercicio,
qué pasa y qué falla, con la forma, el tipo o el valor que se esperaba. La nota final sale además de
comprobaciones ocultas, parecidas a las públicas pero con otras entradas (otros strides y
paddings, empates, más pasos de tiempo, máscaras de otras formas, comparación con PyTorch).

Convenciones (valen para todo el TP)
------------------------------------
- **Batch primero**: imágenes ``(N, C, H, W)``, secuencias ``(N, T, D)``.
- **API de capas**: ``*_forward(...)`` devuelve ``(out, cache)``; ``*_backward(dout, cache)``
  devuelve los gradientes. En ``cache`` guardás lo que tu backward necesite: solo lo lee tu propio
  backward.
- **Formas y tipos**: cada gradiente tiene la misma forma y dtype que el array del que es
  gradiente. Si entra float64, sale float64.
- **Sin efectos secundarios**: no modifiques los arrays que recibís como argumento, tampoco en los
  backward (nada de ``dout += ...`` ni ``dc += ...`` sobre un argumento); trabajá sobre copias o
  arrays nuevos.
- **Pesos como en PyTorch**: la RNN y la LSTM usan ``Wx (D, G)``, ``Wh (H, G)``, ``b (G,)``; en
  términos de ``nn.RNN`` / ``nn.LSTM``, ``Wx = weight_ih_l0.T``, ``Wh = weight_hh_l0.T`` y
  ``b = bias_ih_l0 + bias_hh_l0``.
- **Aleatoriedad**: solo a partir del argumento ``seed`` (``torch.manual_seed(seed)``). Nunca
  dependas de un estado global fijado en otro lado.
- **PyTorch**: los modelos devuelven logits (sin softmax); ``fit_*`` reciben ``device`` (``"cpu"``
  o ``"cuda"``) y tienen que entrenar en ese dispositivo.
"""

import numpy as np  # noqa: F401  (lo vas a usar en la parte numpy)
import torch  # noqa: F401  (solo en la parte de PyTorch)
from torch import nn

# ---------------------------------------------------------------------------------------------
# Ejercicio 1: convolución 2D (3 puntos)
# ---------------------------------------------------------------------------------------------


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Forward de la convolución 2D (correlación cruzada, como ``torch.nn.functional.conv2d``).

    ``out[n, f, i, j] = b[f] + sum_{c, p, q} xp[n, c, i * stride + p, j * stride + q] * w[f, c, p, q]``

    donde ``xp`` es ``x`` con ``pad`` ceros agregados a cada lado (arriba, abajo, izquierda y
    derecha). El kernel **no** se da vuelta.

    Args:
        x: entradas, forma ``(N, C, H, W)``.
        w: filtros, forma ``(F, C, HH, WW)``.
        b: sesgos, forma ``(F,)`` (uno por filtro).
        stride: paso de la ventana, en alto y en ancho.
        pad: ceros agregados de cada lado, en alto y en ancho.

    Returns:
        ``(out, cache)``: ``out`` de forma ``(N, F, H', W')`` con
        ``H' = 1 + (H + 2 * pad - HH) // stride`` y ``W' = 1 + (W + 2 * pad - WW) // stride``.
    """
    raise NotImplementedError("Implementá conv2d_forward")


def conv2d_backward(dout, cache):
    """Backward de la convolución 2D.

    Cada ventana ``xp[n, :, i*stride : i*stride + HH, j*stride : j*stride + WW]`` aporta a
    ``out[n, f, i, j]``; entonces, recorriendo las ventanas:

    - ``dw[f] += dout[n, f, i, j] * ventana``
    - ``dxp[n, :, ventana] += dout[n, f, i, j] * w[f]`` (**+=**: las ventanas se superponen)
    - ``db[f] = sum_{n, i, j} dout[n, f, i, j]``

    y ``dx`` es ``dxp`` sin el padding (cuidado con ``pad = 0``).

    Args:
        dout: gradiente de ``out``, forma ``(N, F, H', W')``.
        cache: lo que guardó tu forward.

    Returns:
        ``(dx, dw, db)`` con las formas de ``x``, ``w`` y ``b``.
    """
    raise NotImplementedError("Implementá conv2d_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 2: max pooling (2 puntos)
# ---------------------------------------------------------------------------------------------


def maxpool2d_forward(x, kernel=2, stride=2):
    """Forward del max pooling, sin padding (como ``torch.nn.functional.max_pool2d``).

    ``out[n, c, i, j] = max`` de ``x[n, c, i*stride : i*stride + kernel, j*stride : j*stride + kernel]``

    Args:
        x: entradas, forma ``(N, C, H, W)``.
        kernel: lado de la ventana cuadrada.
        stride: paso de la ventana.

    Returns:
        ``(out, cache)``: ``out`` de forma ``(N, C, H', W')`` con ``H' = 1 + (H - kernel) // stride``
        y ``W' = 1 + (W - kernel) // stride``.
    """
    raise NotImplementedError("Implementá maxpool2d_forward")


def maxpool2d_backward(dout, cache):
    """Backward del max pooling.

    El gradiente ``dout[n, c, i, j]`` va **solo** a la posición del máximo de su ventana. Si hay
    empate, va al primer máximo en orden fila por fila (el que da ``np.argmax`` sobre la ventana
    aplanada). Si las ventanas se superponen (``stride < kernel``), una posición puede ser el
    máximo de varias: los gradientes se **suman**.

    Returns:
        ``dx`` con la forma de ``x``.
    """
    raise NotImplementedError("Implementá maxpool2d_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 3: paso de RNN (1 punto)
# ---------------------------------------------------------------------------------------------


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """Un paso de la RNN: ``h = tanh(x @ Wx + h_prev @ Wh + b)``.

    Args:
        x: entrada del paso, ``(N, D)``.
        h_prev: estado oculto anterior, ``(N, H)``.
        Wx: ``(D, H)``; Wh: ``(H, H)``; b: ``(H,)``.

    Returns:
        ``(h, cache)`` con ``h (N, H)``.
    """
    raise NotImplementedError("Implementá rnn_step_forward")


def rnn_step_backward(dh, cache):
    """Backward de un paso de la RNN.

    Con ``da = dh * (1 - h**2)`` (la derivada de tanh):
    ``dx = da @ Wx.T``, ``dh_prev = da @ Wh.T``, ``dWx = x.T @ da``, ``dWh = h_prev.T @ da``,
    ``db = da.sum(axis=0)``.

    Returns:
        ``(dx, dh_prev, dWx, dWh, db)``.
    """
    raise NotImplementedError("Implementá rnn_step_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 4: RNN sobre una secuencia (2 puntos)
# ---------------------------------------------------------------------------------------------


def rnn_forward(x, h0, Wx, Wh, b):
    """La RNN sobre toda la secuencia: ``h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)`` para
    ``t = 0..T-1``, desde ``h_{-1} = h0``.

    Args:
        x: ``(N, T, D)``; h0: ``(N, H)``; Wx: ``(D, H)``; Wh: ``(H, H)``; b: ``(H,)``.

    Returns:
        ``(h, cache)`` con ``h (N, T, H)``: todos los estados ocultos.
    """
    raise NotImplementedError("Implementá rnn_forward")


def rnn_backward(dh, cache):
    """Retropropagación en el tiempo (BPTT).

    ``dh (N, T, H)`` es el gradiente que llega de afuera a **cada** ``h_t``. Recorriendo
    ``t = T-1, ..., 0``, el gradiente total de ``h_t`` es ``dh[:, t]`` más el ``dh_prev`` que
    devolvió el paso ``t + 1``. Los gradientes de ``Wx``, ``Wh`` y ``b`` se **suman** sobre los
    pasos; ``dh0`` es el ``dh_prev`` del paso 0.

    Returns:
        ``(dx, dh0, dWx, dWh, db)`` con las formas de ``x``, ``h0``, ``Wx``, ``Wh`` y ``b``.
    """
    raise NotImplementedError("Implementá rnn_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 5: paso de LSTM (2 puntos)
# ---------------------------------------------------------------------------------------------


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """Un paso de la LSTM, con las compuertas en el orden de PyTorch: ``i, f, g, o``.

    ``a = x @ Wx + h_prev @ Wh + b`` tiene forma ``(N, 4H)`` y se parte en cuatro bloques de
    ``H`` columnas, en este orden:

    ``i = sigmoid(a[:, 0:H])``, ``f = sigmoid(a[:, H:2H])``, ``g = tanh(a[:, 2H:3H])``,
    ``o = sigmoid(a[:, 3H:4H])``

    ``c = f * c_prev + i * g`` y ``h = o * tanh(c)``.

    Args:
        x: ``(N, D)``; h_prev, c_prev: ``(N, H)``; Wx: ``(D, 4H)``; Wh: ``(H, 4H)``; b: ``(4H,)``.

    Returns:
        ``(h, c, cache)``.
    """
    raise NotImplementedError("Implementá lstm_step_forward")


def lstm_step_backward(dh, dc, cache):
    """Backward de un paso de la LSTM.

    ``dh`` y ``dc`` son los gradientes que llegan a ``h`` y a ``c``. El gradiente total de ``c``
    es ``dc + dh * o * (1 - tanh(c)**2)`` (no modifiques ``dc``: calculalo en un array nuevo).
    De ahí salen los de ``i, f, g, o``, los de sus preactivaciones ``da (N, 4H)`` y
    ``dc_prev = dc_total * f``.

    Returns:
        ``(dx, dh_prev, dc_prev, dWx, dWh, db)``.
    """
    raise NotImplementedError("Implementá lstm_step_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 6: LSTM sobre una secuencia (2 puntos)
# ---------------------------------------------------------------------------------------------


def lstm_forward(x, h0, Wx, Wh, b):
    """La LSTM sobre toda la secuencia ``x (N, T, D)`` desde ``h0`` y ``c0 = 0``.

    Returns:
        ``(h, cache)`` con ``h (N, T, H)``: todos los estados ocultos (las celdas ``c`` no se
        devuelven).
    """
    raise NotImplementedError("Implementá lstm_forward")


def lstm_backward(dh, cache):
    """BPTT de la LSTM: como en la RNN, y además el gradiente de ``c`` viaja de ``t + 1`` a
    ``t`` (al último paso le llega ``dc = 0``).

    Returns:
        ``(dx, dh0, dWx, dWh, db)``.
    """
    raise NotImplementedError("Implementá lstm_backward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 7: atención (2 puntos)
# ---------------------------------------------------------------------------------------------


def scaled_dot_product_attention(q, k, v, mask=None):
    """Atención de producto escalar escalado (como ``F.scaled_dot_product_attention``).

    ``scores = q @ k^T / sqrt(d)`` (forma ``(N, Tq, Tk)``), ``attn = softmax(scores)`` sobre las
    claves (el último eje) y ``out = attn @ v``.

    Con ``mask``: un array booleano que se puede difundir (broadcasting) a ``(N, Tq, Tk)``, por
    ejemplo ``(Tq, Tk)`` (máscara causal) o ``(N, 1, Tk)`` (padding). ``True`` = la consulta puede
    mirar esa clave; las claves con ``False`` reciben peso 0 (se enmascara **antes** del softmax).
    Una consulta sin ninguna clave permitida recibe pesos 0 y salida 0, nunca nan.

    Args:
        q: ``(N, Tq, d)``; k: ``(N, Tk, d)``; v: ``(N, Tk, dv)``; mask: ``None`` o booleano.

    Returns:
        ``(out, attn)`` con ``out (N, Tq, dv)`` y ``attn (N, Tq, Tk)``.
    """
    raise NotImplementedError("Implementá scaled_dot_product_attention")


# ---------------------------------------------------------------------------------------------
# Ejercicio 8: SmallCNN (1 punto)
# ---------------------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    """Una CNN chica para imágenes ``(N, 1, 8, 8)`` (los dígitos de scikit-learn).

    La arquitectura la elegís vos (por ejemplo, dos convoluciones 3x3 con ReLU, un max pooling y
    dos capas lineales). El forward devuelve **logits** ``(N, n_classes)``: sin softmax al final
    (``F.cross_entropy`` ya lo incluye).
    """

    def __init__(self, n_classes=10):
        super().__init__()
        raise NotImplementedError("Implementá SmallCNN.__init__")

    def forward(self, x):
        """``x (N, 1, 8, 8)`` float32 -> logits ``(N, n_classes)``."""
        raise NotImplementedError("Implementá SmallCNN.forward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 9: entrenar la CNN (2 puntos)
# ---------------------------------------------------------------------------------------------


def fit_cnn(X, y, *, seed=0, device="cpu"):
    """Entrena una ``SmallCNN`` con los dígitos y la devuelve.

    Args:
        X: imágenes ``(N, 1, 8, 8)`` float32 (array de numpy), estandarizadas por píxel.
        y: etiquetas ``(N,)`` int64 en ``0..9``.
        seed: semilla (``torch.manual_seed(seed)`` antes de crear el modelo).
        device: ``"cpu"`` o ``"cuda"``: dónde entrenar.

    Tiene que terminar en menos de 60 s con 2 núcleos de CPU (unos segundos alcanzan). Las
    comprobaciones ponen el modelo en modo eval y miden la exactitud en dígitos que no vio.

    Returns:
        La ``SmallCNN`` entrenada.
    """
    raise NotImplementedError("Implementá fit_cnn")


# ---------------------------------------------------------------------------------------------
# Ejercicio 10: SeqRegressor (1 punto)
# ---------------------------------------------------------------------------------------------


class SeqRegressor(nn.Module):
    """Un modelo recurrente que lee una serie y predice sus próximos ``n_out`` valores.

    Args:
        input_size: atributos por paso de tiempo.
        hidden: tamaño del estado oculto de la capa recurrente.
        n_out: cantidad de valores a predecir.
        cell: ``"RNN"``, ``"LSTM"`` o ``"GRU"``: la capa de PyTorch que usa (``nn.RNN``,
            ``nn.LSTM`` o ``nn.GRU``).

    El forward recibe ``x (N, T, input_size)`` (batch primero: ``batch_first=True``) y devuelve
    ``(N, n_out)``, por ejemplo con una capa lineal sobre el último estado oculto.
    """

    def __init__(self, input_size=1, hidden=32, n_out=10, cell="LSTM"):
        super().__init__()
        raise NotImplementedError("Implementá SeqRegressor.__init__")

    def forward(self, x):
        """``x (N, T, input_size)`` -> ``(N, n_out)``."""
        raise NotImplementedError("Implementá SeqRegressor.forward")


# ---------------------------------------------------------------------------------------------
# Ejercicio 11: entrenar el regresor de series (2 puntos)
# ---------------------------------------------------------------------------------------------


def fit_seq_regressor(X, Y, *, seed=0, device="cpu"):
    """Entrena un ``SeqRegressor`` y lo devuelve.

    Args:
        X: series ``(N, 50, 1)`` float32: los primeros 50 valores de cada serie.
        Y: objetivos ``(N, 10)`` float32: los 10 valores siguientes.
        seed: semilla (``torch.manual_seed(seed)`` antes de crear el modelo).
        device: ``"cpu"`` o ``"cuda"``: dónde entrenar.

    Tiene que terminar en menos de 90 s con 2 núcleos de CPU. Las comprobaciones miden el error
    cuadrático medio en series nuevas y lo comparan con el de una regresión lineal por mínimos
    cuadrados sobre los 50 valores.

    Returns:
        El ``SeqRegressor`` entrenado.
    """
    raise NotImplementedError("Implementá fit_seq_regressor")
