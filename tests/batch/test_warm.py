"""Warm trusted children: what one writes on its own (a crash's stack) reaches the log."""

from __future__ import annotations

import pytest

from grader.batch.local import grade_batch

pytestmark = pytest.mark.slow


def test_a_trusted_child_that_crashes_leaves_its_stack_in_the_log(mini_course, tmp_path):
    # The reference runs in the trusted child: a segfault there (a library's bug) kills it. No
    # core file: it would land in the repository on a machine that keeps them.
    reference = mini_course / "ref" / "tp1.py"
    reference.write_text("import os, resource, signal\n"
                         "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
                         "os.kill(os.getpid(), signal.SIGSEGV)\n" + reference.read_text())
    folder = tmp_path / "entregas"
    folder.mkdir()
    (folder / "ana.py").write_text((mini_course / "students" / "passes_all.py").read_text())
    summary = grade_batch(mini_course / "course.toml", "tp1", folder, tmp_path / "res", jobs=1)
    assert summary.graded == 0 and len(summary.failed) == 1
    log = (tmp_path / "res" / "tp1" / "logs" / "ana.log").read_text()
    assert "== salida propia del proceso calificador ==\nFatal Python error: Segmentation fault" in log
    assert f'File "{reference}", line 3 in <module>' in log
    assert log.endswith("el proceso calificador terminó sin responder (código -11)\n")
    assert summary.failed[0].endswith("el proceso calificador terminó sin responder (código -11)")
