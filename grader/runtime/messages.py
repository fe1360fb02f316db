"""The messages between the trusted side and a worker: one definition, used by both ends.

Requests: ``grader.engine.session.Session`` builds every request with ``request(op, id,
**fields)`` and the worker reads every request with ``parse(message)``: both check the op and its
fields against ``OPS``, so a request with a missing or extra field fails where it is made, and
adding an op is one entry here (plus the worker's handler of the same name, ``_op_NAME``).

A request is ``{"id": int, "op": str, **fields}``, plus ``"reseed": [seed, torch]`` when the
worker must reset its random state (as op ``seed`` does) before running it: a check's first
request carries its seed instead of a round trip of its own (issue 23). Replies: the worker builds them with
``success``/``failure`` (adding ``stdout`` and ``stderr``, the output captured during the
operation, and ``peak_rss_mb``), and the trusted side reads each one with ``parse_reply`` into a
``Reply``, which says what every field is. Nothing of a reply is trusted before that check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    Op("getattrs", ("target", "names"),
       "{name: ref} for each of names that the module target binds to a function or class "
       "(what getattr would answer, for the names the checks will ask for: issue 23)"),
    Op("setattr", ("target", "name", "value"), "None"),
    Op("getitem", ("target", "key"), "the item"),
    Op("setitem", ("target", "key", "value"), "None"),
    Op("call", ("target", "args", "kwargs"),
       "the return value; the reply's mutations hold the arguments the call changed in place"),
    Op("call_many", ("target", "calls", "limits", "pick"),
       "[entries, error, over_budget]: an entry [value, mutations] per call run, in order, as "
       "K `call` requests would give them (value indexed by pick's keys in turn: only the part "
       "the trusted side will look at travels; an index that fails is that call's error); the "
       "calls stop at the first that raises (error: "
       "ERROR_FIELDS, its index is len(entries)) or outruns limits' cpu_s or wall_s "
       "(over_budget: 'cpu' or 'wall', else ''), or "
       "before one whose reply could pass limits' bytes, elements or copied bytes (the trusted "
       "side sends the rest in another request)"),
    Op("steps", ("steps", "limits"),
       "like call_many's reply, an entry [value, mutations] per step run: steps are "
       "[op, fields, links], op one of STEP_OPS with that op's fields, run in order; each link "
       "[path, step, keys] puts an earlier step's result (indexed by keys) at path in the "
       "fields ([\"target\"], [\"value\"], [\"args\", i] or [\"kwargs\", name]), so "
       "dependent calls travel together (issue 23); each step has limits' cpu_s and wall_s"),
    Op("len", ("target",), "len(target)"),
)}
STEP_OPS = ("call", "getattr", "setattr")
"""What a step of ``steps`` may be."""
BATCH_LIMITS = ("bytes", "elements", "copied", "cpu_s", "wall_s")
"""The ``limits`` of a ``call_many``: the reply's budgets (``protocol.Decoder``'s) and each
call's CPU and wall-clock seconds."""


def request(op: str, request_id: int, *, reseed: tuple[int, bool] | None = None,
            **fields: Any) -> dict[str, Any]:
    """A request message; ``ValueError`` when ``fields`` are not exactly the op's (a bug of the
    trusted side, never the student's). ``reseed``: ``(seed, torch)`` to apply first."""
    spec = OPS.get(op)
    if spec is None:
        raise ValueError(f"operación desconocida {op!r}; las válidas son {sorted(OPS)}")
    if set(fields) != set(spec.fields):
        raise ValueError(f"la operación {op} lleva los campos {list(spec.fields)}; "
                         f"llegaron {sorted(fields)}")
    message = {"id": request_id, "op": op, **fields}
    if reseed is not None:
        message["reseed"] = [reseed[0], reseed[1]]
    return message


def parse(message: Any) -> tuple[int, Op, tuple[Any, ...], tuple[int, bool] | None]:
    """The id, op, field values (in the op's order) and reseed of a request message."""
    if not (type(message) is dict and type(message.get("id")) is int):
        raise ProtocolError("pedido sin id")
    op = message.get("op")
    spec = OPS.get(op) if type(op) is str else None
    if spec is None:
        raise ProtocolError(f"operación desconocida: {message.get('op')!r}")
    missing = [name for name in spec.fields if name not in message]
    if missing:
        raise ProtocolError(f"a la operación {spec.name} le faltan los campos {missing}")
    reseed = message.get("reseed")
    if reseed is not None and not (type(reseed) is list and len(reseed) == 2
                                   and type(reseed[0]) is int and type(reseed[1]) is bool):
        raise ProtocolError("reseed mal formado")
    return (message["id"], spec, tuple(message[name] for name in spec.fields),
            None if reseed is None else (reseed[0], reseed[1]))


# --- replies ----------------------------------------------------------------------------------


ERROR_FIELDS = ("type", "message", "traceback")


