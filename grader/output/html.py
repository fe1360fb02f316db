"""Feedback as HTML, in Spanish: the report of one graded submission as a self-contained page
(``html_report``) and a ``grader check`` run as a notebook cell's output (``check_html``), both
rendered from the feedback model (``grader.output.feedback``, which decides what a student may see).

The page loads nothing: the style is inline, there is no script, and its Content-Security-Policy
forbids scripts and every resource except ``data:`` images, so a page saved to disk or mailed looks
the same everywhere. Everything that came from the student (output, messages, file and student
names) is escaped, and cleaned of terminal controls; the policy is a second line of defence.

``document`` wraps any body in that frame; the class report (``grader.output.classreport``) uses it
too.
"""

from __future__ import annotations

import html

from grader.output.feedback import NOTES_TITLE, Failure, Feedback, note_parts, of_result
from grader.results import SubmissionResult
from grader.text import clean

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'")

STYLE = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --odd: #8250df; --muted: #59636e;
        --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2328; font: 16px/1.5 system-ui, -apple-system,
       "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; padding-bottom: .25rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
table { border-collapse: collapse; margin: .75rem 0; }
th, td { border: 1px solid var(--line); padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mark { text-align: center; font-weight: bold; }
tr.full td.mark { color: var(--ok); } tr.some td.mark { color: var(--warn); }
tr.none td.mark { color: var(--bad); }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
code { background: var(--soft); padding: .05rem .3rem; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
      white-space: pre-wrap; overflow-wrap: anywhere; margin: .4rem 0; }
.grade { font-size: 1.2em; }
.notes { border-left: 4px solid var(--warn); background: #fff8c5; padding: .1rem 1rem .2rem;
         margin: .75rem 0; }
.notes h2 { border: 0; margin-top: .5rem; } .notes ul { padding-left: 1.2rem; }
.load-error { border-left: 4px solid var(--bad); background: #ffebe9; padding: .1rem 1rem .6rem; }
.load-error h2 { border: 0; margin-top: .75rem; }
ul.failures { list-style: none; padding: 0; }
ul.failures > li { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .8rem; margin: .5rem 0; }
.status { display: inline-block; padding: 0 .5rem; border-radius: 1rem; color: #fff; font-size: .85em;
          font-weight: 600; }
.s-FAIL, .s-ERROR { background: var(--bad); } .s-PARTIAL { background: var(--warn); }
.s-TIMEOUT, .s-CRASH, .s-MEMORY, .s-PROTOCOL { background: var(--odd); } .s-PASS { background: var(--ok); }
.vis { color: var(--muted); font-size: .9em; }
.label { color: var(--muted); margin: .4rem 0 0; font-size: .9em; }
footer { color: var(--muted); font-size: .85em; margin-top: 2.5rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .9em; }
"""


def esc(value: object) -> str:
    """Text (anything the student controls included) as HTML text or attribute value, without
    the control characters a browser would show as boxes or a saved page would carry along."""
    return html.escape(clean(str(value)), quote=True)


def document(title: str, body: str) -> str:
    """A complete page: ``title`` is plain text (escaped here), ``body`` is HTML already escaped."""
    return (
        "<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{esc(CSP)}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n")


def note_html(note: str) -> str:
    """A note as HTML: its backtick spans as ``<code>`` (``note_parts``), everything escaped."""
    return "".join(f"<code>{esc(text)}</code>" if code else esc(text)
                   for text, code in note_parts(note))


def notes_html(notes: list[str], heading: str = "h2") -> str:
    """The notes section (after the grade table); empty when there are no notes."""
    if not notes:
        return ""
    return (f"<section class=\"notes\"><{heading}>{esc(NOTES_TITLE)}</{heading}><ul>"
            + "".join(f"<li>{note_html(note)}</li>" for note in notes) + "</ul></section>")


def _failure(item: Failure) -> str:
    parts = [f"<span class=\"status s-{esc(item.check.status.value)}\">{esc(item.status_text)}</span> "
             f"<span class=\"vis\">{esc(item.visibility_text)}</span> "
             f"<code>{esc(item.name)}</code>{esc(item.case_text)}"]
    if "\n" in item.message:
        parts.append(f":<pre class=\"msg\">{esc(item.message)}</pre>")
    else:
        parts.append(f": <span class=\"msg\">{esc(item.message)}</span>")
    if item.output:
        parts.append(f"<p class=\"label\">Salida de tu código:</p><pre class=\"output\">"
                     f"{esc(item.output)}</pre>")
    return "<li>" + "".join(parts) + "</li>"


def html_report(result: SubmissionResult, *, title: str = "") -> str:
    """The student's feedback report for one TP, as a self-contained HTML page."""
    feedback = of_result(result, title=title)
    heading = f"{feedback.title}: devolución para {result.student}"
    body = [f"<h1>{esc(heading)}</h1>",
            f"<p>Archivo: <code>{esc(feedback.file)}</code> · Nota: <strong class=\"grade\">"
            f"{result.score:.2f} / 10</strong> ({result.earned:g} de {result.possible:g} puntos)</p>"]
    if feedback.load_error:
        body.append("<section class=\"load-error\"><h2>Tu archivo no se pudo cargar</h2>"
                    "<p>Ninguna comprobación pudo correr:</p>"
                    f"<pre>{esc(feedback.load_error)}</pre></section>")
    rows = []
    for exercise in feedback.exercises:
        score = exercise.score
        kind = {"✔": "full", "◐": "some"}.get(exercise.mark, "none")
        rows.append(f"<tr class=\"{kind}\"><td class=\"mark\">{exercise.mark}</td>"
                    f"<td>{esc(exercise.title)}</td>"
                    f"<td class=\"num\">{score.earned:.2f} / {score.points:.2f}</td>"
                    f"<td class=\"num\">{score.passed} / {score.checks}</td></tr>")
    body.append("<table class=\"exercises\"><thead><tr><th></th><th>Ejercicio</th>"
                "<th class=\"num\">Puntos</th><th class=\"num\">Comprobaciones</th></tr></thead>"
                "<tbody>" + "".join(rows) + "</tbody></table>")
    if feedback.hidden_total and not feedback.load_error:
        body.append(f"<p>Comprobaciones ocultas: pasaron {feedback.hidden_passed} de "
                    f"{feedback.hidden_total}.</p>")
    if feedback.notes:
        body.append(notes_html(feedback.notes))
    if feedback.failed:
        body.append("<section class=\"failed\"><h2>Qué falló</h2>")
        for exercise in feedback.failed:
            body.append(f"<h3>{esc(exercise.title)} ({exercise.score.earned:.2f} / "
                        f"{exercise.score.points:.2f})</h3><ul class=\"failures\">"
                        + "".join(_failure(i) for i in exercise.failures) + "</ul>")
        body.append("</section>")
    body.append("<section><h2>Cómo reproducirlo</h2>"
                "<p>En la carpeta del TP (la que entrega la cátedra), con tu archivo guardado como "
                f"<code>{esc(feedback.local_file)}</code>:</p>"
                f"<pre class=\"cmd\">{esc(feedback.reproduce_command)}</pre>"
                "<p>Así corren las comprobaciones públicas. Las ocultas no se pueden correr en tu "
                "máquina: usan otras entradas y solo informan si pasaron y por qué no.</p></section>")
    if result.started_at:
        body.append(f"<footer>Calificado el {esc(result.started_at[:10])} con grader "
                    f"{esc(result.grader_version)}.</footer>")
    return document(heading, "\n".join(body))


_CELL_MARK = {True: '<span style="color:#1a7f37">✔</span>',
              False: '<span style="color:#cf222e">✘</span>'}


def check_html(feedback: Feedback) -> str:
    """A ``grader check`` run as a notebook cell's HTML output: one table row per exercise with
    what failed (public checks only: that run has no others)."""
    def text(value: str) -> str:
        # Student text (messages, names) without the controls a notebook would pass through.
        return html.escape(clean(value))

    out = [f"<div><p><strong>{text(feedback.title)}</strong>: comprobaciones públicas</p>"]
    if feedback.load_error:
        out.append(f"<p style=\"color:#cf222e\">No se pudo cargar:</p>"
                   f"<pre>{text(feedback.load_error)}</pre>")
    out.append("<table><thead><tr><th></th><th style=\"text-align:left\">Ejercicio</th>"
               "<th style=\"text-align:right\">Puntos</th><th style=\"text-align:left\">Qué falló"
               "</th></tr></thead><tbody>")
    for exercise in feedback.exercises:
        name = text(exercise.title)
        if not exercise.checks and not feedback.load_error:
            out.append(f"<tr><td>-</td><td>{name}</td><td></td><td>sin comprobaciones públicas"
                       "</td></tr>")
            continue
        failed = "".join(
            f"<li><strong>{text(item.status_text)}</strong> {text(item.name)}: "
            f"<pre style=\"white-space:pre-wrap;margin:0\">{text(item.message)}</pre></li>"
            for item in exercise.failures)
        ok = exercise.all_passed and not feedback.load_error
        out.append(f"<tr><td>{_CELL_MARK[ok]}</td><td>{name}</td>"
                   f"<td style=\"text-align:right\">{exercise.score.earned:.2f} / "
                   f"{exercise.score.points:.2f}</td><td>"
                   + (f"<ul style=\"margin:0\">{failed}</ul>" if failed else "") + "</td></tr>")
    out.append("</tbody></table>")
    result = feedback.result
    out.append(f"<p>Total de las comprobaciones públicas: {result.earned:g} / {result.possible:g} "
               f"puntos ({result.score:.2f} / 10).</p>")
    if feedback.notes:
        out.append(notes_html(feedback.notes, heading="h4"))
    out.append(f"<p>{esc(feedback.next_step)}</p></div>" if not feedback.passed else
               "<p>Todas las comprobaciones públicas pasan. Al calificar se corren además "
               "comprobaciones ocultas.</p></div>")
    return "\n".join(out)
