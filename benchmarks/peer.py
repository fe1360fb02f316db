"""nbgrader and this grader on the same 16 notebooks: time per submission and the verdicts (issue 23).

Builds a tiny assignment (``linear_forward`` and ``linear_backward`` in numpy, 5 hidden checks
of 1 point each) for both graders in a work folder, generates 16 student notebooks from it
(10 correct solutions written differently, 5 with a planted bug, 1 that replaces
``np.allclose``) and grades them with each, interleaved over several rounds (the order
alternates each round, so neither always runs on a warmer machine):

- nbgrader: a course directory with ``source/ps1/ps1.ipynb`` (solution regions and hidden
  tests), ``nbgrader generate_assignment ps1`` once, the notebooks in
  ``submitted/STUDENT/ps1/ps1.ipynb``, and ``nbgrader autograde ps1 --force`` per round;
- this grader: ``course.toml``, ``ps1/assignment.toml`` and the same 5 checks as pytest checks,
  the same notebook files in one folder, and ``grader grade ps1 FOLDER --jobs 1`` per round
  (``--force`` from the second on).

It prints each grader's median wall time per submission (a round's wall over 16), their ratio,
and per notebook both scores and whether they agree. They agree on every honest notebook; on
``patches_allclose`` they must not: nbgrader runs its tests in the student's kernel, after the
student's cells, so a cell with ``np.allclose = lambda *a, **k: True`` passes every test, while
here the checks run in the trusted process and only the student's functions run in the worker.

nbgrader is never a dependency of the package: it is installed into the benchmark's own
environment (``benchmarks/.peer-env/``, ignored by git) on the first run; the run is
from the repository's environment (``.venv/bin/python``), whose ``grader`` it times::

    python benchmarks/peer.py [--rounds 3] [--skip-install | --nbgrader PATH] [--keep DIR]
    python benchmarks/peer.py --dry-run --keep /tmp/peer   # build both folders, grade nothing
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
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import compare

REPO = Path(__file__).resolve().parent.parent
PEER_ENV = REPO / "benchmarks" / ".peer-env"
NBGRADER_PIN = "nbgrader==0.9.6"
"""The latest 0.9.x when this was written; it installs on Python 3.11."""
ASSIGNMENT = "ps1"
POINTS = 5

# ---------------------------------------------------------------------------------------------
# The assignment: two functions, five hidden checks. Each check is written once per grader, with
# the same inputs (its own seeded generator), the same expected values and the same tolerances
# (np.allclose's rtol=1e-5, atol=1e-8; the gradient check atol=1e-5).

FORWARD = ("linear_forward", '''\
def linear_forward(x, W, b):
    """x (N, D), W (D, M), b (M,) -> out (N, M) = x W + b."""
''')
BACKWARD = ("linear_backward", '''\
def linear_backward(dout, x, W):
    """dout (N, M), x (N, D), W (D, M) -> (dx, dW, db), los gradientes de out = x W + b."""
''')
REFERENCE = {
    "linear_forward": "    return x @ W + b\n",
    "linear_backward": "    return dout @ W.T, x.T @ dout, dout.sum(axis=0)\n",
}

_INPUTS = """\
rng = np.random.default_rng({seed})
x = rng.standard_normal((4, 3)); W = rng.standard_normal((3, 2)); b = rng.standard_normal(2)
dout = rng.standard_normal((4, 2))
"""


_CHECK_DX = ('dx, dW, db = expect_tuple(student.linear_backward(dout, x, W), 3, '
             'context="linear_backward")\n')
# The probes of the student's forward travel together where the grader can batch them
# (``numerical_gradient_many``, issue 23), one request each otherwise; the verdict is the same.
_GRADIENT = ("numerical_gradient_many" if hasattr(compare, "numerical_gradient_many")
             else "numerical_gradient")
_OURS_GRADCHECK = _CHECK_DX + (
    "xv = x.copy()\n"
    "(num,) = numerical_gradient_many(student.linear_forward,\n"
    "                                 lambda: ((xv.copy(), W.copy(), b.copy()), {}),\n"
    "                                 lambda out: float(np.sum(out * dout)), xv)\n"
    if _GRADIENT == "numerical_gradient_many" else
    "xv = x.copy()\n"
    "num = numerical_gradient(lambda: float(np.sum(student.linear_forward(xv, W, b) * dout)), xv)\n"
) + 'assert_close(dx, num, name="dx", context="diferencias finitas", rtol=1e-5, atol=1e-5)'


@dataclass(frozen=True)
class Check:
    name: str
    """The exercise here, the ``grade_id`` of nbgrader's test cell."""
    title: str
    nbgrader: str
    """The hidden test, run in the student's kernel."""
    ours: str
    """The same test as a check's body (``student`` is the proxy to the worker)."""


