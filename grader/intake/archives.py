"""The uploaded files, from a zip (as Drive downloads them) or a folder, extracted safely.

A zip is checked entry by entry before anything is written, and refused as a whole, with the
entry and the rule it broke, when one entry has an absolute path, a ``..`` component, is a
symlink or a device (Unix mode in the entry's external attributes), or when the archive passes a
cap: number of entries, total uncompressed size, or compression ratio of one entry (a zip bomb).
Sizes are counted again while extracting, so a header that lies about them gains nothing, and
every path is checked to resolve inside the target folder.

Operating-system leftovers (``__MACOSX/``, ``.DS_Store``, ``._*``, ``Thumbs.db``) are skipped and
listed. Names without the zip's UTF-8 flag (bit 0x800) are read as cp437, as the format says, and
re-decoded as UTF-8 when they are valid UTF-8: macOS and many Windows zippers write UTF-8 names
without setting the flag.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import ArchiveError

_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_JUNK_DIRS = {"__MACOSX"}
_JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps for one archive or folder of uploads.

    Example::

        ArchiveLimits(max_entries=2000, max_total_mb=512)
    """

    max_entries: int = 5000
    """Entries in the zip (folders included) or files in the folder."""
    max_total_mb: float = 2048
    """Uncompressed size of everything, in MiB."""
    max_ratio: float = 200
    """Uncompressed / compressed size of one entry (notebooks and scripts compress ~3-20x)."""
    ratio_min_mb: float = 1
    """Entries smaller than this are not checked for ratio: they cannot be a bomb."""

    @property
    def max_total_bytes(self) -> int:
        return int(self.max_total_mb * 1024 * 1024)


@dataclass(frozen=True)
class UploadedFile:
    name: str
    """Its path inside the zip or folder, ``/``-separated (``Entrega (File responses)/tp1 - Ana.py``)."""
    path: Path
    """Where it is on disk now."""
    modified: dt.datetime | None = None
    """Modification time as stored (naive, for ordering one person's files only)."""

    @property
    def base(self) -> str:
        return PurePosixPath(self.name).name


@dataclass
class Extraction:
    files: list[UploadedFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    """Operating-system leftovers that were skipped (``__MACOSX/...``)."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """``(entry, reason)`` for entries that could not be used: corrupt, encrypted, repeated,
    a symlink in a folder."""


def entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author saw it (see the module docstring), NFC-normalised."""
    name = info.orig_filename
    if not info.flag_bits & _UTF8_FLAG:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass  # really cp437 (old Windows zippers): zipfile already decoded it so
    # macOS writes decomposed accents (NFD): "García" would not equal itself typed on Windows.
    return unicodedata.normalize("NFC", name)


def _is_junk(parts: tuple[str, ...]) -> bool:
    base = parts[-1]
    return (any(p in _JUNK_DIRS for p in parts) or base in _JUNK_FILES or base.startswith("._"))


def _unsafe(name: str, info: zipfile.ZipInfo) -> str | None:
    """Why extracting this entry could write outside the target, or ``None``."""
    if re.match(r"^([/\\]|[A-Za-z]:)", name):
        return "tiene una ruta absoluta"
    if ".." in re.split(r"[/\\]", name):
        return "tiene un componente '..' (saldría de la carpeta de destino)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "es un enlace simbólico"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "es un archivo de dispositivo, FIFO o socket"
    return None


def extract_zip(path: Path, dest: Path, *, limits: ArchiveLimits | None = None) -> Extraction:
    """Extracts the zip ``path`` into the folder ``dest`` (created if needed).

    Raises:
        ArchiveError: not a zip, or refused (see the module docstring); then nothing is left in
            ``dest`` that this call wrote.
    """
    limits = limits or ArchiveLimits()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path.name} no es un zip válido ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise ArchiveError(f"{path.name} rechazado: tiene {len(infos)} entradas; el máximo es "
                               f"{limits.max_entries} (max_entries)")
        plan: list[tuple[zipfile.ZipInfo, str]] = []
        result = Extraction()
        total = 0
        for info in infos:
            name = entry_name(info)
            reason = _unsafe(name, info)
            if reason is None and info.file_size >= limits.ratio_min_mb * 1024 * 1024 and (
                    info.file_size > limits.max_ratio * max(info.compress_size, 1)):
                ratio = info.file_size / max(info.compress_size, 1)
                reason = (f"se expande {ratio:.0f} veces ({info.compress_size} -> {info.file_size} "
                          f"bytes); el máximo es {limits.max_ratio:g} (max_ratio): parece una "
                          f"bomba zip")
            if reason is not None:
                raise ArchiveError(f"{path.name} rechazado: la entrada {name!r} {reason}. No se "
                                   f"extrajo ni se calificó nada de este zip.")
            total += info.file_size
            if total > limits.max_total_bytes:
                raise ArchiveError(f"{path.name} rechazado: descomprimido ocupa más de "
                                   f"{limits.max_total_mb:g} MiB (max_total_mb; se pasa en la "
                                   f"entrada {name!r}). No se extrajo ni se calificó nada.")
            parts = tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))
            if info.is_dir() or not parts:
                continue
            if _is_junk(parts):
                result.ignored.append(name)
                continue
            if info.flag_bits & _ENCRYPTED_FLAG:
                result.problems.append((name, "está cifrado con contraseña: no se puede leer"))
                continue
            plan.append((info, "/".join(parts)))
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []  # files and folders this call created, in creation order
        try:
            _extract_planned(archive, plan, dest, limits, result, written, source=path.name)
        except ArchiveError:
            for item in reversed(written):
                if item.is_dir():
                    item.rmdir()
                else:
                    item.unlink(missing_ok=True)
            raise
    return result


