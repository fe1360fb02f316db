"""The sandboxed worker: imports the student's module and answers requests about it.

It runs as ``python -I -c ...`` inside the sandbox, with only ``grader/runtime/`` (this file,
``messages``, ``protocol`` and ``errors``) copied beside it. It reads request frames on fd 0 and
writes replies on fd 1; both are moved to private descriptors at start-up and fds 0-2 are pointed
at ``/dev/null``, so student code that prints (or writes to fd 1) cannot corrupt the channel.
``print`` output is captured, capped and sent back with each reply for the feedback; it is never
parsed.

Requests and replies are defined once, in ``messages`` (``messages.OPS``: each op, its fields
and its reply); the worker answers op ``X`` with its method ``_op_X``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import platform
import resource
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

from . import messages, protocol

_OUTPUT_CAP = 8192


class _OverBudget(BaseException):
    """A ``call_many`` call used up its CPU time (a BaseException: ``except Exception`` in the
    student's code does not swallow it)."""


class _CappedWriter(io.TextIOBase):
    """Keeps at most ``cap`` characters of what is written; counts the rest."""

    def __init__(self, cap: int = _OUTPUT_CAP) -> None:
        self._cap = cap
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self._cap - self._size
        if room > 0:
            self._parts.append(text[:room])
            self._size += min(room, len(text))
        self._dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def take(self) -> str:
        text = "".join(self._parts)
        if self._dropped:
            text += f"\n[... {self._dropped} caracteres omitidos]"
        self._parts, self._size, self._dropped = [], 0, 0
        return text


class Worker:
    """The request loop and the table of objects that stay in the worker."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._objects: dict[int, Any] = {}
        self._ids: dict[int, int] = {}  # id(obj) -> ref id, so one object keeps one ref
        self._student_file = ""
        self._module: types.ModuleType | None = None
        self._encoder = protocol.Encoder(on_other=self._register)
        # Requests come from the trusted side: its budgets protect the trusted side only.
        self._decoder = protocol.Decoder.unbounded(on_ref=self._lookup)
        self._stdout = _CappedWriter()
        self._stderr = _CappedWriter()
        self._mutations: dict[str, Any] = {}
        """Where the running ``call`` reports the arguments it changed in place."""
        self._sizer = protocol.Decoder.unbounded()
        self._expired = ""
        """``"cpu"`` or ``"wall"`` when the running ``call_many`` call used up that time."""

    def _register(self, obj: Any) -> protocol.Ref:
        ref_id = self._ids.get(id(obj))
        if ref_id is None or self._objects.get(ref_id) is not obj:
            ref_id = len(self._objects) + 1
            self._objects[ref_id] = obj
            self._ids[id(obj)] = ref_id
        return protocol.Ref(ref_id, type(obj).__qualname__)

    def _lookup(self, ref: protocol.Ref) -> Any:
        if ref.id not in self._objects:
            raise protocol.ProtocolError(f"referencia desconocida: {ref.id}")
        return self._objects[ref.id]

    def serve(self) -> None:
        sys.stdout, sys.stderr = self._stdout, self._stderr
        while True:
            try:
                frame = protocol.read_frame(self._read_fd, max_size=1 << 40)
            except EOFError:
                return
            reply = self._handle(frame)
            protocol.write_frame(self._write_fd, reply)

    def _handle(self, frame: bytearray) -> list[bytes | memoryview]:
        request_id = -1
        mutations: dict[str, Any] = {}
        seeded: dict[str, Any] | None = None
        try:
            request_id, op, values, reseed = messages.parse(self._decoder.decode_frame(frame))
            started = time.perf_counter()
            if reseed is not None:
                seeded = reset_random_state(reseed[0], torch=reseed[1])
            self._mutations = mutations
            value = getattr(self, f"_op_{op.name}")(*values)
            module = self._module
            reply = messages.success(
                request_id, value, mutations, time.perf_counter() - started,
                bindings=self._bindings() if module is not None else None,
                cacheable=_is_definition(module.__dict__.get(values[1]))
                if module is not None and op.name == "getattr" and values[0] is module else None)
        except BaseException as exc:
            reply = messages.failure(request_id, self._describe(exc))
        if seeded is not None:
            reply["seeded"] = seeded
        reply["stdout"] = self._stdout.take()
        reply["stderr"] = self._stderr.take()
        reply["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        try:
            return self._encoder.encode_frame(reply)
        except BaseException as exc:
            reply = {**messages.failure(request_id, self._describe(exc)), "stdout": "", "stderr": ""}
            return self._encoder.encode_frame(reply)

    # --- one method per op of messages.OPS, taking its fields in order ------------------------

    def _op_hello(self) -> dict[str, Any]:
        return self._hello()

    def _op_load(self, path: str, name: str) -> Any:
        return self._load(path, name)

    def _op_define(self, name: str, source: str) -> Any:
        return self._define(name, source)

    def _op_seed(self, seed: int, torch: bool) -> dict[str, Any]:
        return reset_random_state(seed, torch=torch)

    def _op_getattr(self, target: Any, name: str) -> Any:
        return getattr(target, name)

    def _op_getattrs(self, target: Any, names: Any) -> dict[str, Any]:
        if not (isinstance(target, types.ModuleType) and type(names) is list
                and all(type(name) is str for name in names)):
            raise protocol.ProtocolError("getattrs pide nombres (str) de un módulo")
        namespace = target.__dict__
        return {name: namespace[name] for name in names
                if _is_definition(namespace.get(name))}

    def _op_setattr(self, target: Any, name: str, value: Any) -> None:
        setattr(target, name, value)

    def _op_getitem(self, target: Any, key: Any) -> Any:
        return target[key]

    def _op_setitem(self, target: Any, key: Any, value: Any) -> None:
        target[key] = value

    def _op_len(self, target: Any) -> int:
        return len(target)

    def _op_call(self, target: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self._call(target, args, kwargs, self._mutations)

    def _op_call_many(self, target: Any, calls: list[Any], limits: dict[str, Any],
                      pick: Any) -> list[Any]:
        """``calls`` (``[args, kwargs]`` each) one after another, each as ``call`` runs it: its
        own arguments decoded, changes in place and errors reported the same way.

        Each call gets ``limits["cpu_s"]`` of this process's CPU time and ``limits["wall_s"]``
        of wall clock (timers, so an infinite loop or a wait at call 3 of 100 ends after one
        call's budget, not a hundred's; code that defeats them meets the trusted side's budget
        for the whole batch, K times one call's). The calls stop before one whose entry, judged
        by the largest so far, could take the reply past ``limits``' bytes, elements or copied
        bytes: the trusted side sends the rest again.
        """
        if not (type(pick) is list and all(type(key) in (int, str) for key in pick)):
            raise protocol.ProtocolError("pick debe ser una lista de claves int o str")
        caps = [limits[name] for name in ("bytes", "elements", "copied")]
        used, largest = [0, 0, 0], [0, 0, 0]
        entries: list[Any] = []
        self._expired = ""
        for args, kwargs in calls:
            if entries and any(u + m > c for u, m, c in zip(used, largest, caps, strict=True)):
                break
            mutations: dict[str, Any] = {}
            try:
                with self._alarms(float(limits["cpu_s"]), float(limits["wall_s"])):
                    value = self._call(target, args, kwargs, mutations)
                    for key in pick:
                        value = value[key]
                entry = [value, mutations]
                cost = self._sizer.cost(self._encoder.encode_frame(entry))
            except BaseException as exc:
                return [entries, None if self._expired else self._describe(exc), self._expired]
            if self._expired:  # the student's code caught the timer's exception
                return [entries, None, self._expired]
            entries.append(entry)
            used = [u + c for u, c in zip(used, cost, strict=True)]
            largest = [max(m, c) for m, c in zip(largest, cost, strict=True)]
        return [entries, None, ""]

    def _op_steps(self, steps: Any, limits: dict[str, Any]) -> list[Any]:
        """``steps`` one after another, each as its op alone would run (a ``call`` with its
        changes in place and errors reported the same way), each under ``limits``' CPU and
        wall-clock seconds as a ``call_many`` call; links hand a step an earlier step's result,
        the live object, as it is when the step runs. Each entry is a snapshot taken when its
        step ends (what the trusted side would have received then), so a later step that
        changes an earlier result in place does not change what the earlier step reports."""
        checked = [_step(step, index) for index, step in enumerate(
            steps if type(steps) is list else [None])]
        live: list[Any] = []
        entries: list[Any] = []
        self._expired = ""
        for op, fields, links in checked:
            mutations: dict[str, Any] = {}
            try:
                with self._alarms(float(limits["cpu_s"]), float(limits["wall_s"])):
                    fields = _linked(fields, links, live)
                    if op == "call":
                        value = self._call(fields["target"], fields["args"], fields["kwargs"],
                                           mutations)
                    elif op == "getattr":
                        value = getattr(fields["target"], fields["name"])
                    else:
                        setattr(fields["target"], fields["name"], fields["value"])
                        value = None
                    entry = self._decoder.decode_frame(bytearray(b"".join(
                        bytes(piece) for piece in self._encoder.encode_frame([value, mutations]))))
            except BaseException as exc:
                return [entries, None if self._expired else self._describe(exc), self._expired]
            if self._expired:
                return [entries, None, self._expired]
            live.append(value)
            entries.append(entry)
        return [entries, None, ""]

    @contextlib.contextmanager
    def _alarms(self, cpu_s: float, wall_s: float) -> Iterator[None]:
        """Raises ``_OverBudget`` in the block when it has used ``cpu_s`` of CPU time or
        ``wall_s`` of wall clock (``_expired`` says which)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def expire(kind: str) -> None:
            self._expired = kind
            raise _OverBudget

        with timers(cpu_s, wall_s, expire):
            yield

    def _hello(self) -> dict[str, Any]:
        import numpy

        info = {"python": platform.python_version(), "numpy": numpy.__version__,
                "pid": os.getpid(), "uid": os.getuid()}
        torch = sys.modules.get("torch")
        if torch is not None:
            info["torch"] = str(torch.__version__)
        return info

    def _load(self, path: str, name: str) -> Any:
        self._student_file = path
        sys.path.insert(0, os.path.dirname(path))
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"no se puede importar {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self._module = module
        return module

    def _bindings(self) -> int:
        """Changes whenever a name of the student's module is bound, rebound or deleted.

        Objects handed out stay registered (alive), so a new binding never reuses their id.
        """
        assert self._module is not None
        names = self._module.__dict__
        return hash((tuple(names), tuple(map(id, names.values()))))

    def _define(self, name: str, source: str) -> Any:
        module = types.ModuleType(name)
        module.__file__ = f"<{name}>"
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
        return module

    def _call(self, target: Any, args: list[Any], kwargs: dict[str, Any],
              mutations: dict[str, Any]) -> Any:
        watched = {str(i): a for i, a in enumerate(args) if _mutable(a)}
        watched.update({k: v for k, v in kwargs.items() if _mutable(v)})
        before = {k: self._digest(v) for k, v in watched.items()}
        result = target(*args, **kwargs)
        for key, value in watched.items():
            if self._digest(value) != before[key]:
                mutations[key] = value
        return result

    def _digest(self, value: Any) -> bytes:
        """A hash that changes whenever ``value``'s content does (what ``_call`` watches)."""
        digest = hashlib.sha256()
        self._feed(digest, value, 0)
        return digest.digest()

    def _feed(self, digest: Any, value: Any, depth: int) -> None:
        """Hashes arrays by their buffer, and lists, tuples and dicts item by item, rather than
        encoding them first: a call used to encode each argument twice just to see whether it
        changed (a dict of parameters in each of a hundred finite-difference calls, issue 23).
        Anything else, and containers nested deeper than ``_DIGEST_DEPTH``, by its encoding."""
        import numpy

        kind = type(value)
        if kind is numpy.ndarray and value.dtype.kind in "biufc":
            digest.update(f"a{value.dtype.str}{value.shape}".encode())
            digest.update(numpy.ascontiguousarray(value).data)
        elif kind in _SCALARS:
            digest.update(f"{_SCALARS[kind]}{value!r}\0".encode("utf-8", "surrogatepass"))
        elif kind in (list, tuple) and depth < _DIGEST_DEPTH:
            digest.update(f"{kind.__name__[0]}{len(value)}:".encode())
            for item in value:
                self._feed(digest, item, depth + 1)
        elif kind is dict and depth < _DIGEST_DEPTH:
            digest.update(f"d{len(value)}:".encode())
            for key, item in value.items():
                self._feed(digest, key, depth + 1)
                self._feed(digest, item, depth + 1)
        else:
            encoded = self._encoder.encode(value)
            digest.update(f"o{len(encoded)}:".encode())
            digest.update(encoded)

    def _describe(self, exc: BaseException) -> dict[str, str]:
        frames = traceback.extract_tb(exc.__traceback__)
        own = [f for f in frames if self._student_file and f.filename == self._student_file]
        text = "".join(traceback.format_list(own[-8:]))
        try:
            message = str(exc)
        except BaseException:
            message = "<mensaje ilegible>"
        if isinstance(exc, SyntaxError):
            message = syntax_error_message(exc)
        return {"type": type(exc).__name__, "message": message[:2000], "traceback": text[:4000]}


def syntax_error_message(exc: SyntaxError) -> str:
    """A syntax error as Python shows it, without the file: the message with its line number,
    then that line with a caret under the spot (``^^^`` under a span)."""
    if exc.lineno is None:
        return str(exc.msg)
    message = f"{exc.msg} (línea {exc.lineno})"
    line = (exc.text or "").split("\n")[0].rstrip()
    if not line.strip() or not exc.offset:
        return message
    code = line.lstrip()
    indent = len(line) - len(code)
    start = max(exc.offset - 1 - indent, 0)
    same_line = exc.end_lineno in (None, exc.lineno) and (exc.end_offset or 0) > exc.offset
    width = exc.end_offset - exc.offset if same_line and exc.end_offset else 1
    width = max(1, min(width, len(code) - start))
    return f"{message}\n    {code}\n    {' ' * start}{'^' * width}"


def reset_random_state(seed: int, *, torch: bool) -> dict[str, Any]:
    """Same random state before every check, whatever ran before; exact float32 on CUDA."""
    import random

    import numpy

    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    info: dict[str, Any] = {}
    if not torch:
        return info
    import torch as torch_module

    torch_module.manual_seed(seed)
    # TF32 trades precision for speed on Ampere and later GPUs; checks compare in float32.
    torch_module.backends.cuda.matmul.allow_tf32 = False
    torch_module.backends.cudnn.allow_tf32 = False
    # cuDNN's autotuner may pick another convolution algorithm on each run: same inputs, other
    # float32 rounding (issue 21). Deterministic algorithms, always the same ones.
    torch_module.backends.cudnn.benchmark = False
    torch_module.backends.cudnn.deterministic = True
    cudnn = torch_module.backends.cudnn
    info = {"torch": str(torch_module.__version__), "cuda_available": torch_module.cuda.is_available(),
            "torch_threads": torch_module.get_num_threads(),
            "matmul_allow_tf32": bool(torch_module.backends.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": bool(cudnn.allow_tf32), "cudnn_benchmark": bool(cudnn.benchmark),
            "cudnn_deterministic": bool(cudnn.deterministic)}
    if torch_module.cuda.is_available():
        info["cudnn"] = str(cudnn.version())
        info["cuda"] = str(torch_module.version.cuda)
        info["gpu"] = torch_module.cuda.get_device_name(0)
        try:
            with open("/proc/driver/nvidia/version", encoding="utf-8") as handle:
                info["nvidia_driver"] = handle.readline().strip()[:200]
        except OSError:
            pass
    return info


_SCALARS = {str: "s", int: "i", float: "f", bool: "b", type(None): "n"}
"""Exact types ``Worker._feed`` hashes by their ``repr`` (after a tag: ``1`` and ``1.0`` and
``"1"`` differ; ``repr`` of a float is exact)."""
_DIGEST_DEPTH = 16
"""How deep ``Worker._feed`` walks containers itself (a cycle or deeper nesting is encoded)."""


def _mutable(value: Any) -> bool:
    import numpy

    return type(value) in (numpy.ndarray, dict, list)


_PRELOADABLE = frozenset({"torch"})


def _exit_when_closed(fd: int) -> None:
    while os.read(fd, 4096):
        pass
    os._exit(70)


@contextlib.contextmanager
def timers(cpu_s: float, wall_s: float, expire: Callable[[str], None]) -> Iterator[None]:
    """Calls ``expire("cpu")`` once the block has used ``cpu_s`` of this process's CPU time
    (all threads), or ``expire("wall")`` after ``wall_s`` of wall clock, in the main thread (its
    exception ends the block); the previous handlers come back after. The worker's
    ``call_many`` and ``steps`` and the in-process student's checks share it."""
    def handler(signum: int, frame: Any) -> None:
        expire("cpu" if signum == signal.SIGPROF else "wall")

    previous = signal.signal(signal.SIGPROF, handler), signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    signal.setitimer(signal.ITIMER_REAL, wall_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])


def _step(step: Any, index: int) -> tuple[str, dict[str, Any], list[tuple[list[Any], int, list[Any]]]]:
    """A step of ``steps``, checked before any runs: ``(op, fields, links)``."""
    if not (type(step) is list and len(step) == 3 and step[0] in messages.STEP_OPS
            and type(step[1]) is dict and type(step[2]) is list):
        raise protocol.ProtocolError(f"paso {index} mal formado")
    op, fields, links = step
    if set(fields) != set(messages.OPS[op].fields) or (
            op == "call" and not (type(fields["args"]) is list and type(fields["kwargs"]) is dict)):
        raise protocol.ProtocolError(f"paso {index}: campos mal formados para {op}")
    for link in links:
        if not (type(link) is list and len(link) == 3 and type(link[0]) is list
                and _names_a_field(link[0], fields) and type(link[1]) is int
                and 0 <= link[1] < index and type(link[2]) is list
                and all(type(key) in (int, str) for key in link[2])):
            raise protocol.ProtocolError(f"paso {index}: enlace mal formado")
    return op, fields, [(link[0], link[1], link[2]) for link in links]


def _names_a_field(path: list[Any], fields: dict[str, Any]) -> bool:
    """``["target"]``, ``["value"]``, ``["args", i]`` or ``["kwargs", name]`` of ``fields``."""
    if len(path) == 1:
        return path[0] in ("target", "value") and path[0] in fields
    if len(path) != 2 or path[0] not in ("args", "kwargs") or path[0] not in fields:
        return False
    if path[0] == "args":
        return type(path[1]) is int and 0 <= path[1] < len(fields["args"])
    return type(path[1]) is str and path[1] in fields["kwargs"]


def _linked(fields: dict[str, Any], links: list[tuple[list[Any], int, list[Any]]],
            live: list[Any]) -> dict[str, Any]:
    """``fields`` with each link replaced by the earlier result it names (its items by keys:
    student code may run there, as in the step itself)."""
    if not links:
        return fields
    fields = dict(fields)
    if "args" in fields:
        fields["args"], fields["kwargs"] = list(fields["args"]), dict(fields["kwargs"])
    for path, step, keys in links:
        value = live[step]
        for key in keys:
            value = value[key]
        if len(path) == 1:
            fields[path[0]] = value
        else:
            fields[path[0]][path[1]] = value
    return fields


def _is_definition(value: Any) -> bool:
    """A function or class: what the trusted side may keep a handle to between calls."""
    return isinstance(value, (types.FunctionType, type))


def main() -> None:
    """Moves the channel off fds 0-2, then serves requests until the harness closes it.

    With ``GRADER_CHANNEL`` set (the docker backend), the channel is the two named pipes in that
    folder instead of stdin/stdout: requests in ``to_worker``, replies out of ``from_worker``.
    Docker relays a container's stdio through its CLI and daemon, three hops per message; named
    pipes in the bind-mounted folder are one (issue 9).
    """
    folder = os.environ.pop("GRADER_CHANNEL", "")
    if folder:
        # stdin stays the lifeline: it closes when the grader's docker CLI dies, even while this
        # worker waits, started ahead, for a grader that will never open its end of the pipes.
        lifeline = os.dup(0)
        threading.Thread(target=_exit_when_closed, args=(lifeline,), daemon=True).start()
        read_fd = os.open(os.path.join(folder, "to_worker"), os.O_RDONLY)
        write_fd = os.open(os.path.join(folder, "from_worker"), os.O_WRONLY)
    else:
        read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.environ["GRADER_SIDE"] = "worker"
    # A worker started ahead of its submission (grader.sandbox.pool) imports the heavy libraries
    # the TP uses while it waits; only these names, never one the environment could choose.
    for name in os.environ.pop("GRADER_PRELOAD", "").split(","):
        if name in _PRELOADABLE:
            importlib.import_module(name)
    Worker(read_fd, write_fd).serve()


if __name__ == "__main__":
    main()
