# ruff: noqa: E501  (the edits are exact source lines; wrapping them would hide what changes)
"""TP2 mutants: a correct solution (passes_all.py) with one realistic bug each.

Each entry: the bug in Spanish (the docstring of the generated file), exact find-and-replace
edits applied to ``tests/fixtures/tp2/passes_all.py``, and the exercises that must lose points.
passes_all's ``fit_classifier`` builds its own network and loop, so every mutant here costs
exactly its own exercise. (Named ``tp2_mutants`` so it cannot collide with tests/tp1/mutants.py
on ``sys.path``.)
"""

from __future__ import annotations

from typing import NamedTuple


class Mutant(NamedTuple):
    bug: str
    edits: list[tuple[str, str]]
    loses: list[str]


MUTANTS: dict[str, Mutant] = {
    # --- batch norm ---
    'fails_bn_unbiased_var_to_normalise': Mutant(
        'batchnorm_forward normaliza con la varianza insesgada (ddof=1).',
        [('        var = x.var(axis=0)\n', '        var = x.var(axis=0, ddof=1)\n'),
         ('momentum * var * n / (n - 1)\n', 'momentum * var\n')],
        ['batchnorm']),
    'fails_bn_biased_running_var': Mutant(
        'batchnorm_forward actualiza la varianza móvil con la varianza sesgada.',
        [('momentum * var * n / (n - 1)\n', 'momentum * var\n')],
        ['batchnorm']),
    'fails_bn_momentum_reversed': Mutant(
        'batchnorm_forward usa momentum al revés: running = momentum * running + (1 - momentum) * stat.',
        [('        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean\n        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var * n / (n - 1)\n',
          '        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean\n        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var * n / (n - 1)\n')],
        ['batchnorm']),
    'fails_bn_test_uses_batch_stats': Mutant(
        'batchnorm_forward en modo test normaliza con la media y varianza del batch.',
        [('        x_hat = (x - running_mean) / np.sqrt(running_var + eps)\n',
          '        x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)\n')],
        ['batchnorm']),
    'fails_bn_test_updates_running_stats': Mutant(
        'batchnorm_forward en modo test también actualiza las estadísticas móviles.',
        [('        x_hat = (x - running_mean) / np.sqrt(running_var + eps)\n        cache = None\n',
          '        x_hat = (x - running_mean) / np.sqrt(running_var + eps)\n        cache = None\n        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * x.mean(axis=0)\n')],
        ['batchnorm']),
    'fails_bn_backward_ignores_mean_and_var': Mutant(
        'batchnorm_backward trata la media y la varianza como constantes: dx = dout * gamma / std.',
        [('    dx = inv_std / n * (n * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))\n',
          '    dx = g * inv_std\n')],
        ['batchnorm']),
    'fails_bn_wrong_axis': Mutant(
        'batchnorm_forward calcula media y varianza sobre el eje de las características (axis=1).',
        [('        mean = x.mean(axis=0)\n        var = x.var(axis=0)\n',
          '        mean = x.mean(axis=1, keepdims=True)\n        var = x.var(axis=1, keepdims=True)\n'),
         ('        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean\n        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var * n / (n - 1)\n',
          '        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * x.mean(axis=0)\n        bn_param["running_var"] = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)\n')],
        ['batchnorm']),
    'fails_bn_eps_outside_sqrt': Mutant(
        'batchnorm_forward suma eps fuera de la raíz: 1 / (sqrt(var) + eps).',
        [('        inv_std = 1.0 / np.sqrt(var + eps)\n',
          '        inv_std = 1.0 / (np.sqrt(var) + eps)\n')],
        ['batchnorm']),
    # --- dropout ---
    'fails_dropout_not_inverted': Mutant(
        'dropout_forward no escala las unidades que quedan (dropout sin invertir).',
        [('        mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)\n',
          '        mask = (rng.random(x.shape) >= p_drop).astype(x.dtype)\n')],
        ['dropout']),
    'fails_dropout_p_is_keep_probability': Mutant(
        'dropout_forward usa p_drop como probabilidad de conservar.',
        [('        mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)\n',
          '        mask = (rng.random(x.shape) < p_drop) / (1.0 - p_drop)\n')],
        ['dropout']),
    'fails_dropout_active_in_test': Mutant(
        'dropout_forward escala también en modo test.',
        [('        return x.copy(), (mode, None)\n',
          '        return x * (1.0 - p_drop), (mode, None)\n')],
        ['dropout']),
    'fails_dropout_backward_new_mask': Mutant(
        'dropout_backward sortea una máscara nueva en vez de usar la del forward.',
        [('    mode, mask = cache\n    return dout * mask if mode == "train" else dout.copy()\n',
          '    mode, mask = cache\n    if mode == "train":\n        mask = (np.random.default_rng().random(dout.shape) >= 0.3) / 0.7\n    return dout * mask if mode == "train" else dout.copy()\n')],
        ['dropout']),
    'fails_dropout_ignores_seed': Mutant(
        'dropout_forward usa el generador global de numpy e ignora seed.',
        [('        rng = np.random.default_rng(seed)\n        mask = (rng.random(x.shape) >= p_drop) / (1.0 - p_drop)\n',
          '        mask = (np.random.random(x.shape) >= p_drop) / (1.0 - p_drop)\n')],
        ['dropout']),
    # --- L2 ---
    'fails_l2_penalises_biases': Mutant(
        'l2_penalty penaliza todos los parámetros, también los sesgos.',
        [('        if key.startswith("W"):\n', '        if True:\n')],
        ['l2']),
    'fails_l2_without_half': Mutant(
        'l2_penalty olvida el factor 0.5 de la pérdida.',
        [('            loss += 0.5 * reg * float(np.sum(value * value))\n',
          '            loss += reg * float(np.sum(value * value))\n')],
        ['l2']),
    'fails_l2_grads_only_for_weights': Mutant(
        'l2_penalty devuelve gradientes solo para los pesos.',
        [('        else:\n            grads[key] = np.zeros_like(value)\n', '')],
        ['l2']),
    # --- embeddings ---
    'fails_embedding_no_accumulation': Mutant(
        'embedding_backward asigna con dW[idx] += dout: los índices repetidos no acumulan.',
        [('    np.add.at(dW, idx.reshape(-1), dout.reshape(-1, shape[1]))\n',
          '    dW[idx.reshape(-1)] += dout.reshape(-1, shape[1])\n')],
        ['embedding']),
    'fails_embedding_grad_int_dtype': Mutant(
        'embedding_backward crea dW con el dtype entero de idx.',
        [('    dW = np.zeros(shape, dtype=dtype)\n', '    dW = np.zeros(shape, dtype=idx.dtype)\n'),
         ('    np.add.at(dW, idx.reshape(-1), dout.reshape(-1, shape[1]))\n',
          '    np.add.at(dW, idx.reshape(-1), dout.reshape(-1, shape[1]).astype(idx.dtype))\n')],
        ['embedding']),
    # --- LinearFunction ---
    'fails_linear_function_uses_autograd': Mutant(
        'LinearFunction.backward recalcula el forward y usa torch.autograd.grad.',
        [('        ctx.save_for_backward(x, W)\n', '        ctx.save_for_backward(x, W, b)\n'),
         ('        x, W = ctx.saved_tensors\n        return dout @ W.T, x.T @ dout, dout.sum(dim=0)\n',
          '        x, W, b = ctx.saved_tensors\n        with torch.enable_grad():\n            x, W, b = (t.detach().requires_grad_() for t in (x, W, b))\n            return torch.autograd.grad(x @ W + b, (x, W, b), dout)\n')],
        ['linear_function']),
    'fails_linear_function_steals_engine': Mutant(
        'LinearFunction.backward busca el motor de autograd en los frames de quien lo llama y usa torch.autograd.grad.',
        [('        ctx.save_for_backward(x, W)\n', '        ctx.save_for_backward(x, W, b)\n'),
         ('        x, W = ctx.saved_tensors\n        return dout @ W.T, x.T @ dout, dout.sum(dim=0)\n',
          '        import sys\n        from torch.autograd.variable import Variable\n        frame = sys._getframe()\n        while frame is not None:\n            for value in [*frame.f_locals.values(), *frame.f_globals.values()]:\n                if isinstance(value, torch._C._ImperativeEngine):\n                    Variable._execution_engine = value\n            frame = frame.f_back\n        x, W, b = ctx.saved_tensors\n        with torch.enable_grad():\n            x, W, b = (t.detach().requires_grad_() for t in (x, W, b))\n            return torch.autograd.grad(x @ W + b, (x, W, b), dout)\n')],
        ['linear_function']),
    'fails_linear_function_dW_transposed': Mutant(
        'LinearFunction.backward devuelve dW transpuesto (M, D).',
        [('        return dout @ W.T, x.T @ dout, dout.sum(dim=0)\n',
          '        return dout @ W.T, dout.T @ x, dout.sum(dim=0)\n')],
        ['linear_function']),
    'fails_linear_function_db_mean': Mutant(
        'LinearFunction.backward promedia db sobre el batch.',
        [('        return dout @ W.T, x.T @ dout, dout.sum(dim=0)\n',
          '        return dout @ W.T, x.T @ dout, dout.mean(dim=0)\n')],
        ['linear_function']),
    # --- MLPClassifier ---
    'fails_mlp_relu_before_batchnorm': Mutant(
        'MLPClassifier aplica ReLU antes de BatchNorm1d.',
        [('            if batchnorm:\n                layers.append(nn.BatchNorm1d(width))\n            layers.append(nn.ReLU())\n',
          '            layers.append(nn.ReLU())\n            if batchnorm:\n                layers.append(nn.BatchNorm1d(width))\n')],
        ['mlp_classifier']),
    'fails_mlp_ignores_dropout': Mutant(
        'MLPClassifier no agrega las capas Dropout.',
        [('            if p_drop > 0:\n                layers.append(nn.Dropout(p_drop))\n', '')],
        ['mlp_classifier']),
    'fails_mlp_dropout_keep_probability': Mutant(
        'MLPClassifier usa Dropout(1 - p_drop).',
        [('                layers.append(nn.Dropout(p_drop))\n',
          '                layers.append(nn.Dropout(1 - p_drop))\n')],
        ['mlp_classifier']),
    'fails_mlp_softmax_output': Mutant(
        'MLPClassifier devuelve probabilidades (softmax) en vez de logits.',
        [('        return self.net(x)\n', '        return torch.softmax(self.net(x), dim=1)\n')],
        ['mlp_classifier']),
    'fails_mlp_no_bias_with_batchnorm': Mutant(
        'MLPClassifier crea las Linear ocultas sin sesgo cuando hay batch norm.',
        [('            layers.append(nn.Linear(prev, width))\n',
          '            layers.append(nn.Linear(prev, width, bias=not batchnorm))\n')],
        ['mlp_classifier']),
    # --- train_one_epoch / evaluate ---
    'fails_train_no_zero_grad': Mutant(
        'train_one_epoch no pone los gradientes en cero: se acumulan entre batches.',
        [('        optimizer.zero_grad()\n        loss = loss_fn(model(x), y)\n',
          '        loss = loss_fn(model(x), y)\n')],
        ['train_loop']),
    'fails_train_mean_of_batch_means': Mutant(
        'train_one_epoch devuelve el promedio de las pérdidas de los batches (sin pesar por tamaño).',
        [('        total += loss.item() * len(y)\n        count += len(y)\n    return total / count\n',
          '        total += loss.item()\n        count += 1\n    return total / count\n')],
        ['train_loop']),
    'fails_train_no_model_train': Mutant(
        'train_one_epoch no llama a model.train().',
        [('    model.train()\n    total, count = 0.0, 0\n', '    total, count = 0.0, 0\n')],
        ['train_loop']),
    'fails_evaluate_no_model_eval': Mutant(
        'evaluate no llama a model.eval().',
        [('    model.eval()\n    total, correct, count = 0.0, 0, 0\n',
          '    total, correct, count = 0.0, 0, 0\n')],
        ['train_loop']),
    'fails_evaluate_calls_backward': Mutant(
        'evaluate calcula gradientes (sin no_grad) y llama a backward.',
        [('    with torch.no_grad():\n        for x, y in loader:\n            x, y = x.to(device), y.to(device)\n            logits = model(x)\n            total += loss_fn(logits, y).item() * len(y)\n',
          '    if True:\n        for x, y in loader:\n            x, y = x.to(device), y.to(device)\n            logits = model(x)\n            loss_fn(logits, y).backward()\n            total += loss_fn(logits, y).item() * len(y)\n')],
        ['train_loop']),
    'fails_evaluate_accuracy_percent': Mutant(
        'evaluate devuelve la exactitud en porcentaje (0-100).',
        [('    return total / count, correct / count\n', '    return total / count, 100 * correct / count\n')],
        ['train_loop']),
    # --- trained models ---
    'fails_fit_classifier_undertrained': Mutant(
        'fit_classifier entrena una sola época con un learning rate minúsculo.',
        [('    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)\n',
          '    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5, weight_decay=1e-4)\n'),
         ('    for _epoch in range(30):\n', '    for _epoch in range(1):\n')],
        ['fit_classifier']),
    'fails_recommender_output_column': Mutant(
        'EmbeddingRecommender.forward devuelve ratings de forma (N, 1).',
        [('        return dot + bias + self.mu\n', '        return (dot + bias + self.mu).unsqueeze(1)\n'),
         ('        pred = model(users, items)\n', '        pred = model(users, items).squeeze(1)\n')],
        ['fit_recommender']),
    'fails_recommender_predicts_the_mean': Mutant(
        'fit_recommender no entrena: el modelo predice casi la media global.',
        [('    for _step in range(200):\n', '    for _step in range(0):\n')],
        ['fit_recommender']),
}
