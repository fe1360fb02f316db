"""The feedback report of one submission: what a student sees, in Markdown and in HTML."""

from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt

from grader import scoring
from grader.course import Exercise
from grader.output import html as htmlreport
from grader.output import markdown as report
from grader.results import CheckResult, Status, SubmissionResult

EXERCISES = [Exercise("linear", 2, "Capa lineal"), Exercise("relu", 1, "ReLU")]
HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=alert(1)>"


def graded(checks: list[CheckResult], **fields: object) -> SubmissionResult:
    exercises = scoring.score_checks(checks, EXERCISES)
    earned, possible, score = scoring.tp_score(exercises)
    values: dict = dict(student="ana_garcia", tp="tp1", submission_file="ana_garcia.py",
                        submission_sha256="0" * 64, grader_version="0.1.0", fingerprint="f" * 64,
                        checks=checks, exercises=exercises, earned=earned, possible=possible,
                        score=score, started_at="2026-11-23T18:00:00+00:00")
    values.update(fields)
    return SubmissionResult(**values)


def typical() -> SubmissionResult:
    return graded([
        CheckResult("public::test_linear_forward", "linear", "public", Status.PASS,
                    output="forward listo\n"),
        CheckResult("public::test_linear_backward", "linear", "public", Status.FAIL,
                    message="linear_backward: dW tiene forma (5, 7); se esperaba (7, 5)",
                    output="calculando dW\n"),
        CheckResult("hidden::test_linear_matches_reference[0.75-stride2]", "linear", "hidden",
                    Status.FAIL, message="linear_backward: db difiere en [3]",
                    output="x = [0.4417 0.9031] (entrada oculta impresa por el estudiante)\n"),
        CheckResult("hidden::test_linear_matches_reference[0.3-stride1]", "linear", "hidden",
                    Status.TIMEOUT, message="la llamada no terminó en 5 s"),
        CheckResult("hidden::test_relu_is_stable", "relu", "hidden", Status.PASS),
    ])


def both(result: SubmissionResult) -> list[str]:
    return [report.markdown(result), htmlreport.html_report(result)]


def test_a_hidden_check_shows_its_status_name_and_message_only():
    for text in both(typical()):
        assert "linear_backward: db difiere en [3]" in text
        assert "test_linear_matches_reference" in text
        # pytest builds the parametrization id from the check's inputs; the student never sees it.
        assert "0.75" not in text and "stride" not in text
        # Whatever student code printed during a hidden check may be the hidden inputs.
        assert "0.4417" not in text and "entrada oculta" not in text


def test_a_hidden_checks_message_raised_by_student_code_is_cut_short():
    # Student code that raises with its arguments in the message would carry the hidden inputs out.
    smuggled = "el código lanzó ValueError: " + " ".join(f"{v:.6f}" for v in range(2000))
    checks = [CheckResult("hidden::test_relu_is_stable", "relu", "hidden", Status.ERROR,
                          message=smuggled),
              CheckResult("public::test_relu", "relu", "public", Status.ERROR, message=smuggled)]
    for text in both(graded(checks)):
        assert "(mensaje recortado)" in text
        assert text.count("1999.000000") == 1  # the public check's message stays whole


def test_hidden_checks_that_share_a_name_are_told_apart_by_case():
    markdown = report.markdown(typical())
    assert "`test_linear_matches_reference` (caso 1): `linear_backward: db difiere en [3]`" in markdown
    assert "`test_linear_matches_reference` (caso 2): `la llamada no terminó en 5 s`" in markdown
    assert "(caso 1)" in htmlreport.html_report(typical())


def test_a_public_failure_shows_its_message_and_what_the_code_printed():
    for text in both(typical()):
        assert "dW tiene forma (5, 7); se esperaba (7, 5)" in text
        assert "Salida de tu código:" in text and "calculando dW" in text
        assert "forward listo" not in text  # passing checks are not listed
        assert "Comprobaciones ocultas: pasaron 1 de 3." in text


def test_each_failure_carries_its_status_in_the_one_spanish_vocabulary():
    markdown, page = both(typical())
    assert "- **incorrecto** · pública · `test_linear_backward`: `linear_backward: dW tiene" in markdown
    assert "- **tiempo agotado** · oculta · `test_linear_matches_reference` (caso 2)" in markdown
    assert '<span class="status s-FAIL">incorrecto</span> <span class="vis">pública</span>' in page
    assert "FAIL" not in markdown and ">TIMEOUT<" not in page


