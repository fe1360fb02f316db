"""``grader release`` builds a TP's student bundle; ``grader selftest`` proves a TP is gradable.

A bundle holds the starter, the public checks and the expected values those checks need, baked
as data (``checks/expected.msgpack``)::

    dist/tp1/
      tp1.py, tp1.ipynb        the starter
      README.md                how to check, in Spanish
      checks/assignment.toml   exercises and points; only public checks listed
      checks/test_public.py
      checks/expected.msgpack  reference outputs for the public checks' inputs

It never contains hidden checks or reference code: ``release`` refuses to finish if any file it
wrote contains a line of either.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.course import Course, load_assignment
from grader.engine.plugin import run_on_module
from grader.engine.reference import EXPECTED_FILE, RecordingReference, load_reference
from grader.errors import ConfigError, UsageError
from grader.results import Status

_README = """# {title}

Archivos:

- `{module}.py` / `{module}.ipynb`: el enunciado con las funciones a completar (elegí uno).
- `checks/`: las comprobaciones públicas y los valores esperados que necesitan.

Para comprobar tu solución, en esta carpeta (Python 3.11 o más nuevo; mejor en un entorno
virtual: `python -m venv .venv` y activarlo):

    pip install -r requirements.txt
    grader check {name} {module}.py        # o {module}.ipynb

`requirements.txt` instala el corrector de la cátedra ({distribution}) y lo que usa este TP.

O desde el mismo notebook (Jupyter, o Colab con esta carpeta subida y como directorio actual),
sobre las funciones que ya ejecutaste:

    import grader
    grader.check("{name}")

Vas a ver, por ejercicio, los puntos de las comprobaciones públicas y qué falló (forma, tipo,
valores: error máximo y dónde). Al calificar, la cátedra además corre comprobaciones ocultas con
otras entradas: que pasen las públicas no garantiza la nota.

Generado por grader {version}.
"""


def _lines(path: Path) -> set[str]:
    """Stripped lines of a file; for a notebook, of its cells' sources."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
            text = "\n".join("".join(c.get("source", "")) for c in cells if isinstance(c, dict))
        except (json.JSONDecodeError, AttributeError):
            pass
    return {line.strip() for line in text.splitlines()}


def leaked_lines(bundle: Path, secrets: list[Path], public: list[Path]) -> list[str]:
    """Lines of the secret files (hidden checks, reference) that stand in a file of the bundle.

    Short lines (``return out``) and lines that also stand in the public sources (a docstring
    the starter shares with the reference, an import line) are not evidence of a leak; a line
    with a ``CANARY`` marker always is.
    """
    secret: set[str] = set()
    for path in secrets:
        secret |= {line for line in _lines(path) if len(line) >= 25 or "CANARY" in line}
    for path in public:
        secret -= {line for line in _lines(path) if "CANARY" not in line}
    leaks = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file():
            for line in sorted(_lines(path) & secret):
                leaks.append(f"{path.relative_to(bundle)}: {line[:80]}")
    return leaks


DISTRIBUTION = "fiuba-ap-grader"
"""The grader's name on the package index (``grader`` there is another project); the command
stays ``grader``."""


