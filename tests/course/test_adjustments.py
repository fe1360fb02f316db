"""The manual adjustments file is validated against the course, with errors that say what was
expected; each adjustment applies and describes itself as ``grader.course.adjustments`` says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from grader.course import load_course
from grader.course.adjustments import (
    Adjustment,
    apply_to_exercises,
    apply_to_tp,
    load_adjustments,
)
from grader.errors import ConfigError
from grader.results import ExerciseScore, SubmissionResult

REPO = Path(__file__).parents[2]
COURSE = load_course(REPO / "course.toml")

ENTRY = '''
[[adjustment]]
student = "100001"
tp = "tp1"
exercise = "train"
score = 2
by = "M. Pérez"
date = 2026-11-12
reason = "regrade pedido el 12/11: el check de train usaba un nombre de optimizador mal"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ajustes.toml"
    path.write_text(text, encoding="utf-8")
    return path


def entry(**changes: object) -> str:
    """``ENTRY`` with keys replaced (a TOML literal), added, or removed (``None``)."""
    lines = [line for line in ENTRY.strip().splitlines()
             if line.split(" = ")[0] not in changes]
    lines += [f"{key} = {value}" for key, value in changes.items() if value is not None]
    return "\n".join(lines) + "\n"


def test_a_valid_file_loads_every_field(tmp_path):
    text = ENTRY + entry(student=100002, exercise=None, score=None, bonus=-0.5,
                         date='"2026-11-13"')
    adjustments = load_adjustments(write(tmp_path, text), COURSE)
    assert adjustments.items == (
        Adjustment(student="100001", tp="tp1", exercise="train", score=2.0, by="M. Pérez",
                   date=dt.date(2026, 11, 12), reason="regrade pedido el 12/11: el check de "
                   "train usaba un nombre de optimizador mal", number=1,
                   where=f"{tmp_path / 'ajustes.toml'} [[adjustment]] #1"),
        Adjustment(student="100002", tp="tp1", bonus=-0.5, by="M. Pérez",
                   date=dt.date(2026, 11, 13), reason="regrade pedido el 12/11: el check de "
                   "train usaba un nombre de optimizador mal", number=2,
                   where=f"{tmp_path / 'ajustes.toml'} [[adjustment]] #2"))


def test_an_empty_file_has_no_adjustments(tmp_path):
    assert len(load_adjustments(write(tmp_path, "# nada todavía\n"), COURSE)) == 0


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=f"no existe el archivo de ajustes {tmp_path}/nada.toml"):
        load_adjustments(tmp_path / "nada.toml", COURSE)


def test_an_unknown_key_is_named_with_the_valid_ones(tmp_path):
    path = write(tmp_path, entry(nota=8))
    with pytest.raises(ConfigError, match=r"#1: clave desconocida 'nota'; las válidas son student, "
                                          r"tp, exercise, score, bonus, by, date, reason"):
        load_adjustments(path, COURSE)


def test_an_unknown_top_level_key_is_named(tmp_path):
    path = write(tmp_path, 'version = 1\n' + ENTRY)
    with pytest.raises(ConfigError, match="clave desconocida 'version'; el archivo de ajustes "
                                          r"solo tiene tablas \[\[adjustment\]\]"):
        load_adjustments(path, COURSE)


def test_a_single_bracket_table_says_double_brackets_were_expected(tmp_path):
    path = write(tmp_path, ENTRY.replace("[[adjustment]]", "[adjustment]"))
    with pytest.raises(ConfigError, match="con doble corchete"):
        load_adjustments(path, COURSE)


@pytest.mark.parametrize("key", ["by", "date", "reason", "student", "tp"])
def test_a_missing_required_key_is_named(tmp_path, key):
    path = write(tmp_path, ENTRY + entry(**{key: None}))
    with pytest.raises(ConfigError, match=rf"\[\[adjustment\]\] #2: falta la clave '{key}'"):
        load_adjustments(path, COURSE)


def test_who_when_and_why_must_not_be_empty(tmp_path):
    path = write(tmp_path, entry(reason='"  "'))
    with pytest.raises(ConfigError, match=r"#1.reason debe ser texto no vacío \(llegó '  '\)"):
        load_adjustments(path, COURSE)


def test_both_score_and_bonus_is_an_error(tmp_path):
    path = write(tmp_path, entry(bonus=1))
    with pytest.raises(ConfigError, match=r"exactamente una de score .* o bonus .*; llegaron las dos"):
        load_adjustments(path, COURSE)


def test_neither_score_nor_bonus_is_an_error(tmp_path):
    path = write(tmp_path, entry(score=None))
    with pytest.raises(ConfigError, match=r"exactamente una de score .* o bonus .*; no llegó ninguna"):
        load_adjustments(path, COURSE)


def test_an_unknown_tp_lists_the_courses_tps(tmp_path):
    path = write(tmp_path, entry(tp='"tp9"'))
    with pytest.raises(ConfigError, match="no hay un TP llamado 'tp9'; los TPs del curso son "
                                          "tp1, tp2, tp3"):
        load_adjustments(path, COURSE)


def test_an_unknown_exercise_lists_the_tps_exercises(tmp_path):
    path = write(tmp_path, entry(exercise='"entrenar"'))
    with pytest.raises(ConfigError, match=r"tp1 no tiene un ejercicio 'entrenar'; los ejercicios "
                                          r"de tp1 son linear, relu, .*, train, xor"):
        load_adjustments(path, COURSE)


def test_a_tp_score_above_the_scale_is_out_of_range(tmp_path):
    path = write(tmp_path, entry(exercise=None, score=10.5))
    with pytest.raises(ConfigError, match=r"score debe estar entre 0 y 10 \(la nota de un TP\); "
                                          "llegó 10.5"):
        load_adjustments(path, COURSE)


@pytest.mark.parametrize("score", [2.5, -1])
def test_an_exercise_score_outside_its_points_is_out_of_range(tmp_path, score):
    path = write(tmp_path, entry(score=score))
    with pytest.raises(ConfigError, match=r"score debe estar entre 0 y 2 \(los puntos del "
                                          rf"ejercicio train\); llegó {score:g}"):
        load_adjustments(path, COURSE)


@pytest.mark.parametrize("value", ['"8"', "true", "nan"])
def test_a_score_that_is_not_a_number_says_what_arrived(tmp_path, value):
    path = write(tmp_path, entry(score=value))
    with pytest.raises(ConfigError, match="score debe ser un número"):
        load_adjustments(path, COURSE)


@pytest.mark.parametrize("value", ['"12/11/2026"', "2026-11-12T10:00:00", "20261112"])
def test_a_date_that_is_not_a_date_says_what_was_expected(tmp_path, value):
    path = write(tmp_path, entry(date=value))
    with pytest.raises(ConfigError, match="date debe ser una fecha como 2026-11-12"):
        load_adjustments(path, COURSE)


# --- applying and describing --------------------------------------------------------------------


def adjustment(**fields: object) -> Adjustment:
    values: dict[str, object] = {"student": "100001", "tp": "tp1", "by": "M. Pérez",
                                 "date": dt.date(2026, 11, 12), "reason": "regrade", **fields}
    return Adjustment(**values)  # type: ignore[arg-type]


def graded(train: float) -> SubmissionResult:
    exercises = [ExerciseScore("linear", "", 2.0, 2.0, 1, 1),
                 ExerciseScore("train", "", 2.0, train, 1, int(train == 2))]
    earned = 2.0 + train
    return SubmissionResult(
        student="100001", tp="tp1", submission_file="a.py", submission_sha256="0" * 64,
        grader_version="test", fingerprint="f", checks=[], exercises=exercises, earned=earned,
        possible=4.0, score=round(10 * earned / 4, 2))


def test_the_note_says_before_after_reason_who_and_when():
    assert adjustment(score=8.5).describe(7.5, 8.5) == (
        "7.50 -> 8.50, ajuste: regrade (M. Pérez, 12/11/2026)")
    assert adjustment(exercise="train", score=2.0).describe(1.0, 2.0) == (
        "train: 1.00 -> 2.00, ajuste: regrade (M. Pérez, 12/11/2026)")


def test_tp_adjustments_apply_in_order_and_are_clamped_to_the_scale():
    override_then_bonus = [adjustment(score=5.0), adjustment(bonus=1.0)]
    bonus_then_override = [adjustment(bonus=1.0), adjustment(score=5.0)]
    assert apply_to_tp(7.5, override_then_bonus, scale_max=10)[0] == 6.0
    assert apply_to_tp(7.5, bonus_then_override, scale_max=10)[0] == 5.0
    assert apply_to_tp(9.5, [adjustment(bonus=1.0)], scale_max=10) == (
        10.0, ["9.50 -> 10.00, ajuste: regrade (M. Pérez, 12/11/2026)"])
    assert apply_to_tp(0.5, [adjustment(bonus=-1.0)], scale_max=10)[0] == 0.0


def test_an_exercise_adjustment_recomputes_the_tp_score_from_the_exercises():
    score, notes = apply_to_exercises(graded(train=1.0), [adjustment(exercise="train", score=2.0)],
                                      scale_max=10)
    assert (score, notes) == (10.0, ["train: 1.00 -> 2.00, ajuste: regrade (M. Pérez, 12/11/2026)"])


def test_an_exercise_bonus_is_clamped_to_the_exercises_points():
    assert apply_to_exercises(graded(train=1.0), [adjustment(exercise="train", bonus=5.0)],
                              scale_max=10)[0] == 10.0
    assert apply_to_exercises(graded(train=1.0), [adjustment(exercise="train", bonus=-5.0)],
                              scale_max=10)[0] == 5.0


def test_without_exercise_adjustments_the_results_own_score_is_kept():
    result = graded(train=1.0)
    result.score = 7.49  # as graded, whatever the rounding
    assert apply_to_exercises(result, [adjustment(score=9.0)], scale_max=10) == (7.49, [])


def test_an_exercise_the_result_lacks_is_an_error_naming_the_entry():
    with pytest.raises(ConfigError, match=r"ajustes.toml \[\[adjustment\]\] #3: el resultado de "
                                          "100001 en tp1 no tiene el ejercicio 'xor'"):
        apply_to_exercises(graded(train=1.0),
                           [adjustment(exercise="xor", score=1.0,
                                       where="ajustes.toml [[adjustment]] #3")], scale_max=10)