CHECKS = (
    Check("forward", "linear_forward",
          "assert np.allclose(linear_forward(x, W, b), x @ W + b)",
          'assert_close(student.linear_forward(x, W, b), x @ W + b, name="out", '
          'context="linear_forward", rtol=1e-5)'),
    Check("dx", "linear_backward: dx",
          "dx, dW, db = linear_backward(dout, x, W)\nassert np.allclose(dx, dout @ W.T)",
          _CHECK_DX + 'assert_close(dx, dout @ W.T, name="dx", context="linear_backward", rtol=1e-5)'),
    Check("dW", "linear_backward: dW",
          "dx, dW, db = linear_backward(dout, x, W)\nassert np.allclose(dW, x.T @ dout)",
          _CHECK_DX + 'assert_close(dW, x.T @ dout, name="dW", context="linear_backward", rtol=1e-5)'),
    Check("db", "linear_backward: db",
          "dx, dW, db = linear_backward(dout, x, W)\nassert np.allclose(db, dout.sum(axis=0))",
          _CHECK_DX + 'assert_close(db, dout.sum(axis=0), name="db", context="linear_backward", rtol=1e-5)'),
    Check("gradcheck", "dx contra diferencias finitas de linear_forward",
          # The student's own forward, probed once per element and sign: the pattern the
          # issue's batched call op is for.
          "dx, dW, db = linear_backward(dout, x, W)\n"
          "num = np.zeros_like(x)\n"
          "for i in np.ndindex(*x.shape):\n"
          "    xp = x.copy(); xp[i] += 1e-6\n"
          "    xm = x.copy(); xm[i] -= 1e-6\n"
          "    num[i] = np.sum((linear_forward(xp, W, b) - linear_forward(xm, W, b)) * dout) / 2e-6\n"
          "assert np.allclose(dx, num, atol=1e-5)",
          _OURS_GRADCHECK),
)

# ---------------------------------------------------------------------------------------------
# The 16 notebooks: name -> the bodies of both functions, extra cells, and the expected scores.

@dataclass(frozen=True)
class Variant:
    forward: str
    backward: str
    ours: int
    """Expected points here (of 5)."""
    nbgrader: int
    """Expected points from nbgrader (of 5)."""
    extra_cells: tuple[str, ...] = field(default=())
    """Cells of the student's own, after the solutions (demos, prints, mischief)."""


