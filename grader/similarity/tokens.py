"""A submission's source as the normalised token stream that similarity compares, split into its
top-level functions and classes.

What normalising keeps and drops, and why (issue 22):

- Comments, docstrings (any bare string statement), blank lines, indentation, line breaks
  inside brackets and trailing commas are dropped: reformatting or rewording a comment never
  hides a copy.
- A statement's end (a line break or ``;``) is one token ``;``.
- Every literal (number, string, f-string) becomes ``L``; every name a student chooses becomes
  ``V``: renaming a variable, a helper or a parameter changes nothing.
- Keywords, operators and brackets stay, and so do two kinds of names a copier does not choose:
  Python's builtins (``range``, ``len``, ``zip``) and attribute names (``np.einsum``,
  ``x.reshape``, ``nn.LSTM``), except attributes of ``self`` (``self.fc1`` is the student's own
  name). Keeping library calls makes two solutions that take different routes (im2col against
  einsum, a ``DataLoader`` against manual batches) look different, which is what keeps
  independent solutions of the same exercise apart; the price is that a copier who swaps
  ``np.dot`` for ``@`` breaks a match there, which only shortens the shared region around it.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass

MODULE_LEVEL = "(nivel de módulo)"
"""The unit that holds everything outside top-level functions and classes (imports, constants,
top-level code)."""

_KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(n for n in dir(builtins) if not n.startswith("_"))
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}
_LINE_STARTS = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
# Python 3.12 splits an f-string into several tokens; each f-string is still one literal.
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class Token:
    text: str
    """The normalised text: ``V``, ``L``, ``;``, a keyword, an operator or a kept name."""
    start: int
    """Offset of its first character in the source."""
    end: int
    """Offset just after its last character."""
    line: int
    """Line of its first character (1-based)."""
    opens_body: bool = False
    """The first token after a ``def`` header's ``:``. No k-gram crosses into a body: the header
    is the contract's given line, and a k-gram of it plus one generic body token (``V``) would
    otherwise match every submission that starts its body with an assignment."""


@dataclass(frozen=True)
class Unit:
    name: str
    """The function's or class's name, or ``MODULE_LEVEL``; a name defined twice gets `` (2)``."""
    first_line: int
    """First line (1-based, decorators included)."""
    last_line: int
    """Last line (inclusive)."""
    tokens: tuple[Token, ...]


def _raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """The tokens ``tokenize`` gives, up to the first error (a broken file still compares on
    what precedes it)."""
    found: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            found.append(tok)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def _offsets(source: str) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def normalise(source: str) -> list[Token]:
    """The normalised tokens of ``source``."""
    raw = [t for t in _raw_tokens(source) if t.type not in (tokenize.COMMENT, tokenize.NL)]
    starts = _offsets(source)
    starts.append(starts[-1])  # tokenize may place a token on the line after the last one

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    out: list[Token] = []
    header_depth: int | None = None  # bracket depth inside a def header; None outside one
    body_next = False
    i = 0
    while i < len(raw):
        tok = raw[i]
        if tok.type == _FSTRING_START:
            j = i
            while j < len(raw) - 1 and raw[j].type != _FSTRING_END:
                j += 1
            out.append(Token("L", offset(tok.start), offset(raw[j].end), tok.start[0]))
            i = j + 1
            continue
        if tok.type == tokenize.STRING and (i == 0 or raw[i - 1].type in _LINE_STARTS):
            # A bare string statement (a docstring, or a string used as a comment): skip it and
            # the statement's end.
            j = i
            while j < len(raw) and raw[j].type == tokenize.STRING:
                j += 1
            if j >= len(raw) or raw[j].type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                i = j + 1
                continue
        i += 1
        if tok.type in _SKIPPED:
            continue
        text = _text(tok, raw[i - 2] if i >= 2 else None, raw[i - 3] if i >= 3 else None)
        if text == ";" and (not out or out[-1].text == ";"):
            continue
        if text in (")", "]", "}") and out and out[-1].text == ",":
            out.pop()  # a trailing comma is layout (formatters add it)
        opens = body_next and text != ";"
        out.append(Token(text, offset(tok.start), offset(tok.end), tok.start[0], opens))
        body_next = body_next and not opens
        if text == "def":
            header_depth = 0
        elif header_depth is not None and text in ("(", "[", "{"):
            header_depth += 1
        elif header_depth is not None and text in (")", "]", "}"):
            header_depth -= 1
        elif header_depth == 0 and text == ":":
            header_depth, body_next = None, True
    return out


def _text(tok: tokenize.TokenInfo, before: tokenize.TokenInfo | None,
          before2: tokenize.TokenInfo | None) -> str:
    if tok.type == tokenize.NEWLINE or (tok.type == tokenize.OP and tok.string == ";"):
        return ";"
    if tok.type in (tokenize.STRING, tokenize.NUMBER):
        return "L"
    if tok.type != tokenize.NAME:
        return tok.string
    if tok.string in _KEEP_NAMES:
        return tok.string
    if before is not None and before.string == "." and not (before2 is not None
                                                           and before2.string == "self"):
        return tok.string
    return "V"


def _spans(source: str) -> list[tuple[str, int, int]]:
    """``(name, first line, last line)`` of each top-level function and class, in file order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans.append((node.name, first, node.end_lineno or node.lineno))
    return spans


def units(source: str) -> list[Unit]:
    """The top-level functions and classes of ``source``, then ``MODULE_LEVEL`` (if it has
    tokens), each with its normalised tokens. A file that does not parse is one module-level
    unit."""
    tokens = normalise(source)
    spans = _spans(source)
    seen: dict[str, int] = {}
    found: list[Unit] = []
    owned: set[int] = set()
    lines = [tok.line for tok in tokens]  # in order: a unit's tokens are one slice
    for name, first, last in spans:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name} ({seen[name]})"
        mine = range(bisect.bisect_left(lines, first), bisect.bisect_right(lines, last))
        owned.update(mine)
        found.append(Unit(label, first, last, tuple(tokens[i] for i in mine)))
    rest = tuple(tok for i, tok in enumerate(tokens) if i not in owned)
    if rest:
        found.append(Unit(MODULE_LEVEL, rest[0].line, rest[-1].line, rest))
    return found
