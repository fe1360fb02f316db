"""Reading ``course.toml`` and ``assignment.toml`` into the model (``grader.course.model``).

Every error names the file and the key, and says what was expected and what arrived.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import zoneinfo
from fractions import Fraction
from pathlib import Path
from typing import Any

from grader.course.late import ALL_TPS, Extension, LatePolicy
from grader.course.limits import Limits
from grader.course.model import (
    ASSIGNMENT_FILE,
    COURSE_FILE,
    DEFAULT_TIMEZONE,
    VISIBILITIES,
    Assignment,
    Course,
    Exercise,
    DEFAULT_SIMILARITY_THRESHOLD,
    FormColumns,
    MoodleSettings,
    RosterSettings,
    TPEntry,
)
from grader.errors import ConfigError
from grader.notebooks import DEFAULT_NOTEBOOK_MODE
from grader.notebooks import MODES as NOTEBOOK_MODES

REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
                         r"\s*(?:\[[\w,\s-]+\])?\s*(?:[<>=!~]=?\s*[\w.*+!-]+\s*,?\s*)*$")
"""A requirement line as ``assignment.toml`` may give it: a distribution name, optional extras
and version specifiers (``torch>=2.1``, ``scikit-learn>=1.4,<2``); no URLs or options."""


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no existe {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido: {exc}") from None


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: falta la clave {key!r}")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " o ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key} debe ser {names} (llegó {value!r} que es "
                          f"{type(value).__name__})")
    return value


def _weight(value: Any, where: str) -> Fraction:
    try:
        weight = Fraction(value) if not isinstance(value, float) else Fraction(value).limit_denominator(1000)
    except (ValueError, TypeError, ZeroDivisionError):
        raise ConfigError(f"{where}.weight debe ser un número o una fracción como \"1/3\" "
                          f"(llegó {value!r})") from None
    if weight < 0:
        raise ConfigError(f"{where}.weight no puede ser negativo (llegó {value!r})")
    return weight


def _notebook_mode(raw: dict[str, Any], where: str) -> str:
    mode = raw.get("notebook_mode", DEFAULT_NOTEBOOK_MODE)
    if mode not in NOTEBOOK_MODES:
        allowed = " o ".join(f'"{m}"' for m in NOTEBOOK_MODES)
        raise ConfigError(f"{where}.notebook_mode debe ser {allowed} (llegó {mode!r})")
    return str(mode)


def load_course(path: Path) -> Course:
    """Loads and validates ``course.toml``; relative paths in it are relative to its folder."""
    path = path.resolve()
    data = _load_toml(path)
    where = str(path)
    course = data.get("course", {})
    grading = data.get("grading", {})
    tps = []
    raw_tps = data.get("tp")
    if not isinstance(raw_tps, list) or not raw_tps:
        raise ConfigError(f"{where}: se esperaba al menos una tabla [[tp]]")
    for i, raw in enumerate(raw_tps):
        at = f"{where} [[tp]] #{i + 1}"
        reference = raw.get("reference")
        tps.append(TPEntry(
            name=_require(raw, "name", str, at),
            weight=_weight(_require(raw, "weight", (int, float, str), at), at),
            assignment=path.parent / _require(raw, "assignment", str, at),
            reference=path.parent / reference if isinstance(reference, str) else None,
            notebook_mode=_notebook_mode(raw, at)))
    names = [t.name for t in tps]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: hay TPs repetidos: {names}")
    total = sum(t.weight for t in tps)
    if total != 1:
        raise ConfigError(f"{where}: los pesos de los TPs deben sumar 1; suman {total} "
                          f"({', '.join(f'{t.name}={t.weight}' for t in tps)})")
    limits = data.get("limits", {})
    Limits.from_mapping(limits, where=f"{where} [limits]")
    zone_name, deadlines = _deadlines(data, raw_tps, where)
    return Course(
        name=str(course.get("name", "")), root=path.parent, tps=tuple(tps),
        scale_max=float(grading.get("scale_max", 10)), pass_mark=float(grading.get("pass_mark", 4)),
        decimals=int(grading.get("decimals", 2)), limits=limits,
        secret_env=str(grading.get("secret_env", "GRADER_SECRET")),
        timezone=zone_name, deadlines=deadlines,
        late=_late_policy(data, names, _zone(zone_name, where), where),
        form=_form(data, zone_name, where), roster=_roster(data, path.parent, where),
        adjustments=_adjustments(data, path.parent, where),
        similarity_threshold=_number(_table(data, "similarity", where, ("threshold",)), "threshold",
                                     f"{where} [similarity]", DEFAULT_SIMILARITY_THRESHOLD,
                                     at_most=1),
        moodle=_moodle(data, names, where), settings=data)


def find_course(start: Path) -> Path | None:
    """The nearest ``course.toml`` in ``start`` or its parents."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / COURSE_FILE).is_file():
            return folder / COURSE_FILE
    return None


