"""Probes for ``grader audit tp1``: the inputs that tell a mutant of the reference from the reference.

Never shipped to students (``hidden/``). ``PROBES`` maps each graded name (a function, a method
``"MLP.loss"``, or the class ``"MLP"`` for all its methods) to probes ``probe(module, rng) ->
value``; ``grader.audit.oracle`` runs each on the reference and on a mutant with the same seed
and compares the values. A probe returns what the contract makes observable: every output, the
arguments it passed (a function must not modify them, an optimizer's ``config`` must hold its new
state), and a layer's forward and backward together (the cache is the student's own business,
only its effect on the backward counts).

Inputs stay inside the contract (``/spec/tps.md``), so a mutant these probes cannot tell apart is
one no check could catch either: non-square shapes with distinct sizes, batches of one, exact
zeros at the kinks of ReLU and leaky ReLU, logits of magnitude 1e3, ties, default and explicit
keyword arguments, chained optimizer steps. Each probe takes milliseconds; ``train`` and
``xor_network`` run on a few dozen samples.
"""
# CANARY-HIDDEN-TP1-AUDIT-3e8b: the course's audit probes; never ship to students.

from __future__ import annotations

import numpy as np

# --- layers: forward and backward together ------------------------------------------------------


def _linear(m, rng, n, d, k):
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, k)), rng.standard_normal(k)
    out, cache = m.linear_forward(x, W, b)
    dout = rng.standard_normal(out.shape)
    return out, m.linear_backward(dout, cache), x, W, b, dout


def linear_random(m, rng):
    return _linear(m, rng, 4, 3, 5)


def linear_batch_of_one(m, rng):
    return _linear(m, rng, 1, 2, 3)


def linear_wide(m, rng):
    return _linear(m, rng, 2, 6, 4)


def _elementwise(forward, backward, x, rng, **kwargs):
    out, cache = forward(x, **kwargs)
    dout = rng.standard_normal(x.shape)
    return out, backward(dout, cache), x, dout


def _with_zeros(rng, shape):
    x = rng.standard_normal(shape)
    x.flat[::3] = 0.0
    return x


def relu_random(m, rng):
    return _elementwise(m.relu_forward, m.relu_backward, _with_zeros(rng, (3, 4)), rng)


def relu_boundary(m, rng):
    x = np.array([[-2.0, -0.0, 0.0, 1e-300, -1e-300, 3.0]])
    return _elementwise(m.relu_forward, m.relu_backward, x, rng)


def relu_any_shape(m, rng):
    return _elementwise(m.relu_forward, m.relu_backward, _with_zeros(rng, (2, 3, 4)), rng)


def relu_large(m, rng):
    x = np.array([[-1000.0, 1000.0, -1e6], [1e6, 0.0, 5.0]])
    return _elementwise(m.relu_forward, m.relu_backward, x, rng)


def leaky_relu_default_alpha(m, rng):
    return _elementwise(m.leaky_relu_forward, m.leaky_relu_backward, _with_zeros(rng, (3, 4)), rng)


def leaky_relu_alpha(m, rng):
    x = _with_zeros(rng, (4, 3))
    return _elementwise(m.leaky_relu_forward, m.leaky_relu_backward, x, rng, alpha=0.2)


def leaky_relu_boundary(m, rng):
    x = np.array([[-2.0, -0.0, 0.0, 1e-300, -1e-300, 3.0]])
    return _elementwise(m.leaky_relu_forward, m.leaky_relu_backward, x, rng, alpha=0.3)


def leaky_relu_any_shape(m, rng):
    x = 10 * _with_zeros(rng, (2, 1, 5))
    return _elementwise(m.leaky_relu_forward, m.leaky_relu_backward, x, rng)


def sigmoid_random(m, rng):
    return _elementwise(m.sigmoid_forward, m.sigmoid_backward, rng.standard_normal((3, 5)), rng)


def sigmoid_large(m, rng):
    x = np.array([[-1000.0, -710.0, -40.0, 0.0, 40.0, 710.0, 1000.0]])
    return _elementwise(m.sigmoid_forward, m.sigmoid_backward, x, rng)


