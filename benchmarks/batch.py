"""Where a batch's time goes: the floor, the sandbox's overhead, parallelism, `grader check`.

For a synthetic class of N correct submissions per TP (copies of the reference solution, each
with its own student name), prints:

- the floor: the checks' own computation (student calls plus reference computations), measured
  in one warm process with no sandbox (``grade_submission(..., backend="inprocess")``);
- for each backend, with ``--jobs 1`` and ``--jobs 2``: the batch's wall time (``grader grade``
  as an instructor runs it), per submission, and its ratio to the floor;
- the per-submission overhead split into worker start (interpreter + imports + the module's
  import), transport (round trips minus the worker's own run time) and everything else;
- the speed-up from ``--jobs 1`` to ``--jobs 2``;
- ``grader check TP`` latency on one submission, from a released bundle, as a student runs it;
- the peak memory of the trusted grading process and of one worker.

    python benchmarks/batch.py --n 8 [--tps tp1] [--backends subprocess,docker] [--check-runs 3]

Targets (issue 9, this 2-core machine, subprocess, TP1): batch wall within 1.5x the floor plus
0.3 s per submission; ``--jobs 2`` at least 1.7x faster than ``--jobs 1``; ``grader check tp1``
under 2 s; docker under 1.5 s per submission over subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission

REPO = Path(__file__).resolve().parent.parent


def synthetic_class(folder: Path, reference: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    source = reference.read_text(encoding="utf-8")
    files = []
    for i in range(n):
        path = folder / f"s{i + 1:03d}{reference.suffix}"
        path.write_text(f"# estudiante s{i + 1:03d}\n{source}", encoding="utf-8")
        files.append(path)
    return files


def floor_seconds(course_file: Path, tp: str, files: list[Path]) -> float:
    """Sum over the class of the checks' own time, in one warm process without a sandbox."""
    course = load_course(course_file)
    grade_submission(course, tp, files[0], student="calentamiento", backend="inprocess")
    total = 0.0
    for path in files:
        result = grade_submission(course, tp, path, student=path.stem, backend="inprocess")
        total += sum(c.duration_s for c in result.checks)
    return total


def run_batch(tp: str, folder: Path, out: Path, backend: str, jobs: int) -> tuple[float, list[dict]]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", tp, str(folder), "--out", str(out),
         "--jobs", str(jobs), "--backend", backend], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"grader grade falló ({backend}, --jobs {jobs}):\n{run.stdout}{run.stderr}")
    found = [json.loads(p.read_text()) for p in sorted((out / tp).glob("*.json"))]
    return wall, found


def overhead(found: list[dict]) -> dict[str, float]:
    """Mean per submission: worker start, transport, time in checks, total, peak memory."""
    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    timing = [r["environment"].get("timing", {}) for r in found]
    return {
        "start": mean([t.get("start_s", 0.0) + t.get("import_s", 0.0) for t in timing]),
        "transport": mean([t.get("transport_s", 0.0) for t in timing]),
        "requests": mean([t.get("requests", 0) for t in timing]),
        "in_checks": mean([sum(c["duration_s"] for c in r["checks"]) for r in found]),
        "duration": mean([r["duration_s"] for r in found]),
        "worker_rss": max([t.get("peak_rss_mb", 0) for t in timing] or [0]),
        "trusted_rss": max([r["environment"].get("trusted_peak_rss_mb", 0) for r in found] or [0]),
    }


def check_latency(tp: str, reference: Path, runs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        bundle = Path(tmp) / "bundle"
        subprocess.run([sys.executable, "-m", "grader.cli", "release", tp, "--out", str(bundle)],
                       cwd=REPO, check=True, capture_output=True)
        target = bundle / reference.name
        shutil.copyfile(reference, target)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader.cli", "check", tp, str(target)],
                           cwd=bundle, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="submissions per TP")
    parser.add_argument("--tps", default="tp1")
    parser.add_argument("--backends", default="subprocess,docker")
    parser.add_argument("--check-runs", type=int, default=3)
    args = parser.parse_args()
    course_file = REPO / "course.toml"
    course = load_course(course_file)
    print(f"máquina: {os.cpu_count()} núcleos; N = {args.n} entregas correctas por TP")
    for tp in args.tps.split(","):
        entry = course.tp(tp)
        assignment = load_assignment(entry.assignment)
        assert entry.reference is not None
        reference = entry.reference / f"{assignment.module}.py"
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            files = synthetic_class(Path(tmp) / "class", reference, args.n)
            floor = floor_seconds(course_file, tp, files)
            print(f"\n== {tp} ==\npiso (cómputo de las comprobaciones, sin sandbox): "
                  f"{floor:.2f} s en total, {floor / args.n:.2f} s por entrega")
            walls: dict[tuple[str, int], float] = {}
            for backend in args.backends.split(","):
                for jobs in (1, 2):
                    wall, found = run_batch(tp, Path(tmp) / "class", Path(tmp) / "out", backend, jobs)
                    walls[backend, jobs] = wall
                    split = overhead(found)
                    ideal = floor / jobs
                    target = 1.5 * ideal + 0.3 * args.n / jobs
                    per = wall / args.n
                    # Per submission, one slot's view: the checks' own computation (the floor),
                    # moving data, starting the worker, and everything else (pytest, proxies,
                    # writing results, the warm process's first imports amortised over the batch).
                    floor_per = floor / args.n
                    rest = per * jobs - floor_per - split["transport"] - split["start"]
                    print(f"{backend:>10} --jobs {jobs}: {wall:6.2f} s ({per:.2f} s/entrega), "
                          f"{wall / ideal:.2f}x el piso; objetivo <= {target:.2f} s "
                          f"[{'ok' if wall <= target else 'NO'}]")
                    print(f"{'':>12}por entrega y por trabajo: {per * jobs:.2f} s = piso "
                          f"{floor_per:.2f} s + transporte {split['transport']:.2f} s "
                          f"({split['requests']:.0f} pedidos) + arranque del worker "
                          f"{split['start']:.2f} s + el resto {rest:.2f} s (comprobaciones en el "
                          f"sandbox: {split['in_checks']:.2f} s)")
                    print(f"{'':>12}memoria pico: proceso de confianza {split['trusted_rss']:.0f} MiB, "
                          f"worker {split['worker_rss']:.0f} MiB")
                speedup = walls[backend, 1] / walls[backend, 2]
                print(f"{'':>12}--jobs 2 es {speedup:.2f}x más rápido que --jobs 1 "
                      f"[{'ok' if speedup >= 1.7 else 'NO'}, objetivo >= 1.7x]")
            if "subprocess" in args.backends and "docker" in args.backends:
                extra = (walls["docker", 1] - walls["subprocess", 1]) / args.n
                print(f"docker agrega {extra:.2f} s por entrega sobre subprocess (--jobs 1) "
                      f"[{'ok' if extra < 1.5 else 'NO'}, objetivo < 1.5 s]")
            latency = check_latency(tp, reference, args.check_runs)
            print(f"grader check {tp} (paquete publicado, una entrega): {latency:.2f} s "
                  f"[{'ok' if latency < 2 else 'NO'}, objetivo < 2 s]")


if __name__ == "__main__":
    main()
