"""``course.toml`` and ``assignment.toml`` are strict (issue 20): an unknown table or key is an
error that lists the valid ones (and names the one probably meant), and values out of range are
refused on load instead of silently changing every grade."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.course import load_assignment, load_course
from grader.errors import ConfigError

REPO = Path(__file__).parents[2]
NOT_SOURCE = {"__pycache__", "build", "dist", "results"}
TP = ('[course]\nname = "mini"\n[[tp]]\nname = "tp1"\nweight = 1\nassignment = "assignment"\n'
      'reference = "ref"\n')


@pytest.fixture
def course(mini_course: Path) -> Path:
    return mini_course / "course.toml"


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def add(path: Path, text: str) -> Path:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return path


# --- course.toml --------------------------------------------------------------------------------


def test_a_misspelt_section_is_an_error_that_names_the_one_meant_and_lists_the_valid_ones(course):
    add(course, "[lates]\npenalty_per_day = 0.1\n")
    with pytest.raises(ConfigError, match=r"tabla desconocida \[lates\] \(¿quisiste decir "
                                          r"\[late\]\?\); las válidas son \[course\], \[grading\], "
                                          r"\[\[tp\]\], \[calendar\], \[late\], "):
        load_course(course)


def test_a_misspelt_grading_key_names_the_one_meant(course):
    add(course, "[grading]\npas_mark = 6\n")
    with pytest.raises(ConfigError, match=r"\[grading\]: clave desconocida 'pas_mark' \(¿quisiste "
                                          r"decir 'pass_mark'\?\); las válidas son scale_max, "
                                          r"pass_mark, decimals, secret_env"):
        load_course(course)


@pytest.mark.parametrize(("grading", "message"), [
    ("pass_mark = 11", r"\.pass_mark debe ser un número mayor que 0 y a lo sumo scale_max = 10, "
                       r"la nota desde la que se aprueba \(llegó 11\)"),
    ("pass_mark = 0", r"\.pass_mark debe ser un número mayor que 0 .* \(llegó 0\)"),
    ("scale_max = 3", r"\.pass_mark debe ser .* a lo sumo scale_max = 3.* \(no está y vale 4\)"),
    ("scale_max = 0", r"\.scale_max debe ser un número positivo, la nota máxima \(llegó 0\)"),
    ('pass_mark = "4"', r"\.pass_mark debe ser un número .* \(llegó '4'\)"),
    ("decimals = 5", r"\.decimals debe ser un entero entre 0 y 4 \(llegó 5\)"),
    ("decimals = 1.5", r"\.decimals debe ser un entero entre 0 y 4 \(llegó 1.5\)"),
    ('secret_env = "MI SECRETO"', r"\.secret_env debe ser el nombre de una variable de entorno"),
])
def test_grading_values_out_of_range_are_refused(course, grading, message):
    add(course, f"[grading]\n{grading}\n")
    with pytest.raises(ConfigError, match=message):
        load_course(course)


def test_grading_values_in_range_are_read(course):
    add(course, '[grading]\nscale_max = 100\npass_mark = 60\ndecimals = 0\nsecret_env = "CLAVE"\n')
    loaded = load_course(course)
    assert (loaded.scale_max, loaded.pass_mark, loaded.decimals, loaded.secret_env) == (
        100.0, 60.0, 0, "CLAVE")


def test_a_tp_that_weighs_nothing_is_refused(course):
    edit(course, "weight = 1\n", "weight = 0\n")
    with pytest.raises(ConfigError, match=r"\[\[tp\]\] #1.weight debe ser positivo \(llegó 0\)"):
        load_course(course)


def test_a_misspelt_tp_key_names_the_one_meant(course):
    edit(course, 'reference = "ref"\n', 'reference = "ref"\ndedline = "2026-09-11T23:00"\n')
    with pytest.raises(ConfigError, match=r"\[\[tp\]\] #1: clave desconocida 'dedline' \(¿quisiste "
                                          r"decir 'deadline'\?\); las válidas son name, weight, "
                                          r"assignment, reference, notebook_mode, deadline, "
                                          r"closes_after_class"):
        load_course(course)


@pytest.mark.parametrize(("section", "message"), [
    ("[moodle]\nfeedback_ulr = \"https://x\"",
     r"\[moodle\]: clave desconocida 'feedback_ulr' \(¿quisiste decir 'feedback_url'\?\)"),
    ("[moodle.items]\ntp_1 = \"TP1\"",
     r"\[moodle\]\.items: clave desconocida 'tp_1' \(¿quisiste decir 'tp1'\?\); las válidas "
     r"son tp1, final"),
    ("[similarity]\ntreshold = 0.4",
     r"\[similarity\]: clave desconocida 'treshold' \(¿quisiste decir 'threshold'\?\)"),
    ("[adjustments]\npaht = \"ajustes.toml\"",
     r"\[adjustments\]: clave desconocida 'paht' \(¿quisiste decir 'path'\?\)"),
    ("[simmilarity]\nthreshold = 0.4",
     r"tabla desconocida \[simmilarity\] \(¿quisiste decir \[similarity\]\?\)"),
    ("[limits]\ncall_timeout = 5",
     r"\[limits\]: clave desconocida 'call_timeout' \(¿quisiste decir 'call_timeout_s'\?\)"),
])
def test_a_misspelt_key_of_any_section_is_named(mini_course, section, message):
    course = mini_course / "course.toml"
    course.write_text(TP + section + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_course(course)


def test_the_course_table_has_only_the_name(mini_course):
    course = mini_course / "course.toml"
    course.write_text(TP.replace('name = "mini"', 'nombre = "mini"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[course\]: clave desconocida 'nombre' \(¿quisiste "
                                          r"decir 'name'\?\); las válidas son name$"):
        load_course(course)


@pytest.mark.parametrize("course_table", ["", '[course]\nname = "  "\n', "[course]\nname = 3\n"])
def test_the_course_needs_a_name(mini_course, course_table):
    course = edit(mini_course / "course.toml", '[course]\nname = "mini"\n', course_table)
    with pytest.raises(ConfigError, match=r"\[course\].name|falta \[course\] name"):
        load_course(course)


def test_an_assignment_folder_without_its_file_is_refused(course):
    (course.parent / "assignments").mkdir()
    edit(course, 'assignment = "assignment"', 'assignment = "assignments"')
    with pytest.raises(ConfigError, match=r"#1.assignment: la carpeta .*assignments no tiene "
                                          r"assignment.toml; se esperaba la carpeta de un TP"):
        load_course(course)


def test_an_assignment_or_reference_that_is_a_file_is_refused(course):
    edit(course, 'reference = "ref"', 'reference = "ref/tp1.py"')
    with pytest.raises(ConfigError, match=r"#1.reference debe ser una carpeta; .*tp1.py es un archivo"):
        load_course(course)


def test_a_missing_assignment_folder_is_named_where_it_is_read(course):
    edit(course, 'assignment = "assignment"', 'assignment = "asignment"')
    entry = load_course(course).tp("tp1")
    with pytest.raises(ConfigError, match=r"no existe la carpeta del TP .*asignment: se esperaba "
                                          r"una carpeta con assignment.toml"):
        load_assignment(entry.assignment)


def test_a_course_copied_with_one_tps_folders_still_loads(tmp_path):
    """What a cluster worker gets (``grader.batch.cluster.course_files``): the course file and
    only the graded TP's folders. The gradebook and the reports need none either."""
    shutil.copy(REPO / "course.toml", tmp_path / "course.toml")
    shutil.copytree(REPO / "assignments" / "tp1", tmp_path / "assignments" / "tp1")
    course = load_course(tmp_path / "course.toml")
    assert load_assignment(course.tp("tp1").assignment).name == "tp1"