# --- deadlines, late policy, form and roster (grader.course.late, grader.intake) ---------------------


def _table(data: dict[str, Any], key: str, where: str, known: tuple[str, ...]) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{key}] debe ser una tabla (llegó {table!r})")
    for name in table:
        if name not in known:
            raise ConfigError(f"{where} [{key}]: clave desconocida {name!r}; las válidas son "
                              f"{', '.join(known)}")
    return table


def _zone(name: Any, where: str) -> zoneinfo.ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise ConfigError(f"{where} debe ser una zona horaria de la base IANA como "
                      f"\"{DEFAULT_TIMEZONE}\" (llegó {name!r})")


def _moment(value: Any, zone: dt.tzinfo, where: str) -> dt.datetime:
    """A date and time from TOML or an ISO string; without an offset, it is in ``zone``."""
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, dt.datetime):
        raise ConfigError(f"{where} debe ser una fecha con hora como \"2026-09-18T23:00\" "
                          f"(llegó {value!r})")
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _number(table: dict[str, Any], key: str, where: str, default: float, *,
            at_most: float | None = None) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
            at_most is not None and value > at_most):
        bound = f" entre 0 y {at_most:g}" if at_most is not None else " mayor o igual a 0"
        raise ConfigError(f"{where}.{key} debe ser un número{bound} (llegó {value!r})")
    return float(value)


def _deadlines(data: dict[str, Any], raw_tps: list[Any], where: str) -> tuple[str, dict[str, dt.datetime]]:
    """The course timezone and each TP's deadline (``deadline`` or ``closes_after_class``)."""
    calendar = _table(data, "calendar", where,
                      ("timezone", "classes", "due_days_after_class", "due_time"))
    at = f"{where} [calendar]"
    zone_name = calendar.get("timezone", DEFAULT_TIMEZONE)
    zone = _zone(zone_name, f"{at}.timezone")
    classes: list[dt.date] = []
    raw_classes = calendar.get("classes", [])
    if not isinstance(raw_classes, list):
        raise ConfigError(f"{at}.classes debe ser una lista de fechas como \"2026-08-19\"")
    for i, value in enumerate(raw_classes):
        try:
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            day = None
        if day is None or isinstance(day, dt.datetime):
            raise ConfigError(f"{at}.classes[{i}] debe ser una fecha como \"2026-08-19\" "
                              f"(llegó {value!r})")
        if classes and day <= classes[-1]:
            raise ConfigError(f"{at}.classes debe estar en orden: la clase {i + 1} ({day}) no es "
                              f"posterior a la clase {i} ({classes[-1]})")
        classes.append(day)
    days_after = calendar.get("due_days_after_class", 2)
    if isinstance(days_after, bool) or not isinstance(days_after, int) or days_after < 0:
        raise ConfigError(f"{at}.due_days_after_class debe ser un entero >= 0 (llegó {days_after!r})")
    due_time = calendar.get("due_time", "23:00")
    try:
        due = due_time if isinstance(due_time, dt.time) else dt.time.fromisoformat(str(due_time))
    except ValueError:
        raise ConfigError(f"{at}.due_time debe ser una hora como \"23:00\" (llegó {due_time!r})") from None
    deadlines: dict[str, dt.datetime] = {}
    for i, raw in enumerate(raw_tps):
        tp_at = f"{where} [[tp]] #{i + 1}"
        if "deadline" in raw and "closes_after_class" in raw:
            raise ConfigError(f"{tp_at}: usá deadline o closes_after_class, no los dos")
        if "deadline" in raw:
            deadlines[raw["name"]] = _moment(raw["deadline"], zone, f"{tp_at}.deadline")
        elif "closes_after_class" in raw:
            number = raw["closes_after_class"]
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(classes):
                raise ConfigError(f"{tp_at}.closes_after_class debe ser el número de una clase de "
                                  f"[calendar] classes, entre 1 y {len(classes)} (llegó {number!r})")
            day = classes[number - 1] + dt.timedelta(days=days_after)
            deadlines[raw["name"]] = dt.datetime.combine(day, due, tzinfo=zone)
    return zone_name, deadlines


