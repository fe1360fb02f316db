"""Where a batch's time goes: in process, in the sandbox, in parallel, and `grader check`.

For a synthetic class of N correct submissions per TP (copies of the reference solution, each
with its own student name), prints in one run:

- in process: the same checks in one warm process with no sandbox
  (``grade_submission(..., backend="inprocess")``, after one warm-up submission): the wall per
  submission, and the floor, the time inside the checks (student calls plus reference
  computations);
- for each backend (``--backends``), with ``--jobs 1`` and ``--jobs 2``: the batch's wall time
  (``grader grade`` as an instructor runs it), per submission, when its first result was written,
  the requests to the worker per submission (``environment["timing"]``), and the per-submission
  overhead split into worker start, transport and everything else. Docker only where its daemon
  and image are usable; otherwise it says why and goes on;
- the ratios the targets are about: ``--jobs 1`` over the in-process wall, and ``--jobs 1`` over
  ``--jobs 2``; and the same ratios in steady state, from the first result to the last (the
  batch's fixed start, a process with torch and the checks collected, is paid before its first
  result and weighs on both ratios at N = 8);
- ``grader check TP`` latency on one submission, from a released bundle (``--check-runs 0``: not);
- the load average before and after, with a warning when the machine was not quiet (ratios from
  a loaded machine say little), and one final line per target: ``cumple`` or ``no cumple``.

    python benchmarks/batch.py --n 8 [--tps tp1] [--backends subprocess,docker] [--check-runs 3]

Targets (issue 23, a quiet 2-core machine, TP1): ``--jobs 1`` within 1.3x the in-process wall;
``--jobs 2`` at least 1.8x faster than ``--jobs 1``; under 150 requests per submission. Kept from
issue 9: ``grader check tp1`` under 2 s. It always exits 0: it is a measurement, not a test.
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
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import load_assignment, load_course
from grader.engine.grade import grade_submission
from grader.errors import GraderError

REPO = Path(__file__).resolve().parent.parent
QUIET_LOAD = 0.5
"""A one-minute load average above this before a run means the machine was not quiet."""
KNOWN_TIMING = {"start_s", "import_s", "transport_s", "requests", "peak_rss_mb"}
"""``environment["timing"]`` keys this script splits itself; any other is printed as it is."""
TARGETS = {"jobs1_over_inprocess": 1.3, "jobs1_over_jobs2": 1.8, "requests": 150,
           "check_s": 2.0}


@dataclass
class Batch:
    """One ``grader grade`` run: its wall, when its first result appeared, its results."""

    wall: float
    first_s: float
    last_s: float
    found: list[dict] = field(default_factory=list)

    def steady(self) -> float | None:
        """Seconds per submission once the first result is in (``None`` with one result):
        the batch without its fixed start, comparable to a warm process."""
        count = len(self.found)
        return (self.last_s - self.first_s) / (count - 1) if count > 1 else None


def synthetic_class(folder: Path, reference: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    source = reference.read_text(encoding="utf-8")
    files = []
    for i in range(n):
        path = folder / f"s{i + 1:03d}{reference.suffix}"
        path.write_text(f"# estudiante s{i + 1:03d}\n{source}", encoding="utf-8")
        files.append(path)
    return files


def in_process(course_file: Path, tp: str, files: list[Path]) -> tuple[float, float]:
    """Wall and floor (time inside checks) per submission, in one warm process with no sandbox,
    with as many BLAS threads as a ``--jobs 1`` worker gets."""
    course = load_course(course_file)
    limits = course.limits_for(load_assignment(course.tp(tp).assignment),
                               threads=os.cpu_count() or 1)
    grade_submission(course, tp, files[0], student="calentamiento", backend="inprocess",
                     limits=limits)
    floor = 0.0
    started = time.perf_counter()
    for path in files:
        result = grade_submission(course, tp, path, student=path.stem, backend="inprocess",
                                  limits=limits)
        floor += sum(c.duration_s for c in result.checks)
    return (time.perf_counter() - started) / len(files), floor / len(files)


def unavailable(backend: str) -> str:
    """Why ``backend`` cannot grade on this machine (empty when it can): the batch's own check."""
    if backend == "docker" and shutil.which("docker") is None:
        return "no está instalado"
    if backend == "docker" and subprocess.run(["docker", "info"], capture_output=True,
                                              timeout=30).returncode != 0:
        return "el daemon no responde ('docker info' falla)"
    try:
        from grader.sandbox import registry

        registry.preflight(backend)
    except (GraderError, OSError, subprocess.SubprocessError) as exc:
        return str(exc).splitlines()[0]
    return ""


def run_batch(course_file: Path, tp: str, folder: Path, out: Path, backend: str,
              jobs: int) -> Batch | str:
    """Runs ``grader grade``; returns what it took, or why it failed."""
    shutil.rmtree(out, ignore_errors=True)
    started, started_ns = time.perf_counter(), time.time_ns()
    run = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", tp, str(folder), "--out", str(out),
         "--jobs", str(jobs), "--backend", backend, "--course", str(course_file)],
        cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    paths = sorted((out / tp).glob("*.json"))
    if run.returncode != 0 or not paths:
        tail = " | ".join((run.stdout + run.stderr).strip().splitlines()[-3:])
        return f"grader grade terminó con código {run.returncode}: {tail}"
    stamps = [p.stat().st_mtime_ns for p in paths]
    return Batch(wall, (min(stamps) - started_ns) / 1e9, (max(stamps) - started_ns) / 1e9,
                 [json.loads(p.read_text()) for p in paths])


