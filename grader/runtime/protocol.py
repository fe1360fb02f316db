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
3     REF          ``[id, type_name]``: an object that stays in the worker (see ``grader.engine.session``)
4     TENSOR       ``[array, dtype, device, requires_grad]``: a torch tensor
5     NPSCALAR     a 0-d NDARRAY: a numpy scalar such as ``np.float64(1.5)``
6     OOBARRAY     an array header whose bytes follow the document in the frame
====  ===========  ==========================================================================

An array header is: the length of the dtype string (1 byte), the dtype string (``<f8``), flags (1
byte: bit 0 = Fortran order), the number of dimensions (1 byte) and each dimension (8 bytes).

Types are matched exactly (``strict_types``): a subclass of ``float``, ``dict`` or ``np.ndarray``
is never data. The worker turns whatever is not data into a REF; the trusted side has no such
fallback, so it cannot be handed anything but plain data. Nothing is ever unpickled or evaluated.

A message is also bounded in what it costs to decode (issue 15): at most ``DEFAULT_MAX_ELEMENTS``
elements (list items, map entries, extension values: an array of any size is one), at most
``MAX_DEPTH`` levels of lists, maps and tuples, at most ``MAX_MAP_KEYS`` keys per map, keys that
are ``str`` or ``int`` below ``MAX_INT_KEY`` only (no two such keys share a hash, so no key set can
turn building a dict quadratic), ``DEFAULT_MAX_SECONDS`` of CPU and, for a channel frame,
``DEFAULT_MAX_COPIED`` bytes copied out of it. The decoder walks the document once without
building anything and refuses it at the first element past a bound; only then does msgpack build
it, so a refused message costs no memory beyond its own bytes.

