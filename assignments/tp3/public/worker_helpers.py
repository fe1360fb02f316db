"""Ayudantes de las comprobaciones del TP3 que corren dentro del proceso de tu código.

Las comprobaciones corren en otro proceso y ven tus modelos como referencias remotas: para
inspeccionarlos (qué capas tienen, cuáles se usan en el forward) o evaluarlos en el dispositivo
donde están, llaman a estas funciones, que corren junto a tu ``tp3.py``. No contienen nada
secreto: ni datos de prueba ni etiquetas ni código de la solución; las etiquetas y los valores
esperados nunca salen del proceso de las comprobaciones.
"""

from __future__ import annotations

import torch
from torch import nn

# The recurrent layers a SeqRegressor may use for each ``cell`` of the contract.
RECURRENT = {"RNN": (nn.RNN, nn.RNNCell), "LSTM": (nn.LSTM, nn.LSTMCell),
             "GRU": (nn.GRU, nn.GRUCell)}


def is_module(obj) -> bool:
    """Si ``obj`` es un ``torch.nn.Module``."""
    return isinstance(obj, nn.Module)


def is_instance(obj, cls) -> bool:
    """``isinstance(obj, cls)`` (con ``cls`` una clase de tu módulo)."""
    return isinstance(cls, type) and isinstance(obj, cls)


def type_name(obj) -> str:
    """El nombre del tipo de ``obj``, para los mensajes."""
    return type(obj).__name__


def to_device(model, device: str):
    """Mueve ``model`` a ``device`` y lo devuelve."""
    return model.to(device)


def predict(model, x, batch_size: int = 512):
    """``model(x)`` en modo eval y sin gradientes, en el dispositivo del modelo; vuelve en CPU.

    ``x`` llega en CPU desde las comprobaciones; se manda al dispositivo del primer parámetro del
    modelo (CPU si no tiene parámetros).
    """
    model.eval()
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out = model(x[start:start + batch_size].to(device))
            if not isinstance(out, torch.Tensor):
                return out  # the check reports what arrived
            outputs.append(out.detach().to("cpu"))
    return torch.cat(outputs) if outputs else torch.empty(0)


def parameter_dtypes(model) -> list[str]:
    """Los dtypes distintos de los parámetros del modelo."""
    return sorted({str(p.dtype) for p in model.parameters()})


def recurrent_layers(model) -> list[dict]:
    """Las capas recurrentes de PyTorch que contiene ``model``: tipo, tamaños y ``batch_first``."""
    found = []
    for name, module in model.named_modules():
        for kinds in RECURRENT.values():
            if isinstance(module, kinds):
                found.append({"name": name, "type": type(module).__name__,
                              "input_size": int(module.input_size),
                              "hidden_size": int(module.hidden_size),
                              "batch_first": bool(getattr(module, "batch_first", True))})
    return found


def recurrent_calls(model, x) -> dict:
    """Cuántas veces se llama a cada tipo de capa recurrente durante ``model(x)`` (modo eval)."""
    counts: dict[str, int] = {}
    handles = []

    def hook(module, inputs, output):
        kind = type(module).__name__
        counts[kind] = counts.get(kind, 0) + 1

    for module in model.modules():
        if any(isinstance(module, kinds) for kinds in RECURRENT.values()):
            handles.append(module.register_forward_hook(hook))
    try:
        predict(model, x)
    finally:
        for handle in handles:
            handle.remove()
    return counts
