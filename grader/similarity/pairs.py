"""Pairs of submissions scored by how much of each one's own code the other contains.

A submission's *own* fingerprints are its winnowed fingerprints (``grader.similarity.winnow``)
minus every k-gram of what the course gives (``given``: the starter, whose signatures and
docstrings are the contract's given lines, and the code quoted in its docstrings). The share of A
in B is the fraction of A's own fingerprints that B also has; a pair's score is the larger of the
two shares, so a short submission copied into a long one still scores high. Shares are per file
and per top-level function or class.

Every pair is scored through an inverted index (fingerprint -> submissions that have it), so the
cost grows with the fingerprints two submissions share, not with the number of pairs times their
length: 200 submissions of TP3 take a few seconds (``benchmarks/similarity.py``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.similarity.tokens import Unit, normalise, units
from grader.similarity.winnow import K, W, kgram_hashes, token_ids, winnow


@dataclass(frozen=True)
class Document:
    """One submission, fingerprinted."""

    student: str
    path: Path
    source: str
    """The code grading runs (a notebook's code cells, converted as grading converts them)."""
    units: tuple[Unit, ...]
    own: tuple[frozenset[int], ...]
    """Per unit, its own fingerprints (winnowed, minus the given ones)."""
    kgrams: frozenset[int]
    """Every k-gram hash of the whole file, for highlighting what another submission shares."""

    @property
    def fingerprints(self) -> frozenset[int]:
        return frozenset().union(*self.own)


@dataclass(frozen=True)
class PairScore:
    a: int
    """Index of the first submission (in the list given to ``score_pairs``)."""
    b: int
    shared: int
    """Own fingerprints the two have in common."""
    share_a: float
    """Fraction of A's own fingerprints that B has."""
    share_b: float

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass(frozen=True)
class FunctionMatch:
    """A top-level function (or class) of A and the one of B that holds most of what they share."""

    a_unit: str
    a_share: float
    """Fraction of this unit's own fingerprints that B has (anywhere)."""
    a_size: int
    """Own fingerprints of this unit (0: all of it is given code, or it is too short)."""
    b_unit: str | None
    """B's unit with most of the shared fingerprints; ``None`` when B has none of them."""
    b_share: float
    """Fraction of ``b_unit``'s own fingerprints that A has (anywhere)."""


def unit_kgrams(unit: Unit, k: int = K) -> list[tuple[int, int]]:
    """``(hash, index of its first token)`` of each k-gram of ``unit``. Each unit is hashed on
    its own (reordering functions changes no k-gram), and so is each function body (no k-gram
    crosses a ``def`` header's end: ``Token.opens_body``)."""
    cuts = [i for i, t in enumerate(unit.tokens) if t.opens_body and i > 0]
    found: list[tuple[int, int]] = []
    for start, stop in zip([0, *cuts], [*cuts, len(unit.tokens)], strict=True):
        ids = token_ids([t.text for t in unit.tokens[start:stop]])
        found.extend((h, start + i) for i, h in enumerate(kgram_hashes(ids, k)))
    return found


def _kgrams_by_unit(source: str, k: int) -> tuple[list[Unit], list[list[int]]]:
    found = units(source)
    return found, [[h for h, _ in unit_kgrams(u, k)] for u in found]


_QUOTED = re.compile(r"``(.+?)``", re.DOTALL)


def given_kgrams(sources: Iterable[str], *, k: int = K) -> frozenset[int]:
    """Every k-gram of the code the course gives, and of the code its docstrings quote
    (``h = tanh(x @ Wx + h_prev @ Wh + b)``): none of it ever counts as shared."""
    found: set[int] = set()
    for source in sources:
        for hashes in _kgrams_by_unit(source, k)[1]:
            found.update(hashes)
        for quoted in _QUOTED.findall(source):
            found.update(kgram_hashes(token_ids([t.text for t in normalise(quoted)]), k))
    return frozenset(found)


def fingerprint(student: str, path: Path, source: str, given: frozenset[int], *, k: int = K,
                w: int = W) -> Document:
    found, hashes = _kgrams_by_unit(source, k)
    own = tuple(frozenset(h for h, _ in winnow(unit_hashes, w)) - given for unit_hashes in hashes)
    return Document(student, path, source, tuple(found), own,
                    frozenset(h for unit_hashes in hashes for h in unit_hashes))


def score_pairs(documents: Sequence[Document]) -> list[PairScore]:
    """Every pair that shares at least one own fingerprint, highest score first (ties by name)."""
    owned = [d.fingerprints for d in documents]
    index: dict[int, list[int]] = defaultdict(list)
    for i, prints in enumerate(owned):
        for h in prints:
            index[h].append(i)
    pairs = []
    for i, prints in enumerate(owned):
        counts: Counter[int] = Counter()
        for h in prints:
            counts.update(index[h])
        for j, shared in counts.items():
            if j > i:
                pairs.append(PairScore(i, j, shared, shared / len(owned[i]), shared / len(owned[j])))
    pairs.sort(key=lambda p: (-p.score, -p.shared, documents[p.a].student, documents[p.b].student))
    return pairs


def function_matches(a: Document, b: Document) -> list[FunctionMatch]:
    """A's units in file order, each with its share in B and its counterpart in B."""
    b_all = b.fingerprints
    a_all = a.fingerprints
    matches = []
    for unit, own in zip(a.units, a.own, strict=True):
        shared = own & b_all
        best = max(range(len(b.units)), key=lambda v: (len(shared & b.own[v]), -v), default=None)
        if best is None or not shared & b.own[best]:
            matches.append(FunctionMatch(unit.name, 0.0, len(own), None, 0.0))
            continue
        b_own = b.own[best]
        matches.append(FunctionMatch(unit.name, len(shared) / len(own), len(own), b.units[best].name,
                                     len(b_own & a_all) / len(b_own)))
    return matches


def highlights(a: Document, b: Document, given: frozenset[int], *, k: int = K) -> list[list[tuple[int, int]]]:
    """Per unit of A, the ``(start, end)`` offsets in A's source of the regions B also has: runs
    of tokens covered by a k-gram that B has and the course does not give."""
    regions: list[list[tuple[int, int]]] = []
    starts = [u.first_line for u in a.units]
    for unit in a.units:
        covered = [False] * len(unit.tokens)
        for h, i in unit_kgrams(unit, k):
            if h in b.kgrams and h not in given:
                covered[i:i + k] = [True] * k
        spans: list[tuple[int, int]] = []
        for i, token in enumerate(unit.tokens):
            if not covered[i]:
                continue
            previous = unit.tokens[i - 1] if i > 0 else None
            # The module-level unit is scattered between functions: a region never spans one.
            if (spans and previous is not None and covered[i - 1]
                    and not any(previous.line < s <= token.line for s in starts)):
                spans[-1] = (spans[-1][0], token.end)
            else:
                spans.append((token.start, token.end))
        regions.append(spans)
    return regions


@dataclass(frozen=True)
class ListedPair:
    """A pair at or above the threshold, with what a person needs to review it."""

    rank: int
    a: Document
    b: Document
    score: PairScore
    functions_a: tuple[FunctionMatch, ...]
    """A's units, each with its share in B and its counterpart there."""
    functions_b: tuple[FunctionMatch, ...]
    regions_a: tuple[tuple[tuple[int, int], ...], ...]
    """Per unit of A, the offsets of the regions B also has."""
    regions_b: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def detailed(self) -> bool:
        """Whether the shared regions were computed (the first ``DETAILED_PAIRS`` pairs)."""
        return bool(self.regions_a)


@dataclass(frozen=True)
class Analysis:
    tp: str
    threshold: float
    documents: tuple[Document, ...]
    pairs: tuple[PairScore, ...]
    """Every pair that shares something, highest score first."""
    listed: tuple[ListedPair, ...]
    """The pairs whose score reaches ``threshold``, in the same order."""
    skipped: tuple[str, ...]
    """Entries of the folder that were not compared, each with why."""


DETAILED_PAIRS = 100
"""Pairs, in rank order, whose shared regions are computed and shown side by side. A class that
shares a common base (or a threshold set low) can list thousands of pairs; past the first
hundred, a reviewer reads the table and the CSV, and the page stays small."""


def analyse(documents: Sequence[Document], given: frozenset[int], *, tp: str, threshold: float,
            skipped: Sequence[str] = (), detailed: int = DETAILED_PAIRS) -> Analysis:
    """Scores every pair and prepares the ones at or above ``threshold`` for review."""
    pairs = score_pairs(documents)
    listed: list[ListedPair] = []
    for pair in pairs:
        if pair.score < threshold or pair.shared == 0:
            break
        a, b = documents[pair.a], documents[pair.b]
        shown = len(listed) < detailed
        listed.append(ListedPair(
            len(listed) + 1, a, b, pair, tuple(function_matches(a, b)), tuple(function_matches(b, a)),
            tuple(tuple(r) for r in highlights(a, b, given)) if shown else (),
            tuple(tuple(r) for r in highlights(b, a, given)) if shown else ()))
    return Analysis(tp, threshold, tuple(documents), tuple(pairs), tuple(listed), tuple(skipped))
