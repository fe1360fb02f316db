"""The one feedback model: what every surface shows a student about one graded file.

A ``Feedback`` is built from a graded submission (``of_result``) or from a ``grader check`` run
(``of_check``); each surface renders it: the terminal (``grader.output.terminal``), Markdown
(``grader.output.markdown``), HTML pages and notebook output (``grader.output.html``) and GitHub's
job summary (``grader.output.github``). What a student may see is decided here, once:

- every exercise with its points and how many of its checks passed;
- for each **public** check that did not pass: status, name, message and what the student's code
  printed during it;
- for each **hidden** check that did not pass: status, name and message only;
- the result's notes (how the file was read: notebook cells that did not run, files ignored),
  after the grade table, under ``NOTES_TITLE``.

Every surface names outcomes with ``STATUS_TEXT`` and counts with ``checks_text`` and
``failed_text`` (``1 comprobación falló``), so a student reads the same words everywhere.

What feedback never shows of a hidden check: its code, its inputs, its expected values (messages
come from ``grader.compare``, which never prints an expected value), what the student's code
printed during it (code that prints its arguments would print the hidden inputs) and the
parametrization id pytest appends to its name (``[0.75]``, ``[stride2-pad1]``, ``[7]``: pytest
builds it from the check's inputs). The function name stays: the course writes it as a short
description of what is checked (``test_conv_backward_matches_finite_differences``). A hidden
check's message is cut at ``MAX_HIDDEN_MESSAGE`` characters: when student code raises, the message
is the student's own text, which could otherwise carry the hidden inputs out in bulk.

Student text is cleaned of terminal controls (``grader.text.clean``) in everything the model
returns, whatever grader version wrote the result.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from grader import __version__
from grader.results import CheckResult, ExerciseScore, Status, SubmissionResult
from grader.text import clean

if TYPE_CHECKING:
    from grader.student.check import CheckReport

STATUS_TEXT = {
    Status.PASS: "bien",
    Status.PARTIAL: "parcial",
    Status.FAIL: "incorrecto",
    Status.ERROR: "error",
    Status.TIMEOUT: "tiempo agotado",
    Status.CRASH: "se cayó",
    Status.MEMORY: "sin memoria",
    Status.PROTOCOL: "respuesta inválida",
}
"""The one Spanish label of each outcome, on every surface a person reads (terminal, notebook,
Markdown, HTML, GitHub, the batch's lines, the class report). Machine formats keep the
``Status`` values (``PASS``, ``FAIL``, ...): the result JSON, JUnit, Gradescope, Classroom."""
VISIBILITY_TEXT = {"public": "pública", "hidden": "oculta"}
MAX_OUTPUT_LINES = 20
"""Lines of captured output shown per public check (the harness already caps what it keeps)."""
MAX_HIDDEN_MESSAGE = 600
"""Characters of a hidden check's message shown (a traceback of a few frames fits)."""

_PARAMETRIZATION = re.compile(r"\[.*\]$", re.DOTALL)


def short_id(check: CheckResult) -> str:
    """A check's id without its file: ``test_linear_forward[3]`` for
    ``public/test_tp1.py::test_linear_forward[3]``."""
    return check.id.split("::", 1)[-1]


def check_name(check: CheckResult) -> str:
    """The name shown for a check: a hidden check loses its parametrization id."""
    name = clean(short_id(check))
    return _PARAMETRIZATION.sub("", name) if check.visibility != "public" else name


def shown_message(check: CheckResult) -> str:
    """The message shown for ``check``; a hidden check's is capped."""
    message = clean(check.message).strip() or "sin mensaje"
    if check.visibility != "public" and len(message) > MAX_HIDDEN_MESSAGE:
        return message[:MAX_HIDDEN_MESSAGE].rstrip() + " … (mensaje recortado)"
    return message


def shown_output(check: CheckResult) -> str:
    """What the student's code printed during ``check``, as shown: public checks only, capped."""
    if check.visibility != "public" or not check.output.strip():
        return ""
    lines = clean(check.output).rstrip().splitlines()
    if len(lines) > MAX_OUTPUT_LINES:
        lines = [*lines[:MAX_OUTPUT_LINES], f"… ({len(lines) - MAX_OUTPUT_LINES} líneas más)"]
    return "\n".join(lines)


@dataclass(frozen=True)
class Failure:
    """One check that did not pass, as a report shows it."""

    check: CheckResult
    name: str
    """``check_name(check)``."""
    case: int
    """1, 2, ... when failed hidden checks of one exercise share a name (their ids differ only
    in the parametrization, which is not shown); 0 otherwise."""
    message: str
    """``shown_message(check)``."""
    output: str
    """``shown_output(check)``: always empty for hidden checks."""

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.check.status]

    @property
    def visibility_text(self) -> str:
        return VISIBILITY_TEXT.get(self.check.visibility, self.check.visibility)

    @property
    def case_text(self) -> str:
        return f" (caso {self.case})" if self.case else ""


def failures(result: SubmissionResult) -> list[tuple[ExerciseScore, list[Failure]]]:
    """The checks that did not pass, grouped by exercise in the TP's order (none after a load
    error: then no check could run, and the report says why once)."""
    if result.load_error:
        return []
    grouped = []
    for exercise in result.exercises:
        own = [c for c in result.checks if c.exercise == exercise.name and c.status is not Status.PASS]
        if not own:
            continue
        repeated = Counter(check_name(c) for c in own)
        seen: Counter[str] = Counter()
        items = []
        for check in own:
            name = check_name(check)
            seen[name] += 1
            items.append(Failure(check, name, seen[name] if repeated[name] > 1 else 0,
                                 shown_message(check), shown_output(check)))
        grouped.append((exercise, items))
    return grouped


