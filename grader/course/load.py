"""Reading ``course.toml`` and ``assignment.toml`` into the model (``grader.course.model``).

Every error names the file and the key, and says what was expected and what arrived. Both files
are strict: a table or key that is not read here is an error that lists the valid ones, since a
typo (``[lates]``, ``pas_mark``) would otherwise leave a default in place without a word (issue 20).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from grader.course.late import ALL_TPS, Extension, LatePolicy
from grader.course.limits import Limits
from grader.course.model import (
    ASSIGNMENT_FILE,
    COURSE_FILE,
    DEFAULT_SIMILARITY_THRESHOLD,
    DEFAULT_TIMEZONE,
    VISIBILITIES,
    Assignment,
    Course,
    Exercise,
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

# What each file may hold. A new setting is added here and read below; anything else is an error.
COURSE_TABLES = ("course", "grading", "tp", "calendar", "late", "form", "roster", "limits",
                 "adjustments", "similarity", "moodle")
COURSE_KEYS = ("name",)
GRADING_KEYS = ("scale_max", "pass_mark", "decimals", "secret_env")
TP_KEYS = ("name", "weight", "assignment", "reference", "notebook_mode", "deadline",
           "closes_after_class")
LIMIT_KEYS = tuple(f.name for f in fields(Limits))
ASSIGNMENT_TABLES = ("assignment", "limits", "exercise", "notebook", "checks")
"""``[notebook]`` and ``[checks]`` are written by ``grader release`` into a bundle's copy and read
by ``grader check`` (``grader.student.check.bundle_notebook_mode``, ``bundle_seed_key``)."""
ASSIGNMENT_KEYS = ("name", "title", "module", "worker_helpers", "public_checks", "hidden_checks",
                   "starter", "forbidden_modules", "requirements", "torch", "partial_credit")
EXERCISE_KEYS = ("name", "title", "points", "functions", "numpy_only", "partial_credit",
                 "visibility", "check_visibility")
BUNDLE_KEYS = {"notebook": ("mode",), "checks": ("seed_key",)}
_ARRAYS_OF_TABLES = ("tp", "exercise")
SECRET_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    if weight <= 0:
        # A TP that weighs 0 is graded and published but never counts: almost surely a typo.
        raise ConfigError(f"{where}.weight debe ser positivo (llegó {value!r}); un TP que no "
                          "cuenta para la nota no va en course.toml")
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
    _known(data, COURSE_TABLES, where, what="tabla", show=_section)
    name = _course_name(data, where)
    tps = []
    raw_tps = data.get("tp")
    if not isinstance(raw_tps, list) or not raw_tps:
        raise ConfigError(f"{where}: se esperaba al menos una tabla [[tp]]")
    for i, raw in enumerate(raw_tps):
        at = f"{where} [[tp]] #{i + 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{at} debe ser una tabla [[tp]] con name, weight y assignment "
                              f"(llegó {raw!r})")
        _known(raw, TP_KEYS, at)
        reference = raw.get("reference")
        tps.append(TPEntry(
            name=_text(_require(raw, "name", str, at), f"{at}.name"),
            weight=_weight(_require(raw, "weight", (int, float, str), at), at),
            assignment=_folder(path.parent, _require(raw, "assignment", str, at),
                               f"{at}.assignment", holding=ASSIGNMENT_FILE),
            reference=None if reference is None else _folder(
                path.parent, _require(raw, "reference", str, at), f"{at}.reference"),
            notebook_mode=_notebook_mode(raw, at)))
    names = [t.name for t in tps]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: hay TPs repetidos: {names}")
    total = sum(t.weight for t in tps)
    if total != 1:
        raise ConfigError(f"{where}: los pesos de los TPs deben sumar 1; suman {total} "
                          f"({', '.join(f'{t.name}={t.weight}' for t in tps)})")
    limits = _table(data, "limits", where, LIMIT_KEYS)
    Limits.from_mapping(limits, where=f"{where} [limits]")
    zone_name, deadlines = _deadlines(data, raw_tps, where)
    return Course(
        name=name, root=path.parent, tps=tuple(tps), **_grading(data, where), limits=limits,
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


def _known(table: dict[str, Any], known: Sequence[str], where: str, *, what: str = "clave",
           show: Callable[[str], str] | None = None) -> None:
    """Refuses the first name of ``table`` that is not in ``known``, listing the valid ones and,
    for a near miss, the one probably meant (``pas_mark``: ``pass_mark``). Every section of both
    files goes through here: an ignored key would leave its default in place without a word.
    ``show`` writes a name as the file does (``[late]``); by default, quoted when it is wrong."""
    for name in table:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (¿quisiste decir {(show or repr)(close[0])}?)" if close else ""
            raise ConfigError(f"{where}: {what} desconocida {(show or repr)(name)}{hint}; las "
                              f"válidas son {', '.join(show(k) if show else k for k in known)}")


def _section(name: str) -> str:
    """How a top-level table is written in the file: ``[late]``, ``[[tp]]``."""
    return f"[[{name}]]" if name in _ARRAYS_OF_TABLES else f"[{name}]"


def _table(data: dict[str, Any], key: str, where: str, known: Sequence[str]) -> dict[str, Any]:
    """The table ``[key]`` of ``data`` (empty when absent), with only ``known`` keys."""
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{key}] debe ser una tabla (llegó {table!r})")
    _known(table, known, f"{where} [{key}]")
    return table


def _text(value: str, where: str) -> str:
    if not value.strip():
        raise ConfigError(f"{where} no puede estar vacío")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _course_name(data: dict[str, Any], where: str) -> str:
    """``[course] name``: shown in every report, and the key of hidden inputs when the course
    secret is unset (``Course.hidden_seed_key``)."""
    course = _table(data, "course", where, COURSE_KEYS)
    if "name" not in course:
        raise ConfigError(f"{where}: falta [course] name, el nombre de la materia como "
                          "\"Aprendizaje Profundo\"")
    name = course["name"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where} [course].name debe ser un texto no vacío, el nombre de la "
                          f"materia (llegó {name!r})")
    return name


def _grading(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``[grading]``: the scale, the pass mark and the rounding of every grade."""
    grading = _table(data, "grading", where, GRADING_KEYS)
    at = f"{where} [grading]"
    scale_max = grading.get("scale_max", 10)
    if not _is_number(scale_max) or scale_max <= 0:
        raise ConfigError(f"{at}.scale_max debe ser un número positivo, la nota máxima "
                          f"(llegó {scale_max!r})")
    pass_mark = grading.get("pass_mark", 4)
    if not _is_number(pass_mark) or not 0 < pass_mark <= scale_max:
        given = f"llegó {pass_mark!r}" if "pass_mark" in grading else f"no está y vale {pass_mark}"
        raise ConfigError(f"{at}.pass_mark debe ser un número mayor que 0 y a lo sumo scale_max "
                          f"= {scale_max:g}, la nota desde la que se aprueba ({given})")
    decimals = grading.get("decimals", 2)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 4:
        raise ConfigError(f"{at}.decimals debe ser un entero entre 0 y 4 (llegó {decimals!r})")
    secret_env = grading.get("secret_env", "GRADER_SECRET")
    if not isinstance(secret_env, str) or not SECRET_ENV.match(secret_env):
        raise ConfigError(f"{at}.secret_env debe ser el nombre de una variable de entorno como "
                          f"\"GRADER_SECRET\" (llegó {secret_env!r})")
    return {"scale_max": float(scale_max), "pass_mark": float(pass_mark), "decimals": decimals,
            "secret_env": secret_env}


