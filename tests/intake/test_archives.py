"""Uploads are extracted safely: a zip that could write outside its folder or blow up is refused
whole, with the entry and the rule; names in any encoding the zippers use come out right."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from grader.intake.archives import (
    ArchiveError,
    ArchiveLimits,
    entry_name,
    extract_zip,
    gather,
    scan_folder,
)


class RawName(zipfile.ZipInfo):
    """An entry whose stored name is exactly ``raw``, with no UTF-8 flag (as old zippers do)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw.decode("cp437"))
        self.raw = raw

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.raw, self.flag_bits & ~0x800


def make_zip(path: Path, *entries: tuple[str | zipfile.ZipInfo, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) if folder.exists() else []


def test_nested_folders_are_extracted_in_place(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("Entrega/Archivos/tp1 - Ana.py", b"x = 1\n"),
                        ("Entrega/", b""), ("otra/tp1 - Bruno.ipynb", b"{}"))
    result = extract_zip(zip_path, tmp_path / "out")
    assert [(f.name, f.path.read_bytes()) for f in result.files] == [
        ("Entrega/Archivos/tp1 - Ana.py", b"x = 1\n"), ("otra/tp1 - Bruno.ipynb", b"{}")]
    assert result.files[0].path == tmp_path / "out" / "Entrega" / "Archivos" / "tp1 - Ana.py"


@pytest.mark.parametrize(("entry", "rule"), [
    ("/etc/cron.d/evil", "tiene una ruta absoluta"),
    ("C:/Windows/evil.py", "tiene una ruta absoluta"),
    ("../evil.py", "tiene un componente '..'"),
    ("Entrega/../../evil.py", "tiene un componente '..'"),
    ("Entrega\\..\\..\\evil.py", "tiene un componente '..'"),
])
def test_paths_that_leave_the_target_refuse_the_whole_zip(tmp_path, entry, rule):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana.py", b"ok"), (entry, b"evil"))
    with pytest.raises(ArchiveError) as caught:
        extract_zip(zip_path, tmp_path / "deep" / "out")
    assert f"la entrada {entry!r} {rule}" in str(caught.value)
    assert "No se extrajo ni se calificó nada" in str(caught.value)
    assert files_under(tmp_path) == ["u.zip"]  # not even the target folder was created


@pytest.mark.parametrize(("mode", "rule"), [
    (stat.S_IFLNK | 0o777, "es un enlace simbólico"),
    (stat.S_IFCHR | 0o666, "es un archivo de dispositivo"),
    (stat.S_IFIFO | 0o666, "es un archivo de dispositivo, FIFO o socket"),
])
def test_symlinks_and_devices_refuse_the_whole_zip(tmp_path, mode, rule):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana.py", b"ok"),
                        (with_mode("tp1 - Bruno.py", mode), b"/etc/passwd"))
    with pytest.raises(ArchiveError, match=f"la entrada 'tp1 - Bruno.py' {rule}"):
        extract_zip(zip_path, tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana.ipynb", b"\0" * (4 << 20)))
    with pytest.raises(ArchiveError, match=r"'tp1 - Ana.ipynb' se expande \d+ veces .*el máximo es "
                                           r"200 \(max_ratio\): parece una bomba zip"):
        extract_zip(zip_path, tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_small_entries_that_compress_well_are_not_bombs(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana.py", b"#" * 100_000))
    assert [f.name for f in extract_zip(zip_path, tmp_path / "out").files] == ["tp1 - Ana.py"]


def test_a_zip_bomb_is_refused_by_its_total_size(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("a - A.py", os.urandom(700)), ("b - B.py", os.urandom(700)))
    with pytest.raises(ArchiveError, match=r"más de 0.001 MiB \(max_total_mb; se pasa en la entrada "
                                           r"'b - B.py'\)"):
        extract_zip(zip_path, tmp_path / "out", limits=ArchiveLimits(max_total_mb=0.001))
    assert files_under(tmp_path / "out") == []


def test_too_many_entries_refuse_the_zip(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", *((f"{i} - X.py", b"") for i in range(4)))
    with pytest.raises(ArchiveError, match=r"tiene 4 entradas; el máximo es 3 \(max_entries\)"):
        extract_zip(zip_path, tmp_path / "out", limits=ArchiveLimits(max_entries=3))


def test_a_header_that_lies_about_the_size_extracts_nothing_more(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana.py", b"a" * 100_000), ("tp1 - Bea.py", b"ok"))
    data = bytearray(zip_path.read_bytes())
    declared = (100_000).to_bytes(4, "little")
    assert data.count(declared) == 2  # the local header and the central directory
    zip_path.write_bytes(bytes(data).replace(declared, (1000).to_bytes(4, "little")))
    result = extract_zip(zip_path, tmp_path / "out")
    assert [f.name for f in result.files] == ["tp1 - Bea.py"]
    assert [(entry, "está dañado en el zip" in why) for entry, why in result.problems] == [
        ("tp1 - Ana.py", True)]
    assert files_under(tmp_path / "out") == ["tp1 - Bea.py"]


def test_a_corrupt_entry_is_listed_and_the_others_are_extracted(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana.py", os.urandom(2000)), ("tp1 - Bea.py", b"ok"))
    data = bytearray(zip_path.read_bytes())
    data[200] ^= 0xFF  # inside Ana's data
    zip_path.write_bytes(bytes(data))
    result = extract_zip(zip_path, tmp_path / "out")
    assert [f.name for f in result.files] == ["tp1 - Bea.py"]
    assert result.problems[0][0] == "tp1 - Ana.py"
    assert "dañado" in result.problems[0][1]


@pytest.mark.parametrize("encoding", ["cp437", "utf-8"])
def test_names_without_the_utf8_flag_are_decoded_as_their_zipper_wrote_them(tmp_path, encoding):
    raw = "Entrega/Peña - Ñandú.ipynb".encode(encoding)
    zip_path = make_zip(tmp_path / "u.zip", (RawName(raw), b"{}"))
    with zipfile.ZipFile(zip_path) as archive:
        (info,) = archive.infolist()
    assert not info.flag_bits & 0x800
    assert entry_name(info) == "Entrega/Peña - Ñandú.ipynb"
    (found,) = extract_zip(zip_path, tmp_path / "out").files
    assert found.path == tmp_path / "out" / "Entrega" / "Peña - Ñandú.ipynb"
    assert found.base == "Peña - Ñandú.ipynb"


def test_macos_decomposed_accents_become_composed(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("tp1 - Ana Garci\u0301a.py", b""))
    assert [f.name for f in extract_zip(zip_path, tmp_path / "out").files] == ["tp1 - Ana García.py"]


def test_operating_system_leftovers_are_skipped_and_listed(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("E/tp1 - Ana.py", b"x"), ("__MACOSX/E/._tp1 - Ana.py", b"m"),
                        ("E/.DS_Store", b"d"), ("E/._tp1 - Ana.py", b"m"), ("E/Thumbs.db", b"t"))
    result = extract_zip(zip_path, tmp_path / "out")
    assert [f.name for f in result.files] == ["E/tp1 - Ana.py"]
    assert result.ignored == ["__MACOSX/E/._tp1 - Ana.py", "E/.DS_Store", "E/._tp1 - Ana.py",
                              "E/Thumbs.db"]
    assert files_under(tmp_path / "out") == ["E", "E/tp1 - Ana.py"]


def test_a_leftover_path_that_escapes_is_still_refused(tmp_path):
    zip_path = make_zip(tmp_path / "u.zip", ("__MACOSX/../../evil", b"x"))
    with pytest.raises(ArchiveError, match=r"componente '\.\.'"):
        extract_zip(zip_path, tmp_path / "out")


def test_a_folder_is_listed_in_place_without_following_symlinks(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "Entrega" / "sub").mkdir(parents=True)
    (uploads / "Entrega" / "sub" / "tp1 - Ana.py").write_text("x")
    (uploads / "Entrega" / ".DS_Store").write_text("")
    (tmp_path / "secret").write_text("s")
    (uploads / "Entrega" / "tp1 - Eve.py").symlink_to(tmp_path / "secret")
    (uploads / "afuera").symlink_to(tmp_path, target_is_directory=True)
    result = scan_folder(uploads)
    assert [(f.name, f.path) for f in result.files] == [
        ("Entrega/sub/tp1 - Ana.py", uploads / "Entrega" / "sub" / "tp1 - Ana.py")]
    assert result.ignored == ["Entrega/.DS_Store"]
    assert result.problems == [("afuera", "es un enlace simbólico a una carpeta: no se sigue"),
                               ("Entrega/tp1 - Eve.py", "es un enlace simbólico: no se sigue")]


def test_a_folder_over_the_caps_is_refused(tmp_path):
    for i in range(3):
        (tmp_path / f"{i} - X.py").write_text("x")
    with pytest.raises(ArchiveError, match=r"más de 2 archivos \(max_entries\)"):
        scan_folder(tmp_path, limits=ArchiveLimits(max_entries=2))


def test_uploads_that_are_neither_a_zip_nor_a_folder_are_a_clear_error(tmp_path):
    (tmp_path / "uploads.rar").write_bytes(b"Rar!\x1a\x07\x00")
    with pytest.raises(ArchiveError, match=r"uploads\.rar no es un zip ni una carpeta"):
        gather(tmp_path / "uploads.rar", tmp_path / "work")
    with pytest.raises(ArchiveError, match="no existe"):
        gather(tmp_path / "nada.zip", tmp_path / "work")


def test_more_data_than_declared_refuses_the_zip_and_removes_what_was_written(tmp_path, monkeypatch):
    zip_path = make_zip(tmp_path / "u.zip", ("a/tp1 - Ana.py", b"ok"), ("b/c/tp1 - Eve.py", b"tiny"))
    real_open = zipfile.ZipFile.open

    def lying_open(self, member, *args, **kwargs):  # a zipfile that stopped enforcing sizes
        if getattr(member, "filename", member).endswith("Eve.py"):
            return io.BytesIO(b"x" * 10_000)
        return real_open(self, member, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", lying_open)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ya-estaba.txt").write_text("")
    with pytest.raises(ArchiveError, match=r"'b/c/tp1 - Eve.py' se descomprime a más de lo declarado"):
        extract_zip(zip_path, tmp_path / "out")
    assert files_under(tmp_path / "out") == ["ya-estaba.txt"]
