"""Tokenizer for Consul ``filter=`` expressions (the go-bexpr language).

What lives here: `tokenize`, turning expression text into a list of `Token`s, and the decoding of the
lexical forms: bare selector paths (``Service.Meta["k"].0``), double-quoted strings with Go escapes,
backtick raw strings, number literals, ``==``/``!=`` and parentheses.

Lexical facts taken from go-bexpr's grammar:

* an identifier is ``[A-Za-z][A-Za-z0-9_]*``; a selector path continues with ``.ident``, ``.123``
  (a list index) or ``["key"]`` / ``[`key`]`` (any map key), with no whitespace before ``.`` or ``[``;
* keywords (``and or not in contains is empty nil matches``) are ordinary identifiers to the lexer:
  the parser decides from context, as the PEG grammar does;
* a number is ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?`` and must be followed by whitespace, ``)`` or the end,
  otherwise it is an "Invalid number literal" (so ``10.10.10.10`` must be quoted);
* whitespace is ``[ \\t\\r\\n]``.

Unlike go-bexpr (whose grammar stops a double-quoted string at the first ``"``), ``\\"`` inside a
double-quoted string is an escaped quote.

What must never live here: grammar decisions (precedence, what may follow what) or evaluation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from .errors import FilterError

WHITESPACE = " \t\r\n"
KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "is", "empty", "nil", "matches"})

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


class Kind(enum.Enum):
    PATH = "selector"  # a bare identifier path; `value` is the tuple of its parts
    STRING = "string"  # `value` is the decoded text; `quote` is '"' or '`'
    NUMBER = "number"  # `value` is the literal text
    EQ = "=="
    NE = "!="
    LPAREN = "("
    RPAREN = ")"
    EOF = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the exact source text of the token
    value: Any
    pos: int  # 0-based character offset of the first character
    quote: str = ""

    def is_word(self, word: str) -> bool:
        """True for a bare single identifier spelled `word` (how keywords are recognized)."""
        return self.kind is Kind.PATH and self.text == word

    def describe(self) -> str:
        if self.kind is Kind.EOF:
            return "end of input"
        return repr(self.text) if len(self.text) <= 40 else repr(self.text[:37] + "...")


def _is_ident_start(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _is_ident_char(ch: str) -> bool:
    return _is_ident_start(ch) or ("0" <= ch <= "9") or ch == "_"


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.i = 0

    def error(self, detail: str, pos: int) -> FilterError:
        return FilterError(detail, expression=self.text, offset=pos)

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < self.n else ""

    def run(self) -> list[Token]:
        out: list[Token] = []
        text = self.text
        while True:
            while self.i < self.n and text[self.i] in WHITESPACE:
                self.i += 1
            if self.i >= self.n:
                out.append(Token(Kind.EOF, "", None, self.n))
                return out
            start = self.i
            ch = text[start]
            if _is_ident_start(ch):
                out.append(self.path())
            elif ch == '"' or ch == "`":
                value, quote = self.string()
                out.append(Token(Kind.STRING, text[start : self.i], value, start, quote))
            elif ch == "-" and start > 0 and _is_ident_char(text[start - 1]):
                raise self.error(
                    'unexpected "-": bare values may only contain letters, digits and "_"; '
                    'quote values such as "web-1"',
                    start,
                )
            elif _is_digit(ch) or ch == "-":
                out.append(self.number())
            elif ch == "=" and self.peek(1) == "=":
                self.i += 2
                out.append(Token(Kind.EQ, "==", None, start))
            elif ch == "!" and self.peek(1) == "=":
                self.i += 2
                out.append(Token(Kind.NE, "!=", None, start))
            elif ch == "(":
                self.i += 1
                out.append(Token(Kind.LPAREN, "(", None, start))
            elif ch == ")":
                self.i += 1
                out.append(Token(Kind.RPAREN, ")", None, start))
            elif ch == "=":
                raise self.error('unexpected "="; equality is written "=="', start)
            else:
                raise self.error(f"unexpected character {ch!r}", start)

    def ident(self) -> str:
        start = self.i
        self.i += 1
        while self.i < self.n and _is_ident_char(self.text[self.i]):
            self.i += 1
        return self.text[start : self.i]

    def path(self) -> Token:
        start = self.i
        parts = [self.ident()]
        while True:
            ch = self.peek()
            if ch == ".":
                nxt = self.peek(1)
                if _is_ident_start(nxt):
                    self.i += 1
                    parts.append(self.ident())
                elif _is_digit(nxt):
                    self.i += 1
                    j = self.i
                    while self.i < self.n and _is_digit(self.text[self.i]):
                        self.i += 1
                    parts.append(self.text[j : self.i])
                else:
                    raise self.error("expected a field name or list index after '.'", self.i + 1)
            elif ch == "[":
                bracket = self.i
                self.i += 1
                self.skip_ws()
                if self.peek() not in ('"', "`"):
                    raise self.error('rule "index": Invalid index', bracket)
                key, _ = self.string()
                self.skip_ws()
                if self.peek() != "]":
                    raise self.error('rule "index": Unclosed index expression', bracket)
                self.i += 1
                parts.append(key)
            else:
                break
        return Token(Kind.PATH, self.text[start : self.i], tuple(parts), start)

    def skip_ws(self) -> None:
        while self.i < self.n and self.text[self.i] in WHITESPACE:
            self.i += 1

    def number(self) -> Token:
        start = self.i
        text = self.text
        if self.peek() == "-":
            self.i += 1
            if not _is_digit(self.peek()):
                raise self.error('rule "number": Invalid number literal', start)
        if self.peek() == "0":
            self.i += 1
        else:
            while self.i < self.n and _is_digit(text[self.i]):
                self.i += 1
        if self.peek() == "." and _is_digit(self.peek(1)):
            self.i += 1
            while self.i < self.n and _is_digit(text[self.i]):
                self.i += 1
        follow = self.peek()
        if follow != "" and follow not in WHITESPACE and follow != ")":
            # go-bexpr reports this at the first character after the well-formed prefix.
            raise self.error('rule "number": Invalid number literal', self.i)
        return Token(Kind.NUMBER, text[start : self.i], text[start : self.i], start)

    def string(self) -> tuple[str, str]:
        """Decode the string literal at the cursor; returns (value, quote character)."""
        start = self.i
        quote = self.text[start]
        self.i += 1
        if quote == "`":
            end = self.text.find("`", self.i)
            if end < 0:
                raise self.error('rule "string": Unterminated string literal', start)
            value = self.text[self.i : end]
            self.i = end + 1
            return value, quote
        out: list[str] = []
        text = self.text
        while True:
            if self.i >= self.n:
                raise self.error('rule "string": Unterminated string literal', start)
            ch = text[self.i]
            if ch == '"':
                self.i += 1
                return "".join(out), quote
            if ch != "\\":
                out.append(ch)
                self.i += 1
                continue
            esc_pos = self.i
            esc = self.peek(1)
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                self.i += 2
            elif esc in ("x", "u", "U"):
                width = {"x": 2, "u": 4, "U": 8}[esc]
                digits = text[self.i + 2 : self.i + 2 + width]
                if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                    raise self.error(f"invalid escape sequence \\{esc} in string literal", esc_pos)
                code = int(digits, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise self.error("invalid Unicode code point in string literal", esc_pos)
                out.append(chr(code))
                self.i += 2 + width
            elif esc in "01234567" and esc != "":
                digits = text[self.i + 1 : self.i + 4]
                if len(digits) != 3 or any(c not in "01234567" for c in digits) or int(digits, 8) > 255:
                    raise self.error("invalid octal escape in string literal", esc_pos)
                out.append(chr(int(digits, 8)))
                self.i += 4
            elif esc == "":
                raise self.error('rule "string": Unterminated string literal', start)
            else:
                raise self.error(f"invalid escape sequence \\{esc} in string literal", esc_pos)


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens, ending with an EOF token; raises `FilterError` on lexical errors."""
    return _Lexer(text).run()
