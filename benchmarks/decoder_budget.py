"""What a hostile 256 MiB reply costs the trusted process that decodes it (issue 15).

Builds replies of about 256 MiB of small nested items, each the way a worker's student code
could send them, feeds each to the trusted side's ``Decoder`` with its default budgets (what
``grader.engine.session.Session`` uses) and prints: the reply's size, the time until it is refused (or
decoded), the error, and how much the decoding process's peak RSS grew beyond the frame itself.
Each reply is decoded in a fresh process, so one's peak does not hide another's.

- ``lists``: a list of 1 MiB lists of small lists of short strings, floats and ints;
- ``dicts``: a list of 1 MiB lists of small dicts;
- ``deep``: lists nested 80 deep, each holding 999,999 two-character strings before the next
  level: msgpack builds all of it before any hook could count it (~5 GiB of objects);
- ``tuples``: 60 nested tuples around 254 MiB of bytes: msgpack copies each tuple's payload, so
  the decoder before issue 15 held 60 copies at once (~15 GiB; a 20 MiB frame took 560 MiB);
- ``texts``: strings of 200 bytes, each with an emoji (4 bytes a character once built);
- ``arrays``: 499,999 tiny inline arrays, the most expensive message the budgets still accept;
- ``array``: a legitimate reply, one 255 MiB float64 array (one element), for comparison.

``--unbounded`` decodes with a bare ``msgpack.unpackb`` instead (what the decoder did before
issue 15, less its recursion into tuples, which ``tuples`` would need ~15 GiB for: it is left
out), to show what the budgets save.

    python benchmarks/decoder_budget.py [--unbounded] [--scenarios lists,dicts,deep,tuples,...]
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import time

import msgpack
import numpy as np

from grader.runtime import protocol

TARGET = 256 * 1024 * 1024 - 4096  # just under the default max_message_mb
SCENARIOS = ("lists", "dicts", "deep", "tuples", "texts", "arrays", "array")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def repeated(header: bytes, item: bytes, count: int) -> bytearray:
    """A frame: the document ``header`` + ``item`` * ``count``, built in place (no transient
    copy, so the peak RSS before decoding is the frame itself)."""
    size = len(header) + len(item) * count
    frame = bytearray(4 + size)
    struct.pack_into(">I", frame, 0, size)
    frame[4:4 + len(header)] = header
    start, filled = 4 + len(header), len(item)
    frame[start:start + filled] = item
    view = memoryview(frame)
    while filled < len(item) * count:  # doubling copies: log2(count) of them
        step = min(filled, len(item) * count - filled)
        view[start + filled:start + filled + step] = view[start:start + step]
        filled += step
    return frame


def list_of(item: object) -> bytearray:
    """A list of 1 MiB lists of ``item``: no header alone announces a million elements, so the
    decoder has to walk the items up to its budget before it can refuse."""
    encoded = protocol.Encoder().encode(item)
    per_chunk = 2**20 // len(encoded)
    chunk = b"\xdd" + struct.pack(">I", per_chunk) + encoded * per_chunk
    count = (TARGET - 5) // len(chunk)
    return repeated(b"\xdd" + struct.pack(">I", count), chunk, count)


def deep() -> bytearray:
    """Nested levels of ``[s, s, ..., s, [next level]]``, s a two-character string."""
    width, level_bytes = 999_999, 5 + 3 * 999_999
    levels = (TARGET - 16) // level_bytes
    document = bytearray()
    for _ in range(levels):
        document += b"\xdd" + struct.pack(">I", width + 1) + b"\xa2ab" * width
    document += b"\xc0"  # the innermost level's last item
    return bytearray(struct.pack(">I", len(document))) + document


def tuples() -> bytearray:
    """``((...(bytes(254 MiB),)...),)``, 60 levels, as the worker's encoder nests tuples: each
    level an ext 32 header and a one-item list around the next; built in place."""
    levels, data = 60, TARGET - 4096
    inner = 5 + data  # bin 32
    headers = []
    for _ in range(levels):
        headers.append(b"\xc9" + struct.pack(">I", 1 + inner) + bytes([protocol.TUPLE]) + b"\x91")
        inner += 7
    prefix = b"".join(reversed(headers)) + b"\xc6" + struct.pack(">I", data)
    frame = bytearray(4 + len(prefix) + data)  # the bytes value: zeros
    struct.pack_into(">I", frame, 0, len(frame) - 4)
    frame[4:4 + len(prefix)] = prefix
    return frame


def build(name: str) -> bytearray:
    if name == "lists":
        return list_of([1, "ab", [2.5, "cd"]])
    if name == "dicts":
        return list_of({"a": 1, "b": "xy"})
    if name == "deep":
        return deep()
    if name == "tuples":
        return tuples()
    if name == "texts":
        return list_of("x" * 196 + "😀")
    if name == "arrays":
        tiny = protocol.Encoder().encode(np.ones(1))
        return repeated(b"\xdd" + struct.pack(">I", 499_999), tiny, 499_999)
    array = np.ones(255 * 1024 * 1024 // 8)
    return bytearray(b"".join(bytes(memoryview(p).cast("B"))
                              for p in protocol.Encoder().encode_frame({"value": array})))


def run(name: str, unbounded: bool) -> dict[str, object]:
    frame = build(name)
    before = rss_mb()
    started = time.perf_counter()
    try:
        if unbounded:
            end = 4 + struct.unpack_from(">I", frame)[0]
            value = msgpack.unpackb(memoryview(frame)[4:end], raw=False, strict_map_key=False,
                                    ext_hook=lambda code, data: data)
        else:
            value = protocol.Decoder(on_ref=lambda ref: ref).decode_frame(frame)
        outcome = f"decodificado ({type(value).__name__})"
    except (protocol.ProtocolError, ValueError, MemoryError) as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    return {"scenario": name, "size_mib": len(frame) / 2**20, "seconds": elapsed,
            "outcome": outcome, "growth_mib": rss_mb() - before, "frame_rss_mib": before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--unbounded", action="store_true",
                        help="decode with a bare msgpack.unpackb (the decoder before issue 15)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run(args.one, args.unbounded)))
        return
    if args.unbounded:
        print("msgpack.unpackb sin límites")
    else:
        print(f"Decoder con los límites por defecto: {protocol.DEFAULT_MAX_ELEMENTS} elementos, "
              f"{protocol.MAX_DEPTH} niveles, {protocol.MAX_MAP_KEYS} claves por diccionario, "
              f"{protocol.DEFAULT_MAX_COPIED // 2**20} MiB copiados, "
              f"{protocol.DEFAULT_MAX_SECONDS:g} s de CPU")
    print(f"{'caso':8} {'MiB':>7} {'s':>7} {'RSS +MiB':>9}  resultado")
    for name in args.scenarios.split(","):
        if args.unbounded and name == "tuples":
            continue
        command = [sys.executable, __file__, "--one", name] + (["--unbounded"] * args.unbounded)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            print(f"{name:8} falló (código {done.returncode}): {done.stderr.strip()[-300:]}")
            continue
        row = json.loads(done.stdout)
        print(f"{name:8} {row['size_mib']:7.1f} {row['seconds']:7.3f} {row['growth_mib']:9.1f}  "
              f"{str(row['outcome'])[:110]}")


if __name__ == "__main__":
    main()
