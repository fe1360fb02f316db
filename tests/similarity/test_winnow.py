"""Winnowing keeps its guarantee (a shared run of W + K - 1 tokens shares a fingerprint), picks
one fingerprint per run of equal hashes, and hashes the same in every process."""

from __future__ import annotations

import os
import random
import subprocess
import sys

from grader.similarity.winnow import K, W, kgram_hashes, token_ids, winnow

VOCABULARY = ["V", "L", "=", "(", ")", ",", ".", "+", "*", ";", "for", "in", "range", "return"]


def fingerprints(tokens: list[str]) -> set[int]:
    return {h for h, _ in winnow(kgram_hashes(token_ids(tokens)))}


def test_a_shared_run_of_w_plus_k_minus_1_tokens_always_shares_a_fingerprint():
    rng = random.Random(0)
    for _ in range(200):
        run = rng.choices(VOCABULARY, k=W + K - 1)
        a = rng.choices(VOCABULARY, k=rng.randrange(40)) + run + rng.choices(VOCABULARY, k=rng.randrange(40))
        b = rng.choices(VOCABULARY, k=rng.randrange(40)) + run + rng.choices(VOCABULARY, k=rng.randrange(40))
        assert fingerprints(a) & fingerprints(b)


def test_unrelated_streams_share_nothing():
    rng = random.Random(1)
    a, b = rng.choices(VOCABULARY[:7], k=300), rng.choices(VOCABULARY[7:], k=300)
    assert not fingerprints(a) & fingerprints(b)


def test_a_run_of_equal_hashes_gives_one_fingerprint_per_window_not_one_per_position():
    # Robust winnowing keeps a chosen minimum while it is in the window: a repeated line
    # (``x = x + 1`` ten times) does not flood the fingerprints.
    assert winnow([5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9], w=4) == [(1, 3), (1, 7), (1, 11)]


def test_a_stream_shorter_than_a_window_keeps_its_smallest_hash_and_shorter_than_k_nothing():
    assert winnow([7, 3, 9], w=8) == [(3, 1)]
    assert kgram_hashes(token_ids(["V"] * (K - 1))) == []


def test_hashes_do_not_depend_on_the_process_hash_seed():
    code = ("from grader.similarity.winnow import kgram_hashes, token_ids; "
            f"print(kgram_hashes(token_ids({VOCABULARY * 2!r})))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert outputs == {f"{kgram_hashes(token_ids(VOCABULARY * 2))}\n"}
