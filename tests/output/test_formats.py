"""Every format is written from the result model and validates against its published schema;
for students, checks that are not visible never show their names, messages or output."""

from __future__ import annotations

import base64
import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from click.testing import CliRunner

from grader import results, scoring
from grader.cli import main
from grader.course import Course, Exercise, load_assignment, load_course
from grader.errors import ConfigError
from grader.output import gradebook
from grader.output.formats import (
    Audience,
    Format,
    classroom,
    classroom_output,
    export,
    gradescope,
    junit,
    revealed_for,
    xml_text,
)
from grader.results import CheckResult, Status, SubmissionResult

SCHEMAS = Path(__file__).parents[1] / "schemas"
GRADESCOPE = json.loads((SCHEMAS / "gradescope-results.schema.json").read_text())
CLASSROOM = json.loads((SCHEMAS / "classroom-runner.schema.json").read_text())
JUNIT = xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd")

HOSTILE = 'índice <0> & "comillas" \x00\x1b[31mrojo\x07 ñandú'
EXERCISES = (
    Exercise(name="lin", points=2, title="Capa lineal", partial_credit=True),
    Exercise(name="loop", points=1, title="Bucle"),
    Exercise(name="train", points=2, title="Entrenamiento", partial_credit=True,
             check_visibility=(("hidden::test_train_secret_margin", "total_only"),)),
)


def _check(check_id: str, exercise: str, status: Status, **kwargs: object) -> CheckResult:
    return CheckResult(id=check_id, exercise=exercise, visibility=check_id.split("::")[0],
                       status=status, duration_s=0.25, **kwargs)  # type: ignore[arg-type]


def make_result(student: str = "carla_lopez", tp: str = "tp1",
                exercises: tuple[Exercise, ...] = EXERCISES) -> SubmissionResult:
    """A submission with a PASS, a PARTIAL, a FAIL with a hostile message and output, a TIMEOUT,
    a failing hidden check and a failing total_only check."""
    checks = [
        _check("public::test_lin", "lin", Status.PASS),
        _check("public::test_lin_backward", "lin", Status.PARTIAL, credit=0.5,
               message="linear_backward: dW difiere en [2, 4]; obtuvo la mitad del crédito"),
        _check("hidden::test_lin_hidden_shapes[5-3]", "lin", Status.FAIL, weight=2,
               message=f"linear_forward: salida con forma (5, 3); se esperaba (3, 5) {HOSTILE}",
               output=f"imprimí {HOSTILE}"),
        _check("public::test_loop", "loop", Status.TIMEOUT,
               message="loop: tardó más de 2 s (límite por llamada)"),
        _check("public::test_train_runs", "train", Status.PASS),
        _check("hidden::test_train_secret_margin", "train", Status.FAIL,
               message="train: exactitud 0.61 en los datos secretos; se esperaba 0.9",
               output="entrada oculta X_secreto[0] = 0.123"),
    ]
    scores = scoring.score_checks(checks, exercises)
    earned, possible, score = scoring.tp_score(scores)
    return SubmissionResult(
        student=student, tp=tp, submission_file=f"{student}.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f" * 64, checks=checks, exercises=scores,
        earned=earned, possible=possible, score=score, started_at="2026-09-18T21:00:00+00:00",
        duration_s=3.5)


def _names_in(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


# --- Gradescope ------------------------------------------------------------------------------


def test_gradescope_results_validate_against_the_published_format_for_both_audiences():
    for audience in Audience:
        jsonschema.validate(gradescope(make_result(), EXERCISES, audience=audience), GRADESCOPE)


def test_the_gradescope_schema_rejects_what_gradescope_would_not_read():
    data = gradescope(make_result(), EXERCISES)
    data["tests"][0]["status"] = "PASS"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, GRADESCOPE)
    data = gradescope(make_result(), EXERCISES)
    data["tests"][0]["visibility"] = "total_only"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, GRADESCOPE)


