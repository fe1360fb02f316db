"""The class list (roster): the source of identity for intake and the gradebook.

A CSV with one row per student and the columns padrón, nombre and email (email optional; the
headers are configurable in ``[roster]`` of ``course.toml`` and compared without case or
accents). Anything that names a student (a form response, a result file) is matched to a row by
padrón, then email, then name (accents, case, punctuation and word order ignored: "GARCÍA, Ana"
is "Ana Garcia").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.course import RosterSettings
from grader.errors import RosterError, SubmissionError
from grader.intake.names import email_key, name_key, student_id_key
from grader.intake.table import read_table

# Other headers people use for the default columns (SIU Guaraní, spreadsheets by hand).
_ALIASES = {
    "student_id": ("padrón", "padron", "legajo", "nro de padrón", "número de padrón"),
    "name": ("nombre", "nombre y apellido", "apellido y nombre", "estudiante", "alumno"),
    "email": ("email", "e-mail", "mail", "correo", "correo electrónico",
              "dirección de correo electrónico"),
}


@dataclass(frozen=True)
class RosterStudent:
    student_id: str
    """The padrón, normalised (``"100.001"`` -> ``"100001"``)."""
    name: str
    email: str = ""
    row: int = 0


@dataclass
class Roster:
    students: list[RosterStudent]
    source: str = "padrón"
    _by_id: dict[str, RosterStudent] = field(default_factory=dict, repr=False)
    _by_email: dict[str, RosterStudent] = field(default_factory=dict, repr=False)
    _by_name: dict[str, list[RosterStudent]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for student in self.students:
            if student.student_id in self._by_id:
                other = self._by_id[student.student_id]
                raise RosterError(f"{self.source}: el padrón {student.student_id} está en las filas "
                                  f"{other.row} y {student.row}")
            self._by_id[student.student_id] = student
            if student.email:
                self._by_email.setdefault(email_key(student.email), student)
            self._by_name.setdefault(name_key(student.name), []).append(student)

    def match(self, *, student_id: str = "", email: str = "",
              name: str = "") -> tuple[RosterStudent, str] | None:
        """The roster row of a person and what matched (``"padrón"``, ``"email"``,
        ``"nombre"``), or ``None``. A name shared by two rows matches neither."""
        if student_id and (hit := self._by_id.get(student_id_key(student_id))):
            return hit, "padrón"
        if email and (hit := self._by_email.get(email_key(email))):
            return hit, "email"
        hits = self._by_name.get(name_key(name), []) if name else []
        if len(hits) == 1:
            return hits[0], "nombre"
        return None


def read_roster(path: Path, settings: RosterSettings | None = None) -> Roster:
    """Reads the roster CSV.

    Raises:
        RosterError: a required column is missing (the message lists the headers found), a row
            has no padrón or name, or a padrón is repeated.
    """
    settings = settings or RosterSettings()
    try:
        table = read_table(path, what="el padrón (CSV con padrón, nombre y email)")
    except SubmissionError as exc:
        raise RosterError(str(exc)) from None
    columns: dict[str, str | None] = {}
    for key in ("student_id", "name", "email"):
        configured = getattr(settings, key)
        default = getattr(RosterSettings(), key)
        candidates = (configured, *_ALIASES[key]) if configured == default else (configured,)
        columns[key] = next((c for c in map(table.column, candidates) if c), None)
        if columns[key] is None and key != "email":
            raise RosterError(f"{path.name}: falta la columna {configured!r} ([roster].{key} en "
                              f"course.toml); las columnas del archivo son {table.headers}")
    students = []
    for row, cells in table.rows:
        student_id = student_id_key(cells.get(columns["student_id"] or "", ""))
        name = cells.get(columns["name"] or "", "")
        if not student_id or not name:
            raise RosterError(f"{path.name}, fila {row}: falta el padrón o el nombre "
                              f"(llegó padrón={student_id!r}, nombre={name!r})")
        email = cells.get(columns["email"], "") if columns["email"] else ""
        students.append(RosterStudent(student_id=student_id, name=name, email=email, row=row))
    return Roster(students=students, source=path.name)