def sigmoid_any_shape(m, rng):
    return _elementwise(m.sigmoid_forward, m.sigmoid_backward, 4 * rng.standard_normal((2, 3, 2)),
                        rng)


def tanh_random(m, rng):
    return _elementwise(m.tanh_forward, m.tanh_backward, rng.standard_normal((4, 3)), rng)


def tanh_large(m, rng):
    x = np.array([[-1000.0, -20.0, 0.0, 0.5, 20.0, 1000.0]])
    return _elementwise(m.tanh_forward, m.tanh_backward, x, rng)


def tanh_any_shape(m, rng):
    return _elementwise(m.tanh_forward, m.tanh_backward, 2 * rng.standard_normal((3, 1, 2)), rng)


# --- softmax and losses -------------------------------------------------------------------------


def softmax_random(m, rng):
    scores = rng.standard_normal((4, 5))
    return m.softmax(scores), scores


def softmax_batch_of_one(m, rng):
    scores = rng.standard_normal((1, 3))
    return m.softmax(scores), scores


def softmax_large(m, rng):
    scores = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -1001.0, -1000.5]])
    return m.softmax(scores), scores


def softmax_ties(m, rng):
    scores = np.array([[2.0, 2.0, -1.0, 0.5], [0.0, 0.0, 0.0, 0.0], [-3.0, 1.0, 1.0, 1.0]])
    return m.softmax(scores), scores


def softmax_tall(m, rng):
    scores = 3 * rng.standard_normal((6, 2))
    return m.softmax(scores), scores


def _cross_entropy(m, scores, y):
    loss, dscores = m.softmax_cross_entropy(scores, y)
    return loss, dscores, scores, y


def softmax_cross_entropy_random(m, rng):
    return _cross_entropy(m, rng.standard_normal((5, 3)), rng.integers(0, 3, 5))


def softmax_cross_entropy_batch_of_one(m, rng):
    return _cross_entropy(m, rng.standard_normal((1, 4)), np.array([2]))


def softmax_cross_entropy_large(m, rng):
    scores = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [5.0, 5.0, 5.0]])
    return _cross_entropy(m, scores, np.array([1, 2, 0]))


def softmax_cross_entropy_wide(m, rng):
    return _cross_entropy(m, 2 * rng.standard_normal((3, 7)), np.array([6, 0, 3]))


def softmax_cross_entropy_same_label(m, rng):
    return _cross_entropy(m, rng.standard_normal((4, 3)), np.zeros(4, dtype=np.int64))


def _bce(m, z, y):
    loss, dz = m.bce_with_logits(z, y)
    return loss, dz, z, y


def bce_with_logits_random(m, rng):
    return _bce(m, rng.standard_normal(6), rng.integers(0, 2, 6).astype(np.float64))


def bce_with_logits_matrix(m, rng):
    return _bce(m, 3 * rng.standard_normal((3, 4)), rng.integers(0, 2, (3, 4)).astype(np.float64))


def bce_with_logits_large(m, rng):
    z = np.array([[-1000.0, 1000.0, -1000.0, 1000.0, 0.0, 30.0]])
    return _bce(m, z, np.array([[0.0, 1.0, 1.0, 0.0, 1.0, 0.0]]))


def bce_with_logits_integer_targets(m, rng):
    return _bce(m, rng.standard_normal((2, 3)), np.array([[0, 1, 1], [1, 0, 0]]))


def _mse(m, pred, target):
    loss, dpred = m.mse_loss(pred, target)
    return loss, dpred, pred, target


def mse_loss_random(m, rng):
    return _mse(m, rng.standard_normal(5), rng.standard_normal(5))


def mse_loss_matrix(m, rng):
    return _mse(m, rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))


def mse_loss_batch_of_one(m, rng):
    return _mse(m, np.array([[2.5]]), np.array([[-1.0]]))


def mse_loss_exact(m, rng):
    pred = rng.standard_normal((2, 3))
    return _mse(m, pred, pred.copy())


# --- update rules: next_w and the state left in config, over chained steps ------------------------


def _steps(rule, rng, config, steps=1, shape=(3, 4)):
    """``steps`` updates chaining ``config``; returns each ``next_w`` and ``config``, the inputs too."""
    w = rng.standard_normal(shape)
    seen = []
    for _ in range(steps):
        dw = rng.standard_normal(shape)
        w_in, dw_in = w.copy(), dw.copy()
        w, config = rule(w, dw, config)
        seen.append((w, _copy(config), w_in, dw_in))
    return seen


