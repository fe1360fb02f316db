"""Checks the example class against the TP1 reference solution, exercise by exercise.

For every synthetic student of ``tp1/`` this script establishes the outcome that
``EXPECTED-tp1.md`` promises: each exercise expected to earn its points gives the reference's outputs
(to 1e-10) on the same inputs, and each planted bug does what it says (a wrong ``db``, a dead
process, an endless loop, a syntax error). The buggy function is then replaced by one that fails
loudly and the other exercises are checked again, which proves that the bug costs exactly one
exercise (MLP, train and XOR do not reach it). It also checks the TP1 starter: the ``.py`` and
the notebook define the same names and every stub raises ``NotImplementedError``.

Run from the repository root with the project's virtual environment (needs scikit-learn)::

    .venv/bin/python examples/class/verify_examples.py

Prints one ``OK`` line per check and exits with status 1 if any check fails.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import importlib.util
import io
import subprocess
import sys
import time
import tomllib
import traceback
import types
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SUBMISSIONS = HERE / "tp1"
ASSIGNMENT = ROOT / "assignments" / "tp1"
sys.path.insert(0, str(ROOT))

from grader.notebooks import notebook_to_source  # noqa: E402
from grader.engine.static import forbidden_uses  # noqa: E402

RTOL, ATOL = 1e-10, 1e-12
FORBIDDEN = ["torch", "tensorflow", "jax", "scipy", "sklearn"]
EXERCISES = tomllib.loads((ASSIGNMENT / "assignment.toml").read_text("utf-8"))["exercise"]
FUNCTIONS = {e["name"]: e["functions"] for e in EXERCISES}
ALL_NAMES = [f for e in EXERCISES for f in e["functions"]]

# student -> (submission path, {exercise: planted bug}); every other exercise must be correct.
CLASS: dict[str, tuple[Path, dict[str, str]]] = {
    "ana_garcia": (SUBMISSIONS / "ana_garcia.py", {}),
    "bruno_diaz": (SUBMISSIONS / "bruno_diaz" / "tp1.py", {}),
    "carla_lopez": (SUBMISSIONS / "carla_lopez.py", {"linear": "db_mean"}),
    "diego_martin": (SUBMISSIONS / "diego_martin.py", {"relu": "process_exit"}),
    "elena_ruiz": (SUBMISSIONS / "elena_ruiz.py", {"tanh": "infinite_loop"}),
    "fede_gomez": (SUBMISSIONS / "fede_gomez.ipynb", {}),
}
SYNTAX_ERROR = SUBMISSIONS / "gabi_sosa.py"
# The function a bug lives in; replaced by a tripwire when checking the other exercises.
BUGGY_FUNCTION = {"db_mean": "linear_backward", "process_exit": "relu_forward",
                  "infinite_loop": "tanh_forward"}


def source_of(path: Path) -> str:
    return notebook_to_source(path) if path.suffix == ".ipynb" else path.read_text("utf-8")


def load(path: Path, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(path)
    # Notebooks print at top level (Fede's self-tests): keep this script's output readable.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        exec(compile(source_of(path), str(path), "exec"), module.__dict__)
    return module


def load_reference() -> types.ModuleType:
    path = ROOT / "reference_solutions" / "tp1" / "tp1.py"
    spec = importlib.util.spec_from_file_location("tp1_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load_reference()


# --------------------------------------------------------------------------- comparisons

def close(actual, expected, what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype == np.float64:
        assert actual.dtype == np.float64, f"{what}: dtype {actual.dtype}, expected float64"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def same_tree(actual, expected, what: str) -> None:
    """Compares nested tuples / dicts of arrays and numbers."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{what}: {type(actual).__name__}, expected dict"
        assert set(actual) >= set(expected), f"{what}: keys {sorted(actual)} lack {sorted(expected)}"
        for key in expected:
            same_tree(actual[key], expected[key], f"{what}[{key!r}]")
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), f"{what}: {len(actual)} items, expected {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            same_tree(a, e, f"{what}[{i}]")
    else:
        close(actual, expected, what)


