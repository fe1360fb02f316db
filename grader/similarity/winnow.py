"""Fingerprints of a token stream: hashes of its k-grams, winnowed (Schleimer, Wilkerson and
Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003; the algorithm
behind MOSS).

A k-gram is ``k`` consecutive normalised tokens. Winnowing keeps, in every window of ``w``
consecutive k-gram hashes, the smallest (the rightmost on ties), so two streams that share a run
of at least ``w + k - 1`` tokens share at least one fingerprint, whatever surrounds the run, and a
stream of n tokens keeps about ``2n / (w + 1)`` fingerprints. Matches shorter than ``k`` tokens
are never seen: that is the noise floor (``x = np.zeros(n)`` is not evidence of anything).

Hashes are deterministic across runs and machines (a token's CRC-32, then Python's tuple hash of
integers, which no ``PYTHONHASHSEED`` changes), so a report is reproducible.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

K = 12
"""Tokens per k-gram. Normalised Python repeats short shapes (``V = V . V ( V )``) everywhere;
12 tokens is about one statement, and kept the example class's independent solutions apart
(tests/similarity)."""
W = 8
"""Winnowing window: any shared run of ``W + K - 1`` = 19 tokens (two or three statements) is
guaranteed a shared fingerprint."""

_MASK = (1 << 61) - 1


def token_ids(texts: Sequence[str]) -> list[int]:
    return [zlib.crc32(t.encode()) for t in texts]


def kgram_hashes(ids: Sequence[int], k: int = K) -> list[int]:
    """The hash of each k-gram of ``ids``, in order (none when there are fewer than ``k``)."""
    return [hash(tuple(ids[i:i + k])) & _MASK for i in range(len(ids) - k + 1)]


def winnow(hashes: Sequence[int], w: int = W) -> list[tuple[int, int]]:
    """``(hash, position)`` of the fingerprints winnowing selects from ``hashes``, in order.

    A stream shorter than one window keeps its smallest hash, so a short function still has a
    fingerprint if it has a k-gram at all.
    """
    if not hashes:
        return []
    if len(hashes) <= w:
        best = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return [(hashes[best], best)]
    chosen: list[tuple[int, int]] = []
    last = -1
    for start in range(len(hashes) - w + 1):
        window = hashes[start:start + w]
        low = min(window)
        if last >= start and hashes[last] == low:
            # Robust winnowing: a tie keeps the fingerprint already chosen, so a run of equal
            # hashes (repeated code) yields one fingerprint per window, not one per position.
            continue
        position = start + w - 1 - window[::-1].index(low)  # the rightmost minimum
        if position != last:
            chosen.append((low, position))
            last = position
    return chosen
