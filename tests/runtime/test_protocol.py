"""The wire format: data round-trips exactly; anything else is refused with a reason."""

from __future__ import annotations

import io
import os
import struct

import msgpack
import numpy as np
import pytest
import torch

from grader.errors import ProtocolError
from grader.runtime import protocol


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


# --- budgets (issue 15): what a message may cost the process that decodes it -------------------


def joined_frame(value) -> bytearray:
    """A frame as ``read_frame`` returns it, however large (``frame_of`` goes through a pipe)."""
    return bytearray(b"".join(bytes(memoryview(p).cast("B"))
                              for p in protocol.Encoder().encode_frame(value)))


def test_a_message_with_more_elements_than_the_budget_is_refused():
    payload = protocol.Encoder().encode([[1, 2], [3, 4], [5, 6], [7]])
    assert protocol.Decoder(max_elements=11).decode(payload) == [[1, 2], [3, 4], [5, 6], [7]]
    with pytest.raises(ProtocolError, match="el mensaje tiene más de 10 elementos"):
        protocol.Decoder(max_elements=10).decode(payload)


def test_the_default_budget_refuses_a_long_list_from_its_header():
    payload = msgpack.packb([None] * (protocol.DEFAULT_MAX_ELEMENTS + 1))
    with pytest.raises(ProtocolError, match=f"más de {protocol.DEFAULT_MAX_ELEMENTS} elementos"):
        protocol.Decoder().decode(payload)


def test_map_entries_and_tuple_items_count_as_elements():
    with pytest.raises(ProtocolError, match="más de 5 elementos"):
        protocol.Decoder(max_elements=5).decode(protocol.Encoder().encode({str(i): i for i in range(6)}))
    with pytest.raises(ProtocolError, match="más de 5 elementos"):
        protocol.Decoder(max_elements=5).decode(protocol.Encoder().encode([(1, 2, 3, 4, 5)]))


def test_an_array_of_any_size_is_one_element():
    frame = joined_frame([np.zeros(4 * 1024 * 1024), np.ones(3)])  # 32 MiB out of band
    decoded = protocol.Decoder(max_elements=4).decode_frame(frame)
    assert decoded[0].shape == (4 * 1024 * 1024,) and decoded[1].tolist() == [1.0, 1.0, 1.0]


