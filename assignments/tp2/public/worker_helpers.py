"""Ayudantes de las comprobaciones del TP2 que corren dentro del proceso de tu código.

Las comprobaciones se ejecutan en otro proceso y solo reciben datos (arrays, tensores, números).
Lo que tiene que vivir junto a tu código (un DataLoader, un optimizador, los ganchos que recorren
las capas de tu modelo) lo arman estas funciones. No contienen valores esperados ni soluciones:
todo juicio (pesos, exactitud, RMSE) se hace afuera, con los datos que devuelven.

Las capas de un modelo se identifican por el orden en que se llaman durante el forward (con
``forward hooks``), nunca por el nombre de los atributos ni por el orden del ``state_dict``: podés
guardar las capas como quieras (``nn.Sequential``, ``nn.ModuleList``, atributos sueltos).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

# Capas cuyos parámetros cargan las comprobaciones, y las que solo se describen.
_WITH_PARAMS = (nn.Linear, nn.BatchNorm1d)


def _model_device(model, fallback):
    """El dispositivo de los parámetros del modelo (o ``fallback`` si no tiene)."""
    for param in model.parameters():
        return param.device
    return torch.device(fallback)


@contextlib.contextmanager
def _mode(model, train):
    """Pone ``model`` en modo train/eval y al salir restaura el modo de cada submódulo."""
    saved = [(m, m.training) for m in model.modules()]
    model.train(train)
    try:
        yield
    finally:
        for module, training in saved:
            module.training = training


def _leaf_calls(model, x, *, train=False, pre=False):
    """Corre ``model(x)`` sin gradientes y devuelve ``[(módulo, entrada, salida)]`` de cada hoja
    en el orden en que se llamó. En modo eval (por defecto) batch norm no cambia sus estadísticas.
    """
    calls = []

    def hook(module, inputs, output):
        calls.append((module, inputs[0] if inputs else None, output))

    leaves = [m for m in model.modules() if not list(m.children()) and m is not model]
    if not leaves:
        leaves = [model]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad(), _mode(model, train):
            output = model(x.to(_model_device(model, "cpu")))
    finally:
        for handle in handles:
            handle.remove()
    return calls, output


def describe_layers(model, x):
    """Las capas hoja en el orden en que se llaman para la entrada ``x`` (modo eval).

    Returns:
        Una lista de dicts: ``{"type": "Linear", "in": D, "out": M, "bias": bool}``,
        ``{"type": "BatchNorm1d", "features": H}``, ``{"type": "Dropout", "p": p}`` u
        ``{"type": <nombre de la clase>}`` para cualquier otra.
    """
    calls, _ = _leaf_calls(model, x)
    layers = []
    for module, _, _ in calls:
        if isinstance(module, nn.Linear):
            layers.append({"type": "Linear", "in": module.in_features, "out": module.out_features,
                           "bias": module.bias is not None})
        elif isinstance(module, nn.BatchNorm1d):
            layers.append({"type": "BatchNorm1d", "features": module.num_features})
        elif isinstance(module, nn.Dropout):
            layers.append({"type": "Dropout", "p": float(module.p)})
        else:
            layers.append({"type": type(module).__name__})
    return layers


def _param_layers(model, x):
    calls, _ = _leaf_calls(model, x)
    seen, layers = set(), []
    for module, _, _ in calls:
        if isinstance(module, _WITH_PARAMS) and id(module) not in seen:
            seen.add(id(module))
            layers.append(module)
    return layers


def load_layers(model, x, params):
    """Copia ``params`` en las capas Linear y BatchNorm1d de ``model``, en orden de llamada.

    Args:
        params: una lista con un dict por capa: ``weight`` y ``bias`` (``(out, in)`` y ``(out,)``
            para Linear, como ``nn.Linear``), más ``running_mean`` y ``running_var`` para
            BatchNorm1d.
    """
    layers = _param_layers(model, x)
    if len(layers) != len(params):
        raise ValueError(f"el modelo llama {len(layers)} capas Linear/BatchNorm1d; "
                         f"se esperaban {len(params)}")
    with torch.no_grad():
        for module, values in zip(layers, params, strict=True):
            for name, value in values.items():
                target = getattr(module, name)
                target.copy_(torch.as_tensor(value).to(target.device, target.dtype))
    return len(layers)


def batchnorm_buffers(model, x):
    """``[(running_mean, running_var)]`` de cada BatchNorm1d, en orden de llamada (en CPU)."""
    return [(m.running_mean.detach().cpu().clone(), m.running_var.detach().cpu().clone())
            for m in _param_layers(model, x) if isinstance(m, nn.BatchNorm1d)]


def forward(model, x, train=False):
    """``model(x)`` sin gradientes en modo train o eval (restaura el modo), en CPU."""
    with torch.no_grad(), _mode(model, train):
        return model(x.to(_model_device(model, "cpu"))).detach().cpu()


def linear_inputs(model, x, train=False):
    """Lo que recibe cada capa Linear durante ``model(x)`` (en orden de llamada) y la salida."""
    calls, output = _leaf_calls(model, x, train=train)
    inputs = [inp.detach().cpu() for module, inp, _ in calls if isinstance(module, nn.Linear)]
    return inputs, output.detach().cpu()


def count_parameters(model):
    """Cantidad de números entrenables del modelo."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def to_device(model, device):
    return model.to(device)


