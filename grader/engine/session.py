"""The trusted side of a worker: a session that survives crashes, and proxies to remote objects.

A ``Session`` owns one submission's worker. Check code reaches the student's module through
``session.module()``, a ``RemoteObject``: attribute access, item access and calls become requests;
data comes back as copies, anything else as another ``RemoteObject``. When a call times out, the
worker dies, or it sends something not allowed, the worker is killed, the call raises the matching
``WorkerError`` and the next request starts a fresh worker (remote objects of the dead worker then
refuse to be used, with a clear message).

A reply is the worker's word, and the worker runs student code: whatever it holds, a reply that is
not what was asked for is that worker's ``ProtocolError`` (status PROTOCOL), never an exception
of the grader's own (issue 15). What the student wrote (exception names, messages, tracebacks,
output, class names) is cleaned of terminal controls and capped here, so every result and report
built from it gets safe text.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import (
    ConfigError,
    ProtocolError,
    SandboxUnavailable,
    StudentError,
    WorkerCrash,
    WorkerError,
    WorkerMemory,
    WorkerTimeout,
)
from grader.runtime import messages, protocol
from grader.sandbox.base import Backend, Channel, Limits
from grader.text import MESSAGE_CAP, TRACEBACK_CAP, TYPE_NAME_CAP, clean

_OUTPUT_CAP = 16384
#: What a worker may say about itself (``hello``, ``seed``): entries, key and text lengths.
_ENVIRONMENT_CAP, _ENVIRONMENT_KEY_CAP, _ENVIRONMENT_TEXT_CAP = 32, 64, 200
_POLL_S = 0.5
"""How often a call that has not answered yet is measured against its CPU budget."""
_LOAD_HINT = ("si la máquina estaba sobrecargada, puede ser la causa: avisá a la cátedra")
_CRASH_TYPES = {"SystemExit": "llamó a sys.exit", "KeyboardInterrupt": "lanzó KeyboardInterrupt"}
_BATCH_CALLS, _BATCH_BYTES = 256, 64 * 2**20
"""Most calls, and most bytes of arguments, in one ``call_many`` request (issue 23)."""
_BATCH_MARGIN = 2**20
"""Room left in a ``call_many`` reply's budgets for its output, error and envelope."""


