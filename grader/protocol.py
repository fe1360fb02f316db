"""The data-only wire format between the trusted harness and the sandboxed worker.

A message on the channel is a frame: a 4-byte big-endian length, then (the frame proper) a 4-byte
length of the msgpack document, the document, and the raw bytes of the document's large arrays,
each at a 16-byte aligned offset from the frame's start, in the order the document names them.
Large arrays thus cross without text encoding and without copies: the sender writes their memory
with ``writev`` and the receiver's arrays are views into the frame it read (issue 9). Outside the
channel (files of expected values, hashes) ``Encoder.encode`` gives a self-contained document.

Besides msgpack's own types (None, bool, int, float, str, bytes, list, dict) a document may hold
these extension types:

====  ===========  ==========================================================================
code  name         payload
====  ===========  ==========================================================================
1     NDARRAY      an array header (dtype, shape, order) and its bytes: bool, int, uint, float,
                   complex only
2     TUPLE        a msgpack list
3     REF          ``[id, type_name]``: an object that stays in the worker (see ``grader.remote``)
4     TENSOR       ``[array, dtype, device, requires_grad]``: a torch tensor
5     NPSCALAR     a 0-d NDARRAY: a numpy scalar such as ``np.float64(1.5)``
6     OOBARRAY     an array header whose bytes follow the document in the frame
====  ===========  ==========================================================================

An array header is: the length of the dtype string (1 byte), the dtype string (``<f8``), flags (1
byte: bit 0 = Fortran order), the number of dimensions (1 byte) and each dimension (8 bytes).

Types are matched exactly (``strict_types``): a subclass of ``float``, ``dict`` or ``np.ndarray``
is never data. The worker turns whatever is not data into a REF; the trusted side has no such
fallback, so it cannot be handed anything but plain data. Nothing is ever unpickled or evaluated.

This module depends only on the standard library, numpy and msgpack: it is copied, with
``worker.py`` and ``errors.py``, into the sandbox, which sees nothing else of the grader.
"""

from __future__ import annotations

import os
import re
import select
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np

from .errors import ProtocolError

NDARRAY, TUPLE, REF, TENSOR, NPSCALAR, OOBARRAY = 1, 2, 3, 4, 5, 6

#: Largest message the trusted side accepts from the worker, in bytes.
DEFAULT_MAX_MESSAGE = 256 * 1024 * 1024
#: Deepest nesting of extension types (tuples inside tuples ...) accepted.
MAX_DEPTH = 64
_ARRAY_KINDS = frozenset("biufc")
_HEADER = struct.Struct(">I")
_DOC_HEADER = struct.Struct(">I")
#: Arrays at least this large travel out of band in frames; smaller ones inline are cheaper.
OOB_MIN_BYTES = 512
_ALIGN = 16
_MAX_NDIM = 32
_DTYPE = re.compile(r"[<>|=][biufc][0-9]{1,2}")


class Ref:
    """A handle to an object that lives in the worker; the trusted side wraps it in a proxy."""

    __slots__ = ("id", "type_name")

    def __init__(self, id: int, type_name: str) -> None:
        self.id = id
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"Ref({self.id}, {self.type_name!r})"


def _align(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _array_header(array: np.ndarray, fortran: bool) -> bytes:
    dtype = array.dtype.str.encode("ascii")
    return (struct.pack(">B", len(dtype)) + dtype + struct.pack(">BB", int(fortran), array.ndim)
            + struct.pack(f">{array.ndim}Q", *array.shape))


def _layout(array: np.ndarray) -> tuple[np.ndarray, bool]:
    """The array in a memory order that can be written as it is (copied only if it must be)."""
    if array.flags.c_contiguous:
        return array, False
    if array.flags.f_contiguous:
        return array, True
    return np.ascontiguousarray(array), False


def _array_bytes(array: np.ndarray) -> bytes:
    array, fortran = _layout(array)
    return _array_header(array, fortran) + array.tobytes(order="F" if fortran else "C")


def _parse_header(payload: bytes | memoryview) -> tuple[np.dtype, tuple[int, ...], bool, int, int]:
    """Returns dtype, shape, fortran order, the number of data bytes and the header's size."""
    try:
        size = payload[0]
        text = bytes(payload[1:1 + size]).decode("ascii")
        flags, ndim = struct.unpack_from(">BB", payload, 1 + size)
        if ndim > _MAX_NDIM:
            raise ProtocolError(f"array de {ndim} dimensiones; el máximo es {_MAX_NDIM}")
        shape = struct.unpack_from(f">{ndim}Q", payload, 3 + size)
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"array mal formado: {exc}") from None
    if not _DTYPE.fullmatch(text):
        raise ProtocolError(f"tipo de array no permitido: {text!r}")
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise ProtocolError(f"tipo de array no permitido: {text!r} ({exc})") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"tipo de array no permitido: {dtype}")
    count = 1
    for dim in shape:
        count *= dim
    return dtype, tuple(shape), bool(flags & 1), count * dtype.itemsize, 3 + size + 8 * ndim


