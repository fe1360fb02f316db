"""Submission intake: from the course form's export to a folder ``grader grade`` understands.

``grader intake TP --form responses.csv --uploads uploads.zip|DIR [--roster roster.csv] --out DIR``
runs these steps, each in its own module:

1. ``roster``: the class list, if there is one (the source of identity).
2. ``form``: the responses export (columns from ``[form]`` in ``course.toml``).
3. ``archives``: the uploaded files, from a zip (extracted safely) or a folder.
4. ``matching``: one submission per student, and every anomaly (pure).
5. Here: ``DIR/<padrón>.<py|ipynb>`` for each student, ``DIR/intake.json`` (when each one handed
   in, for the late policy; the anomalies) and ``DIR/intake.md`` (the same, for people).

A refused zip raises ``ArchiveError`` before anything is written: nothing is graded.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import zoneinfo
from pathlib import Path, PurePosixPath

from grader.course import Course
from grader.errors import UsageError
from grader.intake.archives import ArchiveError, ArchiveLimits, gather
from grader.intake.form import read_form
from grader.intake.manifest import Manifest, StudentRecord
from grader.intake.matching import Anomaly, match
from grader.intake.roster import read_roster
from grader.results import write_atomic
from grader.submissions import MANIFEST

__all__ = ["ArchiveError", "ArchiveLimits", "Manifest", "run_intake"]

REPORT = "intake.md"


def run_intake(course: Course, tp: str, *, form: Path, uploads: Path, out: Path,
               roster: Path | None = None, limits: ArchiveLimits | None = None) -> Manifest:
    """Builds the submissions folder ``out`` for ``tp`` and returns its manifest.

    ``out`` must be new, empty, or an earlier intake's folder (then it is replaced).

    Raises:
        ArchiveError: the uploads are not a zip or folder, or the zip was refused.
        FormError, RosterError: the export or the roster cannot be read.
        UsageError: ``out`` holds files that intake did not write.
    """
    course.tp(tp)
    roster_data = read_roster(roster, course.roster) if roster is not None else None
    export = read_form(form, course.form)
    responses = export.for_tp(tp)
    others = [r for r in export.responses if r not in responses]
    previous = _previous_files(out)
    with tempfile.TemporaryDirectory(prefix="grader-intake-") as tmp:
        extraction = gather(uploads, Path(tmp) / "uploads", limits=limits)
        found = match(tp, responses, extraction.files, roster=roster_data, other_responses=others)
        anomalies = [Anomaly("", tp, "refused_entry", f"{entry}: {reason}")
                     for entry, reason in extraction.problems]
        for name in previous:
            (out / name).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        records = []
        for entry in sorted(found.entries, key=lambda e: e.student):
            target = out / f"{entry.student}{PurePosixPath(entry.file.name).suffix.lower()}"
            shutil.copyfile(entry.file.path, target)
            problem = _damage(target)
            if problem:
                anomalies.append(Anomaly(entry.student, tp, "corrupt_file",
                                         f"{entry.name} ({entry.student}): {entry.file.name} "
                                         f"{problem}; se califica igual y saca 0 por error de carga"))
            records.append(StudentRecord(
                student=entry.student, file=target.name,
                submitted_at=entry.response.submitted_at.isoformat(), original_file=entry.file.name,
                name=entry.name, email=entry.email, form_student_id=entry.response.student_id,
                response_row=entry.response.row, in_roster=entry.in_roster))
    zone = zoneinfo.ZoneInfo(course.timezone)
    manifest = Manifest(
        tp=tp, form=form.name, uploads=uploads.name, roster=roster.name if roster else "",
        responses=len(responses), students=records, anomalies=[*anomalies, *found.anomalies],
        ignored=[*extraction.ignored, *(f"{n} (de una respuesta de otro TP)" for n in found.other_tps)],
        notes=export.notes, created_at=dt.datetime.now(zone).isoformat(timespec="seconds"))
    write_atomic(out / REPORT, manifest.to_markdown())
    write_atomic(out / MANIFEST, manifest.to_json())  # last: its presence means "complete"
    return manifest


def _previous_files(out: Path) -> list[str]:
    """The files an earlier intake wrote in ``out`` (to replace them), after checking that ``out``
    holds nothing else."""
    if not out.exists():
        return []
    if not out.is_dir():
        raise UsageError(f"{out} no es una carpeta")
    present = sorted(p.name for p in out.iterdir())
    if not present:
        return []
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        written = {s["file"] for s in data["students"]} | {MANIFEST, REPORT}
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{out} no está vacía y no es una carpeta de 'grader intake' (sin "
                         f"{MANIFEST} legible): elegí una carpeta nueva") from None
    unknown = [name for name in present if name not in written]
    if unknown:
        raise UsageError(f"{out} tiene archivos que no escribió 'grader intake': {unknown}; "
                         "movelos o elegí una carpeta nueva")
    return present


def _damage(path: Path) -> str | None:
    """Why a submission file cannot be a submission (empty, a notebook that is not JSON)."""
    data = path.read_bytes()
    if not data.strip():
        return "está vacío"
    if path.suffix != ".ipynb":
        return None
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"no es un notebook (JSON ilegible: {exc})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return "no es un notebook de Jupyter (no tiene la lista 'cells')"
    return None
