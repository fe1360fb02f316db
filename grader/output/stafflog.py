"""Staff's log of one graded submission (``RESULTS/TP/logs/STUDENT.log``), as plain text.

A batch's trusted child prints it into the log after grading (``grader.batch.child``), so a person
looking into a submission that failed in a complex way reads, without opening the JSON: who, which
file (its hash), the score and when; the environment it ran in; every check with its status, its
points, its time, its whole message and what the student's code printed during it; where the
import's output went; where the time went (``time_spent``) and what the numpy-only rule left for
a person to look at (``SubmissionResult.review``).

This is for staff only and never reaches a student: it shows what hidden checks' calls printed,
which can carry hidden inputs (``grader.output.feedback`` decides what a student sees). Student
text is cleaned of terminal controls (staff read this with ``less`` or ``cat``) and every line of
it is prefixed with ``TEXT_PREFIX``, so a submission cannot print lines that pass for the log's
own. Output is capped per check (``OUTPUT_CAP``) and per log (``LOG_OUTPUT_CAP``); messages are
shown whole (the harness caps them at ``grader.text.CHECK_MESSAGE_CAP``).
"""

from __future__ import annotations

from grader.output.feedback import STATUS_TEXT
from grader.results import CheckResult, Status, SubmissionResult
from grader.text import clean

OUTPUT_CAP = 2000
"""Characters of one check's output shown in the log."""
LOG_OUTPUT_CAP = 20000
"""Characters of output shown in one log, all checks together (300 checks that print their
whole 16 KB would otherwise make a 5 MB log)."""
TEXT_PREFIX = "  | "
"""Before every line of student text (messages, output, load errors)."""
SHA_SHOWN = 12
"""Hex digits of the submission's sha256 in the header: enough to tell two versions apart."""
SLOWEST_SHOWN = 5
"""Checks named in ``time_spent``'s line of the slowest ones."""

_KILLED = frozenset({Status.TIMEOUT, Status.CRASH, Status.MEMORY, Status.PROTOCOL})
"""Outcomes that (almost always) end with the worker killed mid-call, or dead: the call never
replied, so what it printed died with the worker."""
_NOT_RETRIED = "no se volvió a llamar"
"""How a check that skipped a function that had already killed the worker starts its message
(``grader.engine.session``): it made no call, so nothing of it was lost."""


def render(result: SubmissionResult) -> str:
    """The whole log of ``result``: header, one block per check, the import's output, the time
    spent and what to review; ends with a newline."""
    room = [LOG_OUTPUT_CAP]  # what is left of the log's output budget, shared by the blocks
    blocks = [header(result)]
    for number, check in enumerate(result.checks, 1):
        blocks.append(check_block(check, number, len(result.checks), room))
    blocks.append(import_section(result))
    blocks.append(_section("tiempo", [f"{result.student}: {line}" for line in time_spent(result)]))
    if result.review:
        blocks.append(_section("para revisar (solo la cátedra)",
                               [f"{result.student}: {clean(line)}" for line in result.review]))
    return "\n\n".join(blocks) + "\n"


def header(result: SubmissionResult) -> str:
    """Who, which file, the score, when, with which grader and in which environment."""
    lines = [f"== {clean(result.student)} · {result.tp} · registro de la cátedra ==",
             f"archivo: {clean(result.submission_file)} (sha256 "
             f"{result.submission_sha256[:SHA_SHOWN]})",
             f"nota: {result.score:.2f} ({result.earned:g} de {result.possible:g} puntos)",
             f"calificado: {result.started_at or 'desconocido'} ({result.duration_s:.1f} s)"
             + (f"; entregado: {result.submitted_at}" if result.submitted_at else ""),
             f"calificador: {result.grader_version} (fingerprint {result.fingerprint[:SHA_SHOWN]})",
             f"entorno: {environment_line(result)}"]
    if result.load_error:
        lines += ["no cargó:", *_quoted(result.load_error)]
    if result.notes:
        lines += ["notas:", *_quoted("\n".join(result.notes))]
    return "\n".join(lines)


def environment_line(result: SubmissionResult) -> str:
    """Backend (and its isolation), device, torch and the worker's Python and numpy, as one line:
    ``backend subprocess (bwrap, seccomp); dispositivo cpu; torch 2.4.1; python 3.11.7; ...``."""
    env = result.environment
    backend = str(env.get("backend", "desconocido"))
    isolation = [str(env["isolation"])] if env.get("isolation") else []
    if env.get("image"):
        isolation.append(f"imagen {env['image']}")
    if env.get("seccomp") is True:
        isolation.append("seccomp")
    if env.get("isolated") is False:
        isolation.append("sin aislamiento")
    if env.get("gpus") and env.get("worker_cuda_available") is True:
        device = f"cuda ({env.get('worker_gpu', 'GPU')}, CUDA {env.get('worker_cuda', '?')})"
    elif env.get("gpus"):
        device = f"cpu (se pidió GPU {env['gpus']} y torch no la vio)"
    else:
        device = "cpu"
    torch = env.get("worker_torch")
    parts = [f"backend {backend}" + (f" ({', '.join(isolation)})" if isolation else ""),
             f"dispositivo {device}", f"torch {torch}" if torch else "torch no pedido por el TP"]
    parts += [f"{name} {env[f'worker_{name}']}" for name in ("python", "numpy")
              if env.get(f"worker_{name}")]
    return clean("; ".join(parts))


