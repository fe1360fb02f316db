"""The late policy: deadlines from the course file, late days, penalties, extensions, and the rule
that none of it regrades anything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grader import results
from grader.course import load_course
from grader.course.late import Extension, LatePolicy, assess, deadline_for, late_days, penalty_fraction
from grader.engine.grade import fingerprint
from grader.errors import ConfigError
from grader.output.gradebook import build, collect
from grader.results import ExerciseScore, SubmissionResult

REPO = Path(__file__).parents[2]
BA = ZoneInfo("America/Argentina/Buenos_Aires")
DEADLINE = dt.datetime(2026, 9, 11, 23, 0, tzinfo=BA)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, minute, second, tzinfo=BA)


# --- late days ----------------------------------------------------------------------------------


def test_on_time_and_within_the_grace_minutes_is_zero_days():
    assert late_days(at(11, 22, 59), DEADLINE) == 0
    assert late_days(at(11, 23, 0), DEADLINE) == 0
    assert late_days(at(11, 23, 15), DEADLINE, grace_minutes=15) == 0


def test_one_second_past_the_grace_is_one_day():
    assert late_days(at(11, 23, 15, 1), DEADLINE, grace_minutes=15) == 1
    assert late_days(at(11, 23, 0, 1), DEADLINE) == 1


def test_late_days_round_up_and_count_from_deadline_plus_grace():
    assert late_days(at(12, 23, 0), DEADLINE) == 1
    assert late_days(at(12, 23, 1), DEADLINE) == 2
    assert late_days(at(13, 10, 15), DEADLINE, grace_minutes=15) == 2  # 1 day 11 h late


def test_late_days_compare_instants_not_wall_clocks():
    # 00:30 UTC on the 12th is 21:30 in Buenos Aires on the 11th: on time.
    assert late_days(dt.datetime(2026, 9, 12, 1, 59, tzinfo=dt.UTC), DEADLINE) == 0
    assert late_days(dt.datetime(2026, 9, 12, 2, 1, tzinfo=dt.UTC), DEADLINE) == 1


def test_a_daylight_saving_change_between_deadline_and_submission_moves_nothing():
    santiago = ZoneInfo("America/Santiago")  # clocks go from 24:00 to 01:00 on Sun 2026-09-06
    deadline = dt.datetime(2026, 9, 5, 23, 0, tzinfo=santiago)  # -04
    submitted = dt.datetime(2026, 9, 6, 23, 30, tzinfo=santiago)  # -03: 23.5 hours later
    assert submitted - deadline == dt.timedelta(hours=24, minutes=30)  # the wall-clock trap
    assert late_days(submitted, deadline) == 1


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        late_days(dt.datetime(2026, 9, 12), DEADLINE)


# --- penalties ----------------------------------------------------------------------------------


def test_penalty_per_day_is_a_fraction_of_the_score_capped():
    policy = LatePolicy(penalty_per_day=0.1, cap=0.25)
    assert [penalty_fraction(d, policy) for d in (0, 1, 2, 3, 10)] == [0.0, 0.1, 0.2, 0.25, 0.25]


def test_a_table_gives_the_fraction_per_day_and_its_last_entry_after():
    policy = LatePolicy(table=(0.05, 0.2, 0.5))
    assert [penalty_fraction(d, policy) for d in (0, 1, 2, 3, 4, 9)] == [0.0, 0.05, 0.2, 0.5, 0.5, 0.5]


def test_past_max_days_the_tp_scores_zero_whatever_the_cap():
    policy = LatePolicy(penalty_per_day=0.1, cap=0.3, max_days=3)
    assert penalty_fraction(3, policy) == 0.3
    assert penalty_fraction(4, policy) == 1.0
    outcome = assess(9.0, at(15, 22, 30), DEADLINE, policy, student="1", tp="tp1")
    assert (outcome.late_days, outcome.penalty, outcome.score) == (4, 9.0, 0.0)


def test_assess_rounds_like_scores_and_keeps_the_raw_score_apart():
    outcome = assess(8.5, at(13, 10, 15), DEADLINE, LatePolicy(penalty_per_day=0.15), student="1",
                     tp="tp1")
    assert (outcome.late_days, outcome.fraction, outcome.penalty, outcome.score) == (2, 0.3, 2.55, 5.95)


# --- extensions ---------------------------------------------------------------------------------


def test_extra_days_move_the_deadline_in_its_own_timezone():
    santiago = ZoneInfo("America/Santiago")
    deadline = dt.datetime(2026, 9, 5, 23, 0, tzinfo=santiago)
    policy = LatePolicy(extensions={"100003": {"*": Extension(extra_days=1)}})
    moved = deadline_for(deadline, policy, student="100003", tp="tp1")
    assert (moved.hour, moved.utcoffset()) == (23, dt.timedelta(hours=-3))  # 23:00 after the change
    assert deadline_for(deadline, policy, student="100004", tp="tp1") == deadline


def test_a_per_tp_extension_wins_over_an_all_tps_one_and_a_new_deadline_over_days():
    new = dt.datetime(2026, 9, 20, 23, 0, tzinfo=BA)
    policy = LatePolicy(penalty_per_day=0.1, extensions={"7": {
        "*": Extension(extra_days=1), "tp2": Extension(deadline=new, extra_days=30)}})
    assert deadline_for(DEADLINE, policy, student="7", tp="tp1") == at(12, 23)
    assert deadline_for(DEADLINE, policy, student="7", tp="tp2") == new
    assert assess(10, at(20, 22), DEADLINE, policy, student="7", tp="tp2").late_days == 0
    assert assess(10, at(20, 22), DEADLINE, policy, student="8", tp="tp2").late_days == 9


# --- the course file ----------------------------------------------------------------------------


def course_file(tmp_path: Path, extra: str, tp_extra: str = "") -> Path:
    path = tmp_path / "course.toml"
    path.write_text(f'[course]\nname = "c"\n[[tp]]\nname = "tp1"\nweight = 1\nassignment = "a"\n'
                    f'{tp_extra}\n{extra}\n', encoding="utf-8")
    return path


def test_the_repositorys_course_closes_each_tp_at_23_two_days_after_its_class():
    course = load_course(REPO / "course.toml")
    assert {tp: d.isoformat() for tp, d in course.deadlines.items()} == {
        "tp1": "2026-09-11T23:00:00-03:00", "tp2": "2026-09-25T23:00:00-03:00",
        "tp3": "2026-10-09T23:00:00-03:00"}


def test_a_deadline_can_be_written_directly_in_the_course_timezone(tmp_path):
    course = load_course(course_file(tmp_path, '[calendar]\ntimezone = "Europe/Madrid"',
                                     'deadline = "2026-09-18T23:00"'))
    assert course.deadlines["tp1"].isoformat() == "2026-09-18T23:00:00+02:00"


def test_closes_after_class_follows_the_calendar_across_a_daylight_saving_change(tmp_path):
    course = load_course(course_file(
        tmp_path, '[calendar]\ntimezone = "America/Santiago"\nclasses = ["2026-08-27", "2026-09-03"]',
        "closes_after_class = 2"))
    assert course.deadlines["tp1"].isoformat() == "2026-09-05T23:00:00-04:00"


@pytest.mark.parametrize(("extra", "tp_extra", "message"), [
    ('[calendar]\nclasses = ["2026-08-19"]', "closes_after_class = 2",
     r"closes_after_class debe ser el número de una clase .* entre 1 y 1 \(llegó 2\)"),
    ("", 'deadline = "2026-09-18"', r"\.deadline debe ser una fecha con hora .*llegó '2026-09-18'"),
    ('[calendar]\ntimezone = "Marte/Olimpo"', "", r"\[calendar\]\.timezone debe ser una zona horaria"),
    ('[calendar]\nclasses = ["2026-08-26", "2026-08-19"]', "", r"classes debe estar en orden"),
    ("[late]\npenalty_per_day = 10", "", r"\[late\]\.penalty_per_day debe ser un número entre 0 y 1"),
    ("[late]\npenalty_per_day = 0.1\ntable = [0.1]", "", r"usá penalty_per_day o table"),
    ("[late]\ngrace = 5", "", r"\[late\]: clave desconocida 'grace'"),
    ("[late.extensions]\n100003 = { tp9 = 2 }", "", r"extensions\]\.100003: no hay un TP llamado 'tp9'"),
    ('[late.extensions]\n100003 = "2026-09-20"', "", r"una cantidad de días .*o una tabla por TP"),
    ('[form]\nname = ""', "", r"\[form\]\.name no puede estar vacía"),
])
def test_mistakes_in_the_new_sections_name_the_key(tmp_path, extra, tp_extra, message):
    with pytest.raises(ConfigError, match=message):
        load_course(course_file(tmp_path, extra, tp_extra))


def test_the_late_section_is_parsed_with_per_student_extensions(tmp_path):
    course = load_course(course_file(tmp_path, (
        "[late]\ngrace_minutes = 15\ntable = [0.1, 0.3]\nmax_days = 5\n[late.extensions]\n"
        '100003 = 3\n100004 = { tp1 = "2026-10-01T12:00" }')))
    assert course.late == LatePolicy(
        grace_minutes=15, table=(0.1, 0.3), max_days=5, extensions={
            "100003": {"*": Extension(extra_days=3)},
            "100004": {"tp1": Extension(deadline=dt.datetime(2026, 10, 1, 12, 0, tzinfo=BA))}})


# --- nothing of it regrades -----------------------------------------------------------------------


def test_deadlines_late_policy_extensions_form_and_roster_do_not_change_the_fingerprint(mini_course):
    path = mini_course / "course.toml"
    before = fingerprint(load_course(path), load_course(path).tp("tp1"))
    text = path.read_text()
    path.write_text(text.replace('reference = "ref"', 'reference = "ref"\ncloses_after_class = 1')
                    + '\n# a comment\n[calendar]\nclasses = ["2026-08-19"]\n[late]\npenalty_per_day = 0.2'
                    '\n[late.extensions]\n7 = 2\n[form]\ntp = ""\n[roster]\npath = "padron.csv"\n')
    assert fingerprint(load_course(path), load_course(path).tp("tp1")) == before
    path.write_text(text.replace("call_timeout_s = 2", "call_timeout_s = 3"))
    assert fingerprint(load_course(path), load_course(path).tp("tp1")) != before
    path.write_text(text.replace('name = "mini"', 'name = "mini"\n[grading]\nscale_max = 100'))
    assert fingerprint(load_course(path), load_course(path).tp("tp1")) != before


def test_writing_the_same_folders_with_other_paths_keeps_the_fingerprint(mini_course, tmp_path):
    path = mini_course / "course.toml"
    before = fingerprint(load_course(path), load_course(path).tp("tp1"))
    moved = tmp_path / "elsewhere" / "course.toml"
    moved.parent.mkdir()
    moved.write_text(path.read_text().replace('"assignment"', f'"{mini_course}/assignment"')
                     .replace('"ref"', f'"{mini_course}/ref"'))
    assert load_course(moved).tp("tp1").assignment == mini_course / "assignment"
    assert fingerprint(load_course(moved), load_course(moved).tp("tp1")) == before


def test_another_tps_entry_does_not_change_this_tps_fingerprint_but_its_own_does(tmp_path):
    base = ('[course]\nname = "c"\n[[tp]]\nname = "tp1"\nweight = "1/2"\nassignment = "a"\n{}'
            '[[tp]]\nname = "tp2"\nweight = "1/2"\nassignment = "b"\n{}')
    path = tmp_path / "course.toml"

    def tp1_fingerprint(tp1: str, tp2: str) -> str:
        path.write_text(base.format(tp1, tp2))
        return fingerprint(load_course(path), load_course(path).tp("tp1"))

    before = tp1_fingerprint("", "")
    assert tp1_fingerprint("", 'notebook_mode = "full"\n') == before
    assert tp1_fingerprint('notebook_mode = "full"\n', "") != before


# --- the gradebook ------------------------------------------------------------------------------


def result(student: str, score: float, submitted_at: str = "") -> SubmissionResult:
    return SubmissionResult(
        student=student, tp="tp1", submission_file=f"{student}.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f", checks=[],
        exercises=[ExerciseScore("e", "", 10.0, score, 1, 1)], earned=score, possible=10.0,
        score=score, submitted_at=submitted_at)


def test_the_gradebook_adds_raw_late_days_and_penalty_and_grades_with_the_penalty(tmp_path):
    path = course_file(tmp_path, "[late]\npenalty_per_day = 0.1\n[late.extensions]\nbruno = 2",
                       'deadline = "2026-09-11T23:00"')
    for item in (result("ana", 9.0, "2026-09-13T10:00:00-03:00"), result("bruno", 9.0,
                                                                          "2026-09-13T10:00:00-03:00"),
                 result("carla", 6.0)):
        results.save(item, tmp_path / "res" / "tp1" / f"{item.student}.json")
    course = load_course(path)
    collected = collect(tmp_path / "res", course)
    frame = build(collected, course)
    assert list(frame.columns) == ["student", "tp1", "final", "tp1_status", "condition", "tp1_raw",
                                   "tp1_late_days", "tp1_penalty"]
    assert frame.to_dict("records") == [
        {"student": "ana", "tp1": 7.2, "final": 7.2, "tp1_status": "graded", "condition": "aprobado",
         "tp1_raw": 9.0, "tp1_late_days": 2, "tp1_penalty": 1.8},
        {"student": "bruno", "tp1": 9.0, "final": 9.0, "tp1_status": "graded",
         "condition": "aprobado", "tp1_raw": 9.0, "tp1_late_days": 0, "tp1_penalty": 0.0},
        {"student": "carla", "tp1": 6.0, "final": 6.0, "tp1_status": "graded",
         "condition": "aprobado", "tp1_raw": 6.0, "tp1_late_days": "", "tp1_penalty": 0.0}]
    assert collected.problems == ["carla (tp1): no se sabe cuándo entregó (no pasó por 'grader "
                                  "intake'); no se aplicó la política de entregas tardías"]


def test_results_without_submission_times_keep_the_plain_columns(tmp_path):
    path = course_file(tmp_path, "[late]\npenalty_per_day = 0.1", 'deadline = "2026-09-11T23:00"')
    results.save(result("ana", 9.0), tmp_path / "res" / "tp1" / "ana.json")
    course = load_course(path)
    frame = build(collect(tmp_path / "res", course), course)
    assert list(frame.columns) == ["student", "tp1", "final", "tp1_status", "condition"]


def test_old_result_files_without_submitted_at_still_load(tmp_path):
    item = result("ana", 9.0, "2026-09-13T10:00:00-03:00")
    data = item.to_dict()
    del data["submitted_at"]
    path = tmp_path / "ana.json"
    path.write_text(__import__("json").dumps(data))
    assert results.load(path).submitted_at == ""
