"""The GitHub Actions workflows of examples/ci: linted, and replayed locally on a simulated push.

A replay runs each ``run:`` step with bash as the runner does (``-eo pipefail``), with the
``GITHUB_*`` files in a temporary folder, ``${{ }}`` expressions evaluated and ``if:`` honoured;
each ``uses:`` step is replaced by a local equivalent (checkout, setup-python, Classroom's
reporter, upload-artifact). Two steps are not replayed and are checked by their text instead:
installing the grader (it would download it; the replay uses this checkout's) and building the
Docker image (the course replay grades with the subprocess backend).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
import yaml
from click.testing import CliRunner

from grader import results, scoring
from grader.cli import main
from grader.course import load_assignment, load_course
from grader.results import CheckResult, Status
from grader.student.check import CheckReport
from grader.student.github import (
    annotation_commands,
    check_lines,
    collect_repos,
    definition_lines,
    read_repo_list,
    summary_markdown,
)
from grader.student.release import release

REPO = Path(__file__).parents[2]
STUDENT_WORKFLOW = REPO / "examples/ci/student/.github/workflows/grader.yml"
COURSE_WORKFLOW = REPO / "examples/ci/course/.github/workflows/grade-class.yml"
SCHEMAS = Path(__file__).parents[1] / "schemas"
CLASSROOM = json.loads((SCHEMAS / "classroom-runner.schema.json").read_text())
CARLA = REPO / "examples/class/tp1/carla_lopez.py"
# The course replay grades the mini course (tests/fixtures): its hidden checks and reference
# stand for the private repository, and a batch of it takes seconds, not a minute.
MINI_COURSE = Path(__file__).parents[1] / "fixtures/mini_course"
FAILS_LIN = MINI_COURSE / "students/fails_linear_transposed.py"
REFERENCE = REPO / "reference_solutions/tp1/tp1.py"
BIN = Path(sys.executable).parent

# A student's attempt at faking a pass: pytest run from the repository would report every test
# as passed (the conftest rewrites each report) and deselect the failing one.
MALICIOUS_CONFTEST = '''import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome, report.longrepr = "passed", None
'''
MALICIOUS_PYTEST_INI = ("[pytest]\naddopts = -p no:cacheprovider "
                        "--deselect checks/test_public.py::test_linear_backward\n")
MALICIOUS_SITECUSTOMIZE = ("import grader.scoring\n"
                           "grader.scoring.tp_score = lambda *a, **k: (20.0, 20.0, 10.0)\n")


# --- lint ------------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow", [STUDENT_WORKFLOW, COURSE_WORKFLOW], ids=["student", "course"])
def test_the_workflow_is_valid_for_github_actions(workflow):
    # SchemaStore's github-workflow schema, vendored by check-jsonschema (no download).
    run = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                          str(workflow)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("workflow", [STUDENT_WORKFLOW, COURSE_WORKFLOW], ids=["student", "course"])
def test_no_run_step_expands_an_expression_into_the_shell(workflow):
    # Values reach scripts through env: (script injection, GitHub's security hardening guide).
    data = yaml.safe_load(workflow.read_text())
    assert data["permissions"] == {"contents": "read"}
    for job in data["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step.get("name")
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_the_lint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(STUDENT_WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    run = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                          str(broken)], capture_output=True, text=True)
    assert run.returncode == 1


# --- replaying a workflow --------------------------------------------------------------------


class Context(dict):
    """An expression context: ``steps.grader.outputs.result``; anything missing is ``''``."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value


_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def evaluate(expression: str, contexts: dict[str, Any], ok: bool) -> Any:
    """GitHub's expression language, for the subset the workflows use."""
    text = expression.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    names = {key: Context(value) for key, value in contexts.items()}
    names.update(always=lambda: True, cancelled=lambda: False, success=lambda: ok,
                 failure=lambda: not ok)
    return eval(text, {"__builtins__": {}}, names)


