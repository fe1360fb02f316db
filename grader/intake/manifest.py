"""``intake.json`` (read by ``grader grade`` and the class report) and ``intake.md`` (for people)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.intake.matching import KINDS, Anomaly

SCHEMA = "grader.intake/1"


@dataclass
class StudentRecord:
    student: str
    """Padrón (or safe name): the key of this student's results."""
    file: str
    """The normalised file in the submissions folder (``100001.ipynb``)."""
    submitted_at: str
    """ISO 8601 with offset."""
    original_file: str
    """Its path in the uploads (``Entrega TP1 (File responses)/tp1 - Ana García.ipynb``)."""
    name: str
    email: str
    form_student_id: str
    """The padrón as typed in the form."""
    response_row: int
    in_roster: bool


@dataclass
class Manifest:
    tp: str
    form: str
    uploads: str
    roster: str
    responses: int
    """Rows of the form for this TP."""
    students: list[StudentRecord] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """Operating-system leftovers and files of other TPs, set aside on purpose."""
    notes: list[str] = field(default_factory=list)
    created_at: str = ""
    schema: str = SCHEMA

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    def to_markdown(self) -> str:
        lines = [f"# Entregas de {self.tp} (grader intake)", "",
                 f"- Formulario: `{self.form}` ({self.responses} respuestas de {self.tp})",
                 f"- Archivos: `{self.uploads}`",
                 f"- Padrón: `{self.roster}`" if self.roster else "- Padrón: no se usó",
                 f"- Generado: {self.created_at}", ""]
        lines += [f"> {note}" for note in self.notes] + ([""] if self.notes else [])
        lines += [f"## Entregas ({len(self.students)})", "",
                  "| Padrón | Nombre | Email | Entregado | Archivo | Archivo original | Fila |",
                  "|---|---|---|---|---|---|---:|"]
        for s in self.students:
            lines.append(f"| {_cell(s.student)} | {_cell(s.name)} | {_cell(s.email)} | "
                         f"{s.submitted_at} | `{_cell(s.file)}` | `{_cell(s.original_file)}` | "
                         f"{s.response_row} |")
        lines += ["", f"## Anomalías ({len(self.anomalies)})", ""]
        if not self.anomalies:
            lines.append("Ninguna.")
        for kind in KINDS:
            own = [a for a in self.anomalies if a.kind == kind]
            if own:
                lines += [f"### {KINDS[kind][0].upper()}{KINDS[kind][1:]} (`{kind}`, {len(own)})", ""]
                lines += [f"- {_cell(a.detail)}" for a in own] + [""]
        if self.ignored:
            lines += [f"## Ignorados a propósito ({len(self.ignored)})", ""]
            lines += [f"- `{_cell(name)}`" for name in self.ignored]
        return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
