"""The class report fits a 1280 px window: a real browser (headless chromium) lays out a report
built to be wide (long names and ids, five TPs full of anomalies, a roster with students who
handed nothing in, manual adjustments, a regrade's changes) and nothing sticks out."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader import results, scoring
from grader.course import Exercise, load_course
from grader.course.adjustments import load_adjustments
from grader.intake.roster import Roster, RosterStudent
from grader.output import classreport
from grader.output import html as htmlreport
from grader.results import CheckResult, Status, SubmissionResult

WIDTH = 1280
TPS = [f"tp{i}" for i in range(1, 6)]
EXERCISES = [Exercise("linear", 2, "Capa lineal"), Exercise("relu", 1, "ReLU")]
# No break opportunity anywhere: only a layout that may break ids anywhere fits these.
LONG_KEY = ("maria.de.los.angeles.fernandez.gutierrez.bustamante.de.la.santisima.trinidad" * 2
            + "@fi.uba.ar")  # her email, as an intake without padrón names her results
LONG_CHECK = "hidden::test_linear_backward_matches_the_reference_" + "x" * 160 + "[float64]"
LONG_NAME = ("Fernández-Gutiérrez-Bustamante-de-la-Santísima-Trinidad, María de los Ángeles "
             "Guadalupe Concepción")
ROSTER = Roster([RosterStudent("100001", LONG_NAME, LONG_KEY),
                 RosterStudent("100002", "Díaz, Bruno", "bdiaz@fi.uba.ar"),
                 RosterStudent("100003", "López, Carla", "clopez@fi.uba.ar"),
                 RosterStudent("100004", "Sin Entregas, Uno", "uno@fi.uba.ar"),
                 RosterStudent("100005", "Sin Entregas, Dos", "dos@fi.uba.ar")])


def result(student: str, tp: str, statuses: dict[str, Status], *, load_error: str = "",
           duration_s: float = 2.0) -> SubmissionResult:
    checks = [CheckResult(check, check.split("::")[1].split("_")[1], "public", status,
                          message="" if status is Status.PASS else f"{check} falló: " + "dW " * 80,
                          duration_s=duration_s / 3)
              for check, status in statuses.items()]
    exercises = scoring.score_checks(checks, EXERCISES)
    earned, possible, score = scoring.tp_score(exercises)
    return SubmissionResult(student, tp, f"{tp}.py", "0" * 64, "0.1.0", "f" * 64, checks, exercises,
                            earned, possible, score, load_error=load_error, duration_s=duration_s)


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wide")
    (root / "course.toml").write_text('[course]\nname = "Curso con nombres largos"\n' + "".join(
        f'[[tp]]\nname = "{tp}"\nweight = "1/5"\nassignment = "a/{tp}"\n' for tp in TPS))
    course = load_course(root / "course.toml")
    everything_wrong = {"public::test_linear_forward": Status.TIMEOUT, LONG_CHECK: Status.CRASH,
                        "public::test_relu": Status.MEMORY}
    graded = [result(LONG_KEY, tp, everything_wrong, duration_s=90.0) for tp in TPS]
    graded += [result("100002", tp, {"public::test_linear_forward": Status.PASS,
                                     "public::test_relu": Status.PASS}) for tp in TPS]
    graded.append(result("clopez@fi.uba.ar", "tp1", {"public::test_relu": Status.ERROR},
                         load_error="SyntaxError: " + "invalid syntax " * 30))
    for item in graded:
        path = root / "res" / item.tp / f"{item.student}.json"
        results.save(item, path)
        path.with_suffix(".html").write_text(htmlreport.html_report(item))
    (root / "ajustes.toml").write_text(
        '[[adjustment]]\nstudent = "100001"\ntp = "tp2"\nbonus = 1.5\nby = "M. Pérez"\n'
        f'date = 2026-11-12\nreason = "regrade pedido: {"el check de backward estaba mal " * 6}"\n')
    (root / "res" / "tp1" / "cambios.csv").write_text(
        "student,tp,reason,old_score,new_score,changed_checks\n"
        f"{LONG_KEY},tp1,cambiaron las comprobaciones,5.00,0.00,"
        + "; ".join(f"{LONG_CHECK}{i}: PASS -> CRASH" for i in range(6)) + "\n")
    files = classreport.class_report(root / "res", course, root / "report", roster=ROSTER,
                                     adjustments=load_adjustments(root / "ajustes.toml", course))
    return files.index


# A test-only page that frames the report at 1280 px (file URLs reach each other with
# --allow-file-access-from-files) and writes what the browser laid out into its own DOM: the
# report itself runs no script.
MEASURE = """<!DOCTYPE html><html><body style="margin:0"><pre id="out"></pre>
<iframe src="%s" width="%d" height="900" style="border:0;display:block"></iframe>
<script>
window.addEventListener("load", () => {
  const d = document.querySelector("iframe").contentDocument;
  const root = d.documentElement;
  const out = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
               height: root.scrollHeight, text: d.body.innerText,
               tables: [...d.querySelectorAll("table")].map(t => ({
                 css: t.className, right: t.getBoundingClientRect().right,
                 scrollWidth: t.scrollWidth, clientWidth: t.clientWidth})),
               cells: Math.max(...[...d.querySelectorAll("td, th")].map(
                 c => c.getBoundingClientRect().right)),
               links: [...d.querySelectorAll("a")].map(a => a.href)};
  document.getElementById("out").textContent = JSON.stringify(out);
});
</script></body></html>"""


def measure(chromium, page: Path, folder: Path) -> dict:
    wrapper = folder / "measure.html"
    wrapper.write_text(MEASURE % (page.as_uri(), WIDTH))
    dom = chromium(wrapper.as_uri(), "--allow-file-access-from-files", "--dump-dom",
                   f"--window-size={WIDTH + 100},1000")
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1).startswith("{"), dom[:2000]
    return json.loads(html.unescape(found.group(1)))


def test_the_wide_report_fits_1280_pixels_with_every_table_inside(chromium, wide_report, tmp_path):
    seen = measure(chromium, wide_report, tmp_path)
    assert seen["clientWidth"] == WIDTH
    assert seen["scrollWidth"] <= WIDTH  # no horizontal scrollbar
    assert {t["css"] for t in seen["tables"]} >= {"overview", "students", "slow", "changes",
                                                 "anomalies"}
    for table in seen["tables"]:
        assert table["right"] <= WIDTH and table["scrollWidth"] <= table["clientWidth"], table
    assert seen["cells"] <= WIDTH
    # What it fits is the whole report: every roster student, the changes, the adjustment.
    for text in ("Estudiantes (5)", "Sin Entregas, Dos", "Cambios de la última recalificación (1)",
                 "0.00 → 1.50", "regrade pedido"):
        assert text in seen["text"]
    assert len(seen["links"]) == 11  # one per result: five TPs of two students, carla's TP1
    assert all(link.startswith("file://") and link.endswith(".html") for link in seen["links"])


def test_a_1280_pixel_screenshot_has_nothing_in_its_right_margin(chromium, wide_report, tmp_path):
    height = min(measure(chromium, wide_report, tmp_path)["height"], 12000)
    path = tmp_path / "report.png"
    chromium(wide_report.as_uri(), f"--screenshot={path}", f"--window-size={WIDTH},{height}")
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert pixels.shape == (height, WIDTH, 3)
    # The page is painted (text, tables, the plots' bars) ...
    assert (pixels.min(axis=2) < 200).mean() > 0.02
    # ... and its content stops where the page's margin starts: a table cut at the window's edge
    # would paint its borders and text into these columns.
    margin = pixels[:, WIDTH - 24:]
    assert (margin >= 250).all(), np.argwhere(margin < 250)[:5]
