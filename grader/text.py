"""Student text made safe to show: no terminal controls, a bounded length.

What student code prints, raises or names reaches ``grader check``'s terminal, the Markdown and
HTML feedback, the result JSON and GitHub's job summary. A terminal obeys escape sequences in it:
OSC 52 writes the clipboard, OSC 8 draws a link whose text is not its target, CSI moves the cursor
and erases what the grader printed (issue 15). ``clean`` removes them where student text enters a
result (``grader.engine.session``, ``grader.engine.plugin``) and again where results are rendered, since a
result file may come from an older grader.
"""

from __future__ import annotations

import re

#: Caps, in characters, on the parts of a student's exception: a check's message carries them,
#: and an import's exception is repeated in every check (a 12 MB type name made ~264 MB of result
#: files for one submission, issue 15).
TYPE_NAME_CAP, MESSAGE_CAP, TRACEBACK_CAP = 200, 4000, 8000
#: Cap on a whole check's message (a student's exception and its traceback fit).
CHECK_MESSAGE_CAP = 16384

_CONTROLS = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: cursor moves, erasing, colours (the final byte may be cut)
    r"|\x1b[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC, up to BEL or ST
    r"|\x1b[ -/]*[0-~]?"  # any other escape (charset, keypad mode, reset)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # CSI in its one-character (C1) form
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\n\x9c]*(?:\x07|\x1b\\|\x9c)?"  # C1 OSC, DCS, ...
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # other C0 controls but \t and \n, DEL, C1 controls
    # Bidirectional overrides reorder what is shown around them (a "Trojan source" message).
    r"|[\u202a-\u202e\u2066-\u2069]"
    r"|[\ud800-\udfff]")  # lone surrogates: not text, and no UTF-8 writer accepts them


def clean(text: str, limit: int | None = None) -> str:
    """``text`` without terminal controls, cut to ``limit`` characters with a visible marker.

    Keeps newlines, tabs and every printable character (accents, ñ, emoji). An escape sequence
    is removed whole where it can be recognised, otherwise its control characters are.

    Example:
        >>> clean("ok\\x1b]52;c;aG9sYQ==\\x07 listo")
        'ok listo'
        >>> clean("a" * 10, limit=4)
        'aaaa… [recortado: 6 caracteres más]'
    """
    dropped = 0
    if limit is not None and len(text) > limit:
        # Cut first: cleaning a 12 MB string only to cut it would cost the time it saves.
        text, dropped = text[:limit], len(text) - limit
    text = _CONTROLS.sub("", text)
    return f"{text}… [recortado: {dropped} caracteres más]" if dropped else text


_SIGNATURES = (
    (b"PK\x03\x04", "un .zip"), (b"PK\x05\x06", "un .zip"), (b"%PDF", "un PDF"),
    (b"\x89PNG", "una imagen PNG"), (b"\xff\xd8\xff", "una imagen JPEG"), (b"\x1f\x8b", "un .gz"),
    (b"Rar!", "un .rar"), (b"7z\xbc\xaf", "un .7z"),
    (b"\xd0\xcf\x11\xe0", "un documento de Office viejo (.doc, .xls)"),
)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
"""How a text file saved as UTF-16 starts (Windows' Notepad "Unicode"): text, with NUL bytes."""


def binary_kind(data: bytes) -> str | None:
    """What a file that should hold text is when it does not: ``"un .zip"``, ``"un PDF"``, ...,
    ``"un archivo binario"`` when nothing more is known; ``None`` when it looks like text.

    Example:
        >>> binary_kind(b"PK\\x03\\x04...")
        'un .zip'
        >>> binary_kind("def f():\\n    return 1\\n".encode()) is None
        True
    """
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data.startswith(UTF16_BOMS):
        return None
    return "un archivo binario" if b"\x00" in data else None
