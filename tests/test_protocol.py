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


def _array_with_header(dtype: str, shape: tuple[int, ...], body: bytes) -> bytes:
    text = dtype.encode("ascii")
    return (struct.pack(">B", len(text)) + text + struct.pack(">BB", 0, len(shape))
            + struct.pack(f">{len(shape)}Q", *shape) + body)


def test_object_arrays_are_refused_without_unpickling():
    payload = msgpack.packb(msgpack.ExtType(protocol.NDARRAY, _array_with_header("|O", (1,), b"x" * 8)))
    with pytest.raises(ProtocolError, match="no permitido"):
        protocol.Decoder().decode(payload)


@pytest.mark.parametrize("dtype", ["<V8", "<M8", "<f8,<f8", "(2)<f8", "O", "<U3"])
def test_only_plain_numeric_dtypes_are_accepted(dtype):
    payload = msgpack.packb(msgpack.ExtType(protocol.NDARRAY, _array_with_header(dtype, (1,), b"x" * 8)))
    with pytest.raises(ProtocolError, match="no permitido"):
        protocol.Decoder().decode(payload)


def test_arrays_whose_bytes_do_not_match_their_shape_are_refused():
    payload = msgpack.packb(msgpack.ExtType(protocol.NDARRAY, _array_with_header("<f8", (1000,), b"x" * 8)))
    with pytest.raises(ProtocolError, match="necesita 8000 bytes"):
        protocol.Decoder().decode(payload)


def frame_of(value, encoder=None) -> bytearray:
    """What the reader gets: the frame without its 4-byte length."""
    read_fd, write_fd = os.pipe()
    try:
        pieces = (encoder or protocol.Encoder()).encode_frame(value)
        assert sum(memoryview(p).nbytes for p in pieces) < 60_000  # fits in the pipe
        protocol.write_frame(write_fd, pieces)
        return protocol.read_frame(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_large_arrays_travel_out_of_band_and_arrive_as_writable_aligned_views():
    big = np.arange(1000, dtype=np.float64).reshape(10, 100)
    fortran = np.asfortranarray(np.arange(600, dtype=np.int32).reshape(20, 30))
    strided = np.arange(2000, dtype=np.float32)[::2]
    value = {"a": big, "t": (fortran, strided, np.ones(3, dtype=np.complex128)), "s": "ok"}
    frame = frame_of(value)
    document_size = struct.unpack(">I", frame[:4])[0]
    assert document_size < 400, "the arrays' bytes are not inside the msgpack document"
    decoded = protocol.Decoder().decode_frame(frame)
    np.testing.assert_array_equal(decoded["a"], big)
    np.testing.assert_array_equal(decoded["t"][0], fortran)
    np.testing.assert_array_equal(decoded["t"][1], strided)
    assert decoded["t"][0].flags.f_contiguous and decoded["t"][0].dtype == np.int32
    assert type(decoded["t"]) is tuple and decoded["s"] == "ok"
    for array in (decoded["a"], decoded["t"][0], decoded["t"][1]):
        assert array.base is not None, "a view of the frame, not a copy"
        assert array.flags.writeable and array.flags.aligned
    decoded["a"][:] = -1  # writing one array leaves the others alone: no shared bytes
    np.testing.assert_array_equal(decoded["t"][0], fortran)


def test_tensors_travel_out_of_band_too():
    import torch

    tensor = torch.arange(300, dtype=torch.float64).reshape(3, 100).requires_grad_(True)
    decoded = protocol.Decoder().decode_frame(frame_of([tensor]))[0]
    assert type(decoded) is torch.Tensor and decoded.requires_grad and decoded.dtype == torch.float64
    assert torch.equal(decoded.detach(), tensor.detach())


def _forged_frame(document: bytes, tail: bytes) -> bytearray:
    return bytearray(struct.pack(">I", len(document)) + document + tail)


def test_an_out_of_band_array_longer_than_the_frame_is_refused():
    header = _array_with_header("<f8", (1000,), b"")
    document = msgpack.packb([msgpack.ExtType(protocol.OOBARRAY, header)])
    with pytest.raises(ProtocolError, match="necesita 8000 bytes"):
        protocol.Decoder().decode_frame(_forged_frame(document, b"\0" * 64))


def test_two_out_of_band_arrays_never_share_bytes():
    header = _array_with_header("<f8", (64,), b"")
    document = msgpack.packb([msgpack.ExtType(protocol.OOBARRAY, header)] * 2)
    pad = -(4 + len(document)) % 16
    with pytest.raises(ProtocolError, match="quedan"):  # room for one array, named twice
        protocol.Decoder().decode_frame(_forged_frame(document, b"\0" * (pad + 512)))


def test_bytes_after_the_arrays_are_refused():
    with pytest.raises(ProtocolError, match="sobran bytes"):
        protocol.Decoder().decode_frame(_forged_frame(msgpack.packb(1), b"\0" * 64))


def test_out_of_band_arrays_are_refused_outside_a_frame():
    header = _array_with_header("<f8", (1,), b"")
    with pytest.raises(ProtocolError, match="fuera de banda"):
        protocol.Decoder().decode(msgpack.packb(msgpack.ExtType(protocol.OOBARRAY, header)))


def test_a_frame_with_a_lying_document_length_is_refused():
    with pytest.raises(ProtocolError, match="dice medir"):
        protocol.Decoder().decode_frame(bytearray(struct.pack(">I", 1000) + b"\x01"))


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
