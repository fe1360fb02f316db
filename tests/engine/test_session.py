"""Whatever a worker replies, a bad reply is that worker's PROTOCOL, never a grader error, and
the student's text in it arrives clean and capped (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.engine.session import Session
from grader.errors import ProtocolError, StudentError, WorkerMemory
from grader.runtime import protocol
from grader.sandbox.base import Backend, Limits
from grader.sandbox.subprocess import SubprocessBackend
from grader.student.check import check_file

# --- a worker that answers from a script ---------------------------------------------------------


def normal_reply(request: dict[str, Any]) -> dict[str, Any]:
    """What worker.py answers, for the few requests these tests make."""
    value: Any = {"hello": {"python": "3.11"}, "load": protocol.Ref(1, "module"),
                  "seed": {}, "getattr": protocol.Ref(2, "function")}.get(request["op"])
    return {"id": request["id"], "ok": True, "value": value, "mutations": {}, "stdout": "",
            "stderr": "", "bindings": 7}


class ScriptedChannel:
    out_of_memory = False
    module_path = "/sandbox/tp1.py"

    def __init__(self, backend: ScriptedBackend) -> None:
        self.backend = backend
        self.replies: list[bytearray] = []

    def send(self, payload: list[bytes | memoryview]) -> None:
        frame = bytearray(b"".join(bytes(memoryview(p).cast("B")) for p in payload))
        request = protocol.Decoder(on_ref=lambda ref: ref).decode_frame(frame)
        reply = normal_reply(request)
        reply.update(self.backend.overrides.pop(request["op"], {}))
        pieces = protocol.Encoder().encode_frame(reply)
        self.replies.append(bytearray(b"".join(bytes(memoryview(p).cast("B")) for p in pieces)))

    def receive(self, *, deadline: float, max_size: int) -> bytearray:
        return self.replies.pop(0)

    def wait_readable(self, timeout: float) -> bool:
        return bool(self.replies)

    def cpu_seconds(self) -> float | None:
        return None

    def close(self, *, grace_s: float = 0.05) -> str:
        return "terminado"


class ScriptedBackend(Backend):
    """Its workers answer like worker.py, except the first reply to each op in ``overrides``,
    updated with what it maps that op to (so a worker started after a PROTOCOL answers well)."""

    name = "guion"

    def __init__(self, **overrides: dict[str, Any]) -> None:
        self.overrides = overrides

    def start(self, module_file: Path, limits: Limits) -> Any:
        return ScriptedChannel(self)

    def launch(self, filename: str, limits: Limits) -> Any:
        # Backend requires it; this fake replaces start() whole, so nothing ever launches.
        raise NotImplementedError("the scripted backend answers through start() only")


def first_call(reply: dict[str, Any], *args: Any, **kwargs: Any) -> Session:
    """A session whose first call to the student's ``f(*args, **kwargs)`` gets ``reply``."""
    session = Session(ScriptedBackend(call=reply), Path("tp1.py"), "tp1", Limits())
    session.module().f(*args, **kwargs)
    return session


@pytest.mark.parametrize("reply", [
    {"mutations": {"²": np.zeros(2)}},  # '²'.isdigit() is True, int('²') raises ValueError
    {"mutations": {"٣": np.zeros(2)}},  # int() reads this Arabic-Indic digit as 3; no worker sends it
    {"mutations": {"9" * 5000: np.zeros(2)}},  # more digits than int() accepts
    {"mutations": {"7": np.zeros(2)}},  # an argument the call did not have
    {"mutations": {"x": np.zeros(2)}},
    {"bindings": np.arange(3)},  # 'bindings != previous' was an array: ambiguous truth value
    {"bindings": "otra"},
    {"id": np.arange(3)},
    {"ok": False, "error": np.arange(3)},
    {"ok": False, "error": {"type": np.arange(3), "message": "", "traceback": ""}},
    {"mutations": [1, 2]},
])
def test_a_malformed_reply_is_the_workers_protocol_error(reply):
    with pytest.raises(ProtocolError, match="respuesta inválida del worker"):
        first_call(reply, np.ones(2))


def test_after_a_protocol_error_the_next_worker_is_used():
    session = Session(ScriptedBackend(call={"bindings": np.arange(3)}), Path("tp1.py"), "tp1",
                      Limits())
    with pytest.raises(ProtocolError):
        session.module().f(1)
    assert session.module().f(1) is None and session.restarts == 1


