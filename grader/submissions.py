"""Finding submissions in a folder and preparing each as one importable module file.

A submissions folder holds, per student, either a file named after the student (``juan_perez.py``,
``lu-123.ipynb``) or a folder named after the student containing ``tp1.py`` / ``tp1.ipynb``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import SubmissionError
from .notebooks import notebook_to_source

SUFFIXES = (".py", ".ipynb")
_IGNORED = {".DS_Store", "__MACOSX", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Submission:
    student: str
    """The student's identifier: the file's stem or the folder's name."""
    path: Path
    """The file handed in (``.py`` or ``.ipynb``)."""
    notes: tuple[str, ...] = ()
    """Things the instructor should know (other files ignored, ...)."""

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


def _pick(folder: Path, module: str) -> tuple[Path | None, tuple[str, ...]]:
    candidates = [folder / f"{module}{s}" for s in SUFFIXES if (folder / f"{module}{s}").is_file()]
    if not candidates:
        candidates = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if not candidates:
        return None, ()
    chosen = max(candidates, key=lambda p: p.stat().st_mtime)
    others = tuple(f"se ignoró {p.name} (se calificó {chosen.name}, el más nuevo)"
                   for p in candidates if p != chosen)
    return chosen, others


def discover(folder: Path, module: str) -> tuple[list[Submission], list[Skipped]]:
    """Lists the submissions in ``folder``, sorted by student, and the entries it skipped."""
    if not folder.is_dir():
        raise SubmissionError(f"{folder} no es una carpeta de entregas")
    found: dict[str, Submission] = {}
    skipped: list[Skipped] = []
    for entry in sorted(folder.iterdir()):
        if entry.name in _IGNORED or entry.name.startswith("."):
            continue
        if entry.is_dir():
            path, notes = _pick(entry, module)
            if path is None:
                skipped.append(Skipped(entry, f"la carpeta no tiene {module}.py ni {module}.ipynb"))
                continue
            student = entry.name
        elif entry.suffix in SUFFIXES:
            path, notes, student = entry, (), entry.stem
        else:
            skipped.append(Skipped(entry, f"no es .py ni .ipynb ni una carpeta ({entry.name})"))
            continue
        if student in found:
            skipped.append(Skipped(entry, f"{student} ya tiene una entrega ({found[student].path.name})"))
            continue
        found[student] = Submission(student=student, path=path, notes=notes)
    return [found[k] for k in sorted(found)], skipped


def module_source(path: Path) -> str:
    """The Python source of a submission file (notebooks converted)."""
    if path.suffix == ".ipynb":
        return notebook_to_source(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1")