def _folder(root: Path, value: str, where: str, *, holding: str | None = None) -> Path:
    """A TP's folder, relative to ``root``. A folder that is absent is reported where it is read
    (``load_assignment``, ``load_reference``), not here: a cluster worker gets only the folders of
    the TP it grades (``grader.batch.cluster.course_files``), and the gradebook and the reports
    need none. One that is there must be what was meant."""
    if not value.strip():
        raise ConfigError(f"{where} no puede estar vacío: se esperaba la ruta de una carpeta")
    folder = root / value
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{where} debe ser una carpeta; {folder} es un archivo")
    if holding is not None and folder.is_dir() and not (folder / holding).is_file():
        raise ConfigError(f"{where}: la carpeta {folder} no tiene {holding}; se esperaba la "
                          f"carpeta de un TP, como \"assignments/tp1\"")
    return folder


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
    table = _table(data, "moodle", where, ("items", "feedback", "feedback_url",
                                           "decimal_separator"))
    at = f"{where} [moodle]"
    items = table.get("items", {})
    if not isinstance(items, dict):
        raise ConfigError(f"{at}.items debe ser una tabla TP = \"columna\", como "
                          f"{{tp1 = \"TP1\", final = \"Nota final\"}} (llegó {items!r})")
    _known(items, [*tp_names, "final"], f"{at}.items")
    for key, value in items.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{at}.items.{key} debe ser el nombre de una columna (llegó {value!r})")
    feedback = table.get("feedback", True)
    if not isinstance(feedback, bool):
        raise ConfigError(f"{at}.feedback debe ser true o false (llegó {feedback!r})")
    url = table.get("feedback_url", "")
    if not isinstance(url, str):
        raise ConfigError(f"{at}.feedback_url debe ser texto (llegó {url!r})")
    separator = table.get("decimal_separator", ",")
    if separator not in (",", "."):
        raise ConfigError(f"{at}.decimal_separator debe ser \",\" o \".\" (llegó {separator!r})")
    return MoodleSettings(items=dict(items), feedback=feedback, feedback_url=url.rstrip("/"),
                          decimal_separator=separator)


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