def _late_policy(data: dict[str, Any], tp_names: list[str], zone: dt.tzinfo, where: str) -> LatePolicy:
    late = _table(data, "late", where, ("grace_minutes", "penalty_per_day", "table", "cap", "max_days",
                                        "extensions"))
    at = f"{where} [late]"
    if "penalty_per_day" in late and "table" in late:
        raise ConfigError(f"{at}: usá penalty_per_day o table, no los dos")
    table = late.get("table", [])
    if not isinstance(table, list):
        raise ConfigError(f"{at}.table debe ser una lista de fracciones entre 0 y 1 (llegó {table!r})")
    for i, value in enumerate(table):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"{at}.table[{i}] debe ser una fracción entre 0 y 1 (llegó {value!r})")
    fractions = tuple(float(v) for v in table)
    max_days = late.get("max_days")
    if max_days is not None and (isinstance(max_days, bool) or not isinstance(max_days, int)
                                 or max_days < 0):
        raise ConfigError(f"{at}.max_days debe ser un entero >= 0 (llegó {max_days!r})")
    raw_extensions = late.get("extensions", {})
    if not isinstance(raw_extensions, dict):
        raise ConfigError(f"{at}.extensions debe ser una tabla padrón = días o padrón = {{tp1 = ...}}")
    extensions: dict[str, dict[str, Extension]] = {}
    for student, value in raw_extensions.items():
        ext_at = f"{where} [late.extensions].{student}"
        if isinstance(value, dict):
            own = {}
            for tp, item in value.items():
                if tp not in tp_names:
                    raise ConfigError(f"{ext_at}: no hay un TP llamado {tp!r}; los TPs del curso "
                                      f"son {tp_names}")
                own[tp] = _extension(item, zone, f"{ext_at}.{tp}")
            extensions[str(student)] = own
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            extensions[str(student)] = {ALL_TPS: _extension(value, zone, ext_at)}
        else:
            raise ConfigError(f"{ext_at} debe ser una cantidad de días (para todos los TPs) o una "
                              f"tabla por TP como {{tp1 = \"2026-09-20T23:00\", tp2 = 2}} "
                              f"(llegó {value!r})")
    return LatePolicy(
        grace_minutes=_number(late, "grace_minutes", at, 0),
        penalty_per_day=_number(late, "penalty_per_day", at, 0, at_most=1), table=fractions,
        cap=_number(late, "cap", at, 1, at_most=1), max_days=max_days, extensions=extensions)


def _extension(value: Any, zone: dt.tzinfo, where: str) -> Extension:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{where}: los días de prórroga no pueden ser negativos (llegó {value})")
        return Extension(extra_days=float(value))
    return Extension(deadline=_moment(value, zone, where))


def _form(data: dict[str, Any], zone_name: str, where: str) -> FormColumns:
    keys = ("timestamp", "email", "student_id", "name", "tp", "upload", "timezone")
    form = _table(data, "form", where, keys)
    for key, value in form.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where} [form].{key} debe ser texto (llegó {value!r})")
    for key in ("timestamp", "name"):
        if key in form and not form[key].strip():
            raise ConfigError(f"{where} [form].{key} no puede estar vacía: hace falta para "
                              "emparejar respuestas y archivos")
    zone = form.get("timezone", zone_name)
    _zone(zone, f"{where} [form].timezone")
    return FormColumns(**{**form, "timezone": zone})


def _roster(data: dict[str, Any], root: Path, where: str) -> RosterSettings | None:
    if "roster" not in data:
        return None
    roster = _table(data, "roster", where, ("path", "student_id", "name", "email"))
    for key, value in roster.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} [roster].{key} debe ser texto no vacío (llegó {value!r})")
    path = roster.get("path")
    return RosterSettings(path=root / path if path else None,
                          **{k: v for k, v in roster.items() if k != "path"})


def _adjustments(data: dict[str, Any], root: Path, where: str) -> Path | None:
    table = _table(data, "adjustments", where, ("path",))
    if not table:
        return None
    value = table.get("path")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} [adjustments].path debe ser la ruta del archivo de ajustes, "
                          f"como \"ajustes.toml\" (llegó {value!r})")
    return root / value


