"""Dependent calls of the student's code, sent to the sandbox together (issue 23), for check
authors.

A check that calls ``linear_forward`` and hands its ``cache`` to ``linear_backward`` makes two
round trips to the worker, the second carrying back what the first returned. ``Steps`` writes the
same calls down first and runs them in one request: a ``Later`` stands for a step's result, and
``later[1]`` for its item 1, which the worker passes to the later step as it is::

    with Steps() as steps:
        forward = steps.call(student.linear_forward, x, W, b)
        backward = steps.call(student.linear_backward, dout, forward[1])
    out, cache = expect_tuple(forward.value, 2, names=("out", "cache"), context="linear_forward")
    dx, dW, db = expect_tuple(backward.value, 3, ...)

Every value still comes here and every verdict is made here, in the order the check reads the
values: ``later.value`` is that step's result, or raises the exception its call raised (and a step
after a failed one raises that same exception: it never ran). A check that reads each step's
value before the next one's fails where the same calls one by one would: if ``forward`` returned
something that is not a pair, ``expect_tuple`` fails on it before ``backward`` (which ran on
whatever ``forward[1]`` was) is looked at. What differs: the later steps ran even when the check
stops at an earlier one, and a step gets an earlier result itself instead of a copy of it.

With the student's code in this process (``grader check`` without a sandbox, the reference) the
steps simply run one by one when the block ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Later", "Steps"]


class Later:
    """The result of a step of ``Steps``, or an item of it (``later[key]``)."""

    __slots__ = ("_index", "_keys", "_steps")

    def __init__(self, steps: Steps, index: int, keys: tuple[Any, ...] = ()) -> None:
        self._steps = steps
        self._index = index
        self._keys = keys

    def __getitem__(self, key: int | str) -> Later:
        if type(key) not in (int, str):
            raise TypeError(f"un paso se indexa con int o str, no con {type(key).__name__}")
        return Later(self._steps, self._index, (*self._keys, key))

    @property
    def value(self) -> Any:
        """The step's result (indexed by its keys); raises what the step raised."""
        value = self._steps._result(self._index)
        for key in self._keys:
            value = value[key]
        return value

    def __repr__(self) -> str:
        return f"Later(paso {self._index}{''.join(f'[{k!r}]' for k in self._keys)})"


class Steps:
    """Calls, attribute reads and writes on the student's objects, run together on leaving the
    ``with`` block (or at ``run()``). Arguments may be ``Later`` results of earlier steps, as
    arguments themselves (not inside a list or dict)."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, dict[str, Any]]] = []
        self._values: list[Any] | None = None
        self._failure: Exception | None = None

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        if kind is None:
            self.run()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Later:
        return self._add("call", target=fn, args=list(args), kwargs=dict(kwargs))

    def getattr(self, obj: Any, name: str) -> Later:
        return self._add("getattr", target=obj, name=name)

    def setattr(self, obj: Any, name: str, value: Any) -> Later:
        return self._add("setattr", target=obj, name=name, value=value)

    def _add(self, op: str, **fields: Any) -> Later:
        if self._values is not None:
            raise RuntimeError("estos pasos ya corrieron: armá otros Steps()")
        for value in [*fields.get("args", ()), *fields.get("kwargs", {}).values()]:
            if type(value) in (list, tuple, dict) and any(type(v) is Later for v in (
                    value.values() if type(value) is dict else value)):
                raise TypeError("un Later va como argumento en sí, no dentro de una lista o dict")
        self._steps.append((op, fields))
        return Later(self, len(self._steps) - 1)

    def run(self) -> Steps:
        """Runs the steps: in one request when they reach the sandbox, else one by one."""
        if self._values is not None:
            return self
        runner = _runner(self._steps)
        if runner is None:
            self._values = []
            for op, fields in self._steps:
                try:
                    self._values.append(_run_here(op, _resolved(fields, self._values)))
                except Exception as exc:  # the check reads it at this step's value
                    self._failure = exc
                    break
        else:
            self._values, self._failure = runner(
                [(op, *_links(fields)) for op, fields in self._steps])
        return self

    def _result(self, index: int) -> Any:
        if self._values is None:
            raise RuntimeError("los pasos todavía no corrieron (salí del bloque with o llamá "
                               "a run())")
        if index >= len(self._values):
            assert self._failure is not None
            raise self._failure
        return self._values[index]


def _runner(steps: list[tuple[str, dict[str, Any]]]) -> Callable[..., Any] | None:
    """The sandbox session's ``run_steps`` when a step reaches the student's objects there."""
    for _, fields in steps:
        target = fields["target"]
        # Looked up on the class: an attribute of the instance would be a request to the
        # student's object, which could answer anything.
        session = getattr(type(target), "grader_session", None)
        if session is not None:
            return session(target).run_steps
    return None


def _links(fields: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[list[Any], int, list[Any]]]]:
    """``fields`` with each ``Later`` replaced by ``None``, and the links that say where they go."""
    fields = {**fields}
    links: list[tuple[list[Any], int, list[Any]]] = []
    places: list[tuple[list[Any], Any]] = [([name], fields[name]) for name in ("target", "value")
                                           if name in fields]
    if "args" in fields:
        fields["args"], fields["kwargs"] = list(fields["args"]), dict(fields["kwargs"])
        places += [(["args", i], a) for i, a in enumerate(fields["args"])]
        places += [(["kwargs", k], v) for k, v in fields["kwargs"].items()]
    for path, value in places:
        if type(value) is Later:
            links.append((path, value._index, list(value._keys)))
            if len(path) == 1:
                fields[path[0]] = None
            else:
                fields[path[0]][path[1]] = None
    return fields, links


def _resolved(fields: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    """``fields`` with each ``Later`` replaced by the result it names (steps run here)."""
    def real(value: Any) -> Any:
        if type(value) is not Later:
            return value
        value, keys = values[value._index], value._keys
        for key in keys:
            value = value[key]
        return value

    resolved = {name: real(value) for name, value in fields.items()
                if name not in ("args", "kwargs")}
    if "args" in fields:
        resolved["args"] = [real(a) for a in fields["args"]]
        resolved["kwargs"] = {k: real(v) for k, v in fields["kwargs"].items()}
    return resolved


def _run_here(op: str, fields: dict[str, Any]) -> Any:
    if op == "call":
        return fields["target"](*fields["args"], **fields["kwargs"])
    if op == "getattr":
        return getattr(fields["target"], fields["name"])
    setattr(fields["target"], fields["name"], fields["value"])
    return None
