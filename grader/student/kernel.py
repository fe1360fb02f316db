"""``grader.check("tp1")`` from inside a notebook: the public checks on what the kernel defined.

Jupyter or Colab, after ``pip install -r requirements.txt`` (the grader is ``fiuba-ap-grader``),
with the TP's bundle (``grader release``) in the working folder::

    import grader
    grader.check("tp1")              # or grader.check("tp1", checks="ruta/a/checks")

It checks the functions and classes of the *running* kernel (its ``__main__`` namespace: the
cells executed so far, not the saved file), in this process, like ``grader check --backend
inprocess``: each check still has a time limit, but nothing is isolated (it is the student's own
machine). The checks are found as ``grader check`` finds them. The feedback is the command line's
(points per exercise, what failed), shown as an HTML table in a notebook and as text elsewhere;
the report is returned.
"""

from __future__ import annotations

import ast
import inspect
import io
import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.student.check import CheckReport

KERNEL_HINT = ("En un notebook: usá como carpeta de trabajo la del TP que da la cátedra (la que "
               "tiene checks/, generada con 'grader release'; en Colab subila y hacé "
               "%cd CARPETA) o pasá checks=\"RUTA/A/checks\".")
KERNEL_NOTE = ("se comprobó lo que está definido ahora en el kernel (las celdas que ejecutaste), "
               "no el archivo guardado")


def kernel_namespace() -> dict[str, Any]:
    """The running notebook's namespace (IPython's ``user_ns``), else ``__main__``'s."""
    try:
        from IPython import get_ipython
    except ImportError:
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        return dict(shell.user_ns)
    return dict(vars(sys.modules["__main__"]))


def _defined_here(value: Any) -> bool:
    return (inspect.isfunction(value) or inspect.isclass(value)) and (
        getattr(value, "__module__", None) == "__main__")


def code_files(namespace: Mapping[str, Any]) -> set[str]:
    """The files (one per Jupyter cell) where the notebook's functions and methods were written."""
    files: set[str] = set()
    for value in namespace.values():
        if not _defined_here(value):
            continue
        members = vars(value).values() if inspect.isclass(value) else [value]
        files |= {m.__code__.co_filename for m in members if inspect.isfunction(m)}
    return files


def namespace_module(namespace: Mapping[str, Any], name: str) -> ModuleType:
    """A module named ``name`` holding the namespace's objects: the same objects, except that
    the notebook's own functions report their exceptions as student errors, as the sandbox's
    worker would (what its classes' methods raise, the checks' classification turns into the
    same errors: ``grader.engine.plugin.classify``)."""
    from grader.engine.inprocess import StudentModule, reporting

    module = StudentModule(name)
    values = {k: v for k, v in namespace.items() if not (k.startswith("__") and k.endswith("__"))}
    files = code_files(values)
    module.__dict__.update({k: reporting(v, files) if _defined_here(v) and inspect.isfunction(v)
                            else v for k, v in values.items()})
    return module


def _module_holding(value: Any, name: str) -> str | None:
    """The loaded module that defines ``value`` under ``name`` (dictionary lookups only: a
    module's lazy ``__getattr__`` could import things)."""
    for module_name in sorted(sys.modules, key=len):
        module = sys.modules[module_name]
        namespace = getattr(module, "__dict__", None)
        if module_name != "__main__" and isinstance(namespace, dict) and namespace.get(name) is value:
            return module_name
    return None


def namespace_source(namespace: Mapping[str, Any]) -> str:
    """Source for the static checks (numpy-only exercises): imports rebuilt from the modules and
    imported objects in the namespace, and the code of the functions and classes the notebook
    defined (``inspect.getsource``; Jupyter keeps each cell's text)."""
    parts: list[str] = []
    for name, value in namespace.items():
        if name.startswith("_") or not name.isidentifier():
            continue
        if isinstance(value, ModuleType):
            parts.append(f"import {value.__name__} as {name}")
            continue
        if not callable(value):
            continue
        origin = getattr(value, "__module__", None)
        if not isinstance(origin, str):  # numpy ufuncs (scipy.special.expit) do not say
            origin = _module_holding(value, str(getattr(value, "__name__", "")))
        if _defined_here(value):
            try:
                snippet = textwrap.dedent(inspect.getsource(value))
                ast.parse(snippet)
            except (OSError, TypeError, SyntaxError):
                continue  # its source is not known (built at run time, or an odd cell)
            parts.append(snippet)
        elif isinstance(origin, str) and origin != "__main__" and str(
                getattr(value, "__name__", "")).isidentifier():
            parts.append(f"from {origin} import {value.__name__} as {name}")
    return "\n\n".join(parts) + "\n"