def test_a_reply_that_breaks_the_unpacking_some_other_way_is_still_protocol(monkeypatch):
    account = Session._account

    def breaks_on_calls(self: Session, op: str, *args: Any) -> None:
        if op == "call":
            raise KeyError("algo que nadie previó")
        account(self, op, *args)

    monkeypatch.setattr(Session, "_account", breaks_on_calls)
    with pytest.raises(ProtocolError, match="respuesta inválida del worker: KeyError"):
        first_call({})


def test_a_mutation_of_the_wrong_type_is_left_out():
    x = np.ones(2)
    first_call({"mutations": {"0": [1, 2]}}, x)
    np.testing.assert_array_equal(x, np.ones(2))


def test_a_mutation_of_a_read_only_argument_is_left_out():
    # np.copyto raised ValueError inside the grader: "error interno del calificador".
    x = np.ones(2)
    x.flags.writeable = False
    first_call({"mutations": {"0": np.zeros(2)}}, x)
    np.testing.assert_array_equal(x, np.ones(2))


def test_a_mutation_of_a_keyword_argument_is_copied_back():
    x = np.ones(2)
    first_call({"mutations": {"x": np.zeros(2)}}, x=x)
    np.testing.assert_array_equal(x, np.zeros(2))


def test_braces_in_a_students_message_reach_the_result_as_written():
    # str.format on the message raised KeyError('boom') inside the grader.
    error = {"type": "MemoryError", "message": "{boom} {0}", "traceback": ""}
    with pytest.raises(WorkerMemory, match=r"\{boom\} \{0\}"):
        first_call({"ok": False, "error": error})


def test_a_students_exception_arrives_clean_and_capped():
    error = {"type": "E" * 12_000_000, "message": "\x1b]52;c;aG9sYQ==\x07mal\x1b[2J" + "m" * 10_000,
             "traceback": "t" * 20_000}
    with pytest.raises(StudentError) as caught:
        first_call({"ok": False, "error": error})
    assert caught.value.type_name == "E" * 200 + "… [recortado: 11999800 caracteres más]"
    assert caught.value.message.startswith("mal" + "m" * 100)
    assert len(caught.value.message) < 4100 and len(caught.value.student_traceback) < 8100


def test_printed_output_arrives_without_terminal_controls():
    session = first_call({"stdout": "hola\x1b]8;;https://x.y\x1b\\enlace\x1b]8;;\x1b\\\x9b2J ñ\n"})
    assert session.take_output() == "holaenlace ñ\n"


def test_what_a_worker_says_about_itself_is_bounded():
    # The environment is copied into every result file.
    hello = {f"k{i}\x1b[2J": "v" * 1000 for i in range(1000)}
    session = Session(ScriptedBackend(hello={"value": hello}), Path("tp1.py"), "tp1", Limits())
    session.module()
    assert len(session.environment) == 32
    assert all("\x1b" not in k and len(v) < 250 for k, v in session.environment.items())


# --- a real worker whose student code rewrites its replies --------------------------------------

FORGES_BINDINGS = '''
import gc

import numpy as np


def linear_forward(x, W, b):
    return x @ W + b, (x, W, b)


def loop():
    worker = next(o for o in gc.get_objects() if type(o).__name__ == "Worker")
    worker._bindings = lambda: np.arange(3)
    return 1
'''

HUGE_EXCEPTION_NAME = '''
def linear_forward(x, W, b):
    return x @ W + b, (x, W, b)


def loop():
    raise type("Error" + "E" * 12_000_000, (Exception,), {})("\\x1b[2Jborrado")
'''


def test_a_forged_reply_from_student_code_is_protocol_for_that_check(mini_course, monkeypatch):
    # It used to raise inside the grader: "error interno del calificador", no grade at all.
    monkeypatch.chdir(mini_course)
    student = mini_course / "students" / "forges_bindings.py"
    student.write_text(FORGES_BINDINGS)
    checks = {c.id: c for c in check_file("tp1", student).checks}
    assert {k: c.status.value for k, c in checks.items()} == {"public::test_lin": "PASS",
                                                               "public::test_loop": "PROTOCOL"}
    assert "bindings de tipo ndarray" in checks["public::test_loop"].message


