"""TP2 de Carla López: la varianza móvil de batch norm usa la varianza sesgada."""


from __future__ import annotations

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# Parte numpy
# ---------------------------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm sobre el eje del batch de ``x (N, D)``, con la semántica de ``BatchNorm1d``.

    En ``"train"`` normaliza con la media y la varianza sesgada del batch y guarda en
    ``bn_param`` las estadísticas móviles ``running = (1 - momentum) * running + momentum * stat``
    (con la varianza insesgada, ``N / (N - 1)`` veces la sesgada). En ``"test"`` normaliza con las
    estadísticas móviles y no las cambia.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mean) * inv_std
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var
        cache = (x_hat, gamma, inv_std)
    elif mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        cache = None
    else:
        raise ValueError(f"mode debe ser 'train' o 'test'; llegó {mode!r}")
    return gamma * x_hat + beta, cache


def batchnorm_backward(dout, cache):
    """Gradientes de batch norm (modo train), incluidos los que pasan por la media y la varianza.

    Con ``g = dout * gamma``: ``dx = inv_std / N * (N g - sum(g) - x_hat * sum(g * x_hat))``.
    """
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    g = dout * gamma
    dx = inv_std / n * (n * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, dgamma, dbeta


def dropout_forward(x, p_drop, mode, seed):
    """Dropout invertido: anula cada unidad con probabilidad ``p_drop`` y escala el resto.

    La máscara sale de ``np.random.default_rng(seed)``: la misma semilla da la misma máscara.
    En ``"test"`` es la identidad.
    """
    if mode == "train":
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)
        return x * mask, (mode, mask)
    if mode == "test":
        return x.copy(), (mode, None)
    raise ValueError(f"mode debe ser 'train' o 'test'; llegó {mode!r}")


def dropout_backward(dout, cache):
    """El gradiente pasa por la misma máscara (ya escalada) del forward; en test, sin cambios."""
    mode, mask = cache
    return dout * mask if mode == "train" else dout.copy()


def l2_penalty(params, reg):
    """``0.5 * reg * sum(W ** 2)`` sobre los parámetros cuyo nombre empieza con ``"W"``.

    Returns:
        ``(loss, grads)``: ``grads`` tiene una clave por parámetro (``reg * W`` para los pesos,
        ceros para el resto).
    """
    loss = 0.0
    grads = {}
    for key, value in params.items():
        if key.startswith("W"):
            loss += 0.5 * reg * float(np.sum(value * value))
            grads[key] = reg * value
        else:
            grads[key] = np.zeros_like(value)
    return loss, grads


def embedding_forward(idx, W):
    """``out[n, t] = W[idx[n, t]]``: forma ``(N, T, D)``."""
    return W[idx], (idx, W.shape, W.dtype)


def embedding_backward(dout, cache):
    """Acumula ``dout`` en las filas de ``dW`` (los índices repetidos suman)."""
    idx, shape, dtype = cache
    dW = np.zeros(shape, dtype=dtype)
    np.add.at(dW, idx.reshape(-1), dout.reshape(-1, shape[1]))
    return dW


# ---------------------------------------------------------------------------------------------
# Parte PyTorch
# ---------------------------------------------------------------------------------------------


class LinearFunction(torch.autograd.Function):
    """``x @ W + b`` con ``W (D, M)``, y su backward escrito a mano."""

    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W + b

    @staticmethod
    def backward(ctx, dout):
        x, W = ctx.saved_tensors
        return dout @ W.T, x.T @ dout, dout.sum(dim=0)


class MLPClassifier(nn.Module):
    """``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]`` por capa oculta y un ``Linear`` final."""

    def __init__(self, in_dim, hidden, n_classes, p_drop=0.0, batchnorm=False):
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_dim
        for width in hidden:
            layers.append(nn.Linear(prev, width))
            if batchnorm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if p_drop > 0:
                layers.append(nn.Dropout(p_drop))
            prev = width
        layers.append(nn.Linear(prev, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def train_one_epoch(model, loader, optimizer, loss_fn, device="cpu"):
    """Una pasada por ``loader``; devuelve la pérdida media por muestra de la época."""
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


def evaluate(model, loader, loss_fn, device="cpu"):
    """Pérdida media por muestra y exactitud (fracción en [0, 1]), sin gradientes."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += loss_fn(logits, y).item() * len(y)
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
    return total / count, correct / count


def _batches(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def fit_classifier(X, y, *, seed=0, device="cpu"):
    """Una red 128-ReLU entrenada con Adam, batches de 64 mezclados con su semilla."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    X = torch.as_tensor(X, dtype=torch.float32).to(device)
    y = torch.as_tensor(y, dtype=torch.int64).to(device)
    model = nn.Sequential(nn.Linear(X.shape[1], 128), nn.ReLU(),
                          nn.Linear(128, int(y.max()) + 1)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(30):
        for idx in _batches(len(y), 64, generator):
            idx = idx.to(device)
            optimizer.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            optimizer.step()
    return model.eval()


class EmbeddingRecommender(nn.Module):
    """``rating = <u_user, v_item> + b_user + b_item + mu`` con embeddings de dimensión ``dim``."""

    def __init__(self, n_users, n_items, dim):
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.mu = nn.Parameter(torch.zeros(()))
        for table in (self.user, self.item):
            nn.init.normal_(table.weight, std=0.1)
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)

    def forward(self, user_idx, item_idx):
        dot = (self.user(user_idx) * self.item(item_idx)).sum(dim=1)
        bias = self.user_bias(user_idx).squeeze(1) + self.item_bias(item_idx).squeeze(1)
        return dot + bias + self.mu


def fit_recommender(user_idx, item_idx, ratings, n_users, n_items, *, seed=0, device="cpu"):
    """Entrena un ``EmbeddingRecommender`` (dim 4) con Adam de batch completo y penalización L2
    sobre los embeddings y sesgos usados (sin ella, los pares poco vistos se sobreajustan)."""
    torch.manual_seed(seed)
    users = torch.as_tensor(user_idx, dtype=torch.int64).to(device)
    items = torch.as_tensor(item_idx, dtype=torch.int64).to(device)
    target = torch.as_tensor(ratings, dtype=torch.float32).to(device)
    model = EmbeddingRecommender(n_users, n_items, 4).to(device)
    with torch.no_grad():
        model.mu.fill_(float(target.mean()))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _step in range(200):
        optimizer.zero_grad()
        pred = model(users, items)
        penalty = sum(table(idx).pow(2).sum(dim=1).mean() for table, idx in (
            (model.user, users), (model.item, items), (model.user_bias, users),
            (model.item_bias, items)))
        loss = torch.mean((pred - target) ** 2) + 0.03 * penalty
        loss.backward()
        optimizer.step()
    return model.eval()
