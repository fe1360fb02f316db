"""``benchmarks/batch.py`` runs from a clone and reports every figure and target of issue 23 in one
run: here on the mini course, two submissions, with a Docker that cannot be reached."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_batch_benchmark_reports_each_figure_and_a_verdict_per_target(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-hay-daemon.sock"}
    run = subprocess.run(
        [sys.executable, "benchmarks/batch.py", "--n", "2", "--tps", "tp1",
         "--backends", "subprocess,docker", "--check-runs", "0",
         "--course", str(REPO / "tests" / "fixtures" / "mini_course" / "course.toml")],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert re.search(r"carga antes: \d+\.\d\d", out) and "carga después:" in out
    assert re.search(r"en proceso \(sin sandbox, un proceso tibio\): \d+\.\d+ s por entrega; "
                     r"piso \(dentro de las comprobaciones\): \d+\.\d+ s", out)
    for jobs in (1, 2):
        assert re.search(rf"subprocess --jobs {jobs}: +\d+\.\d+ s .*primer resultado a los", out)
    assert re.search(r"por entrega: requests \d+", out)
    assert re.search(r"--jobs 1 / en proceso: \d+\.\d\d", out)
    assert re.search(r"--jobs 1 / --jobs 2: \d+\.\d\d", out)
    assert re.search(r"en régimen \(después del primero\) \d+\.\d+ s/entrega", out)
    assert re.search(r"en régimen: --jobs 1 / en proceso \d+\.\d\d, --jobs 1 / --jobs 2 "
                     r"\d+\.\d\d \(arranque fijo del lote \d+\.\d\d s", out)
    assert "docker: no disponible (" in out, "an unreachable daemon is said, and the run goes on"
    targets = out.split("objetivos:\n", 1)[1].splitlines()
    assert [re.sub(r": (no cumple|cumple)(?=;|$)", ": X", t.strip()) for t in targets] == [
        "tp1 subprocess --jobs 1 <= 1.3x en proceso: X",
        "tp1 subprocess --jobs 2 >= 1.8x más rápido que --jobs 1: X",
        "tp1 subprocess en régimen: --jobs 1 <= 1.3x en proceso: X; --jobs 2 >= 1.8x: X",
        "tp1 subprocess < 150 pedidos por entrega: X",
        "tp1 docker: sin datos (docker no disponible)",
    ]