def strict(fn: Callable, *args, **kwargs):
    """Calls ``fn`` with overflow / invalid / divide-by-zero as errors (underflow is fine)."""
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def compare_call(student, name: str, *args, **kwargs):
    """Calls ``name`` in the student's module and in the reference on copies of the same inputs;
    checks the results match and that the student did not modify the inputs."""
    mine_args = copy.deepcopy(args)
    result = strict(getattr(student, name), *mine_args, **kwargs)
    for i, (before, after) in enumerate(zip(args, mine_args, strict=True)):
        if isinstance(before, np.ndarray):
            assert np.array_equal(before, after), f"{name} modified argument {i}"
    expected = getattr(ref, name)(*copy.deepcopy(args), **kwargs)
    same_tree(result, expected, name)
    return result


def layer(student, prefix: str, x: np.ndarray, *extra, **kwargs) -> None:
    """A forward / backward pair: outputs, and backward from the student's own cache."""
    out, cache = strict(getattr(student, f"{prefix}_forward"), x.copy(), *extra, **kwargs)
    ref_out, ref_cache = getattr(ref, f"{prefix}_forward")(x, *extra, **kwargs)
    close(out, ref_out, f"{prefix}_forward")
    dout = RNG.standard_normal(np.shape(ref_out))
    dout_copy = dout.copy()
    grads = strict(getattr(student, f"{prefix}_backward"), dout_copy, cache)
    assert np.array_equal(dout, dout_copy), f"{prefix}_backward modified dout"
    same_tree(grads, getattr(ref, f"{prefix}_backward")(dout, ref_cache), f"{prefix}_backward")


RNG = np.random.default_rng(2024)


# --------------------------------------------------------------------------- one check per exercise

def ex_linear(s) -> None:
    for n, d, m in [(7, 5, 3), (1, 4, 1), (16, 64, 10)]:
        layer(s, "linear", RNG.standard_normal((n, d)), RNG.standard_normal((d, m)),
              RNG.standard_normal(m))


def _with_zeros(shape) -> np.ndarray:
    x = RNG.standard_normal(shape)
    x.flat[::4] = 0.0
    return x


def ex_relu(s) -> None:
    layer(s, "relu", _with_zeros((6, 5)))
    layer(s, "relu", _with_zeros((2, 3, 4)))


def ex_leaky_relu(s) -> None:
    layer(s, "leaky_relu", _with_zeros((6, 5)))
    layer(s, "leaky_relu", _with_zeros((6, 5)), alpha=0.2)


def ex_sigmoid(s) -> None:
    layer(s, "sigmoid", RNG.standard_normal((6, 5)) * 4)
    layer(s, "sigmoid", np.array([[-1000.0, -700.0, -30.0, 0.0, 30.0, 700.0, 1000.0]]))


def ex_tanh(s) -> None:
    layer(s, "tanh", RNG.standard_normal((6, 5)) * 3)


def ex_softmax(s) -> None:
    for scale in (1.0, 1e3):
        compare_call(s, "softmax", RNG.standard_normal((8, 6)) * scale)


def _loss(s, name: str, a: np.ndarray, b: np.ndarray) -> None:
    loss, _ = compare_call(s, name, a, b)
    assert np.ndim(loss) == 0, f"{name}: loss has shape {np.shape(loss)}"


def ex_cross_entropy(s) -> None:
    for scale in (1.0, 1e3):
        _loss(s, "softmax_cross_entropy", RNG.standard_normal((9, 4)) * scale,
              RNG.integers(0, 4, size=9))


def ex_bce(s) -> None:
    for scale in (1.0, 1e3):
        _loss(s, "bce_with_logits", RNG.standard_normal((5, 3)) * scale,
              RNG.integers(0, 2, size=(5, 3)).astype(np.float64))


