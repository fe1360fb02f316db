# ruff: noqa: E501  (the edits are exact source lines; wrapping them would hide what changes)
"""TP1 mutants: a correct solution (passes_all.py) with one realistic bug each.

Each entry: the bug in Spanish (the docstring of the generated file), exact find-and-replace
edits applied to ``tests/fixtures/tp1/passes_all.py``, the exercises that must lose points, and
those it may lose on some students' inputs. Every other exercise must keep its full points.

``loses`` is the bug's own exercise plus the student's MLP, train or xor when the student's own
code calls the buggy function. ``train``'s update-rule checks give the student's model a synthetic
loss, so a bug in a layer or in ``MLP.loss`` never fails them; a bug in an optimizer, which the
student's ``train`` calls, does. ``train``'s learning checks (digits, history, the public nonlinear
problem) train the student's MLP with its own loss: a bug there that breaks learning loses
``train`` too. ``may_lose`` names the exercises whose loss depends on the student's inputs (the
digits split is drawn per student): the figures next to each say how often, over calibration draws.

``EXTRA_SUBMISSIONS`` are graded in the same batch (tests/mutant_batches.py): a ``train`` that sets
weights fitted offline to the public digits instead of training (issue 15).
"""

from __future__ import annotations

import base64
import importlib.util
import io
from pathlib import Path
from typing import NamedTuple

import numpy as np

from grader.datasets import digits

REPO = Path(__file__).parent.parent.parent
BASE = REPO / "tests" / "fixtures" / "tp1" / "passes_all.py"


class Mutant(NamedTuple):
    bug: str
    edits: list[tuple[str, str]]
    loses: list[str]
    may_lose: tuple[str, ...] = ()


