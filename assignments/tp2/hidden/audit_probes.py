"""Probes for ``grader audit tp2``: the inputs that tell a mutant of the reference from the reference.

Never shipped to students (``hidden/``). Same format as TP1's (``assignments/tp1/hidden/
audit_probes.py``): ``PROBES`` maps a graded name (a function, or a class for all its methods) to
probes ``probe(module, rng) -> value``, run on the reference and on a mutant with the same seed.
Layers run forward and backward together and return their inputs too; batch norm returns
``bn_param`` after the call, since the contract asks the forward to store the running statistics
there.

Inputs stay inside the contract (``/spec/tps.md``): batch norm with N = 2 and N > D, default and
explicit ``eps``/``momentum``, running statistics absent or given, train then test; dropout with
``p_drop`` 0 and 0.5, the same seed twice, test mode; L2 over weights and other parameters;
embeddings with repeated indices. The PyTorch part builds float64 tensors where it can, seeds
torch from ``rng``, trains on a few dozen samples and returns parameters and outputs.
"""
# CANARY-HIDDEN-TP2-AUDIT-5a07: the course's audit probes; never ship to students.

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# --- batch norm ---------------------------------------------------------------------------------


def _state(bn_param):
    return {key: np.copy(value) if isinstance(value, np.ndarray) else value
            for key, value in bn_param.items()}


def _batchnorm_train(m, rng, n, d, bn_param):
    x = rng.standard_normal((n, d)) * 3 + 1
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    out, cache = m.batchnorm_forward(x, gamma, beta, bn_param)
    dout = rng.standard_normal(out.shape)
    return out, m.batchnorm_backward(dout, cache), _state(bn_param), x, gamma, beta, dout


def batchnorm_train_defaults(m, rng):
    return _batchnorm_train(m, rng, 5, 3, {"mode": "train"})


def batchnorm_train_settings(m, rng):
    bn_param = {"mode": "train", "eps": 0.5, "momentum": 0.3,
                "running_mean": rng.standard_normal(4), "running_var": rng.random(4) + 0.5}
    return _batchnorm_train(m, rng, 3, 4, bn_param)


def batchnorm_two_rows(m, rng):
    return _batchnorm_train(m, rng, 2, 3, {"mode": "train", "momentum": 0.5})


def batchnorm_test_mode(m, rng):
    bn_param = {"mode": "test", "eps": 0.2, "running_mean": rng.standard_normal(3),
                "running_var": rng.random(3) + 0.5}
    x, gamma, beta = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    out, _ = m.batchnorm_forward(x, gamma, beta, bn_param)
    return out, _state(bn_param), x, gamma, beta


def batchnorm_test_defaults(m, rng):
    x, gamma, beta = rng.standard_normal((4, 2)), rng.standard_normal(2), rng.standard_normal(2)
    out, _ = m.batchnorm_forward(x, gamma, beta, {"mode": "test"})
    return out, x


def batchnorm_train_then_test(m, rng):
    bn_param = {"mode": "train"}
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    seen = []
    for _ in range(2):
        seen.append(m.batchnorm_forward(rng.standard_normal((6, 3)) + 2, gamma, beta, bn_param)[0])
    bn_param["mode"] = "test"
    seen.append(m.batchnorm_forward(rng.standard_normal((2, 3)), gamma, beta, bn_param)[0])
    return seen, _state(bn_param)


def batchnorm_rejects_unknown_mode(m, rng):
    return m.batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), {"mode": "eval"})


# --- dropout, L2, embeddings --------------------------------------------------------------------


def _dropout(m, rng, shape, p_drop, mode, seed):
    x = rng.standard_normal(shape)
    out, cache = m.dropout_forward(x, p_drop, mode, seed)
    dout = rng.standard_normal(shape)
    return out, m.dropout_backward(dout, cache), x, dout


def dropout_train(m, rng):
    return _dropout(m, rng, (4, 5), 0.3, "train", 1)


def dropout_half(m, rng):
    return _dropout(m, rng, (2, 3, 4), 0.5, "train", 7)


def dropout_keep_all(m, rng):
    return _dropout(m, rng, (3, 4), 0.0, "train", 2)


