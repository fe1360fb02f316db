"""The terminal's view of a ``grader check`` report (the CLI and a notebook's kernel show it).

Everything a student wrote passes through ``shown`` first: rich's markup escaped and terminal
controls removed (rich passes ESC through, so an OSC 52 in an exception message would write the
clipboard of whoever runs the command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from .results import Status
from .text import clean

if TYPE_CHECKING:
    from .check import CheckReport

STATUS_MARK = {True: "[green]✔[/green]", False: "[red]✘[/red]"}


def shown(text: object) -> str:
    """Text that may come from a student (names, messages, output), to print with rich markup."""
    return escape(clean(str(text)))


def render_check(report: CheckReport, console: Console) -> None:
    """Prints a ``grader check`` report: one line per exercise, what failed and why."""
    title = report.assignment.title or report.assignment.name
    console.print(f"[bold]{shown(title)}[/bold] — comprobaciones públicas de "
                  f"{shown(report.file.name)}")
    for note in report.notes:
        console.print(f"Nota: {clean(note)}", markup=False)
    if report.load_error:
        console.print(f"\n[red]Tu archivo no se pudo cargar:[/red] {shown(report.load_error)}")
    console.print()
    width = max(len(e.title or e.name) for e in report.exercises)
    for exercise in report.exercises:
        own = [c for c in report.checks if c.exercise == exercise.name]
        label = (exercise.title or exercise.name).ljust(width)
        if not own:
            console.print(f"  [dim]-[/dim] {label}  [dim]sin comprobaciones públicas[/dim]")
            continue
        ok = all(c.status is Status.PASS for c in own)
        console.print(f"  {STATUS_MARK[ok]} {label}  {exercise.earned:5.2f} / {exercise.points:.2f}")
        if report.load_error:
            continue
        for c in own:
            if c.status is not Status.PASS:
                name = c.id.split("::", 1)[-1]
                console.print(f"      [red]{c.status.value}[/red] {shown(name)}: {shown(c.message)}")
                if c.output:
                    console.print("        salida: " + clean(c.output).strip().replace(
                        "\n", "\n        "), markup=False)
    console.print(f"\nTotal de las comprobaciones públicas: {report.earned:g} / {report.possible:g}"
                  f" puntos ({report.score:.2f} / 10).")
    if not report.passed:
        console.print("Corregí lo que falló y volvé a correr el comando.")
    else:
        console.print("[green]Todas las comprobaciones públicas pasan.[/green] Al calificar se "
                      "corren además comprobaciones ocultas.")
