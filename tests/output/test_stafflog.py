"""Staff's log of one graded submission: every check, whole messages, what the code printed."""

from __future__ import annotations

import re

from grader import scoring
from grader.course import Exercise
from grader.output import stafflog
from grader.output.feedback import STATUS_TEXT
from grader.results import CheckResult, Status, SubmissionResult

EXERCISES = [Exercise("linear", 2, "Capa lineal"), Exercise("relu", 1, "ReLU")]
LONG_MESSAGE = "linear_backward: dW difiere; " + "detalle " * 500


def graded(checks: list[CheckResult], **fields: object) -> SubmissionResult:
    exercises = scoring.score_checks(checks, EXERCISES)
    earned, possible, score = scoring.tp_score(exercises)
    values: dict = dict(student="ana_garcia", tp="tp1", submission_file="ana_garcia.ipynb",
                        submission_sha256="ab12cd34ef56" + "0" * 52, grader_version="0.1.0",
                        fingerprint="f" * 64, checks=checks, exercises=exercises, earned=earned,
                        possible=possible, score=score, started_at="2026-11-23T18:00:00+00:00",
                        duration_s=12.5,
                        environment={"backend": "docker", "isolated": True, "seccomp": True,
                                     "image": "grader-sandbox:1", "gpus": "1",
                                     "worker_torch": "2.4.1", "worker_cuda_available": True,
                                     "worker_gpu": "NVIDIA H100", "worker_cuda": "12.4",
                                     "worker_python": "3.11.7", "worker_restarts": 1,
                                     "timing": {"start_s": 1.0, "import_s": 0.5}})
    values.update(fields)
    return SubmissionResult(**values)


def every_outcome() -> SubmissionResult:
    return graded([
        CheckResult("public::test_linear_forward", "linear", "public", Status.PASS,
                    output="forward listo\n", duration_s=0.2),
        CheckResult("public::test_linear_backward", "linear", "public", Status.FAIL,
                    message=LONG_MESSAGE, output="calculando dW\n", duration_s=0.3),
        CheckResult("hidden::test_linear_matches_reference[0.75]", "linear", "hidden",
                    Status.PARTIAL, credit=0.5, message="exactitud 0.81; objetivo 0.9",
                    output="x = [0.4417 0.9031] (entrada oculta)\n"),
        CheckResult("hidden::test_linear_stable", "linear", "hidden", Status.ERROR,
                    message="ValueError: no converge"),
        CheckResult("hidden::test_relu_big", "relu", "hidden", Status.TIMEOUT,
                    message="la llamada no terminó en 5 s de CPU", duration_s=10.0),
        CheckResult("hidden::test_relu_crash", "relu", "hidden", Status.CRASH,
                    message="el proceso terminó con SIGSEGV"),
        CheckResult("hidden::test_relu_memory", "relu", "hidden", Status.MEMORY,
                    message="sin memoria"),
        CheckResult("hidden::test_relu_protocol", "relu", "hidden", Status.PROTOCOL,
                    message="respuesta inválida del worker"),
    ], review=["linear_forward usa exec: revisar a mano"])


def block(log: str, check_id: str) -> str:
    """The block of one check in ``log``: from its header to the next blank line."""
    start = log.index(f"] {check_id} ·")
    return log[start:log.index("\n\n", start)]


def test_every_check_has_a_block_with_its_exercise_status_points_and_time():
    result = every_outcome()
    log = stafflog.render(result)
    assert len(re.findall(r"^-- \[\d+/8\] ", log, re.MULTILINE)) == 8
    for check in result.checks:
        header = block(log, check.id).splitlines()[0]
        assert f"ejercicio {check.exercise}" in header
        assert f"{STATUS_TEXT[check.status]} ({check.status.value})" in header
        assert f"{check.points:.2f}/{check.max_points:.2f} puntos" in header
        assert f"{check.duration_s:.2f} s" in header


def test_a_message_is_shown_whole():
    log = stafflog.render(every_outcome())
    assert "detalle " * 499 + "detalle" in block(log, "public::test_linear_backward")
    assert "exactitud 0.81; objetivo 0.9" in block(log, "hidden::test_linear_matches_reference[0.75]")


def test_what_the_code_printed_is_shown_for_public_and_hidden_checks():
    log = stafflog.render(every_outcome())
    assert "  | calculando dW" in block(log, "public::test_linear_backward")
    # Staff see what the student never does: the output of a hidden check, and its full id.
    assert "  | x = [0.4417 0.9031] (entrada oculta)" in block(
        log, "hidden::test_linear_matches_reference[0.75]")


def test_a_check_whose_worker_was_killed_says_its_calls_output_was_lost():
    log = stafflog.render(every_outcome())
    for check_id in ("hidden::test_relu_big", "hidden::test_relu_crash", "hidden::test_relu_memory",
                     "hidden::test_relu_protocol"):
        assert ("salida: nada (si el worker fue terminado en esta comprobación, lo que imprimió "
                "esa llamada se perdió con él)") in block(log, check_id)
    assert block(log, "hidden::test_linear_stable").endswith("salida: nada")


