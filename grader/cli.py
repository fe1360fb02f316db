"""The ``grader`` command line: each command parses, calls one library function, renders."""

from __future__ import annotations

import atexit
import enum
import gc
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader import __version__
from grader.errors import GraderError
from grader.output.feedback import STATUS_TEXT, failed_text
from grader.output.terminal import STATUS_MARK, render_check
from grader.output.terminal import shown as _shown
from grader.results import Status
from grader.text import clean

if TYPE_CHECKING:
    from grader.course import Course
    from grader.course.adjustments import Adjustments
    from grader.intake.roster import Roster


class ExitCode(enum.IntEnum):
    """How a ``grader`` command ends."""

    OK = 0
    """Everything passed (check, selftest) or was graded (grade)."""
    FAILED = 1
    """Some check failed, or some submission got no result; or a course/grading error."""
    USAGE = 2
    """Bad command-line input: a missing file or folder, an unknown option."""
    INTERRUPTED = 130
    """Ctrl-C: what was already graded is kept."""


def _console(err: bool = False) -> Console:
    return Console(stderr=err, highlight=False, soft_wrap=True)


def _course_file(course: Path | None) -> Path:
    from grader.course import find_course

    found = course or find_course(Path.cwd())
    if found is None:
        raise click.UsageError("no encontré course.toml en esta carpeta ni en las superiores; "
                               "pasá --course RUTA/course.toml")
    return found


def _class_list(course: Course, roster: Path | None,
                adjustments: Path | None) -> tuple[Roster | None, Adjustments | None]:
    """The roster and the manual adjustments, from the options or else from ``course.toml``:
    one place, so ``gradebook``, ``export --format moodle`` and ``report`` count the same
    students with the same grades."""
    from grader.course.adjustments import load_adjustments
    from grader.intake.roster import read_roster

    roster = roster or (course.roster.path if course.roster else None)
    adjustments = adjustments or course.adjustments
    return (read_roster(roster, course.roster) if roster is not None else None,
            load_adjustments(adjustments, course) if adjustments is not None else None)


class _GraderGroup(click.Group):
    """Turns ``GraderError`` into a clean message and exit code instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            _console(err=True).print(f"[red]error:[/red] {_shown(exc)}", markup=True)
            sys.exit(exc.exit_code)


@click.group(cls=_GraderGroup)
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Calificador de los TPs de Aprendizaje Profundo (FIUBA)."""


@main.command()
@click.argument("tp")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--checks", "checks_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Carpeta con las comprobaciones públicas (por defecto checks/ al lado).")
@click.option("--backend", type=click.Choice(["subprocess", "inprocess"]), default="subprocess",
              show_default=True,
              help="Dónde corre tu código: un proceso aparte, o este mismo (más rápido, sin "
                   "protección ante bucles infinitos u os._exit).")
@click.option("--github", is_flag=True,
              help="En GitHub Actions: tabla por ejercicio en $GITHUB_STEP_SUMMARY y anotaciones "
                   "en las líneas que fallan.")
@click.option("--classroom", is_flag=True,
              help="En GitHub Actions: la salida de GitHub Classroom (result=...) en $GITHUB_OUTPUT.")
def check(tp: str, file: Path, checks_dir: Path | None, backend: str, github: bool,
          classroom: bool) -> None:
    """Corre las comprobaciones públicas de TP sobre tu archivo (.py o .ipynb)."""
    from grader.student.check import check_file
    from grader.student.github import Targets, publish

    targets = Targets.from_env(github=github, classroom=classroom)
    report = check_file(tp, file, checks_dir=checks_dir, backend=backend)
    render_check(report, _console())
    publish(report, targets, out=sys.stdout)
    # At exit nothing is left to collect: freezing skips the interpreter's last pass over every
    # object torch made, 0.3 s of CPU in the command a student runs most (issue 23).
    atexit.register(gc.freeze)
    sys.exit(ExitCode.OK if report.passed else ExitCode.FAILED)


