"""The requests the trusted side may send a worker: one definition, used by both ends.

``remote.Session`` builds every request with ``request(op, id, **fields)`` and the worker reads
every request with ``parse(message)``: both check the op and its fields against ``OPS``, so a
request with a missing or extra field fails where it is made, and adding an op is one entry here
(plus the worker's handler of the same name).

A request is ``{"id": int, "op": str, **fields}``. A reply is ``{"id", "ok", "value" | "error",
"mutations", "stdout", "stderr"}``, plus on success ``run_s`` (seconds the operation itself ran)
and ``peak_rss_mb`` (statistics for the benchmark, never for a grade); once the student's module
is loaded, ``bindings`` (a number that changes when a module-level name is rebound) and, for a
``getattr`` of the module, ``cacheable`` (the value is a function or class). ``error`` is
``{"type", "message", "traceback"}``, all text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError


@dataclass(frozen=True)
class Op:
    """One kind of request: its name, its fields in order, and what its reply's value is."""

    name: str
    fields: tuple[str, ...]
    reply: str


OPS: dict[str, Op] = {op.name: op for op in (
    Op("hello", (), "versions of Python, numpy and (if imported) torch; pid and uid"),
    Op("load", ("path", "name"), "a ref to the imported student module"),
    Op("define", ("name", "source"),
       "a ref to a module run from trusted source (the assignment's worker helpers)"),
    Op("seed", ("seed", "torch"),
       "seeds random, numpy and (with torch) torch, TF32 off; returns what the worker runs on"),
    Op("getattr", ("target", "name"), "the attribute (data, or a ref)"),
    Op("setattr", ("target", "name", "value"), "None"),
    Op("getitem", ("target", "key"), "the item"),
    Op("setitem", ("target", "key", "value"), "None"),
    Op("call", ("target", "args", "kwargs"),
       "the return value; the reply's mutations hold the arguments the call changed in place"),
    Op("len", ("target",), "len(target)"),
)}


def request(op: str, request_id: int, **fields: Any) -> dict[str, Any]:
    """A request message; ``ValueError`` when ``fields`` are not exactly the op's (a bug of the
    trusted side, never the student's)."""
    spec = OPS.get(op)
    if spec is None:
        raise ValueError(f"operación desconocida {op!r}; las válidas son {sorted(OPS)}")
    if set(fields) != set(spec.fields):
        raise ValueError(f"la operación {op} lleva los campos {list(spec.fields)}; "
                         f"llegaron {sorted(fields)}")
    return {"id": request_id, "op": op, **fields}


def parse(message: Any) -> tuple[int, Op, tuple[Any, ...]]:
    """The id, op and field values (in the op's order) of a request message."""
    if not (type(message) is dict and type(message.get("id")) is int):
        raise ProtocolError("pedido sin id")
    op = message.get("op")
    spec = OPS.get(op) if type(op) is str else None
    if spec is None:
        raise ProtocolError(f"operación desconocida: {message.get('op')!r}")
    missing = [name for name in spec.fields if name not in message]
    if missing:
        raise ProtocolError(f"a la operación {spec.name} le faltan los campos {missing}")
    return message["id"], spec, tuple(message[name] for name in spec.fields)
