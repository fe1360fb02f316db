"""Small datasets for check authors, read without importing the library that ships them.

``sklearn.datasets.load_digits()`` costs about 2 s of imports (scikit-learn pulls in SciPy) for a
29 ms read of one CSV file, and a batch's trusted process paid it once per job slot (issue 9).
``digits()`` reads the same file from scikit-learn's installed package, located without running
it, and returns exactly the same arrays (``tests/test_datasets.py`` compares them)::

    X, y = digits()            # X float64 (1797, 64), values 0..16; y int64 (1797,)
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from grader.errors import ConfigError, MissingPackages

_DIGITS = ("datasets", "data", "digits.csv.gz")


def sklearn_data_file(*parts: str) -> Path:
    """A data file inside the installed scikit-learn package; ``sklearn`` is not imported."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise MissingPackages("", ["scikit-learn"], "pip install scikit-learn")
    path = Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise ConfigError(f"no se encuentra {path}: se esperaba el archivo de datos que trae "
                          "scikit-learn; reinstalá scikit-learn")
    return path


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 digits, as ``load_digits(return_X_y=True)``: ``X`` float64 ``(1797, 64)``, ``y``
    int64 ``(1797,)``. Fresh arrays each call: a check may change them."""
    table = _digits_table()
    return table[:, :-1].copy(), table[:, -1].astype(np.int64)


@functools.cache
def _digits_table() -> np.ndarray:
    """Read once per process: checks ask for the digits several times per submission."""
    table = np.loadtxt(sklearn_data_file(*_DIGITS), delimiter=",")
    table.flags.writeable = False
    return table