_OK_B = REFERENCE["linear_backward"]
_OK_F = REFERENCE["linear_forward"]
VARIANTS: dict[str, Variant] = {
    "passes_matmul": Variant(_OK_F, _OK_B, 5, 5),
    "passes_np_dot": Variant(
        "    return np.dot(x, W) + b\n",
        "    return np.dot(dout, W.T), np.dot(x.T, dout), np.sum(dout, axis=0)\n", 5, 5),
    "passes_einsum": Variant(
        "    return np.einsum('nd,dm->nm', x, W) + b\n",
        "    dx = np.einsum('nm,dm->nd', dout, W)\n"
        "    dW = np.einsum('nd,nm->dm', x, dout)\n"
        "    return dx, dW, np.einsum('nm->m', dout)\n", 5, 5),
    "passes_row_loops": Variant(
        "    out = np.zeros((x.shape[0], W.shape[1]))\n"
        "    for n in range(x.shape[0]):\n"
        "        out[n] = x[n] @ W + b\n"
        "    return out\n",
        "    dx = np.zeros_like(x); dW = np.zeros_like(W); db = np.zeros(W.shape[1])\n"
        "    for n in range(x.shape[0]):\n"
        "        dx[n] = W @ dout[n]\n"
        "        dW += np.outer(x[n], dout[n])\n"
        "        db += dout[n]\n"
        "    return dx, dW, db\n", 5, 5),
    "passes_keepdims": Variant(
        "    return np.matmul(x, W) + b[np.newaxis, :]\n",
        "    db = np.sum(dout, axis=0, keepdims=True).reshape(-1)\n"
        "    return np.matmul(dout, W.T), np.matmul(x.T, dout), db\n", 5, 5),
    "passes_ones_vector": Variant(
        "    return x @ W + np.ones((x.shape[0], 1)) * b\n",
        "    return (W @ dout.T).T, (dout.T @ x).T, np.ones(dout.shape[0]) @ dout\n", 5, 5),
    "passes_with_demo_cells": Variant(
        _OK_F, _OK_B, 5, 5, extra_cells=(
            "x_demo = np.arange(6.0).reshape(2, 3)\n"
            "print(linear_forward(x_demo, np.ones((3, 2)), np.zeros(2)))",
            "for _ in range(3):\n    print(linear_backward(np.ones((2, 2)), x_demo, np.ones((3, 2)))[1])")),
    "passes_tensordot": Variant(
        "    return np.tensordot(x, W, axes=1) + b\n",
        "    dx = np.tensordot(dout, W, axes=([1], [1]))\n"
        "    dW = np.tensordot(x, dout, axes=([0], [0]))\n"
        "    return dx, dW, dout.sum(0)\n", 5, 5),
    "passes_helpers": Variant(
        "    return _affine(x, W) + b\n",
        "    return _affine(dout, W.T), _affine(x.T, dout), _column_sums(dout)\n", 5, 5,
        extra_cells=("def _affine(a, B):\n    return a @ B\n\n\n"
                     "def _column_sums(a):\n    return a.sum(axis=0)\n",)),
    "passes_copies": Variant(
        "    x = np.array(x, dtype=float, copy=True)\n    return x.dot(W) + b\n",
        "    dx = dout.dot(W.T)\n    dW = x.T.dot(dout)\n    db = dout.sum(axis=0).copy()\n"
        "    return dx, dW, db\n", 5, 5),
    "fails_forward_without_bias": Variant("    return x @ W\n", _OK_B, 4, 4),
    "fails_dx_without_transpose": Variant(
        # dout @ W raises (shapes (4, 2) and (3, 2)): every check that calls backward fails.
        _OK_F, "    return dout @ W, x.T @ dout, dout.sum(axis=0)\n", 1, 1),
    "fails_dW_transposed": Variant(
        _OK_F, "    return dout @ W.T, dout.T @ x, dout.sum(axis=0)\n", 4, 4),
    "fails_db_wrong_axis": Variant(
        _OK_F, "    return dout @ W.T, x.T @ dout, dout.sum(axis=1)\n", 4, 4),
    "fails_db_mean": Variant(
        _OK_F, "    return dout @ W.T, x.T @ dout, dout.mean(axis=0)\n", 4, 4),
    # Wrong functions of the right shapes, not even consistent with each other (the gradient
    # check fails too), and a cell that makes every np.allclose pass.
    "patches_allclose": Variant(
        "    return np.zeros((x.shape[0], W.shape[1]))\n",
        "    return np.ones_like(x), np.ones_like(W), np.ones(W.shape[1])\n", 0, 5,
        extra_cells=("np.allclose = lambda *a, **k: True",)),
}
HONEST = tuple(name for name in VARIANTS if name != "patches_allclose")


# ---------------------------------------------------------------------------------------------
# Notebooks (nbformat 4 JSON, nbgrader's cell metadata, schema 3).

def _cell(source: str, nbgrader: dict | None = None) -> dict:
    return {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
            "metadata": {"nbgrader": {"schema_version": 3, "task": False, **nbgrader}}
            if nbgrader else {}}