def test_gradescope_carries_points_status_and_each_checks_visibility():
    data = gradescope(make_result(), EXERCISES)
    by_name = {t["name"]: t for t in data["tests"]}
    assert data["score"] == pytest.approx(make_result().earned)
    assert by_name["Capa lineal: test_lin"] == {
        "name": "Capa lineal: test_lin", "score": 0.5, "max_score": 0.5, "status": "passed",
        "visibility": "visible", "output": "", "tags": ["lin"]}
    partial = by_name["Capa lineal: test_lin_backward"]
    assert (partial["status"], partial["score"], partial["max_score"]) == ("failed", 0.25, 0.5)
    # Gradescope shows it after the due date: by name, without its inputs or what was printed.
    hidden = by_name["Capa lineal: test_lin_hidden_shapes"]
    assert hidden["visibility"] == "after_due_date" and "forma (5, 3)" in hidden["output"]
    assert "imprimí" not in hidden["output"] and "[5-3]" not in _names_in(data)
    assert by_name["Bucle: test_loop"]["status"] == "failed"
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])


def test_gradescope_for_students_folds_total_only_checks_into_their_points():
    data = gradescope(make_result(), EXERCISES)
    text = _names_in(data)
    assert "test_train_secret_margin" not in text and "X_secreto" not in text
    assert "exactitud 0.61" not in text
    folded = [t for t in data["tests"] if t["name"].startswith("comprobaciones ocultas")]
    assert folded == [{"name": "comprobaciones ocultas: 0 / 1 puntos", "score": 0.0,
                       "max_score": 1.0, "status": "failed", "visibility": "visible",
                       "output": "comprobaciones ocultas: 0 / 1 puntos"}]


def test_gradescope_for_staff_lists_total_only_checks_as_hidden():
    data = gradescope(make_result(), EXERCISES, audience=Audience.STAFF)
    secret = next(t for t in data["tests"] if t["name"].endswith("test_train_secret_margin"))
    assert secret["visibility"] == "hidden" and "X_secreto" in secret["output"]


# --- JUnit XML -------------------------------------------------------------------------------


def _junit(audience: Audience = Audience.STUDENTS, **kwargs: object) -> str:
    return junit([make_result(), make_result("ana_garcia")], {"tp1": EXERCISES}, audience=audience,
                 **kwargs)  # type: ignore[arg-type]


def test_junit_validates_against_the_jenkins_xsd_with_hostile_messages_and_output():
    for audience in Audience:
        JUNIT.validate(_junit(audience))


def test_junit_keeps_non_ascii_and_markup_and_marks_control_characters():
    root = ET.fromstring(_junit(Audience.STAFF).encode())
    case = root.find(".//testcase[@name='test_lin_hidden_shapes[5-3]']")
    assert case is not None and case.get("classname") == "lin"
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "FAIL"
    assert failure.get("message", "").endswith('índice <0> & "comillas" \\x00\\x1b[31mrojo\\x07 ñandú')
    assert case.findtext("system-out") == "imprimí " + xml_text(HOSTILE)


def test_junit_has_a_suite_per_submission_and_fails_partial_and_errors_timeouts():
    root = ET.fromstring(_junit(Audience.STAFF).encode())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["tp1.carla_lopez", "tp1.ana_garcia"]
    suite = suites[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "3", "1")
    partial = suite.find("testcase[@name='test_lin_backward']/failure")
    assert partial is not None and partial.get("type") == "PARTIAL"
    assert "(0.25 de 0.5 puntos)" in partial.get("message", "")
    timeout = suite.find("testcase[@name='test_loop']/error")
    assert timeout is not None and timeout.get("type") == "TIMEOUT"
    assert suite.find("testcase[@name='test_lin']/failure") is None
    assert root.get("tests") == "12"


