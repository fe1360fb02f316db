"""The class report: grade distributions, pass rate per exercise, each student (as the gradebook
counts them), slowest submissions, a regrade's changes, anomalies."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from PIL import Image

from grader import results, scoring
from grader.cli import main
from grader.course import Exercise, load_course
from grader.course.adjustments import load_adjustments
from grader.errors import ConfigError
from grader.intake.roster import Roster, RosterStudent
from grader.output import classreport, gradebook
from grader.output import html as htmlreport
from grader.output.classreport import Anomaly
from grader.results import CheckResult, Status, SubmissionResult
from grader.submissions import safe_name

EXERCISES = [Exercise("linear", 2, "Capa lineal"), Exercise("relu", 1, "ReLU")]
COURSE_TOML = """
[course]
name = "Curso de prueba"

[grading]
pass_mark = 4

[[tp]]
name = "tp1"
weight = "1/2"
assignment = "assignments/tp1"

[[tp]]
name = "tp2"
weight = "1/2"
assignment = "assignments/tp2"
"""
HOSTILE = "<script>document.title='PWNED'</script>"


def graded(student: str, tp: str, statuses: dict[str, Status], *, load_error: str = "",
           duration_s: float = 1.0, notes: tuple[str, ...] = ()) -> SubmissionResult:
    checks = [CheckResult(f"public::test_{name}", name.split("_")[0], "public", status,
                          message=f"{name} falló" if status is not Status.PASS else "",
                          duration_s=duration_s / 4)
              for name, status in statuses.items()]
    exercises = scoring.score_checks(checks, EXERCISES)
    earned, possible, score = scoring.tp_score(exercises)
    return SubmissionResult(student, tp, f"{student}.py", "0" * 64, "0.1.0", "f" * 64, checks,
                            exercises, earned, possible, score, load_error=load_error,
                            notes=list(notes), duration_s=duration_s)


OK = {"linear_forward": Status.PASS, "linear_backward": Status.PASS, "relu": Status.PASS}


def the_class() -> list[SubmissionResult]:
    return [
        graded("ana", "tp1", OK, duration_s=3.0),
        graded("bruno", "tp1", {**OK, "linear_backward": Status.FAIL}, duration_s=2.0),
        graded("carla", "tp1", {k: Status.ERROR for k in OK}, load_error="SyntaxError (línea 3)",
               duration_s=0.5),
        graded("dani", "tp1", {**OK, "relu": Status.TIMEOUT}, duration_s=40.0),
        graded("ana", "tp2", {**OK, "relu": Status.FAIL}, duration_s=5.0,
               notes=("se ignoró viejo.py (se calificó tp2.py, el más nuevo)",)),
    ]


@pytest.fixture
def course(tmp_path: Path):
    (tmp_path / "course.toml").write_text(COURSE_TOML)
    return load_course(tmp_path / "course.toml")


def collected(items: list[SubmissionResult], problems: tuple[str, ...] = ()) -> gradebook.Collected:
    return gradebook.Collected({(r.student, r.tp): r for r in items}, list(problems))


def test_grades_are_counted_in_ten_bins_and_against_the_pass_mark(course):
    summary = classreport.summarize(collected(the_class()), course)
    tp1 = summary.tps[0].grades
    assert sorted(tp1.scores) == [0.0, 3.33, 6.67, 10.0]
    assert tp1.edges == tuple(float(e) for e in range(11))
    assert tp1.counts == (1, 0, 0, 1, 0, 0, 1, 0, 0, 1)  # 10.0 falls in the last bin
    assert tp1.passed == 2
    assert (summary.tps[0].load_errors, summary.tps[1].missing) == (1, 3)


def test_final_grades_are_the_gradebooks(course):
    items = collected(the_class())
    summary = classreport.summarize(items, course)
    book = gradebook.build(items, course)
    assert sorted(summary.final.scores) == sorted(book["final"].tolist()) == [0.0, 1.67, 3.34, 8.34]
    assert summary.final.passed == 1


def test_the_pass_rate_of_an_exercise_counts_the_submissions_that_loaded(course):
    tp1 = classreport.summarize(collected(the_class()), course).tps[0]
    rates = {e.name: (e.full, e.graded, round(e.mean_earned, 2)) for e in tp1.exercises}
    assert rates == {"linear": (2, 3, 1.33), "relu": (2, 3, 0.67)}


def test_every_anomaly_is_listed_with_what_happened(course):
    # Ana's note (an ignored file) is for her report: notes are not anomalies.
    late = Anomaly("bruno", "tp2", "late", "entregó el 2026-05-03, 2 días tarde")
    summary = classreport.summarize(collected(the_class(), ("tp1/x.json: esquema 'v0'",)), course,
                                    extra=[late])
    got = {(a.tp, a.student, a.kind) for a in summary.anomalies}
    assert got == {("tp1", "carla", "load_error"), ("tp1", "dani", "timeout"),
                   ("tp2", "bruno", "missing"), ("tp2", "carla", "missing"),
                   ("tp2", "dani", "missing"), ("tp2", "bruno", "late"), ("", "", "problem")}
    timeout = next(a for a in summary.anomalies if a.kind == "timeout")
    assert timeout.detail == "1 comprobación (public::test_relu): relu falló"
    assert next(a for a in summary.anomalies if a.kind == "late").kind_text == "entrega tardía"


def test_late_submissions_are_anomalies_and_final_grades_carry_the_penalty_as_in_the_gradebook(
        tmp_path):
    (tmp_path / "course.toml").write_text(
        '[course]\nname = "c"\n[calendar]\ntimezone = "America/Argentina/Buenos_Aires"\n'
        '[late]\npenalty_per_day = 0.1\n[[tp]]\nname = "tp1"\nweight = 1\nassignment = "a"\n'
        'deadline = "2026-09-11T23:00"\n')
    course = load_course(tmp_path / "course.toml")
    on_time, late = the_class()[:2]
    on_time.submitted_at, late.submitted_at = "2026-09-11T22:00:00-03:00", "2026-09-13T10:00:00-03:00"
    items = collected([on_time, late])
    summary = classreport.summarize(items, course)
    assert [(a.tp, a.student, a.kind, a.detail) for a in summary.anomalies] == [
        ("tp1", "bruno", "late", "2 días tarde: 3.33 − 0.67 = 2.66")]
    assert sorted(summary.final.scores) == sorted(gradebook.build(items, course)["final"]) == [2.66, 10]
    assert sorted(summary.tps[0].grades.scores) == [3.33, 10.0]  # the TP's grade as graded


def test_the_slowest_submissions_come_first_with_their_slowest_check(course):
    slowest = classreport.summarize(collected(the_class()), course, slowest=2).slowest
    assert [(s.student, s.tp, s.duration_s) for s in slowest] == [("dani", "tp1", 40.0),
                                                                   ("ana", "tp2", 5.0)]
    assert (slowest[0].slowest_check, slowest[0].slowest_check_s) == ("public::test_linear_forward",
                                                                        10.0)


def test_an_intake_manifest_adds_its_anomalies(tmp_path):
    manifest = tmp_path / "intake.json"
    assert classreport.load_intake(manifest) == []  # no manifest: nothing to add
    manifest.write_text(json.dumps({"students": [], "anomalies": [
        {"student": "eva", "tp": "tp1", "kind": "late", "detail": "3 horas tarde"},
        {"student": None, "tp": "tp1", "kind": "unmatched", "detail": "zz_top.py"}]}))
    assert classreport.load_intake(manifest) == [Anomaly("eva", "tp1", "late", "3 horas tarde"),
                                                 Anomaly("", "tp1", "unmatched", "zz_top.py")]
    manifest.write_text(json.dumps({"students": []}))
    assert classreport.load_intake(manifest) == []


def test_the_intake_kinds_read_in_spanish():
    assert Anomaly("", "tp1", "unmatched_file", "zz.py").kind_text == "archivo que no es de nadie"
    assert Anomaly("eva", "tp1", "no_submission").kind_text == "sin entrega"


def test_a_malformed_intake_manifest_is_an_error_that_names_the_file_and_entry(tmp_path):
    manifest = tmp_path / "intake.json"
    manifest.write_text(json.dumps({"anomalies": [{"student": "eva", "kind": "late"}, "tarde"]}))
    with pytest.raises(ConfigError, match=r"intake\.json: anomalies\[1\] debe ser un objeto"):
        classreport.load_intake(manifest)
    manifest.write_text("{no es json")
    with pytest.raises(ConfigError, match=r"intake\.json: no se puede leer"):
        classreport.load_intake(manifest)


class Page(HTMLParser):
    """The tables, images and tags of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def markdown_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[-:|]+\|", line):
            if not previous.startswith("|"):
                tables.append([])
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            tables[-1].append([re.sub(r"\\(.)", r"\1", c.strip()) for c in cells])
        previous = line
    return tables