def ex_mse(s) -> None:
    _loss(s, "mse_loss", RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3)))


def _optimizer(s, name: str, user: dict) -> None:
    for start in (None, user):
        w = RNG.standard_normal((4, 3))
        mine, theirs = copy.deepcopy(start), copy.deepcopy(start)
        for _ in range(7):
            dw = RNG.standard_normal((4, 3))
            next_w, mine = compare_call(s, name, w, dw, mine)
            w, theirs = getattr(ref, name)(w, dw, theirs)
            close(next_w, w, f"{name} next_w")
            same_tree(mine, theirs, f"{name} config")


def ex_sgd(s) -> None:
    _optimizer(s, "sgd", {"learning_rate": 0.3})


def ex_momentum(s) -> None:
    _optimizer(s, "sgd_momentum", {"learning_rate": 0.1, "momentum": 0.5})


def ex_rmsprop(s) -> None:
    _optimizer(s, "rmsprop", {"learning_rate": 1e-3, "decay_rate": 0.9})


def ex_adam(s) -> None:
    _optimizer(s, "adam", {"learning_rate": 0.05, "beta1": 0.8})


def ex_mlp(s) -> None:
    X = RNG.standard_normal((11, 7))
    y = RNG.integers(0, 4, size=11)
    for dims in ([7, 4], [7, 6, 4], [7, 8, 5, 4]):
        for activation in ("relu", "tanh", "sigmoid"):
            mine, theirs = s.MLP(dims, activation=activation, seed=3), ref.MLP(dims, activation, 3)
            assert list(mine.params) == list(theirs.params), list(mine.params)
            for key in theirs.params:
                # He init is fixed by the contract: the very same numbers, not just close ones.
                assert np.array_equal(mine.params[key], theirs.params[key]), f"MLP init {key}"
            close(strict(mine.loss, X), theirs.loss(X), f"MLP({dims}, {activation}) scores")
            same_tree(strict(mine.loss, X, y), theirs.loss(X, y), f"MLP({dims}, {activation})")


DIGITS: tuple[np.ndarray, ...] | None = None


def digits() -> tuple[np.ndarray, ...]:
    global DIGITS
    if DIGITS is None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X.astype(np.float64), y.astype(np.int64), test_size=0.2, stratify=y, random_state=0)
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std[std == 0] = 1.0
        DIGITS = ((X_train - mean) / std, (X_test - mean) / std, y_train, y_test)
    return DIGITS


def ex_train(s) -> None:
    X_train, X_test, y_train, y_test = digits()
    # Short runs with the reference's MLP: same updates and history as the reference's train.
    for optimizer, lr in (("sgd", 0.1), ("sgd_momentum", 0.01), ("momentum", 0.01),
                          ("rmsprop", 1e-3), ("adam", 1e-3)):
        mine, theirs = ref.MLP([64, 16, 10], seed=1), ref.MLP([64, 16, 10], seed=1)
        kwargs = dict(optimizer=optimizer, learning_rate=lr, batch_size=50, epochs=2, seed=4)
        history = s.train(mine, X_train[:230], y_train[:230], **kwargs)
        expected = ref.train(theirs, X_train[:230], y_train[:230], **kwargs)
        close(history["loss"], expected["loss"], f"train({optimizer}) history")
        for key in theirs.params:
            close(mine.params[key], theirs.params[key], f"train({optimizer}) {key}")
    # The contract's run, with the student's own MLP.
    model = s.MLP([64, 64, 10], seed=0)
    start = time.perf_counter()
    history = s.train(model, X_train, y_train, optimizer="adam", learning_rate=1e-3,
                      batch_size=32, epochs=30, seed=0)
    elapsed = time.perf_counter() - start
    accuracy = float((model.loss(X_test).argmax(axis=1) == y_test).mean())
    assert len(history["loss"]) == 30
    assert accuracy >= 0.95, f"digits test accuracy {accuracy:.4f} < 0.95"
    NOTES.append(f"digits accuracy {accuracy:.4f} in {elapsed:.2f} s")
    try:
        s.train(s.MLP([64, 10]), X_train, y_train, optimizer="newton")
    except ValueError:
        pass
    else:
        raise AssertionError("train accepted optimizer='newton'")


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def ex_xor(s) -> None:
    start = time.perf_counter()
    for seed in range(20):
        p = s.xor_network(seed=seed)
        shapes = {k: np.shape(p[k]) for k in ("W1", "b1", "W2", "b2")}
        assert shapes == {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}, shapes
        hidden, _ = ref.sigmoid_forward(XOR_X @ p["W1"] + p["b1"])
        out, _ = ref.sigmoid_forward(hidden @ p["W2"] + p["b2"])
        assert (out.ravel() > 0.5).tolist() == [False, True, True, False], (seed, out.ravel())
    NOTES.append(f"xor {(time.perf_counter() - start) / 20 * 1000:.0f} ms per seed")


