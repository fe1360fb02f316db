"""Finding submissions in a folder and preparing each as one importable module file.

A submissions folder holds, per student, either a file named after the student (``juan_perez.py``,
``lu-123.ipynb``) or a folder named after the student containing ``tp1.py`` / ``tp1.ipynb``.
Extensions match in any case (``ana.PY``, ``TP1.IPYNB``: what Windows and some LMS exports write).
A folder written by ``grader intake`` also holds its manifest (``intake.json``): each submission
then carries when it was handed in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError, UsageError
from grader.notebooks import DEFINITIONS, ConvertedNotebook, convert
from grader.text import UTF16_BOMS, binary_kind

SUFFIXES = (".py", ".ipynb")
_IGNORED = {".DS_Store", "__MACOSX", "Thumbs.db", "desktop.ini"}
MANIFEST = "intake.json"
"""``grader intake``'s manifest; ``intake.md`` is its readable twin."""
_MANIFEST_FILES = {MANIFEST, "intake.md"}


@dataclass(frozen=True)
class Submission:
    student: str
    """The student's identifier: the file's stem or the folder's name."""
    path: Path
    """The file handed in (``.py`` or ``.ipynb``)."""
    notes: tuple[str, ...] = ()
    """Things the instructor should know (other files ignored, ...)."""
    submitted_at: str = ""
    """When it was handed in (ISO 8601 with offset), from ``intake.json``; empty if unknown."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Skipped:
    entry: Path
    reason: str


def safe_name(student: str) -> str:
    """A file-name-safe version of a student identifier (for result files)."""
    cleaned = re.sub(r"[^\w.@-]+", "_", student, flags=re.UNICODE).strip("._")
    return cleaned or "estudiante"


def is_notebook(path: Path) -> bool:
    """Whether a submission file is a notebook, by its extension in any case."""
    return path.suffix.lower() == ".ipynb"


def _accepted(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def _pick(folder: Path, module: str) -> tuple[Path | None, tuple[str, ...]]:
    files = sorted(p for p in folder.iterdir() if _accepted(p) and _regular_file(p))
    candidates = [p for p in files if p.stem.lower() == module.lower()] or files
    if not candidates:
        return None, ()
    chosen = max(candidates, key=lambda p: p.stat().st_mtime)
    others = tuple(f"se ignoró {p.name} (se calificó {chosen.name}, el más nuevo)"
                   for p in candidates if p != chosen)
    return chosen, others


def _regular_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def discover(folder: Path, module: str) -> tuple[list[Submission], list[Skipped]]:
    """Lists the submissions in ``folder``, sorted by student, and the entries it skipped.

    A folder where nothing is a submission (empty, or only other files) is a ``UsageError`` that
    says what was looked for and what was found: most likely the wrong folder was passed, and a
    batch of nothing would end "successfully" with no results to build a gradebook from."""
    if not folder.is_dir():
        raise SubmissionError(f"{folder} no es una carpeta de entregas")
    found: dict[str, Submission] = {}
    skipped: list[Skipped] = []
    times = _submission_times(folder)
    for entry in sorted(folder.iterdir()):
        if entry.name in _IGNORED or entry.name.startswith(".") or entry.name in _MANIFEST_FILES:
            continue
        if entry.is_symlink():
            # A link could point at anything on this machine (the reference solution, another
            # student's file): never follow one.
            skipped.append(Skipped(entry, "es un enlace simbólico; se esperaba un archivo o una "
                                          "carpeta de verdad"))
            continue
        if entry.is_dir():
            path, notes = _pick(entry, module)
            if path is None:
                skipped.append(Skipped(entry, f"la carpeta no tiene {module}.py ni {module}.ipynb"))
                continue
            student = entry.name
        elif _accepted(entry):
            path, notes, student = entry, (), entry.stem
        else:
            skipped.append(Skipped(entry, f"no es .py ni .ipynb ni una carpeta ({entry.name})"))
            continue
        if student in found:
            skipped.append(Skipped(entry, f"{student} ya tiene una entrega ({found[student].path.name})"))
            continue
        found[student] = Submission(student=student, path=path, notes=notes,
                                    submitted_at=times.get(entry.name, ""))
    if not found:
        raise UsageError(nothing_found(folder, module, skipped))
    return [found[k] for k in sorted(found)], skipped


def nothing_found(folder: Path, module: str, skipped: list[Skipped]) -> str:
    """Why ``folder`` has no submission, in Spanish: what was looked for and what was there."""
    wanted = (f"se esperaba, por estudiante, un archivo NOMBRE.py o NOMBRE.ipynb, o una carpeta "
              f"NOMBRE/ con {module}.py o {module}.ipynb")
    if not skipped:
        there = ("está vacía" if not any(folder.iterdir())
                 else "solo tiene archivos ocultos o el manifiesto de 'grader intake'")
        return f"{folder} no tiene ninguna entrega: {there}; {wanted}"
    groups: dict[tuple[str, str], list[str]] = {}
    for item in skipped:
        kind = (("enlace simbólico", "enlaces simbólicos") if item.entry.is_symlink()
                else (f"carpeta sin {module}.py ni {module}.ipynb",
                      f"carpetas sin {module}.py ni {module}.ipynb") if item.entry.is_dir()
                else ("archivo que no es .py ni .ipynb", "archivos que no son .py ni .ipynb"))
        groups.setdefault(kind, []).append(item.entry.name)
    found = "; ".join(f"encontré {len(names)} {kind[len(names) > 1]}: {_listed(names)}"
                      for kind, names in groups.items())
    return f"{folder} no tiene ninguna entrega: {wanted}; {found}"


def _listed(names: list[str], shown: int = 5) -> str:
    more = f", ... ({len(names) - shown} más)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _submission_times(folder: Path) -> dict[str, str]:
    """Entry name -> when it was handed in, from ``grader intake``'s manifest (if there is one)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    fix = f"volvé a correr 'grader intake' o borrá {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path}: no se puede leer el manifiesto de la entrega ({exc}); "
                              f"{fix}") from None
    students = data.get("students") if isinstance(data, dict) else None
    if not isinstance(students, list):
        raise SubmissionError(f"{path}: se esperaba un objeto con la lista 'students'; {fix}")
    times: dict[str, str] = {}
    for item in students:
        name, when = (item.get("file"), item.get("submitted_at")) if isinstance(item, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(when, str):
            raise SubmissionError(f"{path}: cada estudiante necesita 'file' y 'submitted_at' de texto "
                                  f"(llegó {item!r}); {fix}")
        try:
            aware = dt.datetime.fromisoformat(when).tzinfo is not None
        except ValueError:
            aware = False
        if when and not aware:
            raise SubmissionError(f"{path}: {name}: submitted_at {when!r} no es una fecha ISO 8601 "
                                  f"con zona horaria; {fix}")
        times[name] = when
    return times


def check_size(path: Path, max_mb: float) -> None:
    """Refuses, before anything reads it, a submission file larger than ``max_mb`` (``[limits]
    max_submission_mb``), saying how big it is and, for a notebook, how much of it is outputs."""
    size = path.stat().st_size
    if size <= max_mb * 1024 * 1024:
        return
    detail = ""
    if is_notebook(path):
        outputs = _notebook_output_bytes(path)
        if outputs is not None and outputs > size / 2:
            detail = (f"; {outputs / 2**20:.1f} MB son salidas de celdas: borralas (Kernel > "
                      "Restart & Clear Output, o Editar > Borrar todas las salidas en Colab) y "
                      "volvé a entregar")
    raise SubmissionError(f"tu archivo pesa {size / 2**20:.1f} MB y el máximo que se califica es "
                          f"{max_mb:g} MB ([limits] max_submission_mb){detail}")


def _notebook_output_bytes(path: Path) -> int | None:
    """Bytes of a notebook's cell outputs as JSON, or ``None`` when it is not a readable one."""
    try:
        cells = json.loads(path.read_bytes()).get("cells", [])
        return sum(len(json.dumps(c.get("outputs", []))) for c in cells if isinstance(c, dict))
    except (ValueError, AttributeError, RecursionError, MemoryError):
        return None


def prepared_source(path: Path, *, notebook_mode: str = DEFINITIONS) -> ConvertedNotebook:
    """The Python source of a submission file and the notes for the student.

    A notebook is converted (``grader.notebooks``, in ``notebook_mode``); a ``.py`` file is
    taken as it is (UTF-8, UTF-16 with its BOM or Latin-1), with no notes. A file that is not
    text (a ``.zip`` or a PDF named ``tp1.py``) is a ``SubmissionError`` that says what it is.
    """
    if is_notebook(path):
        return convert(path, mode=notebook_mode)
    data = path.read_bytes()
    kind = binary_kind(data)
    if kind is not None:
        # Python would only say "source code string cannot contain null bytes" (issue 18).
        detail = "" if kind == "un archivo binario" else f": es {kind}"
        raise SubmissionError(f"{path.name} es un archivo binario, no código Python{detail}; "
                              "¿entregaste el archivo equivocado?")
    if data.startswith(UTF16_BOMS):
        return ConvertedNotebook(data.decode("utf-16"), ())
    try:
        return ConvertedNotebook(data.decode("utf-8-sig"), ())
    except UnicodeDecodeError:
        return ConvertedNotebook(data.decode("latin-1"), ())


def module_source(path: Path, *, notebook_mode: str = DEFINITIONS) -> str:
    """The Python source of a submission file (notebooks converted); see ``prepared_source``."""
    return prepared_source(path, notebook_mode=notebook_mode).source
