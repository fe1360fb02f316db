"""How long ``grader similarity`` takes on a large TP3 class, and whether planted copies rank first.

Generates N synthetic TP3 submissions (200 by default): each takes every graded function or class
from one of five independent solutions (the reference and the example class's ana, bruno, carla
and fede), chosen at random per function, with the helpers they call, the names a student chooses
renamed at random, the functions shuffled and comments added; one in ten is a notebook (one cell
per function). Then it plants ``--copies`` pairs: a copy of a student's file with other renames,
another order, other comments and one function taken from another solution. It times the whole
command, as an instructor runs it (``grader similarity tp3 FOLDER --out DIR``, a new process),
and checks that the planted pairs are the top ones.

    python benchmarks/similarity.py [--n 200] [--copies 10] [--seed 0]

Target (issue 22): 200 submissions of TP3 in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import io
import json
import keyword
import random
import subprocess
import sys
import tempfile
import time
import tokenize
from pathlib import Path

from grader.submissions import module_source

REPO = Path(__file__).resolve().parent.parent
SOURCES = [REPO / "reference_solutions" / "tp3" / "tp3.py",
           *(REPO / "examples" / "class" / "tp3" / name
             for name in ("ana_garcia.py", "bruno_diaz.py", "carla_lopez.py", "fede_gomez.ipynb"))]
KEEP = set(keyword.kwlist) | set(dir(builtins)) | {"self", "np", "torch", "nn", "F"}
COMMENTS = ["# paso a paso", "# ver clase 5", "# TODO revisar", "# vectorizado", "# ojo con las formas"]


def top_level(source: str) -> tuple[dict[str, str], str]:
    """The source's top-level functions and classes by name, and its imports."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    units, imports = {}, []
    for node in tree.body:
        text = "".join(lines[node.lineno - 1 - len(getattr(node, "decorator_list", [])):node.end_lineno])
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            units[node.name] = text
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(text)
    return units, "".join(imports)


def rename(source: str, rng: random.Random, graded: set[str]) -> str:
    """Renames a random half of the names a student chooses (never graded names, parameters
    keep working because every use is renamed the same way)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    names = sorted({t.string for t in tokens if t.type == tokenize.NAME} - KEEP - graded)
    chosen = {n: f"{n}_{rng.randrange(100)}" for n in names if rng.random() < 0.5}
    out = []
    for i, tok in enumerate(tokens):
        after_dot = i > 0 and tokens[i - 1].string == "."
        if tok.type == tokenize.NAME and tok.string in chosen and not after_dot:
            tok = tok._replace(string=chosen[tok.string])
        out.append(tok)
    return tokenize.untokenize(out)


def assemble(parts: list[str], imports: str, rng: random.Random) -> str:
    rng.shuffle(parts)
    body = "\n\n".join(f"{rng.choice(COMMENTS)}\n{p}" for p in parts)
    return f'"""TP3."""\n\n{imports}\n\n{body}'


def student(choices: dict[str, int], solutions: list[tuple[dict[str, str], str]], graded: set[str],
            rng: random.Random) -> str:
    parts, imports = [], set()
    for name, index in choices.items():
        parts.append(solutions[index][0][name])
        imports.add(solutions[index][1])
    for index in sorted(set(choices.values())):  # the helpers the chosen functions call
        helpers = {n: t for n, t in solutions[index][0].items() if n not in graded}
        mine = "".join(solutions[index][0][n] for n, i in choices.items() if i == index)
        needed = {n for n in helpers if n in mine}
        while more := {n for n in helpers if n not in needed
                       and any(n in helpers[m] for m in needed)}:
            needed |= more
        parts.extend(helpers[n] for n in sorted(needed))
    return rename(assemble(parts, "".join(sorted(imports)), rng), rng, graded)


def write(folder: Path, name: str, source: str, notebook: bool) -> None:
    if not notebook:
        (folder / f"{name}.py").write_text(source)
        return
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": chunk} for chunk in source.split("\n\n\n")]
    (folder / f"{name}.ipynb").write_text(json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    solutions = [top_level(module_source(p)) for p in SOURCES]
    starter, _ = top_level((REPO / "assignments" / "tp3" / "starter" / "tp3.py").read_text())
    graded = set(starter)
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as tmp:
        folder, out = Path(tmp) / "entregas", Path(tmp) / "out"
        folder.mkdir()
        originals = args.n - args.copies
        draws = [{name: rng.randrange(len(solutions)) for name in starter} for _ in range(originals)]
        for i, choices in enumerate(draws):
            write(folder, f"s{i:03d}", student(choices, solutions, graded, rng), rng.random() < 0.1)
        planted = set()
        for j, i in enumerate(rng.sample(range(originals), args.copies)):
            changed = dict(draws[i])
            swapped = rng.choice(sorted(changed))
            changed[swapped] = (changed[swapped] + 1) % len(solutions)
            write(folder, f"z{j:03d}", student(changed, solutions, graded, rng), False)
            planted.add((f"s{i:03d}", f"z{j:03d}"))
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "grader.cli", "similarity", "tp3", str(folder),
                              "--out", str(out), "--course", str(REPO / "course.toml")],
                             capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if run.returncode != 0:
            sys.exit(run.stdout + run.stderr)
        rows = (out / "similitud.csv").read_text().splitlines()[1:]
    ranked = [tuple(row.split(",")[2:4]) for row in rows]
    top = set(ranked[:len(planted)])
    print(f"{args.n} entregas de TP3 ({args.copies} copias plantadas): {seconds:.1f} s "
          f"(objetivo: menos de 60 s); {len(ranked)} pares sobre el umbral; "
          f"copias plantadas en los primeros {len(planted)}: {len(top & planted)} de {len(planted)}")
    if top != planted:
        sys.exit(f"las copias plantadas no son los primeros pares: {sorted(planted - top)}")


if __name__ == "__main__":
    main()
