"""``import grader; grader.check("tp1")`` in a notebook: the public checks run on what the running
kernel has defined, and the feedback is the command line's, as notebook output."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import grader
from grader.course import load_course
from grader.errors import UsageError
from grader.student import kernel
from grader.student.release import release

REPO = Path(__file__).parents[2]

LAYERS = '''\
def linear_forward(x, W, b):
    return x @ W + b, (x, W, b)


def linear_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0.0), x > 0


def relu_backward(dout, cache):
    return dout * cache
'''
WRONG_SIGMOID = '''\
def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(x))  # el signo del exponente está mal
    return s, s


def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)
'''


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """What students get from ``grader release tp1``: the starter tp1.ipynb and checks/."""
    return release(load_course(REPO / "course.toml"), "tp1", tmp_path_factory.mktemp("dist") / "tp1")


def _row(html: str, exercise: str) -> str:
    match = re.search(rf"<tr>.*?<td>{exercise}</td>.*?</tr>", html, flags=re.S)
    assert match, f"no hay fila para {exercise} en {html}"
    return match.group(0)


def test_check_in_a_notebook_shows_the_running_kernels_feedback(bundle, monkeypatch):
    # The folder's tp1.ipynb is the untouched starter: re-reading the file would score 0.
    assert "NotImplementedError" in (bundle / "tp1.ipynb").read_text()
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns without it
    notebook = new_notebook(cells=[
        new_markdown_cell("# TP1"), new_code_cell("import numpy as np\nimport grader"),
        new_code_cell(LAYERS), new_code_cell(WRONG_SIGMOID),
        new_code_cell('report = grader.check("tp1")\nprint("puntos:", report.earned, report.passed)')])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(bundle)}}).execute()
    outputs = notebook.cells[-1].outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert len(shown) == 1 and printed == "puntos: 3.0 False\n"
    html, text = shown[0].data["text/html"], shown[0].data["text/plain"]
    assert "2.00 / 2.00" in _row(html, "Capa lineal") and "1.00 / 1.00" in _row(html, "ReLU")
    sigmoid = _row(html, "Sigmoide")
    assert "0.00 / 1.00" in sigmoid and "<strong>incorrecto</strong> test_sigmoid" in sigmoid
    assert "sigmoid_forward: out difiere: error absoluto máx" in sigmoid
    assert "tp1.py no define &#x27;softmax&#x27;" in _row(html, "Softmax")
    assert "Total de las comprobaciones públicas: 3 / 20 puntos (1.50 / 10)." in html
    assert re.search(r"✔ Capa lineal +2\.00 / 2\.00", text)
    assert re.search(r"✘ Sigmoide +0\.00 / 1\.00\n +incorrecto test_sigmoid: sigmoid_forward: out difiere",
                     text)
    assert "Se comprobó lo que está definido ahora en el kernel" in text
    assert text.rstrip().endswith("Corregí lo que falló y volvé a ejecutar la celda.")


def test_outside_a_notebook_the_feedback_is_printed_and_library_rules_still_apply(
        bundle, tmp_path, monkeypatch, capsys):
    source = tmp_path / "celdas.py"
    source.write_text("import numpy as np\nfrom scipy.special import expit\n" + LAYERS
                      + "\n\ndef sigmoid_forward(x):\n    s = expit(x)\n    return s, s\n")
    namespace = {"__name__": "__main__"}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    monkeypatch.chdir(bundle)
    report = grader.check("tp1", namespace=namespace)
    assert (report.earned, report.passed) == (3.0, False)
    printed = capsys.readouterr().out
    assert "incorrecto test_sigmoid: este ejercicio debe resolverse solo con numpy: sigmoid_forward usa " \
        "scipy" in printed
    assert "error test_softmax: tp1.py no define 'softmax'" in printed
    assert repr(report) == "<CheckReport tp1: 3 / 20 puntos, hay comprobaciones que no pasan>"


def test_an_error_in_the_students_function_reads_as_in_the_sandbox(bundle, monkeypatch):
    namespace = {"__name__": "__main__"}  # what a cell's functions see: they belong to __main__
    exec("def relu_forward(x):\n    raise NotImplementedError('Implementá relu_forward')", namespace)
    monkeypatch.chdir(bundle)
    report = grader.check("tp1", namespace=namespace, show=False)
    relu = [c for c in report.checks if c.exercise == "relu"]
    assert relu[0].status.value == "ERROR"
    assert relu[0].message == "no está implementado todavía (NotImplementedError: Implementá relu_forward)"


def test_without_the_bundle_it_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as error:
        grader.check("tp1", namespace={})
    message = str(error.value)
    assert message.startswith(f"no encontré las comprobaciones de tp1: busqué {tmp_path / 'checks'}, "
                              f"{tmp_path / 'tp1' / 'checks'} y un course.toml.")
    assert "generada con 'grader release'" in message and 'checks="RUTA/A/checks"' in message


def test_grader_check_stays_the_notebook_function_after_every_module_is_imported():
    # No submodule is named ``grader.check`` (the command's module is ``grader.student.check``),
    # so importing any of them cannot rebind the notebook function.
    import pkgutil

    for module in pkgutil.walk_packages(grader.__path__, "grader."):
        if not module.name.startswith("grader.runtime"):
            importlib.import_module(module.name)
    assert grader.check is kernel.check and callable(grader.check)


def test_the_starter_notebook_is_valid_nbformat_4_and_runs_in_a_kernel(bundle, monkeypatch):
    # What students open: nbformat reads it as version 4 and validates it (a missing cell id or
    # metadata is an error: warnings are errors), and nbclient runs every cell of it and then
    # grader.check, which finds the starter's stubs and gives no points.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns without it
    notebook = nbformat.read(bundle / "tp1.ipynb", as_version=nbformat.NO_CONVERT)
    assert (notebook.nbformat, notebook.cells[0].cell_type) == (4, "markdown")
    nbformat.validate(notebook)
    notebook.cells.append(new_code_cell(
        'import grader\nprint("puntos:", grader.check("tp1", show=False).earned)'))
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(bundle)}}).execute()
    printed = "".join(o.text for o in notebook.cells[-1].outputs if o.output_type == "stream")
    assert printed == "puntos: 0.0\n"
