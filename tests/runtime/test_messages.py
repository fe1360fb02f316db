"""Requests are defined once (``grader.runtime.messages``) and checked at both ends."""

from __future__ import annotations

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
    request_id, op, values = messages.parse({"id": 3, "op": "call", "kwargs": {}, "args": [1],
                                             "target": "t"})
    assert (request_id, op.name, values) == (3, "call", ("t", [1], {}))


@pytest.mark.parametrize("message", [{"op": "hello"}, {"id": "1", "op": "hello"}, [1],
                                     {"id": 1, "op": "load", "path": "x"}])
def test_a_malformed_request_is_a_protocol_error(message):
    with pytest.raises(ProtocolError):
        messages.parse(message)