NOTES = ["se ignoró tp1.py (se calificó tp1.ipynb, el más nuevo)",
         "celdas que no se ejecutaron al calificar: 3, 29, 31-40",
         "celda 12: `capa` no se definió al calificar: usa `W0`, que en ese punto no está definido"]


def test_notes_are_one_section_after_the_grade_table_never_called_nota():
    markdown, page = both(graded(typical().checks, notes=NOTES))
    assert "Nota: se" not in markdown and "> Nota" not in markdown and "Nota: celda" not in page
    assert markdown.index("| ✔ | ReLU |") < markdown.index("## Para tener en cuenta\n\n"
                                                         "- Se ignoró tp1.py (se calificó tp1.ipynb, "
                                                         "el más nuevo)\n- Celdas que no se "
                                                         "ejecutaron al calificar: 3, 29, 31-40\n")
    assert page.index("</table>") < page.index("<h2>Para tener en cuenta</h2>")


def test_code_in_a_note_is_code_in_markdown_and_html_not_literal_backticks():
    markdown, page = both(graded(typical().checks, notes=NOTES))
    assert "- Celda 12: `capa` no se definió al calificar: usa `W0`, que en ese punto" in markdown
    assert "<li>Celda 12: <code>capa</code> no se definió al calificar: usa <code>W0</code>," in page
    rendered = MarkdownIt("commonmark").render(markdown)
    assert "<li>Celda 12: <code>capa</code> no se definió al calificar: usa <code>W0</code>," in rendered


def test_every_exercise_is_listed_with_its_points():
    markdown = report.markdown(typical())
    assert "| ✘ | Capa lineal | 0.00 / 2.00 | 1 / 4 |" in markdown
    assert "| ✔ | ReLU | 1.00 / 1.00 | 1 / 1 |" in markdown
    assert "Nota: **3.33 / 10** (1 de 3 puntos)" in markdown


def test_the_report_says_how_to_rerun_the_public_checks_on_the_students_own_file():
    notebook = graded(typical().checks, submission_file="ana_garcia.ipynb")
    for text in both(notebook):
        assert "grader check tp1 tp1.ipynb" in text
        assert "ana_garcia.ipynb" in text


def test_a_file_that_does_not_load_is_explained_once_and_lists_no_failures():
    message = "el código lanzó SyntaxError: '(' was never closed (línea 23)"
    checks = [CheckResult(f"public::test_{n}", n, "public", Status.ERROR, message=message)
              for n in ("linear", "relu")]
    for text in both(graded(checks, load_error=message)):
        assert "Tu archivo no se pudo cargar" in text
        assert text.count("was never closed") == 1
        assert "Qué falló" not in text


def hostile_result() -> SubmissionResult:
    return graded([
        CheckResult("public::test_linear_forward", "linear", "public", Status.ERROR,
                    message=f"el código lanzó ValueError: ``` {HOSTILE} | *x* [a](http://e.com)",
                    output=f"```\n{HOSTILE}\n```\n"),
        CheckResult("public::test_relu", "relu", "public", Status.ERROR,
                    message=f"el código lanzó KeyError: {HOSTILE}\nTraceback:\n  ```\n  {HOSTILE}"),
    ], student=f"x{HOSTILE}", submission_file=f"{HOSTILE}.py",
        notes=[f"se ignoró {HOSTILE}", f"celda 3: `{HOSTILE}` no se definió"])


def test_markdown_from_hostile_student_text_renders_as_text():
    rendered = MarkdownIt("commonmark").render(report.markdown(hostile_result()))
    assert "<script" not in rendered and "<img" not in rendered and "<a href" not in rendered
    assert rendered.count("&lt;script&gt;document.title='PWNED'&lt;/script&gt;") >= 5


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


def test_html_from_hostile_student_text_is_escaped():
    page = parsed(htmlreport.html_report(hostile_result()))
    assert {tag for tag, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "code",
        "strong", "table", "thead", "tbody", "tr", "th", "td", "pre", "span", "ul", "li",
        "section", "footer"}
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    assert "".join(page.text).count(HOSTILE) >= 5  # student, file, note, message, output


def test_the_html_page_loads_nothing_and_runs_no_script():
    page = parsed(htmlreport.html_report(typical()))
    policy = [a["content"] for tag, a in page.tags if tag == "meta"
              and a.get("http-equiv") == "Content-Security-Policy"]
    assert policy == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                      "base-uri 'none'; form-action 'none'"]
    assert not [a for _, attrs in page.tags for a in ("src", "href") if a in attrs]