def release(course: Course, tp: str, out: Path, *, force: bool = False,
            grader_spec: str | None = None, with_wheel: bool = False) -> Path:
    """Writes the student bundle of ``tp`` to ``out`` and returns it.

    Args:
        grader_spec: how ``requirements.txt`` names the grader: by default
            ``fiuba-ap-grader==VERSION``; a course that publishes it elsewhere gives that
            (``fiuba-ap-grader @ git+https://github.com/CATEDRA/grader@v0.2``).
        with_wheel: build the grader's wheel into the bundle and install it from there: one
            command works even when the course publishes nothing.
    """
    if grader_spec is not None and with_wheel:
        raise UsageError("--grader-spec y --with-wheel se excluyen: el paquete instala el "
                         "corrector desde uno de los dos")
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if entry.reference is None:
        raise ConfigError(f"el TP {tp} no tiene 'reference' en course.toml")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UsageError(f"{out} ya existe y no está vacía; usá --force para reemplazarla")
        shutil.rmtree(out)
    reference_file = entry.reference / f"{assignment.module}.py"
    recording = RecordingReference(load_reference(entry.reference, assignment.module))
    # The course's seed key, as grading uses: the bundle's checks draw the same public inputs
    # (grader check's messages then quote the graded feedback's numbers).
    run = run_on_module(assignment, reference_file, recording, list(assignment.public_checks),
                        backend=None, limits=course.limits_for(assignment), seed_key=course.name)
    failing = [f"{c.id}: {c.message}" for c in run.checks if c.status is not Status.PASS]
    if failing:
        raise ConfigError("las comprobaciones públicas no pasan con la solución de referencia:\n"
                          + "\n".join(failing))

    staging = Path(tempfile.mkdtemp(prefix="grader-release-"))
    try:
        checks_dir = staging / "checks"
        checks_dir.mkdir()
        for path in assignment.starter:
            shutil.copyfile(path, staging / path.name)
        for path in assignment.public_checks:
            shutil.copyfile(path, checks_dir / path.name)
        helpers = assignment.worker_helpers
        if helpers is not None:
            # Runs inside the student's worker anyway: public by nature, and needed by the checks.
            shutil.copyfile(helpers, checks_dir / helpers.name)
        (checks_dir / EXPECTED_FILE).write_bytes(recording.dump())
        (checks_dir / "assignment.toml").write_text(_bundle_toml(
            assignment.root / "assignment.toml", [p.name for p in assignment.public_checks],
            helpers.name if helpers is not None else None, entry.notebook_mode, course.name))
        if with_wheel:
            grader_spec = f"./{_build_wheel(staging).name}"
        (staging / "requirements.txt").write_text("\n".join(
            [grader_spec or f"{DISTRIBUTION}=={__version__}", *assignment.requirements]) + "\n")
        (staging / "README.md").write_text(_README.format(
            title=assignment.title or tp, module=assignment.module, name=tp, version=__version__,
            distribution=DISTRIBUTION))
        hidden_files = sorted((assignment.root / "hidden").rglob("*.py"))
        secrets = [*assignment.hidden_checks, *hidden_files,
                   *sorted(entry.reference.rglob("*.py"))]
        public = [*assignment.starter, *assignment.public_checks, *([helpers] if helpers else [])]
        leaks = leaked_lines(staging, secrets, public)
        if leaks:
            raise ConfigError("el paquete contiene código oculto o de la referencia:\n"
                              + "\n".join(leaks[:20]))
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        shutil.move(str(staging), out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _build_wheel(folder: Path) -> Path:
    """Builds the grader's wheel (from the source tree this grader runs from) into ``folder``."""
    source = Path(__file__).resolve().parent.parent.parent
    if not (source / "pyproject.toml").is_file():
        raise UsageError(f"--with-wheel arma el wheel desde el código del corrector y no lo "
                         f"encontré ({source} no tiene pyproject.toml): instalá el corrector "
                         "desde su repositorio (pip install -e) o usá --grader-spec")
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                               "--no-build-isolation", "-w", tmp, str(source)],
                              capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            raise ConfigError(f"no se pudo armar el wheel del corrector: {done.stderr[-1500:]}")
        return Path(shutil.copy2(wheels[0], folder / wheels[0].name))


def _bundle_toml(source: Path, public: list[str], helpers: str | None, notebook_mode: str,
                 seed_key: str) -> str:
    """The assignment file with paths rewritten for the bundle and no hidden checks listed (nor
    named, as ``check_visibility`` does), and the course's notebook mode
    (``grader.student.check.bundle_notebook_mode`` reads it back)."""
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        key = line.split("=")[0].strip()
        if key == "check_visibility" or "hidden::" in line:
            # Per-check visibility is for the course's exports; it names hidden checks.
            continue
        if key == "public_checks":
            line = f"public_checks = {public!r}".replace("'", '"')
        elif key in ("hidden_checks", "starter"):
            line = f"{key} = []"
        elif key == "worker_helpers":
            line = f'worker_helpers = "{helpers}"'
        lines.append(line)
    lines += ["", "# Cómo se lee un notebook al calificar (course.toml, [[tp]] notebook_mode);",
              "# grader check lo lee igual.", "[notebook]", f'mode = "{notebook_mode}"',
              "", "# Con qué clave se sortean las entradas de las comprobaciones públicas al calificar;",
              "# grader check usa la misma (mismas entradas, mismos mensajes).", "[checks]",
              f"seed_key = {json.dumps(seed_key)}"]
    return "\n".join(lines) + "\n"


@dataclass
class SelftestOutcome:
    label: str
    file: Path
    score: float
    expected: float
    failures: list[str]

    @property
    def ok(self) -> bool:
        return abs(self.score - self.expected) < 1e-9


def selftest(course: Course, tp: str, *, backend: str = "subprocess") -> list[SelftestOutcome]:
    """Grades the reference (must score the maximum) and each starter file (must score 0)."""
    from grader.engine.grade import grade_submission

    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if entry.reference is None:
        raise ConfigError(f"el TP {tp} no tiene 'reference' en course.toml")
    cases = [("referencia", entry.reference / f"{assignment.module}.py", course.scale_max)]
    cases += [(f"enunciado {p.name}", p, 0.0) for p in assignment.starter]
    outcomes = []
    for label, path, expected in cases:
        result = grade_submission(course, tp, path, student=label, backend=backend)
        wrong = [f"{c.id}: {c.status.value} {c.message}" for c in result.checks
                 if (c.status is Status.PASS) != (expected > 0)]
        outcomes.append(SelftestOutcome(label, path, result.score, expected, wrong))
    return outcomes
