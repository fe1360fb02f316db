"""Every report of the example class: beside each result, free of hidden checks and reference
solutions, and rendered by a real browser (headless chromium) with its plots."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader import results, scoring
from grader.batch.local import grade_batch
from grader.course import Exercise
from grader.output import html as htmlreport
from grader.results import CheckResult, Status, SubmissionResult

REPO = Path(__file__).parents[2]
TPS = ("tp1", "tp2", "tp3")
pytestmark = pytest.mark.slow  # grades the example class (shared with the other example tests)

HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\">"


@pytest.fixture(scope="module")
def graded_class(example_class) -> Path:
    for tp in TPS:
        out = example_class(tp)
    return out


@pytest.fixture(scope="module")
def class_report(graded_class, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("class-report")
    run = subprocess.run([sys.executable, "-m", "grader.cli", "report", str(graded_class), "--out",
                          str(out)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 estudiantes" in run.stdout
    return out


def test_every_result_has_its_markdown_and_html_report(graded_class):
    for tp in TPS:
        folder = graded_class / tp
        stems = {p.stem for p in folder.glob("*.json")}
        assert len(stems) >= 6
        assert {p.stem for p in folder.glob("*.md")} == stems
        assert {p.stem for p in folder.glob("*.html")} == stems


def test_a_reused_result_gets_a_missing_html_report_back(graded_class):
    page = graded_class / "tp1" / "gabi_sosa.html"
    page.unlink()
    summary = grade_batch(REPO / "course.toml", "tp1", REPO / "examples" / "class" / "tp1",
                          graded_class, jobs=1)
    assert (summary.reused, summary.graded) == (7, 0)
    assert page.read_text() == htmlreport.html_report(results.load(page.with_suffix(".json")))


def test_the_class_report_has_the_gradebooks_numbers_and_every_designed_anomaly(class_report):
    readme = (class_report / "README.md").read_text()
    # examples/class/EXPECTED-tp*.md: final grades 10, 10, 8.50, 9.17, 9.33, 10, 0.
    assert "| Nota final | 7 | — | — | 8.14 | 9.33 | 0.00 | 10.00 | 6 |" in readme
    assert "| TP1 | 7 | 0 | 1 | 8.29 | 9.50 | 0.00 | 10.00 | 6 |" in readme
    assert "| Capa lineal | 2 | 5 de 6 | 83 % | 1.67 |" in readme  # carla's linear_backward
    for row in ("| TP1 | diego\\_martin | se cayó |", "| TP1 | elena\\_ruiz | tiempo agotado |",
                "| TP1 | gabi\\_sosa | no se pudo cargar |", "| TP2 | gabi\\_sosa | sin entrega |",
                "| TP3 | gabi\\_sosa | sin entrega |"):
        assert row.replace("\\_", "_") in readme
    assert sorted(p.name for p in class_report.glob("*.png")) == sorted(
        [f"grades-{t}.png" for t in (*TPS, "final")] + [f"pass-rate-{t}.png" for t in TPS])


def _hidden_code_lines() -> set[str]:
    lines = set()
    for path in REPO.glob("assignments/*/hidden/*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and not line.startswith(("#", '"', "'", "f\"", "f'")):
                lines.add(line)
    return lines


def test_no_report_shows_hidden_checks_or_reference_solutions(graded_class, class_report):
    student_reports = [p for tp in TPS for p in (graded_class / tp).glob("*.*")
                       if p.suffix in (".md", ".html")]
    reports = [*student_reports, *class_report.glob("*.md"), *class_report.glob("*.html")]
    assert len(student_reports) >= 2 * 19
    code = _hidden_code_lines()
    assert len(code) > 200
    for path in reports:
        text = html.unescape(path.read_text())
        assert "CANARY-HIDDEN" not in text and "CANARY-REFERENCE" not in text, path
        assert not [line for line in code if line in text], path
    # Students never see a hidden check's parametrization (pytest builds it from its inputs).
    hidden_ids = {c.id.split("::", 1)[1] for tp in TPS for p in (graded_class / tp).glob("*.json")
                  for c in results.load(p).checks if c.visibility == "hidden" and "[" in c.id}
    assert len(hidden_ids) > 20
    for path in student_reports:
        text = html.unescape(path.read_text())
        assert not [name for name in hidden_ids if name in text], path


# --- in a real browser (the chromium fixture is in conftest.py) ---------------------------------


def hostile_page(folder: Path) -> Path:
    check = CheckResult("public::test_relu", "relu", "public", Status.ERROR,
                        message=f"el código lanzó ValueError: {HOSTILE}", output=f"{HOSTILE}\n")
    exercises = scoring.score_checks([check], [Exercise("relu", 1, "ReLU")])
    result = SubmissionResult(f"mallory{HOSTILE}", "tp1", f"{HOSTILE}.py", "0" * 64, "0.1.0", "f",
                              [check], exercises, 0.0, 1.0, 0.0)
    path = folder / "hostile.html"
    path.write_text(htmlreport.html_report(result))
    return path


# A test-only page that frames the reports (file URLs reach each other with
# --allow-file-access-from-files) and writes what the browser made of each into its own DOM.
PROBE = """<!DOCTYPE html><html><body><pre id="out"></pre>%s
<script>
// The page's load event comes after every frame's, and a frame's after its images: by then each
// image has its natural size, and the dump is taken after this handler has run.
window.addEventListener("load", () => {
  const out = [...document.querySelectorAll("iframe")].map(f => {
    const d = f.contentDocument;
    return {url: d.URL, title: d.title, text: d.body.innerText, scripts: d.scripts.length,
            handlers: d.querySelectorAll("[onerror],[onload],[onclick]").length,
            images: [...d.images].map(i => ({src: i.getAttribute("src").slice(0, 22),
                                             width: i.naturalWidth, height: i.naturalHeight}))};
  });
  document.getElementById("out").textContent = JSON.stringify(out);
});
</script></body></html>"""


def probe(chromium, folder: Path, pages: list[Path]) -> list[dict]:
    wrapper = folder / "probe.html"
    frames = "".join(f'<iframe src="{p.as_uri()}" width="1100" height="900"></iframe>' for p in pages)
    wrapper.write_text(PROBE % frames)
    dom = chromium(wrapper.as_uri(), "--allow-file-access-from-files", "--dump-dom")
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1).startswith("["), dom[:2000]
    return json.loads(html.unescape(found.group(1)))


def screenshot_pixels(chromium, page: Path, path: Path, size: str) -> np.ndarray:
    chromium(page.as_uri(), f"--screenshot={path}", f"--window-size={size}")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_the_browser_shows_the_class_report_with_its_plots(chromium, class_report, graded_class,
                                                           tmp_path):
    index = class_report / "index.html"
    dom = chromium(index.as_uri(), "--dump-dom")
    for text in ("Informe de la clase", "distribución de notas", "Las entregas más lentas",
                 "Anomalías (", "gabi_sosa", "sin entrega", "Capa lineal"):
        assert text in dom
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', dom)) == 7

    student = graded_class / "tp1" / "elena_ruiz.html"
    dom = chromium(student.as_uri(), "--dump-dom")
    for text in ("TP1: devolución para elena_ruiz", "Qué falló", "Tangente hiperbólica",
                 "tiempo agotado", "grader check tp1 tp1.py"):
        assert text in dom

    report, feedback, hostile = probe(chromium, tmp_path, [index, student, hostile_page(tmp_path)])
    assert len(report["images"]) == 7
    for image in report["images"]:
        assert image["src"] == "data:image/png;base64,"
        assert image["width"] >= 600 and image["height"] >= 300, image
    assert "Nota final" in report["text"] and "diego_martin" in report["text"]
    assert "test_activation_matches_reference_and_torch" in feedback["text"]
    assert "[tanh]" not in feedback["text"]
    # Hostile student text is text: it shows verbatim and nothing of it runs or becomes a tag.
    assert hostile["title"].startswith("TP1: devolución para mallory<script>")
    assert (hostile["scripts"], hostile["handlers"], hostile["images"]) == (0, 0, [])
    assert hostile["text"].count(HOSTILE) == 4  # student, file, message, output

    pixels = screenshot_pixels(chromium, index, tmp_path / "index.png", "1100,1600")
    assert pixels.shape == (1600, 1100, 3)
    assert pixels.std() > 20 and (pixels.min(axis=2) < 200).mean() > 0.02
    # The histograms' bars (#4c72b0) are painted, not just the text around them.
    assert (np.abs(pixels - np.array([0x4C, 0x72, 0xB0])).max(axis=2) < 12).sum() > 2000
    pixels = screenshot_pixels(chromium, student, tmp_path / "student.png", "1000,1200")
    assert pixels.std() > 20 and (pixels.min(axis=2) < 200).mean() > 0.02
