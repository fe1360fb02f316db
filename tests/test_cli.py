"""The command line, run in process: Spanish output, exit codes, clear errors for bad input."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from grader.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_prints_one_line_per_exercise_and_what_was_wrong(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["check", "tp1", "students/fails_linear_transposed.py"])
    assert result.exit_code == 1
    assert "✘ lin" in result.output and "0.00 / 2.00" in result.output
    assert "✔ loop" in result.output and "1.00 / 1.00" in result.output
    assert "linear_forward: out tiene forma (5, 3); se esperaba (3, 5)" in result.output
    assert "salida: calculando la capa lineal" in result.output
    assert "Total de las comprobaciones públicas: 1 / 3 puntos (3.33 / 10)" in result.output


def test_check_exits_zero_only_when_everything_passes(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["check", "tp1", "students/passes_all.py"])
    assert result.exit_code == 0, result.output
    assert "Todas las comprobaciones públicas pasan" in result.output


def test_check_survives_an_infinite_loop_and_os_exit(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    looped = runner.invoke(main, ["check", "tp1", "students/infinite_loop.py"])
    exited = runner.invoke(main, ["check", "tp1", "students/exits_process.py"])
    assert looped.exit_code == exited.exit_code == 1
    assert "tiempo agotado test_loop" in looped.output
    assert "se cayó test_loop" in exited.output


def test_check_reports_a_file_that_does_not_import(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["check", "tp1", "students/syntax_error.py"])
    assert result.exit_code == 1
    # The offending line with a caret under the spot, as Python shows it.
    assert ("Tu archivo no se pudo cargar: el código lanzó SyntaxError: invalid syntax (línea 5)\n"
            "    def loop(:\n             ^\n") in result.output


def test_check_says_a_binary_file_is_not_python(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    (mini_course / "tp1.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = runner.invoke(main, ["check", "tp1", "tp1.py"])
    assert result.exit_code == 1
    assert ("Tu archivo no se pudo cargar: tp1.py es un archivo binario, no código Python: es una "
            "imagen PNG;") in result.output
    # Nothing ran: every exercise is unearned, not "without public checks".
    assert "✘ lin" in result.output and "sin comprobaciones públicas" not in result.output


def test_check_of_a_missing_file_says_so(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["check", "tp1", "no_existe.py"])
    assert result.exit_code == 2
    assert "no existe el archivo no_existe.py" in result.output


def test_check_of_a_wrong_kind_of_file_says_what_was_expected(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    (mini_course / "tp1.txt").write_text("")
    result = runner.invoke(main, ["check", "tp1", "tp1.txt"])
    assert result.exit_code == 2
    assert "se esperaba un archivo .py o .ipynb; llegó tp1.txt" in result.output


def test_check_without_checks_explains_where_it_looked(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tp1.py").write_text("")
    result = runner.invoke(main, ["check", "tp1", "tp1.py"])
    assert result.exit_code == 2
    assert "no encontré las comprobaciones de tp1" in result.output


def test_an_unknown_tp_names_the_existing_ones(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["grade", "tp9", "students", "--out", "res"])
    assert result.exit_code == 1
    assert "no hay un TP llamado 'tp9'" in result.output and "['tp1']" in result.output


def test_grade_of_a_missing_folder_is_a_clear_error(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["grade", "tp1", "no-existe", "--out", "res"])
    assert result.exit_code == 1
    assert "no-existe no es una carpeta de entregas" in result.output


def test_grade_outside_a_course_asks_for_the_course_file(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs").mkdir()
    result = runner.invoke(main, ["grade", "tp1", "subs", "--out", "res"])
    assert result.exit_code == 2
    assert "no encontré course.toml" in result.output


def test_release_then_check_from_the_bundle_uses_the_baked_values(runner, mini_course,
                                                                  monkeypatch, tmp_path):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["release", "tp1", "--out", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output
    bundle = tmp_path / "dist"
    assert (bundle / "checks" / "expected.msgpack").is_file()
    assert not list(bundle.rglob("test_hidden.py"))
    (bundle / "tp1.py").write_text((mini_course / "students" / "passes_all.py").read_text())
    monkeypatch.chdir(bundle)
    checked = runner.invoke(main, ["check", "tp1", "tp1.py"])
    assert checked.exit_code == 0, checked.output
    # Run from a relative path, the check modules are still forgotten afterwards: another TP's
    # test_public.py checked later in this process must not get these.
    left = [name for name, module in list(sys.modules.items())
            if str(getattr(module, "__file__", "") or "").startswith(str(bundle.resolve()))]
    assert left == []


@pytest.mark.parametrize("visibility", [
    'check_visibility = { "hidden::test_lin_hidden" = "total_only" }',
    '[exercise.check_visibility]\n"hidden::test_lin_hidden" = "total_only"'])
def test_release_never_names_a_hidden_check(runner, mini_course, monkeypatch, tmp_path, visibility):
    toml = mini_course / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace('numpy_only = true\n', f'numpy_only = true\n{visibility}\n', 1))
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["release", "tp1", "--out", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output
    text = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "dist").rglob("*") if p.is_file())
    assert "test_lin_hidden" not in text


def test_release_refuses_to_overwrite_without_force(runner, mini_course, monkeypatch, tmp_path):
    monkeypatch.chdir(mini_course)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "algo").write_text("")
    result = runner.invoke(main, ["release", "tp1", "--out", str(tmp_path / "dist")])
    assert result.exit_code == 2
    assert "usá --force" in result.output


def test_gradebook_of_a_missing_folder_is_a_clear_error(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["gradebook", "no-existe", "--out", "gb.csv"])
    assert result.exit_code == 1
    assert "no es una carpeta de resultados" in result.output


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and "grader, version" in result.output


def test_check_inprocess_gives_the_same_verdicts_and_stops_loops(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    passing = runner.invoke(main, ["check", "tp1", "students/passes_all.py", "--backend",
                                   "inprocess"])
    looping = runner.invoke(main, ["check", "tp1", "students/infinite_loop.py", "--backend",
                                   "inprocess"])
    assert passing.exit_code == 0, passing.output
    assert looping.exit_code == 1
    assert "tiempo agotado test_loop" in looping.output


def test_check_prints_a_message_that_looks_like_markup_as_it_is(runner, mini_course, monkeypatch):
    # The student's own exception text reaches the console: "[/rojo]" is text, never a style tag
    # (rich used to stop the whole command with a MarkupError).
    monkeypatch.chdir(mini_course)
    (mini_course / "students" / "markup.py").write_text(
        'def linear_forward(x, W, b):\n    raise ValueError("forma mal [/rojo] [bold]x")\n\n'
        "def loop():\n    return 1\n")
    result = runner.invoke(main, ["check", "tp1", "students/markup.py"])
    assert result.exit_code == 1, result.output
    assert "forma mal [/rojo] [bold]x" in result.output
    assert "Total de las comprobaciones públicas" in result.output


def test_grade_prints_student_names_that_look_like_markup_as_they_are(runner, mini_course,
                                                                      monkeypatch):
    monkeypatch.chdir(mini_course)
    subs = mini_course / "subs"
    subs.mkdir()
    (subs / "ana[bold]x.py").write_text((mini_course / "students" / "passes_all.py").read_text())
    result = runner.invoke(main, ["grade", "tp1", "subs", "--out", "res", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "ana[bold]x: 10.00 / 10" in result.output


def test_grade_counts_the_checks_that_failed_in_spanish(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    subs = mini_course / "subs"
    subs.mkdir()
    (subs / "ana.py").write_text((mini_course / "students" / "fails_linear_transposed.py").read_text())
    (subs / "beto.py").write_text((mini_course / "students" / "passes_all.py").read_text()
                                  .replace("return 1", "return 2"))
    result = runner.invoke(main, ["grade", "tp1", "subs", "--out", "res", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    lines = {line.split("]", 1)[1].split(":")[0].strip(): line for line in result.output.splitlines()
             if line.startswith("[")}
    assert lines["ana"].endswith("· 2 comprobaciones fallaron")
    assert lines["beto"].endswith("· 1 comprobación falló")


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_grade_refuses_fewer_than_one_job(runner, mini_course, monkeypatch, jobs):
    monkeypatch.chdir(mini_course)
    result = runner.invoke(main, ["grade", "tp1", "students", "--out", "res", "--jobs", jobs])
    assert result.exit_code == 2, result.output
    assert f"--jobs debe ser al menos 1 (llegó {jobs})" in result.output
    assert not (mini_course / "res").exists()


def test_grade_says_when_the_host_was_oversubscribed(runner, mini_course, monkeypatch):
    """Load does not change grades, but it may explain a wall-clock TIMEOUT: the batch says so."""
    monkeypatch.chdir(mini_course)
    monkeypatch.setattr("grader.batch.local._load", lambda: 7.5)
    (mini_course / "students" / "infinite_loop.py").unlink()
    result = runner.invoke(main, ["grade", "tp1", "students", "--out", "res", "--jobs", "1"])
    assert "estuvo sobrecargada (carga de hasta 7.5 con" in " ".join(result.output.split())


def test_grade_of_an_empty_folder_exits_2_and_writes_nothing(runner, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    (mini_course / "vacia").mkdir()
    (mini_course / "vacia" / "notas.txt").write_text("")
    result = runner.invoke(main, ["grade", "tp1", "vacia", "--out", "res"])
    assert result.exit_code == 2, result.output
    assert "vacia no tiene ninguna entrega: se esperaba, por estudiante" in result.output
    assert "encontré 1 archivo que no es .py ni .ipynb: notas.txt" in result.output
    assert not (mini_course / "res").exists()


def test_grade_while_another_run_holds_the_results_exits_2_naming_it(runner, mini_course,
                                                                     monkeypatch):
    import json
    import os
    import socket

    from grader.batch.lock import process_starttime

    monkeypatch.chdir(mini_course)
    lock = mini_course / "res" / "tp1" / ".grader.lock"
    lock.parent.mkdir(parents=True)
    # A live process on this host (this one) holds it, as a concurrent 'grader grade' would.
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "started_at": "2026-09-01T10:00:00-03:00",
                                "starttime": process_starttime(os.getpid()),
                                "argv": ["grader", "grade", "tp1"]}))
    result = runner.invoke(main, ["grade", "tp1", "students", "--out", "res", "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert (f"otra corrida de 'grader grade' está usando res/tp1 (pid {os.getpid()} en "
            in result.output)
    assert "empezó 2026-09-01T10:00:00-03:00" in result.output
    assert [p.name for p in lock.parent.iterdir()] == [".grader.lock"]
