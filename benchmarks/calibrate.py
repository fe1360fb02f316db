"""Calibration of the checks judged by a threshold (issue 17): each independent recipe of a TP
(``reference_solutions/TP/recipes/*.py``) is graded as a student's file with the TP's public and
hidden checks, through the same sandbox a batch uses, and every check that awards measured credit
(``credit.award``: RMSE, accuracy, MSE) prints its credit and message (the metric and the
thresholds). A threshold is calibrated when every recipe gets full credit with margin on every draw.

    python benchmarks/calibrate.py tp2 [--recipes GLOB] [--students N] [--shift-seeds]
                                       [--checks REGEX] [--backend subprocess|docker]

A recipe replaces some functions of the reference: the file graded is the reference followed by
the recipe, so the recipe's definitions win and everything else stays correct.

``--students N`` grades each recipe N times, as the students ``calibrate-0`` ... ``calibrate-N-1``,
so the hidden checks that draw their data from the per-student ``rng`` see N different draws (TP1's
``train`` on digits). The training checks of TP2 and TP3 use fixed splits and call ``fit_*`` with
``seed=0``, so there the draws differ only with ``--shift-seeds``: draw ``k`` then passes
``seed + k`` to every ``fit_*`` function, which is the spread a recipe shows across the ways a
student may seed it. Every ``fit_*`` call also prints its CPU and wall seconds (the checks' time
limit counts CPU seconds, one thread).

The final table has one row per recipe and measured check of the exercises the recipe replaces
(all of them for the reference; plus the pass/fail checks ``--checks`` names, and any check that
lost credit on some draw): the minimum and median credit, the worst and median metric across
draws, and the margin of the worst draw to the full-credit threshold (positive: full credit with
that much to spare). Metric and threshold are read from the check's message, which states both.
``--recipes '/tmp/broken/*.py'`` (a glob with a ``/``) grades files kept elsewhere, such as
broken variants that must lose credit.
"""

from __future__ import annotations

import argparse
import ast
import glob
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission
from grader.results import CheckResult

REPO = Path(__file__).resolve().parent.parent

# What the graded checks' messages say: "exactitud 0.972", "exactitud 97.3%", "RMSE 0.324",
# "MSE 0.01234"; and the full-credit threshold: "completa desde 0.90", "puntaje completo con 95 %".
_NUMBER = r"(\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*(%?)"
_METRIC = re.compile(rf"\b(exactitud|RMSE|MSE) {_NUMBER}")
_FULL = re.compile(rf"complet[ao] (?:desde|con) {_NUMBER}")
_LOWER_IS_BETTER = {"RMSE", "MSE"}
_TIMING = re.compile(r"\[calibrate\] (\w+): cpu ([\d.]+) s, wall ([\d.]+) s")

# Appended after the recipe: times every fit_* function and, with --shift-seeds, moves its seed.
_SHIM = '''

# --- benchmarks/calibrate.py: tiempo de cada fit_* y semilla + {shift} ---
def _calibrate_timed(fit, shift):
    import functools
    import time

    @functools.wraps(fit)
    def timed(*args, seed=0, **kwargs):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return fit(*args, seed=seed + shift, **kwargs)
        finally:
            print(f"[calibrate] {{fit.__name__}}: cpu {{time.process_time() - cpu:.2f}} s, "
                  f"wall {{time.perf_counter() - wall:.2f}} s")

    return timed

'''


def _number(value: str, percent: str) -> float:
    return float(value) / 100 if percent else float(value)


@dataclass
class Measure:
    """One check of one recipe on one draw."""

    credit: float
    metric: float | None = None
    full: float | None = None
    """The metric's full-credit threshold, as the message states it."""
    lower_is_better: bool = False
    status: str = "PASS"
    duration_s: float = 0.0

    @property
    def margin(self) -> float | None:
        """How far the metric is past the full-credit threshold (negative: short of it)."""
        if self.metric is None or self.full is None:
            return None
        return self.full - self.metric if self.lower_is_better else self.metric - self.full


def measure(check: CheckResult) -> Measure:
    found = Measure(credit=check.credit if check.status.value in ("PASS", "PARTIAL") else 0.0,
                    status=check.status.value, duration_s=check.duration_s)
    metric, full = _METRIC.search(check.message), _FULL.search(check.message)
    if metric:
        found.metric = _number(metric[2], metric[3])
        found.lower_is_better = metric[1] in _LOWER_IS_BETTER
    if full:
        found.full = _number(full[1], full[2])
    return found


@dataclass
class Recipe:
    name: str
    exercises: set[str] | None = None
    """The exercises whose functions the recipe replaces; None for the reference (all)."""
    walls: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    checks: dict[str, list[Measure]] = field(default_factory=dict)
    exercise_of: dict[str, str] = field(default_factory=dict)
    fits: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """``fit_*`` name: (CPU s, wall s) of each call, from the shim's output."""


