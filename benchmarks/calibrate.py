"""Calibration of the checks judged by a threshold (issue 17): each independent recipe of a TP
(``reference_solutions/TP/recipes/*.py``) is graded as a student's file with the TP's public and
hidden checks, through the same sandbox a batch uses, and every check that awards measured credit
(``credit.award``: RMSE, accuracy, MSE) prints its credit and message (the metric and the
thresholds). A threshold is calibrated when every recipe gets full credit with margin.

    python benchmarks/calibrate.py tp2 [--recipes PATTERN] [--backend subprocess|docker]

A recipe replaces some functions of the reference: the file graded is the reference followed by
the recipe, so the recipe's definitions win and everything else stays correct.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tp")
    parser.add_argument("--recipes", default="*.py")
    parser.add_argument("--backend", default="subprocess")
    args = parser.parse_args()
    course = load_course(REPO / "course.toml")
    entry = course.tp(args.tp)
    assignment = load_assignment(entry.assignment)
    assert entry.reference is not None
    reference = (entry.reference / f"{assignment.module}.py").read_text(encoding="utf-8")
    limits = course.limits_for(assignment, threads=1)
    recipes = sorted((entry.reference / "recipes").glob(args.recipes))
    print(f"{args.tp}: {len(recipes)} recipes, backend {args.backend}")
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in [None, *recipes]:
            name = "reference" if recipe is None else recipe.stem
            source = reference if recipe is None else (
                f"{reference}\n\n# --- receta {recipe.name} ---\n{recipe.read_text()}")
            path = Path(tmp) / f"{name}.py"
            path.write_text(source, encoding="utf-8")
            started = time.perf_counter()
            result = grade_submission(course, args.tp, path, student=name, backend=args.backend,
                                      limits=limits)
            wall = time.perf_counter() - started
            print(f"\n{name}: {result.score:.2f}/10 in {wall:.0f} s")
            for check in result.checks:
                # Measured credit always says its metric; other checks only when they failed.
                if check.message or check.status.value != "PASS":
                    print(f"  {check.status.value:8s} credit {check.credit:.2f} "
                          f"{check.duration_s:5.1f} s  {check.id}: {check.message[:170]}")


if __name__ == "__main__":
    main()
