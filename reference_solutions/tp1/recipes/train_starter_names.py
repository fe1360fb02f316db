"""Receta: train escrito al pie de la letra del enunciado del starter: acepta exactamente los
nombres que documenta ("sgd", "sgd_momentum", "rmsprop", "adam"; otro nombre, ValueError),
baraja en el lugar un arreglo de índices con rng.shuffle en cada época y pondera la pérdida de
cada minibatch por su tamaño."""

import numpy as np


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    if optimizer == "sgd":
        rule = sgd
    elif optimizer == "sgd_momentum":
        rule = sgd_momentum
    elif optimizer == "rmsprop":
        rule = rmsprop
    elif optimizer == "adam":
        rule = adam
    else:
        raise ValueError(f"optimizador desconocido: {optimizer}")
    configs = {}
    for name in model.params:
        configs[name] = {"learning_rate": learning_rate}
    rng = np.random.default_rng(seed)
    indices = np.arange(len(X))
    history = {"loss": []}
    for _epoch in range(epochs):
        rng.shuffle(indices)
        epoch_loss = 0.0
        for start in range(0, len(X), batch_size):
            batch = indices[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            epoch_loss += loss * len(batch)
            for name in model.params:
                model.params[name], configs[name] = rule(model.params[name], grads[name],
                                                         configs[name])
        history["loss"].append(epoch_loss / len(X))
    return history