def test_markdown_and_html_show_the_same_numbers(course, tmp_path):
    late = Anomaly("bruno", "tp2", "late", "2 días tarde")
    files = classreport.write(classreport.summarize(collected(the_class()), course, extra=[late]),
                              tmp_path / "report")
    page = Page()
    page.feed(files.index.read_text())
    tables = markdown_tables(files.readme.read_text())
    assert tables == page.tables
    assert tables[0][1] == ["TP1", "4", "0", "1", "5.00", "5.00", "0.00", "10.00", "2"]
    assert ["TP2", "bruno", "entrega tardía", "2 días tarde"] in tables[-1]


def test_plots_are_png_files_and_the_page_embeds_the_same_bytes(course, tmp_path):
    files = classreport.write(classreport.summarize(collected(the_class()), course), tmp_path / "r")
    assert sorted(p.name for p in files.images) == sorted([
        "grades-tp1.png", "grades-tp2.png", "grades-final.png", "pass-rate-tp1.png",
        "pass-rate-tp2.png"])
    page = Page()
    page.feed(files.index.read_text())
    embedded = [base64.b64decode(src.removeprefix("data:image/png;base64,")) for src in page.images]
    assert embedded == [p.read_bytes() for p in files.images]
    for png in embedded:
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and image.size[0] >= 600
    for name in (p.name for p in files.images):
        assert f"]({name})" in files.readme.read_text()