def nested_lists(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_plain_lists_nested_deeper_than_the_limit_are_refused():
    ok = protocol.Encoder().encode(nested_lists(protocol.MAX_DEPTH))
    assert protocol.Decoder().decode(ok) == nested_lists(protocol.MAX_DEPTH)
    with pytest.raises(ProtocolError, match=f"anidamiento mayor que {protocol.MAX_DEPTH}"):
        protocol.Decoder().decode(protocol.Encoder().encode(nested_lists(protocol.MAX_DEPTH + 1)))


def test_maps_and_tuples_count_as_nesting_levels_too():
    value: object = 0
    for level in range(protocol.MAX_DEPTH + 1):
        value = {"a": value} if level % 3 == 0 else (value,) if level % 3 == 1 else [value]
    with pytest.raises(ProtocolError, match="anidamiento"):
        roundtrip(value)


@pytest.mark.parametrize("key", [1.5, b"bytes", None, True, (1, 2), np.float64(1.0),
                                 np.complex128(1j)])
def test_map_keys_other_than_str_and_int_are_refused(key):
    payload = protocol.Encoder().encode({"ok": {key: 1}})
    with pytest.raises(ProtocolError, match=r"clave de tipo .* solo se admiten str e int"):
        protocol.Decoder().decode(payload)


@pytest.mark.parametrize("key", [2**53, -(2**53), 2**64 - 1, -(2**63)])
def test_integer_keys_beyond_the_bound_are_refused(key):
    with pytest.raises(ProtocolError, match=f"clave entera {key}"):
        protocol.Decoder().decode(msgpack.packb({key: 1}))


def test_integer_keys_within_the_bound_are_kept():
    keys = [0, -1, -2, 2**53 - 1, -(2**53) + 1, 2**31]
    assert protocol.Decoder().decode(msgpack.packb({k: k for k in keys})) == {k: k for k in keys}


def test_a_map_with_more_keys_than_the_cap_is_refused():
    payload = msgpack.packb({i: 0 for i in range(protocol.MAX_MAP_KEYS + 1)})
    with pytest.raises(ProtocolError, match=f"un diccionario de {protocol.MAX_MAP_KEYS + 1} "
                                            f"claves; el máximo es {protocol.MAX_MAP_KEYS}"):
        protocol.Decoder().decode(payload)


def test_ints_that_collide_in_the_hash_table_are_refused():
    # Every multiple of 2**61 - 1 hashes to 0; these are the ones a 64-bit msgpack int holds.
    keys = [k * (2**61 - 1) for k in range(1, 9)] + [-k * (2**61 - 1) for k in range(1, 5)]
    assert {hash(k) for k in keys} == {0}
    with pytest.raises(ProtocolError, match="clave entera"):
        protocol.Decoder().decode(msgpack.packb({k: 0 for k in keys}))


def test_a_hash_flooding_key_set_is_refused_before_any_dict_is_built():
    # 40,000 complex keys whose hashes are all 0: building the dict took 15-43 s of trusted CPU.
    keys = [np.complex128(complex(1000003.0 * t, -float(t))) for t in range(2, 40_002)]
    assert {hash(k) for k in keys} == {0}
    encode = protocol.Encoder().encode
    # Packed pair by pair: a dict of them, built here, would itself take those seconds.
    payload = b"\xdf" + struct.pack(">I", len(keys)) + b"".join(encode(k) + encode(0) for k in keys)
    with pytest.raises(ProtocolError, match="clave de tipo"):
        protocol.Decoder().decode(payload)


def test_msgpack_timestamps_are_refused_like_any_unknown_extension():
    # msgpack builds its own extension -1 without calling the hook: it would arrive as an object.
    with pytest.raises(ProtocolError, match="tipo de extensión desconocido: -1"):
        protocol.Decoder().decode(msgpack.packb([msgpack.Timestamp(1, 0)]))


def test_decoding_past_the_time_budget_is_refused(monkeypatch):
    ticks = iter(range(0, 1000, 10))
    monkeypatch.setattr(protocol.time, "thread_time", lambda: next(ticks))
    with pytest.raises(ProtocolError, match="llevó más de 5 s de CPU"):
        protocol.Decoder(max_seconds=5).decode(protocol.Encoder().encode([(1, 2)]))


@pytest.mark.parametrize("payload", [
    b"\x92\x01",  # a list that ends early
    b"\x91\xa5abc",  # a string that ends early
    b"\x01\x02",  # two documents
    msgpack.packb(msgpack.ExtType(protocol.TUPLE, b"\x01")),  # a tuple that is not a list
    msgpack.packb(msgpack.ExtType(protocol.TUPLE, msgpack.packb([1]) + b"\x01")),
])
def test_a_document_that_does_not_parse_whole_is_refused(payload):
    with pytest.raises(ProtocolError, match="mal formad"):
        protocol.Decoder().decode(payload)


def test_a_payload_nested_in_tuples_is_refused_before_msgpack_copies_it_at_each_level():
    # msgpack hands each tuple's payload over as a copy: 20 levels around 2 MiB held 40 MiB.
    value: object = bytes(2 * 1024 * 1024)
    for _ in range(20):
        value = (value,)
    frame = joined_frame(value)
    with pytest.raises(ProtocolError, match="copiaría más de 33554432 bytes"):
        protocol.Decoder().decode_frame(frame)
    assert protocol.Decoder(max_copied=64 * 1024 * 1024).decode_frame(frame) == value


def test_a_large_inline_array_is_refused_in_a_frame_where_it_should_travel_out_of_band():
    document = msgpack.packb([msgpack.ExtType(protocol.NDARRAY,
                                              protocol._array_bytes(np.zeros(5 * 1024 * 1024)))])
    with pytest.raises(ProtocolError, match="copiaría más de"):
        protocol.Decoder().decode_frame(_forged_frame(document, b""))


def test_self_contained_documents_keep_their_large_inline_arrays():
    # Files of expected values (grader.engine.reference) hold their arrays inline.
    array = np.arange(5 * 1024 * 1024, dtype=np.float64)
    np.testing.assert_array_equal(roundtrip((array, "x" * 40_000_000))[0], array)