@dataclass(frozen=True)
class Reply:
    """A worker's reply, checked (``parse_reply``): what the trusted side may rely on."""

    id: int
    ok: bool
    value: Any = None
    mutations: dict[str, Any] = field(default_factory=dict)
    """Arguments a call changed in place, by position (``"0"``) or keyword."""
    error: dict[str, str] | None = None
    """On failure: ``{"type", "message", "traceback"}``, all text."""
    stdout: str = ""
    stderr: str = ""
    bindings: int | None = None
    """Once the student's module is loaded: changes when a module-level name is rebound."""
    cacheable: bool = False
    """For a ``getattr`` of the module: the value is a function or class."""
    run_s: float = 0.0
    """Seconds the operation ran, as the worker says: a statistic, never graded."""
    peak_rss_mb: int = 0
    """The worker's peak memory, as it says: a statistic, never graded."""
    seeded: dict[str, Any] | None = None
    """For a request with ``reseed``: what the seed op would have answered."""


def success(request_id: int, value: Any, mutations: dict[str, Any], run_s: float, *,
            bindings: int | None = None, cacheable: bool | None = None) -> dict[str, Any]:
    """The reply message of an operation that returned ``value``."""
    reply = {"id": request_id, "ok": True, "value": value, "mutations": mutations, "run_s": run_s}
    if bindings is not None:
        reply["bindings"] = bindings
    if cacheable is not None:
        reply["cacheable"] = cacheable
    return reply


def failure(request_id: int, error: dict[str, str]) -> dict[str, Any]:
    """The reply message of an operation that raised (``error``: ``ERROR_FIELDS``)."""
    return {"id": request_id, "ok": False, "error": error, "mutations": {}}


def parse_reply(message: Any, request_id: int) -> Reply:
    """The reply to request ``request_id``; ``ProtocolError`` (saying what is wrong) when it is
    not one. The worker's statistics are clamped rather than refused."""
    if not (type(message) is dict and type(message.get("id")) is int
            and message["id"] == request_id and type(message.get("ok")) is bool):
        raise ProtocolError("no responde a la llamada hecha")
    stdout, stderr = (text if type(text := message.get(name)) is str else ""
                      for name in ("stdout", "stderr"))
    run_s, peak = message.get("run_s"), message.get("peak_rss_mb")
    run_s = run_s if type(run_s) is float and run_s >= 0 else 0.0
    peak = peak if type(peak) is int and peak >= 0 else 0
    seeded = message.get("seeded")
    seeded = seeded if type(seeded) is dict else None
    if message["ok"]:
        bindings = message.get("bindings")
        if bindings is not None and type(bindings) is not int:
            # The worker sends an int (a hash); an array here would make comparisons ambiguous.
            raise ProtocolError(f"bindings de tipo {type(bindings).__name__}")
        mutations = message.get("mutations", {})
        if type(mutations) is not dict or not all(type(k) is str for k in mutations):
            raise ProtocolError("mutaciones mal formadas")
        return Reply(id=request_id, ok=True, value=message.get("value"), mutations=mutations,
                     bindings=bindings, cacheable=message.get("cacheable") is True,
                     stdout=stdout, stderr=stderr, run_s=run_s, peak_rss_mb=peak, seeded=seeded)
    error = message.get("error")
    if not (type(error) is dict and all(type(error.get(k)) is str for k in ERROR_FIELDS)):
        raise ProtocolError("error mal formado")
    return Reply(id=request_id, ok=False, error={k: error[k] for k in ERROR_FIELDS},
                 stdout=stdout, stderr=stderr, run_s=run_s, peak_rss_mb=peak, seeded=seeded)


def parse_batch(value: Any, asked: int) -> tuple[list[tuple[Any, dict[str, Any]]],
                                                   dict[str, str] | None, str]:
    """The entries ``(value, mutations)``, error and over-budget kind of a ``call_many`` reply
    to ``asked`` calls; ``ProtocolError`` when it is not one. A reply that ran no call and
    reports nothing is refused too: the trusted side would ask again forever."""
    if not (type(value) is list and len(value) == 3 and type(value[0]) is list
            and type(value[2]) is str and value[2] in ("", "cpu", "wall")
            and len(value[0]) <= asked):
        raise ProtocolError("respuesta a call_many mal formada")
    entries, error, over_budget = value
    done: list[tuple[Any, dict[str, Any]]] = []
    for entry in entries:
        if not (type(entry) is list and len(entry) == 2 and type(entry[1]) is dict
                and all(type(k) is str for k in entry[1])):
            raise ProtocolError("respuesta a call_many con una llamada mal formada")
        done.append((entry[0], entry[1]))
    if error is not None and not (type(error) is dict
                                  and all(type(error.get(k)) is str for k in ERROR_FIELDS)):
        raise ProtocolError("error mal formado")
    if (error is not None or over_budget) and len(done) == asked:
        raise ProtocolError("respuesta a call_many con un error después de la última llamada")
    if error is None and not over_budget and not done and asked:
        raise ProtocolError("respuesta a call_many sin ninguna llamada hecha")
    return done, None if error is None else {k: error[k] for k in ERROR_FIELDS}, over_budget
