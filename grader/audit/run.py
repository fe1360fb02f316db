"""``grader audit TP``: how many single-point mutants of the reference the TP's checks kill (issue 17).

For whoever writes checks. The steps, each resumable from ``OUT``:

1. ``mutate.mutants`` changes one thing in a graded function of the reference (an operator, a
   comparison, an axis, a constant, an index...), and ``mutate.sample`` keeps a reproducible subset.
2. The oracle (``oracle.judge``) drops the mutants no probe tells from the reference
   (``assignments/TP/hidden/audit_probes.py``): no check could catch them. Its verdicts are kept
   in ``OUT/oracle.json`` while the reference and the probes stay the same.
3. The rest are graded as students' files by the batch pipeline (``grade_batch``: sandboxed,
   ``--jobs`` at once, results reused when current), beside the reference as a control. Each
   mutant is graded with the checks of its own exercise only (a TP3 numpy mutant would otherwise
   pay for two CNN trainings); ``all_exercises`` grades every check, to see the mutants killed
   only elsewhere.
4. The report (``OUT/AUDIT.md``, ``OUT/audit.json``): per exercise, the mutants killed on their
   own exercise; every survivor as a one-line diff, with the reason when it is accepted
   (``assignments/TP/hidden/audit_accepted.toml``: the contract does not fix what it changes).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import results
from grader.audit.mutate import OPERATORS, Mutant, mutants, sample
from grader.audit.oracle import Verdict, judge
from grader.batch.local import grade_batch
from grader.batch.request import BatchEvent, result_path
from grader.course import load_assignment, load_course
from grader.errors import ConfigError
from grader.results import write_atomic

ALL = "_all"
"""The group of mutants graded with every check (and the reference, always)."""
CONTROL = "reference"
"""The reference itself, graded beside its mutants: anything but 10 makes the audit meaningless."""
PROBES = "hidden/audit_probes.py"
ACCEPTED = "hidden/audit_accepted.toml"


@dataclass(frozen=True)
class Accepted:
    """A survivor judged acceptable: the contract does not fix what it changes."""

    function: str
    reason: str
    change: str = ""
    """Text found in the mutant's one-line diff (``"x > 0  ->  x >= 0"``); empty: any."""
    operator: str = ""
    """The mutant's operator (``const``: a training recipe's constants); empty or ``*``: any.
    ``*`` alone says every surviving mutant of the function is acceptable: what the contract
    judges there is a measured result (a ``fit_*`` reaching its accuracy), so one that still
    reaches it is a correct solution."""

    def matches(self, mutant: Mutant) -> bool:
        return (mutant.function == self.function and self.change in mutant.diff
                and self.operator in ("", "*", mutant.operator))


@dataclass
class Outcome:
    """One mutant, judged and (when not equivalent) graded."""

    id: str
    function: str
    exercise: str
    operator: str
    diff: str
    equivalent: bool
    oracle: str
    """How the oracle told it apart (or why it could not)."""
    score: float | None = None
    lost: list[str] = field(default_factory=list)
    """Exercises that lost points."""
    accepted: str = ""
    """Why this survivor is acceptable, from ``audit_accepted.toml``."""

    @property
    def killed(self) -> bool:
        return bool(self.lost)

    @property
    def exercises(self) -> list[str]:
        """Its own exercises: one, or for a helper every exercise whose functions call it."""
        return self.exercise.split(",")

    @property
    def killed_on_own(self) -> bool:
        return any(exercise in self.lost for exercise in self.exercises)


@dataclass
class Audit:
    tp: str
    seed: int
    per_function: int | None
    generated: int
    outcomes: list[Outcome]
    exercises: list[str]
    all_exercises: bool = False

    def graded(self, exercise: str | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if not o.equivalent
                and (exercise is None or exercise in o.exercises)]

    def rate(self, exercise: str | None = None, *, accepted: bool = False) -> tuple[int, int]:
        """(killed on their own exercise, graded); ``accepted``: accepted survivors left out."""
        graded = [o for o in self.graded(exercise) if not (accepted and not o.killed_on_own
                                                           and o.accepted)]
        return sum(o.killed_on_own for o in graded), len(graded)


