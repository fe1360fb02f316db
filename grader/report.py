"""Feedback for people: the report of one graded submission, in Spanish.

``markdown`` writes it as Markdown (``RESULTS/TP/STUDENT.md``); ``grader.htmlreport`` writes the
same content as a self-contained HTML page. Both take what to show from the helpers here, so the
two never disagree on what a student may see:

- every exercise with its points and how many of its checks passed;
- for each **public** check that did not pass: status, name, message and what the student's code
  printed during it, plus the command that reruns the public checks locally;
- for each **hidden** check that did not pass: status, name and message only.

What a report never shows of a hidden check: its code, its inputs, its expected values (messages
come from ``grader.compare``, which never prints an expected value), what the student's code
printed during it (code that prints its arguments would print the hidden inputs) and the
parametrization id pytest appends to its name (``[0.75]``, ``[stride2-pad1]``, ``[7]``: pytest
builds it from the check's inputs). The function name stays: the course writes it as a short
description of what is checked (``test_conv_backward_matches_finite_differences``). A hidden
check's message is cut at ``MAX_HIDDEN_MESSAGE`` characters: when student code raises, the message
is the student's own text, which could otherwise carry the hidden inputs out in bulk.

Student text is cleaned of terminal controls (``grader.text.clean``) in what these helpers return
and in every Markdown primitive, whatever grader version wrote the result.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath

from .results import CheckResult, ExerciseScore, Status, SubmissionResult
from .text import clean

STATUS_TEXT = {
    Status.PASS: "ok",
    Status.PARTIAL: "parcial",
    Status.FAIL: "incorrecto",
    Status.ERROR: "error",
    Status.TIMEOUT: "tiempo agotado",
    Status.CRASH: "el proceso terminó",
    Status.MEMORY: "sin memoria",
    Status.PROTOCOL: "respuesta inválida",
}
VISIBILITY_TEXT = {"public": "pública", "hidden": "oculta"}
MAX_OUTPUT_LINES = 20
"""Lines of captured output shown per public check (the harness already caps what it keeps)."""
MAX_HIDDEN_MESSAGE = 600
"""Characters of a hidden check's message shown (a traceback of a few frames fits)."""

_PARAMETRIZATION = re.compile(r"\[.*\]$", re.DOTALL)


def check_name(check: CheckResult) -> str:
    """The name shown for a check: a hidden check loses its parametrization id."""
    name = clean(check.id.split("::", 1)[-1])
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
    lines = [f"# {md_text(title or result.tp.upper())}: devolución para {md_text(result.student)}", "",
             f"Archivo: {md_code(result.submission_file)} · Nota: **{result.score:.2f} / 10** "
             f"({result.earned:g} de {result.possible:g} puntos)", ""]
    for note in result.notes:
        lines += [f"> Nota: {md_text(note)}", ""]
    if result.load_error:
        lines += ["## Tu archivo no se pudo cargar", "", "Ninguna comprobación pudo correr:", "",
                  *md_block(result.load_error), ""]
    lines += ["| | Ejercicio | Puntos | Comprobaciones |", "|---|---|---:|---:|"]
    for exercise in result.exercises:
        lines.append(f"| {exercise_mark(exercise)} | {md_text(exercise.title or exercise.name)} | "
                     f"{exercise.earned:.2f} / {exercise.points:.2f} | "
                     f"{exercise.passed} / {exercise.checks} |")
    passed, total = hidden_counts(result)
    if total and not result.load_error:
        lines += ["", f"Comprobaciones ocultas: pasaron {passed} de {total}."]
    grouped = failures(result)
    if grouped:
        lines += ["", "## Qué falló", ""]
        for exercise, items in grouped:
            lines += [f"### {md_text(exercise.title or exercise.name)} ({exercise.earned:.2f} / "
                      f"{exercise.points:.2f})", ""]
            for item in items:
                lines += [*_md_failure(item), ""]
    lines += ["", "## Cómo reproducirlo", "",
              "En la carpeta del TP (la que entrega la cátedra), con tu archivo guardado como "
              f"{md_code(local_file(result))}:", "",
              *md_block(reproduce_command(result)), "",
              "Así corren las comprobaciones públicas. Las ocultas no se pueden correr en tu máquina: "
              "usan otras entradas y solo informan si pasaron y por qué no.", ""]
    if result.started_at:
        lines += [f"Calificado el {md_text(result.started_at[:10])} con grader "
                  f"{md_text(result.grader_version)}.", ""]
    return "\n".join(lines)