def _extract_planned(archive: zipfile.ZipFile, plan: list[tuple[zipfile.ZipInfo, str]], dest: Path,
                     limits: ArchiveLimits, result: Extraction, written: list[Path], *,
                     source: str) -> None:
    root = dest.resolve()
    seen: set[str] = set()
    total = 0
    for info, relative in plan:
        if relative in seen:
            result.problems.append((relative, "aparece dos veces en el zip: se usó la primera"))
            continue
        seen.add(relative)
        target = (root / relative).resolve()
        if not target.is_relative_to(root):  # already refused above; never trust one check
            raise ArchiveError(f"{source} rechazado: la entrada {relative!r} saldría de la carpeta "
                               "de destino")
        try:
            for folder in reversed([p for p in target.parents if p.is_relative_to(root)
                                    and p != root]):
                if not folder.is_dir():
                    folder.mkdir()
                    written.append(folder)
            size = 0
            with archive.open(info) as member, target.open("wb") as out:
                written.append(target)
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    # zipfile stops at the declared size; count anyway in case it ever does not.
                    if size > info.file_size or total > limits.max_total_bytes:
                        raise ArchiveError(f"{source} rechazado: la entrada {relative!r} se "
                                           f"descomprime a más de lo declarado o del máximo "
                                           f"({limits.max_total_mb:g} MiB, max_total_mb)")
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            target.unlink(missing_ok=True)
            result.problems.append((relative, f"está dañado en el zip ({exc})"))
            continue
        result.files.append(UploadedFile(relative, target, dt.datetime(*info.date_time)))


def scan_folder(path: Path, *, limits: ArchiveLimits | None = None) -> Extraction:
    """Lists the files of the folder ``path`` (nested folders included), without copying.

    Symlinks, devices and FIFOs are not followed: they are listed as problems.

    Raises:
        ArchiveError: the folder passes ``max_entries`` or ``max_total_mb``.
    """
    limits = limits or ArchiveLimits()
    result = Extraction()
    count = total = 0
    for folder, dirs, files in os.walk(path, followlinks=False):
        here = Path(folder)
        for name in sorted(dirs):
            if (here / name).is_symlink():
                result.problems.append(((here / name).relative_to(path).as_posix(),
                                        "es un enlace simbólico a una carpeta: no se sigue"))
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        for name in sorted(files):
            item = here / name
            relative = unicodedata.normalize("NFC", item.relative_to(path).as_posix())
            count += 1
            if count > limits.max_entries:
                raise ArchiveError(f"{path} rechazada: tiene más de {limits.max_entries} archivos "
                                   "(max_entries)")
            info = item.lstat()
            if stat.S_ISLNK(info.st_mode):
                result.problems.append((relative, "es un enlace simbólico: no se sigue"))
                continue
            if not stat.S_ISREG(info.st_mode):
                result.problems.append((relative, "no es un archivo común (dispositivo, FIFO o socket)"))
                continue
            if _is_junk(tuple(relative.split("/"))):
                result.ignored.append(relative)
                continue
            total += info.st_size
            if total > limits.max_total_bytes:
                raise ArchiveError(f"{path} rechazada: ocupa más de {limits.max_total_mb:g} MiB "
                                   f"(max_total_mb; se pasa en {relative!r})")
            result.files.append(UploadedFile(relative, item,
                                             dt.datetime.fromtimestamp(info.st_mtime)))
    return result


def gather(uploads: Path, workdir: Path, *, limits: ArchiveLimits | None = None) -> Extraction:
    """The uploaded files of ``uploads``: a folder is listed in place, a zip is extracted into
    ``workdir``."""
    if uploads.is_dir():
        return scan_folder(uploads, limits=limits)
    if not uploads.is_file():
        raise ArchiveError(f"no existe {uploads}: se esperaba el zip de los archivos subidos al "
                           "formulario o la carpeta donde se descomprimió")
    if not zipfile.is_zipfile(uploads):
        raise ArchiveError(f"{uploads.name} no es un zip ni una carpeta: se esperaba el zip que "
                           "descarga Drive con los archivos subidos al formulario")
    if workdir.exists():
        shutil.rmtree(workdir)
    return extract_zip(uploads, workdir, limits=limits)