EXERCISE_CHECKS: dict[str, Callable[[types.ModuleType], None]] = {
    "linear": ex_linear, "relu": ex_relu, "leaky_relu": ex_leaky_relu, "sigmoid": ex_sigmoid,
    "tanh": ex_tanh, "softmax": ex_softmax, "cross_entropy": ex_cross_entropy, "bce": ex_bce,
    "mse": ex_mse, "sgd": ex_sgd, "momentum": ex_momentum, "rmsprop": ex_rmsprop,
    "adam": ex_adam, "mlp": ex_mlp, "train": ex_train, "xor": ex_xor,
}
NOTES: list[str] = []


# --------------------------------------------------------------------------- the planted bugs

def _run_in_child(path: Path, call: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    program = (
        "import sys, types, numpy as np\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from grader.notebooks import notebook_to_source\n"
        f"path = {str(path)!r}\n"
        "src = notebook_to_source(__import__('pathlib').Path(path)) if path.endswith('.ipynb') "
        "else open(path, encoding='utf-8').read()\n"
        "m = types.ModuleType('student'); exec(compile(src, path, 'exec'), m.__dict__)\n"
        f"m.{call}\n"
        "print('returned normally')\n"
    )
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=timeout_s)


def bug_db_mean(s, path: Path) -> None:
    x, W, b = RNG.standard_normal((6, 4)), RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    dout = RNG.standard_normal((6, 3))
    out, cache = s.linear_forward(x, W, b)
    close(out, x @ W + b, "linear_forward (correct)")
    dx, dW, db = s.linear_backward(dout, cache)
    close(dx, dout @ W.T, "dx (correct)")
    close(dW, x.T @ dout, "dW (correct)")
    close(db, dout.mean(axis=0), "db == dout.mean(0) (the bug)")
    assert not np.allclose(db, dout.sum(axis=0)), "db should differ from the correct sum"
    line = next(i for i, t in enumerate(path.read_text("utf-8").splitlines(), 1)
                if "dout.mean(axis=0)" in t)
    text = path.read_text("utf-8").splitlines()[line - 1]
    assert "# BUG (intencional): db promedia en vez de sumar" in text, text


def bug_process_exit(s, path: Path) -> None:
    result = _run_in_child(path, "relu_forward(np.ones((2, 2)))", timeout_s=30)
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert "returned normally" not in result.stdout


def bug_infinite_loop(s, path: Path) -> None:
    try:
        result = _run_in_child(path, "tanh_forward(np.ones((2, 2)))", timeout_s=3)
    except subprocess.TimeoutExpired:
        return
    raise AssertionError(f"tanh_forward returned (rc {result.returncode}): {result.stdout}")


BUG_CHECKS = {"db_mean": bug_db_mean, "process_exit": bug_process_exit,
              "infinite_loop": bug_infinite_loop}


def tripwire(name: str) -> Callable:
    def fail(*args, **kwargs):
        raise AssertionError(f"{name} (the planted bug) was called by another exercise")
    return fail


