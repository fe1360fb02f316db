"""Why a submission is (re)graded, and what a regrade changed: ``OUT/TP/cambios.md`` and
``cambios.csv``.

A result is reused while the submission's hash and the grading fingerprint match; when they do
not, ``reasons`` compares the result on disk with this batch's setup part by part (the result
stores its fingerprint's parts, ``SubmissionResult.fingerprint_parts``) and says, in Spanish,
what changed: the submission, the checks, the reference, ``course.toml``... ``grader grade
--dry-run`` prints those reasons; a batch that regrades students who had a result compares old
and new results (``change``) and writes the two files (``write_changes``), so staff see whose
grade moved and which checks did (issue 20).

The files describe the last batch that regraded someone who had a result: a batch that regrades
nobody that way leaves them as they were, and one that does overwrites them whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.engine.grade import FINGERPRINT_PARTS
from grader.output.markdown import md_text
from grader.results import SubmissionResult, write_atomic
from grader.submissions import Skipped, Submission

NEW = "nueva"
"""There is no result for this submission yet."""
SUBMISSION = "cambió la entrega"
FORCED = "pedida con --force"
UNREADABLE = "el resultado anterior no se puede leer"
SETUP = "cambió la calificación (el resultado anterior no guarda qué: es de una versión anterior)"
PART_REASONS = {
    "checks": "cambiaron las comprobaciones",
    "reference": "cambió la referencia",
    "course": "cambió course.toml",
    "secret": "cambió el secreto del curso",
    "grader": "cambió la versión del calificador",
    "exercises": "cambiaron los ejercicios elegidos",
}
"""The reason for each part of the fingerprint (``grader.engine.grade.FINGERPRINT_PARTS``)."""

CSV_COLUMNS = ("student", "tp", "reason", "old_score", "new_score", "changed_checks")
"""``cambios.csv``'s columns, in this order (the class report reads them)."""
ABSENT = "ausente"
"""A check's status in ``changed_checks`` where it did not exist: ``public::test_x: ausente -> PASS``
(a new check), ``hidden::test_y: FAIL -> ausente`` (a removed one)."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Planned:
    """What a batch does with one submission, and why."""

    submission: Submission
    reasons: tuple[str, ...]
    """Why it is graded (``reasons``); empty: its current result is reused."""
    previous: SubmissionResult | None = None
    """The result it had, if one could be read: compared with the new one after a regrade."""


@dataclass(frozen=True)
class BatchPlan:
    """What ``grader grade`` would do, without doing it (``--dry-run``)."""

    tp: str
    results: Path
    """``OUT/TP``."""
    planned: list[Planned]
    skipped: list[Skipped]
    running: str = ""
    """Who holds the batch lock of ``results`` right now (``grader.batch.lock``); empty: nobody."""


def reasons(previous: SubmissionResult | None, *, sha256: str, fingerprint: str,
            parts: Mapping[str, str], force: bool = False, unreadable: bool = False,
            ) -> tuple[str, ...]:
    """Why a submission must be graded, in Spanish; empty when its ``previous`` result is
    current and reused.

    Args:
        previous: the result on disk, or ``None`` when there is none (or it cannot be read:
            then ``unreadable``).
        sha256, fingerprint, parts: the submission's hash and this batch's grading setup.
        force: ``--force``; named only when nothing else changed.
    """
    if previous is None:
        return (UNREADABLE,) if unreadable else (NEW,)
    found: list[str] = []
    if previous.submission_sha256 != sha256:
        found.append(SUBMISSION)
    if previous.fingerprint != fingerprint:
        old = previous.fingerprint_parts
        changed = [PART_REASONS[name] for name in FINGERPRINT_PARTS
                   if name in old and old[name] != parts.get(name)]
        found.extend(changed or [SETUP])
    if force and not found:
        found.append(FORCED)
    return tuple(found)


@dataclass(frozen=True)
class Change:
    """One student regraded from an earlier result: one row of ``cambios.csv``."""

    student: str
    tp: str
    reasons: tuple[str, ...]
    old_score: float
    new_score: float
    changed_checks: tuple[str, ...]
    """``CHECK_ID: OLD -> NEW`` for each check whose status changed, appeared or disappeared."""

    def row(self) -> dict[str, str]:
        return {"student": _cell(self.student), "tp": self.tp, "reason": ", ".join(self.reasons),
                "old_score": f"{self.old_score:.2f}", "new_score": f"{self.new_score:.2f}",
                "changed_checks": "; ".join(self.changed_checks)}


def change(old: SubmissionResult, new: SubmissionResult, reasons: Sequence[str]) -> Change:
    """What regrading ``old`` into ``new`` changed."""
    before = {c.id: c.status.value for c in old.checks}
    after = {c.id: c.status.value for c in new.checks}
    changed = [f"{check}: {before.get(check, ABSENT)} -> {after.get(check, ABSENT)}"
               for check in [*after, *(c for c in before if c not in after)]
               if before.get(check) != after.get(check)]
    return Change(student=new.student, tp=new.tp, reasons=tuple(reasons), old_score=old.score,
                  new_score=new.score, changed_checks=tuple(changed))


def write_changes(folder: Path, changes: Sequence[Change]) -> Path | None:
    """Writes ``FOLDER/cambios.md`` and ``cambios.csv`` (each atomically) when there are
    ``changes``; returns the Markdown file's path, or ``None`` (nothing written, the files of an
    earlier batch kept)."""
    if not changes:
        return None
    ordered = sorted(changes, key=lambda c: c.student)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(c.row() for c in ordered)
    write_atomic(folder / "cambios.csv", buffer.getvalue())
    target = folder / "cambios.md"
    write_atomic(target, markdown(ordered))
    return target


def markdown(changes: Sequence[Change]) -> str:
    """``cambios.md``: one row per regraded student, then the checks that changed."""
    tp = changes[0].tp if changes else ""
    moved = sum(1 for c in changes if round(c.old_score, 2) != round(c.new_score, 2))
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    lines = [f"# {md_text(tp)}: recalificaciones", "",
             f"{len(changes)} entregas que ya tenían resultado se recalificaron ({when}); "
             f"a {moved} les cambió la nota.", "",
             "| Estudiante | Motivo | Antes | Ahora | Comprobaciones que cambiaron |",
             "|---|---|--:|--:|---|"]
    for c in changes:
        checks = "; ".join(md_text(text) for text in c.changed_checks) or "ninguna"
        lines.append(f"| {md_text(c.student)} | {md_text(', '.join(c.reasons))} | "
                     f"{c.old_score:.2f} | {c.new_score:.2f} | {checks} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a student named ``=HYPERLINK(...)``)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
