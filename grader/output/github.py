"""Feedback on GitHub: a ``grader check`` run as a job summary (Markdown in
``$GITHUB_STEP_SUMMARY``) and as workflow-command annotations on the student's file, rendered from
the feedback model (``grader.output.feedback``). Which failing checks a student sees, hidden ones
folded, comes from ``grader.output.formats.entries``; where in the file, from
``grader.student.github``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grader.output.feedback import STATUS_TEXT, Feedback
from grader.output.formats import LOAD_ERROR_NAME, Entry
from grader.output.markdown import md_notes
from grader.text import clean


def _cell(text: str) -> str:
    return clean(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(feedback: Feedback, failed: Sequence[Entry]) -> str:
    """The job summary: a table per exercise with points, then what failed (in Spanish)."""
    result = feedback.result
    lines = [f"## {feedback.title}: comprobaciones públicas", "",
             f"{'✅' if feedback.passed else '❌'} **{result.earned:g} / {result.possible:g} puntos** "
             f"({result.score:.2f} / 10) en `{feedback.file}`", ""]
    if feedback.load_error:
        lines += ["> **Tu archivo no se pudo cargar**, así que ninguna comprobación pudo correr:",
                  ">", *[f"> {line}" for line in feedback.load_error.splitlines()], ""]
    lines += ["| Ejercicio | Puntos | Comprobaciones | |", "|---|---:|---:|:-:|"]
    for exercise in feedback.exercises:
        score = exercise.score
        mark = "—" if not score.checks else ("✅" if score.passed == score.checks else "❌")
        lines.append(f"| {_cell(exercise.title)} | {score.earned:.2f} / {score.points:.2f} | "
                     f"{score.passed} / {score.checks} | {mark} |")
    lines.append(f"| **Total** | **{result.earned:.2f} / {result.possible:.2f}** | | |")
    lines += md_notes(feedback.notes, heading="###")
    if failed and not feedback.load_error:
        lines += ["", "### Qué falló", ""]
        for entry in failed:
            where = f"**{_cell(entry.title)}** · `{entry.name}`" if entry.exercise else "**Ocultas**"
            lines.append(f"- {where} ({STATUS_TEXT[entry.status]}): {_cell(entry.message)}")
            if entry.output:
                lines += ["", "  ```text",
                          *[f"  {line}" for line in clean(entry.output).splitlines()[:20]],
                          "  ```"]
    lines += ["", f"Para verlo en tu máquina: `grader check {result.tp} {feedback.file}`. Al "
              "calificar se corren además comprobaciones ocultas.", ""]
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    # Workflow-command escaping (@actions/core's escapeData): a message can never end the command.
    # Student text loses its terminal controls first, as on every other surface (issue 15).
    return clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_commands(feedback: Feedback, failed: Sequence[Entry], *,
                        lines: Mapping[str, int], file: str) -> list[str]:
    """One ``::error`` workflow command per failing check (folded ones as one) on ``file``, at
    its line in ``lines`` (check id -> line) where known."""
    where_file = _escape_property(file)

    def command(title: str, message: str, line: int | None) -> str:
        where = f"file={where_file}" + (f",line={line}" if line else "")
        return f"::error {where},title={_escape_property(title)}::{_escape_data(message)}"

    if feedback.load_error:
        return [command("Tu archivo no se pudo cargar", feedback.load_error,
                        lines.get(LOAD_ERROR_NAME))]
    return [command(f"{entry.title}: {entry.name} ({STATUS_TEXT[entry.status]})" if entry.exercise
                    else "Comprobaciones ocultas", entry.message, lines.get(entry.check_id))
            for entry in failed]