# --- autograd a mano ---------------------------------------------------------------------------


class AutogradNoDisponible(RuntimeError):
    """Tu backward intentó usar autograd mientras se lo llamaba a mano."""


class _NoEngine:
    """Reemplaza al motor de autograd mientras corre tu backward: cualquier ``.backward()``,
    ``torch.autograd.grad`` o ``torch.autograd.backward`` pasan por él y lanzan un error."""

    def run_backward(self, *args, **kwargs):
        raise AutogradNoDisponible("LinearFunction.backward usó autograd (torch.autograd.grad o "
                                   ".backward()); calculá dx, dW y db a mano con dout, x y W")

    def __getattr__(self, name):
        raise AutogradNoDisponible("LinearFunction.backward usó el motor de autograd; calculá dx, "
                                   "dW y db a mano con dout, x y W")


def linear_function(function, x, W, b, dout, device="cpu"):
    """Aplica ``function`` (tu ``LinearFunction``) y llama a su backward con ``dout`` a mano.

    El backward se llama directamente (``out.grad_fn.apply(dout)``) sin motor de autograd: si lo
    usa, lanza ``AutogradNoDisponible`` y la llamada falla.

    Returns:
        ``{"out", "grads"}`` (tensores en CPU); ``grads`` es ``None`` si la salida no tiene
        ``grad_fn`` (no hay backward que llamar).
    """
    x, W, b = (t.detach().clone().to(device).requires_grad_() for t in (x, W, b))
    out = function.apply(x, W, b)
    result = {"out": out.detach().cpu() if isinstance(out, torch.Tensor) else out, "grads": None}
    if not (isinstance(out, torch.Tensor) and out.grad_fn is not None):
        return result
    from torch.autograd.variable import Variable

    # No frame, closure or global here keeps the real engine while the student's backward runs:
    # a backward that walked up to this frame could take it back (issue 15). The engine object
    # is a stateless handle on torch's one C++ engine, so a new one restores autograd exactly.
    Variable._execution_engine = _NoEngine()
    try:
        grads = out.grad_fn.apply(dout.to(device))
    finally:
        Variable._execution_engine = torch._C._ImperativeEngine()
    if isinstance(grads, torch.Tensor):
        grads = (grads,)
    result["grads"] = [g.detach().cpu() if isinstance(g, torch.Tensor) else g for g in grads]
    return result


def linear_function_through_autograd(function, x, W, b, dout, device="cpu"):
    """Gradientes de ``sum(function.apply(x, W, b) * dout)`` con ``backward()`` normal."""
    x, W, b = (t.detach().clone().to(device).requires_grad_() for t in (x, W, b))
    out = function.apply(x, W, b)
    (out * dout.to(device)).sum().backward()
    return [None if t.grad is None else t.grad.detach().cpu() for t in (x, W, b)]


# --- bucle de entrenamiento --------------------------------------------------------------------


def make_loop_model(weights, device="cpu", train=False):
    """``Linear -> BatchNorm1d -> ReLU -> Linear`` con los pesos dados (en el orden de
    ``model.parameters()``), en el modo pedido (por defecto eval)."""
    d, h = weights[0].shape[1], weights[0].shape[0]
    c = weights[4].shape[0]
    model = nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, c))
    with torch.no_grad():
        for param, value in zip(model.parameters(), weights, strict=True):
            param.copy_(torch.as_tensor(value))
    return model.to(device).train(train)


def make_loader(x, y, batch_size):
    """Un DataLoader sin mezclar: los batches salen en orden y el último puede ser más chico."""
    dataset = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)


def make_sgd(model, lr, momentum=0.0):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def make_cross_entropy():
    return nn.CrossEntropyLoss()


def set_grads(model, grads):
    """Pone ``grads[i]`` como ``.grad`` del i-ésimo parámetro."""
    for param, value in zip(model.parameters(), grads, strict=True):
        param.grad = torch.as_tensor(value).to(param.device, param.dtype).clone()


def model_state(model):
    """Parámetros, gradientes (o ``None``) y buffers del modelo, en CPU."""
    return {
        "params": [p.detach().cpu().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.detach().cpu().clone()
                  for p in model.parameters()],
        "buffers": [b.detach().cpu().clone() for b in model.buffers()],
    }


# --- modelos entrenados ------------------------------------------------------------------------


def predict(model, x, device="cpu"):
    """Logits de ``model`` en modo eval, sin gradientes, en CPU."""
    model.eval()
    with torch.no_grad():
        out = model(x.to(_model_device(model, device)))
    return out.detach().cpu() if isinstance(out, torch.Tensor) else out


def recommend(model, users, items, device="cpu"):
    """Predicciones de un recomendador en modo eval, sin gradientes, en CPU."""
    model.eval()
    where = _model_device(model, device)
    with torch.no_grad():
        out = model(users.to(where), items.to(where))
    return out.detach().cpu() if isinstance(out, torch.Tensor) else out