@main.command()
@click.argument("tp")
@click.argument("submissions", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Carpeta de resultados (se puede reanudar).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Entregas en paralelo [núcleos]; cada una usa núcleos / N hilos de BLAS.")
@click.option("--backend", type=click.Choice(["subprocess", "docker"]), default="subprocess",
              show_default=True)
@click.option("--gpus", default="none", show_default=True,
              help="none, all (todas para cada entrega) o N (una GPU por trabajo: el trabajo k usa "
                   "la GPU k mod N); con subprocess y con docker.")
@click.option("--image", default=None, help="Con docker: la imagen del sandbox "
              "[grader-sandbox:cpu, o :gpu con --gpus].")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--force", is_flag=True, help="Recalificar aunque ya haya un resultado vigente.")
@click.option("--cluster", default=None, metavar="tcp://HOST:PUERTO",
              help="Calificar cada entrega como una tarea de un cluster de Dask (el scheduler de "
                   "'dask scheduler'); los resultados se escriben acá. Necesita fiuba-ap-grader[cluster].")
@click.option("--dry-run", is_flag=True,
              help="No califica ni escribe nada: dice qué entregas se calificarían y por qué.")
def grade(tp: str, submissions: Path, out: Path, jobs: int | None, backend: str, gpus: str,
          image: str | None, course: Path | None, force: bool, cluster: str | None,
          dry_run: bool) -> None:
    """Califica todas las entregas de SUBMISSIONS con las comprobaciones públicas y ocultas."""
    from grader.batch.local import grade_batch, plan_batch

    console = _console(err=True)
    if dry_run:
        _print_plan(plan_batch(_course_file(course), tp, submissions, out, force=force), console)
        sys.exit(ExitCode.OK)
    if cluster is not None and jobs is not None:
        raise click.UsageError("--jobs no se usa con --cluster: cada worker de Dask califica tantas "
                               "entregas a la vez como su --nthreads")
    jobs = jobs if jobs is not None else os.cpu_count() or 1
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=not console.is_terminal)
    task = progress.add_task(f"calificando {tp}", total=None)
    done = 0

    def on_start(total: int) -> None:
        progress.update(task, total=total)

    def on_event(event: object) -> None:
        nonlocal done
        from grader.batch.request import BatchEvent

        assert isinstance(event, BatchEvent)
        if event.kind == "skipped":
            progress.console.print(f"[yellow]omitido[/yellow] {_shown(event.student)}: "
                                   f"{_shown(event.message)}")
            return
        done += 1
        progress.advance(task)
        if event.result is not None:
            r = event.result
            bad = sum(1 for c in r.checks if c.status is not Status.PASS)
            state = "ya calificado" if event.kind == "reused" else f"{r.duration_s:.1f} s"
            extra = " · no se pudo cargar" if r.load_error else (f" · {failed_text(bad)}" if bad else "")
            progress.console.print(f"[{done}] {_shown(event.student)}: {r.score:5.2f} / 10 ({state})"
                                   f"{extra}")
        else:
            progress.console.print(f"[{done}] [red]{_shown(event.student)}: sin resultado[/red]: "
                                   f"{_shown(event.message)}")

    def loud(message: object, category: type[Warning], *args: object, **kwargs: object) -> None:
        progress.console.print(f"[bold red]ATENCIÓN:[/bold red] {_shown(message)}")

    with warnings.catch_warnings(), progress:
        warnings.simplefilter("always")
        warnings.showwarning = loud
        try:
            summary = grade_batch(_course_file(course), tp, submissions, out, jobs=jobs,
                                  backend=backend, force=force, gpus=gpus, image=image,
                                  cluster=cluster, on_event=on_event, on_start=on_start)
        except KeyboardInterrupt:
            console.print(f"\n[yellow]Interrumpido.[/yellow] Los resultados ya escritos en {out} "
                          "se conservan; volvé a correr el mismo comando para seguir.")
            sys.exit(ExitCode.INTERRUPTED)
    console.print(f"\n{summary.total} entregas: {summary.graded} calificadas ahora, "
                  f"{summary.reused} ya estaban, {len(summary.failed)} sin resultado, "
                  f"{len(summary.skipped)} entradas omitidas. Resultados en {out / tp}.")
    if summary.changes_file is not None:
        console.print(f"{summary.changes} recalificadas con cambios: ver "
                      f"{_shown(summary.changes_file)}")
    if summary.oversubscribed:
        console.print(f"[yellow]La máquina estuvo sobrecargada (carga de hasta "
                      f"{summary.peak_load:.1f} con {summary.cores} núcleos). Las notas no "
                      "cambian por eso (los límites de tiempo son de CPU), pero un "
                      f"'{STATUS_TEXT[Status.TIMEOUT]}' de reloj en esta corrida puede deberse a "
                      "la carga.[/yellow]")
    for failure in summary.failed:
        console.print(f"[red]sin resultado[/red] {_shown(failure)}")
    sys.exit(ExitCode.FAILED if summary.failed else ExitCode.OK)