def _copy(config):
    return None if config is None else {key: np.copy(value) if isinstance(value, np.ndarray)
                                        else value for key, value in config.items()}


def sgd_default(m, rng):
    return _steps(m.sgd, rng, None)


def sgd_learning_rate(m, rng):
    return _steps(m.sgd, rng, {"learning_rate": 0.3, "other": 1}, steps=2)


def sgd_vector(m, rng):
    return _steps(m.sgd, rng, {}, shape=(5,))


def sgd_momentum_default(m, rng):
    return _steps(m.sgd_momentum, rng, None, steps=3)


def sgd_momentum_settings(m, rng):
    return _steps(m.sgd_momentum, rng, {"learning_rate": 0.1, "momentum": 0.5}, steps=3)


def sgd_momentum_given_velocity(m, rng):
    config = {"learning_rate": 0.05, "velocity": rng.standard_normal((2, 3))}
    return _steps(m.sgd_momentum, rng, config, steps=2, shape=(2, 3))


def rmsprop_default(m, rng):
    return _steps(m.rmsprop, rng, None, steps=3)


def rmsprop_settings(m, rng):
    config = {"learning_rate": 0.1, "decay_rate": 0.5, "epsilon": 0.1}
    return _steps(m.rmsprop, rng, config, steps=3)


def rmsprop_given_cache(m, rng):
    config = {"cache": rng.random((2, 3)) + 0.5}
    return _steps(m.rmsprop, rng, config, steps=2, shape=(2, 3))


def rmsprop_zero_gradient(m, rng):
    w = rng.standard_normal(4)
    next_w, config = m.rmsprop(w, np.zeros(4), None)
    return next_w, _copy(config), w


def adam_default(m, rng):
    return _steps(m.adam, rng, None, steps=3)


def adam_settings(m, rng):
    config = {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.7, "epsilon": 0.1}
    return _steps(m.adam, rng, config, steps=3)


def adam_given_state(m, rng):
    config = {"m": rng.standard_normal((2, 3)), "v": rng.random((2, 3)), "t": 5}
    return _steps(m.adam, rng, config, steps=2, shape=(2, 3))


# --- MLP ----------------------------------------------------------------------------------------


def mlp_init(m, rng):
    return m.MLP([5, 4, 3])


def mlp_init_deep(m, rng):
    return m.MLP([6, 5, 4, 3], activation="tanh", seed=7)


def mlp_init_no_hidden_layer(m, rng):
    return m.MLP([4, 2], activation="sigmoid", seed=3)


def mlp_rejects_unknown_activation(m, rng):
    return m.MLP([4, 3, 2], activation="softplus")


def mlp_rejects_single_layer_dim(m, rng):
    return m.MLP([4])


def _model(m, rng, dims, activation):
    """An MLP with random weights and biases (zero biases would hide bias bugs)."""
    model = m.MLP(dims, activation=activation, seed=1)
    model.params = {key: rng.standard_normal(value.shape) for key, value in model.params.items()}
    return model


def _mlp_loss(m, rng, dims, activation, n):
    model = _model(m, rng, dims, activation)
    X = rng.standard_normal((n, dims[0]))
    y = rng.integers(0, dims[-1], n)
    scores = model.loss(X)
    loss, grads = model.loss(X, y)
    return scores, loss, grads, model.params, X, y


def mlp_loss_relu(m, rng):
    return _mlp_loss(m, rng, [5, 4, 3], "relu", 6)


def mlp_loss_tanh_deep(m, rng):
    return _mlp_loss(m, rng, [3, 6, 5, 4], "tanh", 5)


def mlp_loss_sigmoid(m, rng):
    return _mlp_loss(m, rng, [4, 7, 2], "sigmoid", 3)


def mlp_loss_batch_of_one(m, rng):
    return _mlp_loss(m, rng, [3, 4, 5], "relu", 1)


def mlp_loss_no_hidden_layer(m, rng):
    return _mlp_loss(m, rng, [4, 3], "relu", 5)


