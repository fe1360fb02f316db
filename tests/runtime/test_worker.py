"""The worker's request handling on its own, without a sandbox: each request frame in, one reply
frame out, with the student's errors described and in-place changes reported (the sandbox tests
run the same worker isolated: tests/sandbox/)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.runtime import messages, protocol
from grader.runtime.worker import Worker

_ids = itertools.count(1)


class Driver:
    """Talks to a ``Worker`` as the trusted side does, frame by frame."""

    def __init__(self) -> None:
        self.worker = Worker(-1, -1)
        self.decoder = protocol.Decoder(on_ref=lambda ref: ref)

    def raw(self, message: Any) -> dict[str, Any]:
        frame = bytearray(b"".join(bytes(p) for p in protocol.Encoder().encode_frame(message)))
        reply = self.worker._handle(frame)
        return self.decoder.decode_frame(bytearray(b"".join(bytes(p) for p in reply)))

    def send(self, op: str, **fields: Any) -> dict[str, Any]:
        request_id = next(_ids)
        reply = self.raw(messages.request(op, request_id, **fields))
        assert reply["id"] == request_id
        return reply


@pytest.fixture
def student(tmp_path: Path) -> tuple[Driver, protocol.Ref]:
    path = tmp_path / "student_worker_test.py"
    path.write_text("import numpy as np\n"
                    "def double(x):\n    return 2 * x\n"
                    "def scale_in_place(a):\n    a *= 3\n"
                    "def boom(x):\n    raise ValueError(f'mal: {x}')\n")
    driver = Driver()
    reply = driver.send("load", path=str(path), name=f"student_worker_test_{next(_ids)}")
    assert reply["ok"], reply
    return driver, reply["value"]


def test_a_loaded_function_is_cacheable_and_answers_calls(student):
    driver, module = student
    getattr_reply = driver.send("getattr", target=module, name="double")
    assert getattr_reply["ok"] and getattr_reply["cacheable"] is True
    call = driver.send("call", target=getattr_reply["value"], args=[np.arange(3.0)], kwargs={})
    assert call["ok"] and call["mutations"] == {}
    np.testing.assert_array_equal(call["value"], [0.0, 2.0, 4.0])
    assert call["run_s"] >= 0 and isinstance(call["bindings"], int)


def test_getattrs_answers_the_modules_functions_and_leaves_out_the_rest(student):
    driver, module = student
    reply = driver.send("getattrs", target=module, names=["double", "np", "missing", "boom"])
    assert reply["ok"] and sorted(reply["value"]) == ["boom", "double"]
    call = driver.send("call", target=reply["value"]["double"], args=[3], kwargs={})
    assert call["value"] == 6


@pytest.mark.parametrize("target, names", [(None, ["double"]), ("module", "double"),
                                           ("module", [1])])
def test_getattrs_asks_for_names_of_a_module_only(student, target, names):
    driver, module = student
    reply = driver.send("getattrs", target=module if target == "module" else target, names=names)
    assert reply["ok"] is False and reply["error"]["type"] == "ProtocolError"


LIMITS = {"cpu_s": 5.0, "wall_s": 10.0}


def test_steps_hand_an_earlier_result_to_a_later_call(student):
    driver, module = student
    double = driver.send("getattr", target=module, name="double")["value"]
    reply = driver.send("steps", limits=LIMITS, steps=[
        ["call", {"target": double, "args": [[1, 2]], "kwargs": {}}, []],
        ["call", {"target": double, "args": [None], "kwargs": {}}, [[["args", 0], 0, [1]]]]])
    assert reply["ok"] and reply["value"] == [[[[1, 2, 1, 2], {}], [4, {}]], None, ""]


@pytest.mark.parametrize("step", [
    "call",
    ["load", {"path": "x", "name": "y"}, []],
    ["define", {"name": "x", "source": "import os"}, []],
    ["getattr", {"target": None}, []],
    ["getattr", {"target": None, "name": "x"}, [[["target"], 1, []]]],
    ["getattr", {"target": None, "name": "x"}, [[["args", 0], -1, []]]],
    ["call", {"target": None, "args": [], "kwargs": {}}, [[["args", 0], 0, []]]],
    ["call", {"target": None, "args": [1], "kwargs": {}}, [[["args", 0], 0, [1.5]]]],
])
def test_a_malformed_step_is_refused_before_any_step_runs(student, step):
    """Only call, getattr and setattr, with their own fields; links only to earlier steps and
    to fields the step has. Nothing runs: the first step would have changed the array."""
    driver, module = student
    scale = driver.send("getattr", target=module, name="scale_in_place")["value"]
    reply = driver.send("steps", limits=LIMITS, steps=[
        ["call", {"target": scale, "args": [np.ones(2)], "kwargs": {}}, []], step])
    assert reply["ok"] is False and reply["error"]["type"] == "ProtocolError"


CHANGES = [
    ("params['W'][0] += 1", True), ("params['k'] = 1", True), ("params['n'].append(2)", True),
    ("params['n'][0] = 1.0", True), ("params['s'] = 'b'", True), ("params['t'] = (1, 3)", True),
    ("params['n'][0] = 1", False), ("params['W'] = params['W']", False), ("pass", False),
]


@pytest.mark.parametrize("change, changed", CHANGES)
def test_a_change_deep_inside_an_argument_is_seen_and_no_change_is_not(tmp_path, change, changed):
    """The worker hashes containers item by item (issue 23): every change of content shows,
    including 1 -> 1.0 (another value for the checks), and rebinding to the same content does
    not."""
    path = tmp_path / "student_digest_test.py"
    path.write_text(f"def touch(params):\n    {change}\n")
    driver = Driver()
    module = driver.send("load", path=str(path), name=f"student_digest_test_{next(_ids)}")["value"]
    touch = driver.send("getattr", target=module, name="touch")["value"]
    params = {"W": np.zeros((2, 3)), "n": [1, [2.5, None]], "s": "a", "t": (1, 2)}
    reply = driver.send("call", target=touch, args=[params], kwargs={})
    assert reply["ok"], reply
    assert ("0" in reply["mutations"]) is changed


def test_an_argument_changed_in_place_comes_back_as_a_mutation(student):
    driver, module = student
    scale = driver.send("getattr", target=module, name="scale_in_place")["value"]
    call = driver.send("call", target=scale, args=[np.ones(2)], kwargs={})
    assert call["ok"] and call["value"] is None
    np.testing.assert_array_equal(call["mutations"]["0"], [3.0, 3.0])


def test_a_student_exception_is_described_with_the_students_own_frames(student):
    driver, module = student
    boom = driver.send("getattr", target=module, name="boom")["value"]
    reply = driver.send("call", target=boom, args=[7], kwargs={})
    assert reply["ok"] is False
    assert (reply["error"]["type"], reply["error"]["message"]) == ("ValueError", "mal: 7")
    assert "student_worker_test.py" in reply["error"]["traceback"]


def test_a_file_that_does_not_compile_shows_its_line_with_a_caret_as_python_does(tmp_path):
    path = tmp_path / "student_syntax_test.py"
    path.write_text("def ok():\n    return 1\n\n\ndef loop(:\n    return 1\n")
    reply = Driver().send("load", path=str(path), name=f"student_syntax_test_{next(_ids)}")
    assert reply["ok"] is False and reply["error"]["type"] == "SyntaxError"
    assert reply["error"]["message"] == "invalid syntax (línea 5)\n    def loop(:\n             ^"


@pytest.mark.parametrize("message, expected", [
    ({"op": "hello"}, "pedido sin id"),
    ({"id": 3, "op": "exec"}, "operación desconocida: 'exec'"),
    ({"id": 3, "op": "getattr", "name": "x"}, "le faltan los campos ['target']"),
])
def test_a_malformed_request_gets_a_protocol_error_reply(message, expected):
    reply = Driver().raw(message)
    assert reply["ok"] is False and reply["error"]["type"] == "ProtocolError"
    assert expected in reply["error"]["message"]


def test_hello_and_len_answer_before_any_student_module_is_loaded():
    driver = Driver()
    assert driver.send("hello")["value"]["numpy"] == np.__version__
    assert driver.send("len", target=[1, 2, 3])["value"] == 3


def test_the_torch_state_of_each_check_reports_tf32_off_and_deterministic_cudnn():
    # issue 21: the result's environment records the flags numerics on a GPU depend on
    from grader.runtime.worker import reset_random_state

    info = reset_random_state(7, torch=True)
    assert {k: info[k] for k in ("matmul_allow_tf32", "cudnn_allow_tf32", "cudnn_benchmark",
                                 "cudnn_deterministic")} == {
        "matmul_allow_tf32": False, "cudnn_allow_tf32": False, "cudnn_benchmark": False,
        "cudnn_deterministic": True}


# --- call_many: K calls in one request, each as a `call` request runs it (issue 23) -------------


def test_call_many_sends_back_only_the_part_pick_names(tmp_path):
    path = tmp_path / "student_pick_test.py"
    path.write_text("def pair(x):\n    return (x, [x, 10 * x]) if x < 3 else x\n")
    driver = Driver()
    module = driver.send("load", path=str(path), name=f"student_pick_test_{next(_ids)}")["value"]
    pair = driver.send("getattr", target=module, name="pair")["value"]
    calls = [[[x], {}] for x in (1, 2, 3)]
    entries, error, over = driver.send("call_many", target=pair, calls=calls, limits=ROOMY,
                                       pick=[1, 1])["value"]
    assert [value for value, _ in entries] == [10, 20] and over == ""
    assert error["type"] == "TypeError"  # 3 is not a pair: that call's error, as x[1] raises
    reply = driver.send("call_many", target=pair, calls=calls, limits=ROOMY, pick=[1.5])
    assert reply["ok"] is False and reply["error"]["type"] == "ProtocolError"

ROOMY = {"bytes": 2**30, "elements": 10**6, "copied": 2**30, "cpu_s": 5.0, "wall_s": 20.0}


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Driver, dict[str, protocol.Ref]]:
    path = tmp_path / "student_batch_test.py"
    path.write_text("import numpy as np\n"
                    "def double(x):\n    return 2 * x\n"
                    "def scale_in_place(a, k):\n    a *= k\n    return k\n"
                    "def fails_on_3(x):\n    if x == 3:\n        raise ValueError(f'mal: {x}')\n"
                    "    return x\n"
                    "def spins_on_2(x):\n    while x == 2:\n        pass\n    return x\n"
                    "def stubborn(x):\n    while x == 1:\n        try:\n            while True:\n"
                    "                pass\n        except BaseException:\n            return 'sigo'\n"
                    "    return x\n"
                    "def big(n):\n    return np.zeros(n)\n"
                    "def sleeps_on_1(x):\n    import time\n    while x == 1:\n"
                    "        time.sleep(1)\n    return x\n")
    driver = Driver()
    module = driver.send("load", path=str(path), name=f"student_batch_test_{next(_ids)}")["value"]
    names = ("double", "scale_in_place", "fails_on_3", "spins_on_2", "stubborn", "big",
             "sleeps_on_1")
    return driver, {n: driver.send("getattr", target=module, name=n)["value"] for n in names}


def test_call_many_gives_what_k_single_calls_give(batch):
    driver, fns = batch
    inputs = [np.arange(3.0) + i for i in range(5)]
    single = [driver.send("call", target=fns["double"], args=[x], kwargs={}) for x in inputs]
    many = driver.send("call_many", pick=[], target=fns["double"], calls=[[[x], {}] for x in inputs],
                       limits=ROOMY)
    entries, error, over_budget = many["value"]
    assert many["ok"] and error is None and over_budget == ""
    assert len(entries) == len(single) == 5
    for (value, mutations), one in zip(entries, single, strict=True):
        np.testing.assert_array_equal(value, one["value"])
        assert mutations == one["mutations"] == {}


def test_call_many_reports_each_calls_own_changes_in_place(batch):
    driver, fns = batch
    calls = [[[np.ones(2), 2.0], {}], [[np.ones(2)], {"k": 5.0}]]
    entries, _, _ = driver.send("call_many", pick=[], target=fns["scale_in_place"], calls=calls,
                                limits=ROOMY)["value"]
    np.testing.assert_array_equal(entries[0][1]["0"], [2.0, 2.0])
    np.testing.assert_array_equal(entries[1][1]["0"], [5.0, 5.0])


def test_call_many_stops_at_the_call_that_raises_and_describes_it_as_a_call_would(batch):
    driver, fns = batch
    single = driver.send("call", target=fns["fails_on_3"], args=[3], kwargs={})
    reply = driver.send("call_many", pick=[], target=fns["fails_on_3"],
                        calls=[[[x], {}] for x in (1, 2, 3, 4, 5)], limits=ROOMY)
    entries, error, over_budget = reply["value"]
    assert [value for value, _ in entries] == [1, 2]  # the error is call len(entries) = 2
    assert error == single["error"] and over_budget == ""


def test_a_call_many_call_that_outruns_its_cpu_time_stops_the_batch(batch):
    driver, fns = batch
    reply = driver.send("call_many", pick=[], target=fns["spins_on_2"],
                        calls=[[[x], {}] for x in (0, 1, 2, 3)], limits={**ROOMY, "cpu_s": 0.2})
    entries, error, over_budget = reply["value"]
    assert [value for value, _ in entries] == [0, 1] and error is None and over_budget == "cpu"


def test_a_call_many_call_that_waits_past_its_wall_clock_stops_the_batch(batch):
    driver, fns = batch
    reply = driver.send("call_many", pick=[], target=fns["sleeps_on_1"],
                        calls=[[[x], {}] for x in (0, 1, 2)], limits={**ROOMY, "wall_s": 0.2})
    entries, error, over_budget = reply["value"]
    assert [value for value, _ in entries] == [0] and error is None and over_budget == "wall"


def test_code_that_swallows_the_cpu_timer_still_ends_the_batch_over_budget(batch):
    driver, fns = batch
    reply = driver.send("call_many", pick=[], target=fns["stubborn"],
                        calls=[[[x], {}] for x in (0, 1, 2)], limits={**ROOMY, "cpu_s": 0.2})
    entries, error, over_budget = reply["value"]
    assert [value for value, _ in entries] == [0] and error is None and over_budget == "cpu"


def test_call_many_stops_before_a_call_whose_reply_could_pass_the_byte_budget(batch):
    driver, fns = batch
    # Each result is an 8000-byte array: three fit in 30,000 bytes, a fourth could not.
    reply = driver.send("call_many", pick=[], target=fns["big"], calls=[[[1000], {}]] * 6,
                        limits={**ROOMY, "bytes": 30_000})
    entries, error, over_budget = reply["value"]
    assert len(entries) == 3 and error is None and over_budget == ""


def test_call_many_stops_before_a_call_that_could_pass_the_element_budget(batch):
    driver, fns = batch
    reply = driver.send("call_many", pick=[], target=fns["double"], calls=[[[[1] * 10], {}]] * 6,
                        limits={**ROOMY, "elements": 50})
    entries, _, _ = reply["value"]
    # Each entry is 22 elements ([value, mutations], then value's 20 items): two fit in 50.
    assert len(entries) == 2
