"""The numpy-only rule is checked statically, following module-level helpers, aliases and the
dynamic ways of importing (issue 15): definite uses fail, the undecidable ones go to staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.engine.static import StaticReport, analyse, forbidden_uses

REPO = Path(__file__).parents[2]
FORBIDDEN = ["torch", "tensorflow", "jax", "scipy", "sklearn"]


def uses(source: str, functions: tuple[str, ...] = ("f",)) -> dict[str, list[str]]:
    return analyse(source, functions, FORBIDDEN).forbidden


def undecidable(source: str, functions: tuple[str, ...] = ("f",), **options) -> dict[str, list[str]]:
    report = analyse(source, functions, FORBIDDEN, **options)
    assert report.forbidden == {}
    return report.undecidable


# --- plain imports and names -----------------------------------------------------------------


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


def test_a_definition_under_an_if_counts_whichever_branch_runs():
    source = ("import torch\nif True:\n    def f(x):\n        return torch.relu(x)\n"
              "else:\n    def f(x):\n        return x\n")
    assert uses(source) == {"f": ["torch"]}


def test_an_import_under_a_try_is_an_alias_too():
    source = ("try:\n    import torch as T\nexcept ImportError:\n    T = None\n"
              "def f(x):\n    return T.relu(x)\n")
    assert uses(source) == {"f": ["torch"]}


def test_a_source_that_does_not_parse_reports_nothing():
    assert forbidden_uses("def f(:\n", ["f"], FORBIDDEN) == {}
    assert analyse("def f(:\n", ["f"], FORBIDDEN) == StaticReport(libraries=tuple(FORBIDDEN))


def test_code_nested_too_deep_to_read_goes_to_review():
    source = "def f(x):\n    return " + "x + " * 600 + "x\n"
    assert undecidable(source) == {"f": ["tiene código anidado demasiado hondo para leerlo"]}


# --- computed imports with a name known from the source: definite ----------------------------


def test_import_module_with_a_constant_name_is_caught():
    source = "import importlib\ndef f(x):\n    return importlib.import_module('torch').relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_a_concatenation_of_constants_is_folded():
    source = "import importlib\ndef f(x):\n    return importlib.import_module('tor' + 'ch').relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_an_f_string_of_constants_is_folded():
    source = "PREFIX = 'sci'\ndef f(x):\n    return __import__(f'{PREFIX}py.special').expit(x)\n"
    assert uses(source) == {"f": ["scipy"]}


def test_a_helper_called_with_a_constant_gets_that_constant():
    # tests/attacks/fixtures/submissions/computed_import.py
    source = ("import importlib\n"
              "def _lib(name):\n    return importlib.import_module('tor' + name)\n"
              "def f(x):\n    return _lib('ch').relu(x)\n")
    assert uses(source) == {"f": ["torch"]}


def test_sys_modules_with_a_constant_name_is_caught():
    source = ("import sys\ndef f(x):\n    return sys.modules['torch'].relu(x)\n"
              "def g(x):\n    return sys.modules.get('jax')\n")
    assert uses(source, ("f", "g")) == {"f": ["torch"], "g": ["jax"]}


def test_dunder_import_taken_from_the_builtins_with_getattr_is_caught():
    source = "def f(x):\n    return getattr(__builtins__, '__imp' + 'ort__')('torch').relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_dunder_import_taken_from_the_builtins_dict_is_caught():
    source = "def f(x):\n    return __builtins__['__import__']('torch').relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_dunder_import_of_the_builtins_module_is_caught():
    source = "import builtins as b\ndef f(x):\n    return b.__import__('torch').relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_a_library_looked_up_in_globals_by_a_constant_name_is_caught():
    source = "import torch\ndef f(x):\n    return globals()['torch'].relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_exec_of_constant_code_is_read_as_code():
    source = "def f(x):\n    exec('import torch')\n    return x\n"
    assert uses(source) == {"f": ["torch"]}


def test_the_file_reaching_its_own_module_is_followed():
    source = "import sys\nimport torch\ndef f(x):\n    return sys.modules[__name__].torch.relu(x)\n"
    assert analyse(source, ["f"], FORBIDDEN, module="tp1").forbidden == {"f": ["torch"]}


# --- aliases at module level -----------------------------------------------------------------


def test_a_module_level_assignment_of_a_computed_import_is_an_alias():
    source = "T = __import__('torch')\ndef f(x):\n    return T.relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_an_alias_of_sys_modules_is_followed():
    source = "import sys\nlib = sys.modules\ndef f(x):\n    return lib['torch'].relu(x)\n"
    assert uses(source) == {"f": ["torch"]}


def test_an_alias_of_import_module_is_followed():
    source = ("from importlib import import_module as im\n"
              "def f(x):\n    return im('sklearn.linear_model')\n")
    assert uses(source) == {"f": ["sklearn"]}


def test_an_alias_of_the_builtins_is_followed():
    source = "B = __builtins__\ndef f(x):\n    return getattr(B, '__import__')('jax')\n"
    assert uses(source) == {"f": ["jax"]}


# --- what cannot be decided: reported for review, not failed ---------------------------------


def test_exec_of_computed_code_is_undecidable():
    assert undecidable("def f(x, code):\n    exec(code)\n") == {"f": ["usa exec (línea 2)"]}


def test_eval_and_compile_of_computed_code_are_undecidable():
    source = ("def f(x, s):\n    return eval(s)\n"
              "def g(x, s):\n    return compile(s, 'x', 'exec')\n")
    assert undecidable(source, ("f", "g")) == {"f": ["usa eval/compile (línea 2)"],
                                               "g": ["usa eval/compile (línea 4)"]}


def test_dunder_import_of_a_computed_name_is_undecidable():
    assert undecidable("def f(x, name):\n    return __import__(name)\n") == {
        "f": ["importa un módulo con un nombre calculado (__import__, línea 2)"]}


def test_import_module_of_a_computed_name_is_undecidable():
    source = "import importlib\ndef f(x, name):\n    return importlib.import_module(name)\n"
    assert undecidable(source) == {
        "f": ["importa un módulo con un nombre calculado (importlib.import_module, línea 3)"]}


def test_reading_sys_modules_is_undecidable():
    source = ("import sys\ndef f(x):\n    return [m for m in sys.modules.values()]\n"
              "def g(x, name):\n    return sys.modules[name]\n")
    assert undecidable(source, ("f", "g")) == {
        "f": ["lee sys.modules (línea 3)"],
        "g": ["lee sys.modules con un nombre calculado (línea 5)"]}


def test_getattr_on_the_builtins_with_a_computed_name_is_undecidable():
    assert undecidable("def f(x, name):\n    return getattr(__builtins__, name)\n") == {
        "f": ["usa getattr sobre __builtins__ con un nombre calculado (línea 2)"]}


def test_namespace_lookups_with_a_computed_name_are_undecidable():
    source = ("def f(x, name):\n    return globals()[name]\n"
              "def g(x, name):\n    return vars()[name]\n"
              "def h(x, name):\n    return locals().get(name)\n")
    reason = "usa globals()/vars()/locals() con un nombre calculado"
    assert undecidable(source, ("f", "g", "h")) == {
        "f": [f"{reason} (línea 2)"], "g": [f"{reason} (línea 4)"], "h": [f"{reason} (línea 6)"]}


def test_another_frames_globals_are_undecidable():
    source = "import sys\ndef f(x):\n    return sys._getframe(1).f_globals['torch']\n"
    assert undecidable(source) == {"f": ["usa f_globals (línea 3)"]}


def test_passing_an_import_function_around_is_undecidable():
    source = "import importlib\ndef f(x, names):\n    return list(map(importlib.import_module, names))\n"
    assert undecidable(source) == {
        "f": ["usa __import__/importlib.import_module sin llamarla con un nombre fijo (línea 3)"]}


def test_a_helper_called_with_a_computed_name_is_undecidable_where_it_is_reached():
    source = ("def _run(code):\n    exec(code)\n"
              "def f(x, code):\n    _run(code)\n    return x\n")
    assert undecidable(source) == {"f": ["usa exec (en _run, línea 2)"]}


def test_a_method_reached_through_its_class_is_followed():
    source = ("import importlib\nclass Loader:\n    def load(self, name):\n"
              "        return importlib.import_module(name)\n"
              "def f(x, name):\n    return Loader().load(name)\n")
    assert undecidable(source) == {"f": [
        "importa un módulo con un nombre calculado (importlib.import_module, en Loader, línea 4)"]}


def test_an_alias_of_sys_modules_used_with_a_computed_name_is_undecidable():
    source = "import sys\nlib = sys.modules\ndef f(x, name):\n    return lib[name]\n"
    assert undecidable(source) == {"f": ["lee sys.modules con un nombre calculado (línea 4)"]}


def test_code_run_when_the_module_loads_concerns_every_function():
    source = ("import numpy as np\nexec(open('extra.py').read())\n"
              "def f(x):\n    return np.maximum(x, 0)\n")
    assert undecidable(source) == {"f": ["al cargarse, el módulo usa exec (línea 2)"]}


def test_replacing_a_numpy_function_at_load_is_undecidable():
    source = ("import numpy as np\nimport torch\nnp.maximum = torch.maximum\n"
              "def f(x):\n    return np.maximum(x, 0)\n")
    assert undecidable(source) == {
        "f": ["al cargarse, el módulo cambia np.maximum, de un módulo importado (línea 3)"]}


def test_names_that_may_come_from_a_star_import_are_undecidable():
    source = "from torch import *\ndef f(x):\n    return relu(x)\n"
    assert undecidable(source) == {
        "f": ["usa nombres que no define (relu) y el módulo hace 'from torch import *'"]}


def test_a_builtin_passed_through_a_comprehension_variable_is_still_seen():
    source = "def f(x, code):\n    return [exec(code) for exec in [exec]]\n"
    assert undecidable(source) == {"f": ["usa exec (línea 2)"]}


def test_review_notes_name_the_function_and_leave_out_the_ones_that_fail_anyway():
    source = ("import torch\ndef f(x, code):\n    exec(code)\n"
              "def g(x, code):\n    exec(code)\n    return torch.relu(x)\n")
    report = analyse(source, ["f", "g"], ["torch", "scipy"])
    assert report.forbidden == {"g": ["torch"]}
    assert report.review_notes() == [
        "revisar a mano: f usa exec (línea 3); no se puede decidir estáticamente si usa torch, scipy"]


# --- no false alarms -------------------------------------------------------------------------


def test_plain_numpy_code_with_introspection_of_its_own_objects_is_clean():
    source = '''
import sys
import numpy as np
import torch

class MLP:
    def __init__(self, sizes, seed: int):
        rng = np.random.default_rng(seed)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            setattr(self, f"W{i}", rng.normal(size=(a, b)))
        self.n = len(sizes) - 1

    def params(self):
        return {k: v for k, v in vars(self).items() if k.startswith("W")}

    def forward(self, X, eval=False):
        for i in range(self.n):
            X = np.maximum(X @ getattr(self, f"W{i}"), 0)
        return X if eval else X.copy()

def batchnorm(x, eps=1e-5):
    vars = x.var(axis=0)
    return (x - x.mean(axis=0)) / np.sqrt(vars + eps)

def verbose():
    return "-v" in sys.argv

def train(model, X):
    model.eval()
    return model.forward(X, eval=True)

def compile(model):
    return model

def fit(X):
    return compile(MLP([2, 3], seed=0))

if __name__ == "__main__":
    exec(open("demo.py").read())
    print(torch.__version__)
'''
    report = analyse(source, ["MLP", "batchnorm", "verbose", "train", "fit"], FORBIDDEN)
    assert (report.forbidden, report.undecidable) == ({}, {})


def test_importing_an_allowed_module_by_a_constant_name_is_clean():
    source = "import importlib\ndef f(x):\n    return importlib.import_module('numpy').maximum(x, 0)\n"
    assert analyse(source, ["f"], FORBIDDEN) == StaticReport(libraries=tuple(FORBIDDEN))


def test_evaluating_constant_harmless_code_is_clean():
    source = "def f(x):\n    return eval('1 + 1') * x\n"
    assert analyse(source, ["f"], FORBIDDEN) == StaticReport(libraries=tuple(FORBIDDEN))


@pytest.mark.parametrize("tp", ["tp1", "tp2", "tp3"])
def test_the_course_solutions_and_starters_are_clean(tp):
    assignment = load_assignment(REPO / "assignments" / tp)
    numpy_only = [f for e in assignment.exercises if e.numpy_only for f in e.functions]
    assert numpy_only
    for path in (REPO / "reference_solutions" / tp / f"{tp}.py",
                 REPO / "assignments" / tp / "starter" / f"{tp}.py"):
        report = analyse(path.read_text(encoding="utf-8"), numpy_only,
                         assignment.forbidden_modules, module=assignment.module)
        assert (report.forbidden, report.undecidable) == ({}, {}), path
