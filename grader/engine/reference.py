"""The ``reference`` checks compare against: the live solution, or its outputs baked as data.

In the course repository the reference is the solution module itself. A released student bundle
carries no solution code: ``release`` runs the public checks once with a ``RecordingReference``
that stores, for every call the checks make, a hash of the call's arguments and the result, as
data (the same msgpack + ``.npy`` encoding the worker uses). ``ReplayReference`` then answers the
same calls from that file. Public checks may therefore only call the reference with inputs they
generated themselves, and only functions whose results are data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.errors import ConfigError, GraderError
from grader.runtime import protocol

EXPECTED_FILE = "expected.msgpack"


def load_reference(folder: Path, module_name: str) -> ModuleType:
    """Imports ``FOLDER/MODULE_NAME.py`` (the course's solution) under a private name."""
    path = folder / f"{module_name}.py"
    if not path.is_file():
        raise ConfigError(f"no existe la solución de referencia {path}")
    name = f"_reference_{module_name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def call_key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    encoded = protocol.Encoder().encode([name, list(args), dict(sorted(kwargs.items()))])
    return hashlib.sha256(encoded).hexdigest()


class RecordingReference:
    """Forwards calls to the real reference and records their results as data."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self.recorded: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._module, name)
        if not callable(target):
            raise ConfigError(f"las comprobaciones públicas solo pueden llamar funciones de la "
                              f"referencia; {name} no lo es")

        def record(*args: Any, **kwargs: Any) -> Any:
            key = call_key(name, args, kwargs)
            result = target(*args, **kwargs)
            try:
                encoded = protocol.Encoder().encode(result)
            except TypeError as exc:
                raise ConfigError(f"la comprobación pública usa reference.{name}, cuyo resultado "
                                  f"no es un dato que se pueda guardar ({exc})") from None
            # A copy as it is now: the check may later change the result in place.
            self.recorded[key] = protocol.Decoder.unbounded().decode(encoded)
            return result

        return record

    def dump(self) -> bytes:
        return protocol.Encoder().encode(self.recorded)


class CachingReference:
    """The live reference, with each call's result kept for the rest of the batch (issue 9).

    Reference outputs depend only on the call's arguments, so a trusted process that grades many
    submissions computes each distinct call once. Only calls whose arguments and result are data
    (the worker's encoding) are cached; anything else (a model class, a generator) goes straight
    to the reference. Every hit returns a fresh copy: a check may change what it gets.
    """

    def __init__(self, module: ModuleType, *, max_bytes: int = 256 * 1024 * 1024) -> None:
        self._module = module
        self._cache: dict[str, bytes] = {}
        self._size = 0
        self._max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._module, name)
        if not callable(target) or isinstance(target, type):
            return target

        def cached(*args: Any, **kwargs: Any) -> Any:
            try:
                key = call_key(name, args, kwargs)
            except TypeError:
                return target(*args, **kwargs)
            if key in self._cache:
                self.hits += 1
                return protocol.Decoder.unbounded().decode(self._cache[key])
            self.misses += 1
            result = target(*args, **kwargs)
            try:
                encoded = protocol.Encoder().encode(result)
            except TypeError:
                return result
            if self._size + len(encoded) <= self._max_bytes:
                self._cache[key] = encoded
                self._size += len(encoded)
            return protocol.Decoder.unbounded().decode(encoded)

        return cached


class ReplayReference:
    """Answers the public checks' reference calls from the baked ``expected.msgpack``."""

    def __init__(self, path: Path) -> None:
        try:
            data = protocol.Decoder.unbounded().decode(path.read_bytes())
        except (OSError, protocol.ProtocolError) as exc:
            raise ConfigError(f"no se pueden leer los valores esperados {path}: {exc}") from None
        if type(data) is not dict:
            raise ConfigError(f"{path}: formato inválido")
        self._expected: dict[str, Any] = data
        self._path = path

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def replay(*args: Any, **kwargs: Any) -> Any:
            key = call_key(name, args, kwargs)
            if key not in self._expected:
                raise GraderError(f"no hay valor esperado para reference.{name} con estos "
                                  f"argumentos en {self._path} (¿se modificaron las "
                                  "comprobaciones públicas?)")
            # A fresh copy each time: a check may modify what it gets.
            return protocol.Decoder.unbounded().decode(protocol.Encoder().encode(self._expected[key]))

        return replay


class References:
    """The references of one trusted process.

    Args:
        cache: load each TP's reference once and cache its outputs (``CachingReference``) for
            every submission this process grades (a warm process); otherwise load it fresh
            every time.
    """

    def __init__(self, *, cache: bool = False) -> None:
        self._kept: dict[tuple[Path, str], Any] | None = {} if cache else None

    def load(self, folder: Path, module_name: str) -> Any:
        if self._kept is None:
            return load_reference(folder, module_name)
        key = (folder.resolve(), module_name)
        if key not in self._kept:
            self._kept[key] = CachingReference(load_reference(folder, module_name))
        return self._kept[key]
