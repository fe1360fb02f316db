"""Wall time to grade one correct submission of each TP with all its checks (public + hidden).

Grades the course's reference solution as if it were a student's file, through the same
``grade_submission`` a batch uses (sandboxed worker, one BLAS/torch thread per worker), and
prints the total, the time inside checks and the slowest checks.

    python benchmarks/grade_time.py [--tps tp1,tp2,tp3] [--backend subprocess|docker]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tps", default="tp1,tp2,tp3")
    parser.add_argument("--backend", default="subprocess")
    args = parser.parse_args()
    course = load_course(REPO / "course.toml")
    for tp in args.tps.split(","):
        entry = course.tp(tp)
        assignment = load_assignment(entry.assignment)
        assert entry.reference is not None
        file = entry.reference / f"{assignment.module}.py"
        limits = course.limits_for(assignment, threads=1)
        started = time.perf_counter()
        result = grade_submission(course, tp, file, student="referencia", backend=args.backend,
                                  limits=limits)
        total = time.perf_counter() - started
        in_checks = sum(c.duration_s for c in result.checks)
        slowest = sorted(result.checks, key=lambda c: c.duration_s, reverse=True)[:3]
        print(f"{tp}: {result.score:.2f}/10, {len(result.checks)} checks, {total:.1f} s total "
              f"({in_checks:.1f} s in checks) with {args.backend}")
        for check in slowest:
            print(f"    {check.duration_s:6.2f} s  {check.id}")


if __name__ == "__main__":
    main()