def run_audit(course_file: Path, tp: str, out: Path, *, seed: int = 0,
              per_function: int | None = None, jobs: int = 1, backend: str = "subprocess",
              functions: list[str] | None = None, force: bool = False,
              all_exercises: bool = False,
              on_event: Callable[[BatchEvent], None] = lambda e: None,
              on_start: Callable[[int], None] = lambda n: None,
              on_stage: Callable[[str], None] = lambda s: None) -> Audit:
    """Audits TP's checks with the mutants of its reference; writes ``OUT/AUDIT.md`` and
    ``OUT/audit.json`` and returns the audit.

    Args:
        per_function: at most this many mutants per graded function (chosen by ``seed``);
            None: all of them.
        functions: audit only these graded names (``relu_backward``, ``MLP.loss``, ``MLP``).
        force: judge and grade again even what ``OUT`` already holds.
        all_exercises: grade each mutant with every check of the TP, not only its exercise's.
    """
    course = load_course(course_file)
    entry = course.tp(tp)
    assignment = load_assignment(entry.assignment)
    if entry.reference is None:
        raise ConfigError(f"el TP {tp} no tiene 'reference' en course.toml")
    reference_file = entry.reference / f"{assignment.module}.py"
    reference = reference_file.read_text(encoding="utf-8")
    folder = assignment.root
    probes = folder / PROBES
    if not probes.is_file():
        raise ConfigError(f"el audit de {tp} necesita sus sondas en {probes} (PROBES: nombre de "
                          "función -> lista de funciones probe(module, rng))")
    owners = {name: exercise.name for exercise in assignment.exercises
              for name in exercise.functions}
    found = mutants(reference, owners)
    if functions:
        unknown = sorted({f.split(".")[0] for f in functions} - set(owners))
        if unknown:
            raise ConfigError(f"{unknown} no son funciones calificadas de {tp}; las hay: "
                              f"{sorted(owners)}")
        found = [m for m in found if m.function in functions
                 or m.function.split(".")[0] in functions]
    chosen = sample(found, seed=seed, per_function=per_function)

    on_stage(f"{len(found)} mutantes generados, {len(chosen)} elegidos; oráculo...")
    verdicts = _judged(out / "oracle.json", reference, assignment.module, chosen, probes,
                       jobs=jobs, force=force)
    kept = [m for m in chosen if not verdicts[m.id].equivalent]

    on_stage(f"{len(chosen) - len(kept)} equivalentes; califico {len(kept)} y la referencia...")
    # One batch per group of mutants graded with the same exercises; the control with all.
    groups: dict[str, list[Mutant]] = {}
    for mutant in kept:
        groups.setdefault(ALL if all_exercises else mutant.exercise, []).append(mutant)
    groups.setdefault(ALL, [])
    on_start(len(kept) + 1)
    for group, members in sorted(groups.items()):
        wanted = {f"{m.id}.py": m.source for m in members}
        if group == ALL:
            wanted[f"{CONTROL}.py"] = reference
        _write_folder(out / "mutants" / group, wanted)
        summary = grade_batch(
            course_file, tp, out / "mutants" / group, out / "results" / group, jobs=jobs,
            backend=backend, force=force, on_event=on_event,
            exercises=frozenset() if group == ALL else frozenset(group.split(",")))
        if summary.failed:
            raise ConfigError("no se pudieron calificar: " + "; ".join(summary.failed[:5]))
    for stale in (out / "mutants").iterdir():
        if stale.name not in groups:
            shutil.rmtree(stale)
    control = results.load(result_path(out / "results" / ALL, tp, CONTROL))
    if control.score < 10:
        lost = [c.id for c in control.checks if c.status.value != "PASS"]
        raise ConfigError(f"la referencia misma saca {control.score:.2f}/10 ({lost[:5]}): "
                          "arreglá eso antes de auditar")

    accepted = _accepted(folder / ACCEPTED)
    outcomes = []
    for mutant in chosen:
        verdict = verdicts[mutant.id]
        outcome = Outcome(id=mutant.id, function=mutant.function, exercise=mutant.exercise,
                          operator=mutant.operator, diff=mutant.diff,
                          equivalent=verdict.equivalent, oracle=verdict.reason)
        if not verdict.equivalent:
            group = ALL if all_exercises else mutant.exercise
            result = results.load(result_path(out / "results" / group, tp, mutant.id))
            outcome.score = result.score
            outcome.lost = [e.name for e in result.exercises if e.earned < e.points - 1e-9]
            if not outcome.killed_on_own:
                outcome.accepted = next((a.reason for a in accepted if a.matches(mutant)), "")
        outcomes.append(outcome)
    audit = Audit(tp=tp, seed=seed, per_function=per_function, generated=len(found),
                  outcomes=outcomes, exercises=[e.name for e in assignment.exercises],
                  all_exercises=all_exercises)
    write_atomic(out / "audit.json", json.dumps(
        {"tp": tp, "seed": seed, "per_function": per_function, "generated": len(found),
         "all_exercises": all_exercises,
         "outcomes": [asdict(o) for o in outcomes]}, indent=1, ensure_ascii=False))
    write_atomic(out / "AUDIT.md", markdown(audit))
    return audit


