"""Receta: train que en cada época arma copias barajadas de X e y (X[perm], y[perm]) y las
recorre en rebanadas; elige la regla con un diccionario (acepta "momentum" y "sgd_momentum")
y promedia la pérdida con np.average ponderado por el tamaño de cada minibatch."""

import numpy as np


def train(model, X, y, *, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, seed=0):
    rules = {"sgd": sgd, "momentum": sgd_momentum, "sgd_momentum": sgd_momentum,
             "rmsprop": rmsprop, "adam": adam}
    if optimizer not in rules:
        raise ValueError(f"optimizer debe ser uno de {sorted(rules)}; llegó {optimizer!r}")
    rule = rules[optimizer]
    configs = {k: {"learning_rate": learning_rate} for k in model.params}
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    losses = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        X_shuffled, y_shuffled = X[perm], y[perm]
        batch_losses, sizes = [], []
        for i in range(0, n, batch_size):
            xb, yb = X_shuffled[i:i + batch_size], y_shuffled[i:i + batch_size]
            loss, grads = model.loss(xb, yb)
            batch_losses.append(float(loss))
            sizes.append(len(xb))
            for k, v in model.params.items():
                model.params[k], configs[k] = rule(v, grads[k], configs[k])
        losses.append(float(np.average(batch_losses, weights=sizes)))
    return {"loss": losses}