def check(tp: str, *, checks: str | Path | None = None, namespace: Mapping[str, Any] | None = None,
          show: bool = True) -> CheckReport:
    """Runs the public checks of ``tp`` on the functions defined in the running notebook.

    Args:
        tp: the TP's name (``"tp1"``).
        checks: the bundle's ``checks`` folder; by default ``checks/`` or ``TP/checks`` in the
            working folder, or the course repository's public checks (for course staff).
        namespace: what to check instead of the kernel's namespace (for tests and scripts).
        show: display the feedback (HTML in a notebook, text otherwise).

    Returns:
        The report (``grader.student.check.CheckReport``): ``report.passed``, ``report.score``, ...

    Example:
        >>> import grader
        >>> grader.check("tp1")
    """
    from grader.engine import static
    from grader.engine.inprocess import InprocessStudent
    from grader.engine.plugin import GradingPlugin, run_checks
    from grader.sandbox.base import Limits
    from grader.student.check import locate, make_report, require_packages

    values = kernel_namespace() if namespace is None else dict(namespace)
    here = Path.cwd()
    assignment, reference, label, _, seed_key = locate(
        tp, here / f"{tp}.ipynb", Path(checks) if checks is not None else None, hint=KERNEL_HINT)
    require_packages(assignment, label)
    limits = Limits.from_mapping(assignment.limits, where=f"{label} [limits]")
    helpers = (assignment.worker_helpers.read_text(encoding="utf-8")
               if assignment.worker_helpers is not None else None)
    # harness.run_on_module wants a file to import; here the module exists already, so the same
    # three parts (provider, plugin, run_checks) are put together around it.
    provider = InprocessStudent(None, assignment.module, limits, cpu_time=False,
                                uses_torch=assignment.uses_torch,
                                helpers_source=helpers,
                                module=namespace_module(values, assignment.module),
                                student_files=code_files(values))
    forbidden = static.forbidden_uses(
        namespace_source(values), [f for e in assignment.exercises if e.numpy_only for f in e.functions],
        assignment.forbidden_modules)
    plugin = GradingPlugin(assignment=assignment, provider=provider, reference=reference,
                           public_files=set(assignment.public_checks), forbidden=forbidden,
                           seed_key=seed_key, timed=provider.timed, student_files=provider.student_files)
    try:
        results = run_checks(list(assignment.public_checks), plugin, rootdir=assignment.root)
    finally:
        provider.close()
    notebook = Path(os.environ.get("JPY_SESSION_NAME") or f"{tp}.ipynb")
    report = make_report(assignment, notebook, results, plugin.load_error, label,
                         notes=(KERNEL_NOTE,), in_notebook=True)
    if show:
        display_report(report)
    return report


def report_text(report: CheckReport) -> str:
    """The command line's feedback (``grader check``), as plain text."""
    from rich.console import Console

    from grader.output.terminal import render_check

    buffer = io.StringIO()
    # force_jupyter=False: inside a kernel rich would otherwise send each line as HTML output
    render_check(report, Console(file=buffer, width=100, color_system=None, highlight=False,
                                 soft_wrap=True, force_jupyter=False, force_terminal=False))
    return buffer.getvalue()


def report_html(report: CheckReport) -> str:
    """The same feedback as an HTML table, for a notebook's output."""
    from grader.output.feedback import of_check
    from grader.output.html import check_html

    return check_html(of_check(report))


def display_report(report: CheckReport) -> None:
    """Shows the feedback: rich output in IPython (HTML with a text fallback), else printed."""
    text = report_text(report)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display({"text/plain": text, "text/html": report_html(report)}, raw=True)