MUTANTS: dict[str, Mutant] = {
    'fails_linear_db_mean': Mutant(
        'linear_backward promedia db sobre el batch en vez de sumarlo.',
        [
            ('    db = dout.sum(axis=0)\n',
             '    db = dout.mean(axis=0)\n'),
        ],
        ['linear', 'mlp']),
    'fails_linear_dW_transposed': Mutant(
        'linear_backward devuelve dW transpuesto (M, D).',
        [
            ('    dW = x.T @ dout\n',
             '    dW = dout.T @ x\n'),
        ],
        # train: W2's gradient has the wrong shape, so the learning checks crash.
        ['linear', 'mlp', 'train', 'xor']),
    'fails_linear_float32': Mutant(
        'linear_forward pasa todo a float32.',
        [
            ('    out = x @ W + b\n    return out, (x, W)\n',
             '    x, W, b = x.astype(np.float32), W.astype(np.float32), b.astype(np.float32)\n    out = x @ W + b\n    return out, (x, W)\n'),
        ],
        ['linear', 'mlp']),
    'fails_relu_grad_at_input_sign': Mutant(
        'relu_backward multiplica por el signo de x (da -dout si x < 0).',
        [
            ('    return dout * (x > 0)\n',
             '    return dout * np.sign(x)\n'),
        ],
        ['mlp', 'relu']),
    'fails_relu_mutates_input': Mutant(
        'relu_forward anula los negativos de x en el lugar.',
        [
            ('    out = np.maximum(x, 0)\n    return out, x\n',
             '    x[x < 0] = 0\n    out = x\n    return out, x\n'),
        ],
        ['relu']),
    'fails_leaky_relu_alpha_ignored': Mutant(
        'leaky_relu usa siempre 0.01, ignora alpha.',
        [
            ('    out = np.where(x > 0, x, alpha * x)\n',
             '    out = np.where(x > 0, x, 0.01 * x)\n'),
            ('    return np.where(x > 0, dout, alpha * dout)\n',
             '    return np.where(x > 0, dout, 0.01 * dout)\n'),
        ],
        ['leaky_relu']),
    'fails_sigmoid_unstable': Mutant(
        'sigmoid_forward calcula exp(x) / (1 + exp(x)): nan para x grande.',
        [
            ('def sigmoid_forward(x):\n    out = _sigmoid(x)\n',
             'def sigmoid_forward(x):\n    out = np.exp(x) / (1 + np.exp(x))\n'),
        ],
        ['sigmoid']),
    'fails_sigmoid_overflows': Mutant(
        'sigmoid_forward calcula 1 / (1 + exp(-x)): valores bien, pero exp(1000) desborda '
        '(el enunciado pide que sea estable, sin advertencias de overflow).',
        [
            ('def sigmoid_forward(x):\n    out = _sigmoid(x)\n',
             'def sigmoid_forward(x):\n    out = 1 / (1 + np.exp(-x))\n'),
        ],
        ['sigmoid']),
    'fails_bce_overflows_in_the_unused_branch': Mutant(
        'bce_with_logits elige con np.where entre dos fórmulas y calcula las dos: valores bien, '
        'pero exp(1000) desborda en la que descarta.',
        [
            ('    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))\n',
             '    loss = np.where(z >= 0, z * (1 - y) + np.log1p(np.exp(-z)), -z * y + np.log1p(np.exp(z)))\n'),
        ],
        ['bce']),
    'fails_tanh_grad_uses_input': Mutant(
        'tanh_backward usa la entrada: dout * (1 - x**2).',
        [
            ('    out = np.tanh(x)\n    return out, out\n',
             '    out = np.tanh(x)\n    return out, x\n'),
            ('    t = cache\n    return dout * (1 - t ** 2)\n',
             '    x = cache\n    return dout * (1 - x ** 2)\n'),
        ],
        ['mlp', 'tanh']),
    'fails_softmax_no_max_shift': Mutant(
        'softmax no resta el máximo: nan con logits de magnitud 1e3.',
        [
            ('    shifted = scores - scores.max(axis=-1, keepdims=True)\n',
             '    shifted = scores\n'),
        ],
        ['softmax']),
    'fails_softmax_wrong_axis': Mutant(
        'softmax normaliza sobre el eje 0 (columnas).',
        [
            ('    shifted = scores - scores.max(axis=-1, keepdims=True)\n    e = np.exp(shifted)\n    return e / e.sum(axis=-1, keepdims=True)\n',
             '    shifted = scores - scores.max(axis=0, keepdims=True)\n    e = np.exp(shifted)\n    return e / e.sum(axis=0, keepdims=True)\n'),
        ],
        ['softmax']),
    'fails_cross_entropy_sum_not_mean': Mutant(
        'softmax_cross_entropy suma sobre el batch en vez de promediar.',
        [
            ('    loss = -log_probs[np.arange(n), y].mean()\n',
             '    loss = -log_probs[np.arange(n), y].sum()\n'),
            ('    return float(loss), dscores / n\n',
             '    return float(loss), dscores\n'),
        ],
        ['cross_entropy', 'mlp']),
    'fails_bce_naive_log': Mutant(
        'bce_with_logits calcula log(sigmoid(z)): inf con logits de magnitud 1e3.',
        [
            ('    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))\n',
             '    p = _sigmoid(z)\n    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))\n'),
        ],
        ['bce']),
    'fails_mse_sum': Mutant(
        'mse_loss suma los errores en vez de promediarlos.',
        [
            ('    return float(np.mean(diff ** 2)), 2 * diff / diff.size\n',
             '    return float(np.sum(diff ** 2)), 2 * diff\n'),
        ],
        ['mse']),
    'fails_mse_grad_missing_2': Mutant(
        'mse_loss olvida el factor 2 del gradiente.',
        [
            ('    return float(np.mean(diff ** 2)), 2 * diff / diff.size\n',
             '    return float(np.mean(diff ** 2)), diff / diff.size\n'),
        ],
        ['mse']),
    'fails_sgd_mutates_w': Mutant(
        'sgd actualiza w en el lugar (w -= ...) y lo devuelve.',
        [
            ('    next_w = w - config["learning_rate"] * dw\n    return next_w, config\n',
             '    w -= config["learning_rate"] * dw\n    return w, config\n'),
        ],
        ['sgd']),
    'fails_momentum_velocity_not_stored': Mutant(
        'sgd_momentum no guarda la velocidad en config.',
        [
            ('    config["velocity"] = v\n',
             ''),
        ],
        ['momentum', 'train']),
    'fails_rmsprop_eps_inside_sqrt': Mutant(
        'rmsprop suma epsilon dentro de la raíz.',
        [
            ('np.sqrt(cache) + config["epsilon"]',
             'np.sqrt(cache + config["epsilon"])'),
        ],
        ['rmsprop', 'train']),
    'fails_adam_no_bias_correction': Mutant(
        'adam no corrige el sesgo de m y v.',
        [
            ('    m_hat = config["m"] / (1 - b1 ** t)\n    v_hat = config["v"] / (1 - b2 ** t)\n',
             '    m_hat = config["m"]\n    v_hat = config["v"]\n'),
        ],
        ['adam', 'train']),
    'fails_adam_t_not_incremented_first': Mutant(
        'adam incrementa t después de la corrección de sesgo.',
        [
            ('    config["t"] += 1\n    t, b1, b2 = config["t"], config["beta1"], config["beta2"]\n',
             '    t, b1, b2 = config["t"], config["beta1"], config["beta2"]\n'),
            ('    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])\n    return next_w, config\n',
             '    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])\n    config["t"] += 1\n    return next_w, config\n'),
        ],
        ['adam', 'train']),
    'fails_mlp_xavier_init': Mutant(
        'MLP inicializa con Xavier/Glorot N(0, 2/(fan_in + fan_out)) en vez de He.',
        [
            ('rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))',
             'rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))'),
        ],
        ['mlp']),
    'fails_mlp_activation_after_last': Mutant(
        'MLP aplica la activación también después de la última capa.',
        [
            ('            if i < self.num_layers:\n                h, act_cache = act_forward(h)\n',
             '            h, act_cache = act_forward(h)\n'),
            ('            if i < self.num_layers:\n                dh = act_backward(dh, act_cache)\n',
             '            dh = act_backward(dh, act_cache)\n'),
        ],
        # Trained through a ReLU on the scores, the weights score below 93% on digits with the
        # contract's forward on 113 of 200 draws (76% at worst), and below 95% on the public
        # nonlinear problem on 28 of 200.
        ['mlp'], may_lose=('train',)),
    'fails_mlp_backward_skips_activation': Mutant(
        'MLP.loss no pasa el gradiente por la derivada de la activación (train es correcto).',
        [
            ('            if i < self.num_layers:\n                dh = act_backward(dh, act_cache)\n',
             ''),
        ],
        # A wrong gradient that still learns: on 250 draws digits scores 93.3% at worst and
        # the public nonlinear problem 99% at worst; train keeps its points.
        ['mlp']),
    'fails_mlp_zero_grads_and_train_does_nothing': Mutant(
        'MLP.loss devuelve gradientes en cero y train no actualiza los parámetros.',
        [
            ('        return loss, grads\n',
             '        return loss, {k: np.zeros_like(v) for k, v in self.params.items()}\n'),
            ('                model.params[k], configs[k] = update(model.params[k], grads[k], configs[k])\n',
             '                pass\n'),
        ],
        ['mlp', 'train']),
    'fails_train_no_shuffle': Mutant(
        'train recorre los datos siempre en el mismo orden (no baraja).',
        [
            ('        order = rng.permutation(n)\n',
             '        order = np.arange(n)\n'),
        ],
        ['train']),
    'fails_train_optimizer_state_reset': Mutant(
        'train crea un config nuevo en cada paso: pierde el estado del optimizador.',
        [
            ('                model.params[k], configs[k] = update(model.params[k], grads[k], configs[k])\n',
             '                model.params[k], _ = update(model.params[k], grads[k],\n                                            {"learning_rate": learning_rate})\n'),
        ],
        ['train']),
    'fails_train_params_not_updated': Mutant(
        'train guarda el paso en una variable local: model.params no cambia.',
        [
            ('                model.params[k], configs[k] = update(model.params[k], grads[k], configs[k])\n',
             '                w = model.params[k]\n                w, configs[k] = update(w, grads[k], configs[k])\n'),
        ],
        ['train']),
    'fails_xor_returns_untrained': Mutant(
        'xor_network devuelve los parámetros iniciales, sin entrenar.',
        [
            ('        params = _xor_attempt(rng)\n',
             '        params = _xor_attempt(rng, steps=0)\n'),
        ],
        ['xor']),
}