def substitute(value: Any, contexts: dict[str, Any], ok: bool = True) -> str:
    return _EXPRESSION.sub(lambda m: str(evaluate(m.group(1), contexts, ok)), str(value))


@dataclass
class StepRun:
    name: str
    outcome: str
    """``success``, ``failure`` or ``skipped``."""
    stdout: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    script: str = ""


@dataclass
class JobRun:
    steps: dict[str, StepRun]
    summary: str

    @property
    def conclusion(self) -> str:
        return "failure" if any(s.outcome == "failure" for s in self.steps.values()) else "success"


def _outputs(path: Path) -> dict[str, str]:
    outputs = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        outputs[key] = value
    return outputs


Action = Callable[[dict[str, str], dict[str, str], Path], StepRun]


def replay(workflow: Path, workspace: Path, tmp: Path, *, contexts: dict[str, Any],
           actions: dict[str, Action], not_replayed: dict[str, Callable[[str], None]],
           rewrite: Callable[[str, str], str] = lambda step_id, script: script) -> JobRun:
    """Runs the single job of ``workflow`` in ``workspace`` as a push would."""
    data = yaml.safe_load(workflow.read_text())
    (job,) = data["jobs"].values()
    contexts = {**contexts, "steps": {}, "env": {}}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTEST_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", GITHUB_WORKSPACE=str(workspace),
               RUNNER_TEMP=str(tmp), CI="true", GITHUB_ACTIONS="true")
    for key, value in {**data.get("env", {}), **job.get("env", {})}.items():
        env[key] = contexts["env"][key] = substitute(value, contexts)
    assert evaluate(job.get("if", "True"), contexts, True)
    steps: dict[str, StepRun] = {}
    summary = []
    for number, step in enumerate(job["steps"]):
        step_id = step.get("id", f"step{number}")
        ok = all(s.outcome != "failure" for s in steps.values())
        condition = step.get("if", "success()")
        if isinstance(condition, str):
            condition = _EXPRESSION.sub(lambda m: m.group(1), condition)
        if not evaluate(str(condition), contexts, ok):
            steps[step_id] = StepRun(step.get("name", step_id), "skipped")
            contexts["steps"][step_id] = {"outcome": "skipped", "outputs": {}}
            continue
        step_env = {**env, **{k: substitute(v, contexts, ok) for k, v in step.get("env", {}).items()}}
        if "uses" in step:
            action = step["uses"].split("@")[0]
            inputs = {k: substitute(v, contexts, ok) for k, v in step.get("with", {}).items()}
            result = actions[action](inputs, step_env, workspace)
        elif step_id in not_replayed:
            not_replayed[step_id](step["run"])
            result = StepRun(step["name"], "success", script=step["run"])
        else:
            files = {name: tmp / f"{step_id}-{name}" for name in ("output", "summary", "env")}
            for path in files.values():
                path.write_text("")
            script = tmp / f"{step_id}.sh"
            script.write_text(rewrite(step_id, step["run"]))
            run = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=workspace / step.get("working-directory", "."), capture_output=True, text=True,
                env={**step_env, "GITHUB_OUTPUT": str(files["output"]),
                     "GITHUB_STEP_SUMMARY": str(files["summary"]), "GITHUB_ENV": str(files["env"])},
                stdin=subprocess.DEVNULL)
            result = StepRun(step["name"], "success" if run.returncode == 0 else "failure",
                             stdout=run.stdout + run.stderr, outputs=_outputs(files["output"]),
                             script=script.read_text())
            summary.append(files["summary"].read_text())
        steps[step_id] = result
        contexts["steps"][step_id] = {"outcome": result.outcome, "outputs": result.outputs}
    return JobRun(steps, "".join(summary))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=Estudiante", "-c", "user.email=e@example.com",
                           "-c", "init.defaultBranch=main", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def commit_all(repo: Path) -> str:
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "entrega", cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


# --- the student's repository ----------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """What the course hands out for TP1 (``grader release tp1``)."""
    return release(load_course(REPO / "course.toml"), "tp1", tmp_path_factory.mktemp("dist") / "tp1")


