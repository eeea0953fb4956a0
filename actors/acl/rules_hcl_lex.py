"""The tokenizer for the HCL1 subset ACL rules are written in.

What lives here: `tokenize(text)`, yielding `Token`s with 1-based (line, column) positions: identifiers,
double-quoted strings (Go escapes; ``${...}`` kept verbatim as HCL1 does), numbers, ``true``/``false``
and the punctuation ``{ } [ ] = ,``. Comments (``#``, ``//``, ``/* */``) and whitespace are skipped.
Heredocs are refused: every ACL value is a disposition word, which a heredoc (it always ends with a
newline) can never spell, so Consul rejects them too, only later.
What must never live here: grammar (which token may follow which) or anything about ACL resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from .rules_errors import syntax_error

IDENT, STRING, NUMBER, BOOL = "identifier", "string", "number", "bool"
LBRACE, RBRACE, LBRACK, RBRACK, ASSIGN, COMMA, EOF = "'{'", "'}'", "'['", "']'", "'='", "','", "end of input"

_PUNCT = {"{": LBRACE, "}": RBRACE, "[": LBRACK, "]": RBRACK, "=": ASSIGN, ",": COMMA}
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_NUMBER_TAIL = frozenset("0123456789abcdefABCDEFxXoO._+-")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: object  # str for IDENT/STRING/NUMBER, bool for BOOL, None otherwise
    pos: tuple[int, int]

    def describe(self) -> str:
        if self.kind in (IDENT, NUMBER):
            return f"{self.kind} {self.value}"
        if self.kind == STRING:
            return f"string {self.value!r}"
        if self.kind == BOOL:
            return "true" if self.value else "false"
        return self.kind


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start = 0

    def pos(self, i: int | None = None) -> tuple[int, int]:
        return (self.line, (self.i if i is None else i) - self.line_start + 1)

    def _newlines_upto(self, end: int) -> None:
        """Account for the newlines in text[i:end] and move i to end."""
        chunk = self.text[self.i : end]
        count = chunk.count("\n")
        if count:
            self.line += count
            self.line_start = self.i + chunk.rindex("\n") + 1
        self.i = end

    def skip_blanks(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c == "\n":
                self.line += 1
                self.i += 1
                self.line_start = self.i
            elif c in " \t\r\f\v\ufeff":
                self.i += 1
            elif c == "#" or text.startswith("//", self.i):
                end = text.find("\n", self.i)
                self.i = n if end < 0 else end
            elif text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                if end < 0:
                    raise syntax_error(self.pos(), "comment not terminated")
                self._newlines_upto(end + 2)
            else:
                return

    def string(self) -> str:
        text, n = self.text, len(self.text)
        start = self.pos()
        self.i += 1  # opening quote
        out: list[str] = []
        interpolation_depth = 0
        while True:
            if self.i >= n or text[self.i] == "\n":
                raise syntax_error(start, "string literal not terminated")
            c = text[self.i]
            if interpolation_depth:
                # HCL1 keeps ${...} verbatim; quotes inside it do not end the string.
                if c == "}":
                    interpolation_depth -= 1
                elif c == "$" and text.startswith("${", self.i):
                    interpolation_depth += 1
                    out.append("$")
                    c = "{"
                    self.i += 1
                out.append(c)
                self.i += 1
            elif c == '"':
                self.i += 1
                return "".join(out)
            elif c == "$" and text.startswith("${", self.i):
                interpolation_depth = 1
                out.append("${")
                self.i += 2
            elif c == "\\":
                out.append(self.escape())
            else:
                out.append(c)
                self.i += 1

    def escape(self) -> str:
        text = self.text
        at = self.pos()
        kind = text[self.i + 1 : self.i + 2]
        if kind in _SIMPLE_ESCAPES:
            self.i += 2
            return _SIMPLE_ESCAPES[kind]
        if kind in _HEX_ESCAPES:
            width = _HEX_ESCAPES[kind]
            digits = text[self.i + 2 : self.i + 2 + width]
            if len(digits) != width or not _HEX.issuperset(digits):
                raise syntax_error(at, f"invalid escape \\{kind}: want {width} hex digits")
            code = int(digits, 16)
        elif kind in _OCT:
            digits = text[self.i + 1 : self.i + 4]
            if len(digits) != 3 or not _OCT.issuperset(digits):
                raise syntax_error(at, "invalid octal escape: want 3 octal digits")
            code, width = int(digits, 8), 2
            if code > 0xFF:
                raise syntax_error(at, f"invalid octal escape \\{digits}")
        else:
            shown = repr(kind) if kind else "end of input"
            raise syntax_error(at, f"invalid escape sequence \\ followed by {shown}")
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise syntax_error(at, f"escape \\{kind}{digits} is not a valid Unicode code point")
        self.i += 2 + width
        return chr(code)

    def word(self, allowed: frozenset[str] | None) -> str:
        text, n = self.text, len(self.text)
        start = self.i
        self.i += 1
        while self.i < n:
            c = text[self.i]
            if allowed is None:
                if not (c.isalnum() or c in "_-."):
                    break
            elif c not in allowed:
                break
            self.i += 1
        return text[start : self.i]


def tokenize(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text``, ending with one EOF token. Raises `RulesError` on bad input."""
    s = _Scanner(text)
    n = len(text)
    while True:
        s.skip_blanks()
        pos = s.pos()
        if s.i >= n:
            yield Token(EOF, None, pos)
            return
        c = text[s.i]
        if c in _PUNCT:
            s.i += 1
            yield Token(_PUNCT[c], None, pos)
        elif c == '"':
            yield Token(STRING, s.string(), pos)
        elif c in "0123456789" or (c == "-" and text[s.i + 1 : s.i + 2].isdigit()):
            yield Token(NUMBER, s.word(_NUMBER_TAIL), pos)
        elif c == "_" or c.isalpha():
            word = s.word(None)
            if word in ("true", "false"):
                yield Token(BOOL, word == "true", pos)
            else:
                yield Token(IDENT, word, pos)
        elif text.startswith("<<", s.i):
            raise syntax_error(pos, "heredoc strings are not accepted in ACL rules; use a quoted string")
        else:
            raise syntax_error(pos, f"illegal character {c!r}")

