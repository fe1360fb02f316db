"""Builds ``tp2/fede_gomez.ipynb``: a correct TP2 handed in as a Colab-style notebook.

The code is Ana's correct solution (``tp2/ana_garcia.py``) split into one cell per part, with
what students' Colab exports have around it: a ``!pip install`` cell, ``%matplotlib inline``,
Spanish markdown and a light self-test that prints at top level. The grader comments out the
``!`` and ``%`` lines and runs the code cells in order as one module.

Usage (from the repository root)::

    .venv/bin/python examples/class/make_fede_tp2_notebook.py          # writes the notebook
    .venv/bin/python examples/class/make_fede_tp2_notebook.py --check  # exit 1 if out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "tp2" / "fede_gomez.ipynb"
SOURCE = HERE / "tp2" / "ana_garcia.py"

RULE = "# " + "-" * 93 + "\n"
SELF_TEST = """\
# Prueba rápida (liviana: corre cada vez que se califica)
_x = np.random.default_rng(0).normal(size=(4, 3))
_out, _ = batchnorm_forward(_x, np.ones(3), np.zeros(3), {"mode": "train"})
print("medias después de batch norm:", np.round(_out.mean(axis=0), 6))"""


def build() -> nbformat.NotebookNode:
    text = SOURCE.read_text(encoding="utf-8")
    code = text[text.index('"""', 3) + 3:].strip()
    code = code.replace("from __future__ import annotations\n", "")
    numpy_part, torch_part = code.split(RULE + "# Parte PyTorch", 1)
    cells = [
        new_markdown_cell("# TP2 — PyTorch, regularización y embeddings\n\n**Federico Gómez** · "
                          "Aprendizaje Profundo", id="titulo"),
        new_code_cell("!pip install torch numpy", id="pip"),
        new_code_cell("%matplotlib inline", id="magia"),
        new_markdown_cell("## Parte numpy\n\nBatch norm, dropout, L2 y embeddings.", id="numpy-md"),
        new_code_cell(numpy_part.strip(), id="numpy"),
        new_code_cell(SELF_TEST, id="prueba"),
        new_markdown_cell("## Parte PyTorch", id="torch-md"),
        new_code_cell(("# Parte PyTorch" + torch_part).strip(), id="torch"),
    ]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}, "colab": {"provenance": []}})
    nbformat.validate(notebook)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook is out of date")
    args = parser.parse_args(argv)
    text = nbformat.writes(build()) + "\n"
    if args.check:
        if not NOTEBOOK.is_file() or NOTEBOOK.read_text(encoding="utf-8") != text:
            print(f"{NOTEBOOK.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK.name} is up to date")
        return 0
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