def _flag(table: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} debe ser true o false (llegó {value!r})")
    return value


def _strings(table: dict[str, Any], key: str, where: str, what: str) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(f"{where}.{key} debe ser una lista de {what} (llegó {values!r})")
    return tuple(values)


def _assignment_tables(data: dict[str, Any], where: str) -> tuple[dict[str, Any], list[Any]]:
    """``[assignment]`` and the ``[[exercise]]`` list, after refusing unknown tables and keys."""
    _known(data, ASSIGNMENT_TABLES, where, what="tabla", show=_section)
    head = _table(data, "assignment", where, ASSIGNMENT_KEYS)
    for name, keys in BUNDLE_KEYS.items():
        _table(data, name, where, keys)
    raw_exercises = data.get("exercise", [])
    if not isinstance(raw_exercises, list) or not raw_exercises:
        raise ConfigError(f"{where}: se esperaba al menos un [[exercise]]")
    for i, raw in enumerate(raw_exercises):
        at = f"{where} [[exercise]] #{i + 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{at} debe ser una tabla [[exercise]] con name y points "
                              f"(llegó {raw!r})")
        _known(raw, EXERCISE_KEYS, at)
    return head, raw_exercises


def load_assignment(root: Path) -> Assignment:
    """Loads and validates ``ROOT/assignment.toml``."""
    path = root / ASSIGNMENT_FILE
    if not root.is_dir():
        raise ConfigError(f"no existe la carpeta del TP {root}: se esperaba una carpeta con "
                          f"{ASSIGNMENT_FILE} (la que nombra [[tp]] assignment en {COURSE_FILE})")
    data = _load_toml(path)
    where = str(path)
    head, raw_exercises = _assignment_tables(data, where)
    at_head = f"{where} [assignment]"
    partial_credit = _flag(head, "partial_credit", at_head, False)
    exercises = []
    for i, raw in enumerate(raw_exercises):
        at = f"{where} [[exercise]] #{i + 1}"
        points = _require(raw, "points", (int, float), at)
        if points <= 0:
            raise ConfigError(f"{at}.points debe ser positivo (llegó {points})")
        exercises.append(Exercise(
            name=_text(_require(raw, "name", str, at), f"{at}.name"), points=float(points),
            title=_require(raw, "title", str, at) if "title" in raw else "",
            functions=_strings(raw, "functions", at, "nombres de funciones o clases"),
            numpy_only=_flag(raw, "numpy_only", at, False),
            partial_credit=_flag(raw, "partial_credit", at, partial_credit),
            **_visibility(raw, at)))
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: hay ejercicios repetidos: {names}")

    def paths(key: str) -> tuple[Path, ...]:
        return tuple(root / v for v in _strings(head, key, at_head, "rutas"))

    limits = _table(data, "limits", where, LIMIT_KEYS)
    Limits.from_mapping(limits, where=f"{where} [limits]")
    requirements = head.get("requirements", [])
    if not isinstance(requirements, list) or not all(
            isinstance(r, str) and REQUIREMENT.match(r) for r in requirements):
        raise ConfigError(f"{at_head}.requirements debe ser una lista de paquetes como "
                          f"los acepta pip ('torch>=2.1', 'scikit-learn') (llegó {requirements!r})")
    helpers = head.get("worker_helpers")
    if helpers is not None:
        if not isinstance(helpers, str) or not (root / helpers).is_file():
            raise ConfigError(f"{at_head}.worker_helpers debe ser la ruta de un archivo "
                              f".py existente (llegó {helpers!r})")
        helpers = root / helpers
    name = _text(_require(head, "name", str, at_head), f"{at_head}.name")
    module = head.get("module", name)
    if not isinstance(module, str) or not module.isidentifier():
        raise ConfigError(f"{at_head}.module debe ser el nombre del módulo del estudiante, sin "
                          f"\".py\", como \"tp1\" (llegó {module!r})")
    return Assignment(
        name=name, title=_require(head, "title", str, at_head) if "title" in head else "",
        module=module, root=root,
        exercises=tuple(exercises), public_checks=paths("public_checks"),
        hidden_checks=paths("hidden_checks"), starter=paths("starter"),
        forbidden_modules=_strings(head, "forbidden_modules", at_head, "nombres de módulos"),
        limits=limits, uses_torch=_flag(head, "torch", at_head, False), worker_helpers=helpers,
        requirements=tuple(requirements))