def _print_plan(plan: object, console: Console) -> None:
    """``grader grade --dry-run``: per submission, graded (and why) or reused."""
    from grader.batch.changes import BatchPlan

    assert isinstance(plan, BatchPlan)
    for item in plan.skipped:
        console.print(f"[yellow]omitido[/yellow] {_shown(item.entry.name)}: {_shown(item.reason)}")
    graded = [p for p in plan.planned if p.reasons]
    for planned in plan.planned:
        student = _shown(planned.submission.student)
        if planned.reasons:
            console.print(f"se califica {student}: {_shown(', '.join(planned.reasons))}")
        else:
            console.print(f"[dim]se reutiliza {student}: resultado vigente[/dim]")
    if plan.running:
        console.print(f"[yellow]Ahora hay una corrida usando {_shown(plan.results)}[/yellow] "
                      f"({_shown(plan.running)}): otro 'grader grade' ahí falla hasta que termine.")
    console.print(f"\nSimulación (--dry-run), no se calificó ni escribió nada: {len(graded)} "
                  f"entregas se calificarían, {len(plan.planned) - len(graded)} se reutilizarían, "
                  f"{len(plan.skipped)} entradas omitidas.")


@main.command()
@click.argument("results_dir", metavar="RESULTS", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--long", "long_out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="También un CSV largo: una fila por estudiante y comprobación.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Padrón (CSV con padrón, nombre y email): una fila por estudiante del padrón "
                   "[el de [roster] en course.toml, si hay].")
