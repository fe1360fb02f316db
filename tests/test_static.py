"""The numpy-only rule is checked statically, following module-level helpers."""

from __future__ import annotations

from grader.static import forbidden_uses

FORBIDDEN = ["torch", "tensorflow", "jax", "scipy", "sklearn"]


def test_a_function_using_an_aliased_import_is_caught():
    source = "import torch as tt\ndef f(x):\n    return tt.relu(x)\n"
    assert forbidden_uses(source, ["f"], FORBIDDEN) == {"f": ["torch"]}


def test_a_from_import_is_caught():
    source = "from scipy.special import expit\ndef f(x):\n    return expit(x)\n"
    assert forbidden_uses(source, ["f"], FORBIDDEN) == {"f": ["scipy"]}


def test_use_through_a_module_level_helper_is_caught():
    source = ("import sklearn\n"
              "def helper(x):\n    return sklearn.preprocessing.scale(x)\n"
              "def f(x):\n    return helper(x)\n")
    assert forbidden_uses(source, ["f"], FORBIDDEN) == {"f": ["sklearn"]}


def test_an_import_inside_the_function_and_dunder_import_are_caught():
    source = ("def f(x):\n    import jax\n    return x\n"
              "def g(x):\n    return __import__('tensorflow')\n")
    assert forbidden_uses(source, ["f", "g"], FORBIDDEN) == {"f": ["jax"], "g": ["tensorflow"]}


def test_methods_of_a_class_are_covered():
    source = "import torch\nclass MLP:\n    def loss(self, X):\n        return torch.tensor(X)\n"
    assert forbidden_uses(source, ["MLP"], FORBIDDEN) == {"MLP": ["torch"]}


def test_an_unused_module_level_import_costs_nothing():
    source = "import numpy as np\nimport torch\ndef f(x):\n    return np.maximum(x, 0)\n"
    assert forbidden_uses(source, ["f"], FORBIDDEN) == {}


def test_the_last_definition_wins_as_in_python():
    source = ("import torch\ndef f(x):\n    return torch.relu(x)\n"
              "def f(x):\n    return x\n")
    assert forbidden_uses(source, ["f"], FORBIDDEN) == {}


def test_a_source_that_does_not_parse_reports_nothing():
    assert forbidden_uses("def f(:\n", ["f"], FORBIDDEN) == {}