def dropout_test_mode(m, rng):
    return _dropout(m, rng, (3, 2), 0.4, "test", 3)


def dropout_same_seed_same_mask(m, rng):
    x = rng.standard_normal((5, 4))
    first, _ = m.dropout_forward(x, 0.5, "train", 11)
    second, _ = m.dropout_forward(x, 0.5, "train", 11)
    return first, second, x


def dropout_rejects_unknown_mode(m, rng):
    return m.dropout_forward(np.ones(3), 0.5, "eval", 0)


def _l2(m, rng, keys, reg):
    params = {key: rng.standard_normal((3, 2) if key.startswith("W") else 2) for key in keys}
    loss, grads = m.l2_penalty(params, reg)
    return loss, grads, params


def l2_penalty_weights_and_biases(m, rng):
    return _l2(m, rng, ["W1", "b1", "W2", "b2", "gamma1"], 0.3)


def l2_penalty_no_regularisation(m, rng):
    return _l2(m, rng, ["W1", "b1"], 0.0)


def l2_penalty_only_biases(m, rng):
    return _l2(m, rng, ["b1", "beta"], 2.0)


def _embedding(m, rng, idx, vocab, dim):
    W = rng.standard_normal((vocab, dim))
    out, cache = m.embedding_forward(idx, W)
    dout = rng.standard_normal(out.shape)
    return out, m.embedding_backward(dout, cache), idx, W, dout


def embedding_repeated_indices(m, rng):
    return _embedding(m, rng, np.array([[0, 3, 3], [4, 0, 3]]), 5, 4)


def embedding_one_token(m, rng):
    return _embedding(m, rng, np.array([[2]]), 3, 2)


def embedding_all_the_same(m, rng):
    return _embedding(m, rng, np.full((3, 4), 1), 2, 3)


# --- PyTorch ------------------------------------------------------------------------------------


def _seed(rng):
    torch.manual_seed(int(rng.integers(2**31)))


def _observable(model):
    """What the contract lets a check see of a model: its mode, its parameters and buffers in
    order (not their names: how the layers are stored is free)."""
    return {"training": model.training,
            "parameters": [p.detach().clone() for p in model.parameters()],
            "buffers": [b.detach().clone() for b in model.buffers()]}


def _tensor(rng, *shape, grad=False):
    return torch.tensor(rng.standard_normal(shape), dtype=torch.float64, requires_grad=grad)


def _linear_function(m, rng, n, d, k):
    x, W, b = _tensor(rng, n, d, grad=True), _tensor(rng, d, k, grad=True), _tensor(rng, k, grad=True)
    out = m.LinearFunction.apply(x, W, b)
    out.backward(_tensor(rng, n, k))
    return out, x.grad, W.grad, b.grad


def linear_function_random(m, rng):
    return _linear_function(m, rng, 4, 3, 5)


def linear_function_batch_of_one(m, rng):
    return _linear_function(m, rng, 1, 2, 3)


def _classifier(m, rng, *args, **kwargs):
    _seed(rng)
    model = m.MLPClassifier(*args, **kwargs).double()
    x = _tensor(rng, 5, args[0])
    model.eval()
    evaluated = model(x)
    model.train()
    _seed(rng)
    return _observable(model), evaluated, model(x), sum(p.numel() for p in model.parameters())


def mlp_classifier_plain(m, rng):
    return _classifier(m, rng, 4, [6, 5], 3)


def mlp_classifier_no_hidden_layer(m, rng):
    return _classifier(m, rng, 3, [], 2)


def mlp_classifier_batchnorm_dropout(m, rng):
    return _classifier(m, rng, 4, [7], 3, p_drop=0.4, batchnorm=True)


def _loop_setup(rng, sizes=(4, 4, 3)):
    _seed(rng)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.3), nn.ReLU(), nn.Linear(4, 2)).double()
    loader = [(_tensor(rng, size, 3), torch.tensor(rng.integers(0, 2, size))) for size in sizes]
    return model, loader


def train_one_epoch_uneven_batches(m, rng):
    model, loader = _loop_setup(rng)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    loss = m.train_one_epoch(model, loader, optimizer, nn.CrossEntropyLoss())
    return loss, _observable(model)


