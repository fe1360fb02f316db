from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture
def mini_course(tmp_path: Path) -> Path:
    """A copy of the two-exercise course in tests/fixtures/mini_course (public + hidden checks)."""
    target = tmp_path / "mini_course"
    shutil.copytree(FIXTURES / "mini_course", target)
    return target


def has_bwrap() -> bool:
    return shutil.which("bwrap") is not None
