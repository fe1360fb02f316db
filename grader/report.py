"""Feedback for people: a Markdown report per graded submission, in Spanish.

It lists each exercise with its points and, for each failed check, what was wrong. Hidden checks
show their status and message (which never contains reference values, see ``grader.compare``)
but not their code or inputs.
"""

from __future__ import annotations

from .results import CheckResult, Status, SubmissionResult

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


def _check_line(check: CheckResult) -> str:
    where = "pública" if check.visibility == "public" else "oculta"
    name = check.id.split("::", 1)[-1]
    text = f"- **{STATUS_TEXT[check.status]}** ({where}) `{name}`: {check.message}"
    if check.output:
        text += "\n\n  Salida de tu código:\n\n" + "\n".join(
            "      " + line for line in check.output.splitlines()[:20])
    return text


def markdown(result: SubmissionResult, *, title: str = "") -> str:
    """The student's feedback report for one TP."""
    lines = [f"# {title or result.tp.upper()}: devolución para {result.student}", "",
             f"Archivo: `{result.submission_file}` · Nota: **{result.score:.2f} / 10** "
             f"({result.earned:g} de {result.possible:g} puntos)", ""]
    if result.load_error:
        lines += ["> **Tu archivo no se pudo cargar**, así que ninguna comprobación pudo correr:",
                  ">", *[f"> {line}" for line in result.load_error.splitlines()], ""]
    for note in result.notes:
        lines.append(f"> Nota: {note}")
    lines += ["| Ejercicio | Puntos | Comprobaciones |", "|---|---:|---:|"]
    for exercise in result.exercises:
        lines.append(f"| {exercise.title or exercise.name} | {exercise.earned:.2f} / "
                     f"{exercise.points:.2f} | {exercise.passed} / {exercise.checks} |")
    failed = [c for c in result.checks if c.status is not Status.PASS]
    if failed and not result.load_error:
        lines += ["", "## Qué falló", ""]
        for exercise in result.exercises:
            own = [c for c in failed if c.exercise == exercise.name]
            if own:
                lines += [f"### {exercise.title or exercise.name}", "",
                          *[_check_line(c) for c in own], ""]
    lines += ["", f"Para reproducir las comprobaciones públicas: `grader check {result.tp} "
              f"{result.submission_file}` en la carpeta del TP.", ""]
    return "\n".join(lines)