def test_student_text_in_the_class_report_stays_text(course, tmp_path):
    hostile = graded(f"x{HOSTILE}", "tp1", {**OK, "relu": Status.CRASH},
                     notes=(f"se ignoró {HOSTILE}.py",))
    files = classreport.write(classreport.summarize(collected([*the_class(), hostile]), course),
                              tmp_path / "r")
    page = Page()
    page.feed(files.index.read_text())
    assert "script" not in page.tags and not [a for a in page.attributes if a.startswith("on")]
    assert any(HOSTILE in cell for table in page.tables for row in table for cell in row)
    rendered = MarkdownIt("commonmark").render(files.readme.read_text())
    assert "<script" not in rendered and "&lt;script&gt;" in rendered


def test_the_report_command_adds_the_anomalies_of_each_intake_manifest(course, tmp_path):
    for result in the_class():
        results.save(result, tmp_path / "res" / result.tp / f"{result.student}.json")
    intakes = []
    for tp, detail in (("tp1", "zz.py no es de nadie"), ("tp2", "llegó 3 horas tarde")):
        intakes += ["--intake", str(tmp_path / tp / "intake.json")]
        (tmp_path / tp).mkdir()
        (tmp_path / tp / "intake.json").write_text(json.dumps({
            "schema": "grader.intake/1", "tp": tp, "students": [], "anomalies": [
                {"student": "", "tp": tp, "kind": "unmatched", "detail": detail}]}))
    run = CliRunner().invoke(main, ["report", str(tmp_path / "res"), "--out", str(tmp_path / "out"),
                                    "--course", str(tmp_path / "course.toml"), *intakes,
                                    "--intake", str(tmp_path / "no-existe.json")])
    assert run.exit_code == 0, run.output
    assert "4 estudiantes, 7 anomalías" in run.output
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "| TP1 | — | archivo sin estudiante | zz.py no es de nadie |" in readme
    assert "| TP2 | — | archivo sin estudiante | llegó 3 horas tarde |" in readme
    assert (tmp_path / "out" / "index.html").is_file()


