"""The terminal's view of a ``grader check`` report (the CLI and a notebook's kernel show it).

Everything a student wrote passes through ``shown`` first: rich's markup escaped and terminal
controls removed (rich passes ESC through, so an OSC 52 in an exception message would write the
clipboard of whoever runs the command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from grader.output.feedback import NOTES_TITLE, Feedback, of_check
from grader.text import clean

if TYPE_CHECKING:
    from grader.student.check import CheckReport

STATUS_MARK = {True: "[green]✔[/green]", False: "[red]✘[/red]"}


def shown(text: object) -> str:
    """Text that may come from a student (names, messages, output), to print with rich markup."""
    return escape(clean(str(text)))


def render_check(report: CheckReport, console: Console) -> None:
    """Prints a ``grader check`` report: one line per exercise, what failed and why."""
    render(of_check(report), console)


def render(feedback: Feedback, console: Console) -> None:
    """Prints the feedback of a ``grader check`` run (public checks only)."""
    console.print(f"[bold]{shown(feedback.title)}[/bold] — comprobaciones públicas de "
                  f"{shown(feedback.file)}")
    if feedback.load_error:
        console.print(f"\n[red]Tu archivo no se pudo cargar:[/red] {shown(feedback.load_error)}")
    console.print()
    width = max(len(e.title) for e in feedback.exercises)
    for exercise in feedback.exercises:
        label = exercise.title.ljust(width)
        if not exercise.checks and not feedback.load_error:
            console.print(f"  [dim]-[/dim] {label}  [dim]sin comprobaciones públicas[/dim]")
            continue
        ok = exercise.all_passed and not feedback.load_error
        console.print(f"  {STATUS_MARK[ok]} {label}  "
                      f"{exercise.score.earned:5.2f} / {exercise.score.points:.2f}")
        # The student's own machine and public checks: the whole message and output are shown.
        for item in exercise.failures:
            console.print(f"      [red]{shown(item.status_text)}[/red] {shown(item.name)}: "
                          f"{shown(item.message)}")
            if item.check.output:
                console.print("        salida: " + clean(item.check.output).strip().replace(
                    "\n", "\n        "), markup=False)
    result = feedback.result
    console.print(f"\nTotal de las comprobaciones públicas: {result.earned:g} / {result.possible:g}"
                  f" puntos ({result.score:.2f} / 10).")
    if feedback.notes:
        console.print(f"\n{NOTES_TITLE}:")
        for note in feedback.notes:
            console.print(f"  · {note}", markup=False)
    if not feedback.passed:
        console.print(("\n" if feedback.notes else "") + feedback.next_step)
    else:
        console.print(("\n" if feedback.notes else "") + "[green]Todas las comprobaciones "
                      "públicas pasan.[/green] Al calificar se corren además comprobaciones ocultas.")
