"""What a submission that keeps failing the same way costs (issue 19), on TP1 with the course's
limits: the reference padded to 50 MB, the reference whose ``linear_forward`` spins ignoring
signals, and one whose import allocates past the memory limit.

    python benchmarks/failing_submissions.py [--backend subprocess|docker] [--cases a,b] [--retries N]

Prints, per case: wall time, score, worker restarts, how many checks ran or were not retried,
and the message a student reads. Issue 19 measured on main at 8a2dead: the padded file 637.5 s
(0/10, 45 restarts); a docker batch of 13 hostile submissions 644 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections import Counter
from pathlib import Path

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission
from grader.output.stafflog import time_spent

REPO = Path(__file__).resolve().parent.parent
SPIN = ('import signal\nfor _s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):\n'
        '    signal.signal(_s, signal.SIG_IGN)\n'
        'def linear_forward(x, W, b):\n    while True:\n        pass\n')


def cases(reference: str) -> dict[str, str]:
    return {
        "padded_50mb": reference + "# " + "x" * (50 * 2**20) + "\n",
        "linear_spins": reference + "\n" + SPIN,
        "import_memory": reference + "\nblob = bytearray(64 * 2**30)\n",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="subprocess")
    parser.add_argument("--cases", default="padded_50mb,linear_spins,import_memory")
    parser.add_argument("--retries", type=int, default=None,
                        help="override retries_per_function (a large number: as before issue 19)")
    args = parser.parse_args()
    course = load_course(REPO / "course.toml")
    assignment = load_assignment(course.tp("tp1").assignment)
    limits = course.limits_for(assignment, threads=1)
    if args.retries is not None:
        limits = dataclasses.replace(limits, retries_per_function=args.retries)
    reference = (REPO / "reference_solutions" / "tp1" / "tp1.py").read_text()
    print(f"TP1 with {args.backend}: call_timeout_s={limits.call_timeout_s:g}, "
          f"submission_timeout_s={limits.submission_timeout_s:g}, "
          f"retries_per_function={limits.retries_per_function}, "
          f"max_submission_mb={limits.max_submission_mb:g}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in cases(reference).items():
            if name not in args.cases.split(","):
                continue
            path = Path(tmp) / f"{name}.py"
            path.write_text(source)
            started = time.perf_counter()
            result = grade_submission(course, "tp1", path, student=name, backend=args.backend,
                                      limits=limits)
            wall = time.perf_counter() - started
            statuses = Counter(c.status.value for c in result.checks)
            not_retried = sum(c.message.startswith("no se volvió a llamar") for c in result.checks)
            print(f"{name:14s} {wall:7.1f} s  {result.score:5.2f}/10  restarts "
                  f"{result.environment.get('worker_restarts', 0):3d}  checks {dict(statuses)}  "
                  f"not retried {not_retried}")
            print(f"{'':14s} {(result.load_error or 'sin error de carga')[:150]}")
            for line in time_spent(result)[:2]:
                print(f"{'':14s} {line}")


if __name__ == "__main__":
    main()
