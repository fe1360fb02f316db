"""``grader audit`` end to end on the two-exercise mini course: mutants judged, graded in the
sandbox beside the reference, reported per exercise, and resumable (issue 17)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader.audit import run as audit_run
from grader.audit.run import run_audit
from grader.cli import main
from grader.errors import ConfigError

pytestmark = pytest.mark.slow

PROBES = '''
import numpy as np


def random_inputs(m, rng):
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    out, cache = m.linear_forward(x, W, b)
    return out, cache


def one_row(m, rng):
    x, W, b = rng.standard_normal((1, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    return m.linear_forward(x, W, b)


def loop(m, rng):
    return m.loop()


PROBES = {"linear_forward": [random_inputs, one_row], "loop": [loop]}
'''

ACCEPTED = '''
[[accepted]]
function = "linear_forward"
change = "(W, x, b)"
reason = "el contrato no fija qué guarda la cache"
'''


@pytest.fixture
def course(mini_course):
    (mini_course / "assignment" / "hidden" / "audit_probes.py").write_text(PROBES)
    (mini_course / "assignment" / "hidden" / "audit_accepted.toml").write_text(ACCEPTED)
    return mini_course


def test_the_audit_kills_mutants_on_their_own_exercise_and_lists_survivors(course):
    out = course / "audit"
    audit = run_audit(course / "course.toml", "tp1", out, jobs=2)
    graded = {o.id: o for o in audit.graded()}
    assert graded, "no mutant was graded"
    loop = [o for o in graded.values() if o.function == "loop"]
    assert loop and all(o.killed_on_own and o.lost == ["loop"] for o in loop)
    sign = [o for o in graded.values() if "x @ W - b" in o.diff]
    assert len(sign) == 1 and sign[0].killed_on_own and sign[0].score < 10
    # The cache is not checked: its mutants survive and the report says which and why.
    survivors = [o for o in graded.values() if not o.killed]
    assert survivors and all(o.function == "linear_forward" for o in survivors)
    report = (out / "AUDIT.md").read_text()
    assert "| loop |" in report and "## Sobrevivientes" in report
    for survivor in survivors:
        assert f"`{survivor.id}`" in report
    saved = json.loads((out / "audit.json").read_text())
    assert len(saved["outcomes"]) == len(audit.outcomes)
    assert (out / "results" / "_all" / "tp1" / "reference.json").is_file()
    # Each mutant ran only its own exercise's checks.
    loop_result = json.loads((out / "results" / "loop" / "tp1" / f"{loop[0].id}.json").read_text())
    assert {c["exercise"] for c in loop_result["checks"]} == {"loop"}


def test_with_all_exercises_every_check_runs_and_the_report_lists_kills_elsewhere(course):
    out = course / "audit"
    audit = run_audit(course / "course.toml", "tp1", out, jobs=2, all_exercises=True,
                      functions=["loop"])
    assert audit.graded() and all(o.lost == ["loop"] for o in audit.graded())
    for outcome in audit.graded():
        saved = json.loads((out / "results" / "_all" / "tp1" / f"{outcome.id}.json").read_text())
        assert {c["exercise"] for c in saved["checks"]} == {"lin", "loop"}
    assert "## Muertos solo en otro ejercicio (0)" in (out / "AUDIT.md").read_text()


def test_a_second_run_reuses_verdicts_and_grades(course, monkeypatch):
    out = course / "audit"
    first = run_audit(course / "course.toml", "tp1", out, jobs=2)

    def no_oracle(*args, **kwargs):
        raise AssertionError("the oracle ran again")

    monkeypatch.setattr(audit_run, "judge", no_oracle)
    events = []
    second = run_audit(course / "course.toml", "tp1", out, jobs=2, on_event=events.append)
    assert {e.kind for e in events} == {"reused"}
    assert [(o.id, o.lost) for o in second.outcomes] == [(o.id, o.lost) for o in first.outcomes]


def test_a_reference_that_fails_its_own_checks_stops_the_audit(course):
    reference = course / "ref" / "tp1.py"
    reference.write_text(reference.read_text().replace("return 1", "return 2"))
    with pytest.raises(ConfigError, match="la referencia misma saca"):
        run_audit(course / "course.toml", "tp1", course / "audit", jobs=1,
                  functions=["linear_forward"])


def test_missing_probes_and_unknown_functions_are_clear_errors(mini_course):
    with pytest.raises(ConfigError, match=r"necesita sus sondas en .*audit_probes\.py"):
        run_audit(mini_course / "course.toml", "tp1", mini_course / "audit")
    (mini_course / "assignment" / "hidden" / "audit_probes.py").write_text(PROBES)
    with pytest.raises(ConfigError, match=r"\['nope'\] no son funciones calificadas"):
        run_audit(mini_course / "course.toml", "tp1", mini_course / "audit", functions=["nope"])


def test_the_cli_prints_the_kill_rate_and_updates_audit_md(course, monkeypatch):
    monkeypatch.chdir(course)
    result = CliRunner().invoke(main, ["audit", "tp1", "--out", "aud", "--jobs", "2",
                                       "--function", "loop", "--update"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "mutantes muertos en su propio ejercicio (100.0%)" in text
    assert (course / "assignment" / "AUDIT.md").read_text() == (course / "aud" / "AUDIT.md").read_text()