def _array_from(payload: bytes) -> np.ndarray:
    dtype, shape, fortran, nbytes, start = _parse_header(payload)
    if len(payload) - start != nbytes:
        raise ProtocolError(f"array de forma {shape} y tipo {dtype} necesita {nbytes} bytes; "
                            f"llegaron {len(payload) - start}")
    # frombuffer over bytes is read-only; a copy gives the caller an ordinary, writable array.
    array = np.frombuffer(payload, dtype=dtype, count=nbytes // dtype.itemsize if nbytes else 0,
                          offset=start).copy()
    return array.reshape(shape, order="F" if fortran else "C")


class Encoder:
    """Encodes Python data to msgpack bytes.

    Args:
        on_other: called with any object that is not data; returns its replacement (the worker
            registers it and returns a ``Ref``). ``None`` means: raise ``TypeError``.
    """

    def __init__(self, on_other: Callable[[Any], Ref] | None = None) -> None:
        self._on_other = on_other
        self._buffers: list[memoryview] | None = None
        self._offset = 0

    def encode(self, value: Any) -> bytes:
        """A self-contained document (arrays inline): for files and hashes."""
        return self._pack(value)

    def encode_frame(self, value: Any) -> list[bytes | memoryview]:
        """The pieces of one channel frame, large arrays out of band (see the module docstring).

        The pieces are views of the arrays' memory: write them before changing the arrays.
        """
        self._buffers, self._offset = [], 0
        try:
            document = self._pack(value)
            pieces: list[bytes | memoryview] = [_DOC_HEADER.pack(len(document)), document]
            # Offsets count from the frame's start, so arrays land aligned in the reader's buffer.
            end = _DOC_HEADER.size + len(document)
            for buffer in self._buffers:
                start = _align(end)
                if start > end:
                    pieces.append(bytes(start - end))
                pieces.append(buffer)
                end = start + buffer.nbytes
            return pieces
        finally:
            self._buffers = None

    def _pack(self, value: Any) -> bytes:
        return msgpack.packb(value, default=self._default, strict_types=True, use_bin_type=True)

    def _array(self, array: np.ndarray, code: int) -> msgpack.ExtType:
        if self._buffers is None or code != NDARRAY or array.nbytes < OOB_MIN_BYTES:
            return msgpack.ExtType(code, _array_bytes(array))
        array, fortran = _layout(array)
        flat = array.reshape(-1, order="F" if fortran else "C")
        self._buffers.append(memoryview(flat.data).cast("B"))
        return msgpack.ExtType(OOBARRAY, _array_header(array, fortran))

    def _default(self, value: Any) -> msgpack.ExtType:
        kind = type(value)
        if kind is tuple:
            return msgpack.ExtType(TUPLE, self._pack(list(value)))
        if kind is np.ndarray and value.dtype.kind in _ARRAY_KINDS and value.dtype.fields is None:
            return self._array(value, NDARRAY)
        if isinstance(value, np.generic) and type(value).__module__ == "numpy" and (
                value.dtype.kind in _ARRAY_KINDS):
            return self._array(np.asarray(value), NPSCALAR)
        if kind is Ref:
            return msgpack.ExtType(REF, msgpack.packb([value.id, value.type_name]))
        torch = sys.modules.get("torch")
        if torch is not None and kind in (torch.Tensor, torch.nn.Parameter) and (
                value.dtype != torch.bfloat16 and not value.is_complex()):
            array = value.detach().cpu().numpy()
            payload = [array, str(value.dtype), str(value.device), bool(value.requires_grad)]
            return msgpack.ExtType(TENSOR, self._pack(payload))
        if self._on_other is not None:
            return self._default(self._on_other(value))
        raise TypeError(f"no es un dato transferible: {kind.__module__}.{kind.__qualname__}")