# --------------------------------------------------------------------------- the checks

CHECKS: list[tuple[str, Callable[[], None]]] = []


def register(name: str, fn: Callable[[], None]) -> None:
    CHECKS.append((name, fn))


def _static(path: Path) -> None:
    source = source_of(path)
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    missing = sorted(set(ALL_NAMES) - defined)
    assert not missing, f"missing {missing}"
    used = forbidden_uses(source, ALL_NAMES, FORBIDDEN)
    assert not used, f"forbidden libraries: {used}"


for student, (path, bugs) in CLASS.items():
    register(f"{student}: defines every TP1 name, numpy only",
             lambda path=path: _static(path))
    holder: dict[str, types.ModuleType] = {}

    def _module(student=student, path=path, bugs=bugs, holder=holder) -> types.ModuleType:
        if "module" not in holder:
            module = load(path, student)
            for bug in bugs.values():
                setattr(module, BUGGY_FUNCTION[bug], tripwire(BUGGY_FUNCTION[bug]))
            holder["module"] = module
        return holder["module"]

    for exercise, bug in bugs.items():
        register(f"{student}: {exercise} has the planted bug ({bug})",
                 lambda bug=bug, student=student, path=path: BUG_CHECKS[bug](
                     load(path, student), path))
    for exercise, check in EXERCISE_CHECKS.items():
        if exercise in bugs:
            continue
        register(f"{student}: {exercise} == reference", lambda check=check, m=_module: check(m()))


def _syntax_error() -> None:
    try:
        compile(SYNTAX_ERROR.read_text("utf-8"), str(SYNTAX_ERROR), "exec")
    except SyntaxError as exc:
        assert exc.lineno is not None and 15 <= exc.lineno <= 30, exc.lineno
        NOTES.append(f"SyntaxError at line {exc.lineno}: {exc.msg}")
        return
    raise AssertionError("gabi_sosa.py compiles")


register("gabi_sosa: does not compile (syntax error near line 20)", _syntax_error)


def _starter() -> None:
    starter = ASSIGNMENT / "starter"
    py = (starter / "tp1.py").read_text("utf-8")
    nb = notebook_to_source(starter / "tp1.ipynb")
    for label, source in (("tp1.py", py), ("tp1.ipynb", nb)):
        tree = ast.parse(source)
        names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert names == ALL_NAMES, f"{label} defines {names}"
        imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert imports == ["import numpy as np"], f"{label} imports {imports}"
        module = load(starter / label, f"starter_{label}")
        calls: dict[str, Callable[[], object]] = {
            name: (lambda f=getattr(module, name): f(*([None] * _arity(f))))
            for name in ALL_NAMES if name != "MLP"}
        calls["MLP.__init__"] = lambda cls=module.MLP: cls([2, 2])
        calls["MLP.loss"] = lambda mlp=object.__new__(module.MLP): mlp.loss(None)
        for name, call in calls.items():
            try:
                call()
            except NotImplementedError as exc:
                assert str(exc) == f"Implementá {name}", f"{label}: {name}: {exc}"
            else:
                raise AssertionError(f"{label}: {name} does not raise NotImplementedError")
    check = subprocess.run([sys.executable, str(starter / "make_notebook.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def _arity(fn: Callable) -> int:
    """How many positional arguments ``fn`` needs (those without a default)."""
    return fn.__code__.co_argcount - len(fn.__defaults__ or ())


register("starter: tp1.py and tp1.ipynb define the same names, every stub raises "
         "NotImplementedError", _starter)


def main() -> int:
    failed = 0
    for name, fn in CHECKS:
        NOTES.clear()
        try:
            fn()
        except Exception:
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        else:
            extra = f"  ({'; '.join(NOTES)})" if NOTES else ""
            print(f"OK   {name}{extra}")
    print(f"{len(CHECKS) - failed}/{len(CHECKS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
