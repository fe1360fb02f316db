"""``grader similarity``: read a TP's submissions as grading reads them, fingerprint them, score
every pair and write the list for review (``similitud.html`` and ``similitud.csv``)."""

from __future__ import annotations

from pathlib import Path

from grader.course import Course, load_assignment
from grader.errors import SubmissionError
from grader.notebooks.colab import PREAMBLE
from grader.similarity import report
from grader.similarity.pairs import Analysis, Document, analyse, fingerprint, given_kgrams
from grader.submissions import check_size, discover, prepared_source


def given_sources(course: Course, tp: str) -> list[str]:
    """What the course gives for ``tp``, as grading would read it: the starter files (a notebook
    converted in the TP's mode) and the lines notebook conversion adds (``PREAMBLE``)."""
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    return [prepared_source(p, notebook_mode=entry.notebook_mode).source
            for p in assignment.starter if p.suffix in (".py", ".ipynb")] + [PREAMBLE]


def read_documents(course: Course, tp: str, folder: Path,
                   given: frozenset[int]) -> tuple[list[Document], list[str]]:
    """The submissions of ``folder`` fingerprinted, and the entries left out (with why)."""
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    max_mb = course.limits_for(assignment).max_submission_mb
    found, skipped = discover(folder, assignment.module)
    left_out = [f"{s.entry.name}: {s.reason}" for s in skipped]
    documents = []
    for submission in found:
        try:
            check_size(submission.path, max_mb)
            source = prepared_source(submission.path, notebook_mode=entry.notebook_mode).source
        except SubmissionError as exc:
            left_out.append(f"{submission.student}: {exc}")
            continue
        documents.append(fingerprint(submission.student, submission.path, source, given))
    return documents, left_out


def similarity(course: Course, tp: str, folder: Path, *, threshold: float | None = None) -> Analysis:
    """``grader similarity``'s analysis of ``folder`` for ``tp`` (the course's ``[similarity]
    threshold`` unless ``threshold`` is given)."""
    given = given_kgrams(given_sources(course, tp))
    documents, skipped = read_documents(course, tp, folder, given)
    return analyse(documents, given, tp=tp, skipped=skipped,
                   threshold=course.similarity_threshold if threshold is None else threshold)


def run_similarity(course: Course, tp: str, folder: Path, out: Path, *,
                   threshold: float | None = None) -> tuple[Analysis, Path, Path]:
    """``grader similarity``: the analysis, written to ``out`` as ``similitud.html`` and
    ``similitud.csv``; returns it and the two paths."""
    analysis = similarity(course, tp, folder, threshold=threshold)
    html_path, csv_path = report.write(analysis, out)
    return analysis, html_path, csv_path
