"""The data-only wire format between the trusted harness and the sandboxed worker.

A message is a 4-byte big-endian length followed by a msgpack document. Besides msgpack's own
types (None, bool, int, float, str, bytes, list, dict) a document may hold these extension types:

====  ===========  ==========================================================================
code  name         payload
====  ===========  ==========================================================================
1     NDARRAY      a ``.npy`` file (``allow_pickle=False``): bool, int, uint, float, complex only
2     TUPLE        a msgpack list
3     REF          ``[id, type_name]``: an object that stays in the worker (see ``grader.remote``)
4     TENSOR       ``[npy, dtype, device, requires_grad]``: a torch tensor
5     NPSCALAR     a 0-d ``.npy``: a numpy scalar such as ``np.float64(1.5)``
====  ===========  ==========================================================================

Types are matched exactly (``strict_types``): a subclass of ``float``, ``dict`` or ``np.ndarray``
is never data. The worker turns whatever is not data into a REF; the trusted side has no such
fallback, so it cannot be handed anything but plain data. Nothing is ever unpickled or evaluated.

This module depends only on the standard library, numpy and msgpack: it is copied, with
``worker.py`` and ``errors.py``, into the sandbox, which sees nothing else of the grader.
"""

from __future__ import annotations

import io
import os
import select
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np

from .errors import ProtocolError

NDARRAY, TUPLE, REF, TENSOR, NPSCALAR = 1, 2, 3, 4, 5

#: Largest message the trusted side accepts from the worker, in bytes.
DEFAULT_MAX_MESSAGE = 256 * 1024 * 1024
#: Deepest nesting of extension types (tuples inside tuples ...) accepted.
MAX_DEPTH = 64
_ARRAY_KINDS = frozenset("biufc")
_HEADER = struct.Struct(">I")


class Ref:
    """A handle to an object that lives in the worker; the trusted side wraps it in a proxy."""

    __slots__ = ("id", "type_name")

    def __init__(self, id: int, type_name: str) -> None:
        self.id = id
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"Ref({self.id}, {self.type_name!r})"


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_array(payload: bytes) -> np.ndarray:
    buffer = io.BytesIO(payload)
    try:
        version = np.lib.format.read_magic(buffer)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buffer)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(f"versión de .npy no admitida: {version}")
    except Exception as exc:  # numpy raises ValueError or others on garbage headers
        raise ProtocolError(f"array mal formado: {exc}") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"tipo de array no permitido: {dtype}")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    data = payload[buffer.tell():]
    if len(data) != count * dtype.itemsize:
        raise ProtocolError(
            f"array de forma {shape} y tipo {dtype} necesita {count * dtype.itemsize} bytes; "
            f"llegaron {len(data)}")
    # frombuffer over bytes is read-only; a copy gives the caller an ordinary, writable array.
    array = np.frombuffer(data, dtype=dtype, count=count).copy()
    return array.reshape(shape, order="F" if fortran else "C")


class Encoder:
    """Encodes Python data to msgpack bytes.

    Args:
        on_other: called with any object that is not data; returns its replacement (the worker
            registers it and returns a ``Ref``). ``None`` means: raise ``TypeError``.
    """

    def __init__(self, on_other: Callable[[Any], Ref] | None = None) -> None:
        self._on_other = on_other

    def encode(self, value: Any) -> bytes:
        return msgpack.packb(value, default=self._default, strict_types=True, use_bin_type=True)

    def _default(self, value: Any) -> msgpack.ExtType:
        kind = type(value)
        if kind is tuple:
            return msgpack.ExtType(TUPLE, self.encode(list(value)))
        if kind is np.ndarray and value.dtype.kind in _ARRAY_KINDS and value.dtype.fields is None:
            return msgpack.ExtType(NDARRAY, _npy_bytes(value))
        if isinstance(value, np.generic) and type(value).__module__ == "numpy" and (
                value.dtype.kind in _ARRAY_KINDS):
            return msgpack.ExtType(NPSCALAR, _npy_bytes(np.asarray(value)))
        if kind is Ref:
            return msgpack.ExtType(REF, msgpack.packb([value.id, value.type_name]))
        torch = sys.modules.get("torch")
        if torch is not None and kind in (torch.Tensor, torch.nn.Parameter) and (
                value.dtype != torch.bfloat16 and not value.is_complex()):
            array = value.detach().cpu().numpy()
            payload = [_npy_bytes(array), str(value.dtype), str(value.device),
                       bool(value.requires_grad)]
            return msgpack.ExtType(TENSOR, self.encode(payload))
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

    def decode(self, payload: bytes) -> Any:
        return self._decode(payload, depth=0)

    def _decode(self, payload: bytes, depth: int) -> Any:
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

    def _ext(self, code: int, data: bytes, depth: int) -> Any:
        if code == NDARRAY:
            return _npy_array(data)
        if code == NPSCALAR:
            array = _npy_array(data)
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
            if not (type(fields) is list and len(fields) == 4 and type(fields[0]) is bytes):
                raise ProtocolError("tensor mal formado")
            npy, dtype, device, requires_grad = fields
            return _make_tensor(_npy_array(npy), str(dtype), str(device), bool(requires_grad))
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


def write_frame(fd: int, payload: bytes) -> None:
    """Writes one length-prefixed frame to a file descriptor, in full."""
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frame(fd: int, *, max_size: int = DEFAULT_MAX_MESSAGE,
               deadline: float | None = None) -> bytes:
    """Reads one frame; raises ``EOFError`` when the peer closed, ``TimeoutError`` past deadline.

    Raises ``ProtocolError`` when the announced size is larger than ``max_size``.
    """
    header = _read_exact(fd, _HEADER.size, deadline)
    (size,) = _HEADER.unpack(header)
    if size > max_size:
        raise ProtocolError(f"el worker anunció un mensaje de {size} bytes; el máximo es {max_size}")
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError
        chunks += chunk
    return bytes(chunks)
