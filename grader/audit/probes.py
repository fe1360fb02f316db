"""The audit's child process: runs a TP's probes on the reference and on mutants, and compares.

A probes file (``assignments/tpN/hidden/audit_probes.py``) defines ``PROBES``: graded name
(``"relu_backward"``, ``"MLP.loss"``, or a class name for all its methods) -> list of probes.
A probe is ``probe(module, rng) -> value``: it calls the module's functions on inputs drawn from
``rng`` and returns what should be compared, the arguments it passed included (so that an
argument modified in place shows). Each probe runs on the reference and on the mutant with the
same seed; the values must agree (``difference``), raise the same exception type and emit the
same warnings.

This module runs only in the child that ``grader.audit.oracle`` starts (``serve``): mutants may
loop, crash or write anywhere in memory, so nothing here runs in the caller's process. The parent
and the child speak JSON lines: the child's real stdout is kept for them, and anything printed by
the code under test goes to stderr.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import traceback
import types
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

RTOL = 1e-6
ATOL = 1e-9

Probe = Callable[[types.ModuleType, np.random.Generator], Any]


@dataclass(frozen=True)
class Outcome:
    """What one probe did on one module."""

    value: Any = None
    raised: str | None = None
    """The exception's type name when the probe raised."""
    warned: tuple[str, ...] = ()
    """``"Category: message"`` of each distinct warning, sorted."""


def load_module(source: str, name: str, filename: str) -> types.ModuleType:
    """``source`` executed as a fresh module called ``name`` (registered in ``sys.modules``)."""
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
    return module