# --- per student, as the gradebook counts them --------------------------------------------------

ROSTER = Roster([RosterStudent("100001", "Ana", "ana@fi.uba.ar"),
                 RosterStudent("100002", "Bruno", "bruno@fi.uba.ar"),
                 RosterStudent("100003", "Carla", "carla@fi.uba.ar"),
                 RosterStudent("100004", "Dani", "dani@fi.uba.ar"),
                 RosterStudent("100005", "Eva", "eva@fi.uba.ar"),
                 RosterStudent("100006", "Fede", "fede@fi.uba.ar")])


def saved(folder: Path, items: list[SubmissionResult]) -> Path:
    """The results as a batch leaves them: ``TP/STUDENT.json`` and the feedback page beside it."""
    for item in items:
        path = folder / item.tp / f"{safe_name(item.student)}.json"
        results.save(item, path)
        path.with_suffix(".html").write_text(htmlreport.html_report(item))
    return folder


def test_with_a_roster_the_report_counts_every_roster_student_as_the_gradebook_does(course):
    items = collected(the_class())
    summary = classreport.summarize(items, course, roster=ROSTER)
    book = gradebook.build(collected(the_class()), course, roster=ROSTER)
    assert summary.students == tuple(book["padron"]) == tuple(s.student_id for s in ROSTER.students)
    assert [(r.student, r.name, r.final, r.condition) for r in summary.rows] == list(
        zip(book["padron"], book["nombre"], book["final"], book["condition"], strict=True))
    assert summary.final.passed == (book["condition"] == "aprobado").sum() == 1
    assert len(summary.final.scores) == 6 and summary.final.scores.count(0.0) == 3
    assert (summary.tps[0].missing, summary.tps[1].missing) == (2, 5)
    eva = next(r for r in summary.rows if r.name == "Eva")
    assert [(s.status, s.score) for s in eva.scores] == [("missing", 0.0), ("missing", 0.0)]
    assert [(a.tp, a.kind) for a in eva.anomalies] == [("tp1", "missing"), ("tp2", "missing")]
    assert "\n6 estudiantes del padrón, 2 TPs." in classreport.markdown(summary)


def test_an_intakes_no_submission_is_not_listed_again_as_missing(course):
    no_show = Anomaly("100005", "tp1", "no_submission", "no entregó")
    summary = classreport.summarize(collected(the_class()), course, roster=ROSTER, extra=[no_show])
    assert [(a.tp, a.kind) for a in summary.anomalies if a.student == "100005"] == [
        ("tp1", "no_submission"), ("tp2", "missing")]


def test_the_report_and_the_gradebook_commands_count_the_same_students(course, tmp_path):
    saved(tmp_path / "res", the_class())
    (tmp_path / "padron.csv").write_text("padrón,nombre,email\n" + "".join(
        f"{s.student_id},{s.name},{s.email}\n" for s in ROSTER.students))
    common = ["--course", str(tmp_path / "course.toml"), "--roster", str(tmp_path / "padron.csv")]
    book = CliRunner().invoke(main, ["gradebook", str(tmp_path / "res"), "--out",
                                     str(tmp_path / "gradebook.csv"), *common])
    report = CliRunner().invoke(main, ["report", str(tmp_path / "res"), "--out",
                                       str(tmp_path / "out"), *common])
    assert book.exit_code == 0 and report.exit_code == 0, book.output + report.output
    assert "6 estudiantes →" in book.output and "6 estudiantes," in report.output
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "## Estudiantes (6)" in readme and "| Nota final | 6 |" in readme
    assert "| 100006 | Fede | — | — | 0.00 | desaprobado | — | 2: TP1 sin entrega; TP2 sin entrega |" \
        in readme


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a href="([^"]*)"', page)]


