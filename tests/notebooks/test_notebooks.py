"""Notebooks become modules through a pipeline of small transforms: each step is specified alone,
then the whole pipeline in both modes, the notes students get, and where the mode is configured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.course import load_course
from grader.engine.grade import grade_submission
from grader.errors import ConfigError, SubmissionError
from grader.notebooks import CodeCell, convert, notebook_to_source
from grader.notebooks.assemble import assemble, hoist_future_imports
from grader.notebooks.cells import cell_ranges, code_cells, read_notebook
from grader.notebooks.colab import make_colab_harmless
from grader.notebooks.definitions import WHY_SKIPPED, keep_definitions
from grader.notebooks.magics import neutralise_lines, neutralise_magics
from grader.notebooks.syntax import drop_syntax_errors, parse_cell
from grader.output.markdown import markdown
from grader.student.check import bundle_notebook_mode, check_file
from grader.student.release import release

NOTEBOOKS = Path(__file__).parents[1] / "fixtures" / "notebooks"
COLAB = NOTEBOOKS / "colab_training.ipynb"


def notebook(tmp_path, cells, nbformat=4, name="tp1.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps({"nbformat": nbformat, "nbformat_minor": 5, "metadata": {},
                                "cells": cells}))
    return path


def code(source):
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
            "execution_count": None}


def markdown_cell(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def numbered(*sources):
    return [CodeCell(number, source) for number, source in enumerate(sources, start=1)]


def run(source):
    namespace: dict = {}
    exec(compile(source, "tp1.py", "exec"), namespace)
    return namespace


def definitions(*sources):
    """keep_definitions on cells 1..n: the namespace the kept code builds, and the notes."""
    cells, notes = keep_definitions(numbered(*sources))
    return run(assemble(cells)), notes


# --- reading ------------------------------------------------------------------------------------


def test_code_cells_run_in_order_and_markdown_is_dropped(tmp_path):
    path = notebook(tmp_path, [code("x = 1\n"), markdown_cell("# hola"), code(["y = x + 1\n", "z = y"])])
    assert run(notebook_to_source(path))["z"] == 2


def test_cells_are_numbered_as_the_notebook_shows_them_counting_text_cells(tmp_path):
    path = notebook(tmp_path, [markdown_cell("# TP1"), code("a = 1"), markdown_cell("..."), code("b = 2")])
    assert code_cells(read_notebook(path), name=path.name) == [CodeCell(2, "a = 1"), CodeCell(4, "b = 2")]


def test_a_corrupt_notebook_is_refused_saying_where_the_json_breaks():
    with pytest.raises(SubmissionError) as error:
        convert(NOTEBOOKS / "corrupt.ipynb")
    assert str(error.value).startswith("corrupt.ipynb no es un notebook válido: el JSON está roto "
                                       "en la línea ")


def test_a_zip_named_ipynb_is_refused_as_a_zip(tmp_path):
    import zipfile

    path = tmp_path / "tp1.ipynb"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tp1.ipynb", "{}")
    with pytest.raises(SubmissionError) as error:
        convert(path)
    assert str(error.value) == ("tp1.ipynb es un .zip, no un notebook: si tu notebook está adentro, "
                                "descomprimilo y entregá el .ipynb")


def test_a_binary_file_named_ipynb_says_what_it_is(tmp_path):
    path = tmp_path / "tp1.ipynb"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    with pytest.raises(SubmissionError, match=r"^tp1\.ipynb es un archivo binario, no un notebook "
                                              r"\(un notebook es texto JSON\): es un PDF;"):
        convert(path)
    path.write_bytes(b"\x00\x01\x02 datos")
    with pytest.raises(SubmissionError, match=r"^tp1\.ipynb es un archivo binario, no un notebook "
                                              r"\(un notebook es texto JSON\); ¿entregaste"):
        convert(path)


def test_json_that_is_not_a_notebook_is_refused(tmp_path):
    path = tmp_path / "tp1.ipynb"
    path.write_text('{"nombre": "ana", "nota": 7}')
    with pytest.raises(SubmissionError, match=r"tp1.ipynb no es un notebook de Jupyter: es JSON, pero "
                                              r"un objeto con las claves \['nombre', 'nota'\]"):
        convert(path)
    path.write_text("[1, 2]")
    with pytest.raises(SubmissionError, match="es JSON, pero list en lugar de un notebook"):
        convert(path)


def test_nbformat_3_is_refused_with_a_clear_message():
    with pytest.raises(SubmissionError, match=r"nbformat3.ipynb está en nbformat 3; se esperaba "
                                              r"nbformat 4 \(abrilo y guardalo con Jupyter o Colab"):
        convert(NOTEBOOKS / "nbformat3.ipynb")


def test_an_empty_notebook_is_refused(tmp_path):
    with pytest.raises(SubmissionError, match=r"tp1\.ipynb es un notebook vacío: no tiene ninguna celda"):
        convert(notebook(tmp_path, []))


def test_a_notebook_without_code_is_refused(tmp_path):
    with pytest.raises(SubmissionError, match="no tiene celdas de código"):
        convert(notebook(tmp_path, [markdown_cell("# solo texto")]))
    with pytest.raises(SubmissionError, match="no tiene código: sus 2 celdas de código están vacías"):
        convert(notebook(tmp_path, [code(""), code("\n  \n")]))


def test_a_malformed_cell_is_named(tmp_path):
    with pytest.raises(SubmissionError, match="la celda 2 no es válida: su 'source' debe ser texto"):
        convert(notebook(tmp_path, [code("a = 1"), code(3)]))


# --- magics and shell lines ---------------------------------------------------------------------


def test_shell_lines_and_line_magics_become_pass_at_any_indentation():
    source = ("!pip install numpy\n%matplotlib inline\nif True:\n    !ls\n    y = 4\nnp.zeros?\n"
              "pip install torch")
    assert neutralise_lines(source).split("\n") == [
        "pass  # [grader] omitido: !pip install numpy", "pass  # [grader] omitido: %matplotlib inline",
        "if True:", "    pass  # [grader] omitido: !ls", "    y = 4", "pass  # [grader] omitido: np.zeros?",
        "pass  # [grader] omitido: pip install torch"]


def test_time_keeps_its_statement_and_captured_shell_output_becomes_none():
    assert neutralise_lines("%time z = 3\nfiles = !ls") == "z = 3\nfiles = None  # [grader] omitido: !ls"


def test_lines_inside_strings_and_brackets_are_not_magics():
    source = 'doc = """\n!no es shell\n%tampoco\n"""\nresto = (7\n% 2)\ns = "%d" % 3'
    assert neutralise_lines(source) == source
    assert run(source)["resto"] == 1


def test_python_cell_magics_keep_their_body_and_line_count():
    cells, notes = neutralise_magics(numbered("%%time\nx = 1\n!ls", "%%capture\ny = 2"))
    assert [c.source for c in cells] == ["# [grader] %%time\nx = 1\npass  # [grader] omitido: !ls",
                                         "# [grader] %%capture\ny = 2"]
    assert notes == []


def test_other_cell_magics_are_commented_out_and_reported():
    cells, notes = neutralise_magics(numbered("x = 1", "%%bash\nls -la"))
    assert cells[1].source == "# [grader] %%bash\n# [grader] ls -la"
    assert notes == ["celda 2: no se ejecutó: es una celda %%bash (al calificar solo corre código Python)"]


def test_many_cell_magics_are_one_note_with_their_cells_as_ranges():
    _, notes = neutralise_magics(numbered("%%bash\nls", "%%bash\npwd", "%%bash\nid", "x = 1",
                                          "%%html\n<b>hola</b>"))
    assert notes == ["celdas que no se ejecutaron: 1-3, 5: son celdas %%bash, %%html (al calificar "
                     "solo corre código Python)"]


# --- syntax errors ------------------------------------------------------------------------------


def test_a_cell_with_a_syntax_error_is_left_out_with_its_number_and_line():
    cells, notes = drop_syntax_errors(numbered("def f():\n    return 1", "x = 1\ndef g(x)\n    return x",
                                               "def h():\n    return 3"))
    assert [c.number for c in cells] == [1, 3]
    assert notes == ["celda 2: error de sintaxis en la línea 2: expected ':' (`def g(x)`); la celda no "
                     "se ejecutó"]


def test_the_rest_of_a_notebook_with_a_syntax_error_still_loads(tmp_path):
    path = notebook(tmp_path, [markdown_cell("# TP"), code("def f():\n    return 1"),
                               code("def g(:\n    pass"), code("!pip install x\ndef h():\n    return 3")])
    converted = convert(path)
    namespace = run(converted.source)
    assert (namespace["f"](), namespace["h"](), "g" in namespace) == (1, 3, False)
    assert converted.notes == ("celda 3: error de sintaxis en la línea 1: invalid syntax (`def g(:`); la "
                               "celda no se ejecutó",)


def test_what_only_the_compiler_rejects_is_a_syntax_error_of_its_cell():
    # each parses; in the module they would stop everything from compiling
    cells, notes = drop_syntax_errors(numbered("x = 1\nreturn x", "await cargar()", "y = 2"))
    assert [c.number for c in cells] == [3]
    assert notes == ["celda 1: error de sintaxis en la línea 2: 'return' outside function (`return x`); "
                     "la celda no se ejecutó",
                     "celda 2: error de sintaxis en la línea 1: 'await' outside function "
                     "(`await cargar()`); la celda no se ejecutó"]


def test_a_compile_warning_is_not_a_syntax_error():
    # pytest makes warnings errors here; an invalid escape must still compile, as in Python
    assert parse_cell('patron = "\\d+"').body


# --- Colab and Jupyter-only code ---------------------------------------------------------------


def test_colab_imports_become_inert_and_mount_and_upload_do_nothing():
    cells, _ = make_colab_harmless(numbered(
        "from google.colab import drive, files\ndrive.mount('/content/drive')\nsubidos = files.upload()\n"
        "nombres = list(subidos)\nimport os, google.colab"))
    namespace = run(assemble(cells))
    assert namespace["nombres"] == [] and callable(namespace["os"].getcwd)
    assert cells[1].source.split("\n")[0] == "drive = files = _grader_absent"


def test_an_import_guarded_by_except_import_error_keeps_the_students_fallback():
    source = ("try:\n    from google.colab import drive\n    EN_COLAB = True\nexcept ImportError:\n"
              "    EN_COLAB = False")
    cells, _ = make_colab_harmless(numbered(source))
    assert [c.source for c in cells] == [source]
    assert run(assemble(cells))["EN_COLAB"] is False


def test_get_ipython_display_and_ipython_imports_work_without_jupyter():
    cells, _ = make_colab_harmless(numbered(
        "from IPython.display import clear_output\nget_ipython().run_line_magic('matplotlib', 'inline')\n"
        "en_colab = 'google.colab' in str(get_ipython())\ndisplay('hola')\nclear_output(wait=True)"))
    assert run(assemble(cells))["en_colab"] is False


def test_a_notebook_without_jupyter_only_code_is_left_as_it_is():
    cells = numbered("import numpy as np\ndef display(x):\n    return x\ny = display(2)")
    assert make_colab_harmless(cells) == (cells, [])


def test_future_imports_move_to_the_top_of_the_module():
    cells, _ = hoist_future_imports(numbered(
        "x = 1", "from __future__ import annotations\ndef f(a: Nada) -> int:\n    return 1"))
    assert cells[0] == CodeCell(0, "from __future__ import annotations")
    assert run(assemble(cells))["f"](0) == 1


# --- definitions-only mode ----------------------------------------------------------------------


def test_imports_functions_classes_and_constants_are_kept():
    namespace, notes = definitions(
        "import numpy as np\nfrom numpy import float64 as f64\nLR = 1e-3; EPOCHS = 2 * 5\n"
        "SIZES = [2 ** k for k in range(3)]\nCONFIG = {'lr': LR, 'dtype': np.float64, 'n': len(SIZES)}\n"
        "CONFIG['lr'] *= 2\nEYE = np.eye(2)\nact = lambda x: np.maximum(x, 0)",
        "import functools\n@functools.lru_cache(maxsize=None)\ndef f(x, lr=LR):\n    return x * lr\n"
        "class Model:\n    scale = LR * 10\n    def forward(self, x):\n        return x * self.scale")
    assert notes == []
    assert (namespace["EPOCHS"], namespace["SIZES"], namespace["CONFIG"]["lr"]) == (10, [1, 2, 4], 2e-3)
    assert namespace["f"](2.0) == 2e-3 and namespace["Model"]().forward(1) == pytest.approx(1e-2)
    assert namespace["EYE"].shape == (2, 2) and namespace["act"](-1) == 0


def test_top_level_work_is_dropped_and_reported_per_cell():
    namespace, notes = definitions(
        "import numpy as np\nclass MLP:\n    def fit(self, X):\n        raise RuntimeError('entrena')",
        "model = MLP()\nmodel.fit(np.zeros(3))\nfor epoch in range(10 ** 9):\n    pass",
        "def predict(x):\n    return x\nprint(predict(3))\nX = np.load('datos.npy')",
        "assert False, 'auto-test'")
    assert "model" not in namespace and "X" not in namespace and namespace["predict"](4) == 4
    assert notes == ["celdas que no se ejecutaron al calificar: 2, 4",
                     "celda que se ejecutó solo en parte: 3", WHY_SKIPPED]


def test_a_long_notebook_gets_one_line_per_kind_of_skipped_cell_with_ranges():
    # A 2000-cell notebook once opened its feedback with 993 notes, one per cell (issue 18).
    sources = ["import numpy as np"] + ["print(np.ones(2))", "def f():\n    return 1\nprint(f())"] * 999
    _, notes = definitions(*sources, "def g():\n    return 2", "g()", "g()")
    first = ", ".join(str(n) for n in range(2, 41, 2))
    assert notes == [f"celdas que no se ejecutaron al calificar: {first} y 981 más",
                     "celdas que se ejecutaron solo en parte: " + ", ".join(str(n) for n in range(3, 42, 2))
                     + " y 979 más", WHY_SKIPPED]


def test_cell_numbers_read_as_ranges():
    assert cell_ranges([40, 3, 29, *range(31, 40)]) == "3, 29, 31-40"
    assert (cell_ranges([5]), cell_ranges([1, 2]), cell_ranges([1, 2, 3, 5, 6])) == ("5", "1, 2", "1-3, 5, 6")
    assert cell_ranges([1, 3, 5, *range(7, 100)], limit=3) == "1, 3, 5 y 93 más"


def test_the_last_definition_wins_as_in_python():
    namespace, _ = definitions("def relu(x):\n    return 'primera'", "print('entre medio')",
                               "def relu(x):\n    return 'segunda'\nRELU = relu", "relu = relu")
    assert namespace["relu"](0) == "segunda" and namespace["RELU"](0) == "segunda"


def test_a_later_dropped_redefinition_leaves_the_earlier_one():
    namespace, _ = definitions("def f():\n    return 1", "f = envolver(f)")
    assert namespace["f"]() == 1


def test_import_fallbacks_and_constant_conditions_are_kept_and_the_main_guard_is_not():
    namespace, notes = definitions(
        "import torch\ntry:\n    import no_existe_este_modulo as nx\nexcept ImportError:\n    nx = None\n"
        "DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
        "if torch.cuda.is_available():\n    LADO = 'gpu'\nelse:\n    LADO = 'cpu'\n"
        "if __name__ == '__main__':\n    raise SystemExit('no debe correr')")
    assert (namespace["nx"], str(namespace["DEVICE"]), namespace["LADO"]) == (None, "cpu", "cpu")
    assert notes == ["celda que se ejecutó solo en parte: 1", WHY_SKIPPED]


def test_a_definition_that_needs_a_dropped_name_is_left_out_and_explained():
    namespace, notes = definitions("import numpy as np\nW0 = np.load('pesos.npy')",
                                   "def capa(x, W=W0):\n    return x @ W\ndef otra(x):\n    return x")
    assert "capa" not in namespace and namespace["otra"](1) == 1
    assert notes == [
        "celda que se ejecutó solo en parte: 1", WHY_SKIPPED,
        "celda 2: `capa` no se definió al calificar: usa `W0`, que en ese punto no está definido (solo se "
        "ejecutan definiciones)"]


def test_a_kept_function_that_reads_a_dropped_global_is_reported():
    _, notes = definitions("import numpy as np\nX_val = np.load('val.npy')",
                           "def evaluar(modelo):\n    return modelo(X_val)")
    assert notes[-1] == ("celda 2: `evaluar` usa `X_val`, que al calificar no existe: se asigna en la "
                         "celda 1, en una instrucción que no se ejecuta")


def test_only_the_allow_listed_calls_count_as_constants():
    namespace, _ = definitions(
        "import numpy as np\nfrom torch import nn\nA = np.array([1.0, 2.0])\nrng = np.random.default_rng(0)\n"
        "perdida = nn.CrossEntropyLoss()\ncapa = nn.Linear(3, 3)\nB = np.linalg.inv(np.eye(2))\n"
        "C = A.sum()\nD = open('x.txt')")
    assert {"A", "rng", "perdida"} <= namespace.keys()
    assert not {"capa", "B", "C", "D"} & namespace.keys()


def test_dropped_statements_stay_as_comments_and_keep_the_line_count():
    cells, _ = keep_definitions(numbered("a = 1; print(a)\nprint(\n    a)\nb = 2"))
    assert cells[0].source.split("\n") == ["a = 1  # [grader] omitido: print(a)",
                                           "# [grader] omitido: print(", "# [grader] omitido:     a)",
                                           "b = 2"]


# --- the whole pipeline, modes and configuration ------------------------------------------------


def test_a_colab_training_notebook_in_both_modes():
    defined = convert(COLAB)
    full = convert(COLAB, mode="full")
    assert run(defined.source)["history"] == []
    assert len(run(full.source)["history"]) == 3
    assert defined.notes == ("celda que no se ejecutó al calificar: 9",
                             "celdas que se ejecutaron solo en parte: 2, 8", WHY_SKIPPED)
    assert full.notes == ()


def test_an_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="modo de notebook desconocido 'todo'"):
        convert(COLAB, mode="todo")


def _set_mode(course: Path, mode: str) -> None:
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace('reference = "ref"\n',
                                             f'reference = "ref"\nnotebook_mode = "{mode}"\n'))


def test_the_course_file_sets_the_mode_per_tp_and_names_a_wrong_value(mini_course):
    assert load_course(mini_course / "course.toml").tp("tp1").notebook_mode == "definitions"
    _set_mode(mini_course, "todo")
    with pytest.raises(ConfigError, match=r'\[\[tp\]\] #1.notebook_mode debe ser "definitions" o '
                                          r'"full" \(llegó \'todo\'\)'):
        load_course(mini_course / "course.toml")


def test_grading_a_colab_notebook_tells_the_student_which_cells_were_skipped(mini_course):
    course = load_course(mini_course / "course.toml")
    result = grade_submission(course, "tp1", COLAB, student="ana", backend="inprocess",
                              notes=("se ignoró tp1.py",))
    assert result.score == 10.0 and result.load_error == ""
    assert result.notes[:2] == ["se ignoró tp1.py", "celda que no se ejecutó al calificar: 9"]
    report = markdown(result)
    assert "Nota: celda" not in report and "> Nota" not in report
    # After the grade table, in one short section.
    assert report.index("| Ejercicio |") < report.index("## Para tener en cuenta") < report.index(
        "- Celda que no se ejecutó al calificar: 9\n- Celdas que se ejecutaron solo en parte: 2, 8\n")


def test_full_mode_runs_the_training_and_its_plot_headless_in_the_sandbox(mini_course):
    _set_mode(mini_course, "full")
    result = grade_submission(load_course(mini_course / "course.toml"), "tp1", COLAB, student="ana")
    assert result.score == 10.0 and result.load_error == "" and result.notes == []
    assert "época 2" in result.checks[0].output  # the loop ran when the module was imported


def test_release_carries_the_mode_into_the_bundle_and_check_converts_the_same_way(mini_course, tmp_path):
    _set_mode(mini_course, "full")
    bundle = release(load_course(mini_course / "course.toml"), "tp1", tmp_path / "dist")
    assert bundle_notebook_mode(bundle / "checks") == "full"
    shutil.copyfile(COLAB, bundle / "tp1.ipynb")
    full = check_file("tp1", bundle / "tp1.ipynb", backend="inprocess")
    assert full.passed and full.notes == []
    toml = bundle / "checks" / "assignment.toml"
    toml.write_text(toml.read_text().replace('mode = "full"', 'mode = "definitions"'))
    defined = check_file("tp1", bundle / "tp1.ipynb", backend="inprocess")
    assert defined.passed and defined.notes[0] == "celda que no se ejecutó al calificar: 9"
    toml.write_text(toml.read_text().replace('mode = "definitions"', 'mode = "todo"'))
    with pytest.raises(ConfigError, match=r"\[notebook\].mode debe ser uno de \['definitions', 'full'\]"):
        check_file("tp1", bundle / "tp1.ipynb", backend="inprocess")


def test_grader_check_prints_the_notes(mini_course, monkeypatch):
    from click.testing import CliRunner

    from grader.cli import main

    monkeypatch.chdir(mini_course)
    shutil.copyfile(COLAB, mini_course / "tp1.ipynb")
    result = CliRunner().invoke(main, ["check", "tp1", "tp1.ipynb", "--backend", "inprocess"])
    assert result.exit_code == 0, result.output
    assert "Nota:" not in result.output
    notes = result.output.split("Total de las comprobaciones públicas")[1]
    assert ("\nPara tener en cuenta:\n  · Celda que no se ejecutó al calificar: 9\n  · Celdas que se "
            "ejecutaron solo en parte: 2, 8\n  · Al calificar solo se ejecutan las definiciones") in notes
