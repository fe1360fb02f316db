"""What only TP1's students get or are promised: no line of the reference solution, no code that
could backpropagate, worker helpers that compute no network, and a wheel with the grader only.
What every TP's bundle holds is tested in tests/student/test_release.py."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(released) -> Path:
    return released("tp1")


def test_the_bundle_contains_no_line_of_the_reference_solution(bundle):
    reference = (REPO / "reference_solutions/tp1/tp1.py").read_text()
    public_lines = {line.strip() for path in (REPO / "assignments/tp1").rglob("*")
                    if path.is_file() and "hidden" not in path.parts
                    for line in path.read_text(errors="replace").splitlines()}
    secret = [line.strip() for line in reference.splitlines()
              if len(line.strip()) > 30 and line.strip() not in public_lines]
    assert secret, "the reference must have lines of its own to look for"
    bundle_lines = set()
    for path in bundle.rglob("*"):
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            content = "\n".join("".join(c["source"]) for c in cells)
        elif path.is_file():
            content = path.read_bytes().decode("utf-8", "replace")
        else:
            continue
        bundle_lines |= {line.strip() for line in content.splitlines()}
    assert not [line for line in secret if line in bundle_lines]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shipped_code(bundle: Path) -> dict[str, str]:
    """The code of every Python file and notebook in the bundle (notebooks: code cells only)."""
    code = {}
    for path in sorted(bundle.rglob("*")):
        if path.suffix == ".py":
            code[str(path.relative_to(bundle))] = path.read_text()
        elif path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            # Colab shell and magic lines are not Python.
            code[str(path.relative_to(bundle))] = "\n".join(
                line for line in source.splitlines() if not line.lstrip().startswith(("!", "%")))
    return code


def _uses(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            names.add("@")
    return names


def test_no_shipped_code_takes_a_transpose(bundle):
    # Backpropagating through a linear layer needs x.T @ dout and dout @ W.T (or a spelling of
    # them): shipped code may compute forward passes (the public checks do), never a backward.
    transposes = {"T", "transpose", "swapaxes", "moveaxis", "einsum", "tensordot", "dot", "outer",
                  "matmul"}
    code = _shipped_code(bundle)
    assert {"tp1.py", "tp1.ipynb", "checks/test_public.py", "checks/worker_helpers.py"} <= set(code)
    assert {name: sorted(_uses(source) & transposes) for name, source in code.items()} == {
        name: [] for name in code}


def test_the_worker_helpers_compute_no_network(bundle):
    # They run beside the student's code and ship with the public checks (issue 15): no matrix
    # product, softmax or logarithm, so no forward or backward pass of any TP1 model.
    uses = _uses((bundle / "checks" / "worker_helpers.py").read_text())
    assert not uses & {"@", "exp", "log", "log1p", "logaddexp", "tanh", "maximum", "where"}


ARGUMENTS = {"use_constant_loss": (2.5,)}
"""The arguments of a ``use_*`` helper besides the model."""


def test_the_worker_helpers_losses_are_not_the_mlp_loss(bundle):
    """Each ``use_*`` helper, installed on a stand-in model, gives scores and gradients that are
    not the reference MLP's on the same parameters and batch."""
    helpers = _load(bundle / "checks" / "worker_helpers.py", "tp1_bundle_helpers")
    reference = _load(REPO / "reference_solutions" / "tp1" / "tp1.py", "tp1_reference")
    installers = [getattr(helpers, n) for n in dir(helpers) if n.startswith("use_")]
    assert installers
    rng = np.random.default_rng(0)
    dims = [5, 7, 4, 3]
    X, y = rng.normal(size=(6, dims[0])), rng.integers(0, dims[-1], size=6)
    mlp = reference.MLP(dims, seed=0)
    mlp.params = {k: rng.normal(scale=0.7, size=v.shape) for k, v in mlp.params.items()}
    mlp_scores = mlp.loss(X)
    _, mlp_grads = mlp.loss(X, y)
    for install in installers:
        model = SimpleNamespace(params={k: v.copy() for k, v in mlp.params.items()})
        install(model, *ARGUMENTS.get(install.__name__, ()))
        scores = np.asarray(model.loss(X.copy()))
        _, grads = model.loss(X.copy(), y.copy())
        assert not np.allclose(scores, mlp_scores), install.__name__
        assert sorted(grads) == sorted(mlp_grads)
        same = [k for k in mlp_grads if np.allclose(grads[k], mlp_grads[k], rtol=1e-3, atol=1e-8)]
        assert same == [], install.__name__


def test_the_wheel_ships_only_the_grader_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    # The distribution is fiuba-ap-grader ("grader" on the package index is another project).
    (wheel,) = tmp_path.glob("fiuba_ap_grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("grader/", "fiuba_ap_grader-")) for n in names), names
    assert "grader/runtime/worker.py" in names and "grader/engine/plugin.py" in names
    content = b"".join(zipfile.ZipFile(wheel).read(n) for n in names)
    assert b"CANARY-REFERENCE-TP1" not in content and b"CANARY-HIDDEN-TP1" not in content
    assert b"test_hidden" not in content
