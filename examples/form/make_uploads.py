"""Builds ``uploads.zip``: the files the example class uploaded through the course form for TP1.

It is what an instructor gets after downloading the form's upload folder from Drive and zipping
it again on a Mac, with every real-world wrinkle the intake must handle:

- Colab notebooks (``!pip install``, ``%matplotlib inline``, ``drive.mount``, a training cell at
  top level), built from the solutions in ``examples/class/tp1/``;
- a ``.py``, whose name is stored in cp437 without the zip's UTF-8 flag (an old Windows zipper);
- a notebook whose UTF-8 name has no UTF-8 flag (macOS), and the ``__MACOSX/`` and
  ``.DS_Store`` leftovers;
- Ana's first (superseded) upload, a notebook cut short (corrupt), and a file of someone who
  never answered the form.

Usage (from the repository root)::

    .venv/bin/python examples/form/make_uploads.py          # writes examples/form/uploads.zip
    .venv/bin/python examples/form/make_uploads.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
CLASS = HERE.parent / "class" / "tp1"
ZIP = HERE / "uploads.zip"
FOLDER = "Entrega TP1 (File responses)/Notebook o script (File responses)/"

COLAB_HEAD = [
    "!pip install -q numpy",
    "from google.colab import drive\ndrive.mount('/content/drive')",
    "%matplotlib inline\nimport numpy as np",
]
TRAINING = """\
# Entreno un MLP chico con datos al azar para ver que la pérdida baja
rng = np.random.default_rng(0)
X_prueba = rng.normal(size=(256, 20))
y_prueba = rng.integers(0, 3, size=256)
modelo = MLP([20, 32, 3], seed=0)
historia = train(modelo, X_prueba, y_prueba, optimizer="adam", learning_rate=1e-2, epochs=5)
print("pérdida por época:", [round(p, 3) for p in historia["loss"]])"""


class _RawName(zipfile.ZipInfo):
    """A zip entry whose name is stored as the given bytes, without the UTF-8 flag."""

    def __init__(self, raw: bytes, date_time: tuple[int, int, int, int, int, int]) -> None:
        super().__init__(raw.decode("cp437"), date_time)
        self._raw = raw

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # zipfile's hook for the stored name
        return self._raw, self.flag_bits & ~0x800


def colab_notebook(source: str, title: str) -> str:
    """A Colab-style notebook of the module ``source``: one cell per top-level block, Colab cells
    first and a training cell last."""
    body = source.strip()
    blocks = [b.strip("\n") for b in body.split("\n\n\n") if b.strip()]
    cells = [new_markdown_cell(f"# {title}\n\nAprendizaje Profundo — TP1")]
    cells += [new_code_cell(source) for source in [*COLAB_HEAD, *blocks, TRAINING]]
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"celda-{number:02d}"
    notebook = new_notebook(cells=cells, metadata={
        "colab": {"name": f"{title}.ipynb", "provenance": []},
        "kernelspec": {"display_name": "Python 3", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def entries() -> list[tuple[str | bytes, tuple[int, int, int, int, int, int], bytes]]:
    """``(name, date, data)``; a ``bytes`` name is stored raw, without the UTF-8 flag."""
    ana_source = (CLASS / "ana_garcia.py").read_text(encoding="utf-8")
    ana = colab_notebook(ana_source, "TP1 Ana García").encode()
    # Her first upload: only the linear layer (and no MLP for the training cell to use).
    ana_draft = colab_notebook(ana_source.split("# ---------------- Activaciones")[0],
                               "TP1 Ana García (borrador)").encode()
    carla = colab_notebook((CLASS / "carla_lopez.py").read_text(encoding="utf-8"),
                           "TP1 Carla López").encode()
    return [
        (FOLDER + "tp1 borrador - Ana García.ipynb", (2026, 9, 10, 19, 12, 40), ana_draft),
        (FOLDER + "tp1 - Ana García.ipynb", (2026, 9, 11, 23, 5, 6), ana),
        ("__MACOSX/" + FOLDER + "._tp1 - Ana García.ipynb", (2026, 9, 11, 23, 5, 6),
         b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "),
        (FOLDER + ".DS_Store", (2026, 9, 14, 9, 0, 0), b"\x00\x00\x00\x01Bud1"),
        (FOLDER + "tp1 - Gabriela Sosa.ipynb", (2026, 9, 11, 20, 0, 28), ana[:700]),
        # macOS: UTF-8 name, no UTF-8 flag.
        ((FOLDER + "TP1 final - Carla López.ipynb").encode("utf-8"), (2026, 9, 12, 18, 30, 8), carla),
        # An old Windows zipper: cp437 name, no UTF-8 flag.
        ((FOLDER + "tp1 - Bruno Díaz.py").encode("cp437"), (2026, 9, 13, 10, 14, 57),
         (CLASS / "bruno_diaz" / "tp1.py").read_bytes()),
        (FOLDER + "tp1 - Juan Nadie.py", (2026, 9, 11, 12, 0, 0),
         b"def linear_forward(x, W, b):\n    return x @ W + b, None\n"),
    ]


def build(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, date, data in entries():
            info = _RawName(name, date) if isinstance(name, bytes) else zipfile.ZipInfo(name, date)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)


def listing(path: Path) -> list[tuple[str, tuple[int, ...], int, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(i.orig_filename, i.date_time, i.flag_bits & 0x800, archive.read(i))
                for i in archive.infolist()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if uploads.zip is out of date")
    args = parser.parse_args(argv)
    if args.check:
        fresh = HERE / ".uploads-check.zip"
        try:
            build(fresh)
            same = ZIP.is_file() and listing(fresh) == listing(ZIP)
        finally:
            fresh.unlink(missing_ok=True)
        if not same:
            print(f"{ZIP.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{ZIP.name} is up to date")
        return 0
    build(ZIP)
    print(f"wrote {ZIP}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
