"""The wire format: data round-trips exactly; anything else is refused with a reason."""

from __future__ import annotations

import io
import os
import struct

import msgpack
import numpy as np
import pytest
import torch

from grader import protocol
from grader.errors import ProtocolError


def roundtrip(value):
    return protocol.Decoder().decode(protocol.Encoder().encode(value))


@pytest.mark.parametrize("value", [
    None, True, False, 0, -5, 2**62, 1.5, float("inf"), "ñandú", b"\x00\x01",
    [1, [2, 3]], {"a": 1, "b": [None, "x"]}, (1, (2.0, "tres")), {1: "entero como clave"},
])
def test_plain_data_round_trips_exactly(value):
    result = roundtrip(value)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.arange(6, dtype=np.int64).reshape(2, 3),
    np.array([True, False]),
    np.zeros((0, 5), dtype=np.float32),
    np.array(3.5),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(10.0)[::3],
    np.array([1 + 2j]),
])
def test_arrays_round_trip_with_shape_dtype_and_values(array):
    result = roundtrip(array)
    assert type(result) is np.ndarray
    assert result.shape == array.shape and result.dtype == array.dtype
    np.testing.assert_array_equal(result, array)
    assert result.flags.writeable


def test_numpy_scalars_stay_numpy_scalars():
    result = roundtrip(np.float64(2.5))
    assert type(result) is np.float64 and result == 2.5


def test_tuples_inside_containers_stay_tuples():
    value = {"cache": (np.ones(2), (1, 2))}
    result = roundtrip(value)
    assert type(result["cache"]) is tuple and type(result["cache"][1]) is tuple


def test_torch_tensors_cross_as_tagged_arrays():
    tensor = torch.arange(6, dtype=torch.float64).reshape(2, 3).requires_grad_(True)
    result = roundtrip(tensor)
    assert isinstance(result, torch.Tensor)
    assert result.dtype == torch.float64 and result.requires_grad
    assert torch.equal(result.detach(), tensor.detach())


@pytest.mark.parametrize("value", [
    np.array([object()], dtype=object),
    np.zeros(2).view(type("Sub", (np.ndarray,), {})),
    type("Liar", (float,), {})(1.0),
    type("D", (dict,), {})(),
    object(),
])
def test_trusted_encoder_refuses_anything_but_plain_data(value):
    with pytest.raises(TypeError, match="no es un dato transferible"):
        protocol.Encoder().encode(value)


def test_worker_encoder_turns_other_objects_into_refs():
    made = []

    def register(obj):
        made.append(obj)
        return protocol.Ref(len(made), type(obj).__qualname__)

    payload = protocol.Encoder(on_other=register).encode({"model": object(), "x": 1})
    decoded = protocol.Decoder(on_ref=lambda ref: ref).decode(payload)
    assert decoded["x"] == 1
    assert isinstance(decoded["model"], protocol.Ref) and decoded["model"].type_name == "object"


def test_refs_are_refused_where_not_expected():
    payload = protocol.Encoder().encode(protocol.Ref(1, "Model"))
    with pytest.raises(ProtocolError, match="referencias no permitidas"):
        protocol.Decoder().decode(payload)


def _npy_with_header(header: str, body: bytes) -> bytes:
    head = header.encode("latin1")
    padding = 64 - (10 + len(head) + 1) % 64
    head += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + body


def test_object_arrays_are_refused_without_unpickling():
    npy = _npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"x" * 8)
    payload = msgpack.packb(msgpack.ExtType(protocol.NDARRAY, npy))
    with pytest.raises(ProtocolError, match="no permitido"):
        protocol.Decoder().decode(payload)


def test_arrays_whose_bytes_do_not_match_their_shape_are_refused():
    npy = _npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }", b"x" * 8)
    payload = msgpack.packb(msgpack.ExtType(protocol.NDARRAY, npy))
    with pytest.raises(ProtocolError, match="necesita 8000 bytes"):
        protocol.Decoder().decode(payload)


@pytest.mark.parametrize("payload", [b"\xc1", b"\x92\x01", msgpack.packb(msgpack.ExtType(42, b""))])
def test_malformed_documents_fail_with_a_reason(payload):
    with pytest.raises(ProtocolError):
        protocol.Decoder().decode(payload)


def test_documents_over_the_size_cap_are_refused():
    payload = protocol.Encoder().encode(np.zeros(1000))
    with pytest.raises(ProtocolError, match="máximo"):
        protocol.Decoder(max_size=100).decode(payload)


def test_deeply_nested_tuples_are_refused():
    value: tuple = ()
    for _ in range(protocol.MAX_DEPTH + 5):
        value = (value,)
    with pytest.raises(ProtocolError, match="anidamiento"):
        roundtrip(value)


def test_frames_round_trip_over_a_pipe():
    read_fd, write_fd = os.pipe()
    try:
        protocol.write_frame(write_fd, b"hola")
        assert protocol.read_frame(read_fd) == b"hola"
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_frame_announcing_more_than_the_cap_is_refused_before_reading_it():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, struct.pack(">I", 10_000_000))
        with pytest.raises(ProtocolError, match="anunció un mensaje de 10000000 bytes"):
            protocol.read_frame(read_fd, max_size=1000)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_reading_past_the_deadline_raises_timeout():
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(TimeoutError):
            protocol.read_frame(read_fd, deadline=0.0)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_closed_pipe_reads_as_end_of_file():
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    try:
        with pytest.raises(EOFError):
            protocol.read_frame(read_fd)
    finally:
        os.close(read_fd)


def test_decoded_arrays_do_not_share_memory_with_the_message():
    payload = bytearray(protocol.Encoder().encode(np.ones(4)))
    result = protocol.Decoder().decode(bytes(payload))
    result[0] = 5.0
    assert io.BytesIO(payload).getvalue() == payload