def student_repo(bundle: Path, solution: Path, root: Path) -> Path:
    """A student's TP1 repository after a push: the bundle, their tp1.py, the workflow, and
    files that try to fake a pass."""
    repo = root / "tp1-estudiante"
    shutil.copytree(bundle, repo)
    shutil.copyfile(solution, repo / "tp1.py")
    (repo / "conftest.py").write_text(MALICIOUS_CONFTEST)
    (repo / "pytest.ini").write_text(MALICIOUS_PYTEST_INI)
    (repo / ".github/workflows").mkdir(parents=True)
    shutil.copyfile(STUDENT_WORKFLOW, repo / ".github/workflows/grader.yml")
    commit_all(repo)
    return repo


def reporter(inputs: dict[str, str], env: dict[str, str], workspace: Path) -> StepRun:
    """classroom-resources/autograding-grading-reporter@v1, locally: decodes each runner's
    ``<RUNNER>_RESULTS``, sums its tests' scores and fails on a failed or errored runner."""
    total = maximum = 0.0
    failed = False
    for runner in inputs["runners"].split(","):
        data = json.loads(base64.b64decode(env[f"{runner.strip().upper()}_RESULTS"]))
        jsonschema.validate(data, CLASSROOM)
        total += sum(t["score"] for t in data["tests"])
        maximum += data["max_score"]
        failed = failed or data["status"] in ("fail", "error")
    return StepRun("reporter", "failure" if failed else "success",
                   stdout=f"Points {total:g}/{maximum:g}")


def no_op(inputs: dict[str, str], env: dict[str, str], workspace: Path) -> StepRun:
    return StepRun("no-op", "success")


def play_student_push(repo: Path, tmp: Path) -> JobRun:
    def install(script: str) -> None:
        assert 'python -m pip install "$GRADER_PIP_SPEC"' in script

    def checkout(inputs: dict[str, str], env: dict[str, str], workspace: Path) -> StepRun:
        assert git("rev-parse", "HEAD", cwd=workspace) and inputs == {"persist-credentials": "False"}
        return StepRun("checkout", "success")

    contexts = {"github": {"actor": "estudiante", "workspace": str(repo)},
                "vars": {"GRADER_CLASSROOM": "true"}}
    return replay(STUDENT_WORKFLOW, repo, tmp, contexts=contexts, not_replayed={"install": install},
                  actions={"actions/checkout": checkout, "actions/setup-python": no_op,
                           "classroom-resources/autograding-grading-reporter": reporter})


def test_a_push_with_a_wrong_exercise_fails_with_a_summary_annotations_and_classroom_points(
        bundle, tmp_path):
    repo = student_repo(bundle, CARLA, tmp_path)
    # The planted files do fake a pass for a plain pytest run from the repository...
    naive = subprocess.run([sys.executable, "-m", "pytest", "-q", "--tb=no", "checks"], cwd=repo,
                           capture_output=True, text=True)
    assert naive.returncode == 0, naive.stdout
    # ...and change nothing for the grader.
    job = play_student_push(repo, tmp_path)
    assert job.conclusion == "failure"
    assert job.steps["tp"].outputs == {"tp": "tp1", "file": "tp1.py"}
    check = job.steps["grader"]
    assert check.outcome == "failure"
    assert "❌ **18 / 20 puntos** (9.00 / 10) en `tp1.py`" in job.summary
    assert "| Capa lineal | 0.00 / 2.00 | 2 / 3 | ❌ |" in job.summary
    assert "| ReLU | 1.00 / 1.00 | 2 / 2 | ✅ |" in job.summary
    assert "| **Total** | **18.00 / 20.00** | | |" in job.summary
    assert ("- **Capa lineal** · `test_linear_backward` (incorrecto): linear_backward: db difiere"
            in job.summary)
    line = definition_lines(repo / "tp1.py")["linear_backward"]
    annotations = [a for a in check.stdout.splitlines() if a.startswith("::")]
    assert len(annotations) == 1
    assert annotations[0].startswith(f"::error file=tp1.py,line={line},title=Capa lineal%3A "
                                     "test_linear_backward (incorrecto)::linear_backward: db difiere")
    runner = json.loads(base64.b64decode(check.outputs["result"]))
    jsonschema.validate(runner, CLASSROOM)
    assert (runner["status"], runner["max_score"]) == ("fail", 20)
    assert sum(t["score"] for t in runner["tests"]) == pytest.approx(18)
    failing = [t for t in runner["tests"] if t["status"] != "pass"]
    assert [(t["name"], t["line_no"]) for t in failing] == [("linear: test_linear_backward", line)]
    report = job.steps["classroom"]
    assert (report.outcome, report.stdout) == ("failure", "Points 18/20")