def check_block(check: CheckResult, number: int, total: int, room: list[int]) -> str:
    """One check: its id, exercise, status, points and time; its whole message; what the
    student's code printed during it, within ``OUTPUT_CAP`` and what is left of ``room[0]``
    (the log's budget, which this call spends)."""
    status = f"{STATUS_TEXT.get(check.status, check.status.value)} ({check.status.value})"
    lines = [f"-- [{number}/{total}] {clean(check.id)} · ejercicio {clean(check.exercise)} · "
             f"{status} · {check.points:.2f}/{check.max_points:.2f} puntos · "
             f"{check.duration_s:.2f} s"]
    if check.message.strip():
        lines += ["mensaje:", *_quoted(check.message)]
    output = clean(check.output)
    killed = check.status in _KILLED and not check.message.startswith(_NOT_RETRIED)
    lost = (" (si el worker fue terminado en esta comprobación, lo que imprimió esa llamada se "
            "perdió con él)" if killed else "")
    if not output.strip():
        lines.append(f"salida: nada{lost}")
        return "\n".join(lines)
    shown = min(OUTPUT_CAP, room[0])
    room[0] -= min(len(output), shown)
    lines += [f"salida ({len(output)} caracteres){lost}:", *_quoted(output[:shown])]
    if len(output) > shown:
        why = "" if shown == OUTPUT_CAP else f"; el registro ya mostró {LOG_OUTPUT_CAP} de salida"
        lines.append(f"(recortado: {len(output) - shown} caracteres más{why})")
    return "\n".join(lines)


def import_section(result: SubmissionResult) -> str:
    """Where the import's output and the worker's stderr are, and what of them is not kept.

    The worker sends what Python code printed (``sys.stdout`` and ``sys.stderr``: ``print``,
    warnings, tracebacks it printed) with each reply; the import's reply arrives before the first
    check that uses the module, so its output opens that check's output, and again the output of
    the next check that uses it after each time the worker was killed (``worker_restarts``: a
    fresh worker imports again). What the worker writes straight to file descriptor 2 (C code,
    the interpreter's fatal errors) goes to ``/dev/null`` in the sandbox, and a call that ends
    with the worker killed never replies: neither is kept anywhere."""
    restarts = result.environment.get("worker_restarts", 0)
    restarted = (f" y, cada vez que el worker fue terminado ({restarts}), la de la siguiente "
                 "que lo usó" if isinstance(restarts, int) and restarts > 0 else "")
    lines = [f"lo que imprimió la importación del módulo (print, warnings, stderr de Python) está "
             f"al comienzo de la salida de la primera comprobación que lo usó{restarted}.",
             "no se guarda lo que el worker escribe directo al descriptor 2 (código C, errores "
             "fatales del intérprete), ni lo que imprimió una llamada que terminó con el worker "
             "muerto (TIMEOUT, CRASH, MEMORY, PROTOCOL)."]
    return _section("importación y stderr del worker", lines)


def time_spent(result: SubmissionResult) -> list[str]:
    """For staff's log: where a submission's time went (worker starts, the import, the slowest
    checks and how they ended) and why it stopped early, if it did."""
    timing = result.environment.get("timing", {})
    restarts = result.environment.get("worker_restarts", 0)
    checks_s = sum(c.duration_s for c in result.checks)
    lines = [f"tiempo: {result.duration_s:.1f} s en total; arranques del worker "
             f"{timing.get('start_s', 0.0):.1f} s ({restarts} reinicios), importación "
             f"{timing.get('import_s', 0.0):.1f} s, comprobaciones {checks_s:.1f} s "
             f"({len(result.checks)})"]
    slowest = sorted(result.checks, key=lambda c: -c.duration_s)[:SLOWEST_SHOWN]
    if slowest:
        lines.append("las más lentas: " + "; ".join(
            f"{clean(c.id)} {c.duration_s:.1f} s ({c.status.value})" for c in slowest))
    if result.load_error:
        lines.append(f"no cargó: {clean(result.load_error[:300])}")
    not_retried = sum(1 for c in result.checks if c.message.startswith(_NOT_RETRIED))
    if not_retried:
        lines.append(f"{not_retried} comprobaciones no llamaron a una función que ya había "
                     "terminado con el worker muerto o sin tiempo en sus llamadas anteriores")
    return lines


def _section(title: str, lines: list[str]) -> str:
    return "\n".join([f"== {title} ==", *lines])


def _quoted(text: str) -> list[str]:
    """Student text as log lines, each behind ``TEXT_PREFIX`` (trailing blank lines dropped)."""
    return [TEXT_PREFIX + line for line in clean(text).rstrip().splitlines()] or [TEXT_PREFIX]