def _moodle(data: dict[str, Any], tp_names: list[str], where: str) -> MoodleSettings:
    table = _table(data, "moodle", where, ("items", "feedback", "feedback_url"))
    at = f"{where} [moodle]"
    items = table.get("items", {})
    if not isinstance(items, dict):
        raise ConfigError(f"{at}.items debe ser una tabla TP = \"columna\", como "
                          f"{{tp1 = \"TP1\", final = \"Nota final\"}} (llegó {items!r})")
    for key, value in items.items():
        if key not in (*tp_names, "final"):
            raise ConfigError(f"{at}.items: clave desconocida {key!r}; las válidas son "
                              f"{', '.join([*tp_names, 'final'])}")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{at}.items.{key} debe ser el nombre de una columna (llegó {value!r})")
    feedback = table.get("feedback", True)
    if not isinstance(feedback, bool):
        raise ConfigError(f"{at}.feedback debe ser true o false (llegó {feedback!r})")
    url = table.get("feedback_url", "")
    if not isinstance(url, str):
        raise ConfigError(f"{at}.feedback_url debe ser texto (llegó {url!r})")
    return MoodleSettings(items=dict(items), feedback=feedback, feedback_url=url.rstrip("/"))


def _visibility(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """An exercise's ``visibility`` and ``check_visibility`` keys, validated."""
    visibility = raw.get("visibility", "")
    if visibility != "" and visibility not in VISIBILITIES:
        raise ConfigError(f"{where}.visibility debe ser uno de {', '.join(VISIBILITIES)} "
                          f"(llegó {visibility!r})")
    per_check = raw.get("check_visibility", {})
    if not isinstance(per_check, dict):
        raise ConfigError(f"{where}.check_visibility debe ser una tabla nombre = visibilidad "
                          f"(llegó {per_check!r})")
    for name, value in per_check.items():
        if value not in VISIBILITIES:
            raise ConfigError(f"{where}.check_visibility.{name} debe ser uno de "
                              f"{', '.join(VISIBILITIES)} (llegó {value!r})")
    return {"visibility": visibility, "check_visibility": tuple(sorted(per_check.items()))}


def load_assignment(root: Path) -> Assignment:
    """Loads and validates ``ROOT/assignment.toml``."""
    path = root / ASSIGNMENT_FILE
    data = _load_toml(path)
    where = str(path)
    head = data.get("assignment", {})
    exercises = []
    for i, raw in enumerate(data.get("exercise", [])):
        at = f"{where} [[exercise]] #{i + 1}"
        points = _require(raw, "points", (int, float), at)
        if points <= 0:
            raise ConfigError(f"{at}.points debe ser positivo (llegó {points})")
        functions = raw.get("functions", [])
        if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
            raise ConfigError(f"{at}.functions debe ser una lista de nombres")
        exercises.append(Exercise(
            name=_require(raw, "name", str, at), points=float(points),
            title=str(raw.get("title", "")), functions=tuple(functions),
            numpy_only=bool(raw.get("numpy_only", False)),
            partial_credit=bool(raw.get("partial_credit", head.get("partial_credit", False))),
            **_visibility(raw, at)))
    if not exercises:
        raise ConfigError(f"{where}: se esperaba al menos un [[exercise]]")
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: hay ejercicios repetidos: {names}")

    def paths(key: str) -> tuple[Path, ...]:
        values = head.get(key, [])
        if not isinstance(values, list):
            raise ConfigError(f"{where} [assignment].{key} debe ser una lista de rutas")
        return tuple(root / v for v in values)

    limits = data.get("limits", {})
    Limits.from_mapping(limits, where=f"{where} [limits]")
    uses_torch = head.get("torch", False)
    if not isinstance(uses_torch, bool):
        raise ConfigError(f"{where} [assignment].torch debe ser true o false (llegó {uses_torch!r})")
    requirements = head.get("requirements", [])
    if not isinstance(requirements, list) or not all(
            isinstance(r, str) and REQUIREMENT.match(r) for r in requirements):
        raise ConfigError(f"{where} [assignment].requirements debe ser una lista de paquetes como "
                          f"los acepta pip ('torch>=2.1', 'scikit-learn') (llegó {requirements!r})")
    helpers = head.get("worker_helpers")
    if helpers is not None:
        if not isinstance(helpers, str) or not (root / helpers).is_file():
            raise ConfigError(f"{where} [assignment].worker_helpers debe ser la ruta de un archivo "
                              f".py existente (llegó {helpers!r})")
        helpers = root / helpers
    return Assignment(
        name=_require(head, "name", str, f"{where} [assignment]"),
        title=str(head.get("title", "")),
        module=str(head.get("module", head.get("name"))), root=root,
        exercises=tuple(exercises), public_checks=paths("public_checks"),
        hidden_checks=paths("hidden_checks"), starter=paths("starter"),
        forbidden_modules=tuple(head.get("forbidden_modules", [])), limits=limits,
        uses_torch=uses_torch, worker_helpers=helpers, requirements=tuple(requirements))
