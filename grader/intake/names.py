"""Comparing people's names and ids as they come from forms, rosters and upload file names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

# Google Forms names an upload "<original name> - <respondent name>.<ext>"; Drive adds " (1)" when
# a folder already holds that name.
_UPLOAD = re.compile(r"^(?P<original>.*) - (?P<respondent>.+?)(?:\s*\(\d+\))?$", re.DOTALL)


def fold(text: str) -> str:
    """Lower case, no accents, only letters and digits separated by one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"[^\W_]+", plain))


def name_key(name: str) -> str:
    """A person's name for matching: accents, case, punctuation and word order do not matter, so
    "García, Ana" (rosters) and "ana garcia" (forms) are the same person."""
    return " ".join(sorted(fold(name).split()))


def student_id_key(value: str) -> str:
    """A student id (padrón) for matching: "100.001", " 100001 " and "100001" are the same."""
    cleaned = value.strip()
    compact = re.sub(r"[\s.]", "", cleaned)
    return compact if compact.isdigit() else cleaned.casefold()


def email_key(value: str) -> str:
    return value.strip().casefold()


def split_upload_name(file_name: str) -> tuple[str, str] | None:
    """``(original name, respondent name)`` of a Google Forms upload, or ``None`` if the name has
    no ``" - "``. The extension stays on neither part: ``"tp1 - Ana García.ipynb"`` gives
    ``("tp1", "Ana García")``."""
    stem = PurePosixPath(file_name).stem
    match = _UPLOAD.match(stem)
    if match is None:
        return None
    return match["original"].strip(), match["respondent"].strip()
