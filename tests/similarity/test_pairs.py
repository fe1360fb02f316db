"""The cases issue 22 names: a disguised copy ranks first with its rewritten function unmarked,
independent solutions stay below the course's threshold, a notebook matches the ``.py`` exported
from it, and untouched starters share nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.course import load_course
from grader.similarity.pairs import Analysis, ListedPair
from grader.similarity.run import similarity

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "similarity"
TP3 = REPO / "examples" / "class" / "tp3"
REWRITTEN = "scaled_dot_product_attention"


@pytest.fixture(scope="module")
def course():
    return load_course(REPO / "course.toml")


def folder_of(tmp: Path, files: dict[str, Path]) -> Path:
    for name, source in files.items():
        shutil.copy(source, tmp / name)
    return tmp


@pytest.fixture(scope="module")
def copied_and_independent(course, tmp_path_factory) -> Analysis:
    """The copy pair (``original.py``: an independent TP3; ``renamed_copy.py``: it with renamed
    variables, reordered functions, other comments and ``scaled_dot_product_attention``
    rewritten) among independent solutions of the same TP."""
    folder = folder_of(tmp_path_factory.mktemp("tp3"), {
        "original.py": FIXTURES / "original.py", "renamed_copy.py": FIXTURES / "renamed_copy.py",
        "reference.py": REPO / "reference_solutions" / "tp3" / "tp3.py",
        "ana_garcia.py": TP3 / "ana_garcia.py", "bruno_diaz.py": TP3 / "bruno_diaz.py",
        "fede_gomez.ipynb": TP3 / "fede_gomez.ipynb"})
    return similarity(course, "tp3", folder)


def names(analysis: Analysis, pair: ListedPair) -> tuple[str, str]:
    return pair.a.student, pair.b.student


def test_the_disguised_copy_is_the_only_listed_pair_and_shares_most_of_its_code(copied_and_independent):
    analysis = copied_and_independent
    assert [names(analysis, p) for p in analysis.listed] == [("original", "renamed_copy")]
    top = analysis.listed[0].score
    assert top.share_a > 0.85 and top.share_b > 0.85
    shares = {m.a_unit: m.a_share for m in analysis.listed[0].functions_b if m.a_size}
    assert shares.pop(REWRITTEN) == 0
    assert min(shares.values()) == 1.0  # every other function, renamed and moved, is found whole


def test_the_rewritten_function_is_not_highlighted_and_the_copied_ones_are(copied_and_independent):
    pair = copied_and_independent.listed[0]
    for doc, regions in ((pair.a, pair.regions_a), (pair.b, pair.regions_b)):
        marked = {unit.name: spans for unit, spans in zip(doc.units, regions, strict=True)}
        assert marked.pop(REWRITTEN) == ()
        assert all(marked[name] for name in ("conv2d_forward", "lstm_backward", "fit_cnn"))


def test_independent_solutions_stay_below_the_course_threshold(copied_and_independent, course):
    analysis = copied_and_independent
    independent = [p for p in analysis.pairs
                   if {analysis.documents[p.a].student, analysis.documents[p.b].student}
                   != {"original", "renamed_copy"}]
    assert len(independent) == 14  # every pair of the six but the copy shares some idiom
    assert max(p.score for p in independent) < course.similarity_threshold


def test_a_notebook_and_the_py_exported_from_it_match(course, tmp_path):
    folder = folder_of(tmp_path, {"notebook.ipynb": FIXTURES / "notebook.ipynb",
                                  "exported_from_notebook.py": FIXTURES / "exported_from_notebook.py",
                                  "reference.py": REPO / "reference_solutions" / "tp3" / "tp3.py"})
    analysis = similarity(course, "tp3", folder)
    assert [names(analysis, p) for p in analysis.listed] == [("exported_from_notebook", "notebook")]
    # The notebook's code is all in the .py; the .py also has the notebook's top-level work.
    assert analysis.listed[0].score.share_b == 1.0
    assert analysis.listed[0].score.share_a > 0.9


def test_untouched_starter_files_share_nothing(course, tmp_path):
    starter = REPO / "assignments" / "tp3" / "starter"
    folder = folder_of(tmp_path, {"a.py": starter / "tp3.py", "b.ipynb": starter / "tp3.ipynb",
                                  "c.py": starter / "tp3.py"})
    analysis = similarity(course, "tp3", folder)
    assert [d.fingerprints for d in analysis.documents] == [frozenset()] * 3
    assert (analysis.pairs, analysis.listed) == ((), ())


def test_without_subtracting_the_starter_two_starters_would_match(course, tmp_path, monkeypatch):
    """The starter test above can fail: it passes because the starter is subtracted."""
    starter = REPO / "assignments" / "tp3" / "starter"
    folder = folder_of(tmp_path, {"a.py": starter / "tp3.py", "c.py": starter / "tp3.py"})
    monkeypatch.setattr("grader.similarity.run.given_sources", lambda course, tp: [])
    assert similarity(course, "tp3", folder).listed[0].score.score == 1.0


def test_a_file_that_is_not_code_is_left_out_with_why(course, tmp_path):
    (tmp_path / "ana.py").write_bytes(b"PK\x03\x04" + bytes(200))
    shutil.copy(FIXTURES / "original.py", tmp_path / "bruno.py")
    analysis = similarity(course, "tp3", tmp_path)
    assert [d.student for d in analysis.documents] == ["bruno"]
    assert len(analysis.skipped) == 1 and analysis.skipped[0].startswith("ana: ana.py es un archivo binario")
