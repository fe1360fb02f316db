# ruff: noqa: E501  (the edits are exact source lines; wrapping them would hide what changes)
"""TP3 mutants: a correct solution (passes_all.py) with one realistic bug each.

Each entry: the bug in Spanish (the docstring of the generated file), exact find-and-replace
edits applied to ``tests/fixtures/tp3/passes_all.py``, and the exercises that must lose points:
the bug's own, plus ``rnn``/``lstm`` when the student's sequence function calls the buggy step,
and ``fit_*`` when the student's training function uses the buggy model class. Every other
exercise must keep its full points.

The module is not called ``mutants`` because tests/tp1 imports a module of that name from
sys.path.
"""

from __future__ import annotations

from typing import NamedTuple


class Mutant(NamedTuple):
    bug: str
    edits: list[tuple[str, str]]
    loses: list[str]


MUTANTS: dict[str, Mutant] = {
    # --- conv ------------------------------------------------------------------------------------
    'fails_conv_kernel_flipped': Mutant(
        'conv2d_forward da vuelta el kernel (convolución "verdadera" en vez de correlación cruzada).',
        [('    kernel = w\n', '    kernel = w[:, :, ::-1, ::-1]\n')],
        ['conv']),
    'fails_conv_pad_one_side': Mutant(
        'conv2d agrega el padding solo arriba y a la izquierda.',
        [('    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")\n    kernel = w\n',
          '    xp = np.pad(x, ((0, 0), (0, 0), (2 * pad, 0), (2 * pad, 0)), mode="constant")\n    kernel = w\n')],
        ['conv']),
    'fails_conv_pad_plus_one': Mutant(
        'conv2d_forward agrega pad + 1 ceros de cada lado.',
        [('    H_out = 1 + (H + 2 * pad - HH) // stride\n    W_out = 1 + (W + 2 * pad - WW) // stride\n    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")\n    kernel = w\n',
          '    pad = pad + 1\n    H_out = 1 + (H + 2 * pad - HH) // stride\n    W_out = 1 + (W + 2 * pad - WW) // stride\n    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")\n    kernel = w\n')],
        ['conv']),
    'fails_conv_output_size_off_by_one': Mutant(
        'conv2d_forward calcula H\' = (H + 2 pad - HH) // stride, sin el 1 +.',
        [('    H_out = 1 + (H + 2 * pad - HH) // stride\n    W_out = 1 + (W + 2 * pad - WW) // stride\n    xp',
          '    H_out = (H + 2 * pad - HH) // stride\n    W_out = (W + 2 * pad - WW) // stride\n    xp')],
        ['conv']),
    'fails_conv_bias_wrong_axis': Mutant(
        'conv2d_forward suma b sobre el último eje (W\') en vez del de los filtros.',
        [('    out += b.reshape(1, F, 1, 1)\n', '    out += b\n')],
        ['conv']),
    'fails_conv_backward_ignores_stride': Mutant(
        'conv2d_backward ubica las ventanas como si stride fuera 1.',
        [('            r, s = i * stride, j * stride\n            window = xp[:, :, r:r + HH, s:s + WW]\n',
          '            r, s = i, j\n            window = xp[:, :, r:r + HH, s:s + WW]\n')],
        ['conv']),
    'fails_conv_backward_assigns_overlaps': Mutant(
        'conv2d_backward asigna (=) el gradiente de cada ventana en dx: las superposiciones se pisan.',
        [('            dxp[:, :, r:r + HH, s:s + WW] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))\n',
          '            dxp[:, :, r:r + HH, s:s + WW] = np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))\n')],
        ['conv']),
    'fails_conv_backward_empty_slice_pad0': Mutant(
        'conv2d_backward recorta el padding con [pad:-pad]: con pad = 0 dx queda vacío.',
        [('    dx = dxp[:, :, pad:pad + H, pad:pad + W]\n', '    dx = dxp[:, :, pad:-pad, pad:-pad]\n')],
        ['conv']),
    'fails_conv_db_mean': Mutant(
        'conv2d_backward promedia db en vez de sumarlo sobre N, H\' y W\'.',
        [('    db = dout.sum(axis=(0, 2, 3))\n', '    db = dout.mean(axis=(0, 2, 3))\n')],
        ['conv']),
    'fails_conv_db_only_batch': Mutant(
        'conv2d_backward suma db solo sobre el batch (queda (F, H\', W\')).',
        [('    db = dout.sum(axis=(0, 2, 3))\n', '    db = dout.sum(axis=0)\n')],
        ['conv']),
    'fails_conv_uses_torch': Mutant(
        'conv2d_forward calcula la salida con torch.nn.functional.conv2d.',
        [('    out += b.reshape(1, F, 1, 1)\n    return out, (x, w, b, stride, pad)\n',
          '    out = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride, padding=pad).numpy()\n    return out, (x, w, b, stride, pad)\n')],
        ['conv']),
    # --- max pool --------------------------------------------------------------------------------
    'fails_maxpool_grad_to_every_position': Mutant(
        'maxpool2d_backward reparte dout a todas las posiciones de la ventana.',
        [('                    dx[n, c, r + p, s + q] += dout[n, c, i, j]\n',
          '                    dx[n, c, r:r + kernel, s:s + kernel] += dout[n, c, i, j]\n')],
        ['maxpool']),
    'fails_maxpool_overlaps_not_accumulated': Mutant(
        'maxpool2d_backward asigna (=) en vez de acumular: las ventanas superpuestas se pisan.',
        [('                    dx[n, c, r + p, s + q] += dout[n, c, i, j]\n',
          '                    dx[n, c, r + p, s + q] = dout[n, c, i, j]\n')],
        ['maxpool']),
    'fails_maxpool_grad_to_every_tie': Mutant(
        'maxpool2d_backward manda el gradiente a todos los máximos empatados.',
        [('                    p, q = np.unravel_index(np.argmax(window), window.shape)\n                    dx[n, c, r + p, s + q] += dout[n, c, i, j]\n',
          '                    mask = window == window.max()\n                    dx[n, c, r:r + kernel, s:s + kernel] += mask * dout[n, c, i, j]\n')],
        ['maxpool']),
    'fails_maxpool_tie_to_last': Mutant(
        'maxpool2d_backward manda el gradiente al último máximo empatado.',
        [('                    p, q = np.unravel_index(np.argmax(window), window.shape)\n',
          '                    last = window.size - 1 - np.argmax(window.ravel()[::-1])\n                    p, q = np.unravel_index(last, window.shape)\n')],
        ['maxpool']),
    # --- rnn_step --------------------------------------------------------------------------------
    'fails_rnn_step_weights_swapped': Mutant(
        'rnn_step_forward usa x @ Wh + h_prev @ Wx (Wx y Wh intercambiados).',
        [('    h = np.tanh(x @ Wx + h_prev @ Wh + b)\n', '    h = np.tanh(x @ Wh + h_prev @ Wx + b)\n')],
        ['rnn_step', 'rnn']),
    'fails_rnn_step_Wh_transposed': Mutant(
        'rnn_step_forward usa Wh transpuesta.',
        [('    h = np.tanh(x @ Wx + h_prev @ Wh + b)\n', '    h = np.tanh(x @ Wx + h_prev @ Wh.T + b)\n'),
         ('    dh_prev = da @ Wh.T\n    dWx = x.T @ da\n    dWh = h_prev.T @ da\n    db = da.sum(axis=0)\n    return dx, dh_prev, dWx, dWh, db\n',
          '    dh_prev = da @ Wh\n    dWx = x.T @ da\n    dWh = (h_prev.T @ da).T\n    db = da.sum(axis=0)\n    return dx, dh_prev, dWx, dWh, db\n')],
        ['rnn_step', 'rnn']),
    'fails_rnn_step_dWh_uses_h': Mutant(
        'rnn_step_backward calcula dWh con el estado nuevo h en vez de h_prev.',
        [('    dWh = h_prev.T @ da\n    db = da.sum(axis=0)\n    return dx, dh_prev, dWx, dWh, db\n',
          '    dWh = h.T @ da\n    db = da.sum(axis=0)\n    return dx, dh_prev, dWx, dWh, db\n')],
        ['rnn_step', 'rnn']),
    # --- rnn -------------------------------------------------------------------------------------
    'fails_rnn_bptt_no_carry': Mutant(
        'rnn_backward no suma el gradiente que vuelve desde t + 1.',
        [('        step = rnn_step_backward(dh[:, t, :] + dprev, cache[t])\n',
          '        step = rnn_step_backward(dh[:, t, :], cache[t])\n')],
        ['rnn']),
    'fails_rnn_grads_overwritten': Mutant(
        'rnn_backward pisa dWx en cada paso en vez de sumarlo.',
        [('        dWx += step[2]\n', '        dWx = step[2]\n')],
        ['rnn']),
    'fails_rnn_dh0_missing': Mutant(
        'rnn_backward devuelve dh0 en cero.',
        [('    dh0 = dprev\n', '    dh0 = np.zeros_like(dprev)\n')],
        ['rnn']),
    # --- lstm_step -------------------------------------------------------------------------------
    'fails_lstm_gate_order_ifog': Mutant(
        'lstm_step usa el orden de compuertas i, f, o, g (el de otros cursos), no el de PyTorch.',
        [('    g = np.tanh(a[:, 2 * Hd:3 * Hd])\n    o = sigmoid(a[:, 3 * Hd:])\n',
          '    o = sigmoid(a[:, 2 * Hd:3 * Hd])\n    g = np.tanh(a[:, 3 * Hd:])\n'),
         ('    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)])\n',
          '    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])\n')],
        ['lstm_step', 'lstm']),
    'fails_lstm_h_without_tanh_c': Mutant(
        'lstm_step_forward calcula h = o * c (falta tanh(c)).',
        [('    h = o * np.tanh(c)\n', '    h = o * c\n')],
        ['lstm_step', 'lstm']),
    'fails_lstm_step_backward_modifies_dc': Mutant(
        'lstm_step_backward hace dc += ...: modifica el dc de quien lo llama.',
        [('    dc_total = dc + dh * o * (1 - tc ** 2)\n',
          '    dc += dh * o * (1 - tc ** 2)\n    dc_total = dc\n')],
        ['lstm_step']),
    # --- lstm ------------------------------------------------------------------------------------
    'fails_lstm_dc_not_carried': Mutant(
        'lstm_backward no pasa el gradiente de c de t + 1 a t.',
        [('            dh_t, dnext_c, cache[t])\n', '            dh_t, np.zeros((N, Hd)), cache[t])\n')],
        ['lstm']),
    'fails_lstm_backward_modifies_dh': Mutant(
        'lstm_backward suma el gradiente que vuelve sobre una vista de dh: modifica el argumento.',
        [('        dh_t = dh[:, t, :] + dnext_h\n', '        dh_t = dh[:, t, :]\n        dh_t += dnext_h\n')],
        ['lstm']),
    # --- attention -------------------------------------------------------------------------------
    'fails_attention_scale_d': Mutant(
        'scaled_dot_product_attention divide por d en vez de sqrt(d).',
        [('    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)\n', '    scores = q @ k.transpose(0, 2, 1) / d\n')],
        ['attention']),
    'fails_attention_scale_sqrt_dv': Mutant(
        'scaled_dot_product_attention divide por sqrt(dv) (la dimensión de v).',
        [('    d = q.shape[-1]\n', '    d = v.shape[-1]\n')],
        ['attention']),
    'fails_attention_softmax_over_queries': Mutant(
        'scaled_dot_product_attention normaliza sobre las consultas (eje 1) en vez de las claves.',
        [('    row_max = scores.max(axis=-1, keepdims=True)\n', '    row_max = scores.max(axis=1, keepdims=True)\n'),
         ('    total = weights.sum(axis=-1, keepdims=True)\n', '    total = weights.sum(axis=1, keepdims=True)\n')],
        ['attention']),
    'fails_attention_mask_after_softmax': Mutant(
        'scaled_dot_product_attention aplica la máscara después del softmax.',
        [('    scores = np.where(mask, scores, -np.inf)\n', ''),
         ('    attn = weights / np.maximum(total, 1e-300)\n', '    attn = np.where(mask, weights / np.maximum(total, 1e-300), 0.0)\n')],
        ['attention']),
    'fails_attention_mask_inverted': Mutant(
        'scaled_dot_product_attention toma True como "no puede mirar".',
        [('    scores = np.where(mask, scores, -np.inf)\n', '    scores = np.where(mask, -np.inf, scores)\n')],
        ['attention']),
    'fails_attention_masked_row_nan': Mutant(
        'scaled_dot_product_attention da nan en una consulta sin claves permitidas.',
        [('    row_max[~np.isfinite(row_max)] = 0.0\n', ''),
         ('    attn = weights / np.maximum(total, 1e-300)\n', '    attn = weights / total\n')],
        ['attention']),
    'fails_attention_masked_row_uniform': Mutant(
        'scaled_dot_product_attention enmascara con -1e9: una consulta sin claves da pesos uniformes.',
        [('    scores = np.where(mask, scores, -np.inf)\n', '    scores = np.where(mask, scores, -1e9)\n')],
        ['attention']),
    'fails_attention_mask_needs_full_shape': Mutant(
        'scaled_dot_product_attention indexa con la máscara sin difundirla: solo acepta (N, Tq, Tk).',
        [('    mask = np.broadcast_to(mask, scores.shape)\n    scores = np.where(mask, scores, -np.inf)\n',
          '    scores = scores.copy()\n    scores[~mask] = -np.inf\n')],
        ['attention']),
    'fails_attention_uses_scipy_softmax': Mutant(
        'scaled_dot_product_attention usa scipy.special.softmax.',
        [('    weights = np.exp(scores - row_max)\n    total = weights.sum(axis=-1, keepdims=True)\n    attn = weights / np.maximum(total, 1e-300)\n',
          '    from scipy.special import softmax\n    attn = np.nan_to_num(softmax(scores, axis=-1))\n')],
        ['attention']),
    # --- SmallCNN / fit_cnn ----------------------------------------------------------------------
    'fails_small_cnn_softmax_output': Mutant(
        'SmallCNN devuelve probabilidades (softmax al final) en vez de logits.',
        [('        logits = self.fc2(x)\n        return logits\n',
          '        logits = self.fc2(x)\n        return torch.softmax(logits, dim=1)\n')],
        # This student's fit_cnn trains the buggy model: ~87 % instead of ~97 %, partial credit.
        # (elena_ruiz of examples/class/tp3 trains hers to the target: only the logits check
        # catches it there.)
        ['fit_cnn', 'small_cnn']),
    'fails_small_cnn_ignores_n_classes': Mutant(
        'SmallCNN tiene siempre 10 salidas, ignora n_classes.',
        [('        self.fc2 = nn.Linear(64, n_classes)\n', '        self.fc2 = nn.Linear(64, 10)\n')],
        ['small_cnn']),
    'fails_fit_cnn_untrained': Mutant(
        'fit_cnn devuelve la red sin entrenar (0 épocas).',
        [('    epochs = 10\n', '    epochs = 0\n')],
        ['fit_cnn']),
    'fails_fit_cnn_undertrained': Mutant(
        'fit_cnn entrena una sola época con un learning rate muy chico.',
        [('    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)\n    epochs = 10\n',
          '    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)\n    epochs = 1\n')],
        ['fit_cnn']),
    # --- SeqRegressor / fit_seq_regressor --------------------------------------------------------
    'fails_seq_regressor_not_batch_first': Mutant(
        'SeqRegressor crea la capa recurrente sin batch_first=True: mezcla las series del batch.',
        [('        self.rnn = layer(input_size, hidden, batch_first=True)\n',
          '        self.rnn = layer(input_size, hidden)\n')],
        ['seq_regressor', 'fit_seq_regressor']),
    'fails_seq_regressor_always_lstm': Mutant(
        'SeqRegressor usa siempre una LSTM, ignora cell.',
        [('        layer = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[cell]\n',
          '        layer = nn.LSTM\n')],
        ['seq_regressor']),
    'fails_seq_regressor_ignores_hidden': Mutant(
        'SeqRegressor usa siempre 32 unidades ocultas, ignora hidden.',
        [('        self.rnn = layer(input_size, hidden, batch_first=True)\n        self.out = nn.Linear(hidden, n_out)\n',
          '        self.rnn = layer(input_size, 32, batch_first=True)\n        self.out = nn.Linear(32, n_out)\n')],
        ['seq_regressor']),
    'fails_fit_seq_untrained': Mutant(
        'fit_seq_regressor devuelve el modelo sin entrenar (0 épocas).',
        [('    epochs = 20\n', '    epochs = 0\n'),
         ('                                                   total_steps=epochs * batches)\n',
          '                                                   total_steps=epochs * batches + 1)\n')],
        ['fit_seq_regressor']),
}
