"""The feedback report of one graded submission as Markdown (``RESULTS/TP/STUDENT.md``), in
Spanish, rendered from the feedback model (``grader.output.feedback``, which decides what a student
may see); ``grader.output.html`` renders the same model as a page. The Markdown primitives here
(``md_text``, ``md_code``, ``md_block``) escape everything that came from a student.
"""

from __future__ import annotations

import re

from grader.output.feedback import NOTES_TITLE, Failure, note_parts, of_result
from grader.results import SubmissionResult
from grader.text import clean

# --- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*<>\[\]|#&])|(?<![0-9A-Za-zÀ-ÿ])_|_(?![0-9A-Za-zÀ-ÿ])")


def md_text(text: str) -> str:
    """``text`` as literal Markdown inline text: no emphasis, links, HTML or table breaks.

    An underscore inside a word (``linear_backward``) needs no escape in CommonMark.
    """
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join(clean(text).split()))


def md_code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds."""
    flat = " ".join(clean(text).split())
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def md_block(text: str, indent: str = "") -> list[str]:
    """``text`` as a fenced code block (nothing in it is interpreted), indented by ``indent``."""
    text = clean(text)
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return [f"{indent}{fence}text", *(indent + line for line in text.splitlines()), f"{indent}{fence}"]


def md_note(note: str) -> str:
    """A note as Markdown: its backtick spans as code (``note_parts``), the rest literal."""
    pieces = []
    for text, code in note_parts(note):
        if code:
            pieces.append(md_code(text))
            continue
        # md_text joins whitespace runs and drops the ends: keep one space where text meets code.
        lead = " " if text[:1].isspace() else ""
        trail = " " if text[-1:].isspace() and text.strip() else ""
        pieces.append(lead + md_text(text) + trail)
    return "".join(pieces)


def md_notes(notes: list[str], *, heading: str = "##") -> list[str]:
    """The notes section (after the grade table), or nothing when there are no notes."""
    if not notes:
        return []
    return ["", f"{heading} {NOTES_TITLE}", "", *(f"- {md_note(note)}" for note in notes)]


def _md_failure(item: Failure) -> list[str]:
    head = f"- **{item.status_text}** · {item.visibility_text} · {md_code(item.name)}{item.case_text}"
    if "\n" in item.message:
        lines = [head + ":", "", *md_block(item.message, "  ")]
    else:
        lines = [f"{head}: {md_code(item.message)}"]
    if item.output:
        lines += ["", "  Salida de tu código:", "", *md_block(item.output, "  ")]
    return lines


def markdown(result: SubmissionResult, *, title: str = "") -> str:
    """The student's feedback report for one TP, in Markdown."""
    feedback = of_result(result, title=title)
    lines = [f"# {md_text(feedback.title)}: devolución para {md_text(result.student)}", "",
             f"Archivo: {md_code(feedback.file)} · Nota: **{result.score:.2f} / 10** "
             f"({result.earned:g} de {result.possible:g} puntos)", ""]
    if feedback.load_error:
        lines += ["## Tu archivo no se pudo cargar", "", "Ninguna comprobación pudo correr:", "",
                  *md_block(feedback.load_error), ""]
    lines += ["| | Ejercicio | Puntos | Comprobaciones |", "|---|---|---:|---:|"]
    for exercise in feedback.exercises:
        score = exercise.score
        lines.append(f"| {exercise.mark} | {md_text(exercise.title)} | "
                     f"{score.earned:.2f} / {score.points:.2f} | {score.passed} / {score.checks} |")
    if feedback.hidden_total and not feedback.load_error:
        lines += ["", f"Comprobaciones ocultas: pasaron {feedback.hidden_passed} de "
                      f"{feedback.hidden_total}."]
    lines += md_notes(feedback.notes)
    if feedback.failed:
        lines += ["", "## Qué falló", ""]
        for exercise in feedback.failed:
            lines += [f"### {md_text(exercise.title)} ({exercise.score.earned:.2f} / "
                      f"{exercise.score.points:.2f})", ""]
            for item in exercise.failures:
                lines += [*_md_failure(item), ""]
    lines += ["", "## Cómo reproducirlo", "",
              "En la carpeta del TP (la que entrega la cátedra), con tu archivo guardado como "
              f"{md_code(feedback.local_file)}:", "",
              *md_block(feedback.reproduce_command), "",
              "Así corren las comprobaciones públicas. Las ocultas no se pueden correr en tu máquina: "
              "usan otras entradas y solo informan si pasaron y por qué no.", ""]
    if result.started_at:
        lines += [f"Calificado el {md_text(result.started_at[:10])} con grader "
                  f"{md_text(result.grader_version)}.", ""]
    return "\n".join(lines)
