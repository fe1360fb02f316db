"""``grader.datasets`` gives check authors scikit-learn's data without scikit-learn's imports."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from grader import datasets
from grader.errors import ConfigError, MissingPackages


def test_digits_are_load_digits_exactly():
    X, y = datasets.digits()
    want_X, want_y = load_digits(return_X_y=True)
    assert X.dtype == want_X.dtype and y.dtype == want_y.dtype
    np.testing.assert_array_equal(X, want_X)
    np.testing.assert_array_equal(y, want_y)


def test_each_call_gets_its_own_arrays():
    X, y = datasets.digits()
    X[0, 0], y[0] = -1.0, -1
    again, labels = datasets.digits()
    assert again[0, 0] == 0.0 and labels[0] == 0


def test_digits_do_not_import_sklearn():
    code = ("import sys\nfrom grader.datasets import digits\nX, y = digits()\n"
            "assert X.shape == (1797, 64) and y.shape == (1797,)\n"
            "print('sklearn' in sys.modules, 'scipy' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"]


def test_missing_sklearn_says_what_to_install(monkeypatch):
    datasets._digits_table.cache_clear()
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingPackages, match="pip install scikit-learn"):
        datasets.digits()


def test_missing_data_file_names_it(monkeypatch, tmp_path):
    fake = tmp_path / "sklearn" / "__init__.py"
    fake.parent.mkdir()
    fake.write_text("")
    spec = type("Spec", (), {"origin": str(fake)})()
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: spec)
    datasets._digits_table.cache_clear()
    with pytest.raises(ConfigError, match=r"digits\.csv\.gz"):
        datasets.digits()
