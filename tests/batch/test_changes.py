"""Why a submission is regraded, and ``cambios.md`` / ``cambios.csv`` (issue 20)."""

from __future__ import annotations

import csv
import json

import pytest

from grader import results
from grader.batch.changes import (
    CSV_COLUMNS,
    FORCED,
    NEW,
    PART_REASONS,
    SETUP,
    SUBMISSION,
    UNREADABLE,
    change,
    reasons,
    write_changes,
)
from grader.engine.grade import FINGERPRINT_PARTS
from grader.results import CheckResult, Status, SubmissionResult

PARTS = {name: name * 2 for name in FINGERPRINT_PARTS}


def result(score: float = 10.0, *, checks: dict[str, Status] | None = None, sha256: str = "a",
           fingerprint: str = "f", parts: dict[str, str] | None = None,
           student: str = "ana") -> SubmissionResult:
    checks = checks if checks is not None else {"public::test_lin": Status.PASS}
    return SubmissionResult(
        student=student, tp="tp1", submission_file=f"{student}.py", submission_sha256=sha256,
        grader_version="1", fingerprint=fingerprint,
        checks=[CheckResult(id, "lin", id.split("::")[0], status) for id, status in checks.items()],
        exercises=[], earned=score, possible=10.0, score=score,
        fingerprint_parts=dict(PARTS if parts is None else parts))


def why(previous: SubmissionResult | None, **changes: object) -> tuple[str, ...]:
    kwargs: dict = {"sha256": "a", "fingerprint": "f", "parts": PARTS, **changes}
    return reasons(previous, **kwargs)


def test_a_current_result_needs_no_grading():
    assert why(result()) == ()


def test_no_result_is_new_and_an_unreadable_one_says_so():
    assert why(None) == (NEW,) == ("nueva",)
    assert why(None, unreadable=True) == (UNREADABLE,)


@pytest.mark.parametrize("part", FINGERPRINT_PARTS)
def test_each_changed_part_of_the_setup_is_named(part):
    assert why(result(), fingerprint="g", parts={**PARTS, part: "otro"}) == (PART_REASONS[part],)


def test_the_reasons_read_as_the_issue_asks():
    assert PART_REASONS["checks"] == "cambiaron las comprobaciones"
    assert PART_REASONS["reference"] == "cambió la referencia"
    assert PART_REASONS["course"] == "cambió course.toml"
    assert PART_REASONS["grader"] == "cambió la versión del calificador"
    assert set(PART_REASONS) == set(FINGERPRINT_PARTS)


def test_a_changed_submission_and_setup_are_both_named():
    changed = {**PARTS, "checks": "x", "reference": "y"}
    assert why(result(), sha256="b", fingerprint="g", parts=changed) == (
        SUBMISSION, "cambiaron las comprobaciones", "cambió la referencia")


def test_force_is_named_only_when_nothing_else_changed():
    assert why(result(), force=True) == (FORCED,)
    assert "--force" in FORCED
    assert why(result(), sha256="b", force=True) == (SUBMISSION,)


def test_a_result_from_before_the_parts_were_stored_says_the_setup_changed():
    assert why(result(parts={}), fingerprint="g") == (SETUP,)


def test_a_result_file_without_parts_still_loads(tmp_path):
    data = result().to_dict()
    del data["fingerprint_parts"]
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(data))
    assert results.load(path).fingerprint_parts == {}


def test_a_change_lists_changed_new_and_removed_checks():
    old = result(10.0, checks={"public::a": Status.PASS, "public::b": Status.PASS,
                               "hidden::gone": Status.FAIL})
    new = result(5.0, checks={"public::a": Status.PASS, "public::b": Status.TIMEOUT,
                              "hidden::added": Status.PASS})
    found = change(old, new, ("cambiaron las comprobaciones",))
    assert found.changed_checks == ("public::b: PASS -> TIMEOUT", "hidden::added: ausente -> PASS",
                                    "hidden::gone: FAIL -> ausente")
    assert (found.old_score, found.new_score) == (10.0, 5.0)


def test_cambios_csv_has_exactly_the_agreed_columns(tmp_path):
    changes = [change(result(10.0, student="zoe"), result(6.666, student="zoe",
                      checks={"public::test_lin": Status.FAIL}), (SUBMISSION, FORCED)),
               change(result(3.0), result(3.0), (FORCED,))]
    assert write_changes(tmp_path, changes) == tmp_path / "cambios.md"
    with (tmp_path / "cambios.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS == (
            "student", "tp", "reason", "old_score", "new_score", "changed_checks")
        rows = list(reader)
    assert rows == [
        {"student": "ana", "tp": "tp1", "reason": FORCED, "old_score": "3.00",
         "new_score": "3.00", "changed_checks": ""},
        {"student": "zoe", "tp": "tp1", "reason": f"{SUBMISSION}, {FORCED}", "old_score": "10.00",
         "new_score": "6.67", "changed_checks": "public::test_lin: PASS -> FAIL"}]
    text = (tmp_path / "cambios.md").read_text()
    assert "2 entregas que ya tenían resultado se recalificaron" in text
    assert "a 1 les cambió la nota" in text
    assert ("| zoe | cambió la entrega, pedida con --force | 10.00 | 6.67 | "
            "public::test_lin: PASS -\\> FAIL |") in text


def test_without_changes_nothing_is_written_and_earlier_files_are_kept(tmp_path):
    (tmp_path / "cambios.csv").write_text("de antes")
    assert write_changes(tmp_path, []) is None
    assert (tmp_path / "cambios.csv").read_text() == "de antes"
    assert not (tmp_path / "cambios.md").exists()


def test_a_student_name_that_is_a_formula_is_neutralised_in_the_csv(tmp_path):
    evil = "=HYPERLINK(\"x\")"
    write_changes(tmp_path, [change(result(student=evil), result(student=evil), (FORCED,))])
    row = next(csv.DictReader((tmp_path / "cambios.csv").read_text().splitlines()))
    assert row["student"] == "'" + evil