def replaced_exercises(recipe: Path, exercises: dict[str, str]) -> set[str]:
    """The exercises of the names ``recipe`` defines at top level (``exercises``: name to
    exercise)."""
    tree = ast.parse(recipe.read_text(encoding="utf-8"))
    names = {node.name for node in tree.body
             if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    return {exercises[name] for name in names if name in exercises}


def source_of(reference: str, recipe: Path | None, fits: list[str], shift: int) -> str:
    source = reference if recipe is None else (
        f"{reference}\n\n# --- receta {recipe.name} ---\n{recipe.read_text(encoding='utf-8')}")
    if not fits:
        return source
    wrapped = "".join(f"{name} = _calibrate_timed({name}, {shift})\n" for name in fits)
    return source + _SHIM.format(shift=shift) + wrapped


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _margin(values: list[Measure]) -> str:
    margins = [m.margin for m in values]
    if any(m is None for m in margins):
        return "-"
    worst = min(margins)  # type: ignore[type-var]
    full = values[0].full or 1.0
    return f"{worst:+.4g} ({100 * worst / full:+.1f} %)"


def print_table(recipes: list[Recipe], exercise_of: dict[str, str],
                extra: re.Pattern[str] | None) -> None:
    print("\nrecipe x check over draws (a recipe: the checks of the exercises it replaces): credit "
          "min/median, metric worst/median, margin of the worst draw to full credit, check's "
          "longest run")
    rows = []
    for recipe in recipes:
        for check, values in recipe.checks.items():
            measured = any(m.metric is not None for m in values)
            lost = any(m.credit < 1.0 for m in values)
            own = recipe.exercises is None or recipe.exercise_of[check] in recipe.exercises
            if lost or (own and (measured or (extra and extra.search(check)))):
                rows.append((recipe, check, values))
    width = max([len(check) for _, check, _ in rows] + [5])
    named = max(len(recipe.name) for recipe in recipes)
    header = (f"{'recipe':{named}s} {'check':{width}s} {'credit':>11s} {'metric':>17s} {'full at':>8s} "
              f"{'margin':>20s} {'s':>5s}")
    print(header)
    print("-" * len(header))
    for recipe, check, values in rows:
        credits = [m.credit for m in values]
        metrics = [m.metric for m in values if m.metric is not None]
        worst = (max(metrics) if values[0].lower_is_better else min(metrics)) if metrics else None
        metric = f"{_fmt(worst)}/{_fmt(statistics.median(metrics))}" if metrics else "-"
        print(f"{recipe.name:{named}s} {check:{width}s} {min(credits):5.2f}/"
              f"{statistics.median(credits):5.2f} {metric:>17s} {_fmt(values[0].full):>8s} "
              f"{_margin(values):>20s} {max(m.duration_s for m in values):5.1f}")
    print("\nrecipe: wall s per graded file (min/median), its fit_* CPU/wall s per call (max)")
    for recipe in recipes:
        fits = ", ".join(
            f"{name} cpu {max(c for c, _ in calls):.1f} wall {max(w for _, w in calls):.1f}"
            for name, calls in recipe.fits.items()
            if recipe.exercises is None or exercise_of[name] in recipe.exercises)
        print(f"  {recipe.name:{named}s} {min(recipe.walls):6.1f}/{statistics.median(recipe.walls):6.1f}"
              f"  score min {min(recipe.scores):.2f}  {fits}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tp")
    parser.add_argument("--recipes", default="*.py",
                        help="glob in the TP's recipes folder, or a path glob with a '/' (a broken "
                             "variant kept elsewhere, to see that it loses credit)")
    parser.add_argument("--backend", default="subprocess")
    parser.add_argument("--students", type=int, default=1,
                        help="draws per recipe, each as another student (default 1)")
    parser.add_argument("--shift-seeds", action="store_true",
                        help="draw k passes seed + k to every fit_* function")
    parser.add_argument("--checks", default=None,
                        help="regex of further checks for the table (pass/fail ones: no metric)")
    args = parser.parse_args()
    course = load_course(REPO / "course.toml")
    entry = course.tp(args.tp)
    assignment = load_assignment(entry.assignment)
    assert entry.reference is not None
    reference = (entry.reference / f"{assignment.module}.py").read_text(encoding="utf-8")
    fits = sorted({name for exercise in assignment.exercises for name in exercise.functions
                   if name.startswith("fit_")})
    exercise_of = {name: exercise.name for exercise in assignment.exercises
                   for name in exercise.functions}
    limits = course.limits_for(assignment, threads=1)
    recipes = (sorted(Path(p) for p in glob.glob(args.recipes)) if "/" in args.recipes
               else sorted((entry.reference / "recipes").glob(args.recipes)))
    print(f"{args.tp}: {len(recipes)} recipes x {args.students} draws, backend {args.backend}"
          f"{', seeds shifted per draw' if args.shift_seeds else ''}")
    table: list[Recipe] = []
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in [None, *recipes]:
            row = Recipe("reference" if recipe is None else recipe.stem,
                         None if recipe is None else replaced_exercises(recipe, exercise_of))
            table.append(row)
            for draw in range(args.students):
                shift = draw if args.shift_seeds else 0
                path = Path(tmp) / f"{row.name}.py"
                path.write_text(source_of(reference, recipe, fits, shift), encoding="utf-8")
                started = time.perf_counter()
                result = grade_submission(course, args.tp, path, student=f"calibrate-{draw}",
                                          backend=args.backend, limits=limits)
                wall = time.perf_counter() - started
                row.walls.append(wall)
                row.scores.append(result.score)
                print(f"\n{row.name} [draw {draw}{f', seed +{shift}' if shift else ''}]: "
                      f"{result.score:.2f}/10 in {wall:.0f} s"
                      f"{' - ' + result.load_error[:200] if result.load_error else ''}")
                for check in result.checks:
                    row.checks.setdefault(check.id, []).append(measure(check))
                    row.exercise_of[check.id] = check.exercise
                    for name, cpu, fit_wall in _TIMING.findall(check.output):
                        row.fits.setdefault(name, []).append((float(cpu), float(fit_wall)))
                    # Measured credit always says its metric; other checks only when they failed.
                    if check.message or check.status.value != "PASS":
                        print(f"  {check.status.value:8s} credit {check.credit:.2f} "
                              f"{check.duration_s:5.1f} s  {check.id}: {check.message[:170]}")
    print_table(table, exercise_of, re.compile(args.checks) if args.checks else None)


if __name__ == "__main__":
    main()
