"""Student text loses every terminal control and keeps everything a person reads (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.text import clean


@pytest.mark.parametrize(("text", "expected"), [
    ("a\x1b]52;c;aG9sYQ==\x07b", "ab"),  # OSC 52: write the clipboard, ended by BEL
    ("a\x1b]52;c;aG9sYQ==\x1b\\b", "ab"),  # ... ended by ST
    ("\x1b]8;;https://ejemplo.com\x1b\\mirá acá\x1b]8;;\x1b\\", "mirá acá"),  # OSC 8 link
    ("ok\x1b[2J\x1b[1;1H\x1b[Kfin", "okfin"),  # erase the screen, move the cursor, erase a line
    ("\x1b[31mrojo\x1b[0m", "rojo"),
    ("a\x1b[12", "a"),  # a CSI cut before its final byte
    ("a\x9b2Jb", "ab"),  # CSI in its C1 form
    ("a\x9d52;c;aG9sYQ==\x9cb", "ab"),  # OSC in its C1 form
    ("a\x85b\x80c\x8dd", "abcd"),  # other C1 controls (NEL, PAD, RI)
    ("a\x07\x08\x00\x0b\x0c\rb\x7f", "ab"),  # BEL, backspace, NUL, VT, FF, CR, DEL
    ("a\x1b(0b\x1bc", "ab"),  # charset switch, terminal reset
    ("a\ud800b\udfffc", "abc"),  # lone surrogates
    ("a\u202eb\u2066c", "abc"),  # bidirectional overrides
])
def test_terminal_controls_are_removed(text, expected):
    assert clean(text) == expected


def test_spanish_text_newlines_and_tabs_are_kept():
    text = "Año: ñandú, acción, pingüino ¿sí? ¡no! — 😀\n\tlínea 2\n"
    assert clean(text) == text


def test_an_unterminated_osc_stops_at_the_end_of_its_line():
    assert clean("a\x1b]52;c;aG9s\nsigue") == "a\nsigue"


def test_long_text_is_cut_with_a_visible_marker():
    assert clean("ñ" * 10, limit=4) == "ññññ… [recortado: 6 caracteres más]"


def test_text_within_the_limit_gets_no_marker():
    assert clean("hola", limit=4) == "hola"


def test_a_huge_text_is_cut_before_it_is_cleaned():
    text = clean("\x1b[31m" + "x" * 12_000_000, limit=200)
    assert text == "x" * 195 + "… [recortado: 11999805 caracteres más]"


# --- every surface a result reaches cleans it again (a result file may come from an older grader)

DIRTY = "mal\x1b]52;c;aG9sYQ==\x07\x1b[2J\x9b1;1H ñ"
SHOWN = "mal ñ"


def dirty_checks():
    from grader.results import CheckResult, Status

    return [CheckResult(f"public::test_lin{DIRTY}", "lin", "public", Status.ERROR, message=DIRTY,
                        output=DIRTY + "\n"),
            CheckResult("hidden::test_lin_hidden", "lin", "hidden", Status.FAIL, message=DIRTY),
            CheckResult("public::test_loop", "loop", "public", Status.PASS)]


def test_the_markdown_and_html_reports_show_no_terminal_controls():
    from grader import scoring
    from grader.course import Exercise
    from grader.output import html as htmlreport
    from grader.output import markdown as report
    from grader.results import SubmissionResult

    checks = dirty_checks()
    exercises = scoring.score_checks(checks, [Exercise("lin", 1, "Lineal"), Exercise("loop", 1)])
    earned, possible, score = scoring.tp_score(exercises)
    result = SubmissionResult(
        student=f"ana{DIRTY}", tp="tp1", submission_file=f"ana{DIRTY}.py", submission_sha256="0",
        grader_version="0", fingerprint="f", checks=checks, exercises=exercises, earned=earned,
        possible=possible, score=score, notes=[DIRTY])
    for text in (report.markdown(result), htmlreport.html_report(result),
                 report.markdown(SubmissionResult(**{**vars(result), "load_error": DIRTY}))):
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
        assert "mal ñ" in text


def test_the_terminal_and_notebook_feedback_show_no_terminal_controls(tmp_path):
    import io

    from rich.console import Console

    from grader.cli import render_check
    from grader.course import load_assignment
    from grader.student.check import make_report
    from grader.student.kernel import report_html

    assignment = load_assignment(Path(__file__).parent / "fixtures" / "mini_course" / "assignment")
    for load_error in ("", DIRTY):
        made = make_report(assignment, Path(f"tp1{DIRTY}.py"), dirty_checks(), load_error, "aquí",
                           notes=(DIRTY,))
        buffer = io.StringIO()
        render_check(made, Console(file=buffer, width=200, color_system=None, highlight=False))
        for text in (buffer.getvalue(), report_html(made)):
            assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
            assert SHOWN in text
