"""One submission, one answer (issue 18): ``grader check`` (the CLI), ``grader.check()`` in a
notebook's kernel and the instructor's graded feedback (Markdown and HTML) give each public check
that did not pass the same status label, message and output.

The CLI runs the student's file in a subprocess, the kernel runs what the notebook defined in
its own process, and grading runs the file in the sandbox with the hidden checks too: three
backends, one classification (``grader.engine.plugin.classify``) and one feedback model.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from click.testing import CliRunner

import grader
from grader.cli import main
from grader.course import load_course
from grader.engine.grade import grade_submission
from grader.output.feedback import Feedback, of_check, of_result
from grader.output.html import html_report
from grader.output.markdown import markdown
from grader.student.check import check_file
from grader.student.kernel import report_html, report_text

REPO = Path(__file__).parents[2]
STARTER = REPO / "assignments" / "tp1" / "starter" / "tp1.py"
# A mini-course submission whose bugs raise inside a class method, print, and are not done yet.
BUGGY = '''\
class Capa:
    def forward(self, x, W, b):
        print("forma de x:", x.shape)
        return x @ W.T + b


def linear_forward(x, W, b):
    return Capa().forward(x, W, b), None


def loop():
    raise NotImplementedError("Implementá loop")
'''


def shown(feedback: Feedback) -> dict[str, tuple[str, str, str]]:
    """Public check -> (status label, message, output), as the feedback shows each that failed."""
    return {f"{exercise.score.name}/{item.name}": (item.status_text, item.message, item.output)
            for exercise in feedback.exercises for item in exercise.failures
            if item.check.visibility == "public"}


def kernel_namespace(file: Path) -> dict:
    """What a notebook that ran ``file``'s code as cells has defined (its own ``__main__``)."""
    namespace = {"__name__": "__main__"}
    exec(compile(file.read_text(encoding="utf-8"), str(file), "exec"), namespace)
    return namespace


def three_ways(course_file: Path, file: Path) -> tuple[Feedback, Feedback, Feedback, str]:
    """The feedback of ``file`` from ``grader check``, the kernel and grading, and what the
    CLI printed; run from the course folder (``grader check`` finds the checks there)."""
    cli = of_check(check_file("tp1", file))
    kernel = of_check(grader.check("tp1", namespace=kernel_namespace(file), show=False))
    graded = of_result(grade_submission(load_course(course_file), "tp1", file, student="ana"))
    printed = CliRunner().invoke(main, ["check", "tp1", str(file)]).output
    return cli, kernel, graded, printed


def assert_every_surface_agrees(cli: Feedback, kernel: Feedback, graded: Feedback,
                                printed: str) -> dict[str, tuple[str, str, str]]:
    expected = shown(cli)
    assert expected, "the file must fail some public check"
    assert shown(kernel) == expected
    assert shown(graded) == expected
    text = " ".join(printed.split())
    report = markdown(graded.result)
    page = html_report(graded.result)
    for key, (label, message, _) in expected.items():
        name = key.split("/", 1)[1]
        first_line = message.splitlines()[0]
        assert " ".join(f"{label} {name}: {first_line}".split()) in text
        assert f"**{label}** · pública · `{name}`" in report
        assert f">{html.escape(label)}</span> <span class=\"vis\">pública</span> <code>{name}</code>" \
            in page
    return expected


def test_the_starter_gets_the_same_answer_from_the_cli_the_kernel_and_grading(monkeypatch):
    # The issue: the CLI said ERROR "no está implementado todavía" for the MLP, where the kernel,
    # which runs the notebook's classes in its own process, said FAIL "la comprobación no pudo
    # usar el resultado".
    monkeypatch.chdir(REPO)
    expected = assert_every_surface_agrees(*three_ways(REPO / "course.toml", STARTER))
    assert expected["mlp/test_mlp_params_shapes"] == (
        "error", "no está implementado todavía (NotImplementedError: Implementá MLP.__init__)", "")
    assert {label for label, _, _ in expected.values()} == {"error"}


def test_a_buggy_file_gets_the_same_answer_from_the_cli_the_kernel_and_grading(mini_course,
                                                                               monkeypatch):
    monkeypatch.chdir(mini_course)
    file = mini_course / "entrega" / "tp1.py"
    file.parent.mkdir()
    file.write_text(BUGGY)
    expected = assert_every_surface_agrees(*three_ways(mini_course / "course.toml", file))
    label, message, output = expected["lin/test_lin"]
    assert (label, output) == ("error", "forma de x: (3, 4)")
    assert message.startswith("el código lanzó ValueError: matmul: ")
    assert 'File "tp1.py", line 4, in forward\n    return x @ W.T + b' in message
    assert expected["loop/test_loop"] == (
        "error", "no está implementado todavía (NotImplementedError: Implementá loop)", "")


def test_grader_check_in_process_answers_as_in_a_subprocess(mini_course, monkeypatch):
    # In this process the student's exceptions arrive raw, and a name the module lacks is an
    # AttributeError of the check: both read as the sandbox's worker reports them.
    monkeypatch.chdir(mini_course)
    file = mini_course / "entrega" / "tp1.py"
    file.parent.mkdir()
    file.write_text(BUGGY.split("\n\n\ndef loop")[0] + "\n")
    subprocess = shown(of_check(check_file("tp1", file)))
    assert shown(of_check(check_file("tp1", file, backend="inprocess"))) == subprocess
    assert subprocess["loop/test_loop"] == ("error", "tp1.py no define 'loop'", "")


def test_a_wrong_value_gets_the_same_message_from_the_cli_and_grading(mini_course, monkeypatch):
    """The same public inputs (the course's seed key) in grader check and grading: a wrong value
    is reported with the same numbers."""
    monkeypatch.chdir(mini_course)
    file = mini_course / "entrega" / "tp1.py"
    file.parent.mkdir()
    file.write_text("def linear_forward(x, W, b):\n    return x @ W + 2 * b, None\n\n\n"
                    "def loop():\n    return 1\n")
    cli = of_check(check_file("tp1", file))
    graded = of_result(grade_submission(load_course(mini_course / "course.toml"), "tp1", file,
                                        student="ana"))
    assert shown(graded) == shown(cli)


def test_in_a_notebook_the_feedback_says_to_run_the_cell_again(mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    file = mini_course / "entrega" / "tp1.py"
    file.parent.mkdir()
    file.write_text(BUGGY)
    report = grader.check("tp1", namespace=kernel_namespace(file), show=False)
    text, page = report_text(report), report_html(report)
    assert text.rstrip().endswith("Corregí lo que falló y volvé a ejecutar la celda.")
    assert "Corregí lo que falló y volvé a ejecutar la celda." in page
    assert "volvé a correr el comando" not in text + page
    shutil.copyfile(file, mini_course / "tp1.py")
    printed = CliRunner().invoke(main, ["check", "tp1", "tp1.py"]).output
    assert printed.rstrip().endswith("Corregí lo que falló y volvé a correr el comando.")