def test_each_score_links_to_that_students_feedback_page(course, tmp_path):
    res = saved(tmp_path / "results" / "2026", [*the_class(), graded("eva lópez/x", "tp2", OK)])
    files = classreport.class_report(res, course, tmp_path / "report")
    page, readme = files.index.read_text(), files.readme.read_text()
    links = hrefs(page)
    assert links == re.findall(r"\]\(([^)]*\.html)\)", readme)
    expected = [res / tp / f"{safe_name(s)}.html" for s, tp in (
        ("ana", "tp1"), ("ana", "tp2"), ("bruno", "tp1"), ("carla", "tp1"), ("dani", "tp1"),
        ("eva lópez/x", "tp2"))]
    assert [(files.index.parent / unquote(link)).resolve() for link in links] == expected
    assert all(not link.startswith("/") and (files.index.parent / unquote(link)).is_file()
               for link in links)
    assert "../results/2026/tp2/eva_l%C3%B3pez_x.html" in links
    table = next(t for t in markdown_tables(readme) if t[0][0] == "Estudiante")
    assert table[2][:3] == ["bruno", "[3.33](../results/2026/tp1/bruno.html)", "—"]  # no result, no link


def test_a_score_without_its_feedback_page_has_no_link(course, tmp_path):
    res = saved(tmp_path / "res", the_class())
    (res / "tp1" / "ana.html").unlink()
    files = classreport.class_report(res, course, tmp_path / "report")
    assert "../res/tp1/ana.html" not in hrefs(files.index.read_text())
    assert "../res/tp2/ana.html" in hrefs(files.index.read_text())


def test_an_adjusted_score_shows_before_and_after_with_its_note(course, tmp_path):
    (tmp_path / "ajustes.toml").write_text(
        '[[adjustment]]\nstudent = "bruno"\ntp = "tp1"\nscore = 8\nby = "M. Pérez"\n'
        'date = 2026-11-12\nreason = "el check de backward estaba mal"\n')
    found = load_adjustments(tmp_path / "ajustes.toml", course)
    summary = classreport.summarize(collected(the_class()), course, adjustments=found)
    book = gradebook.build(collected(the_class()), course, adjustments=found)
    assert [r.final for r in summary.rows] == book["final"].tolist()
    bruno = next(r for r in summary.rows if r.student == "bruno")
    assert (bruno.scores[0].auto, bruno.scores[0].score) == (3.33, 8.0)
    files = classreport.write(summary, tmp_path / "report")
    table = next(t for t in markdown_tables(files.readme.read_text()) if t[0][0] == "Estudiante")
    assert table[2][:6] == ["bruno", "3.33 → 8.00", "—", "4.00", "aprobado", "TP1"]
    assert "el check de backward estaba mal (M. Pérez, 12/11/2026)" in files.readme.read_text()
    page = files.index.read_text()
    assert re.search(r'<td class="num" title="3\.33 -&gt; 8\.00, ajuste: el check de backward estaba '
                     r'mal \(M\. Pérez, 12/11/2026\)">3\.33 → 8\.00</td>', page)
    # Without adjustments there is nothing to show.
    plain = classreport.write(classreport.summarize(collected(the_class()), course), tmp_path / "r2")
    assert "→" not in plain.readme.read_text() and "Ajustes:" not in plain.readme.read_text()


# --- the last regrade's changes -----------------------------------------------------------------


