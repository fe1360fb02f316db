"""The similarity list as people read it: ``similitud.html`` (the ranked pairs, each with the two
sources side by side and the shared regions marked, per function), ``similitud.csv`` (one row per
pair, for spreadsheets) and ``section``, the class report's summary of that CSV.

The page loads nothing and runs nothing (``grader.output.html.document``: inline style, no
script, a Content-Security-Policy that forbids both); every byte of student code and every student
name is escaped, because a submission is hostile input (``</pre><script>`` in a string is text).
Pairs fold into ``<details>``, so the page needs no script. It says, at the top, that it is a
list for review and never a verdict.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from grader.output.gradebook import neutralise
from grader.output.html import document, esc
from grader.output.markdown import md_text
from grader.results import write_atomic
from grader.similarity.pairs import Analysis, Document, FunctionMatch, ListedPair
from grader.similarity.tokens import MODULE_LEVEL, Unit
from grader.similarity.winnow import K, W

NOT_A_VERDICT = ("Esta lista es para que una persona revise los pares: no es un veredicto ni cambia "
                 "ninguna nota. Dos entregas parecidas pueden tener una explicación legítima (una "
                 "idea discutida en clase, la misma fuente citada, un trabajo en grupo permitido).")
HOW_TO_READ = ("«De A en B» es la parte del código propio de A (sin el enunciado ni las firmas y "
               "docstrings del contrato, que nunca cuentan) que también está en B; el parecido de "
               "un par es la mayor de las dos. Se comparan los tokens sin comentarios, docstrings ni "
               "espacios, con los nombres de variables y los literales abstraídos: renombrar, "
               "reordenar funciones o cambiar comentarios no esconde una copia.")
HTML_FILE = "similitud.html"
CSV_FILE = "similitud.csv"
CSV_COLUMNS = ("rank", "tp", "student_a", "student_b", "score", "share_a", "share_b",
               "shared_fingerprints", "functions_a", "functions_b", "file_a", "file_b")

EXTRA_STYLE = """
main { max-width: 96rem; }
.review { border-left: 4px solid var(--warn); background: #fff8c5; padding: .6rem 1rem; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: .75rem; }
.side pre { font-size: .8em; margin: 0; }
.side table { font-size: .85em; width: 100%; }
.side .label { margin: .2rem 0; }
mark { background: #ffd8a8; color: inherit; }
.ln { color: var(--muted); user-select: none; }
details { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .8rem; margin: .6rem 0; }
summary { cursor: pointer; font-weight: 600; }
"""


def pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def pairs_text(count: int) -> str:
    return f"{count} par" if count == 1 else f"{count} pares"


# --- HTML ------------------------------------------------------------------------------------


def _unit_lines(source_lines: Sequence[str], unit: Unit) -> list[int]:
    """The lines (1-based) that show ``unit``: a function's whole span; for the module level, the
    lines its tokens are on (it is scattered between functions)."""
    if unit.name != MODULE_LEVEL:
        return list(range(unit.first_line, min(unit.last_line, len(source_lines)) + 1))
    return sorted({t.line for t in unit.tokens if t.line <= len(source_lines)})


def code_html(doc: Document, unit_index: int, regions: Sequence[tuple[int, int]]) -> str:
    """A unit's lines, numbered, with the ``regions`` (source offsets) in ``<mark>``."""
    unit = doc.units[unit_index]
    lines = doc.source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out: list[str] = []
    previous = None
    for number in _unit_lines(lines, unit):
        if previous is not None and number != previous + 1:
            out.append('<span class="ln">⋮</span>\n')
        previous = number
        begin, end = starts[number - 1], starts[number - 1] + len(lines[number - 1].rstrip("\r\n"))
        cursor = begin
        out.append(f'<span class="ln">{number:4d} </span>')
        for start, stop in regions:
            start, stop = max(start, begin), min(stop, end)
            while start < stop and doc.source[start] in " \t":  # not the indentation
                start += 1
            if start >= stop:
                continue
            out.append(esc(doc.source[cursor:start]) + f"<mark>{esc(doc.source[start:stop])}</mark>")
            cursor = stop
        out.append(esc(doc.source[cursor:end]) + "\n")
    return (f'<pre data-student="{esc(doc.student)}" data-unit="{esc(unit.name)}">'
            + "".join(out) + "</pre>")


def _shown_pairs(pair: ListedPair) -> list[tuple[int, int]]:
    """``(unit of A, unit of B)`` pairs to show side by side: each unit of A that shares code
    with its counterpart in B, then the units of B whose counterpart is not already shown."""
    a_index = {u.name: i for i, u in enumerate(pair.a.units)}
    b_index = {u.name: i for i, u in enumerate(pair.b.units)}
    shown: list[tuple[int, int]] = []
    for match in pair.functions_a:
        if match.b_unit is not None:
            shown.append((a_index[match.a_unit], b_index[match.b_unit]))
    for match in pair.functions_b:
        if match.b_unit is not None and (a_index[match.b_unit], b_index[match.a_unit]) not in shown:
            shown.append((a_index[match.b_unit], b_index[match.a_unit]))
    return shown


def _functions_table(who: str, other: str, matches: Sequence[FunctionMatch]) -> str:
    rows = []
    for m in matches:
        if m.a_size == 0:
            share, where = "—", "solo código dado o muy corto"
        elif m.b_unit is None:
            share, where = pct(0), "sin código en común"
        else:
            share, where = pct(m.a_share), f"{esc(m.b_unit)} (tiene {pct(m.b_share)} en común)"
        rows.append(f"<tr><td><code>{esc(m.a_unit)}</code></td><td class=\"num\">{m.a_size}</td>"
                    f"<td class=\"num\">{share}</td><td>{where}</td></tr>")
    return (f"<table><tr><th>De {esc(who)}</th><th class=\"num\">huellas propias</th>"
            f"<th class=\"num\">en {esc(other)}</th><th>dónde está en {esc(other)}</th></tr>"
            + "".join(rows) + "</table>")


def pair_html(pair: ListedPair) -> str:
    a, b, score = pair.a, pair.b, pair.score
    parts = [f'<details id="par-{pair.rank}"><summary>{pair.rank}. {esc(a.student)} y '
             f"{esc(b.student)}: {pct(score.score)} (de {esc(a.student)} en {esc(b.student)} "
             f"{pct(score.share_a)}, de {esc(b.student)} en {esc(a.student)} {pct(score.share_b)})"
             "</summary>",
             f'<div class="side"><div>{_functions_table(a.student, b.student, pair.functions_a)}</div>'
             f"<div>{_functions_table(b.student, a.student, pair.functions_b)}</div></div>"]
    for ia, ib in _shown_pairs(pair):
        ua, ub = a.units[ia], b.units[ib]
        parts.append(
            f"<h3><code>{esc(ua.name)}</code> y <code>{esc(ub.name)}</code></h3><div class=\"side\">"
            f"<div><p class=\"label\">{esc(a.student)} ({esc(a.path.name)}, líneas {ua.first_line}–"
            f"{ua.last_line})</p>{code_html(a, ia, pair.regions_a[ia])}</div>"
            f"<div><p class=\"label\">{esc(b.student)} ({esc(b.path.name)}, líneas {ub.first_line}–"
            f"{ub.last_line})</p>{code_html(b, ib, pair.regions_b[ib])}</div></div>")
    parts.append("</details>")
    return "\n".join(parts)


def html_page(analysis: Analysis) -> str:
    tp, listed = analysis.tp.upper(), analysis.listed
    body = [f"<style>{EXTRA_STYLE}</style>", f"<h1>Similitud entre entregas: {esc(tp)}</h1>",
            f'<p class="review"><strong>{esc(NOT_A_VERDICT)}</strong></p>', f"<p>{esc(HOW_TO_READ)}</p>",
            f"<h2>Pares para revisar ({len(listed)}, desde {pct(analysis.threshold)} de parecido)</h2>"]
    if listed:
        rows = "".join(
            f"<tr><td class=\"num\">{_rank_link(p)}</td><td>{esc(p.a.student)}</td>"
            f"<td>{esc(p.b.student)}</td><td class=\"num\">{pct(p.score.score)}</td>"
            f"<td class=\"num\">{pct(p.score.share_a)}</td><td class=\"num\">{pct(p.score.share_b)}</td></tr>"
            for p in listed)
        body.append("<table><tr><th class=\"num\">#</th><th>A</th><th>B</th><th class=\"num\">parecido"
                    "</th><th class=\"num\">de A en B</th><th class=\"num\">de B en A</th></tr>"
                    f"{rows}</table>")
        body.extend(pair_html(p) for p in listed if p.detailed)
        if not listed[-1].detailed:
            first = next(p.rank for p in listed if not p.detailed)
            body.append(f"<p>Desde el par {first}, solo la tabla de arriba y {CSV_FILE}: el código "
                        "lado a lado se muestra para los primeros.</p>")
    else:
        body.append(f"<p>Ningún par llega a {pct(analysis.threshold)}.{esc(_closest(analysis))}</p>")
    body.append(f"<h2>Entregas comparadas ({len(analysis.documents)})</h2>")
    body.append("<p>" + ", ".join(f"{esc(d.student)} (<code>{esc(d.path.name)}</code>, "
                                  f"{len(d.fingerprints)} huellas propias)"
                                  for d in analysis.documents) + "</p>")
    if analysis.skipped:
        body.append("<p>No se compararon:</p><ul>"
                    + "".join(f"<li>{esc(s)}</li>" for s in analysis.skipped) + "</ul>")
    body.append(f"<footer>Huellas: k-gramas de {K} tokens, winnowing con ventana {W} (el algoritmo de "
                f"MOSS); umbral [similarity] threshold = {analysis.threshold:g}. "
                "Generado por <code>grader similarity</code>.</footer>")
    return document(f"Similitud entre entregas: {tp}", "\n".join(body))


def _rank_link(pair: ListedPair) -> str:
    return f'<a href="#par-{pair.rank}">{pair.rank}</a>' if pair.detailed else str(pair.rank)


def _closest(analysis: Analysis) -> str:
    if not analysis.pairs:
        return ""
    top = analysis.pairs[0]
    a, b = analysis.documents[top.a].student, analysis.documents[top.b].student
    return f" El par más parecido es {a} y {b}, con {pct(top.score)}."


# --- CSV -------------------------------------------------------------------------------------


def _functions_cell(matches: Sequence[FunctionMatch], threshold: float) -> str:
    return "; ".join(f"{m.a_unit} {m.a_share:.2f}" for m in matches
                     if m.a_size and m.a_share >= threshold)


def csv_text(analysis: Analysis) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in analysis.listed:
        row = (p.rank, analysis.tp, p.a.student, p.b.student, f"{p.score.score:.3f}",
               f"{p.score.share_a:.3f}", f"{p.score.share_b:.3f}", p.score.shared,
               _functions_cell(p.functions_a, analysis.threshold),
               _functions_cell(p.functions_b, analysis.threshold), p.a.path.name, p.b.path.name)
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def write(analysis: Analysis, out: Path) -> tuple[Path, Path]:
    """Writes ``similitud.html`` and ``similitud.csv`` into ``out``; returns their paths."""
    html_path, csv_path = out / HTML_FILE, out / CSV_FILE
    write_atomic(html_path, html_page(analysis))
    write_atomic(csv_path, csv_text(analysis))
    return html_path, csv_path


# --- the class report's section ----------------------------------------------------------------


SECTION_ROWS = 20


def section(csv_path: Path) -> tuple[str, str]:
    """The class report's summary of a ``similitud.csv``: ``(markdown, html)``, the pairs in rank
    order (the first ``SECTION_ROWS``) and the reminder that they are for review."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    tp = rows[0]["tp"].upper() if rows else ""
    title = f"Similitud entre entregas{f' ({tp})' if tp else ''}"
    link = f"detalle en {csv_path.with_name(HTML_FILE).name}"
    if not rows:
        text = f"Ningún par de entregas llega al umbral de parecido ({link})."
        return f"## {title}\n\n{text}\n", f"<h2>{esc(title)}</h2><p>{esc(text)}</p>"
    intro = f"{pairs_text(len(rows))} para revisar ({link}). {NOT_A_VERDICT}"
    shown = rows[:SECTION_ROWS]
    md = [f"## {title}", "", md_text(intro), "",
          "| # | Estudiante A | Estudiante B | Parecido | De A en B | De B en A |",
          "|---:|---|---|---:|---:|---:|"]
    cells = []
    for r in shown:
        values = (_plain(r["student_a"]), _plain(r["student_b"]), pct(float(r["score"])),
                  pct(float(r["share_a"])), pct(float(r["share_b"])))
        md.append(f"| {r['rank']} | {md_text(values[0])} | {md_text(values[1])} | "
                  f"{values[2]} | {values[3]} | {values[4]} |")
        cells.append(f"<tr><td class=\"num\">{esc(r['rank'])}</td><td>{esc(values[0])}</td>"
                     f"<td>{esc(values[1])}</td><td class=\"num\">{values[2]}</td>"
                     f"<td class=\"num\">{values[3]}</td><td class=\"num\">{values[4]}</td></tr>")
    if len(rows) > SECTION_ROWS:
        md += ["", md_text(f"(y {len(rows) - SECTION_ROWS} pares más en {csv_path.name})")]
    html = (f"<h2>{esc(title)}</h2><p>{esc(intro)}</p><table><tr><th class=\"num\">#</th>"
            "<th>Estudiante A</th><th>Estudiante B</th><th class=\"num\">Parecido</th>"
            "<th class=\"num\">De A en B</th><th class=\"num\">De B en A</th></tr>"
            + "".join(cells) + "</table>")
    return "\n".join(md) + "\n", html


def _plain(cell: str) -> str:
    """A CSV cell without the quote ``neutralise`` put before a formula-like name."""
    return cell[1:] if cell.startswith("'") and len(cell) > 1 and cell[1] in "=+-@\t\r" else cell