def test_junit_for_students_names_no_hidden_check_before_its_date():
    text = _junit()
    for secret in ("test_lin_hidden_shapes", "test_train_secret_margin", "forma (5, 3)",
                   "X_secreto", "exactitud 0.61"):
        assert secret not in text
    root = ET.fromstring(text.encode())
    folded = root.findall("testsuite[1]/testcase[@classname='ocultas']")
    assert [c.get("name") for c in folded] == ["comprobaciones ocultas: 0 / 2 puntos"]
    assert "test_lin_backward" in text and "test_loop" in text


def test_after_the_due_date_students_see_hidden_checks_but_never_total_only_ones():
    text = _junit(revealed={"tp1": {"after_due_date"}})
    assert "test_lin_hidden_shapes" in text and "forma (5, 3)" in text
    assert "[5-3]" not in text and "imprimí" not in text
    assert "test_train_secret_margin" not in text and "X_secreto" not in text
    assert "comprobaciones ocultas: 0 / 1 puntos" in text


def test_the_deadline_in_course_toml_opens_after_due_date_checks(tmp_path):
    deadline = dt.datetime(2026, 9, 18, 23, 0, tzinfo=dt.UTC)
    course = Course(name="c", root=tmp_path, tps=(), deadlines={"tp1": deadline})
    assert revealed_for(course, "tp1", now=deadline - dt.timedelta(minutes=1)) == frozenset()
    assert revealed_for(course, "tp1", now=deadline) == {"after_due_date"}
    assert revealed_for(course, "tp2", now=deadline, published=True) == {"after_published"}


# --- GitHub Classroom ------------------------------------------------------------------------


def test_classroom_runner_output_validates_and_sums_to_the_points_earned():
    result = make_result()
    for audience in Audience:
        data = classroom(result, EXERCISES, audience=audience)
        jsonschema.validate(data, CLASSROOM)
        assert data["max_score"] == result.possible
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(result.earned)
        assert data["status"] == "fail"


def test_classroom_output_is_the_base64_the_reporter_decodes():
    data = classroom(make_result(), EXERCISES, lines={"public::test_loop": 7})
    decoded = json.loads(base64.b64decode(classroom_output(data)).decode("utf-8"))
    assert decoded == data
    loop = next(t for t in decoded["tests"] if t["name"] == "loop: test_loop")
    assert (loop["status"], loop["line_no"], loop["duration"]) == ("error", 7, 250)
    assert "\n" not in classroom_output(data)


def test_classroom_scores_are_cents_that_add_up_to_the_points_earned():
    # The reporter shows the plain sum: three checks worth 2/3 each must make 2, not 2.0001.
    exercises = (Exercise(name="lin", points=2), Exercise(name="loop", points=1))
    result = make_result(exercises=exercises)
    result.checks = [_check(f"public::test_{i}", "lin", Status.PASS) for i in range(3)]
    result.checks.append(_check("public::test_loop", "loop", Status.PASS))
    result.exercises = scoring.score_checks(result.checks, exercises)
    result.earned, result.possible, result.score = scoring.tp_score(result.exercises)
    scores = [t["score"] for t in classroom(result, exercises)["tests"]]
    assert scores == [0.67, 0.67, 0.66, 1.0]
    assert f"{sum(scores):g}" == "3"


def test_classroom_for_students_folds_hidden_checks_and_their_output():
    text = _names_in(classroom(make_result(), EXERCISES))
    assert "test_lin_hidden_shapes" not in text and "imprimí" not in text
    assert "X_secreto" not in text and "comprobaciones ocultas: 0 / 2 puntos" in text


def test_a_file_that_did_not_load_is_an_error_in_every_format():
    result = make_result()
    result.checks, result.load_error = [], "el código lanzó SyntaxError: invalid syntax (línea 3)"
    result.exercises = scoring.score_checks([], EXERCISES)
    data = classroom(result, EXERCISES)
    jsonschema.validate(data, CLASSROOM)
    assert data["status"] == "error" and data["tests"][0]["message"] == result.load_error
    jsonschema.validate(gradescope(result, EXERCISES), GRADESCOPE)
    xml = junit([result], {"tp1": EXERCISES})
    JUNIT.validate(xml)
    assert ET.fromstring(xml.encode()).find(".//testcase/error[@type='LOAD']") is not None


