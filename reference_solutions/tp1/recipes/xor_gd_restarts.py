"""Receta: XOR con descenso por gradiente de batch completo (lr 5) desde pesos N(0, 1) y sesgos
en cero, hasta 3000 pasos; si la red no clasifica los cuatro puntos, vuelve a sortear (a lo sumo
20 intentos)."""

import numpy as np


def xor_network(seed=0):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(seed)
    for _attempt in range(20):
        params = {"W1": rng.normal(size=(2, 2)), "b1": np.zeros(2),
                  "W2": rng.normal(size=(2, 1)), "b2": np.zeros(1)}
        for _step in range(3000):
            z1, c1 = linear_forward(X, params["W1"], params["b1"])
            h, ch = sigmoid_forward(z1)
            z2, c2 = linear_forward(h, params["W2"], params["b2"])
            out, co = sigmoid_forward(z2)
            _loss, dout = mse_loss(out, Y)
            dh, dW2, db2 = linear_backward(sigmoid_backward(dout, co), c2)
            _dx, dW1, db1 = linear_backward(sigmoid_backward(dh, ch), c1)
            for key, grad in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
                params[key] = params[key] - 5.0 * grad
        if np.array_equal((out > 0.5).astype(float), Y):
            return params
    return params
