"""Course and assignment files are validated on load, with errors that name the key."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from grader.course import load_assignment, load_course
from grader.errors import ConfigError

REPO = Path(__file__).parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text('[course]\nname = "c"\n' + text)
    return path


def test_the_course_file_of_the_repository_weighs_each_tp_one_third():
    course = load_course(REPO / "course.toml")
    assert [t.name for t in course.tps] == ["tp1", "tp2", "tp3"]
    assert all(t.weight == Fraction(1, 3) for t in course.tps)


def test_weights_must_add_up_to_one(tmp_path):
    path = write(tmp_path, '[[tp]]\nname="tp1"\nweight=0.5\nassignment="a"\n')
    with pytest.raises(ConfigError, match="deben sumar 1"):
        load_course(path)


def test_a_missing_key_is_named(tmp_path):
    path = write(tmp_path, '[[tp]]\nname="tp1"\nweight=1\n')
    with pytest.raises(ConfigError, match="falta la clave 'assignment'"):
        load_course(path)


def test_a_mistyped_value_says_what_was_expected_and_what_arrived(tmp_path):
    path = write(tmp_path, '[[tp]]\nname=1\nweight=1\nassignment="a"\n')
    with pytest.raises(ConfigError, match=r"name debe ser str \(llegó 1 que es int\)"):
        load_course(path)


def test_an_unknown_limit_is_named_with_the_valid_ones(tmp_path):
    path = write(tmp_path, '[[tp]]\nname="tp1"\nweight=1\nassignment="a"\n[limits]\nmemory=3\n')
    with pytest.raises(ConfigError, match="clave desconocida 'memory'"):
        load_course(path)


def test_invalid_toml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "[[tp]\n")
    with pytest.raises(ConfigError, match="TOML inválido"):
        load_course(path)


def test_the_tp1_assignment_has_twenty_points_of_numpy_only_exercises():
    assignment = load_assignment(REPO / "assignments" / "tp1")
    assert assignment.possible == 20
    assert all(e.numpy_only for e in assignment.exercises)
    assert {"linear", "mlp", "train", "xor"} <= {e.name for e in assignment.exercises}