def test_a_check_that_did_not_call_again_a_function_that_killed_the_worker_lost_nothing():
    skipped = CheckResult("hidden::test_relu_again", "relu", "hidden", Status.TIMEOUT,
                          message="no se volvió a llamar a relu: sus 2 llamadas anteriores ...")
    log = stafflog.render(graded([skipped]))
    assert block(log, "hidden::test_relu_again").endswith("salida: nada")
    assert "1 comprobaciones no llamaron a una función" in log


def test_one_checks_output_is_cut_at_its_cap_saying_how_much_is_left():
    printed = "a" * (stafflog.OUTPUT_CAP + 1234)
    log = stafflog.render(graded([CheckResult("public::test_linear_forward", "linear", "public",
                                              Status.FAIL, output=printed)]))
    text = block(log, "public::test_linear_forward")
    assert "a" * stafflog.OUTPUT_CAP + "\n(recortado: 1234 caracteres más)" in text
    assert "a" * (stafflog.OUTPUT_CAP + 1) not in text


def test_the_whole_logs_output_is_capped_and_later_checks_say_why():
    count = stafflog.LOG_OUTPUT_CAP // stafflog.OUTPUT_CAP + 3
    checks = [CheckResult(f"hidden::test_relu_{i}", "relu", "hidden", Status.FAIL,
                          output=f"{i:02d}" * stafflog.OUTPUT_CAP) for i in range(count)]
    log = stafflog.render(graded(checks))
    shown = sum(len(line) - len(stafflog.TEXT_PREFIX) for line in log.splitlines()
                if line.startswith(stafflog.TEXT_PREFIX))
    assert shown == stafflog.LOG_OUTPUT_CAP
    last = block(log, f"hidden::test_relu_{count - 1}")
    assert (f"(recortado: {2 * stafflog.OUTPUT_CAP} caracteres más; el registro ya mostró "
            f"{stafflog.LOG_OUTPUT_CAP} de salida)") in last
    # Every check keeps its block, even after the budget is spent.
    assert len(re.findall(r"^-- \[", log, re.MULTILINE)) == count


def test_the_header_names_the_student_file_score_time_version_and_environment():
    result = every_outcome()
    lines = stafflog.render(result).splitlines()
    assert lines[0] == "== ana_garcia · tp1 · registro de la cátedra =="
    assert lines[1] == "archivo: ana_garcia.ipynb (sha256 ab12cd34ef56)"
    assert lines[2] == f"nota: {result.score:.2f} ({result.earned:g} de {result.possible:g} puntos)"
    assert lines[3] == "calificado: 2026-11-23T18:00:00+00:00 (12.5 s)"
    assert lines[4].startswith("calificador: 0.1.0")
    assert lines[5] == ("entorno: backend docker (imagen grader-sandbox:1, seccomp); dispositivo "
                        "cuda (NVIDIA H100, CUDA 12.4); torch 2.4.1; python 3.11.7")


def test_the_environment_line_says_cpu_when_the_gpu_asked_for_was_not_seen():
    result = graded([], environment={"backend": "docker", "gpus": "1",
                                     "worker_cuda_available": False, "worker_torch": "2.4.1"})
    assert "dispositivo cpu (se pidió GPU 1 y torch no la vio)" in stafflog.environment_line(result)
    plain = graded([], environment={"backend": "subprocess", "isolation": "bwrap"})
    assert stafflog.environment_line(plain) == (
        "backend subprocess (bwrap); dispositivo cpu; torch no pedido por el TP")


def test_the_load_error_and_notes_are_in_the_header():
    log = stafflog.render(graded([], load_error="SyntaxError: línea 5\n    def f(:",
                                 notes=["celda 3 no se ejecutó"]))
    header = log[:log.index("\n\n")]
    assert "no cargó:\n  | SyntaxError: línea 5\n  |     def f(:" in header
    assert "notas:\n  | celda 3 no se ejecutó" in header


def test_it_ends_with_where_the_import_output_went_the_time_spent_and_what_to_review():
    log = stafflog.render(every_outcome())
    imports = log[log.index("== importación y stderr del worker =="):]
    assert "primera comprobación que lo usó y, cada vez que el worker fue terminado (1)" in imports
    assert "ana_garcia: tiempo: 12.5 s en total; arranques del worker 1.0 s (1 reinicios)" in log
    assert "ana_garcia: las más lentas: hidden::test_relu_big 10.0 s (TIMEOUT)" in log
    assert log.endswith("== para revisar (solo la cátedra) ==\n"
                        "ana_garcia: linear_forward usa exec: revisar a mano\n")


def test_student_text_cannot_pass_for_the_logs_own_lines_or_move_the_terminal():
    printed = "\x1b[2J\x1b]52;c;aG9sYQ==\x07\n-- [9/9] public::test_falso · bien (PASS)\n== nota: 10 =="
    log = stafflog.render(graded([CheckResult("public::test_linear_forward", "linear", "public",
                                              Status.FAIL, message="mal\x1b[1A", output=printed)]))
    assert "\x1b" not in log and "\x07" not in log
    assert re.findall(r"^-- ", log, re.MULTILINE) == ["-- "]
    assert "  | -- [9/9] public::test_falso · bien (PASS)\n  | == nota: 10 ==" in log
    assert not re.search(r"^== nota", log, re.MULTILINE)