def _write_folder(folder: Path, wanted: dict[str, str]) -> None:
    """``folder`` holds exactly the files ``wanted`` (name -> text); unchanged ones are kept, so
    their results are reused."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.py"):
        if stale.name not in wanted:
            stale.unlink()
    for name, source in wanted.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != source:
            write_atomic(path, source)


def _judged(cache: Path, reference: str, module: str, chosen: list[Mutant], probes: Path, *,
            jobs: int, force: bool) -> dict[str, Verdict]:
    """The oracle's verdicts, reusing those of ``cache`` made with the same reference and
    probes (a mutant's id names its place; its source must match too)."""
    key = hashlib.sha256(reference.encode() + b"\0" + probes.read_bytes()).hexdigest()
    known: dict[str, Any] = {}
    if cache.is_file() and not force:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            known = data["verdicts"] if data.get("key") == key else {}
        except (ValueError, KeyError, TypeError):
            known = {}
    digest = {m.id: hashlib.sha256(m.source.encode()).hexdigest() for m in chosen}
    verdicts = {m.id: Verdict(m.id, v["equivalent"], v["reason"]) for m in chosen
                if (v := known.get(m.id)) and v.get("source") == digest[m.id]}
    todo = [m for m in chosen if m.id not in verdicts]
    if todo:
        for verdict in judge(reference, module, todo, probes, jobs=jobs):
            verdicts[verdict.mutant_id] = verdict
    known.update({m.id: {"equivalent": verdicts[m.id].equivalent, "reason": verdicts[m.id].reason,
                         "source": digest[m.id]} for m in chosen})
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(cache, json.dumps({"key": key, "verdicts": known}, indent=1, ensure_ascii=False))
    return verdicts


def _accepted(path: Path) -> list[Accepted]:
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido: {exc}") from None
    found = []
    for i, item in enumerate(data.get("accepted", [])):
        if not isinstance(item, dict) or not {"function", "reason"} <= set(item) <= {
                "function", "reason", "change", "operator"} or not (
                {"change", "operator"} & set(item)) or not all(
                isinstance(v, str) and v for v in item.values()):
            raise ConfigError(f"{path}: [[accepted]] número {i + 1} debe tener function, reason y "
                              f"change u operator (o los dos), textos no vacíos (llegó {item!r})")
        if item.get("operator", "") not in ("", "*", *OPERATORS):
            raise ConfigError(f"{path}: [[accepted]] número {i + 1}: operador desconocido "
                              f"{item['operator']!r}; los hay: {list(OPERATORS)}")
        found.append(Accepted(**item))
    return found


def _percent(killed: int, graded: int) -> str:
    return f"{killed}/{graded} ({100 * killed / graded:.1f}%)" if graded else "0/0"


def markdown(audit: Audit) -> str:
    """The report for people: kill rates, then every survivor and every mutant killed elsewhere."""
    chosen = len(audit.outcomes)
    equivalent = sum(o.equivalent for o in audit.outcomes)
    sampled = ("todos" if audit.per_function is None
               else f"hasta {audit.per_function} por función, semilla {audit.seed}")
    lines = [f"# Auditoría de las comprobaciones de {audit.tp.upper()}", "",
             f"Generado con `grader audit {audit.tp} --seed {audit.seed}"
             + (f" --per-function {audit.per_function}" if audit.per_function else "")
             + (" --all-exercises" if audit.all_exercises else "") + "`. "
             + ("Cada mutante se calificó con todas las comprobaciones del TP."
                if audit.all_exercises else
                "Cada mutante se calificó con las comprobaciones de su propio ejercicio (las de "
                "todos los que llaman a una función auxiliar); `--all-exercises` las corre todas."),
             "",
             f"- Mutantes de un solo cambio generados: {len(audit.outcomes) and audit.generated}; "
             f"elegidos: {chosen} ({sampled}).",
             f"- Equivalentes según el oráculo (ninguna sonda los distingue de la referencia): "
             f"{equivalent}.",
             f"- Calificados: {chosen - equivalent}; muertos en su propio ejercicio: "
             f"{_percent(*audit.rate())}; sin contar los sobrevivientes aceptados: "
             f"{_percent(*audit.rate(accepted=True))}.", "",
             "Un sobreviviente **aceptado** es un mutante que el contrato (`spec/tps.md`) "
             "permite: cambia algo que el contrato no fija (la receta de un entrenamiento que "
             "se juzga por la métrica que alcanza, la derivada en un punto donde no está "
             "definida), así que una solución correcta podría hacer lo mismo y ninguna "
             "comprobación debe quitarle puntos. La segunda tasa los deja afuera; cada uno "
             "figura abajo con su razón (`hidden/audit_accepted.toml`).", "",
             "| ejercicio | calificados | muertos en su ejercicio | sin los aceptados |",
             "|---|---|---|---|"]
    for exercise in audit.exercises:
        killed, graded = audit.rate(exercise)
        if graded:
            lines.append(f"| {exercise} | {graded} | {_percent(killed, graded)} | "
                         f"{_percent(*audit.rate(exercise, accepted=True))} |")
    survivors = [o for o in audit.graded() if not o.killed]
    elsewhere = [o for o in audit.graded() if o.killed and not o.killed_on_own]
    lines += ["", f"## Sobrevivientes ({len(survivors)})", ""]
    lines += [_line(o) for o in survivors] or ["Ninguno."]
    if audit.all_exercises:
        lines += ["", f"## Muertos solo en otro ejercicio ({len(elsewhere)})", ""]
        lines += [_line(o) + f" — perdió {', '.join(o.lost)}" for o in elsewhere] or ["Ninguno."]
    return "\n".join(lines) + "\n"


def _line(outcome: Outcome) -> str:
    reason = f" — **aceptado**: {outcome.accepted}" if outcome.accepted else " — **sin justificar**"
    return f"- `{outcome.id}` ({outcome.exercise}): `{outcome.diff}`{reason}"
