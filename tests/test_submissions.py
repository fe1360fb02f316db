"""Submission folders: files named after students, or folders holding tp1.py / tp1.ipynb."""

from __future__ import annotations

import json
import os

import pytest

from grader.errors import SubmissionError, UsageError
from grader.submissions import check_size, discover, prepared_source, safe_name


def test_files_and_folders_are_found_and_sorted_by_student(tmp_path):
    (tmp_path / "lu-123.ipynb").write_text("{}")
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "tp1.py").write_text("")
    (tmp_path / "zoe.py").write_text("")
    found, skipped = discover(tmp_path, "tp1")
    assert [(s.student, s.path.name) for s in found] == [
        ("ana", "tp1.py"), ("lu-123", "lu-123.ipynb"), ("zoe", "zoe.py")]
    assert skipped == []


def test_other_entries_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "notas.txt").write_text("")
    (tmp_path / "vacia").mkdir()
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "zoe.py").write_text("")
    found, skipped = discover(tmp_path, "tp1")
    assert [s.student for s in found] == ["zoe"]
    assert sorted(s.entry.name for s in skipped) == ["notas.txt", "vacia"]
    assert all(s.reason for s in skipped)


def test_extensions_match_in_any_case_and_the_student_is_the_stem(tmp_path):
    (tmp_path / "ana.PY").write_text("")
    (tmp_path / "bo.IPYNB").write_text("{}")
    (tmp_path / "cy").mkdir()
    (tmp_path / "cy" / "TP1.PY").write_text("")
    found, skipped = discover(tmp_path, "tp1")
    assert [(s.student, s.path.name) for s in found] == [
        ("ana", "ana.PY"), ("bo", "bo.IPYNB"), ("cy", "TP1.PY")]
    assert skipped == []


def test_in_a_student_folder_the_module_wins_over_other_files_in_any_case(tmp_path):
    folder = tmp_path / "ana"
    folder.mkdir()
    (folder / "TP1.Py").write_text("")
    (folder / "borrador.py").write_text("")
    os.utime(folder / "TP1.Py", (1, 1))  # older, yet it is the module
    (found,), _ = discover(tmp_path, "tp1")
    assert found.path.name == "TP1.Py"


def test_a_notebook_with_an_uppercase_extension_is_converted(tmp_path):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1,
         "source": "def f():\n    return 1", "outputs": []}]}
    path = tmp_path / "ana.IPYNB"
    path.write_text(json.dumps(notebook))
    assert prepared_source(path).source == "# celda 1\ndef f():\n    return 1\n"


def test_an_empty_folder_is_a_usage_error_saying_what_was_expected(tmp_path):
    with pytest.raises(UsageError) as error:
        discover(tmp_path, "tp1")
    assert str(error.value) == (
        f"{tmp_path} no tiene ninguna entrega: está vacía; se esperaba, por estudiante, un "
        "archivo NOMBRE.py o NOMBRE.ipynb, o una carpeta NOMBRE/ con tp1.py o tp1.ipynb")
    assert error.value.exit_code == 2


def test_a_folder_with_nothing_recognised_says_what_it_found(tmp_path):
    for name in ("a.txt", "b.pdf", "c.zip"):
        (tmp_path / name).write_text("")
    (tmp_path / "ana").mkdir()
    (tmp_path / "intake.json").write_text('{"students": []}')
    with pytest.raises(UsageError) as error:
        discover(tmp_path, "tp1")
    message = str(error.value)
    assert "se esperaba, por estudiante, un archivo NOMBRE.py o NOMBRE.ipynb" in message
    assert message.endswith("; encontré 3 archivos que no son .py ni .ipynb: a.txt, b.pdf, c.zip; "
                            "encontré 1 carpeta sin tp1.py ni tp1.ipynb: ana")


def test_a_long_list_of_unrecognised_files_is_cut_short(tmp_path):
    for index in range(8):
        (tmp_path / f"f{index}.txt").write_text("")
    with pytest.raises(UsageError, match=r"encontré 8 archivos que no son \.py ni \.ipynb: "
                                         r"f0\.txt, f1\.txt, f2\.txt, f3\.txt, f4\.txt, \.\.\. "
                                         r"\(3 más\)$"):
        discover(tmp_path, "tp1")


