"""Grading in GitHub Actions: what a student sees on a push, and what a course collects.

On a student's push (``examples/ci/student``), ``grader check TP FILE --github --classroom``
runs the public checks and then:

- writes a Markdown table per exercise with points to the job summary (``$GITHUB_STEP_SUMMARY``),
  and what failed below it;
- prints one ``::error file=...,line=...::`` workflow command per failing check, pointing at the
  ``def`` of the student's function (or the line of their traceback);
- appends ``result=<base64>`` to ``$GITHUB_OUTPUT``: GitHub Classroom's runner output
  (``grader.output.formats.classroom``), for its grading reporter.

For the course (``examples/ci/course``), ``collect_repos`` clones each student repository with
``--depth 1`` and copies out only ``tpN.py`` / ``tpN.ipynb``, a plain file, recording the commit:
nothing else a student's repository holds (its workflows, tests, ``conftest.py``,
``pytest.ini``, ``sitecustomize.py``, ``.pth`` files, symlinks) reaches the grading.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from grader import results
from grader.errors import UsageError
from grader.output import github
from grader.output.feedback import of_check, result_of
from grader.output.formats import (
    LOAD_ERROR_NAME,
    Audience,
    Entry,
    classroom,
    classroom_output,
    entries,
    student_fold,
)
from grader.results import Status
from grader.student.check import CheckReport
from grader.submissions import module_source, safe_name

MAX_SUBMISSION_BYTES = 5 * 1024 * 1024
"""A ``tpN.py``/``.ipynb`` larger than this is not collected (a notebook with outputs is ~1 MB)."""


# --- where in the student's file ------------------------------------------------------------

_NOTEBOOK_DEF = re.compile(r'^\s*"(?:def|class)\s+(\w+)')
_TRACEBACK_LINE = re.compile(r'File "([^"]+)", line (\d+)')
_LOAD_LINE = re.compile(r"\(línea (\d+)\)")
_MESSAGE_NAME = re.compile(r"^(\w+)\b")


def definition_lines(path: Path) -> dict[str, int]:
    """Line of each module-level ``def``/``class`` in the student's file, as GitHub numbers it:
    for a notebook, the line of the JSON file where the cell's ``def`` stands."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        found: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            match = _NOTEBOOK_DEF.match(line)
            if match:
                found[match.group(1)] = number
        return found
    try:
        tree = ast.parse(module_source(path))
    except (SyntaxError, ValueError):
        return {}
    # The last definition wins, as when Python runs the file.
    return {node.name: node.lineno for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def check_lines(report: CheckReport) -> dict[str, int]:
    """Check id -> the line to annotate: the student's own traceback line for an error, else
    the ``def`` of the function the message names, else of the exercise's first function."""
    defs = definition_lines(report.file)
    module_file = f"{report.assignment.module}.py"
    exercises = {e.name: e for e in report.assignment.exercises}
    lines: dict[str, int] = {}
    for check in report.checks:
        if check.status is Status.PASS:
            continue
        frames = [int(n) for name, n in _TRACEBACK_LINE.findall(check.message) if name == module_file]
        named = _MESSAGE_NAME.match(check.message)
        exercise = exercises.get(check.exercise)
        candidates = [named.group(1)] if named else []
        candidates += list(exercise.functions) if exercise else []
        if frames and report.file.suffix == ".py":
            lines[check.id] = frames[-1]
        elif any(name in defs for name in candidates):
            lines[check.id] = next(defs[name] for name in candidates if name in defs)
    load_line = _LOAD_LINE.search(report.load_error)
    if load_line and report.file.suffix == ".py":
        lines[LOAD_ERROR_NAME] = int(load_line.group(1))
    return lines


# --- the job summary and the annotations ----------------------------------------------------


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _failed(report: CheckReport, revealed: Collection[str]) -> list[Entry]:
    """The failing checks as a student sees them on GitHub (hidden ones folded unless revealed)."""
    return [entry for entry in entries(result_of(report), report.assignment.exercises,
                                       audience=Audience.STUDENTS, fold=student_fold(revealed))
            if entry.status is not Status.PASS]


def summary_markdown(report: CheckReport, *, revealed: Collection[str] = ()) -> str:
    """The job summary: a table per exercise with points, then what failed (in Spanish)."""
    return github.summary_markdown(of_check(report), _failed(report, revealed))


def annotation_commands(report: CheckReport, *, revealed: Collection[str] = ()) -> list[str]:
    """One ``::error`` workflow command per failing check (folded ones as one), with the file
    and, where known, the line."""
    return github.annotation_commands(of_check(report), _failed(report, revealed),
                                      lines=check_lines(report), file=_relative(report.file))


def classroom_result(report: CheckReport) -> dict[str, object]:
    """GitHub Classroom's runner output for a ``grader check`` run (students' view)."""
    return classroom(result_of(report), report.assignment.exercises, lines=check_lines(report))


@dataclass(frozen=True)
class Targets:
    """Where GitHub Actions reads what ``--github`` and ``--classroom`` write."""

    summary: Path | None = None
    """``$GITHUB_STEP_SUMMARY``, with ``--github``."""
    output: Path | None = None
    """``$GITHUB_OUTPUT``, with ``--classroom``."""

    @classmethod
    def from_env(cls, *, github: bool, classroom: bool) -> Targets:
        """Reads the variables up front, so a missing one fails before the checks run."""
        def variable(name: str, option: str) -> Path:
            value = os.environ.get(name)
            if not value:
                raise UsageError(f"{option} escribe en ${name}, que no está definida: esta opción "
                                 "es para un job de GitHub Actions")
            return Path(value)

        return cls(summary=variable("GITHUB_STEP_SUMMARY", "--github") if github else None,
                   output=variable("GITHUB_OUTPUT", "--classroom") if classroom else None)


def publish(report: CheckReport, targets: Targets, *, out: TextIO) -> None:
    """Appends the job summary and the Classroom output to their files, and prints the
    annotations (workflow commands) to ``out``."""
    if targets.summary is not None:
        with targets.summary.open("a", encoding="utf-8") as handle:
            handle.write(summary_markdown(report) + "\n")
        for line in annotation_commands(report):
            out.write(line + "\n")
    if targets.output is not None:
        with targets.output.open("a", encoding="utf-8") as handle:
            handle.write(f"result={classroom_output(classroom_result(report))}\n")


# --- collecting submissions from students' repositories -------------------------------------


@dataclass(frozen=True)
class RepoEntry:
    student: str
    url: str


@dataclass
class CollectedRepo:
    student: str
    url: str
    commit: str = ""
    """The commit graded (``git rev-parse HEAD`` of the shallow clone)."""
    file: str = ""
    """The file copied out, relative to the submissions folder; empty when none was."""
    problem: str = ""


MANIFEST = ".repos.json"
"""Written into the submissions folder; a dot file, so ``discover`` never takes it for a student."""


def read_repo_list(path: Path) -> list[RepoEntry]:
    """Reads a list of repositories: one per line, ``URL`` or ``STUDENT URL``; ``#`` comments.

    Without a name, the student is the repository's name (``tp1-carla_lopez`` in
    ``https://github.com/curso/tp1-carla_lopez.git``)."""
    entries_: list[RepoEntry] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) > 2:
            raise UsageError(f"{path}:{number}: se esperaba 'URL' o 'ESTUDIANTE URL'; llegó {raw!r}")
        url = parts[-1]
        student = parts[0] if len(parts) == 2 else url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
        entries_.append(RepoEntry(student=student, url=url))
    return entries_


