"""Pairing form responses, uploaded files and roster rows into one submission per student. Pure.

- A file belongs to the person whose name follows its last ``" - "`` (Google Forms names uploads
  ``<original name> - <respondent name>.<ext>``), compared with the response's name and with the
  roster name of the student it matched, ignoring accents, case and word order.
- A response is a student: their roster row (by padrón, then email, then name) when there is a
  roster, else the padrón they typed, else their name. That identity names the submission.
- Several responses of one person: the newest wins and the older ones are listed. Their files are
  paired with the responses in time order when the counts agree (each response uploaded as many
  files as it has Drive links); otherwise the newest file is used and that is listed too.
- Nothing is dropped silently: every file and response that matched nobody, every roster student
  without a submission and every file set aside is an ``Anomaly``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from grader.intake.archives import UploadedFile
from grader.intake.form import Response
from grader.intake.names import name_key, split_upload_name, student_id_key
from grader.intake.roster import Roster, RosterStudent
from grader.submissions import SUFFIXES, safe_name

KINDS = {
    "unmatched_file": "archivo que no es de nadie",
    "unmatched_response": "respuesta sin archivo",
    "superseded": "entrega reemplazada por una más nueva",
    "ambiguous_files": "varios archivos para una entrega",
    "unsupported_file": "archivo que no es .py ni .ipynb",
    "not_in_roster": "no está en el padrón",
    "id_mismatch": "identificado por otro dato",
    "no_submission": "sin entrega",
    "corrupt_file": "archivo dañado",
    "refused_entry": "entrada del zip no usada",
}
"""Kinds of anomaly, with their Spanish label (for ``intake.md``)."""


@dataclass(frozen=True)
class Anomaly:
    """Something the instructor must look at (the keys H4's class report reads)."""

    student: str
    tp: str
    kind: str
    """One of ``KINDS``."""
    detail: str


@dataclass
class Entry:
    """One student's submission for the TP."""

    student: str
    """Padrón (or safe name): the submission's file stem and the student's key in results."""
    file: UploadedFile
    response: Response
    name: str
    email: str
    in_roster: bool


@dataclass
class Matching:
    entries: list[Entry] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    other_tps: list[str] = field(default_factory=list)
    """Files that belong to responses of other TPs (set aside, not anomalies)."""


@dataclass
class _Person:
    student: str
    responses: list[Response]
    roster: RosterStudent | None
    how: str = ""


def _file_order(item: UploadedFile) -> tuple[dt.datetime, str]:
    return item.modified or dt.datetime.min, item.name


def match(tp: str, responses: list[Response], files: list[UploadedFile], *,
          roster: Roster | None = None, other_responses: list[Response] | None = None) -> Matching:
    """One ``Entry`` per student who handed in ``tp``, and the anomalies.

    Args:
        responses: the form's responses for ``tp``.
        files: every uploaded file.
        other_responses: the form's responses for other TPs (their files are set aside).
    """
    out = Matching()
    by_respondent: dict[str, list[UploadedFile]] = defaultdict(list)
    for item in files:
        parts = split_upload_name(item.base)
        if parts is None:
            out.anomalies.append(Anomaly("", tp, "unmatched_file",
                                         f"{item.name}: el nombre no tiene la forma "
                                         "'<archivo> - <nombre de quien lo subió>' del formulario"))
            continue
        by_respondent[name_key(parts[1])].append(item)
    people = _people(responses, roster)
    others_by_name: dict[str, list[Response]] = defaultdict(list)
    for response in other_responses or []:
        others_by_name[name_key(response.name)].append(response)
    claimed: dict[str, str] = {}  # respondent name key -> the student whose files they are
    for person in people:
        keys = {name_key(r.name) for r in person.responses}
        if person.roster is not None:
            keys.add(name_key(person.roster.name))
        for key in sorted(keys & set(claimed)):
            # Two students with the same name: their files cannot be told apart.
            out.anomalies.append(Anomaly(person.student, tp, "ambiguous_files",
                                         f"{person.responses[-1].name} ({person.student}): los "
                                         f"archivos de {key!r} ya se asignaron a {claimed[key]}, "
                                         "que se llama igual; revisalos a mano"))
        keys -= set(claimed)
        claimed.update({k: person.student for k in keys if k in by_respondent})
        own = sorted((f for k in keys for f in by_respondent.get(k, [])), key=_file_order)
        others = [r for k in keys for r in others_by_name.get(k, [])]
        _resolve(tp, person, own, others, out, has_roster=roster is not None)
    for key, items in sorted(by_respondent.items()):
        if key not in claimed:
            for item in items:
                respondent = (split_upload_name(item.base) or ("", ""))[1]
                out.anomalies.append(Anomaly("", tp, "unmatched_file",
                                             f"{item.name}: no hay una respuesta del formulario de "
                                             f"{respondent!r} para {tp}; no se calificó"))
    if roster is not None:
        handed_in = {e.student for e in out.entries}
        for student in roster.students:
            if student.student_id not in handed_in:
                out.anomalies.append(Anomaly(student.student_id, tp, "no_submission",
                                             f"{student.name} ({student.student_id}) no tiene "
                                             f"entrega de {tp}"))
    return out


def _people(responses: list[Response], roster: Roster | None) -> list[_Person]:
    """Groups responses by student identity (see the module docstring)."""
    people: dict[str, _Person] = {}
    for response in sorted(responses, key=lambda r: (r.submitted_at, r.row)):
        hit = roster.match(student_id=response.student_id, email=response.email,
                           name=response.name) if roster is not None else None
        # The identity names a file in the submissions folder: always a safe name.
        if hit is not None:
            student = safe_name(hit[0].student_id)
        elif response.student_id.strip():
            student = safe_name(student_id_key(response.student_id))
        else:
            student = safe_name(response.name)
        person = people.setdefault(student, _Person(student, [], hit[0] if hit else None))
        person.responses.append(response)
        if hit is not None:
            person.how = hit[1]
    return [people[k] for k in sorted(people)]


def _resolve(tp: str, person: _Person, files: list[UploadedFile], others: list[Response],
             out: Matching, *, has_roster: bool) -> None:
    newest = person.responses[-1]
    who = f"{newest.name} ({person.student})"
    for older in person.responses[:-1]:
        out.anomalies.append(Anomaly(person.student, tp, "superseded",
                                     f"{who}: la respuesta de la fila {older.row} "
                                     f"({older.submitted_at:%d/%m/%Y %H:%M}) fue reemplazada por "
                                     f"la de la fila {newest.row} ({newest.submitted_at:%d/%m/%Y %H:%M})"))
    if person.roster is None and has_roster:
        out.anomalies.append(Anomaly(person.student, tp, "not_in_roster",
                                     f"{who}: la respuesta de la fila {newest.row} (padrón "
                                     f"{newest.student_id!r}, email {newest.email!r}) no coincide "
                                     f"con nadie del padrón; se califica como {person.student}"))
    elif person.roster is not None and newest.student_id and person.how != "padrón":
        out.anomalies.append(Anomaly(person.student, tp, "id_mismatch",
                                     f"{who}: el padrón del formulario ({newest.student_id!r}) no "
                                     f"está en el padrón; se identificó por {person.how}"))
    for item in files:
        if not _gradable(item):
            out.anomalies.append(Anomaly(person.student, tp, "unsupported_file",
                                         f"{who}: {item.name} no es .py ni .ipynb; no se calificó"))
    chosen = _choose(tp, person, files, others, out, who)
    if chosen is None:
        out.anomalies.append(Anomaly(person.student, tp, "unmatched_response",
                                     f"{who}: la respuesta de la fila {newest.row} no tiene un "
                                     f"archivo .py o .ipynb entre los subidos"))
        return
    out.entries.append(Entry(
        student=person.student, file=chosen, response=newest,
        name=person.roster.name if person.roster else newest.name,
        email=(person.roster.email if person.roster and person.roster.email else newest.email),
        in_roster=person.roster is not None))


def _gradable(item: UploadedFile) -> bool:
    return PurePosixPath(item.name).suffix.lower() in SUFFIXES


def _choose(tp: str, person: _Person, files: list[UploadedFile], others: list[Response],
            out: Matching, who: str) -> UploadedFile | None:
    """The file of the newest response (see the module docstring)."""
    timeline = sorted([*((r, True) for r in person.responses), *((r, False) for r in others)],
                      key=lambda item: (item[0].submitted_at, item[0].row))
    if files and sum(r.uploads for r, _ in timeline) == len(files):
        start = 0
        slices = []
        for response, ours in timeline:
            slices.append((response, ours, files[start:start + response.uploads]))
            start += response.uploads
        mine = [s for s in slices if s[1]]
        newest_files = mine[-1][2]
        for response, ours, items in slices:
            for item in items:
                if not ours:
                    out.other_tps.append(item.name)
                elif response is not mine[-1][0] and _gradable(item):
                    out.anomalies.append(Anomaly(person.student, tp, "superseded",
                                                 f"{who}: {item.name} (de la fila {response.row}) "
                                                 "no se calificó: hay una entrega más nueva"))
        candidates = [f for f in newest_files if _gradable(f)]
    else:
        candidates = [f for f in files if _gradable(f)]
    if not candidates:
        return None
    chosen = candidates[-1]
    if len(candidates) > 1:
        rest = ", ".join(item.name for item in candidates[:-1])
        out.anomalies.append(Anomaly(person.student, tp, "ambiguous_files",
                                     f"{who}: {len(files)} archivos para {len(timeline)} "
                                     f"respuesta(s); se calificó el más nuevo, {chosen.name}, y "
                                     f"no: {rest}"))
    return chosen