# --- train and XOR ------------------------------------------------------------------------------


def _train(m, rng, n=23, **kwargs):
    X = rng.standard_normal((n, 4))
    y = rng.integers(0, 3, n)
    model = m.MLP([4, 5, 3], seed=1)
    history = m.train(model, X, y, **kwargs)
    return history, model.params, X, y


def _train_with(optimizer):
    def probe(m, rng):
        return _train(m, rng, optimizer=optimizer, learning_rate=0.05, batch_size=7, epochs=2,
                      seed=3)
    probe.__name__ = f"train_{optimizer}"
    return probe


def train_defaults(m, rng):
    return _train(m, rng, n=40)


def train_one_sample_batches(m, rng):
    return _train(m, rng, n=5, optimizer="sgd", learning_rate=0.1, batch_size=1, epochs=2, seed=1)


def train_batch_larger_than_data(m, rng):
    return _train(m, rng, n=6, optimizer="adam", learning_rate=0.01, batch_size=64, epochs=3)


def train_rejects_unknown_optimizer(m, rng):
    return _train(m, rng, optimizer="lbfgs")


def xor_network_default(m, rng):
    return m.xor_network()


def xor_network_seed_3(m, rng):
    return m.xor_network(seed=3)


def xor_network_seed_needing_a_restart(m, rng):
    # Seed 6's first initialisation does not converge within 500 steps: the restart runs.
    return m.xor_network(seed=6)


# --- the table ----------------------------------------------------------------------------------

LINEAR = [linear_random, linear_batch_of_one, linear_wide]
RELU = [relu_random, relu_boundary, relu_any_shape, relu_large]
LEAKY_RELU = [leaky_relu_default_alpha, leaky_relu_alpha, leaky_relu_boundary, leaky_relu_any_shape]
SIGMOID = [sigmoid_random, sigmoid_large, sigmoid_any_shape]
TANH = [tanh_random, tanh_large, tanh_any_shape]

PROBES = {
    "linear_forward": LINEAR,
    "linear_backward": LINEAR,
    "relu_forward": RELU,
    "relu_backward": RELU,
    "leaky_relu_forward": LEAKY_RELU,
    "leaky_relu_backward": LEAKY_RELU,
    "sigmoid_forward": SIGMOID,
    "sigmoid_backward": SIGMOID,
    "tanh_forward": TANH,
    "tanh_backward": TANH,
    "softmax": [softmax_random, softmax_batch_of_one, softmax_large, softmax_ties, softmax_tall],
    "softmax_cross_entropy": [softmax_cross_entropy_random, softmax_cross_entropy_batch_of_one,
                              softmax_cross_entropy_large, softmax_cross_entropy_wide,
                              softmax_cross_entropy_same_label],
    "bce_with_logits": [bce_with_logits_random, bce_with_logits_matrix, bce_with_logits_large,
                        bce_with_logits_integer_targets],
    "mse_loss": [mse_loss_random, mse_loss_matrix, mse_loss_batch_of_one, mse_loss_exact],
    "sgd": [sgd_default, sgd_learning_rate, sgd_vector],
    "sgd_momentum": [sgd_momentum_default, sgd_momentum_settings, sgd_momentum_given_velocity],
    "rmsprop": [rmsprop_default, rmsprop_settings, rmsprop_given_cache, rmsprop_zero_gradient],
    "adam": [adam_default, adam_settings, adam_given_state],
    # "MLP" runs for every method's mutants; "MLP.loss" only for those of loss.
    "MLP": [mlp_init, mlp_init_deep, mlp_init_no_hidden_layer, mlp_rejects_unknown_activation,
            mlp_rejects_single_layer_dim],
    "MLP.loss": [mlp_loss_relu, mlp_loss_tanh_deep, mlp_loss_sigmoid, mlp_loss_batch_of_one,
                 mlp_loss_no_hidden_layer],
    "train": [*(_train_with(name) for name in ("sgd", "sgd_momentum", "momentum", "rmsprop", "adam")),
              train_defaults, train_one_sample_batches, train_batch_larger_than_data,
              train_rejects_unknown_optimizer],
    "xor_network": [xor_network_default, xor_network_seed_3, xor_network_seed_needing_a_restart],
}
