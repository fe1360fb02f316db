"""The audit's oracle (grader.audit.oracle, issue 17): which mutants the probes tell apart from the
reference, run in child processes, on a tiny synthetic module (tests/fixtures/audit/tiny.py); and
once on a few TP1 mutants with the TP's own probes."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import pytest

from grader.audit.mutate import Mutant, mutants
from grader.audit.oracle import Verdict, judge
from grader.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "audit"
TINY = (FIXTURES / "tiny.py").read_text()
PROBES = FIXTURES / "tiny_probes.py"
FUNCTIONS = {"scale": "scale", "gate": "gate", "count_up": "count_up", "halve": "halve",
             "unprobed": "unprobed"}


def by_diff(found: list[Mutant], diff: str) -> Mutant:
    (mutant,) = [m for m in found if m.diff == diff]
    return mutant


def edited(function: str, old: str, new: str) -> Mutant:
    """A hand-made mutant: one text edit of the tiny reference."""
    assert TINY.count(old) == 1
    return Mutant(id=f"{function}-hand", function=function, exercise=function, operator="arith",
                  line=0, diff=f"{old}  ->  {new}", source=TINY.replace(old, new))


@pytest.fixture(scope="module")
def found() -> list[Mutant]:
    return mutants(TINY, FUNCTIONS)


def verdict(mutant: Mutant, **options) -> Verdict:
    (result,) = judge(TINY, "tiny", [mutant], PROBES, **options)
    assert result.mutant_id == mutant.id
    return result


def test_a_mutant_in_dead_code_is_equivalent(found):
    dead = by_diff(found, "L7 scale: unused = x * 3.0  ->  unused = x / 3.0")
    assert verdict(dead) == Verdict(dead.id, True, "no probe told it apart (1 probes of scale)")


def test_times_one_is_equivalent_and_a_real_change_is_not(found):
    times_one = edited("scale", "return x * k", "return x * k * 1")
    real = by_diff(found, "L8 scale: return x * k  ->  return x / k")
    one, other = judge(TINY, "tiny", [times_one, real], PROBES)
    assert one.equivalent
    assert not other.equivalent
    assert other.reason == "scale random: [0]: max abs diff 2.49 at (0, 1)"


def test_a_boundary_mutant_is_told_apart_by_the_probe_that_reaches_the_boundary(found):
    boundary = by_diff(found, "L12 gate: return np.where(x > 0, g, 0.0)  ->  "
                              "return np.where(x >= 0, g, 0.0)")
    # gate_random (all positive) cannot see it; gate_boundary's exact zero does.
    assert verdict(boundary) == Verdict(boundary.id, False,
                                        "gate boundary: [0]: max abs diff 6 at (1,)")


def test_an_argument_modified_in_place_counts():
    in_place = edited("halve", "y = x.copy()", "y = x")
    assert verdict(in_place).reason.startswith("halve matrix: [1]: max abs diff")


def test_raising_where_the_reference_returns_counts():
    broken = edited("scale", "return x * k", "return x * undefined_name")
    assert verdict(broken) == Verdict(broken.id, False,
                                      "scale random: raises NameError where the reference returns")


def test_a_mutant_that_loops_forever_times_out_and_the_next_one_is_still_judged(found):
    endless = by_diff(found, "L20 count_up: i += 1  ->  i -= 1")
    fine = by_diff(found, "L8 scale: return x * k  ->  return x / k")
    start = time.monotonic()
    looped, after = judge(TINY, "tiny", [endless, fine], PROBES, timeout_s=1.0)
    assert looped == Verdict(endless.id, False, "timeout")
    assert not after.equivalent and after.reason.startswith("scale random")
    assert time.monotonic() - start < 30


def test_a_function_without_probes_is_kept_not_judged(found):
    (unprobed, *_) = [m for m in found if m.function == "unprobed"]
    assert verdict(unprobed) == Verdict(unprobed.id, False, "no probe for unprobed: kept, not judged")


def test_verdicts_come_in_the_order_of_the_mutants_whatever_the_jobs(found):
    chosen = [m for m in found if m.function in ("scale", "gate", "halve")]
    one = judge(TINY, "tiny", chosen, PROBES, jobs=1)
    two = judge(TINY, "tiny", chosen, PROBES, jobs=2)
    assert [v.mutant_id for v in one] == [m.id for m in chosen]
    assert one == two


def test_nothing_runs_in_the_caller_process(found):
    judge(TINY, "tiny_in_child", found[:2], PROBES)
    assert "tiny_in_child" not in sys.modules and "_audit_probes" not in sys.modules


def test_a_missing_probes_file_is_a_config_error(found, tmp_path):
    with pytest.raises(ConfigError, match="no audit probes at"):
        judge(TINY, "tiny", found[:1], tmp_path / "nothing.py")


def test_a_broken_probes_file_is_a_config_error_that_names_it(found, tmp_path):
    broken = tmp_path / "audit_probes.py"
    broken.write_text("PROBES = {'scale': [lambda m, rng: m.scale(1.0)]\n")
    with pytest.raises(ConfigError, match=r"(?s)audit_probes.py: the audit.s child could not .*"
                                          r"SyntaxError"):
        judge(TINY, "tiny", found[:1], broken)


def test_tp1_relu_boundary_mutant_is_told_apart_and_equivalents_dropped():
    assignment = tomllib.loads((REPO / "assignments" / "tp1" / "assignment.toml").read_text())
    functions = {f: e["name"] for e in assignment["exercise"] for f in e["functions"]}
    reference = (REPO / "reference_solutions" / "tp1" / "tp1.py").read_text()
    found = mutants(reference, functions)
    chosen = [by_diff(found, diff) for diff in (
        "L60 relu_backward: return np.where(x > 0, dout, 0.0)  ->  return np.where(x >= 0, dout, 0.0)",
        "L53 relu_forward: out = np.maximum(x, 0.0)  ->  out = np.maximum(0.0, x)",
        "L118 softmax: e = np.exp(shifted)  ->  e = -np.exp(shifted)",
        "L47 linear_backward: db = dout.sum(axis=0)  ->  db = dout.mean(axis=0)",
        "L256 adam: t = int(config.get('t', 0)) + 1  ->  t = int(config.get('t', 0)) - 1",
    )]
    verdicts = judge(reference, "tp1", chosen, REPO / "assignments" / "tp1" / "hidden" /
                     "audit_probes.py", jobs=2)
    assert [v.equivalent for v in verdicts] == [False, True, True, False, False]
    assert verdicts[0].reason.startswith("relu_backward relu_")
    assert "max abs diff" in verdicts[0].reason