This module depends only on the standard library, numpy and msgpack: it is copied, with
``worker.py`` and ``errors.py``, into the sandbox, which sees nothing else of the grader.
"""

from __future__ import annotations

import math
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
#: Deepest nesting of lists, maps and tuples accepted (``[[[...]]]`` counts three).
MAX_DEPTH = 64
#: Most elements one message may hold: list items, map entries and extension values (an array,
#: however large, is one element). A reply of 256 MiB of tiny items used to become 2.4-7.5 GiB
#: of Python objects in the trusted process (issue 15, benchmarks/decoder_budget.py); the most
#: costly message within the budget, 499,999 tiny arrays, takes ~140 MiB.
DEFAULT_MAX_ELEMENTS = 1_000_000
#: Most keys in one map. Parameters, gradients and caches have tens; the cap keeps any one dict
#: (and the list of pairs msgpack preallocates from the map's announced size) small.
MAX_MAP_KEYS = 100_000
#: Integer keys must be smaller than this in absolute value. Below 2**61 - 1 an int hashes to
#: itself (but -1, to -2), so no two such keys share a hash; larger ones can (every multiple of
#: 2**61 - 1 hashes to 0), and 40,000 keys sharing a hash took 15-43 s to put in a dict (issue
#: 15). 2**53 is every integer a float holds exactly, far above any index.
MAX_INT_KEY = 2**53
#: CPU seconds one message may take to decode: a backstop, the bounds above keep it far lower.
DEFAULT_MAX_SECONDS = 5.0
#: Most bytes decoding a channel frame may copy out of its document: texts, bytes values and
#: extension payloads. msgpack hands each extension's payload over as a copy, and a tuple's items
#: are decoded from that copy while it lives, so a payload nested in 60 tuples was copied 60 times
#: (a 20 MiB frame took 560 MiB). In a frame large arrays travel out of band, never copied;
#: a text may take up to 4 bytes per byte received (one emoji makes a str 4 bytes a character).
DEFAULT_MAX_COPIED = 32 * 1024 * 1024
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
    key = (array.dtype.str, fortran, array.shape)
    header = _HEADERS.get(key)
    if header is None:
        dtype = array.dtype.str.encode("ascii")
        header = (struct.pack(">B", len(dtype)) + dtype
                  + struct.pack(">BB", int(fortran), array.ndim)
                  + struct.pack(f">{array.ndim}Q", *array.shape))
        if len(_HEADERS) < _HEADERS_CAP:
            _HEADERS[key] = header
    return header


#: Headers already built, by dtype, order and shape: a message of many arrays of a few shapes (a
#: batch of finite-difference calls) builds each header once (issue 23).
_HEADERS: dict[tuple[str, bool, tuple[int, ...]], bytes] = {}
_HEADERS_CAP = 4096


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
        text = bytes(payload[1:1 + size])
        flags, ndim = _FLAGS_NDIM.unpack_from(payload, 1 + size)
        if ndim > _MAX_NDIM:
            raise ProtocolError(f"array de {ndim} dimensiones; el máximo es {_MAX_NDIM}")
        shape = _SHAPES[ndim].unpack_from(payload, 3 + size)
    except (IndexError, struct.error) as exc:
        raise ProtocolError(f"array mal formado: {exc}") from None
    dtype = _DTYPES.get(text)
    if dtype is None:
        dtype = _DTYPES[text] = _checked_dtype(text)
    return dtype, shape, bool(flags & 1), math.prod(shape) * dtype.itemsize, 3 + size + 8 * ndim


_FLAGS_NDIM = struct.Struct(">BB")
_SHAPES = [struct.Struct(f">{ndim}Q") for ndim in range(_MAX_NDIM + 1)]
#: dtypes already checked, by their text: a message of many small arrays parses each text once
#: (a few dozen texts match ``_DTYPE`` and name a dtype, so this stays small).
_DTYPES: dict[bytes, np.dtype] = {}


def _checked_dtype(raw: bytes) -> np.dtype:
    text = raw.decode("ascii", errors="replace")
    if not _DTYPE.fullmatch(text):
        raise ProtocolError(f"tipo de array no permitido: {text!r}")
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise ProtocolError(f"tipo de array no permitido: {text!r} ({exc})") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"tipo de array no permitido: {dtype}")
    return dtype


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


def _type_sizes() -> tuple[int, ...]:
    """Bytes taken by an item whose size its msgpack type byte alone gives (0: any other type)."""
    sizes = [0] * 256
    for byte in (*range(0x00, 0x80), *range(0xe0, 0x100), 0xc0, 0xc2, 0xc3):
        sizes[byte] = 1  # fixints, nil, false, true
    for byte in range(0xa0, 0xc0):
        sizes[byte] = 1 + (byte & 0x1f)  # fixstr
    for byte, size in ((0xca, 5), (0xcb, 9), (0xcc, 2), (0xcd, 3), (0xce, 5), (0xcf, 9),
                       (0xd0, 2), (0xd1, 3), (0xd2, 5), (0xd3, 9)):
        sizes[byte] = size  # floats and sized ints
    return tuple(sizes)


_SIZES = _type_sizes()
#: Type bytes a map key may have: fixints, fixstr, str 8/16/32, (u)int 8/16/32; 64-bit ints are
#: checked against ``MAX_INT_KEY`` apart.
_KEY_TYPES = frozenset((*range(0x00, 0x80), *range(0xe0, 0x100), *range(0xa0, 0xc0), 0xd9, 0xda,
                        0xdb, 0xcc, 0xcd, 0xce, 0xd0, 0xd1, 0xd2))
_INT64 = {0xcf: struct.Struct(">Q"), 0xd3: struct.Struct(">q")}
_U8, _U16, _U32 = struct.Struct(">B"), struct.Struct(">H"), struct.Struct(">I")
_LENGTHS = {0xc4: _U8, 0xc5: _U16, 0xc6: _U32, 0xd9: _U8, 0xda: _U16, 0xdb: _U32}
_EXT_HEADERS = {0xd4: (1, 1), 0xd5: (2, 1), 0xd6: (4, 1), 0xd7: (8, 1), 0xd8: (16, 1)}
_NESTED_EXTS = frozenset((TUPLE, REF, TENSOR))  # whose payload is a msgpack list
_ARRAY_TYPES = frozenset((*range(0x90, 0xa0), 0xdc, 0xdd))


def _type_name(byte: int) -> str:
    """The Python type msgpack would build from an item of this type byte (for messages)."""
    if byte in (0xca, 0xcb):
        return "float"
    if byte in (0xc2, 0xc3):
        return "bool"
    if byte == 0xc0:
        return "None"
    if byte in (0xc4, 0xc5, 0xc6):
        return "bytes"
    if byte in _ARRAY_TYPES:
        return "list"
    if 0x80 <= byte <= 0x8f or byte in (0xde, 0xdf):
        return "dict"
    return "extensión (tuple, array, ...)"


class Decoder:
    """Decodes msgpack bytes made by ``Encoder``, validating everything.

    Before anything is built, the document is walked once to check the bounds of the module
    docstring; what breaks one raises ``ProtocolError`` naming what arrived and the limit.

    Args:
        on_ref: builds the local value for a ``Ref`` (the trusted side makes a proxy, the worker
            looks the object up). ``None`` means refs are not allowed.
        max_size: reject documents larger than this many bytes.
        max_elements: reject documents with more elements (list items, map entries, extension
            values; an array is one).
        max_seconds: reject documents that take more CPU seconds than this to decode.
        max_copied: reject frames whose texts, bytes values and extension payloads (counted once
            per level of tuples they are in) add up to more bytes than this. Not applied to
            ``decode``: self-contained documents, trusted files of the course, hold their
            arrays inline.

    Example:
        >>> Decoder(max_size=64 * 1024 * 1024, max_elements=100_000).decode_frame(frame)
    """

    def __init__(self, on_ref: Callable[[Ref], Any] | None = None, *,
                 max_size: int = DEFAULT_MAX_MESSAGE, max_elements: int = DEFAULT_MAX_ELEMENTS,
                 max_seconds: float = DEFAULT_MAX_SECONDS,
                 max_copied: int = DEFAULT_MAX_COPIED) -> None:
        self._on_ref = on_ref
        self._max_size = max_size
        self._max_elements = max_elements
        self._max_seconds = max_seconds
        self._max_copied = max_copied
        self._region: memoryview | None = None
        self._next = 0
        self._elements = 0
        self._copied = 0
        self._copy_limit = 0
        self._deadline = 0.0

    @classmethod
    def unbounded(cls, on_ref: Callable[[Ref], Any] | None = None) -> Decoder:
        """For documents the trusted side made (the worker's requests, the course's own cached
        and expected values): no element, time or copy budget; keys are still only str or int."""
        return cls(on_ref, max_size=1 << 40, max_elements=sys.maxsize, max_seconds=float("inf"),
                   max_copied=sys.maxsize)

    def cost(self, pieces: list[bytes | memoryview]) -> tuple[int, int, int]:
        """What the frame ``pieces`` (``Encoder.encode_frame``) costs a decoder: its bytes (with
        the alignment of each array), elements and bytes copied, as ``decode_frame`` counts
        them. The worker sizes a ``call_many`` reply with it; nothing is built."""
        document = pieces[1]
        self._elements, self._copied, self._copy_limit = 0, 0, sys.maxsize
        self._deadline = float("inf")
        self._scan(document, 0, len(document), 0)
        size = sum(memoryview(p).nbytes for p in pieces) + _ALIGN * (len(pieces) - 2)
        return size, self._elements, self._copied

    def decode(self, payload: bytes) -> Any:
        """A self-contained document (``Encoder.encode``)."""
        return self._decode(payload, copy_limit=sys.maxsize)

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
            value = self._decode(view[_DOC_HEADER.size:end], copy_limit=self._max_copied)
            if len(view) - self._next >= _ALIGN:
                raise ProtocolError("mensaje mal formado: sobran bytes después de los arrays")
            return value
        finally:
            self._region = None

    def _decode(self, payload: bytes | memoryview, *, copy_limit: int) -> Any:
        if len(payload) > self._max_size:
            raise ProtocolError(f"mensaje de {len(payload)} bytes; el máximo es {self._max_size}")
        self._elements, self._copied, self._copy_limit = 0, 0, copy_limit
        self._deadline = time.thread_time() + self._max_seconds
        data = memoryview(payload).cast("B") if not isinstance(payload, bytes) else payload
        try:
            self._scan(data, 0, len(data), 0)
        except (IndexError, struct.error):
            raise ProtocolError("mensaje mal formado: el documento termina antes de tiempo") from None
        return self._build(payload)

    def _build(self, payload: bytes | memoryview) -> Any:
        try:
            # The scan has checked every bound; msgpack's own are a second, coarser line.
            return msgpack.unpackb(payload, raw=False, strict_map_key=False, use_list=True,
                                   ext_hook=self._ext, max_map_len=MAX_MAP_KEYS,
                                   max_array_len=min(self._max_elements, 2**31 - 1))
        except ProtocolError:
            raise
        except Exception as exc:  # msgpack raises several unrelated types on garbage input
            raise ProtocolError(f"mensaje mal formado ({type(exc).__name__}: {exc})") from None

    def _scan(self, data: bytes | memoryview, start: int, stop: int, level: int) -> None:
        """Walks the one item in ``data[start:stop]`` without building it, checking every bound.

        ``level``: the lists, maps and tuples around this item (it is a tuple's payload).
        msgpack builds lists and maps front to back and only then calls any hook, so bounds
        checked in hooks come after the memory is spent (a list of a million short strings per
        level, nested, is gigabytes before the innermost one ends): hence this walk, in which
        every element costs a few bytecodes and nothing is allocated.
        """
        sizes, limit = _SIZES, self._max_elements
        elements = self._elements
        next_clock = elements + 65536
        stack = [1]  # items left in each open container; negative: a map's keys and values
        i = start
        while stack:
            left = stack[-1]
            if left > 0:
                # Runs of scalars, the bulk of any long list, in a tight loop.
                size = sizes[data[i]]
                while size:
                    i += size
                    left -= 1
                    if not left:
                        break
                    size = sizes[data[i]]
                if not left:
                    stack.pop()
                    continue
                stack[-1] = left - 1
                byte = data[i]
            elif left < 0:
                stack[-1] = left + 1
                byte = data[i]
                if not left & 1:  # a map's items alternate key, value, starting at -2n
                    self._check_key(data, i, byte)
                size = sizes[byte]
                if size:
                    i += size
                    continue
            else:
                stack.pop()
                continue
            if 0x90 <= byte <= 0x9f:
                count, i = byte & 0x0f, i + 1
            elif 0x80 <= byte <= 0x8f:
                count, i = -(byte & 0x0f), i + 1
            elif byte == 0xdc or byte == 0xde:
                count, i = _U16.unpack_from(data, i + 1)[0], i + 3
                count = count if byte == 0xdc else -count
            elif byte == 0xdd or byte == 0xdf:
                count, i = _U32.unpack_from(data, i + 1)[0], i + 5
                count = count if byte == 0xdd else -count
            elif byte in _LENGTHS:  # str and bytes longer than a fixstr: copied into an object
                header = _LENGTHS[byte]
                length = header.unpack_from(data, i + 1)[0]
                self._copy(length)
                i += 1 + header.size + length
                continue
            else:
                elements += 1
                if elements > limit:
                    raise self._too_many()
                self._elements = elements
                i = self._scan_ext(data, i, byte, level + len(stack) - 1)
                elements = self._elements
                continue
            # A list (count >= 0) or a map (-count entries) starts.
            if len(stack) + level > MAX_DEPTH:
                raise ProtocolError(f"anidamiento mayor que {MAX_DEPTH} niveles")
            if -count > MAX_MAP_KEYS:
                raise ProtocolError(f"un diccionario de {-count} claves; el máximo es "
                                    f"{MAX_MAP_KEYS}")
            elements += abs(count)
            if elements > limit:
                raise self._too_many()
            if elements >= next_clock:
                next_clock = elements + 65536
                self._check_clock()
            stack.append(count if count >= 0 else 2 * count)
        if i != stop:
            raise ProtocolError("mensaje mal formado: " + (
                "sobran bytes al final del documento" if i < stop else
                "el documento termina antes de tiempo"))
        self._elements = elements

    def _scan_ext(self, data: bytes | memoryview, i: int, byte: int, level: int) -> int:
        """Checks the extension value at ``data[i]`` (nested documents too); returns its end."""
        if byte in _EXT_HEADERS:
            length, skip = _EXT_HEADERS[byte]
        elif byte == 0xc7:
            length, skip = data[i + 1], 2
        elif byte == 0xc8:
            length, skip = _U16.unpack_from(data, i + 1)[0], 3
        elif byte == 0xc9:
            length, skip = _U32.unpack_from(data, i + 1)[0], 5
        else:
            raise ProtocolError(f"mensaje mal formado: tipo msgpack 0x{byte:02x} inválido")
        code = data[i + skip]
        start = i + skip + 1
        end = start + length
        if not NDARRAY <= code <= OOBARRAY:  # msgpack's own (-1, timestamps) included
            raise ProtocolError(f"tipo de extensión desconocido: {code - 256 if code > 127 else code}")
        if end > len(data):
            raise ProtocolError("mensaje mal formado: el documento termina antes de tiempo")
        self._copy(length)  # msgpack hands every payload over as a copy, nested ones included
        if code in _NESTED_EXTS:
            if not length or data[start] not in _ARRAY_TYPES:
                raise ProtocolError(f"extensión {code} mal formada: se esperaba una lista")
            self._scan(data, start, end, level)
        return end

    def _check_key(self, data: bytes | memoryview, i: int, byte: int) -> None:
        if byte in _KEY_TYPES:
            return
        if byte in _INT64:
            key = _INT64[byte].unpack_from(data, i + 1)[0]
            if -MAX_INT_KEY < key < MAX_INT_KEY:
                return
            raise ProtocolError(f"clave entera {key} en un diccionario; el máximo es "
                                f"{MAX_INT_KEY} en valor absoluto")
        raise ProtocolError(f"clave de tipo {_type_name(byte)} en un diccionario; solo se "
                            "admiten str e int")

    def _copy(self, length: int) -> None:
        self._copied += length
        if self._copied > self._copy_limit:
            raise ProtocolError(f"decodificar el mensaje copiaría más de {self._copy_limit} bytes "
                                "(textos, bytes y extensiones; los arrays grandes van fuera de "
                                "banda)")

    def _too_many(self) -> ProtocolError:
        return ProtocolError(f"el mensaje tiene más de {self._max_elements} elementos (ítems de "
                             "listas, entradas de diccionarios y valores de extensión)")

    def _check_clock(self) -> None:
        if time.thread_time() > self._deadline:
            raise ProtocolError(f"decodificar el mensaje llevó más de {self._max_seconds:g} s de "
                                "CPU")

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

    def _ext(self, code: int, data: bytes) -> Any:
        self._check_clock()
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
            items = self._build(data)
            if type(items) is not list:
                raise ProtocolError("tupla mal formada")
            return tuple(items)
        if code == REF:
            fields = self._build(data)
            if not (type(fields) is list and len(fields) == 2 and type(fields[0]) is int
                    and type(fields[1]) is str):
                raise ProtocolError("referencia mal formada")
            if self._on_ref is None:
                raise ProtocolError("referencias no permitidas en este mensaje")
            return self._on_ref(Ref(fields[0], fields[1][:200]))
        if code == TENSOR:
            fields = self._build(data)
            if not (type(fields) is list and len(fields) == 4 and type(fields[0]) is np.ndarray
                    and type(fields[1]) is str and type(fields[2]) is str
                    and type(fields[3]) is bool):
                raise ProtocolError("tensor mal formado")
            array, dtype, device, requires_grad = fields
            return _make_tensor(array, dtype, device, requires_grad)
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
