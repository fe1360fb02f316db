"""The red-team suite (issue 8): every attack submission, graded by ``grader grade`` with the
``subprocess`` and ``docker`` backends, gets exactly the verdict an honest solution of the same
code would get, the reason is reported, the honest submissions in the same batch get 10, and the
host is left as it was.

Each backend grades everything once per session (``attack_runs`` in conftest.py): the attacks and
two honest submissions in one folder with ``--jobs 2``, then the ordered batch (``--jobs 1``). The
tests below only read those results. The attacks and their verdicts: ``attack_table.py``.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from attack_table import ATTACKS, Attack
from attacklab import HONEST, REGRADED, Run

from grader import results

pytestmark = pytest.mark.slow
BACKENDS = ["subprocess", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(params=BACKENDS)
def run(request: pytest.FixtureRequest, attack_runs) -> Run:
    return attack_runs(request.param)


def _batch(run: Run, attack: Attack):
    return run.ordered if attack.ordered else run.main


def _text(result: dict) -> str:
    """Everything the grader reported about a submission: messages and captured output."""
    return "\n".join(f"{c['message']}\n{c['output']}" for c in result["checks"]) + result["load_error"]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_each_attack_gets_the_verdict_of_an_honest_solution_of_its_code(run: Run, attack: Attack):
    assert attack.problems(_batch(run, attack).result(attack.name)) == []


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_each_result_is_the_graders_own_file(run: Run, attack: Attack):
    batch = _batch(run, attack)
    path = batch.results / "tp1" / f"{attack.name}.json"
    loaded = results.load(path)
    submitted = batch.folder / f"{attack.name}.py"
    if not submitted.is_file():
        submitted = next(p for p in (batch.folder / attack.name).iterdir() if p.name == "tp1.py")
    honest = results.load(run.main.results / "tp1" / "honest_file.json")
    assert loaded.student == attack.name
    assert loaded.submission_sha256 == hashlib.sha256(submitted.read_bytes()).hexdigest()
    assert loaded.fingerprint == honest.fingerprint


def test_every_submission_gets_a_result_and_the_honest_ones_get_10(run: Run):
    assert run.main.returncode == 0, run.main.stderr[-3000:]
    assert run.ordered.returncode == 0, run.ordered.stderr[-3000:]
    for student in HONEST:
        honest = run.main.result(student)
        assert honest["score"] == 10.0, [(c["id"], c["status"], c["message"]) for c in honest["checks"]]


def test_the_results_folders_hold_only_the_graders_files(run: Run):
    for batch, model in ((run.main, "honest_file"), (run.ordered, "between_2_finds_data")):
        students = {p.stem if p.suffix == ".py" else p.name for p in batch.folder.iterdir()}
        own = {p.relative_to(batch.results).as_posix() for p in batch.files()}
        # What the grader writes for one student (result, reports, log), for every student.
        kinds = {p.replace(model, "{}") for p in own if f"/{model}." in f"/{p}"}
        expected = {kind.format(student) for kind in kinds for student in students}
        assert own == expected, f"unexpected: {sorted(own - expected)}; missing: {sorted(expected - own)}"


def test_no_attack_leaves_files_processes_or_containers_on_the_host(run: Run):
    assert run.files == []
    assert run.processes == []
    assert run.containers == []
    assert run.course_changed == []


def test_nothing_reaches_the_hosts_loopback_services(run: Run):
    assert run.lab.services.connections == []
    assert run.lab.services.datagrams == []


def test_no_canary_reaches_the_results_the_feedback_or_the_log(run: Run):
    for batch in (run.main, run.ordered):
        for path in batch.files():
            text = path.read_text(errors="replace")
            assert "CANARY-" not in text, f"{path}: {text[text.find('CANARY-') - 200:][:400]}"
        assert "CANARY-" not in batch.stdout + batch.stderr


def test_the_next_submission_finds_nothing_the_previous_one_left(run: Run):
    first = run.ordered.result("between_1_leaves_data")
    second = run.ordered.result("between_2_finds_data")
    assert first["started_at"] <= second["started_at"]
    assert "LEFTOVER-NONE" in _text(second)


def test_answers_hard_coded_for_the_public_inputs_pass_only_the_public_checks(run: Run):
    got = {c["id"]: c for c in run.main.result(REGRADED)["checks"]}
    for check, outcome in got.items():
        hit = "TABLE-HIT" in outcome["output"]
        assert hit == check.startswith("public::"), (check, outcome["output"])


def test_a_regrade_gives_the_same_grade(run: Run):
    first, again = run.main.result(REGRADED), run.ordered.result(REGRADED)
    assert again["score"] == first["score"]
    assert [(c["id"], c["status"]) for c in again["checks"]] == [
        (c["id"], c["status"]) for c in first["checks"]]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def test_no_control_character_reaches_results_feedback_logs_or_the_terminal(run: Run):
    # Terminal escapes printed or raised by student code (issue 15: OSC 52, OSC 8, cursor moves).
    for batch in (run.main, run.ordered):
        for path in batch.files():
            text = path.read_text(errors="replace")
            found = _CONTROL.search(text)
            assert found is None, f"{path}: {text[max(0, found.start() - 200):][:400]!r}"
        assert _CONTROL.search(batch.stdout + batch.stderr) is None


def test_student_strings_are_capped_in_every_file(run: Run):
    # A 3 MB exception class name once grew into ~264 MB of result files (issue 15).
    files = [p for p in run.main.files() if p.stem == "huge_exception_name"]
    assert files
    for path in files:
        assert path.stat().st_size < 200_000, (path, path.stat().st_size)