def overhead(found: list[dict]) -> dict[str, float]:
    """Mean per submission: worker start, transport, requests, time in checks, peak memory."""
    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    timing = [r["environment"].get("timing", {}) for r in found]
    return {
        "start": mean([t.get("start_s", 0.0) + t.get("import_s", 0.0) for t in timing]),
        "transport": mean([t.get("transport_s", 0.0) for t in timing]),
        "in_checks": mean([sum(c["duration_s"] for c in r["checks"]) for r in found]),
        "worker_rss": max([t.get("peak_rss_mb", 0) for t in timing] or [0]),
        "trusted_rss": max([r["environment"].get("trusted_peak_rss_mb", 0) for r in found] or [0]),
    }


def counters(found: list[dict]) -> str:
    """Requests to the worker per submission, and any other counter the session records (a
    batched call's count, issue 23), as means; ``n/a`` where results do not carry them."""
    timing = [r["environment"].get("timing", {}) for r in found]
    names = sorted({k for t in timing for k, v in t.items()
                    if k not in KNOWN_TIMING - {"requests"} and isinstance(v, (int, float))})
    if not names:
        return "pedidos al worker por entrega: n/a"
    shown = [f"{k} {statistics.fmean(t.get(k, 0) for t in timing):.0f}" for k in names]
    return "por entrega: " + ", ".join(shown)


def requests_per_submission(found: list[dict]) -> float | None:
    timing = [r["environment"].get("timing", {}) for r in found]
    if not timing or any("requests" not in t for t in timing):
        return None
    return statistics.fmean(t["requests"] for t in timing)


def check_latency(tp: str, reference: Path, runs: int, course_file: Path) -> float | str:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        bundle = Path(tmp) / "bundle"
        release = subprocess.run(
            [sys.executable, "-m", "grader.cli", "release", tp, "--out", str(bundle),
             "--course", str(course_file)], cwd=REPO, capture_output=True, text=True)
        if release.returncode != 0:
            return f"grader release falló: {release.stderr.strip().splitlines()[-1:]}"
        target = bundle / reference.name
        shutil.copyfile(reference, target)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader.cli", "check", tp, str(target)],
                           cwd=bundle, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def verdict(ok: bool | None) -> str:
    return "sin datos" if ok is None else "cumple" if ok else "no cumple"


def load() -> float:
    return os.getloadavg()[0]