class RemoteObject:
    """A proxy to an object that lives in the worker (a module, a model, a cache ...)."""

    __slots__ = ("_generation", "_id", "_session", "_type_name")

    def __init__(self, session: Session, ref: protocol.Ref) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_id", ref.id)
        object.__setattr__(self, "_type_name", clean(ref.type_name, TYPE_NAME_CAP))
        object.__setattr__(self, "_generation", session.generation)

    def _ref(self) -> protocol.Ref:
        if self._generation != self._session.generation:
            raise WorkerCrash(f"el objeto {self._type_name} pertenecía a un proceso del estudiante "
                              "que ya terminó (falló en una llamada anterior)")
        return protocol.Ref(self._id, self._type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._session.getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.request("setattr", target=self, name=name, value=value)

    def __getitem__(self, key: Any) -> Any:
        return self._session.request("getitem", target=self, key=key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._session.request("setitem", target=self, key=key, value=value)

    def __len__(self) -> int:
        value = self._session.request("len", target=self)
        if type(value) is not int:
            raise ProtocolError("len() devolvió algo que no es un entero")
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self, list(args), kwargs)

    def grader_call_many(self, calls: Iterable[tuple[Sequence[Any], dict[str, Any]]],
                         pick: Sequence[int | str] = ()) -> Iterator[Any]:
        """``grader.compare.call_many`` finds this on the class (never through ``__getattr__``,
        which would ask the student's object): K calls in a few round trips."""
        return self._session.call_many(self, calls, pick)

    def grader_session(self) -> Session:
        """``grader.steps`` finds this on the class: the session whose worker holds this."""
        return self._session

    def __repr__(self) -> str:
        return f"<objeto remoto {self._type_name}>"

    def __bool__(self) -> bool:
        return True


def apply_in_place(original: Any, new: Any) -> None:
    """Makes ``original`` look like ``new`` without replacing it, as a local call would have.

    A change the original cannot take (another shape or dtype, a read-only array) is left out:
    a local call could not have made it either.
    """
    if type(original) is np.ndarray and type(new) is np.ndarray:
        if _fits(original, new):
            np.copyto(original, new)
        return
    if type(original) is dict and type(new) is dict:
        for key in [k for k in original if k not in new]:
            del original[key]
        for key, value in new.items():
            old = original.get(key)
            if type(old) is np.ndarray and type(value) is np.ndarray and _fits(old, value):
                np.copyto(old, value)
            else:
                original[key] = value
        return
    if type(original) is list and type(new) is list:
        original[:] = new


def _fits(original: np.ndarray, new: np.ndarray) -> bool:
    return original.shape == new.shape and original.dtype == new.dtype and (
        original.flags.writeable)


def _environment(info: Any) -> dict[str, Any]:
    """The worker's description of itself (versions, device), as the few short values it is."""
    if type(info) is not dict:
        return {}
    kept: dict[str, Any] = {}
    for key, value in info.items():
        if len(kept) == _ENVIRONMENT_CAP:
            break
        if type(value) is str:
            value = clean(value, _ENVIRONMENT_TEXT_CAP)
        elif type(value) not in (int, bool):
            continue
        kept[clean(str(key), _ENVIRONMENT_KEY_CAP)] = value
    return kept


def _mutation_index(key: str) -> int | None:
    """The position of the argument a mutation names (``"0"``, ``"1"``), or ``None`` for a
    keyword. ``str.isdigit`` is true for '²' and '٣', which ``int`` refuses (issue 15); and
    ``int`` refuses more than 4300 digits."""
    return int(key) if key.isascii() and key.isdigit() and len(key) < 10 else None


def _size_text(size: int) -> str:
    return f"pesa {size / 2**20:.1f} MB" if size >= 2**20 else f"pesa {max(1, size // 1024)} KB"


class Session:
    """One submission's worker, restarted after failures, with a deadline for the whole session.

    Args:
        backend: starts workers.
        module_file: the student's module as a ``.py`` file (notebooks already converted).
        module_name: the name to import it under (``"tp1"``).
        limits: resource limits; ``limits.submission_timeout_s`` starts counting now.
        uses_torch: seed torch and turn TF32 off before every check (``begin_check``).
        helpers_source: trusted code run in the worker on demand (``helpers()``).
        prefetch: module-level names the checks will call, asked for right after the import.
    """

    def __init__(self, backend: Backend, module_file: Path, module_name: str,
                 limits: Limits, *, uses_torch: bool = False,
                 helpers_source: str | None = None, prefetch: tuple[str, ...] = ()) -> None:
        self.backend = backend
        self.module_file = module_file
        self.module_name = module_name
        self.limits = limits
        self.call_timeout_s = limits.call_timeout_s
        self.deadline = time.monotonic() + limits.submission_timeout_s
        self.generation = 0
        self.restarts = 0
        self.environment: dict[str, Any] = {}
        self.uses_torch = uses_torch
        self.helpers_source = helpers_source
        self.prefetch = prefetch
        self._channel: Channel | None = None
        self._started_at = time.monotonic()
        self.stats: dict[str, float] = {"start_s": 0.0, "import_s": 0.0, "transport_s": 0.0,
                                        "requests": 0, "peak_rss_mb": 0}
        """Where the time went (worker starts, the module's import, moving data) and the
        worker's peak memory: for ``benchmarks/``, copied into the result's environment."""
        self._module: RemoteObject | None = None
        self._attributes: dict[str, RemoteObject] = {}
        """The student module's functions and classes already asked for (see ``getattr``)."""
        self._helper_attributes: dict[str, RemoteObject] = {}
        """The same for the assignment's worker helpers, kept for the worker's life."""
        self._bindings: Any = None
        self._cacheable = False
        self._helpers: RemoteObject | None = None
        self._load_error: StudentError | None = None
        self._names: dict[tuple[int, int], str] = {}
        """(worker generation, ref) -> the name it was reached by, for people."""
        self._deaths: dict[str, tuple[int, type[WorkerError], str]] = {}
        """Function name -> its consecutive calls that killed or stalled the worker, their kind,
        the first one's message."""
        self.load_failure: WorkerError | None = None
        """Set when importing the student's file killed or stalled the worker: every later
        request for the module raises it again, without a new worker."""
        self._seeded_generation = 0
        """The worker generation whose first check asked for its seed in a request of its own."""
        self._reseed: tuple[int, bool] | None = None
        """The seed the current check's first request carries (``begin_check``)."""
        self._next_id = 0
        self._output: list[str] = []
        self._output_size = 0
        self._encoder = protocol.Encoder(on_other=self._encode_other)
        self._decoder = protocol.Decoder(on_ref=lambda ref: RemoteObject(self, ref),
                                         max_size=limits.max_message_mb * 1024 * 1024)

    # --- lifecycle ---------------------------------------------------------------------------

    def module(self) -> RemoteObject:
        """The student's module, importing it in a fresh worker if needed.

        Raises ``StudentError`` when the module does not import (the same error every time,
        without restarting the worker: an import failure is deterministic).
        """
        if self._load_error is not None:
            raise self._load_error.with_traceback(None)
        if self.load_failure is not None:
            raise type(self.load_failure)(str(self.load_failure))
        if self._module is None or self._channel is None:
            self._start()
            try:
                module = self.request("load", path=self._channel_module_path(),
                                      name=self.module_name)
            except StudentError as exc:
                self._load_error = exc
                raise
            except (WorkerTimeout, WorkerCrash, WorkerMemory) as exc:
                # Importing the same file again would end the same way: the submission ends here,
                # with one message, instead of one more worker per check (issue 19).
                self.load_failure = self._at_load(exc)
                raise self.load_failure from None
            if type(module) is not RemoteObject:
                raise ProtocolError("la carga del módulo no devolvió una referencia")
            self._module = module
            if self.prefetch:
                self._prefetch(module)
        return self._module

    def _prefetch(self, module: RemoteObject) -> None:
        """Asks, in one request, for the functions and classes the checks will use: what one
        ``getattr`` each would have cached (issue 23). A name the module lacks, or binds to
        something else, is left to ``getattr``, which says what is wrong with it."""
        try:
            found = self.request("getattrs", target=module, names=list(self.prefetch))
        except StudentError:  # only student code can raise here (a __class__ that does)
            return
        if type(found) is not dict:
            raise self._fail(ProtocolError, "respuesta inválida del worker: getattrs no devolvió "
                             "un diccionario")
        for name, value in found.items():
            if name in self.prefetch and type(value) is RemoteObject:
                self._name(value, module, name)
                self._attributes[name] = value

    def _at_load(self, exc: WorkerError) -> WorkerError:
        """What a student reads when importing their file killed or stalled the worker."""
        try:
            size = _size_text(self.module_file.stat().st_size)
        except OSError:
            size = "tamaño desconocido"
        top_level = ("revisá lo que se ejecuta al nivel del módulo: entrenamientos, datos grandes o "
                     "celdas de prueba fuera de una función")
        if isinstance(exc, WorkerMemory):
            return WorkerMemory(f"al importar tu archivo ({size}) el proceso pasó el límite de "
                                f"{self.limits.memory_mb} MiB de memoria; {top_level}")
        if isinstance(exc, WorkerTimeout):
            return WorkerTimeout(f"importar tu archivo ({size}) llevó más de "
                                 f"{self.limits.import_timeout_s:g} s de CPU ({exc}); {top_level}")
        return WorkerCrash(f"el proceso terminó mientras se importaba tu archivo ({size}): {exc}")

    def begin_check(self, seed: int) -> None:
        """Resets the worker's random state (and TF32) so a check never depends on earlier ones.

        A worker's first check asks for it in a request of its own, whose answer says whether
        the worker sees the GPU it should; later checks send the seed with their first request
        (``reseed``, issue 23), which the worker applies before running anything of it. A check
        that sends nothing leaves nothing to reset: its seed is replaced by the next check's."""
        self.module()
        if self._seeded_generation == self.generation:
            self._reseed = (seed, self.uses_torch)
            return
        self._reseed = None
        self._note_environment(self.request("seed", seed=seed, torch=self.uses_torch))
        self._seeded_generation = self.generation
        if self.uses_torch and self._wants_gpu() and self.environment.get("cuda_available") is not True:
            # Grading silently on the CPU would change timings and numerics: stop instead.
            raise SandboxUnavailable(f"se pidió GPU ({self.backend.describe().get('gpus')}) "
                                     f"pero torch {self.environment.get('torch', '?')} no ve CUDA "
                                     "dentro del worker; revisá el driver, que el torch del worker "
                                     "sea uno con CUDA (y, con docker, nvidia-container-toolkit), "
                                     "o calificá con --gpus none")

    def _note_environment(self, info: Any) -> None:
        for key, value in _environment(info).items():
            # Each check's seed reply could name new keys: the environment stays bounded.
            if key in self.environment or len(self.environment) < 2 * _ENVIRONMENT_CAP:
                self.environment[key] = value

    def helpers(self) -> RemoteObject:
        """The assignment's worker helpers, run in the student's worker (started if needed)."""
        if self.helpers_source is None:
            raise ConfigError("esta consigna no declara [assignment].worker_helpers")
        module = self.module()
        if self._helpers is None or self._helpers._generation != module._generation:
            helpers = self.request("define", name="grader_helpers", source=self.helpers_source)
            if type(helpers) is not RemoteObject:
                raise ProtocolError("la definición de los ayudantes no devolvió una referencia")
            self._helpers = helpers
        return self._helpers

    @property
    def device(self) -> str:
        """Where checks ask student code to run: ``"cuda"`` only on a GPU the backend requested."""
        return "cuda" if self._wants_gpu() and self.environment.get("cuda_available") is True else "cpu"

    def _wants_gpu(self) -> bool:
        return bool(self.backend.describe().get("gpus"))

    def _channel_module_path(self) -> str:
        assert self._channel is not None
        return self._channel.module_path

    def _start(self) -> None:
        self.close()
        if time.monotonic() >= self.deadline:
            # The student's time is spent: a TIMEOUT, not a sandbox that cannot start.
            raise WorkerTimeout("se agotó el tiempo total de la entrega "
                                f"({self.limits.submission_timeout_s:g} s)")
        self.generation += 1
        problem = ""
        for attempt in range(max(1, self.backend.start_attempts)):
            if attempt:
                time.sleep(min(2.0 * attempt, max(0.0, self.deadline - time.monotonic())))
            channel = None
            self._started_at = time.monotonic()
            try:
                channel = self._channel = self.backend.start(self.module_file, self.limits)
                hello = self.request("hello")
                break
            except (WorkerError, OSError, subprocess.SubprocessError) as exc:
                self.close()
                detail = self.backend.startup_error(channel) if channel is not None else ""
                problem = f"{exc} [{detail}]" if detail else str(exc)
                if time.monotonic() >= self.deadline:
                    raise WorkerTimeout("se agotó el tiempo total de la entrega "
                                        f"({self.limits.submission_timeout_s:g} s)") from None
        else:
            # No student code has run yet: this is the machine or the limits, never the student,
            # and must not turn into a grade.
            raise SandboxUnavailable(f"el worker no pudo arrancar ({problem}); revisá la "
                                     "instalación y los límites [limits] del curso")
        self.environment = {k: v for k, v in _environment(hello).items() if type(v) is not bool}

    def close(self, *, grace_s: float = 0.05) -> str:
        """Kills the worker if it runs; returns how it ended. ``grace_s``: how long a worker
        that may be exiting on its own gets first (``Channel.close``); 0 at a normal end."""
        channel, self._channel, self._module = self._channel, None, None
        self._attributes.clear()
        self._helper_attributes.clear()
        return channel.close(grace_s=grace_s) if channel is not None else ""

    def _fail(self, error: type[WorkerError], message: str) -> WorkerError:
        channel = self._channel
        ending = self.close()
        if channel is not None and channel.out_of_memory and error is WorkerCrash:
            error, message = WorkerMemory, ("el código del estudiante se quedó sin memoria "
                                            f"(límite {self.limits.memory_mb} MiB) ({{ending}})")
        self.restarts += 1
        # Not str.format: the message may quote the student's text, and a '{x}' in it raised
        # KeyError inside the grader. Without an ending to tell, its parentheses go too.
        if not ending:
            message = message.replace(" ({ending})", "").replace(": {ending}", "")
        return error(message.replace("{ending}", ending))

    # --- requests ----------------------------------------------------------------------------

    def _encode_other(self, value: Any) -> protocol.Ref:
        if type(value) is RemoteObject:
            return value._ref()
        raise TypeError(f"no se puede enviar al worker un {type(value).__qualname__}")

    def call(self, target: RemoteObject, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Calls a remote callable; in-place changes to arguments are copied back into them.

        A function whose last ``limits.retries_per_function`` calls all ended with the worker
        dead or out of time is not called again: the call gets the same status at once, so one
        broken function costs its time limit a bounded number of times (issue 19)."""
        name = self._callable_name(target)
        try:
            value, mutations = self._request("call", target=target, args=args, kwargs=kwargs)
        except (WorkerTimeout, WorkerCrash, WorkerMemory) as exc:
            self._died(name, exc)
            raise
        self._deaths.pop(name, None)
        self._copy_back(args, kwargs, mutations)
        return value

    def call_many(self, target: RemoteObject,
                  calls: Iterable[tuple[Sequence[Any], dict[str, Any]]],
                  pick: Sequence[int | str] = ()) -> Iterator[Any]:
        """``target(*args, **kwargs)`` for each call, in order, in as few requests as the
        budgets allow (``call_many``, issue 23): the worker runs them as K ``call`` requests
        would, and each result, in-place change and error comes out here as that call's.

        Yields the results in order and raises the first failing call's exception when the
        caller reaches it (after the results before it), so a loop over this sees what a loop
        of calls saw. The arguments go as they are when this starts (an argument one call
        changes in place reaches the next one unchanged: give each call its own copies).
        Each call has ``call_timeout_s`` of CPU and ``wall_factor`` times that of wall clock, as
        a single call (timers in the worker, which end the batch with a single call's status and
        message; the request's own budgets, for code that defeats them, are K times one call's).
        What differs from a loop of calls: later calls of the same request have already run in
        the worker when the loop stops at a check failure; a worker that dies mid-request (a
        signal, memory) takes the results before it along; the captured output of one request
        is capped as one call's. ``pick``: keys the worker indexes each result with, in turn,
        so that only that part comes back (``result[0]`` of a ``(loss, grads)`` pair).
        """
        pending = [(list(args), dict(kwargs)) for args, kwargs in calls]
        while pending:
            chunk = self._chunk(pending)
            entries, failure = self._call_batch(target, chunk, list(pick))
            for (args, kwargs), (value, mutations) in zip(chunk, entries, strict=False):
                self._copy_back(args, kwargs, mutations)
                yield value
            if failure is not None:
                raise failure
            del pending[:len(entries)]

    def _chunk(self, calls: list[tuple[list[Any], dict[str, Any]]]
               ) -> list[tuple[list[Any], dict[str, Any]]]:
        """The first calls that fit one request (at least one)."""
        size = 0
        for count, (args, kwargs) in enumerate(calls[:_BATCH_CALLS]):
            size += sum(memoryview(p).nbytes for p in self._encoder.encode_frame([args, kwargs]))
            if count and size > _BATCH_BYTES:
                return calls[:count]
        return calls[:_BATCH_CALLS]

    def _call_batch(self, target: RemoteObject, chunk: list[tuple[list[Any], dict[str, Any]]],
                    pick: list[int | str]) -> tuple[list[tuple[Any, dict[str, Any]]],
                                                    Exception | None]:
        """One ``call_many`` request: the entries of the calls that ran, and the exception of
        the one that failed (``None`` when none did)."""
        name = self._callable_name(target)
        # cpu_s: a single call is charged from its first measurement, _POLL_S in (_receive);
        # the worker's timer counts from the call's start, so it gets that much more.
        limits = {"bytes": self._decoder_max_size() - _BATCH_MARGIN,
                  "elements": protocol.DEFAULT_MAX_ELEMENTS - 1000,
                  "copied": protocol.DEFAULT_MAX_COPIED - _BATCH_MARGIN,
                  "cpu_s": self.call_timeout_s + _POLL_S,
                  "wall_s": self.call_timeout_s * self.limits.wall_factor}
        try:
            value, _ = self._request("call_many", cpu_calls=len(chunk), target=target,
                                     calls=[[args, kwargs] for args, kwargs in chunk],
                                     limits=limits, pick=pick)
        except (WorkerTimeout, WorkerCrash, WorkerMemory) as exc:
            self._died(name, exc)
            raise
        try:
            entries, error, over_budget = messages.parse_batch(value, len(chunk))
        except ProtocolError as exc:
            raise self._fail(ProtocolError, f"respuesta inválida del worker: {exc}") from None
        if entries:
            self._deaths.pop(name, None)
        failure = self._batch_failure(error, over_budget)
        if isinstance(failure, (WorkerTimeout, WorkerCrash, WorkerMemory)):
            self._died(name, failure)
        return entries, failure

    def _batch_failure(self, error: dict[str, str] | None, over_budget: str) -> Exception | None:
        """What the call that stopped a ``call_many`` or ``steps`` request raises: a single call
        over its budget reads the same (and kills the worker the same way)."""
        if over_budget == "cpu":
            return self._fail(WorkerTimeout, self._over_budget(self.call_timeout_s))
        if over_budget:
            return self._fail(WorkerTimeout, self._over_wall(
                self.call_timeout_s * self.limits.wall_factor))
        return self._raised(error) if error is not None else None

    def run_steps(self, steps: list[tuple[str, dict[str, Any], list[tuple[list[Any], int, list[Any]]]]]
                  ) -> tuple[list[Any], Exception | None]:
        """Dependent requests in one round trip (op ``steps``, issue 23): the value of each step
        that ran, in order, and the exception of the one that failed (``None`` when none did),
        as the same requests one by one would have given them.

        A step is ``(op, fields, links)``: ``call``, ``getattr`` or ``setattr`` with that op's
        fields, and links ``(path, step, keys)`` that put an earlier step's result, indexed by
        ``keys``, at ``path`` in the fields: the worker passes that object on as it is, where
        one by one it would have come here and gone back as a copy. A call's changes in place
        are copied back into its arguments, except into a linked one (it never came here). Each
        step has a single call's budgets; the request, the steps' sum."""
        names = [self._callable_name(fields["target"]) if op == "call"
                 and not any(path == ["target"] for path, _, _ in links) else ""
                 for op, fields, links in steps]
        limits = {"cpu_s": self.call_timeout_s + _POLL_S,
                  "wall_s": self.call_timeout_s * self.limits.wall_factor}
        try:
            value, _ = self._request("steps", cpu_calls=len(steps), limits=limits,
                                     steps=[[op, fields, [list(link) for link in links]]
                                            for op, fields, links in steps])
            entries, error, over_budget = messages.parse_batch(value, len(steps))
        except (WorkerTimeout, WorkerCrash, WorkerMemory) as exc:
            for name in filter(None, names):
                self._died(name, exc)
            raise
        except ProtocolError as exc:
            raise self._fail(ProtocolError, f"respuesta inválida del worker: {exc}") from None
        values: list[Any] = []
        for (op, fields, links), (value, mutations), name in zip(steps, entries, names,
                                                                 strict=False):
            linked = {tuple(path) for path, _, _ in links}
            if op == "call":
                self._deaths.pop(name, None)
                self._copy_back(
                    [None if ("args", i) in linked else a for i, a in enumerate(fields["args"])],
                    {k: v for k, v in fields["kwargs"].items() if ("kwargs", k) not in linked},
                    {k: v for k, v in mutations.items()
                     if ("args", _mutation_index(k)) not in linked and ("kwargs", k) not in linked})
            if op == "getattr" and type(value) is RemoteObject:
                # A linked target is an earlier step's result itself (model, for model.loss).
                target = next((values[step] for path, step, keys in links
                               if path == ["target"] and not keys), fields["target"])
                self._name(value, target, fields["name"])
            values.append(value)
        failure = self._batch_failure(error, over_budget)
        failed = names[len(entries)] if len(entries) < len(names) else ""
        if failed and isinstance(failure, (WorkerTimeout, WorkerCrash, WorkerMemory)):
            self._died(failed, failure)
        return values, failure

    def _callable_name(self, target: RemoteObject) -> str:
        """What a student calls ``target``; raises at once when its last
        ``limits.retries_per_function`` calls all ended with the worker dead or out of time."""
        name = self._names.get((target._generation, target._id), target._type_name)
        streak = self._deaths.get(name)
        if streak is not None and streak[0] >= self.limits.retries_per_function:
            count, kind, first = streak
            raise kind(f"no se volvió a llamar a {name}: sus {count} llamadas anteriores "
                       f"terminaron igual ({first})")
        return name

    def _died(self, name: str, exc: WorkerError) -> None:
        streak = self._deaths.get(name)
        count = streak[0] + 1 if streak is not None else 1
        self._deaths[name] = (count, type(exc), streak[2] if streak is not None else str(exc))

    def _copy_back(self, args: list[Any], kwargs: dict[str, Any],
                   mutations: dict[str, Any]) -> None:
        """Applies a call's in-place changes, as the worker reported them, to its arguments."""
        try:
            for key, new in mutations.items():
                index = _mutation_index(key)
                if index is not None and index < len(args):
                    apply_in_place(args[index], new)
                elif key in kwargs:
                    apply_in_place(kwargs[key], new)
                else:  # the worker reports changes to the arguments it got, and to nothing else
                    raise self._fail(ProtocolError, "respuesta inválida del worker: una mutación "
                                     f"de {clean(key[:40])!r}, que no es un argumento de la llamada")
        except WorkerError:
            raise
        except Exception as exc:  # what the worker sent broke the copy: the worker's fault
            raise self._fail(ProtocolError, "respuesta inválida del worker: mutaciones que no se "
                             f"pueden aplicar ({type(exc).__name__})") from None

    def request(self, op: str, **fields: Any) -> Any:
        return self._request(op, **fields)[0]

    def _name(self, value: RemoteObject, target: Any, name: str) -> None:
        """What a student would call ``target.name``: linear_forward, MLP.loss (for give-ups,
        see ``call``)."""
        module = self._module is not None and type(target) is RemoteObject and (
            target._id == self._module._id and target._generation == self.generation)
        if type(target) is RemoteObject and not module:
            name = f"{self._names.get((target._generation, target._id), target._type_name)}.{name}"
        self._names[(value._generation, value._id)] = name[:120]

    def getattr(self, target: RemoteObject, name: str) -> Any:
        """``target.name``; the student's functions and classes are asked for once, until a call
        rebinds a module-level name (each ``student.f(x)`` would otherwise be two round trips)."""
        module = self._module is not None and target._id == self._module._id and (
            target._generation == self.generation)
        if module and name in self._attributes:
            return self._attributes[name]
        # The helpers are trusted code, defined once per worker: a function of theirs is asked
        # for once (student code that rebinds one cannot make the checks call its own).
        helpers = self._helpers is not None and target._id == self._helpers._id and (
            target._generation == self._helpers._generation == self.generation)
        if helpers and name in self._helper_attributes:
            return self._helper_attributes[name]
        value = self.request("getattr", target=target, name=name)
        if type(value) is RemoteObject:
            self._name(value, target, name)
            if module and self._cacheable:
                self._attributes[name] = value
            elif helpers:
                self._helper_attributes[name] = value
        return value

    def _request(self, op: str, *, cpu_calls: int = 1, **fields: Any) -> tuple[Any, dict[str, Any]]:
        if self._channel is None:
            if op in ("hello", "load"):
                raise WorkerCrash("el proceso del estudiante no está en ejecución")
            self.module()
        assert self._channel is not None
        now = time.monotonic()
        if now >= self.deadline:
            raise self._fail(WorkerTimeout, "se agotó el tiempo total de la entrega "
                             f"({self.limits.submission_timeout_s:g} s)")
        self._next_id += 1
        request_id = self._next_id
        sent = time.perf_counter()
        reseed = None
        if op not in ("hello", "load"):  # the seed applies to the check's code, never the import
            reseed, self._reseed = self._reseed, None
        payload = self._encoder.encode_frame(messages.request(op, request_id, reseed=reseed,
                                                              **fields))
        try:
            self._channel.send(payload)
            frame = self._receive(op, now, cpu_calls)
        except EOFError:
            raise self._fail(WorkerCrash, "el proceso del estudiante terminó durante la llamada "
                             "({ending})") from None
        except ProtocolError as exc:
            raise self._fail(ProtocolError, f"respuesta inválida del worker: {exc}") from None
        try:
            reply = messages.parse_reply(self._decoder.decode_frame(frame), request_id)
        except ProtocolError as exc:
            raise self._fail(ProtocolError, f"respuesta inválida del worker: {exc}") from None
        try:
            self._account(op, reply, time.perf_counter() - sent)
            if reply.seeded is not None:
                self._note_environment(reply.seeded)
            return self._unpack(reply)
        except (WorkerError, StudentError):
            raise
        except Exception as exc:
            # parse_reply leaves nothing to this; should a reply still break the unpacking, it
            # is the worker's PROTOCOL, never "error interno del calificador" (issue 15).
            raise self._fail(ProtocolError, "respuesta inválida del worker: "
                             f"{type(exc).__name__}") from None

    def _receive(self, op: str, sent: float, cpu_calls: int = 1) -> bytearray:
        """The reply to the request sent at ``sent``, within the call's budgets (issue 17).

        The budget is CPU time: what the worker's processes used, as the kernel counts it, so a
        busy machine stretches a call's wall time but not its budget. The wall clock is only a
        safety net, ``wall_factor`` times the budget, for code that waits instead of computing
        (sleeps, deadlocks); its message names load as a possible cause. A call that lasts
        less than ``_POLL_S`` is never measured: it cannot have used its budget. A request of
        ``cpu_calls`` calls (``call_many``) has that many times one call's budget.
        """
        assert self._channel is not None
        channel = self._channel
        budget = self.limits.import_timeout_s if op == "load" else self.call_timeout_s * cpu_calls
        wall = budget * self.limits.wall_factor
        wall_deadline = min(sent + wall, self.deadline)
        cpu_start: float | None = None
        """The worker's CPU time at its first measurement, ``_POLL_S`` into the call: the call
        is charged from there, so it is never charged more than it used."""
        while True:
            now = time.monotonic()
            if channel.wait_readable(min(_POLL_S, max(0.0, wall_deadline - now))):
                break
            cpu = channel.cpu_seconds()
            if cpu is not None:
                cpu_start = cpu if cpu_start is None else cpu_start
                if cpu - cpu_start > budget:
                    raise self._fail(WorkerTimeout, self._over_budget(budget))
            if time.monotonic() >= wall_deadline:
                used = "" if cpu is None or cpu_start is None else (
                    f"; usó {cpu - cpu_start:.3g} s de CPU")
                if wall_deadline >= self.deadline:
                    raise self._fail(WorkerTimeout, "se agotó el tiempo total de la entrega "
                                     f"({self.limits.submission_timeout_s:g} s de reloj{used}; "
                                     f"{_LOAD_HINT})")
                raise self._fail(WorkerTimeout, self._over_wall(wall, used))
        try:
            frame = channel.receive(deadline=max(wall_deadline, time.monotonic() + 1.0),
                                    max_size=self._decoder_max_size())
        except TimeoutError:
            raise self._fail(WorkerTimeout, "la respuesta del worker quedó a medias; el proceso "
                             "fue terminado") from None
        if cpu_start is not None:
            cpu = channel.cpu_seconds()
            if cpu is not None and cpu - cpu_start > budget:
                raise self._fail(WorkerTimeout, self._over_budget(budget))
        return frame

    @staticmethod
    def _over_wall(wall: float, used: str = "") -> str:
        return (f"la llamada no terminó en {wall:.3g} s de reloj{used} (¿espera algo que nunca "
                f"llega? {_LOAD_HINT}); el proceso fue terminado")

    @staticmethod
    def _over_budget(budget: float) -> str:
        return (f"la llamada no terminó en {budget:.3g} s de CPU, su límite (¿un bucle "
                "infinito? ¿un entrenamiento demasiado largo?); el proceso fue terminado")

    def _account(self, op: str, reply: messages.Reply, round_trip_s: float) -> None:
        """Statistics for the benchmark: the time spent moving data rather than running code.

        The worker's own figures are untrusted numbers; they are clamped and never graded.
        """
        run_s = min(reply.run_s, round_trip_s)
        stats = self.stats
        stats["requests"] += 1
        stats["transport_s"] += round_trip_s - run_s
        if op == "hello":
            stats["start_s"] += time.monotonic() - self._started_at
        elif op == "load":
            stats["import_s"] += run_s
        stats["peak_rss_mb"] = max(stats["peak_rss_mb"], reply.peak_rss_mb)

    def _decoder_max_size(self) -> int:
        return self.limits.max_message_mb * 1024 * 1024

    def _unpack(self, reply: messages.Reply) -> tuple[Any, dict[str, Any]]:
        """The value and in-place changes of a successful reply; a failed one raises what the
        student's code raised (or the worker's death by memory or signal)."""
        for text in (reply.stdout, reply.stderr):
            if text:
                self._keep_output(text)
        if reply.ok:
            if reply.bindings != self._bindings:
                self._attributes.clear()
                self._bindings = reply.bindings
            self._cacheable = reply.cacheable
            return reply.value, reply.mutations
        assert reply.error is not None
        raise self._raised(reply.error)

    def _raised(self, error: dict[str, str]) -> Exception:
        """What the student's code raising ``error`` is here: its ``StudentError``, or the
        worker's death by memory or ``sys.exit`` (the worker is then killed)."""
        kind = clean(error["type"], TYPE_NAME_CAP)
        message = clean(error["message"], MESSAGE_CAP)
        if kind == "MemoryError":
            detail = f": {message}" if message else ""
            return self._fail(WorkerMemory, "el código del estudiante se quedó sin memoria "
                              f"(límite {self.limits.memory_mb} MiB){detail}")
        if kind in _CRASH_TYPES:
            detail = f" ({message})" if message else ""
            return self._fail(WorkerCrash, f"el código del estudiante {_CRASH_TYPES[kind]}{detail}")
        return StudentError(kind, message, clean(error["traceback"], TRACEBACK_CAP))

    # --- captured output ---------------------------------------------------------------------

    def _keep_output(self, text: str) -> None:
        room = _OUTPUT_CAP - self._output_size
        if room > 0:
            text = clean(text[:room])
            self._output.append(text)
            self._output_size += len(text)

    def take_output(self) -> str:
        """Student output captured since the last call to this method (capped)."""
        text = "".join(self._output)
        self._output, self._output_size = [], 0
        return text
