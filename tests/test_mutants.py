"""Each TP's checks catch the mistakes students really make, and charge each to its exercise.

Each mutant (``tests/tp1/mutants.py``, ``tests/tp2/tp2_mutants.py``, ``tests/tp3/tp3_mutants.py``)
is a correct solution with one realistic bug; one batch per TP grades them all beside the correct
base (tests/mutant_batches.py), and each must lose exactly the exercises listed for it. What only
one TP's mutants show is tested beside them (tests/tp1/test_train_mutants.py,
tests/tp3/test_tp3_mutants.py).
"""

from __future__ import annotations

import pytest
from mutant_batches import TPS, lost, mutants  # tests/ is on sys.path (prepend import mode)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("tp", TPS)
def test_the_correct_base_loses_nothing(graded_mutants, tp):
    assert lost(graded_mutants(tp), "passes_all") == ([], [])


@pytest.mark.parametrize(("tp", "name"), [pytest.param(tp, name, id=f"{tp}-{name}")
                                          for tp in TPS for name in sorted(mutants(tp))])
def test_the_mutant_loses_exactly_the_expected_exercises(graded_mutants, tp, name):
    exercises, failures = lost(graded_mutants(tp), name)
    mutant = mutants(tp)[name]
    # An exercise in may_lose (TP1 only) is lost on some students' inputs only (its mutants
    # module says how often); every other one is lost always or never.
    may_lose = getattr(mutant, "may_lose", ())
    assert [e for e in exercises if e not in may_lose] == sorted(mutant.loses), failures