OFFLINE = "fails_train_sets_weights_fitted_offline"


def offline_weights() -> bytes:
    """What a student could fit at home: the reference's MLP [64, 64, 10] trained with the
    digits check's recipe on all of the public digits, standardised with their own statistics."""
    spec = importlib.util.spec_from_file_location(
        "tp1_reference", REPO / "reference_solutions" / "tp1" / "tp1.py")
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    X, y = digits()
    std = X.std(axis=0)
    std[std == 0] = 1.0
    model = reference.MLP([64, 64, 10], seed=0)
    reference.train(model, (X - X.mean(axis=0)) / std, y, optimizer="adam", learning_rate=1e-3,
                    batch_size=32, epochs=30, seed=0)
    buffer = io.BytesIO()
    np.savez(buffer, **model.params)
    return buffer.getvalue()


def offline_source() -> str:
    """passes_all whose train, asked for the digits check's network, sets the offline weights and
    a made-up history instead of training on the X it gets; every other call trains."""
    body = BASE.read_text()
    body = body[body.index('"""', 3) + 3:]
    head = "    update = _OPTIMIZERS[optimizer]\n"  # train's first line
    assert body.count(head) == 1
    payload = base64.b64encode(offline_weights()).decode()
    shortcut = (
        "    if model.params[\"W1\"].shape == (64, 64) and epochs == 30:\n"
        "        import base64, io\n"
        f"        with np.load(io.BytesIO(base64.b64decode('{payload}'))) as saved:\n"
        "            model.params = {k: saved[k].copy() for k in saved.files}\n"
        "        return {\"loss\": list(np.linspace(2.0, 0.05, epochs))}\n")
    return ('"""TP1 correcto salvo train: con la red del chequeo de digits pone pesos entrenados de '
            'antemano con todo digits, sin mirar X."""' + body.replace(head, head + shortcut))


EXTRA_SUBMISSIONS = {OFFLINE: offline_source}