def bench_tp(course_file: Path, tp: str, args: argparse.Namespace,
             backends: dict[str, str], finals: list[str]) -> None:
    """Measures one TP and appends its target lines to ``finals``."""
    course = load_course(course_file)
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    assert entry.reference is not None
    reference = entry.reference / f"{assignment.module}.py"
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        files = synthetic_class(Path(tmp) / "class", reference, args.n)
        wall_in, floor = in_process(course_file, tp, files)
        print(f"\n== {tp} ==\nen proceso (sin sandbox, un proceso tibio): {wall_in:.3f} s por "
              f"entrega; piso (dentro de las comprobaciones): {floor:.3f} s")
        walls: dict[str, dict[int, Batch]] = {}
        for backend, why in backends.items():
            if why:
                print(f"{backend}: no disponible ({why})")
                finals.append(f"{tp} {backend}: sin datos ({backend} no disponible)")
                continue
            batches: dict[int, Batch] = {}
            walls[backend] = batches
            for jobs in (1, 2):
                batch = run_batch(course_file, tp, Path(tmp) / "class", Path(tmp) / "out",
                                  backend, jobs)
                if isinstance(batch, str):
                    print(f"{backend:>10} --jobs {jobs}: falló ({batch})")
                    continue
                batches[jobs] = batch
                per = batch.wall / args.n
                split = overhead(batch.found)
                # One slot's view of a submission: the floor, moving data, starting the worker,
                # and the rest (pytest, proxies, results, the warm process's start amortised).
                rest = per * jobs - floor - split["transport"] - split["start"]
                steady = batch.steady()
                print(f"{backend:>10} --jobs {jobs}: {batch.wall:6.2f} s ({per:.3f} s/entrega, "
                      f"{per / wall_in:.2f}x en proceso); primer resultado a los "
                      f"{batch.first_s:.2f} s" + ("" if steady is None else
                                                 f"; en régimen (después del primero) "
                                                 f"{steady:.3f} s/entrega, "
                                                 f"{steady / wall_in:.2f}x en proceso"))
                print(f"{'':>12}por entrega y por trabajo: {per * jobs:.3f} s = piso {floor:.3f} s"
                      f" + transporte {split['transport']:.3f} s + arranque del worker "
                      f"{split['start']:.3f} s + el resto {rest:.3f} s (comprobaciones en el "
                      f"sandbox: {split['in_checks']:.3f} s)")
                print(f"{'':>12}{counters(batch.found)}; memoria pico: proceso de confianza "
                      f"{split['trusted_rss']:.0f} MiB, worker {split['worker_rss']:.0f} MiB")
            one, two = batches.get(1), batches.get(2)
            ratio = one.wall / args.n / wall_in if one else None
            speedup = one.wall / two.wall if one and two else None
            requests = requests_per_submission(one.found) if one else None
            if ratio is not None:
                print(f"{'':>12}--jobs 1 / en proceso: {ratio:.2f} (objetivo <= "
                      f"{TARGETS['jobs1_over_inprocess']})")
            if speedup is not None:
                print(f"{'':>12}--jobs 1 / --jobs 2: {speedup:.2f} (objetivo >= "
                      f"{TARGETS['jobs1_over_jobs2']})")
            steady = [b.steady() if b else None for b in (one, two)]
            if steady[0] is not None and steady[1] is not None:
                # The start before the first result (a process, torch, the checks' collection)
                # is paid once per batch and per job slot at once: with N = 8 it weighs on both
                # ratios above; these leave it out.
                print(f"{'':>12}en régimen: --jobs 1 / en proceso {steady[0] / wall_in:.2f}, "
                      f"--jobs 1 / --jobs 2 {steady[0] / steady[1]:.2f} (arranque fijo del lote "
                      f"{one.first_s:.2f} s con --jobs 1)")
            finals.append(f"{tp} {backend} --jobs 1 <= {TARGETS['jobs1_over_inprocess']}x en "
                          f"proceso: " + verdict(None if ratio is None
                                                 else ratio <= TARGETS["jobs1_over_inprocess"]))
            finals.append(f"{tp} {backend} --jobs 2 >= {TARGETS['jobs1_over_jobs2']}x más rápido "
                          "que --jobs 1: " + verdict(None if speedup is None
                                                     else speedup >= TARGETS["jobs1_over_jobs2"]))
            steady_ratio = (None if steady[0] is None else steady[0] / wall_in)
            steady_speedup = (None if None in steady else steady[0] / steady[1])
            finals.append(f"{tp} {backend} en régimen: --jobs 1 <= "
                          f"{TARGETS['jobs1_over_inprocess']}x en proceso: " + verdict(
                              None if steady_ratio is None
                              else steady_ratio <= TARGETS["jobs1_over_inprocess"])
                          + f"; --jobs 2 >= {TARGETS['jobs1_over_jobs2']}x: " + verdict(
                              None if steady_speedup is None
                              else steady_speedup >= TARGETS["jobs1_over_jobs2"]))
            finals.append(f"{tp} {backend} < {TARGETS['requests']} pedidos por entrega: "
                          + verdict(None if requests is None else requests < TARGETS["requests"]))
        docker, sub = walls.get("docker", {}).get(1), walls.get("subprocess", {}).get(1)
        if docker and sub:
            print(f"docker agrega {(docker.wall - sub.wall) / args.n:.3f} s por entrega sobre "
                  "subprocess (--jobs 1)")
        if args.check_runs > 0:
            latency = check_latency(tp, reference, args.check_runs, course_file)
            if isinstance(latency, str):
                print(f"grader check {tp}: {latency}")
                finals.append(f"grader check {tp} < {TARGETS['check_s']:g} s: sin datos")
            else:
                print(f"grader check {tp} (paquete publicado, una entrega): {latency:.2f} s")
                finals.append(f"grader check {tp} < {TARGETS['check_s']:g} s: "
                              + verdict(latency < TARGETS["check_s"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="submissions per TP")
    parser.add_argument("--tps", default="tp1")
    parser.add_argument("--backends", default="subprocess,docker")
    parser.add_argument("--check-runs", type=int, default=3, help="0: no grader check latency")
    parser.add_argument("--course", type=Path, default=REPO / "course.toml")
    args = parser.parse_args()
    course_file = args.course.resolve()
    before = load()
    print(f"máquina: {os.cpu_count()} núcleos; N = {args.n} entregas correctas por TP; "
          f"carga antes: {before:.2f}")
    if before > QUIET_LOAD:
        print(f"ATENCIÓN: la máquina no está tranquila (carga {before:.2f} > {QUIET_LOAD}): "
              "los tiempos y las proporciones valen poco")
    backends = {name: unavailable(name) for name in args.backends.split(",")}
    finals: list[str] = []
    for tp in args.tps.split(","):
        try:
            bench_tp(course_file, tp, args, backends, finals)
        except Exception as exc:  # a benchmark reports what broke and goes on
            print(f"{tp}: no se pudo medir ({type(exc).__name__}: {exc})")
            finals.append(f"{tp}: sin datos")
    after = load()
    print(f"\ncarga después: {after:.2f} (incluye la de esta corrida)")
    if before > QUIET_LOAD:
        print(f"ATENCIÓN: la carga antes era {before:.2f}: no es una máquina tranquila")
    print("\nobjetivos:")
    for line in finals:
        print(f"  {line}")


if __name__ == "__main__":
    main()