# --- assignment.toml ----------------------------------------------------------------------------


@pytest.fixture
def assignment(mini_course: Path) -> Path:
    return mini_course / "assignment" / "assignment.toml"


def test_a_misspelt_exercise_key_names_the_one_meant(assignment):
    edit(assignment, "numpy_only = true", "numpy_olny = true")
    with pytest.raises(ConfigError, match=r"\[\[exercise\]\] #1: clave desconocida 'numpy_olny' "
                                          r"\(¿quisiste decir 'numpy_only'\?\); las válidas son "
                                          r"name, title, points, functions, numpy_only, "):
        load_assignment(assignment.parent)


def test_an_unknown_assignment_table_is_refused(assignment):
    add(assignment, "[limit]\ncall_timeout_s = 3\n")
    with pytest.raises(ConfigError, match=r"tabla desconocida \[limit\] \(¿quisiste decir "
                                          r"\[limits\]\?\); las válidas son \[assignment\], "
                                          r"\[limits\], \[\[exercise\]\]"):
        load_assignment(assignment.parent)


def test_a_misspelt_assignment_key_names_the_one_meant(assignment):
    edit(assignment, "hidden_checks =", "hiden_checks =")
    with pytest.raises(ConfigError, match=r"\[assignment\]: clave desconocida 'hiden_checks' "
                                          r"\(¿quisiste decir 'hidden_checks'\?\)"):
        load_assignment(assignment.parent)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('forbidden_modules = ["torch", "scipy"]', 'forbidden_modules = "torch"',
     r"\[assignment\]\.forbidden_modules debe ser una lista de nombres de módulos \(llegó 'torch'\)"),
    ("numpy_only = true", 'numpy_only = "sí"',
     r"#1\.numpy_only debe ser true o false \(llegó 'sí'\)"),
    ('name = "loop"', 'name = "loop"\npartial_credit = 1',
     r"#2\.partial_credit debe ser true o false \(llegó 1\)"),
    ('module = "tp1"', 'module = "tp1"\npartial_credit = "no"',
     r"\[assignment\]\.partial_credit debe ser true o false"),
    ('public_checks = ["public/test_public.py"]', 'public_checks = "public/test_public.py"',
     r"\[assignment\]\.public_checks debe ser una lista de rutas"),
    ('module = "tp1"', 'module = "tp1.py"', r"\[assignment\]\.module debe ser el nombre del módulo"),
    ('title = "Mini"', "title = 2", r"\[assignment\]\.title debe ser str"),
])
def test_assignment_values_of_the_wrong_type_are_refused(assignment, old, new, message):
    edit(assignment, old, new)
    with pytest.raises(ConfigError, match=message):
        load_assignment(assignment.parent)


