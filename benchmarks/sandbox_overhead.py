"""Per-worker overhead of each sandbox backend: start, import, one call, teardown.

Prints, for the ``subprocess`` and ``docker`` backends, the median and max over ``--runs``
workers of: container/process start up to the worker's first answer, importing a small numpy
module, one round trip with a 1000x1000 float64 array, and closing (for docker: kill, inspect,
remove). "total" is what one submission pays beyond its checks' own computation.

    python benchmarks/sandbox_overhead.py --runs 10 [--backends subprocess,docker]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from grader.engine.session import Session
from grader.sandbox.base import Limits

MODULE = "import numpy as np\n\ndef echo(x):\n    return x\n"


def make_backend(name: str):
    if name == "docker":
        from grader.sandbox.docker import DockerBackend

        return DockerBackend()
    from grader.sandbox.subprocess import SubprocessBackend

    return SubprocessBackend()


def measure(name: str, runs: int, module: Path) -> dict[str, list[float]]:
    backend = make_backend(name)
    payload = np.random.default_rng(0).normal(size=(1000, 1000))
    phases: dict[str, list[float]] = {"start": [], "import": [], "call 8 MB": [], "close": [],
                                      "total": []}
    for _ in range(runs):
        session = Session(backend, module, "bench", Limits(call_timeout_s=60))
        t0 = time.perf_counter()
        session._start()
        t1 = time.perf_counter()
        student = session.module()
        t2 = time.perf_counter()
        student.echo(payload)
        t3 = time.perf_counter()
        session.close()
        t4 = time.perf_counter()
        for key, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
            phases[key].append(value)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backends", default="subprocess,docker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "bench.py"
        module.write_text(MODULE)
        results = {name: measure(name, args.runs, module) for name in args.backends.split(",")}
    print(f"{'backend':<11} {'phase':<10} {'median s':>9} {'max s':>8}   ({args.runs} workers)")
    for name, phases in results.items():
        for phase, values in phases.items():
            print(f"{name:<11} {phase:<10} {statistics.median(values):9.3f} {max(values):8.3f}")
    if {"subprocess", "docker"} <= set(results):
        extra = (statistics.median(results["docker"]["total"])
                 - statistics.median(results["subprocess"]["total"]))
        print(f"docker overhead over subprocess per worker: {extra:.3f} s (median)")


if __name__ == "__main__":
    main()