def test_a_push_of_a_correct_solution_passes_with_full_points(bundle, tmp_path):
    job = play_student_push(student_repo(bundle, REFERENCE, tmp_path), tmp_path)
    assert job.conclusion == "success"
    assert "✅ **20 / 20 puntos** (10.00 / 10)" in job.summary
    assert "Qué falló" not in job.summary
    assert not [a for a in job.steps["grader"].stdout.splitlines() if a.startswith("::")]
    runner = json.loads(base64.b64decode(job.steps["grader"].outputs["result"]))
    assert runner["status"] == "pass"
    assert sum(t["score"] for t in runner["tests"]) == pytest.approx(20)
    assert job.steps["classroom"].stdout == "Points 20/20"


# --- the course's repository -----------------------------------------------------------------


def cheating_repo(root: Path) -> Path:
    """The honest submission again, with every file that could try to change a grade."""
    repo = root / "tp1-tramposa"
    (repo / "tests").mkdir(parents=True)
    shutil.copyfile(FAILS_LIN, repo / "tp1.py")
    (repo / "conftest.py").write_text(MALICIOUS_CONFTEST)
    (repo / "pytest.ini").write_text(MALICIOUS_PYTEST_INI)
    (repo / "sitecustomize.py").write_text(MALICIOUS_SITECUSTOMIZE)
    (repo / "zz_grader.pth").write_text("import sitecustomize\n")
    (repo / "tests/test_tp1.py").write_text("def test_everything():\n    assert True\n")
    (repo / ".github/workflows").mkdir(parents=True)
    shutil.copyfile(STUDENT_WORKFLOW, repo / ".github/workflows/grader.yml")
    (repo / "tp1.ipynb").write_text("{}")
    return repo


