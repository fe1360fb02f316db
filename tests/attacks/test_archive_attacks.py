"""Escaping the archive (issue 8): uploads zipped the way an attacker would zip them, handed to
``grader.intake.archives.gather`` (what ``grader intake`` runs on the form's uploads, before any
backend sees a file). Each must be refused whole, naming the entry and the rule, with nothing
written in the target folder or at the place on the host the entry aims at, quickly and without
expanding the bomb. The rules themselves are unit-tested in tests/intake/test_archives.py; here
each attack aims at a real place on the host that the test watches.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from attack_table import ARCHIVE_ATTACKS
from attacklab import build_archive

from grader.intake.archives import ArchiveError, gather


@pytest.mark.parametrize("attack", ARCHIVE_ATTACKS, ids=[a.name for a in ARCHIVE_ATTACKS])
def test_each_archive_attack_is_refused_whole_and_writes_nothing(attack, tmp_path: Path):
    aim, workdir = tmp_path / "aim", tmp_path / "host" / "intake" / "uploads"
    aim.mkdir()
    upload = build_archive(attack.name, tmp_path / "uploads.zip", aim=aim, workdir=workdir)
    started = time.monotonic()
    with pytest.raises(ArchiveError, match=attack.rule) as refused:
        gather(upload, workdir)
    assert time.monotonic() - started < 10
    assert "uploads.zip rechazado: la entrada" in str(refused.value)
    assert list(aim.iterdir()) == []
    assert [p for p in (tmp_path / "host").rglob("*") if not p.is_dir()] == []