def hidden_counts(result: SubmissionResult) -> tuple[int, int]:
    """``(passed, total)`` over the hidden checks."""
    hidden = [c for c in result.checks if c.visibility == "hidden"]
    return sum(1 for c in hidden if c.status is Status.PASS), len(hidden)


def local_file(result: SubmissionResult) -> str:
    """The student's own name for the file: ``tp1.py`` or ``tp1.ipynb`` (the course stores it
    under the student's name)."""
    return result.tp + (PurePath(result.submission_file).suffix or ".py")


def reproduce_command(result: SubmissionResult) -> str:
    """What the student runs in the TP's folder (``grader release``) to rerun the public checks."""
    return f"grader check {result.tp} {local_file(result)}"


def exercise_mark(exercise: ExerciseScore) -> str:
    """✔ all points, ◐ some, ✘ none."""
    if exercise.earned >= exercise.points - 1e-9:
        return "✔"
    return "◐" if exercise.earned > 0 else "✘"


def checks_text(count: int) -> str:
    """``1 comprobación``, ``3 comprobaciones``."""
    return "1 comprobación" if count == 1 else f"{count} comprobaciones"


def failed_text(count: int) -> str:
    """``1 comprobación falló``, ``3 comprobaciones fallaron``."""
    return checks_text(count) + (" falló" if count == 1 else " fallaron")


NOTES_TITLE = "Para tener en cuenta"
"""The heading of a result's notes (how the file was read: cells that did not run, files
ignored), shown after the grade table; never "Nota", which is also the grade."""


def shown_notes(notes: list[str]) -> list[str]:
    """A result's notes as shown (under ``NOTES_TITLE``, after the grade table): cleaned, each
    starting with a capital letter."""
    shown = (clean(note).strip() for note in notes)
    return [note[:1].upper() + note[1:] for note in shown if note]


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def note_parts(note: str) -> list[tuple[str, bool]]:
    """``note`` as ``(text, is_code)`` pieces: the notes quote code between backticks
    (``celda 2: `capa` usa `W0` ...``), which a Markdown or HTML surface shows as code."""
    parts: list[tuple[str, bool]] = []
    start = 0
    for match in _CODE_SPAN.finditer(note):
        if match.start() > start:
            parts.append((note[start:match.start()], False))
        parts.append((match.group(1), True))
        start = match.end()
    if start < len(note):
        parts.append((note[start:], False))
    return parts


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseFeedback:
    """One exercise as feedback shows it."""

    score: ExerciseScore
    checks: tuple[CheckResult, ...]
    """Its checks in the result (a ``grader check`` run has only public ones)."""
    failures: tuple[Failure, ...]
    """Its checks that did not pass, as shown; none after a load error (then no check ran)."""

    @property
    def title(self) -> str:
        return self.score.title or self.score.name

    @property
    def mark(self) -> str:
        return exercise_mark(self.score)

    @property
    def all_passed(self) -> bool:
        return all(c.status is Status.PASS for c in self.checks)


@dataclass(frozen=True)
class Feedback:
    """What every surface shows about one graded file (see the module docstring)."""

    result: SubmissionResult
    title: str
    """The TP's title (``TP1`` when the course gives none)."""
    exercises: tuple[ExerciseFeedback, ...]
    hidden_passed: int
    hidden_total: int
    in_notebook: bool = False
    """Shown in a notebook (``grader.check``): the student reruns a cell, not a command."""

    @property
    def file(self) -> str:
        return self.result.submission_file

    @property
    def notes(self) -> list[str]:
        return shown_notes(self.result.notes)

    @property
    def next_step(self) -> str:
        """The last line of a run with checks that did not pass."""
        again = "volvé a ejecutar la celda" if self.in_notebook else "volvé a correr el comando"
        return f"Corregí lo que falló y {again}."

    @property
    def load_error(self) -> str:
        return self.result.load_error

    @property
    def passed(self) -> bool:
        """Every check ran and passed."""
        return not self.load_error and bool(self.result.checks) and all(
            c.status is Status.PASS for c in self.result.checks)

    @property
    def failed(self) -> list[ExerciseFeedback]:
        """The exercises with checks that did not pass, in the TP's order."""
        return [e for e in self.exercises if e.failures]

    @property
    def local_file(self) -> str:
        return local_file(self.result)

    @property
    def reproduce_command(self) -> str:
        return reproduce_command(self.result)


def of_result(result: SubmissionResult, *, title: str = "", in_notebook: bool = False) -> Feedback:
    """The feedback of a graded submission."""
    grouped = {exercise.name: items for exercise, items in failures(result)}
    passed, total = hidden_counts(result)
    return Feedback(
        result=result, title=title or result.tp.upper(),
        exercises=tuple(ExerciseFeedback(e, tuple(c for c in result.checks if c.exercise == e.name),
                                         tuple(grouped.get(e.name, ())))
                        for e in result.exercises),
        hidden_passed=passed, hidden_total=total, in_notebook=in_notebook)


def of_check(report: CheckReport) -> Feedback:
    """The feedback of a ``grader check`` run (public checks only, no student name)."""
    return of_result(result_of(report), title=report.assignment.title or report.assignment.name,
                     in_notebook=report.in_notebook)


def result_of(report: CheckReport) -> SubmissionResult:
    """The result model of a ``grader check`` run, so every writer serves it too."""
    return SubmissionResult(
        student="", tp=report.assignment.name, submission_file=report.file.name,
        submission_sha256="", grader_version=__version__, fingerprint="", checks=report.checks,
        exercises=report.exercises, earned=report.earned, possible=report.possible,
        score=report.score, load_error=report.load_error, notes=list(report.notes))
