"""Notebooks become modules: code cells in order, magics and shell lines neutralised."""

from __future__ import annotations

import json

import pytest

from grader.errors import SubmissionError
from grader.notebooks import notebook_to_source


def notebook(tmp_path, cells, nbformat=4):
    path = tmp_path / "tp1.ipynb"
    path.write_text(json.dumps({"nbformat": nbformat, "nbformat_minor": 5, "metadata": {},
                                "cells": cells}))
    return path


def code(source):
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}


def test_code_cells_run_in_order_and_markdown_is_dropped(tmp_path):
    path = notebook(tmp_path, [code("x = 1\n"), {"cell_type": "markdown", "source": "# hola"},
                               code(["y = x + 1\n", "z = y"])])
    namespace: dict = {}
    exec(notebook_to_source(path), namespace)
    assert namespace["z"] == 2


def test_magics_and_shell_lines_are_neutralised(tmp_path):
    path = notebook(tmp_path, [code("!pip install numpy\n%matplotlib inline\nx = 3\n"),
                               code("%%time\nslow()\n"),
                               code("if True:\n    !ls\n    y = 4\n")])
    namespace: dict = {}
    exec(notebook_to_source(path), namespace)
    assert namespace["x"] == 3 and namespace["y"] == 4


def test_nbformat_3_is_refused_with_a_clear_message(tmp_path):
    path = notebook(tmp_path, [], nbformat=3)
    with pytest.raises(SubmissionError, match="nbformat 3"):
        notebook_to_source(path)


def test_a_corrupt_notebook_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "tp1.ipynb"
    path.write_text("{esto no es json")
    with pytest.raises(SubmissionError, match="no es un notebook válido"):
        notebook_to_source(path)
