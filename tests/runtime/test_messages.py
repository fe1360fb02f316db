"""Requests and replies are defined once (``grader.runtime.messages``) and checked at both ends."""

from __future__ import annotations

import numpy as np
import pytest

from grader.errors import ProtocolError
from grader.runtime import messages


def test_a_request_carries_exactly_its_ops_fields():
    assert messages.request("getattr", 7, target=None, name="f") == {
        "id": 7, "op": "getattr", "target": None, "name": "f"}


@pytest.mark.parametrize("fields", [{"target": None}, {"target": None, "name": "f", "x": 1}])
def test_the_trusted_side_cannot_build_a_request_with_other_fields(fields):
    with pytest.raises(ValueError, match=r"lleva los campos \['target', 'name'\]"):
        messages.request("getattr", 1, **fields)


def test_an_unknown_op_is_refused_at_both_ends():
    with pytest.raises(ValueError, match="las válidas son"):
        messages.request("exec", 1)
    with pytest.raises(ProtocolError, match="operación desconocida"):
        messages.parse({"id": 1, "op": "exec"})


def test_the_worker_reads_the_fields_in_the_ops_order():
    request_id, op, values, reseed = messages.parse({"id": 3, "op": "call", "kwargs": {},
                                                     "args": [1], "target": "t"})
    assert (request_id, op.name, values, reseed) == (3, "call", ("t", [1], {}), None)


def test_a_request_can_carry_the_checks_seed_and_the_worker_reads_it():
    message = messages.request("len", 2, reseed=(99, True), target=None)
    assert message == {"id": 2, "op": "len", "target": None, "reseed": [99, True]}
    assert messages.parse(message)[3] == (99, True)


@pytest.mark.parametrize("message", [{"op": "hello"}, {"id": "1", "op": "hello"}, [1],
                                     {"id": 1, "op": "load", "path": "x"},
                                     {"id": 1, "op": "hello", "reseed": [1]},
                                     {"id": 1, "op": "hello", "reseed": [1.0, False]},
                                     {"id": 1, "op": "hello", "reseed": [1, 0]}])
def test_a_malformed_request_is_a_protocol_error(message):
    with pytest.raises(ProtocolError):
        messages.parse(message)


# --- replies ------------------------------------------------------------------------------------


def test_a_success_built_by_the_worker_parses_into_the_same_reply():
    message = {**messages.success(4, [1, 2], {"0": 3}, 0.25, bindings=7, cacheable=True),
               "stdout": "hola\n", "stderr": "", "peak_rss_mb": 80}
    reply = messages.parse_reply(message, 4)
    assert reply == messages.Reply(id=4, ok=True, value=[1, 2], mutations={"0": 3}, stdout="hola\n",
                                   bindings=7, cacheable=True, run_s=0.25, peak_rss_mb=80)


def test_a_failure_built_by_the_worker_parses_with_its_error():
    error = {"type": "ValueError", "message": "mal", "traceback": "línea 3"}
    reply = messages.parse_reply(messages.failure(5, error), 5)
    assert (reply.ok, reply.error, reply.value, reply.mutations) == (False, error, None, {})


@pytest.mark.parametrize("message, expected", [
    ({"id": 4, "ok": True}, "no responde a la llamada hecha"),  # another request's reply
    ({"id": 5, "ok": "sí"}, "no responde a la llamada hecha"),
    ([5, True], "no responde a la llamada hecha"),
    ({"id": 5, "ok": True, "bindings": 1.5}, "bindings de tipo float"),
    ({"id": 5, "ok": True, "mutations": {0: 1}}, "mutaciones mal formadas"),
    ({"id": 5, "ok": True, "mutations": [1]}, "mutaciones mal formadas"),
    ({"id": 5, "ok": False, "error": {"type": "E", "message": 3, "traceback": ""}},
     "error mal formado"),
    ({"id": 5, "ok": False}, "error mal formado"),
])
def test_a_reply_that_is_not_one_is_a_protocol_error_that_says_why(message, expected):
    with pytest.raises(ProtocolError, match=expected):
        messages.parse_reply(message, 5)


def test_the_workers_statistics_are_clamped_never_refused():
    reply = messages.parse_reply({"id": 1, "ok": True, "run_s": -3.0, "peak_rss_mb": "mucho",
                                  "stdout": 42}, 1)
    assert (reply.run_s, reply.peak_rss_mb, reply.stdout) == (0.0, 0, "")


ERROR = {"type": "ValueError", "message": "mal", "traceback": ""}


@pytest.mark.parametrize(("value", "asked"), [
    (None, 2),
    ([[], None], 2),                                    # not three fields
    ([[[1, {}]] * 3, None, ""], 2),                     # more entries than calls asked
    ([[[1, {}, 2]], None, ""], 2),                      # an entry of three
    ([[[1, {3: 4}]], None, ""], 2),                     # a mutation not named by a str
    ([[[1, {}]], {"type": "X"}, ""], 2),                # an error without all its fields
    ([[[1, {}]], None, True], 2),                       # over_budget not a kind
    ([[[1, {}]], None, np.array(["cpu", "wall"])], 2),  # nor an array (no truth value)
    ([[[1, {}], [2, {}]], ERROR, ""], 2),               # an error after the last call
    ([[], None, ""], 2),                                # nothing done and nothing said
])
def test_a_malformed_call_many_reply_is_a_protocol_error(value, asked):
    with pytest.raises(ProtocolError):
        messages.parse_batch(value, asked)


def test_a_call_many_reply_gives_its_entries_error_and_budget_flag():
    assert messages.parse_batch([[[1, {}], [2, {"0": 5}]], ERROR, ""], 3) == (
        [(1, {}), (2, {"0": 5})], ERROR, "")
    assert messages.parse_batch([[], None, "wall"], 3) == ([], None, "wall")
