"""The package's layout holds: no import cycles (not even through imports inside functions),
nothing below the CLI imports it, and every import points down the layers CONTRIBUTING.md
describes (issue 16). ``python benchmarks/import_graph.py`` prints the same graph for people."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("import_graph", REPO / "benchmarks" / "import_graph.py")
assert _spec is not None and _spec.loader is not None
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)

LAYERS = {
    "runtime": 0,
    **dict.fromkeys(["errors", "text", "results", "scoring", "notebooks", "submissions", "course",
                     "compare", "steps", "datasets"], 1),
    "sandbox": 2,
    "engine": 3,
    **dict.fromkeys(["output", "intake", "similarity"], 4),
    **dict.fromkeys(["batch", "student", "audit"], 5),
    **dict.fromkeys(["cli", "grader"], 6),
}
"""Each top-level name under ``grader/`` (``grader`` is the package's ``__init__``): a module may
import only from its own layer or the ones below."""


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "grader"


@pytest.fixture(scope="module", params=[False, True], ids=["module-level", "with-lazy"])
def graph(request) -> dict[str, set[str]]:
    return import_graph.package_graph(REPO / "grader", lazy=request.param)[0]


def test_there_are_no_import_cycles(graph):
    assert import_graph.cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert import_graph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_top_level_name_has_a_layer(graph):
    assert {_top(module) for module in graph} == set(LAYERS)


ONLY_THE_CLI_IMPORTS = {"cli", "audit"}
"""Top-level names nothing else imports: the CLI, and ``grader audit``'s package (issue 17), which
only the CLI uses."""


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    """The imports that point up a layer, or into the CLI (or the audit) from outside it."""
    return sorted(f"{source} -> {target}" for source, targets in graph.items() for target in targets
                  if LAYERS[_top(target)] > LAYERS[_top(source)]
                  or (_top(target) in ONLY_THE_CLI_IMPORTS and _top(source) != _top(target)
                      and _top(source) != "cli"))


def test_imports_point_down_the_layers_and_nothing_imports_the_cli(graph):
    assert wrong_way(graph) == []


def test_the_layer_check_sees_imports_that_point_up_or_into_the_cli():
    graph = {"grader.sandbox.base": {"grader.engine.session", "grader.errors"},
             "grader.student.kernel": {"grader.cli", "grader.output.terminal"}}
    assert wrong_way(graph) == ["grader.sandbox.base -> grader.engine.session",
                                "grader.student.kernel -> grader.cli"]


def test_only_the_cli_and_the_audit_itself_import_the_audit():
    graph = {"grader.batch.local": {"grader.audit.oracle"},
             "grader.audit.oracle": {"grader.audit.mutate", "grader.errors"},
             "grader.cli": {"grader.audit.oracle"}}
    assert wrong_way(graph) == ["grader.batch.local -> grader.audit.oracle"]
