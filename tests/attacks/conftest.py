"""The red-team suite's one expensive step: grading every attack once per backend and session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from attack_table import ATTACKS
from attacklab import HONEST, Run, grade_everything


def main_batch() -> list[str]:
    """Every attack not graded in the ordered batch, and the honest submissions."""
    return sorted([a.name for a in ATTACKS if not a.ordered] + list(HONEST))


@pytest.fixture(scope="session")
def attack_runs(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Run]]:
    """``attack_runs("docker")``: the graded attacks of that backend (graded on first use)."""
    runs: dict[str, Run] = {}

    def run(backend: str) -> Run:
        if backend not in runs:
            if backend == "docker":
                request.getfixturevalue("sandbox_image")
            root: Path = tmp_path_factory.mktemp(f"attacks-{backend}")
            runs[backend] = grade_everything(backend, root, main_batch())
        return runs[backend]

    yield run
    for done in runs.values():
        done.lab.services.close()
