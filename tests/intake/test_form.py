"""The form's responses export is read as Google Forms writes it (and as Excel saves it again)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grader.course import FormColumns
from grader.errors import SubmissionError
from grader.intake.form import FormError, parse_timestamp, read_form, tp_matches

BA = ZoneInfo("America/Argentina/Buenos_Aires")
HEADER = ("Marca temporal,Dirección de correo electrónico,Nombre y apellido,Padrón,TP,"
          "Notebook o script")
LINK = "https://drive.google.com/open?id=1abc"


def write(tmp_path: Path, *rows: str, header: str = HEADER, bom: bool = True,
          encoding: str = "utf-8") -> Path:
    path = tmp_path / "respuestas.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "\n".join([header, *rows]).encode(encoding))
    return path


def test_a_google_export_with_bom_reads_every_response(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,ana@fi.uba.ar,Ana García,100001,TP1,{LINK}",
                 f'24/11/2026 9:05:00,b@fi.uba.ar,"Díaz, Bruno",100.002,TP2,"{LINK}, {LINK}2"')
    export = read_form(path)
    ana, bruno = export.responses
    assert export.headers[0] == "Marca temporal"  # the BOM is not part of the first header
    assert (ana.row, ana.submitted_at, ana.name, ana.email, ana.student_id, ana.tp, ana.links) == (
        2, dt.datetime(2026, 11, 23, 18, 4, 5, tzinfo=BA), "Ana García", "ana@fi.uba.ar", "100001",
        "TP1", (LINK,))
    assert (bruno.row, bruno.name, bruno.uploads) == (3, "Díaz, Bruno", 2)
    assert bruno.submitted_at.isoformat() == "2026-11-24T09:05:00-03:00"
    assert [r.name for r in export.for_tp("tp1")] == ["Ana García"]


@pytest.mark.parametrize(("text", "expected"), [
    ("23/11/2026 18:04:05", "2026-11-23T18:04:05-03:00"),
    ("3/9/2026 8:04:05", "2026-09-03T08:04:05-03:00"),
    ("23/11/2026 18:04", "2026-11-23T18:04:00-03:00"),
    ("2026-11-23 18:04:05", "2026-11-23T18:04:05-03:00"),
    ("2026-11-23T18:04:05", "2026-11-23T18:04:05-03:00"),
    ("2026-11-23T21:04:05Z", "2026-11-23T21:04:05+00:00"),
    ("2026-11-23T18:04:05+01:00", "2026-11-23T18:04:05+01:00"),
])
def test_both_timestamp_formats_are_read_in_the_exporters_timezone(text, expected):
    assert parse_timestamp(text, BA).isoformat() == expected


def test_the_exporters_timezone_is_a_course_setting(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,a@x,Ana,1,TP1,{LINK}")
    (response,) = read_form(path, FormColumns(timezone="Europe/Madrid")).responses
    assert response.submitted_at.isoformat() == "2026-11-23T18:04:05+01:00"


def test_a_timestamp_that_is_not_one_names_the_row(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,a@x,Ana,1,TP1,{LINK}", f"ayer,b@x,Bea,2,TP1,{LINK}")
    with pytest.raises(FormError, match=r"respuestas.csv, fila 3: 'Marca temporal' = 'ayer' no es una "
                                        r"fecha; se esperaba 23/11/2026 18:04:05 o 2026-11-23T18:04:05"):
        read_form(path)


def test_a_missing_column_is_named_with_the_headers_found(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,Ana,1,TP1,{LINK}",
                 header="Marca temporal,Nombre y apellido,Padrón,TP,Notebook o script")
    with pytest.raises(FormError) as caught:
        read_form(path)
    assert str(caught.value) == (
        "respuestas.csv: falta la columna 'Dirección de correo electrónico' ([form].email en "
        "course.toml; \"\" si el formulario no la tiene); las columnas del archivo son "
        "['Marca temporal', 'Nombre y apellido', 'Padrón', 'TP', 'Notebook o script']")


def test_a_column_set_to_empty_is_not_read_and_without_tp_every_row_counts(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,Ana,{LINK}", header="Marca temporal,Nombre,Archivo")
    export = read_form(path, FormColumns(name="Nombre", email="", student_id="", tp=""))
    assert [(r.name, r.email, r.student_id, r.links) for r in export.for_tp("tp3")] == [
        ("Ana", "", "", (LINK,))]


def test_headers_match_without_case_or_accents_and_the_upload_column_is_found(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,a@x,Ana,1,tp 1,{LINK}",
                 header="MARCA TEMPORAL,Direccion de correo electronico,nombre y apellido,Padron,Tp,"
                        "Subí tu archivo")
    (response,) = read_form(path).for_tp("tp1")
    assert (response.name, response.links) == ("Ana", (LINK,))


def test_two_columns_with_drive_links_need_the_upload_setting(tmp_path):
    path = write(tmp_path, f"23/11/2026 18:04:05,a@x,Ana,1,TP1,{LINK},{LINK}",
                 header=HEADER + ",Informe")
    with pytest.raises(FormError, match=r"varias columnas con enlaces de Drive .*\[form\] upload"):
        read_form(path)
    (response,) = read_form(path, FormColumns(upload="Informe")).responses
    assert response.links == (LINK,)


def test_an_export_saved_again_by_excel_is_read_and_says_so(tmp_path):
    path = write(tmp_path, "23/11/2026 18:04:05;a@x;Ana García;1;TP1;",
                 header=HEADER.replace(",", ";"), bom=False, encoding="cp1252")
    export = read_form(path)
    assert [r.name for r in export.responses] == ["Ana García"]
    assert export.notes == ["respuestas.csv no es UTF-8: se leyó como Windows-1252 (guardado con Excel)"]


@pytest.mark.parametrize(("answer", "tp", "expected"), [
    ("TP1", "tp1", True), ("tp 1", "tp1", True), ("Trabajo Práctico 1", "tp1", True),
    ("TP2", "tp1", False), ("TP12", "tp1", False), ("", "tp1", False),
])
def test_the_tp_answer_is_compared_loosely(answer, tp, expected):
    assert tp_matches(answer, tp) is expected


def test_a_file_that_is_not_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "respuestas.csv"
    path.write_bytes(b"Marca temporal,Nombre y apellido\n\"" + b"x" * 200_000)  # a quote never closed
    with pytest.raises(SubmissionError, match=r"respuestas.csv, línea \d: no es un CSV legible"):
        read_form(path)
    path.write_bytes(b"")
    with pytest.raises(SubmissionError, match=r"respuestas\.csv está vacío"):
        read_form(path)
