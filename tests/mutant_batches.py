"""Grading a TP's mutants in one batch: the correct base and each mutant beside it.

A TP's mutants module (``tests/tp1/mutants.py``, ``tests/tp2/tp2_mutants.py``,
``tests/tp3/tp3_mutants.py``) lists correct solutions with one realistic bug each, as exact edits of
``tests/fixtures/<tp>/passes_all.py``, and the exercises each must lose. It may also list
``EXTRA_SUBMISSIONS``, more submissions graded in the same batch (name: a function that writes
its source). The tests: ``tests/test_mutants.py`` (every TP) and the TP's own extras.

Imported as ``from mutant_batches import ...``: ``tests/`` is on ``sys.path`` (pytest's prepend
import mode, no ``__init__.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from grader import results
from grader.batch.local import grade_batch

TESTS = Path(__file__).parent
REPO = TESTS.parent
TPS = ("tp1", "tp2", "tp3")
MODULES = {"tp1": TESTS / "tp1" / "mutants.py", "tp2": TESTS / "tp2" / "tp2_mutants.py",
           "tp3": TESTS / "tp3" / "tp3_mutants.py"}


def mutants_module(tp: str) -> ModuleType:
    """The TP's mutants module, imported once under its own name (as ``from mutants import``
    from the TP's folder would)."""
    path = MODULES[tp]
    module = sys.modules.get(path.stem)
    if module is None:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    assert Path(module.__file__ or "").resolve() == path.resolve(), module
    return module


def mutants(tp: str) -> dict:
    """The TP's mutants by name (each with ``bug``, ``edits``, ``loses`` and maybe ``may_lose``)."""
    return mutants_module(tp).MUTANTS


def base(tp: str) -> Path:
    return REPO / "tests" / "fixtures" / tp / "passes_all.py"


def mutant_source(tp: str, name: str) -> str:
    """passes_all.py of ``tp`` with mutant ``name``'s edits, each matching exactly once."""
    mutant = mutants(tp)[name]
    body = base(tp).read_text()
    body = body[body.index('"""', 3) + 3:]
    for old, new in mutant.edits:
        assert body.count(old) == 1, f"{tp} {name}: the edit must match exactly once: {old!r}"
        body = body.replace(old, new)
    return f'"""{tp.upper()} correcto salvo un error: {mutant.bug}"""' + body


def grade_mutants(tp: str, folder: Path, out: Path) -> Path:
    """Grades the base, every mutant and the TP's extra submissions in one batch (``--jobs 2``);
    returns the folder of their results (``<name>.json``). No submission may fail to grade."""
    (folder / "passes_all.py").write_text(base(tp).read_text())
    for name in mutants(tp):
        (folder / f"{name}.py").write_text(mutant_source(tp, name))
    extra: dict[str, Callable[[], str]] = getattr(mutants_module(tp), "EXTRA_SUBMISSIONS", {})
    for name, source in extra.items():
        (folder / f"{name}.py").write_text(source())
    summary = grade_batch(REPO / "course.toml", tp, folder, out, jobs=2)
    assert not summary.failed, summary.failed
    assert summary.graded == 1 + len(mutants(tp)) + len(extra), summary
    return out / tp


def lost(graded: Path, name: str) -> tuple[list[str], list[str]]:
    """The exercises ``name`` did not get full points for, and its checks that did not pass."""
    result = results.load(graded / f"{name}.json")
    failures = [f"{c.id}: {c.status.value} {c.message}" for c in result.checks
                if c.status.value != "PASS"]
    return sorted(e.name for e in result.exercises if e.earned < e.points), failures