def test_the_course_workflow_grades_only_the_submitted_file(tmp_path):
    honest = tmp_path / "repos/tp1-carla_honesta"
    honest.mkdir(parents=True)
    shutil.copyfile(FAILS_LIN, honest / "tp1.py")
    commits = {"tp1-carla_honesta": commit_all(honest),
               "carla_tramposa": commit_all(cheating_repo(tmp_path / "repos"))}
    workspace = tmp_path / "ws"
    workspace.mkdir()
    artifact = tmp_path / "artifact"

    def checkout(inputs: dict[str, str], env: dict[str, str], ws: Path) -> StepRun:
        # The private course repository, plus its list of students' repositories.
        assert inputs == {"repository": "catedra/curso-privado", "token": "token-del-curso",
                          "path": "course", "persist-credentials": "False"}
        course = ws / inputs["path"]
        shutil.copytree(MINI_COURSE, course, ignore=shutil.ignore_patterns("students"))
        (course / "students").mkdir()
        (course / "students/tp1.txt").write_text(
            f"# comisión de prueba\n{(honest).as_uri()}\n"
            f"carla_tramposa {(tmp_path / 'repos/tp1-tramposa').as_uri()}\n")
        return StepRun("checkout", "success")

    def upload(inputs: dict[str, str], env: dict[str, str], ws: Path) -> StepRun:
        assert inputs["name"] == "resultados-tp1"
        shutil.copytree(ws / inputs["path"], artifact)
        return StepRun("upload", "success")

    def install(script: str) -> None:
        assert 'python -m pip install -e "./course[course]"' in script

    def image(script: str) -> None:
        assert script.strip() == "grader image build"

    def subprocess_backend(step_id: str, script: str) -> str:
        if step_id != "grade":
            return script
        assert "--backend docker" in script
        return script.replace("--backend docker", "--backend subprocess")

    contexts = {"github": {"workspace": str(workspace), "event_name": "push"},
                "vars": {"COURSE_REPOSITORY": "catedra/curso-privado"},
                "secrets": {"COURSE_REPO_TOKEN": "token-del-curso", "GRADER_SECRET": "s3creto"},
                "inputs": {}}
    job = replay(COURSE_WORKFLOW, workspace, tmp_path, contexts=contexts,
                 not_replayed={"install": install, "image": image}, rewrite=subprocess_backend,
                 actions={"actions/checkout": checkout, "actions/setup-python": no_op,
                          "actions/upload-artifact": upload})
    assert job.conclusion == "success", {k: s.stdout for k, s in job.steps.items()}

    # Only tp1.py left each repository, with the commit it came from.
    submitted = workspace / "entregas/tp1"
    assert sorted(p.relative_to(submitted).as_posix() for p in submitted.rglob("*")) == [
        ".repos.json", "carla_tramposa", "carla_tramposa/tp1.py", "tp1-carla_honesta",
        "tp1-carla_honesta/tp1.py"]
    manifest = {entry["student"]: entry for entry in json.loads((submitted / ".repos.json").read_text())}
    assert {s: e["commit"] for s, e in manifest.items()} == commits
    assert json.loads((artifact / "tp1-repos.json").read_text()) == list(manifest.values())

    # The cheater's grade is the honest one, check by check.
    honest_result = results.load(artifact / "tp1/tp1-carla_honesta.json")
    cheater_result = results.load(artifact / "tp1/carla_tramposa.json")
    assert honest_result.score == cheater_result.score == 3.33
    assert {c.visibility for c in honest_result.checks} == {"public", "hidden"}
    assert ([(c.id, c.status) for c in cheater_result.checks]
            == [(c.id, c.status) for c in honest_result.checks])
    planilla = (artifact / "planilla.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in planilla[1:]] == [["carla_tramposa", "3.33"],
                                                            ["tp1-carla_honesta", "3.33"]]
    junit = (artifact / "tp1-junit.xml").read_text()
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(junit)
    suites = ET.fromstring(junit.encode()).findall("testsuite")
    assert [s.get("name") for s in suites] == ["tp1.carla_tramposa", "tp1.tp1-carla_honesta"]
    assert suites[0].get("failures") == suites[1].get("failures") == "2"


def test_collecting_never_follows_a_symlink_and_reports_what_it_could_not_take(tmp_path):
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "tp1.py").symlink_to(REFERENCE)
    commit_all(linked)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("sin entrega\n")
    commit_all(empty)
    out = tmp_path / "entregas"
    collected = collect_repos(read_repo_list(_repo_list(tmp_path, linked, empty)), "tp1", out)
    assert [(c.student, bool(c.file), bool(c.problem)) for c in collected] == [
        ("linked", True, False), ("empty", False, True), ("nadie", False, True)]
    assert (out / "linked/tp1.py").read_text() == str(REFERENCE)
    assert "no tiene tp1.py ni tp1.ipynb" in collected[1].problem
    assert "no se pudo clonar" in collected[2].problem


# --- annotations -----------------------------------------------------------------------------

STUDENT_FILE = '''import numpy as np


def loop():
    return 1


def linear_forward(x, W, b):
    out = x @ W
    raise ValueError("boom")
'''


def _report(mini_course: Path, file: Path, checks: list[CheckResult], load_error: str = "") -> CheckReport:
    assignment = load_assignment(mini_course / "assignment")
    return CheckReport(assignment=assignment, file=file, checks=checks,
                       exercises=scoring.score_checks(checks, assignment.exercises), earned=0,
                       possible=3, score=0, load_error=load_error, source="checks")


