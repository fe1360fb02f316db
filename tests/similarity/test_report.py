"""``similitud.html`` and ``similitud.csv``: hostile code stays text, formulas stay inert, the
class report's section, the command, and the page in a real browser (headless chromium)."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from grader.cli import main
from grader.course import load_course
from grader.similarity import report
from grader.similarity.pairs import analyse, given_kgrams
from grader.similarity.run import given_sources, read_documents, run_similarity

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "similarity"
HOSTILE = "</pre></details><script>document.title='PWNED'</script><img src=x onerror=alert(1)>"
HOSTILE_CODE = f'''def conv2d_forward(x, w, b, stride=1, pad=0):
    # {HOSTILE}
    banner = "{HOSTILE}"
    total = 0
    for i in range(len(x)):
        for j in range(len(w)):
            total = total + x[i] * w[j] + b * stride - pad
            banner = banner + str(total)
    return total, banner
'''


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)


@pytest.fixture(scope="module")
def course():
    return load_course(REPO / "course.toml")


@pytest.fixture(scope="module")
def copy_pair(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pair")
    shutil.copy(FIXTURES / "original.py", folder / "original.py")
    shutil.copy(FIXTURES / "renamed_copy.py", folder / "renamed_copy.py")
    return folder


def test_hostile_code_and_names_are_text_in_the_page(course, tmp_path):
    folder = tmp_path / "entregas"
    folder.mkdir()
    (folder / "mallory<b onmouseover=alert(1)>.py").write_text(HOSTILE_CODE)
    (folder / "=HYPERLINK(1).py").write_text(HOSTILE_CODE)
    analysis, html_path, csv_path = run_similarity(course, "tp3", folder, tmp_path / "out")
    assert len(analysis.listed) == 1
    page = html_path.read_text()
    parser = Tags()
    parser.feed(page)
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2",
                                "h3", "p", "strong", "table", "tr", "th", "td", "a", "details",
                                "summary", "div", "pre", "span", "mark", "code", "footer", "ul", "li"}
    assert not {"onerror", "onmouseover", "src"} & set(parser.attributes)
    assert "&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;" in page
    assert "mallory&lt;b onmouseover=alert(1)&gt;" in page
    rows = csv_path.read_text().splitlines()
    assert rows[1].split(",")[2:4] == ["'=HYPERLINK(1)", "mallory<b onmouseover=alert(1)>"]


def test_the_page_says_it_is_a_list_for_review_not_a_verdict(course, copy_pair, tmp_path):
    _, html_path, _ = run_similarity(course, "tp3", copy_pair, tmp_path)
    assert report.NOT_A_VERDICT.split(":")[0] in html_path.read_text()


def test_the_page_lists_every_submission_it_compared(course, copy_pair, tmp_path):
    _, html_path, _ = run_similarity(course, "tp3", copy_pair, tmp_path)
    compared = html_path.read_text().split("Entregas comparadas (2)</h2>")[1].split("<footer>")[0]
    assert "original (<code>original.py</code>" in compared
    assert "renamed_copy (<code>renamed_copy.py</code>" in compared


def test_the_csv_has_one_row_per_listed_pair_with_its_shares(course, copy_pair, tmp_path):
    _, _, csv_path = run_similarity(course, "tp3", copy_pair, tmp_path)
    header, row = csv_path.read_text().splitlines()
    assert header == ",".join(report.CSV_COLUMNS)
    assert row.startswith("1,tp3,original,renamed_copy,0.9")
    assert "scaled_dot_product_attention" not in row and "conv2d_backward 1.00" in row


def test_the_class_report_section_lists_the_pairs_of_the_csv(course, copy_pair, tmp_path):
    _, _, csv_path = run_similarity(course, "tp3", copy_pair, tmp_path)
    markdown, html = report.section(csv_path)
    assert markdown.startswith("## Similitud entre entregas (TP3)\n\n1 par para revisar")
    assert "| 1 | original | renamed_copy | 91 % | 91 % | 91 % |" in markdown
    assert "<td>renamed_copy</td>" in html and "no es un veredicto" in html


def test_the_section_of_a_class_with_no_pair_says_so(course, tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(FIXTURES / "original.py", tmp_path / "in" / "solo.py")
    _, _, csv_path = run_similarity(course, "tp3", tmp_path / "in", tmp_path / "out")
    markdown, _ = report.section(csv_path)
    assert "Ningún par de entregas llega al umbral" in markdown


def test_the_command_prints_the_top_pairs_and_writes_both_files(copy_pair, tmp_path):
    result = CliRunner().invoke(main, ["similarity", "tp3", str(copy_pair), "--out", str(tmp_path),
                                       "--threshold", "0.8", "--course", str(REPO / "course.toml")])
    assert result.exit_code == 0, result.output
    assert "1. original y renamed_copy: 91 %" in result.output
    assert "2 entregas, 1 par desde 80 % de parecido" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"similitud.html", "similitud.csv"}


def test_the_command_refuses_a_threshold_outside_0_to_1(copy_pair, tmp_path):
    result = CliRunner().invoke(main, ["similarity", "tp3", str(copy_pair), "--out", str(tmp_path),
                                       "--threshold", "50"])
    assert result.exit_code == 2 and "50" in result.output


# --- in a real browser (the chromium fixture of tests/conftest.py) ----------------------------


def page_requests(chromium, page: Path, log: Path) -> list[str]:
    """What the page itself asked the network for: chromium's net log, requests whose initiator
    is the page (a file page's origin is ``null``; the browser's own are ``not an origin``)."""
    chromium(page.as_uri(), f"--log-net-log={log}", "--dump-dom")
    events = json.loads(log.read_text())["events"]
    return sorted({e["params"]["url"] for e in events
                   if e.get("params", {}).get("initiator") == "null" and "url" in e["params"]})


def test_the_browser_shows_the_pairs_with_their_shared_regions_and_loads_nothing(
        chromium, course, copy_pair, tmp_path):
    _, html_path, _ = run_similarity(course, "tp3", copy_pair, tmp_path / "out")
    dom = chromium(html_path.as_uri(), "--dump-dom")
    assert "Similitud entre entregas: TP3" in dom and "no es un veredicto" in dom
    assert len(re.findall(r"<mark>", dom)) > 100
    rewritten = re.findall(r'<pre data-student="[^"]*" data-unit="scaled_dot_product_attention">',
                           dom)
    assert rewritten == []  # the rewritten function is not shown as shared at all

    assert page_requests(chromium, html_path, tmp_path / "net.json") == []
    control = tmp_path / "control.html"  # the check sees a page that does load something
    control.write_text('<img src="http://example.invalid/pixel.png">')
    assert page_requests(chromium, control, tmp_path / "control.json") == [
        "http://example.invalid/pixel.png"]

    opened = tmp_path / "opened.html"  # the first pair unfolded, as a reviewer opens it
    opened.write_text(html_path.read_text().replace('<details id="par-1">', '<details id="par-1" open>'))
    chromium(opened.as_uri(), f"--screenshot={tmp_path / 'page.png'}", "--window-size=1400,2400")
    with Image.open(tmp_path / "page.png") as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert pixels.shape == (2400, 1400, 3)
    assert pixels.std() > 20 and (pixels.min(axis=2) < 200).mean() > 0.02
    # The shared regions' background (#ffd8a8) is painted, not just the text around it.
    assert (np.abs(pixels - np.array([0xFF, 0xD8, 0xA8])).max(axis=2) < 12).sum() > 20000


def test_past_the_detailed_pairs_the_page_keeps_only_the_table(course, copy_pair):
    given = given_kgrams(given_sources(course, "tp3"))
    documents, _ = read_documents(course, "tp3", copy_pair, given)
    analysis = analyse(documents, given, tp="tp3", threshold=0.5, detailed=0)
    assert [p.detailed for p in analysis.listed] == [False]
    page = report.html_page(analysis)
    assert "<details" not in page and "Desde el par 1, solo la tabla" in page
    assert report.csv_text(analysis).count("\n") == 2  # the CSV still has every listed pair