def _notebook(cells: list[dict]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 4, "cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}}


def _solution_cell(function: tuple[str, str], body: str, *, source: bool) -> dict:
    name, header = function
    code = (f"{header}    ### BEGIN SOLUTION\n{body}    ### END SOLUTION\n" if source
            else header + body)
    return _cell(code, {"grade": False, "solution": True, "locked": False, "grade_id": name})


def _test_cell(check: Check, seed: int, *, hidden: bool) -> dict:
    visible = f"# Prueba oculta: {check.title} (1 punto)\n"
    tests = (f"### BEGIN HIDDEN TESTS\n{_INPUTS.format(seed=seed)}{check.nbgrader}\n"
             "### END HIDDEN TESTS\n")
    return _cell(visible + (tests if hidden else ""),
                 {"grade": True, "solution": False, "locked": True, "points": 1,
                  "grade_id": f"test_{check.name}"})


def _cells(forward: dict, backward: dict, extra: tuple[str, ...], *, hidden: bool) -> list[dict]:
    title = {"cell_type": "markdown", "metadata": {}, "source": "# PS1: capa lineal"}
    tests = [_test_cell(c, seed, hidden=hidden) for seed, c in enumerate(CHECKS, start=1)]
    return [title, _cell("import numpy as np"), forward, backward,
            *(_cell(code) for code in extra), *tests]


def source_notebook() -> dict:
    """The instructor's notebook: solution regions and hidden tests (nbgrader's ``source/``)."""
    return _notebook(_cells(_solution_cell(FORWARD, REFERENCE["linear_forward"], source=True),
                            _solution_cell(BACKWARD, REFERENCE["linear_backward"], source=True),
                            (), hidden=True))


def student_notebook(variant: Variant) -> dict:
    """What a student hands in: the released notebook (no hidden tests) with their code."""
    return _notebook(_cells(_solution_cell(FORWARD, variant.forward, source=False),
                            _solution_cell(BACKWARD, variant.backward, source=False),
                            variant.extra_cells, hidden=False))


def _write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def write_notebooks(folder: Path) -> list[Path]:
    """The 16 submissions, one ``STUDENT.ipynb`` each (the student is the variant's name)."""
    return [_write_json(folder / f"{name}.ipynb", student_notebook(v)) for name, v in VARIANTS.items()]


# ---------------------------------------------------------------------------------------------
# This grader's course.

_CHECKS_HEADER = '''\
"""The 5 hidden checks of the peer benchmark (benchmarks/peer.py), the same as nbgrader's."""
import numpy as np
import pytest

from grader.compare import assert_close, expect_tuple, {gradient}
'''


def build_ours(root: Path) -> tuple[Path, Path]:
    """``course.toml``, ``ps1/`` and the notebooks; returns (course file, submissions folder)."""
    course = root / "course.toml"
    course.parent.mkdir(parents=True, exist_ok=True)
    course.write_text(f'[course]\nname = "peer"\n\n[[tp]]\nname = "{ASSIGNMENT}"\nweight = 1\n'
                      f'assignment = "{ASSIGNMENT}"\nreference = "ref"\n', encoding="utf-8")
    # The course's solution: this grader wants one per TP (the checks here do not call it).
    (root / "ref").mkdir(parents=True, exist_ok=True)
    (root / "ref" / f"{ASSIGNMENT}.py").write_text(
        f"import numpy as np\n\n\n{FORWARD[1]}{REFERENCE['linear_forward']}\n\n"
        f"{BACKWARD[1]}{REFERENCE['linear_backward']}", encoding="utf-8")
    exercises = "".join(f'\n[[exercise]]\nname = "{c.name}"\ntitle = "{c.title}"\npoints = 1\n'
                        for c in CHECKS)
    (root / ASSIGNMENT / "hidden").mkdir(parents=True, exist_ok=True)
    (root / ASSIGNMENT / "assignment.toml").write_text(
        f'[assignment]\nname = "{ASSIGNMENT}"\ntitle = "Capa lineal"\nmodule = "{ASSIGNMENT}"\n'
        f'public_checks = []\nhidden_checks = ["hidden/test_hidden.py"]\n{exercises}',
        encoding="utf-8")
    checks = [f'\n\n@pytest.mark.exercise("{c.name}")\ndef test_{c.name}(student):\n'
              + textwrap.indent(_INPUTS.format(seed=seed) + c.ours, "    ") + "\n"
              for seed, c in enumerate(CHECKS, start=1)]
    (root / ASSIGNMENT / "hidden" / "test_hidden.py").write_text(
        _CHECKS_HEADER.format(gradient=_GRADIENT) + "".join(checks), encoding="utf-8")
    submissions = root / "entregas"
    write_notebooks(submissions)
    return course, submissions


def grade_ours(course: Path, submissions: Path, out: Path, *, force: bool) -> tuple[float, dict[str, float]]:
    """``grader grade ps1 --jobs 1``: (wall seconds, points per student)."""
    command = [sys.executable, "-m", "grader.cli", "grade", ASSIGNMENT, str(submissions),
               "--out", str(out), "--jobs", "1", "--course", str(course), *(["--force"] * force)]
    started = time.perf_counter()
    run = subprocess.run(command, cwd=course.parent, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"grader grade falló:\n{run.stdout}{run.stderr}")
    return wall, our_points(out)


def our_results(out: Path) -> dict[str, dict]:
    """The result file of each student."""
    found = (json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / ASSIGNMENT).glob("*.json")))
    return {r["student"]: r for r in found if "student" in r}