def test_a_12_mb_exception_name_is_capped_in_the_result(mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    student = mini_course / "students" / "huge_exception_name.py"
    student.write_text(HUGE_EXCEPTION_NAME)
    report = check_file("tp1", student)
    loop = next(c for c in report.checks if c.id == "public::test_loop")
    assert loop.status.value == "ERROR"
    assert loop.message.startswith("el código lanzó Error" + "E" * 195 + "… [recortado: ")
    assert loop.message.splitlines()[0].endswith(": borrado") and len(loop.message) < 600


def test_a_session_with_a_real_worker_turns_forged_bindings_into_protocol(tmp_path):
    path = tmp_path / "tp1.py"
    path.write_text(FORGES_BINDINGS)
    session = Session(SubprocessBackend(isolation="none"), path, "tp1", Limits())
    try:
        student = session.module()
        with pytest.raises(ProtocolError, match="bindings de tipo ndarray"):
            student.loop()
        out, _ = session.module().linear_forward(np.ones((1, 2)), np.ones((2, 3)), np.zeros(3))
        np.testing.assert_array_equal(out, np.full((1, 3), 2.0))  # a fresh worker answers
    finally:
        session.close()


RANDOM_DRAWS = """
import random
import numpy as np

def draw():
    return [random.random(), float(np.random.rand())]
"""


@pytest.fixture
def drawing(tmp_path):
    """A session with a real worker on a module whose ``draw()`` reads both random states."""
    path = tmp_path / "tp1.py"
    path.write_text(RANDOM_DRAWS)
    session = Session(SubprocessBackend(isolation="none"), path, "tp1", Limits())
    yield session
    session.close()


def test_every_check_starts_from_its_seed_with_no_request_of_its_own(drawing):
    """A worker's first check asks for its seed; later ones send it with their first request,
    which the worker applies before running it (issue 23): same draws, fewer round trips."""
    session = drawing
    session.begin_check(5)
    first = session.module().draw()
    assert session.module().draw() != first  # the state moves on within a check
    requests = session.stats["requests"]
    session.begin_check(5)
    assert session.stats["requests"] == requests
    assert session.module().draw() == first
    session.begin_check(6)  # a check that asks nothing: the next check's seed replaces it
    session.begin_check(5)
    assert session.module().draw() == first
    assert session.stats["requests"] == requests + 2


def test_a_new_worker_asks_for_its_seed_again(drawing):
    """A worker that replaced a dead one answers its first check's seed request (and says again
    what it runs on) before any check relies on a piggybacked seed."""
    session = drawing
    session.begin_check(5)
    first = session.module().draw()
    session.close()
    session.begin_check(5)
    assert session.generation == 2 and session._seeded_generation == 2
    assert session.module().draw() == first


# --- a failure at load time ends the submission once (issue 19) ---------------------------------


class CountingBackend(ScriptedBackend):
    """A scripted backend that counts the workers it starts; every load gets ``load``."""

    def __init__(self, load: dict[str, Any]) -> None:
        super().__init__()
        self.load = load
        self.started = 0

    def start(self, module_file: Path, limits: Limits) -> Any:
        self.started += 1
        self.overrides["load"] = dict(self.load)
        return ScriptedChannel(self)


def test_an_import_out_of_memory_is_not_retried_and_says_what_to_check(tmp_path):
    module = tmp_path / "tp1.py"
    module.write_text("x = 1\n" * 1000)
    backend = CountingBackend({"ok": False, "error": {"type": "MemoryError", "message": "",
                                                      "traceback": ""}})
    session = Session(backend, module, "tp1", Limits(memory_mb=512))
    for _ in range(3):
        with pytest.raises(WorkerMemory) as error:
            session.module()
        assert str(error.value) == (
            "al importar tu archivo (pesa 5 KB) el proceso pasó el límite de 512 MiB de memoria; "
            "revisá lo que se ejecuta al nivel del módulo: entrenamientos, datos grandes o "
            "celdas de prueba fuera de una función")
    assert backend.started == 1 and session.restarts == 1
    assert session.load_failure is not None


def test_a_memory_error_without_a_message_leaves_no_trailing_colon():
    with pytest.raises(WorkerMemory) as error:
        first_call({"ok": False, "error": {"type": "MemoryError", "message": "", "traceback": ""}})
    assert str(error.value) == "el código del estudiante se quedó sin memoria (límite 4096 MiB)"