def _git(args: Sequence[str], *, cwd: Path | None = None, timeout_s: float) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1",
           "GIT_CONFIG_NOSYSTEM": "1"}
    run = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout_s, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else
                           f"git terminó con código {run.returncode}")
    return run.stdout.strip()


def _collect_one(entry: RepoEntry, module: str, out: Path, timeout_s: float) -> CollectedRepo:
    record = CollectedRepo(student=safe_name(entry.student), url=entry.url)
    with tempfile.TemporaryDirectory(prefix="grader-repo-") as tmp:
        clone = Path(tmp) / "repo"
        try:
            # Symlinks checked out as plain files: a tp1.py -> ../reference_solutions/... link
            # must never be followed. No hooks, no submodules, no LFS downloads.
            _git(["-c", "core.symlinks=false", "-c", "core.hooksPath=/dev/null",
                  "-c", "protocol.ext.allow=never", "clone", "--depth", "1", "--no-tags",
                  "--single-branch", "--no-recurse-submodules", "--quiet", "--", entry.url,
                  str(clone)], timeout_s=timeout_s)
            record.commit = _git(["rev-parse", "HEAD"], cwd=clone, timeout_s=timeout_s)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            record.problem = f"no se pudo clonar {entry.url}: {exc}"
            return record
        candidates = [clone / f"{module}{suffix}" for suffix in (".py", ".ipynb")]
        chosen = next((p for p in candidates if p.is_file() and not p.is_symlink()), None)
        if chosen is None:
            record.problem = f"el repositorio no tiene {module}.py ni {module}.ipynb en su raíz"
            return record
        if chosen.stat().st_size > MAX_SUBMISSION_BYTES:
            record.problem = (f"{chosen.name} pesa {chosen.stat().st_size / 2**20:.1f} MB; el máximo "
                              f"es {MAX_SUBMISSION_BYTES // 2**20} MB")
            return record
        folder = out / record.student
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / chosen.name).write_bytes(chosen.read_bytes())
        record.file = f"{record.student}/{chosen.name}"
    return record


def collect_repos(repos: Sequence[RepoEntry], module: str, out: Path, *,
                  timeout_s: float = 300) -> list[CollectedRepo]:
    """Clones each repository (``--depth 1``) and copies only ``MODULE.py`` (or, without it,
    ``MODULE.ipynb``) from its root into ``OUT/STUDENT/``; writes ``OUT/.repos.json`` with the
    commit of each. A repository that cannot be cloned or has no such file is listed with its
    problem and gets no submission (the gradebook then shows it as missing)."""
    out.mkdir(parents=True, exist_ok=True)
    collected: list[CollectedRepo] = []
    seen: set[str] = set()
    for entry in repos:
        if safe_name(entry.student) in seen:
            collected.append(CollectedRepo(safe_name(entry.student), entry.url,
                                           problem=f"{entry.student} aparece más de una vez"))
            continue
        seen.add(safe_name(entry.student))
        collected.append(_collect_one(entry, module, out, timeout_s))
    results.write_atomic(out / MANIFEST, json.dumps([asdict(c) for c in collected],
                                                    ensure_ascii=False, indent=1) + "\n")
    return collected