def our_points(out: Path) -> dict[str, float]:
    """Points per student (earned, of 5: the TP's scaled score is out of 10)."""
    points = {student: float(r["earned"]) for student, r in our_results(out).items()}
    if len(points) != len(VARIANTS):
        raise SystemExit(f"grader grade dejó {len(points)} resultados; se esperaban {len(VARIANTS)}")
    return points


# ---------------------------------------------------------------------------------------------
# nbgrader's course directory and its environment.

def build_nbgrader(root: Path) -> Path:
    """``nbgrader_config.py``, ``source/ps1/ps1.ipynb`` and ``submitted/STUDENT/ps1/ps1.ipynb``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        'c.CourseDirectory.course_id = "peer"\n'
        # nbgrader's defaults, written out: a student missing from the database is created.
        "c.Autograde.create_student = True\n", encoding="utf-8")
    _write_json(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", source_notebook())
    for name, variant in VARIANTS.items():
        _write_json(root / "submitted" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                    student_notebook(variant))
    return root


def ensure_nbgrader(env: Path) -> Path:
    """The ``nbgrader`` executable of the benchmark's own venv, created on the first run."""
    executable = env / "venv" / "bin" / "nbgrader"
    if executable.exists():
        return executable
    print(f"instalando {NBGRADER_PIN} en {env / 'venv'} (solo la primera vez)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(env / "venv")], check=True)
    import numpy
    subprocess.run([str(env / "venv" / "bin" / "python"), "-m", "pip", "install", "-q",
                    NBGRADER_PIN, f"numpy=={numpy.__version__}"], check=True)
    return executable


def _nbgrader_run(nbgrader: Path, course: Path, *args: str) -> float:
    # The kernel nbgrader starts must be the venv's Python (with numpy), whatever PATH says.
    env = {**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    run = subprocess.run([str(nbgrader), *args], cwd=course, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} falló:\n{run.stdout}{run.stderr}")
    return wall


_SCORES = """\
import json, sys
from nbgrader.api import Gradebook
with Gradebook(sys.argv[1]) as gradebook:
    print(json.dumps({s.student.id: s.score for s in gradebook.assignment_submissions(sys.argv[2])}))
"""


def grade_nbgrader(nbgrader: Path, course: Path) -> tuple[float, dict[str, float]]:
    """``nbgrader autograde ps1 --force``: (wall seconds, points per student)."""
    wall = _nbgrader_run(nbgrader, course, "autograde", ASSIGNMENT, "--force")
    scores = subprocess.run([str(nbgrader.parent / "python"), "-c", _SCORES,
                             f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT],
                            capture_output=True, text=True, check=True)
    return wall, {k: float(v) for k, v in json.loads(scores.stdout).items()}


# ---------------------------------------------------------------------------------------------

def verdict_table(nb: dict[str, float], ours: dict[str, float]) -> tuple[list[str], bool]:
    """One line per notebook, and whether every score is the expected one."""
    lines = [f"{'entrega':<28} {'nbgrader':>8} {'grader':>7}  coinciden"]
    as_expected = True
    for name, variant in VARIANTS.items():
        a, b = nb.get(name), ours.get(name)
        as_expected &= (a, b) == (variant.nbgrader, variant.ours)
        agree = "sí" if a == b else "no"
        if name == "patches_allclose" and a == variant.nbgrader and b == variant.ours:
            agree += " (esperado: nbgrader corre sus pruebas en el kernel del estudiante)"
        elif (a, b) != (variant.nbgrader, variant.ours):
            agree += f" (INESPERADO: se esperaba {variant.nbgrader} y {variant.ours})"
        lines.append(f"{name:<28} {_fmt(a):>8} {_fmt(b):>7}  {agree}")
    return lines, as_expected


def _fmt(points: float | None) -> str:
    return "-" if points is None else f"{points:g}/{POINTS}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--env", type=Path, default=PEER_ENV, help="entorno de nbgrader")
    parser.add_argument("--skip-install", action="store_true",
                        help="usar el entorno ya instalado (falla si no está)")
    parser.add_argument("--nbgrader", type=Path, help="el ejecutable nbgrader de otro entorno")
    parser.add_argument("--keep", type=Path, help="armar todo en esta carpeta y dejarla")
    parser.add_argument("--dry-run", action="store_true",
                        help="armar las dos carpetas sin instalar ni calificar nada")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="peer-"))
    try:
        run(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in
              (cpuinfo.read_text().splitlines() if cpuinfo.exists() else []) if line.startswith("model name")]
    return f"{os.cpu_count()} núcleos" + (f" ({models[0]})" if models else "")