# --- assignment.toml and grader export -------------------------------------------------------


def test_visibility_is_read_per_exercise_and_per_check_from_assignment_toml(mini_course):
    toml = mini_course / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace(
        'name = "loop"\n', 'name = "loop"\nvisibility = "after_published"\n'
        'check_visibility = { "hidden::test_loop_hidden" = "total_only" }\n'))
    loop = load_assignment(mini_course / "assignment").exercise("loop")
    assert loop.visibility == "after_published"
    assert loop.check_visibility == (("hidden::test_loop_hidden", "total_only"),)
    assert load_assignment(mini_course / "assignment").exercise("lin").visibility == ""


def test_an_unknown_visibility_names_the_key_and_the_valid_values(mini_course):
    toml = mini_course / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace(
        'name = "loop"\n', 'name = "loop"\ncheck_visibility = { test_loop = "secreto" }\n'))
    with pytest.raises(ConfigError, match=r"\[\[exercise\]\] #2.check_visibility.test_loop debe ser "
                                          r"uno de visible, hidden, after_due_date"):
        load_assignment(mini_course / "assignment")


@pytest.fixture
def results_dir(mini_course: Path) -> Path:
    """Two results of the mini course's TP1 on disk, as ``grader grade`` leaves them."""
    exercises = load_assignment(mini_course / "assignment").exercises
    out = mini_course / "res"
    for student in ("carla_lopez", "=cmd|calc"):
        result = make_result(student, exercises=exercises)
        for check in result.checks:
            check.exercise = "lin" if check.exercise == "lin" else "loop"
        result.exercises = scoring.score_checks(result.checks, exercises)
        result.earned, result.possible, result.score = scoring.tp_score(result.exercises)
        results.save(result, out / "tp1" / f"{student.replace('|', '_')}.json")
    return out


def test_export_writes_each_format_from_a_results_folder(results_dir, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    runner = CliRunner()
    for fmt, out in (("gradescope", "gs"), ("classroom", "cl"), ("junit", "junit.xml"),
                     ("csv", "planilla.csv")):
        done = runner.invoke(main, ["export", "res", "--format", fmt, "--out", out])
        assert done.exit_code == 0, done.output
    for path in sorted((mini_course / "gs" / "tp1").glob("*.json")):
        jsonschema.validate(json.loads(path.read_text()), GRADESCOPE)
    runners = sorted((mini_course / "cl" / "tp1").glob("*.json"))
    assert [p.name for p in runners] == ["carla_lopez.json", "cmd_calc.json"]
    for path in runners:
        jsonschema.validate(json.loads(path.read_text()), CLASSROOM)
    JUNIT.validate((mini_course / "junit.xml").read_text())
    course = load_course(mini_course / "course.toml")
    expected = mini_course / "expected.csv"
    gradebook.write_csv(gradebook.build(gradebook.collect(results_dir, course), course), expected)
    assert (mini_course / "planilla.csv").read_text() == expected.read_text()
    assert "'=cmd|calc" in expected.read_text()


def test_export_of_one_result_file_writes_that_file(results_dir, mini_course):
    course = load_course(mini_course / "course.toml")
    out = mini_course / "results.json"
    done = export(results_dir / "tp1" / "carla_lopez.json", Format.GRADESCOPE, out, course=course)
    assert done.files == [out]
    data = json.loads(out.read_text())
    jsonschema.validate(data, GRADESCOPE)
    assert data["score"] == results.load(results_dir / "tp1" / "carla_lopez.json").earned


def test_export_as_csv_refuses_a_single_tp(results_dir, mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    done = CliRunner().invoke(main, ["export", "res", "--format", "csv", "--tp", "tp1",
                                     "--out", "p.csv"])
    assert done.exit_code == 2 and "planilla de todo el curso" in done.output
