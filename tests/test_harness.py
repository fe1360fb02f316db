"""The pytest harness: check files of different assignments never mix in one process."""

from __future__ import annotations

import shutil

from grader.check import check_file


def test_two_assignments_with_the_same_check_file_names_run_their_own_checks(mini_course,
                                                                              tmp_path,
                                                                              monkeypatch):
    other = tmp_path / "other"
    shutil.copytree(mini_course, other)
    toml = other / "assignment" / "assignment.toml"
    toml.write_text(toml.read_text().replace('name = "lin"', 'name = "lineal"'))
    public = other / "assignment" / "public" / "test_public.py"
    public.write_text(public.read_text().replace('exercise("lin")', 'exercise("lineal")'))
    hidden = other / "assignment" / "hidden" / "test_hidden.py"
    hidden.write_text(hidden.read_text().replace('exercise("lin"', 'exercise("lineal"'))

    for course, exercise in ((mini_course, "lin"), (other, "lineal"), (mini_course, "lin")):
        monkeypatch.chdir(course)
        report = check_file("tp1", course / "students" / "passes_all.py")
        assert {c.exercise for c in report.checks} == {exercise, "loop"}
        assert report.passed