@click.option("--adjustments", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Ajustes manuales de notas (ajustes.toml) [el de [adjustments] en course.toml, "
                   "si hay].")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
def gradebook(results_dir: Path, out: Path, long_out: Path | None, roster: Path | None,
              adjustments: Path | None, course: Path | None) -> None:
    """Escribe la planilla del curso a partir de los resultados."""
    from grader.course import load_course
    from grader.output import gradebook as book

    course_data = load_course(_course_file(course))
    roster_data, adjustments_data = _class_list(course_data, roster, adjustments)
    collected = book.collect(results_dir, course_data)
    frame = book.build(collected, course_data, roster=roster_data, adjustments=adjustments_data)
    book.write_csv(frame, out)
    if long_out is not None:
        book.write_csv(book.build_long(collected), long_out)
    console = _console()
    for problem in collected.problems:
        console.print(f"[yellow]atención:[/yellow] {_shown(problem)}")
    if adjustments_data is not None:
        console.print(f"ajustes manuales aplicados: {len(adjustments_data)} ({adjustments_data.path})")
    console.print(f"{len(frame)} estudiantes → {out}")


@main.command()
@click.argument("tp")
@click.option("--form", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Las respuestas del formulario, descargadas como CSV.")
@click.option("--uploads", type=click.Path(path_type=Path), required=True,
              help="El zip con los archivos subidos al formulario, o la carpeta donde se descomprimió.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Padrón (CSV con padrón, nombre y email) [el de [roster] en course.toml, si hay].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Carpeta de entregas para 'grader grade' (nueva, vacía o de un intake anterior).")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
def intake(tp: str, form: Path, uploads: Path, roster: Path | None, out: Path,
           course: Path | None) -> None:
    """Arma la carpeta de entregas de TP a partir del formulario: un archivo por estudiante,
    intake.json (cuándo entregó cada uno) e intake.md (las anomalías)."""
    from grader.course import load_course
    from grader.intake import run_intake

    course_data = load_course(_course_file(course))
    roster = roster or (course_data.roster.path if course_data.roster else None)
    manifest = run_intake(course_data, tp, form=form, uploads=uploads, roster=roster, out=out)
    console = _console()
    for note in manifest.notes:
        console.print(f"[yellow]atención:[/yellow] {_shown(note)}")
    for anomaly in manifest.anomalies:
        console.print(f"[yellow]{anomaly.kind}:[/yellow] {_shown(anomaly.detail)}")
    console.print(f"{len(manifest.students)} entregas de {tp} ({manifest.responses} respuestas, "
                  f"{len(manifest.anomalies)} anomalías) → {out}; detalle en {out / 'intake.md'}")


@main.command()
@click.argument("source", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True,
              type=click.Choice(["gradescope", "junit", "classroom", "csv", "moodle"]))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Archivo (junit, csv, moodle, o un solo resultado) o carpeta (gradescope y "
                   "classroom de una carpeta de resultados: OUT/TP/ESTUDIANTE.json).")
@click.option("--tp", default=None, help="Solo este TP.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Con moodle: el padrón (CSV con padrón, nombre y email) [el de [roster] en "
                   "course.toml, si hay].")
@click.option("--worksheet", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Con moodle y --tp: la planilla de calificación fuera de línea descargada de "
                   "la tarea; OUT es esa planilla con las notas y devoluciones del TP.")
@click.option("--audience", type=click.Choice(["students", "staff"]), default="students",
              show_default=True,
              help="students: las comprobaciones ocultas o que todavía no se ven quedan en un "
                   "solo total, sin nombres ni mensajes; staff: todo.")
@click.option("--published", is_flag=True,
              help="Las notas ya se publicaron: mostrar las comprobaciones after_published.")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
def export(source: Path, fmt: str, out: Path, tp: str | None, roster: Path | None,
           worksheet: Path | None, audience: str, published: bool, course: Path | None) -> None:
    """Escribe los resultados como Gradescope, JUnit XML, GitHub Classroom, la planilla CSV o
    las notas para el Campus (Moodle)."""
    from grader.course import load_course
    from grader.output import formats

    if fmt == "moodle":
        _export_moodle(source, _course_file(course), out, tp=tp, roster=roster,
                       worksheet=worksheet)
        return
    if roster is not None or worksheet is not None:
        raise click.UsageError("--roster y --worksheet son de --format moodle")
    done = formats.export(source, formats.Format(fmt), out, course=load_course(_course_file(course)),
                          tp=tp, audience=formats.Audience(audience), published=published)
    console = _console()
    for problem in done.problems:
        console.print(f"[yellow]ignorado:[/yellow] {_shown(problem)}")
    console.print(f"{len(done.files)} archivo(s) {fmt} → {out}")


def _export_moodle(source: Path, course_file: Path, out: Path, *, tp: str | None,
                   roster: Path | None, worksheet: Path | None) -> None:
    from grader.course import load_course
    from grader.output import moodle

    course = load_course(course_file)
    roster_data, adjustments = _class_list(course, roster, None)
    done = moodle.export(source, course, out, tp=tp, roster=roster_data, worksheet=worksheet,
                         adjustments=adjustments)
    console = _console()
    for problem in done.problems:
        console.print(f"[yellow]atención:[/yellow] {_shown(problem)}")
    what = f"filas de {worksheet.name} completadas con {tp}" if worksheet else "estudiantes"
    console.print(f"{done.rows} {what} → {out}")


@main.command()
@click.argument("tp")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Carpeta del audit (se puede reanudar) [audit-TP].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Elige los mutantes cuando hay --per-function.")
@click.option("--per-function", type=int, default=None,
              help="Como mucho N mutantes por función calificada [todos].")
@click.option("--function", "functions", multiple=True,
              help="Auditar solo esta función o clase (se puede repetir).")
@click.option("--jobs", "-j", type=int, default=None, help="Trabajos en paralelo [núcleos].")
@click.option("--backend", type=click.Choice(["subprocess", "docker"]), default="subprocess",
              show_default=True)
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--force", is_flag=True, help="Juzgar y calificar todo de nuevo.")
@click.option("--all-exercises", is_flag=True,
              help="Calificar cada mutante con todas las comprobaciones, no solo las de su "
                   "ejercicio (más lento; muestra los que mueren solo en otro ejercicio).")
@click.option("--update", is_flag=True,
              help="Copiar el informe a assignments/TP/AUDIT.md.")
def audit(tp: str, out: Path | None, seed: int, per_function: int | None,
          functions: tuple[str, ...], jobs: int | None, backend: str, course: Path | None,
          force: bool, all_exercises: bool, update: bool) -> None:
    """Mide cuántos mutantes de la referencia matan las comprobaciones de TP (para quien las
    escribe): genera mutantes de un cambio, descarta los equivalentes, califica el resto en el
    sandbox y escribe OUT/AUDIT.md con la tasa por ejercicio y cada sobreviviente."""
    from grader.audit.run import run_audit
    from grader.batch.request import BatchEvent
    from grader.course import load_course

    console = _console(err=True)
    course_file = _course_file(course)
    jobs = jobs if jobs is not None else os.cpu_count() or 1
    if jobs < 1:
        raise click.UsageError(f"--jobs debe ser al menos 1 (llegó {jobs})")
    if per_function is not None and per_function < 1:
        raise click.UsageError(f"--per-function debe ser al menos 1 (llegó {per_function})")
    out = out or Path(f"audit-{tp}")
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=not console.is_terminal)
    task = progress.add_task(f"auditando {tp}", total=None)

    def on_event(event: BatchEvent) -> None:
        progress.advance(task)

    with progress:
        report = run_audit(course_file, tp, out, seed=seed, per_function=per_function, jobs=jobs,
                           backend=backend, functions=list(functions) or None, force=force,
                           all_exercises=all_exercises, on_event=on_event,
                           on_start=lambda total: progress.update(task, total=total),
                           on_stage=lambda text: progress.console.print(text))
    killed, graded = report.rate()
    killed_ok, graded_ok = report.rate(accepted=True)
    unexplained = [o for o in report.graded() if not o.killed_on_own and not o.accepted]
    console.print(f"{tp}: {killed}/{graded} mutantes muertos en su propio ejercicio "
                  f"({100 * killed / max(graded, 1):.1f}%); sin los aceptados "
                  f"{killed_ok}/{graded_ok} ({100 * killed_ok / max(graded_ok, 1):.1f}%); "
                  f"{len(unexplained)} sin justificar. Informe: {out / 'AUDIT.md'}")
    if update:
        entry = load_course(course_file).tp(tp)
        target = Path(entry.assignment) / "AUDIT.md"
        target.write_text((out / "AUDIT.md").read_text(encoding="utf-8"), encoding="utf-8")
        console.print(f"copiado a {target}")


@main.command("collect-repos")
@click.argument("tp")
@click.argument("repos", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Carpeta de entregas: OUT/ESTUDIANTE/tpN.py y OUT/.repos.json con los commits.")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
def collect_repos_command(tp: str, repos: Path, out: Path, course: Path | None) -> None:
    """Clona cada repositorio de REPOS y copia solo su tpN.py o tpN.ipynb (nada más)."""
    from grader.course import load_assignment, load_course
    from grader.student.github import collect_repos, read_repo_list

    module = load_assignment(load_course(_course_file(course)).tp(tp).assignment).module
    collected = collect_repos(read_repo_list(repos), module, out)
    console = _console()
    for item in collected:
        if item.problem:
            console.print(f"[yellow]sin entrega[/yellow] {_shown(item.student)}: {_shown(item.problem)}")
        else:
            console.print(clean(f"{item.student}: {item.file} ({item.commit[:12]})"), markup=False)
    missing = sum(1 for c in collected if c.problem)
    console.print(f"{len(collected) - missing} entregas en {out}, {missing} sin entrega.")


@main.command()
@click.argument("tp")
@click.argument("submissions", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Carpeta donde escribir similitud.html y similitud.csv.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Parecido (0 a 1) desde el que se lista un par [el de [similarity] threshold "
                   "en course.toml].")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
def similarity(tp: str, submissions: Path, out: Path, threshold: float | None,
               course: Path | None) -> None:
    """Lista los pares de entregas de TP que comparten código más allá del enunciado, para
    revisar (no es un veredicto ni cambia notas)."""
    from grader.course import load_course
    from grader.similarity.report import pairs_text, pct
    from grader.similarity.run import run_similarity

    analysis, html_path, csv_path = run_similarity(load_course(_course_file(course)), tp,
                                                   submissions, out, threshold=threshold)
    console = _console()
    for skipped in analysis.skipped:
        console.print(f"[yellow]no comparada[/yellow] {_shown(skipped)}")
    for pair in analysis.listed[:10]:
        console.print(clean(f"{pair.rank:3d}. {pair.a.student} y {pair.b.student}: "
                            f"{pct(pair.score.score)} (de A en B {pct(pair.score.share_a)}, "
                            f"de B en A {pct(pair.score.share_b)})"), markup=False)
    more = f" (se muestran 10; el resto en {html_path})" if len(analysis.listed) > 10 else ""
    console.print(f"{len(analysis.documents)} entregas, {pairs_text(len(analysis.listed))} desde "
                  f"{pct(analysis.threshold)} de parecido{more} → {html_path}, {csv_path}. "
                  "Es una lista para revisar, no un veredicto.")


@main.command("report")
@click.argument("results_dir", metavar="RESULTS", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Carpeta del informe: index.html, README.md y los gráficos.")
@click.option("--intake", type=click.Path(path_type=Path, dir_okay=False), multiple=True,
              help="Manifiesto de entregas (intake.json, uno por TP; se puede repetir): suma sus "
                   "anomalías (tardías, archivos sin estudiante) si existe.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Padrón (CSV con padrón, nombre y email): cuenta a cada estudiante del padrón, "
                   "como la planilla [el de [roster] en course.toml, si hay].")
@click.option("--adjustments", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Ajustes manuales de notas (ajustes.toml), como en la planilla [el de "
                   "[adjustments] en course.toml, si hay].")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
def report_command(results_dir: Path, out: Path, intake: tuple[Path, ...], roster: Path | None,
                   adjustments: Path | None, course: Path | None) -> None:
    """Escribe el informe de la clase: notas, cada estudiante, ejercicios, entregas lentas y
    anomalías."""
    from grader.course import load_course
    from grader.output.classreport import class_report

    course_data = load_course(_course_file(course))
    roster_data, adjustments_data = _class_list(course_data, roster, adjustments)
    files = class_report(results_dir, course_data, out, roster=roster_data,
                         adjustments=adjustments_data, intakes=intake)
    _console().print(f"{len(files.summary.students)} estudiantes, "
                     f"{len(files.summary.anomalies)} anomalías → {files.index}")


@main.command()
@click.argument("tp")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--force", is_flag=True, help="Reemplazar OUT si ya existe.")
@click.option("--grader-spec", default=None,
              help="Cómo instala requirements.txt el corrector [fiuba-ap-grader==VERSIÓN], p. ej. "
                   "'fiuba-ap-grader @ git+https://github.com/CATEDRA/grader@v0.2'.")
@click.option("--with-wheel", is_flag=True,
              help="Incluir el wheel del corrector en el paquete e instalarlo desde ahí.")
def release(tp: str, out: Path, course: Path | None, force: bool, grader_spec: str | None,
            with_wheel: bool) -> None:
    """Arma el paquete para estudiantes: enunciado, comprobaciones públicas, valores esperados y
    requirements.txt (el corrector y lo que necesita el TP)."""
    from grader.course import load_course
    from grader.student.release import release as build_release

    path = build_release(load_course(_course_file(course)), tp, out, force=force,
                         grader_spec=grader_spec, with_wheel=with_wheel)
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    _console().print(f"paquete de {tp} en {path}: " + ", ".join(files))


@main.command()
@click.argument("tp")
@click.option("--course", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--backend", type=click.Choice(["subprocess"]), default="subprocess")
def selftest(tp: str, course: Path | None, backend: str) -> None:
    """Prueba que la referencia saca 10 y el enunciado sin resolver saca 0."""
    from grader.course import load_course
    from grader.student.release import selftest as run_selftest

    console = _console()
    outcomes = run_selftest(load_course(_course_file(course)), tp, backend=backend)
    for outcome in outcomes:
        console.print(f"{STATUS_MARK[outcome.ok]} {outcome.label}: {outcome.score:.2f} "
                      f"(se esperaba {outcome.expected:.2f})")
        for failure in outcome.failures[:10]:
            console.print(f"    {clean(failure)}", markup=False)
    sys.exit(ExitCode.OK if all(o.ok for o in outcomes) else ExitCode.FAILED)


@main.group()
def image() -> None:
    """Imágenes de los sandboxes del backend docker."""


@image.command("build")
@click.option("--gpu", is_flag=True, help="La imagen con CUDA (base: una imagen de PyTorch con CUDA).")
@click.option("--base", default=None, help="Imagen base (por defecto grader-base:bookworm, o la de "
              "PyTorch con CUDA para --gpu).")
@click.option("--bootstrap-base", is_flag=True,
              help="Crear la base desde paquetes Debian (debootstrap), sin registro de imágenes.")
@click.option("--tag", default=None, help="Nombre de la imagen (grader-sandbox:cpu / :gpu).")
def image_build(gpu: bool, base: str | None, bootstrap_base: bool, tag: str | None) -> None:
    """Construye la imagen del sandbox (sin red dentro del build)."""
    from grader.sandbox.images import build

    console = _console()
    report = build(gpu=gpu, base=base, bootstrap=bootstrap_base, tag=tag,
                   log=lambda line: console.print(line, markup=False))
    state = "sin cambios (caché)" if report.cache_hit else "construida"
    console.print(f"{report.image} {state}: {report.size_mb:.0f} MB, {report.seconds:.1f} s "
                  f"(base {report.base}, Python {report.python}, id {report.image_id[:19]})")


if __name__ == "__main__":
    main()