def run(args: argparse.Namespace, work: Path) -> None:
    # A kept folder from an earlier run must not hand this one results that are already there.
    for stale in ("grader", "nbgrader", "resultados"):
        shutil.rmtree(work / stale, ignore_errors=True)
    course, submissions = build_ours(work / "grader")
    nb_course = build_nbgrader(work / "nbgrader")
    if args.dry_run:
        print(f"este calificador: {course} y {len(VARIANTS)} notebooks en {submissions}\n"
              f"nbgrader: {nb_course} (source/ y submitted/)")
        return
    if args.nbgrader:
        nbgrader = args.nbgrader
    elif args.skip_install:
        nbgrader = args.env / "venv" / "bin" / "nbgrader"
        if not nbgrader.exists():
            raise SystemExit(f"--skip-install: no está {nbgrader}")
    else:
        nbgrader = ensure_nbgrader(args.env)
    version = subprocess.run([str(nbgrader.parent / "python"), "-c",
                              "import nbgrader; print(nbgrader.__version__)"],
                             capture_output=True, text=True).stdout
    _nbgrader_run(nbgrader, nb_course, "generate_assignment", ASSIGNMENT, "--force")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; máquina: {_cpu()}; "
          f"carga {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}; "
          f"nbgrader {version.strip()}; {len(VARIANTS)} notebooks, rondas: {args.rounds}")
    n = len(VARIANTS)
    times: dict[str, list[float]] = {"nbgrader": [], "grader": []}
    verdicts: dict[str, list[dict[str, float]]] = {"nbgrader": [], "grader": []}
    for r in range(args.rounds):
        order = ("nbgrader", "grader") if r % 2 == 0 else ("grader", "nbgrader")
        for who in order:
            if who == "nbgrader":
                wall, points = grade_nbgrader(nbgrader, nb_course)
            else:
                wall, points = grade_ours(course, submissions, work / "resultados", force=r > 0)
            times[who].append(wall / n)
            verdicts[who].append(points)
        print(f"ronda {r + 1} ({' y '.join(order)}): nbgrader {times['nbgrader'][-1]:.3f} s/entrega, "
              f"grader {times['grader'][-1]:.3f} s/entrega", flush=True)
    nb, ours = (statistics.median(times[w]) for w in ("nbgrader", "grader"))
    print(f"\nmediana por entrega: nbgrader autograde {nb:.3f} s; grader grade --jobs 1 {ours:.3f} s; "
          f"nbgrader / grader = {nb / ours:.1f}x")
    requests = [r["environment"]["timing"]["requests"] for r in our_results(work / "resultados").values()]
    print(f"grader: {statistics.median(requests):g} pedidos al worker por entrega (mediana; "
          f"diferencias finitas con {_GRADIENT})")
    for who, rounds in verdicts.items():
        if any(v != rounds[0] for v in rounds):
            print(f"AVISO: los puntajes de {who} cambiaron entre rondas")
    lines, as_expected = verdict_table(verdicts["nbgrader"][-1], verdicts["grader"][-1])
    print("\n" + "\n".join(lines))
    honest = sum(verdicts["nbgrader"][-1].get(k) == verdicts["grader"][-1].get(k) for k in HONEST)
    print(f"\ncoinciden en {honest} de {len(HONEST)} notebooks honestos; en patches_allclose una "
          "celda reemplaza np.allclose: nbgrader le da 5/5 porque sus pruebas corren después, en el "
          "mismo kernel; acá las comprobaciones corren en el proceso de confianza y solo las funciones "
          "del estudiante corren en el worker, así que sus funciones (incorrectas) valen 0/5.")
    if not as_expected:
        raise SystemExit("algún puntaje no es el esperado (ver la tabla)")


if __name__ == "__main__":
    main()