def test_with_several_files_the_newest_wins_and_the_others_are_noted(tmp_path):
    folder = tmp_path / "ana"
    folder.mkdir()
    (folder / "tp1.py").write_text("viejo")
    (folder / "tp1.ipynb").write_text("{}")
    os.utime(folder / "tp1.py", (1, 1))
    (found,), _ = discover(tmp_path, "tp1")
    assert found.path.name == "tp1.ipynb"
    assert "tp1.py" in found.notes[0]


def test_a_student_with_a_file_and_a_folder_keeps_one_and_reports_the_other(tmp_path):
    (tmp_path / "ana.py").write_text("")
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "tp1.py").write_text("")
    found, skipped = discover(tmp_path, "tp1")
    assert len(found) == 1 and len(skipped) == 1 and "ya tiene una entrega" in skipped[0].reason


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SubmissionError, match="no es una carpeta de entregas"):
        discover(tmp_path / "no-existe", "tp1")


def test_student_names_become_safe_file_names():
    assert safe_name("José Pérez") == "José_Pérez"
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("...") == "estudiante"


def test_symbolic_links_are_never_followed(tmp_path):
    secret = tmp_path / "referencia.py"
    secret.write_text("SOLUCION = 1\n")
    folder = tmp_path / "entregas"
    (folder / "bruno").mkdir(parents=True)
    (folder / "ana.py").symlink_to(secret)
    (folder / "bruno" / "tp1.py").symlink_to(secret)
    (folder / "carla").symlink_to(tmp_path)
    (folder / "zoe.py").write_text("")
    found, skipped = discover(folder, "tp1")
    assert [s.student for s in found] == ["zoe"]
    reasons = {s.entry.name: s.reason for s in skipped}
    assert "enlace simbólico" in reasons["ana.py"] and "enlace simbólico" in reasons["carla"]
    assert "no tiene tp1.py" in reasons["bruno"]


# --- the size gate (issue 19) --------------------------------------------------------------------


def test_a_file_within_the_size_limit_passes_the_gate(tmp_path):
    path = tmp_path / "tp1.py"
    path.write_text("x = 1\n")
    check_size(path, 0.001)


def test_a_file_over_the_size_limit_is_refused_with_its_size(tmp_path):
    path = tmp_path / "tp1.py"
    path.write_bytes(b"#" * (3 * 2**20))
    with pytest.raises(SubmissionError, match=r"^tu archivo pesa 3\.0 MB y el máximo que se "
                                              r"califica es 2 MB \(\[limits\] max_submission_mb\)$"):
        check_size(path, 2)


def test_a_notebook_over_the_limit_because_of_its_outputs_is_told_to_clear_them(tmp_path):
    image = {"output_type": "display_data", "data": {"image/png": "A" * (3 * 2**20)}, "metadata": {}}
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1,
         "source": "x = 1", "outputs": [image]}]}
    path = tmp_path / "tp1.ipynb"
    path.write_text(json.dumps(notebook))
    with pytest.raises(SubmissionError, match=r"3\.0 MB son salidas de celdas: borralas"):
        check_size(path, 1)


def test_a_binary_file_named_py_is_refused_saying_it_is_not_python(tmp_path):
    # Python would say "source code string cannot contain null bytes" (issue 18).
    path = tmp_path / "tp1.py"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    with pytest.raises(SubmissionError) as error:
        prepared_source(path)
    assert str(error.value) == ("tp1.py es un archivo binario, no código Python; ¿entregaste el "
                                "archivo equivocado?")


def test_a_zip_named_py_says_it_is_a_zip(tmp_path):
    import zipfile

    path = tmp_path / "tp1.py"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tp1.py", "x = 1\n")
    with pytest.raises(SubmissionError, match=r"^tp1\.py es un archivo binario, no código Python: "
                                              r"es un \.zip;"):
        prepared_source(path)


def test_python_saved_as_utf16_or_with_a_bom_is_read_as_text(tmp_path):
    # Windows' Notepad saves "Unicode" as UTF-16 (NUL bytes, yet text) or UTF-8 with a BOM.
    path = tmp_path / "tp1.py"
    path.write_bytes("def f():\n    return 'ñ'\n".encode("utf-16"))
    assert prepared_source(path).source == "def f():\n    return 'ñ'\n"
    path.write_bytes("x = 'ñ'\n".encode("utf-8-sig"))
    assert prepared_source(path).source == "x = 'ñ'\n"
