"""Receta: train que sortea el orden de cada época con su propio generador,
np.random.default_rng(seed + epoch) (sigue dependiendo solo de seed), recorre la cantidad
exacta de minibatches con math.ceil y guarda el estado de la regla en un dict aparte."""

import math

import numpy as np


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    names = {"sgd": sgd, "sgd_momentum": sgd_momentum, "momentum": sgd_momentum,
             "rmsprop": rmsprop, "adam": adam}
    try:
        update = names[optimizer]
    except KeyError:
        raise ValueError(f"optimizador desconocido {optimizer!r}") from None
    state = {key: {"learning_rate": learning_rate} for key in model.params}
    n = len(y)
    n_batches = math.ceil(n / batch_size)
    history = {"loss": []}
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(n)
        total = 0.0
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            loss, grads = model.loss(X[idx], y[idx])
            total += float(loss) * idx.size
            for key in list(model.params):
                new_value, state[key] = update(model.params[key], grads[key], state[key])
                model.params[key] = new_value
        history["loss"].append(total / n)
    return history