def load_probes(path: Path) -> dict[str, list[Probe]]:
    """The ``PROBES`` table of a probes file, checked."""
    spec = importlib.util.spec_from_file_location("_audit_probes", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    table = getattr(module, "PROBES", None)
    if not isinstance(table, dict) or not all(
            isinstance(key, str) and isinstance(probes, list) and all(map(callable, probes))
            for key, probes in table.items()):
        raise ValueError(f"{path}: PROBES must be a dict of graded name -> list of probe functions "
                         f"(got {type(table).__name__})")
    return table


def probes_for(table: dict[str, list[Probe]], function: str) -> list[tuple[str, int, Probe]]:
    """``(key, index under that key, probe)`` for a mutant of ``function``: its own probes,
    then its class's (``MLP`` for ``MLP.loss``); for a helper without probes, all of them."""
    keys = [function] + ([function.partition(".")[0]] if "." in function else [])
    if function.startswith("_") and function not in table:
        # A helper of the module (``_sigmoid``): whatever calls it may show the change.
        keys = list(table)
    return [(key, index, probe) for key in keys for index, probe in enumerate(table.get(key, []))]


def probe_name(key: str, probe: Probe) -> str:
    """``relu_backward boundary`` for the probe ``relu_backward_boundary`` of ``relu_backward``."""
    name = getattr(probe, "__name__", "probe").lstrip("_")
    prefix = key.replace(".", "_") + "_"
    return f"{key} {name.removeprefix(prefix) if name.startswith(prefix) else name}"


def run(probe: Probe, module: types.ModuleType, seed: int) -> Outcome:
    """One probe on one module, seeded, its warnings recorded."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = probe(module, np.random.default_rng(seed))
        except (Exception, SystemExit) as exc:
            return Outcome(raised=type(exc).__name__, warned=_warned(caught))
    return Outcome(value=value, warned=_warned(caught))


def _warned(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:100]}"
                         for w in caught}))


def compare(expected: Outcome, actual: Outcome) -> str | None:
    """How the mutant's outcome differs from the reference's, or ``None``."""
    if expected.raised != actual.raised:
        if expected.raised is None:
            return f"raises {actual.raised} where the reference returns"
        if actual.raised is None:
            return f"returns where the reference raises {expected.raised}"
        return f"raises {actual.raised} where the reference raises {expected.raised}"
    if expected.raised is None:
        found = difference(expected.value, actual.value)
        if found is not None:
            return found
    extra = sorted(set(actual.warned) - set(expected.warned))
    if extra:
        return f"warns {extra[0]} where the reference does not"
    missing = sorted(set(expected.warned) - set(actual.warned))
    if missing:
        return f"does not warn {missing[0]} where the reference does"
    return None


def difference(expected: Any, actual: Any, where: str = "") -> str | None:
    """Where and how ``actual`` departs from ``expected``, or ``None`` when they agree.

    Containers (dicts, lists, tuples, objects' attributes) are compared item by item; numbers,
    numpy arrays and torch tensors as arrays with ``RTOL``/``ATOL`` (nan equals nan), shapes and
    dtype kinds exactly; a torch module by its ``state_dict`` and training flag.
    """
    expected, actual = _plain(expected), _plain(actual)
    label = where or "value"
    if isinstance(expected, dict) or isinstance(actual, dict):
        if not (isinstance(expected, dict) and isinstance(actual, dict)):
            return f"{label}: {_kind(actual)} where the reference has {_kind(expected)}"
        if set(expected) != set(actual):
            missing, extra = set(expected) - set(actual), set(actual) - set(expected)
            return f"{label}: keys {sorted(map(repr, missing))} missing, {sorted(map(repr, extra))} extra"
        for key in expected:
            found = difference(expected[key], actual[key], f"{where}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(expected, (list, tuple)) or isinstance(actual, (list, tuple)):
        if type(expected) is not type(actual):
            return f"{label}: {_kind(actual)} where the reference has {_kind(expected)}"
        if len(expected) != len(actual):
            return f"{label}: {len(actual)} items where the reference has {len(expected)}"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = difference(left, right, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    if expected is None or actual is None or isinstance(expected, str) or isinstance(actual, str):
        return None if type(expected) is type(actual) and expected == actual else (
            f"{label}: {_short(actual)} where the reference has {_short(expected)}")
    if _numeric(expected) and _numeric(actual):
        return _array_difference(np.asarray(expected), np.asarray(actual), label)
    if type(expected).__name__ != type(actual).__name__:
        return f"{label}: {_kind(actual)} where the reference has {_kind(expected)}"
    if hasattr(expected, "__dict__") and hasattr(actual, "__dict__"):
        return difference(_attributes(expected), _attributes(actual), where)
    return None if expected == actual else f"{label}: {_short(actual)} != {_short(expected)}"


def _plain(value: Any) -> Any:
    """Torch tensors as numpy arrays, torch modules as their state; the rest unchanged."""
    torch = sys.modules.get("torch")  # loaded only when a TP's reference uses it
    if torch is not None:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
        if isinstance(value, torch.nn.Module):
            return {"training": value.training, "state_dict": dict(value.state_dict())}
    return value


def _numeric(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, int, float, complex)) and (
        not isinstance(value, np.ndarray) or value.dtype != object)


def _attributes(value: Any) -> dict[str, Any]:
    return {key: item for key, item in vars(value).items() if not callable(item)}


def _kind(value: Any) -> str:
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _array_difference(expected: np.ndarray, actual: np.ndarray, label: str) -> str | None:
    if expected.shape != actual.shape:
        return f"{label}: shape {actual.shape} where the reference has {expected.shape}"
    kinds = {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}
    expected_kind, actual_kind = kinds.get(expected.dtype.kind), kinds.get(actual.dtype.kind)
    if expected_kind != actual_kind:
        return f"{label}: dtype {actual.dtype} where the reference has {expected.dtype}"
    if expected_kind in ("bool", "int"):
        wrong = expected != actual
        if not wrong.any():
            return None
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        return f"{label}: {int(wrong.sum())} values differ, first at {first}"
    close = np.isclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
    if close.all():
        return None
    with np.errstate(all="ignore"):
        gap = np.where(close, 0.0, np.abs(actual - expected))
    gap = np.where(np.isnan(gap), np.inf, gap)
    index = np.unravel_index(int(np.argmax(gap)), gap.shape)
    at = f" at {tuple(int(i) for i in index)}" if gap.ndim else ""
    if not np.isfinite(gap[index]):
        return f"{label}: {actual[index]}{at} where the reference has {expected[index]}"
    return f"{label}: max abs diff {gap[index]:.3g}{at}"


def seed_of(key: str, index: int) -> int:
    """The seed of a probe: the same in every process and for reference and mutant."""
    return zlib.crc32(f"{key}:{index}".encode())


# --- the child's main loop --------------------------------------------------------------------


class _Child:
    def __init__(self, reference_source: str, module_name: str, probes_file: Path) -> None:
        self.module_name = module_name
        self.table = load_probes(probes_file)
        self.reference = load_module(reference_source, module_name, f"<{module_name} reference>")
        self.expected: dict[tuple[str, int], Outcome] = {}

    def reference_outcomes(self, probes: list[tuple[str, int, Probe]]) -> list[Outcome]:
        """The reference's outcome of each probe, computed once per child."""
        for key, index, probe in probes:
            if (key, index) not in self.expected:
                sys.modules[self.module_name] = self.reference
                self.expected[key, index] = run(probe, self.reference, seed_of(key, index))
        return [self.expected[key, index] for key, index, _ in probes]

    def judge(self, function: str, source: str, say: Callable[[dict[str, Any]], None],
              mutant_id: str) -> tuple[bool, str]:
        probes = probes_for(self.table, function)
        if not probes:
            return False, f"no probe for {function}: kept, not judged"
        expected = self.reference_outcomes(probes)
        say({"begin": mutant_id})
        try:
            mutant = load_module(source, self.module_name, f"<{self.module_name} mutant {mutant_id}>")
        except (Exception, SystemExit) as exc:
            return False, f"importing it raises {type(exc).__name__}"
        for (key, index, probe), reference in zip(probes, expected, strict=True):
            found = compare(reference, run(probe, mutant, seed_of(key, index)))
            if found is not None:
                return False, f"{probe_name(key, probe)}: {found}"
        return True, f"no probe told it apart ({len(probes)} probes of {function})"


def serve(stdin: TextIO | None = None) -> None:
    """The child's loop: one setup message, then one mutant per line until stdin closes."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the code under test prints, even from C, goes to stderr
    sys.stdout = sys.stderr
    lines = stdin or sys.stdin

    def say(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    setup = json.loads(lines.readline())
    try:
        child = _Child(setup["reference"], setup["module"], Path(setup["probes"]))
    except (Exception, SystemExit):
        say({"error": traceback.format_exc(limit=-3)})
        return
    say({"ready": True})
    for line in lines:
        request = json.loads(line)
        equivalent, reason = child.judge(request["function"], request["source"], say, request["id"])
        say({"id": request["id"], "equivalent": equivalent, "reason": reason})
