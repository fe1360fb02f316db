"""Responses, uploaded files and roster rows are paired into one submission per student, and
everything that does not pair is reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from grader.intake.archives import UploadedFile
from grader.intake.form import Response
from grader.intake.matching import Matching, match
from grader.intake.names import name_key, split_upload_name, student_id_key
from grader.intake.roster import Roster, RosterStudent

BA = ZoneInfo("America/Argentina/Buenos_Aires")
LINK = ("https://drive.google.com/open?id=x",)


def response(row: int, day: int, name: str, student_id: str = "", email: str = "", tp: str = "TP1",
             links: tuple[str, ...] = LINK) -> Response:
    return Response(row=row, submitted_at=dt.datetime(2026, 9, day, 12, 0, tzinfo=BA), name=name,
                    email=email, student_id=student_id, tp=tp, links=links)


def upload(name: str, day: int = 1) -> UploadedFile:
    return UploadedFile(f"Entrega/{name}", Path("/nowhere") / name, dt.datetime(2026, 9, day, 12))


def kinds(found: Matching) -> list[tuple[str, str]]:
    return sorted((a.kind, a.student) for a in found.anomalies)


def test_names_ignore_accents_case_punctuation_and_order():
    assert name_key("García, Ana") == name_key("ana  GARCIA") == name_key("Ana_Garci\u0301a") == "ana garcia"
    assert student_id_key(" 100.001 ") == "100001"


def test_upload_names_split_at_the_last_dash_and_drop_drives_counter():
    assert split_upload_name("tp1 - final - Ana García.ipynb") == ("tp1 - final", "Ana García")
    assert split_upload_name("tp1 - Ana García (1).ipynb") == ("tp1", "Ana García")
    assert split_upload_name("tp1_ana.ipynb") is None


def test_each_response_gets_its_respondents_file_and_its_padron():
    found = match("tp1", [response(2, 10, "Ana García", "100001"), response(3, 11, "bruno diaz", "7")],
                  [upload("tp1 - Ana Garcia.ipynb"), upload("TP1 - Bruno Díaz.py")])
    assert [(e.student, e.file.base, e.response.row) for e in found.entries] == [
        ("100001", "tp1 - Ana Garcia.ipynb", 2), ("7", "TP1 - Bruno Díaz.py", 3)]
    assert found.anomalies == []


def test_the_newest_response_wins_and_files_pair_with_responses_in_time_order():
    found = match("tp1", [response(5, 11, "Ana", "1"), response(2, 9, "Ana", "1")],
                  [upload("final - Ana.ipynb", day=11), upload("borrador - Ana.ipynb", day=9)])
    (entry,) = found.entries
    assert (entry.file.base, entry.response.row) == ("final - Ana.ipynb", 5)
    details = [a.detail for a in found.anomalies]
    assert [a.kind for a in found.anomalies] == ["superseded", "superseded"]
    assert "la respuesta de la fila 2 (09/09/2026 12:00) fue reemplazada por la de la fila 5" in details[0]
    assert "Entrega/borrador - Ana.ipynb (de la fila 2) no se calificó" in details[1]


def test_when_files_and_responses_do_not_pair_the_newest_file_is_used_and_listed():
    found = match("tp1", [response(2, 9, "Ana", "1")],
                  [upload("v2 - Ana.py", day=3), upload("v1 - Ana.py", day=2)])
    assert found.entries[0].file.base == "v2 - Ana.py"
    (anomaly,) = found.anomalies
    assert anomaly.kind == "ambiguous_files"
    assert "2 archivos para 1 respuesta(s); se calificó el más nuevo, Entrega/v2 - Ana.py" in anomaly.detail


def test_files_of_another_tps_response_are_set_aside():
    found = match("tp1", [response(2, 9, "Ana", "1")],
                  [upload("tp1 - Ana.py", day=9), upload("tp2 - Ana.py", day=20)],
                  other_responses=[response(3, 20, "Ana", "1", tp="TP2")])
    assert found.entries[0].file.base == "tp1 - Ana.py"
    assert found.other_tps == ["Entrega/tp2 - Ana.py"]
    assert found.anomalies == []


def test_files_and_responses_that_match_nobody_are_reported():
    found = match("tp1", [response(2, 9, "Ana", "1"), response(3, 9, "Diego", "4")],
                  [upload("tp1 - Ana.py"), upload("tp1 - Juan Nadie.py"), upload("suelto.py")])
    assert [e.student for e in found.entries] == ["1"]
    assert kinds(found) == [("unmatched_file", ""), ("unmatched_file", ""), ("unmatched_response", "4")]
    details = " ".join(a.detail for a in found.anomalies)
    assert "no hay una respuesta del formulario de 'Juan Nadie' para tp1" in details
    assert "suelto.py: el nombre no tiene la forma '<archivo> - <nombre de quien lo subió>'" in details


def test_a_file_that_is_not_a_submission_is_reported():
    found = match("tp1", [response(2, 9, "Ana", "1", links=LINK * 2)],
                  [upload("informe - Ana.pdf", day=1), upload("tp1 - Ana.ipynb", day=2)])
    assert found.entries[0].file.base == "tp1 - Ana.ipynb"
    assert kinds(found) == [("unsupported_file", "1")]


def test_the_roster_decides_identity_and_lists_who_handed_in_nothing():
    book = Roster([RosterStudent("100001", "García, Ana", "ana@x", 2),
                   RosterStudent("100002", "Díaz, Bruno", "bdiaz@x", 3),
                   RosterStudent("100006", "Torres, Hernán", "", 4)])
    found = match("tp1", [response(2, 9, "Ana García", "100001"),
                          response(3, 9, "Bruno", "10002", email="BDIAZ@x"),
                          response(4, 9, "Zoe", "555")],
                  [upload("tp1 - Ana García.py"), upload("tp1 - Bruno Díaz.py"), upload("tp1 - Zoe.py")],
                  roster=book)
    assert [(e.student, e.name, e.email, e.in_roster) for e in found.entries] == [
        ("100001", "García, Ana", "ana@x", True), ("100002", "Díaz, Bruno", "bdiaz@x", True),
        ("555", "Zoe", "", False)]
    # Bruno's file carries his roster name, not the one he typed: it still pairs.
    assert kinds(found) == [("id_mismatch", "100002"), ("no_submission", "100006"),
                            ("not_in_roster", "555")]


def test_two_responses_with_the_same_padron_are_one_student_even_with_other_names():
    found = match("tp1", [response(2, 9, "Ana", "100001"), response(3, 10, "Ana María", "100.001")],
                  [upload("a - Ana.py", day=9), upload("b - Ana María.py", day=10)])
    assert [(e.student, e.file.base) for e in found.entries] == [("100001", "b - Ana María.py")]
    assert kinds(found) == [("superseded", "100001"), ("superseded", "100001")]


def test_an_unsafe_padron_becomes_a_safe_file_name():
    found = match("tp1", [response(2, 9, "Eve", "../../etc/x")], [upload("tp1 - Eve.py")])
    assert [e.student for e in found.entries] == ["etc_x"]