def test_the_changes_of_the_last_regrade_have_their_own_section(course, tmp_path):
    res = saved(tmp_path / "res", the_class())
    (res / "tp1" / "cambios.csv").write_text(
        "student,tp,reason,old_score,new_score,changed_checks\n"
        "bruno,tp1,cambiaron las comprobaciones,10.00,3.33,"
        "public::test_linear_backward: PASS -> FAIL; public::test_new: - -> PASS\n")
    files = classreport.class_report(res, course, tmp_path / "report")
    assert files.summary.changes == (classreport.Change(
        "bruno", "tp1", "cambiaron las comprobaciones", "10.00", "3.33",
        "public::test_linear_backward: PASS -> FAIL; public::test_new: - -> PASS"),)
    readme = files.readme.read_text()
    assert "## Cambios de la última recalificación (1)" in readme
    assert ("| TP1 | bruno | cambiaron las comprobaciones | 10.00 | 3.33 | public::test_linear_backward: "
            "PASS -\\> FAIL; public::test_new: - -\\> PASS |") in readme
    page = Page()
    page.feed(files.index.read_text())
    assert ["TP1", "bruno", "cambiaron las comprobaciones", "10.00", "3.33",
            "public::test_linear_backward: PASS -> FAIL; public::test_new: - -> PASS"] in page.tables[-2]
    assert "Cambios de la última recalificación (1)" in files.index.read_text()


def test_without_a_changes_file_there_is_no_changes_section(course, tmp_path):
    files = classreport.class_report(saved(tmp_path / "res", the_class()), course, tmp_path / "r")
    assert files.summary.changes is None
    assert "Cambios de la última" not in files.readme.read_text() + files.index.read_text()


def test_a_changes_file_with_other_columns_is_a_problem_that_names_it(course, tmp_path):
    res = saved(tmp_path / "res", the_class())
    (res / "tp2" / "cambios.csv").write_text("alumno,nota\nana,3\n")
    files = classreport.class_report(res, course, tmp_path / "report")
    problem = next(a for a in files.summary.anomalies if a.kind == "problem")
    assert problem.tp == "tp2"
    assert problem.detail == (f"{res / 'tp2' / 'cambios.csv'}: se esperaban las columnas "
                              "student,tp,reason,old_score,new_score,changed_checks; llegaron "
                              "alumno,nota")
    assert "## Cambios de la última recalificación (0)" in files.readme.read_text()


def test_a_long_text_is_cut_in_the_table_and_whole_in_its_title(course, tmp_path):
    long = "x" * 300
    files = classreport.write(classreport.summarize(
        collected(the_class()), course, extra=[Anomaly("ana", "tp1", "review", long)]),
        tmp_path / "report")
    row = next(r for r in markdown_tables(files.readme.read_text())[-1] if r[2] == "revisar a mano")
    assert row[3] == "x" * (classreport.LONG - 1) + "…"
    assert f'title="{long}">{"x" * (classreport.LONG - 1)}…</td>' in files.index.read_text()


def test_a_similarity_listing_in_the_results_gets_its_section(course, tmp_path):
    res = saved(tmp_path / "res", the_class())
    files = classreport.class_report(res, course, tmp_path / "report")
    assert "Similitud entre entregas" not in files.readme.read_text()
    folder = res / "tp1" / classreport.SIMILARITY_FOLDER
    folder.mkdir()
    (folder / "similitud.csv").write_text(
        "rank,tp,student_a,student_b,score,share_a,share_b,shared_fingerprints,functions_a,"
        "functions_b,file_a,file_b\n1,tp1,ana,bruno,0.91,0.91,0.88,120,,,ana.py,bruno.py\n")
    files = classreport.class_report(res, course, tmp_path / "report")
    readme, page = files.readme.read_text(), files.index.read_text()
    assert "## Similitud entre entregas (TP1)" in readme
    assert "| 1 | ana | bruno | 91 % | 91 % | 88 % |" in readme
    assert "Similitud entre entregas (TP1)" in page and "no es un veredicto" in page.lower() + readme.lower()