def test_the_tables_grader_release_adds_to_a_bundle_are_known_but_their_keys_checked(assignment):
    add(assignment, '[notebook]\nmode = "full"\n[checks]\nseed_key = "mini"\n')
    assert load_assignment(assignment.parent).name == "tp1"
    edit(assignment, "seed_key", "seed")
    with pytest.raises(ConfigError, match=r"\[checks\]: clave desconocida 'seed' \(¿quisiste "
                                          r"decir 'seed_key'\?\)"):
        load_assignment(assignment.parent)


# --- every file in the repository ---------------------------------------------------------------


def course_files() -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in NOT_SOURCE)
        found += [Path(folder) / f for f in sorted(files) if f in ("course.toml", "assignment.toml")]
    return found


def test_the_repository_has_the_course_files_this_test_expects():
    names = {p.relative_to(REPO).as_posix() for p in course_files()}
    assert {"course.toml", "examples/form/course.toml", "assignments/tp1/assignment.toml",
            "tests/fixtures/mini_course/course.toml",
            "tests/attacks/fixtures/course/assignment/assignment.toml"} <= names


@pytest.mark.parametrize("path", course_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_course_file_in_the_repository_loads(path):
    if path.name == "course.toml":
        course = load_course(path)
        for entry in course.tps:
            load_assignment(entry.assignment)
    else:
        load_assignment(path.parent)