def test_annotations_point_at_the_traceback_line_or_the_def_of_the_function(mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    (mini_course / "tp1.py").write_text(STUDENT_FILE)
    checks = [
        CheckResult("public::test_lin", "lin", "public", Status.ERROR,
                    message='el código lanzó ValueError: boom\n  File "tp1.py", line 10, in '
                            'linear_forward\n    raise ValueError("boom")'),
        CheckResult("public::test_loop", "loop", "public", Status.FAIL,
                    message="loop: 100% mal, se esperaba 1, llegó 2\nsegunda línea"),
        CheckResult("public::test_other", "loop", "public", Status.TIMEOUT, message="tardó demasiado")]
    report = _report(mini_course, Path("tp1.py"), checks)
    assert check_lines(report) == {"public::test_lin": 10, "public::test_loop": 4,
                                   "public::test_other": 4}
    assert annotation_commands(report) == [
        "::error file=tp1.py,line=10,title=lin%3A test_lin (error)::el código lanzó ValueError: boom"
        '%0A  File "tp1.py", line 10, in linear_forward%0A    raise ValueError("boom")',
        "::error file=tp1.py,line=4,title=loop%3A test_loop (incorrecto)::loop: 100%25 mal, se esperaba 1, "
        "llegó 2%0Asegunda línea",
        "::error file=tp1.py,line=4,title=loop%3A test_other (tiempo agotado)::tardó demasiado"]


def test_the_summary_shows_the_notes_after_the_table_with_their_code_as_code(mini_course):
    checks = [CheckResult("public::test_lin", "lin", "public", Status.FAIL, message="mal"),
              CheckResult("public::test_loop", "loop", "public", Status.PASS)]
    report = _report(mini_course, Path("tp1.ipynb"), checks)
    report.notes = ["celdas que no se ejecutaron al calificar: 3, 29, 31-40",
                    "celda 5: `capa` usa `W0`, que al calificar no existe"]
    summary = summary_markdown(report)
    assert "Nota:" not in summary
    assert ("| **Total** | **0.00 / 3.00** | | |\n\n### Para tener en cuenta\n\n"
            "- Celdas que no se ejecutaron al calificar: 3, 29, 31-40\n"
            "- Celda 5: `capa` usa `W0`, que al calificar no existe\n") in summary
    assert "- **lin** · `test_lin` (incorrecto): mal" in summary


def test_a_file_that_does_not_load_is_annotated_at_its_line(mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    (mini_course / "tp1.py").write_text("def loop(:\n")
    report = _report(mini_course, Path("tp1.py"), [],
                     load_error="el código lanzó SyntaxError: invalid syntax (línea 1)")
    assert annotation_commands(report) == [
        "::error file=tp1.py,line=1,title=Tu archivo no se pudo cargar::el código lanzó SyntaxError: "
        "invalid syntax (línea 1)"]


def test_in_a_notebook_the_def_line_is_the_line_of_the_json_file():
    notebook = REPO / "examples/class/tp1/fede_gomez.ipynb"
    lines = definition_lines(notebook)
    raw = notebook.read_text().splitlines()
    assert lines and "def linear_backward(" in raw[lines["linear_backward"] - 1]


def test_github_options_outside_actions_fail_before_running_the_checks(mini_course, monkeypatch):
    monkeypatch.chdir(mini_course)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    result = CliRunner().invoke(main, ["check", "tp1", "students/passes_all.py", "--github"])
    assert result.exit_code == 2
    assert "--github escribe en $GITHUB_STEP_SUMMARY, que no está definida" in result.output
    assert "Todas las comprobaciones" not in result.output


def _repo_list(root: Path, *repos: Path) -> Path:
    listing = root / "repos.txt"
    listing.write_text("".join(f"{r.as_uri()}\n" for r in repos)
                       + f"nadie {(root / 'no-existe').as_uri()}  # se fue\n")
    return listing
