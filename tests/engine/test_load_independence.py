"""A correct submission gets the same grade on an idle machine and on one busy on every core (issue 17).

The CPU hog is three spinning processes per core, started before the grading and alive until it
ends; the grade, every check's status and credit must match the idle run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.request import BatchSummary
from grader.course import load_course
from grader.engine.grade import grade_submission

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent.parent
TP3 = REPO / "tests" / "fixtures" / "tp3" / "passes_all.py"


def outcome(result):
    return result.score, sorted((c.id, c.status.value, round(c.credit, 6)) for c in result.checks)


def test_a_correct_tp3_gets_the_same_grade_with_a_cpu_hog_on_every_core():
    course = load_course(REPO / "course.toml")
    idle = grade_submission(course, "tp3", TP3, student="100001")
    assert idle.score == 10.0, [c for c in idle.checks if c.status.value != "PASS"]
    hog = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
           for _ in range(3 * (os.cpu_count() or 1))]
    try:
        busy = grade_submission(course, "tp3", TP3, student="100001")
    finally:
        for process in hog:
            process.kill()
            process.wait()
    assert outcome(busy) == outcome(idle)


def test_the_batch_says_when_the_host_was_oversubscribed():
    assert BatchSummary(cores=2, peak_load=3.5).oversubscribed
    assert not BatchSummary(cores=2, peak_load=2.4).oversubscribed