def train_one_epoch_stale_gradients(m, rng):
    model, loader = _loop_setup(rng, sizes=(2, 5))
    for p in model.parameters():  # gradients left over from elsewhere must be zeroed first
        p.grad = torch.ones_like(p)
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = m.train_one_epoch(model, loader, optimizer, nn.CrossEntropyLoss(), device="cpu")
    return loss, _observable(model)


def evaluate_uneven_batches(m, rng):
    model, loader = _loop_setup(rng, sizes=(5, 2, 3))
    model.train()
    loss, accuracy = m.evaluate(model, loader, nn.CrossEntropyLoss())
    grads = [p.grad for p in model.parameters()]
    return loss, accuracy, grads, _observable(model)


def evaluate_single_batch(m, rng):
    model, loader = _loop_setup(rng, sizes=(6,))
    loss, accuracy = m.evaluate(model, loader, nn.CrossEntropyLoss(), device="cpu")
    return loss, accuracy, model.training


def fit_classifier_small(m, rng):
    X = rng.standard_normal((70, 4)).astype(np.float32)  # more than one batch of 64
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    model = m.fit_classifier(X, y, seed=3)
    with torch.no_grad():
        return _observable(model), model(torch.from_numpy(X))


def _recommender(m, rng, n_users, n_items, dim):
    _seed(rng)
    model = m.EmbeddingRecommender(n_users, n_items, dim)
    users = torch.tensor(rng.integers(0, n_users, 7))
    items = torch.tensor(rng.integers(0, n_items, 7))
    with torch.no_grad():
        for table in (model.user_bias, model.item_bias):  # zero at init: would hide bias bugs
            table.weight.normal_()
        model.mu.fill_(0.7)
    return _observable(model), model(users, items)


def embedding_recommender_random(m, rng):
    return _recommender(m, rng, 5, 4, 3)


def embedding_recommender_one_dim(m, rng):
    return _recommender(m, rng, 3, 6, 1)


def embedding_recommender_init(m, rng):
    _seed(rng)
    return _observable(m.EmbeddingRecommender(4, 3, 2))


def fit_recommender_small(m, rng):
    users, items = rng.integers(0, 6, 30), rng.integers(0, 5, 30)
    ratings = (3 + rng.standard_normal(30)).astype(np.float32)
    model = m.fit_recommender(users, items, ratings, 6, 5, seed=4)
    with torch.no_grad():
        return _observable(model), model(torch.tensor(users), torch.tensor(items))


# --- the table ----------------------------------------------------------------------------------

BATCHNORM = [batchnorm_train_defaults, batchnorm_train_settings, batchnorm_two_rows,
             batchnorm_test_mode, batchnorm_test_defaults, batchnorm_train_then_test,
             batchnorm_rejects_unknown_mode]
DROPOUT = [dropout_train, dropout_half, dropout_keep_all, dropout_test_mode,
           dropout_same_seed_same_mask, dropout_rejects_unknown_mode]
EMBEDDING = [embedding_repeated_indices, embedding_one_token, embedding_all_the_same]

PROBES = {
    "batchnorm_forward": BATCHNORM,
    "batchnorm_backward": BATCHNORM,
    "dropout_forward": DROPOUT,
    "dropout_backward": DROPOUT,
    "l2_penalty": [l2_penalty_weights_and_biases, l2_penalty_no_regularisation,
                   l2_penalty_only_biases],
    "embedding_forward": EMBEDDING,
    "embedding_backward": EMBEDDING,
    "LinearFunction": [linear_function_random, linear_function_batch_of_one],
    "MLPClassifier": [mlp_classifier_plain, mlp_classifier_no_hidden_layer,
                      mlp_classifier_batchnorm_dropout],
    "train_one_epoch": [train_one_epoch_uneven_batches, train_one_epoch_stale_gradients],
    "evaluate": [evaluate_uneven_batches, evaluate_single_batch],
    "fit_classifier": [fit_classifier_small],
    "EmbeddingRecommender": [embedding_recommender_random, embedding_recommender_one_dim,
                             embedding_recommender_init],
    "fit_recommender": [fit_recommender_small],
}