class Decoder:
    """Decodes msgpack bytes made by ``Encoder``, validating everything.

    Args:
        on_ref: builds the local value for a ``Ref`` (the trusted side makes a proxy, the worker
            looks the object up). ``None`` means refs are not allowed.
        max_size: reject documents larger than this many bytes.
    """

    def __init__(self, on_ref: Callable[[Ref], Any] | None = None, *,
                 max_size: int = DEFAULT_MAX_MESSAGE) -> None:
        self._on_ref = on_ref
        self._max_size = max_size
        self._region: memoryview | None = None
        self._next = 0

    def decode(self, payload: bytes) -> Any:
        """A self-contained document (``Encoder.encode``)."""
        return self._decode(payload, depth=0)

    def decode_frame(self, frame: bytearray) -> Any:
        """A channel frame (``Encoder.encode_frame``); its large arrays are views of ``frame``."""
        if len(frame) > self._max_size:
            raise ProtocolError(f"mensaje de {len(frame)} bytes; el máximo es {self._max_size}")
        if len(frame) < _DOC_HEADER.size:
            raise ProtocolError("mensaje mal formado: demasiado corto")
        (size,) = _DOC_HEADER.unpack_from(frame)
        end = _DOC_HEADER.size + size
        if end > len(frame):
            raise ProtocolError(f"mensaje mal formado: el documento dice medir {size} bytes")
        view = memoryview(frame)
        self._region, self._next = view, end
        try:
            value = self._decode(view[_DOC_HEADER.size:end], depth=0)
            if len(view) - self._next >= _ALIGN:
                raise ProtocolError("mensaje mal formado: sobran bytes después de los arrays")
            return value
        finally:
            self._region = None

    def _decode(self, payload: bytes | memoryview, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"anidamiento mayor que {MAX_DEPTH} niveles")
        if len(payload) > self._max_size:
            raise ProtocolError(f"mensaje de {len(payload)} bytes; el máximo es {self._max_size}")
        try:
            return msgpack.unpackb(
                payload, raw=False, strict_map_key=False, use_list=True,
                ext_hook=lambda code, data: self._ext(code, data, depth))
        except ProtocolError:
            raise
        except Exception as exc:  # msgpack raises several unrelated types on garbage input
            raise ProtocolError(f"mensaje mal formado ({type(exc).__name__}: {exc})") from None

    def _out_of_band(self, header: bytes) -> np.ndarray:
        if self._region is None:
            raise ProtocolError("array fuera de banda en un documento sin arrays")
        dtype, shape, fortran, nbytes, _ = _parse_header(header)
        start = _align(self._next)
        if start + nbytes > len(self._region):
            raise ProtocolError(f"array de forma {shape} y tipo {dtype} necesita {nbytes} bytes; "
                                f"quedan {max(0, len(self._region) - start)}")
        self._next = start + nbytes
        # Each array owns its own consecutive bytes: two arrays never share memory.
        array = np.frombuffer(self._region, dtype=dtype, count=nbytes // dtype.itemsize,
                              offset=start) if nbytes else np.empty(0, dtype=dtype)
        return array.reshape(shape, order="F" if fortran else "C")

    def _ext(self, code: int, data: bytes, depth: int) -> Any:
        if code == NDARRAY:
            return _array_from(data)
        if code == OOBARRAY:
            return self._out_of_band(data)
        if code == NPSCALAR:
            array = _array_from(data)
            if array.ndim != 0:
                raise ProtocolError("escalar de numpy con dimensiones")
            return array[()]
        if code == TUPLE:
            items = self._decode(data, depth + 1)
            if type(items) is not list:
                raise ProtocolError("tupla mal formada")
            return tuple(items)
        if code == REF:
            fields = self._decode(data, depth + 1)
            if not (type(fields) is list and len(fields) == 2 and type(fields[0]) is int
                    and type(fields[1]) is str):
                raise ProtocolError("referencia mal formada")
            if self._on_ref is None:
                raise ProtocolError("referencias no permitidas en este mensaje")
            return self._on_ref(Ref(fields[0], fields[1][:200]))
        if code == TENSOR:
            fields = self._decode(data, depth + 1)
            if not (type(fields) is list and len(fields) == 4 and type(fields[0]) is np.ndarray):
                raise ProtocolError("tensor mal formado")
            array, dtype, device, requires_grad = fields
            return _make_tensor(array, str(dtype), str(device), bool(requires_grad))
        raise ProtocolError(f"tipo de extensión desconocido: {code}")


def _make_tensor(array: np.ndarray, dtype: str, device: str, requires_grad: bool) -> Any:
    import torch  # only when a tensor actually crosses

    tensor = torch.from_numpy(array)
    if os.environ.get("GRADER_SIDE") == "worker" and device != "cpu" and torch.cuda.is_available():
        tensor = tensor.to(device)
    if requires_grad and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


# --- framing -------------------------------------------------------------------------------


def write_frame(fd: int, payload: bytes | list[bytes | memoryview]) -> None:
    """Writes one length-prefixed frame to a file descriptor, in full, without joining pieces."""
    pieces = [payload] if isinstance(payload, (bytes, bytearray, memoryview)) else payload
    views = [memoryview(p).cast("B") for p in pieces]
    views.insert(0, memoryview(_HEADER.pack(sum(v.nbytes for v in views))))
    while views:
        written = os.writev(fd, views[:1024])
        while written and views:
            if written >= views[0].nbytes:
                written -= views[0].nbytes
                views.pop(0)
            else:
                views[0] = views[0][written:]
                written = 0
        while views and views[0].nbytes == 0:
            views.pop(0)


def read_frame(fd: int, *, max_size: int = DEFAULT_MAX_MESSAGE,
               deadline: float | None = None) -> bytearray:
    """Reads one frame; raises ``EOFError`` when the peer closed, ``TimeoutError`` past deadline.

    Raises ``ProtocolError`` when the announced size is larger than ``max_size`` (before
    allocating or reading it).
    """
    header = _read_exact(fd, _HEADER.size, deadline)
    (size,) = _HEADER.unpack(header)
    if size > max_size:
        raise ProtocolError(f"el worker anunció un mensaje de {size} bytes; el máximo es {max_size}")
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
        count = os.readv(fd, [view[done:done + (1 << 24)]])
        if not count:
            raise EOFError
        done += count
    return buffer
