"""Syntax tree of a filter expression, and the printer that turns a tree back into expression text.

What lives here: the immutable node types (`Match`, `Not`, `And`, `Or`, plus `Selector`/`Value`),
the `MatchOp` enumeration, and `to_text`, whose output re-parses to an equal tree.

Shape follows go-bexpr: ``and``/``or`` are binary and right-nested (``a or b or c`` is
``Or(a, Or(b, c))``); ``<Selector> contains <Value>`` and ``<Value> in <Selector>`` are the same node
(`MatchOp.IN`), as are their negations. Source positions are kept on nodes for error messages but take
no part in equality.

What must never live here: parsing, evaluation, data access.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Union

from .lexer import KEYWORDS

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
_BARE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.([A-Za-z][A-Za-z0-9_]*|[0-9]+))*")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


class MatchOp(enum.Enum):
    EQUAL = "=="
    NOT_EQUAL = "!="
    IN = "in"  # also written `<Selector> contains <Value>`
    NOT_IN = "not in"  # also written `<Selector> not contains <Value>`
    IS_EMPTY = "is empty"
    IS_NOT_EMPTY = "is not empty"
    MATCHES = "matches"
    NOT_MATCHES = "not matches"
    IS_NIL = "is nil"
    IS_NOT_NIL = "is not nil"

    @property
    def takes_value(self) -> bool:
        return self not in _NO_VALUE

    @property
    def go_name(self) -> str:
        """The operator's name as go-bexpr prints it in error messages."""
        return _GO_NAMES[self]


_NO_VALUE = frozenset({MatchOp.IS_EMPTY, MatchOp.IS_NOT_EMPTY, MatchOp.IS_NIL, MatchOp.IS_NOT_NIL})
_GO_NAMES = {
    MatchOp.EQUAL: "Equal",
    MatchOp.NOT_EQUAL: "Not Equal",
    MatchOp.IN: "In",
    MatchOp.NOT_IN: "Not In",
    MatchOp.IS_EMPTY: "Is Empty",
    MatchOp.IS_NOT_EMPTY: "Is Not Empty",
    MatchOp.MATCHES: "Matches",
    MatchOp.NOT_MATCHES: "Not Matches",
    MatchOp.IS_NIL: "Is Nil",
    MatchOp.IS_NOT_NIL: "Is Not Nil",
}


@dataclass(frozen=True, slots=True)
class Selector:
    """A path into the record. ``pointer`` is True when written as a quoted JSON Pointer."""

    path: tuple[str, ...]
    pointer: bool = False
    pos: int = field(default=0, compare=False)

    def __str__(self) -> str:
        if self.pointer:
            return "/" + "/".join(self.path)
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Value:
    """A literal. go-bexpr keeps only the raw text and coerces it to the field's type at evaluation;
    ``kind`` (word, number or string) records how it was written and takes no part in equality."""

    raw: str
    kind: str = field(default="string", compare=False)


@dataclass(frozen=True, slots=True)
class Match:
    op: MatchOp
    selector: Selector
    value: Value | None = None
    pos: int = field(default=0, compare=False)


class _Iterative:
    """Equality and hashing that walk chains (``not not ...``, ``a or b or ...``) with a loop, so that
    a 3,000-term expression can be compared without exhausting Python's recursion limit."""

    __slots__ = ()

    def _chain(self) -> tuple[list, Expr]:
        kind = type(self)
        heads: list = []
        node: Expr = self  # type: ignore[assignment]
        while type(node) is kind:
            if isinstance(node, Not):
                heads.append(None)
                node = node.operand
            else:
                heads.append(node.left)  # type: ignore[union-attr]
                node = node.right  # type: ignore[union-attr]
        return heads, node

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        h1, t1 = self._chain()
        h2, t2 = other._chain()  # type: ignore[attr-defined]
        return len(h1) == len(h2) and t1 == t2 and all(a == b for a, b in zip(h1, h2))

    def __hash__(self) -> int:
        heads, tail = self._chain()
        return hash((type(self).__name__, len(heads), tail, *(h for h in heads[:8])))


@dataclass(frozen=True, slots=True, eq=False)
class Not(_Iterative):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False)
class And(_Iterative):
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Or(_Iterative):
    left: Expr
    right: Expr


Expr = Union[Match, Not, And, Or]


# ---------------------------------------------------------------------------------------------- printer


def quote_string(text: str) -> str:
    """A double-quoted literal that the lexer decodes back to `text`."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")  # lone surrogates cannot be re-lexed; printed for display only
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def selector_text(sel: Selector) -> str:
    if sel.pointer or not sel.path or not _IDENT.fullmatch(sel.path[0]):
        escaped = (p.replace("~", "~0").replace("/", "~1") for p in sel.path)
        return quote_string("/" + "/".join(escaped))
    parts = [sel.path[0]]
    for p in sel.path[1:]:
        if _IDENT.fullmatch(p) or _DIGITS.fullmatch(p):
            parts.append("." + p)
        else:
            parts.append("[" + quote_string(p) + "]")
    return "".join(parts)


def value_text(value: Value) -> str:
    raw = value.raw
    if value.kind == "number" and _NUMBER.fullmatch(raw):
        return raw
    if value.kind == "word" and _BARE_WORD.fullmatch(raw) and raw not in KEYWORDS:
        return raw
    return quote_string(raw)


def match_text(m: Match) -> str:
    sel = selector_text(m.selector)
    if m.op in (MatchOp.IN, MatchOp.NOT_IN):
        assert m.value is not None
        return f"{value_text(m.value)} {m.op.value} {sel}"
    if m.op.takes_value:
        assert m.value is not None
        return f"{sel} {m.op.value} {value_text(m.value)}"
    return f"{sel} {m.op.value}"


def to_text(node: Expr) -> str:
    """Print `node` as expression text that parses back to an equal tree (minimal parentheses)."""
    return _print(node)


def _print(node: Expr) -> str:
    # Right spines of and/or are walked iteratively so that long chains do not recurse deeply.
    if isinstance(node, Match):
        return match_text(node)
    if isinstance(node, Not):
        count = 0
        inner: Expr = node
        while isinstance(inner, Not):
            count += 1
            inner = inner.operand
        body = _print(inner)
        if isinstance(inner, (And, Or)):
            body = f"({body})"
        return "not " * count + body
    pieces: list[str] = []
    kind = type(node)
    cur: Expr = node
    while type(cur) is kind:
        assert isinstance(cur, (And, Or))
        left = cur.left
        text = _print(left)
        # A left operand of the same or a looser operator would re-parse differently.
        if isinstance(left, Or) or (kind is And and isinstance(left, And)) or (
            kind is Or and isinstance(left, Or)
        ):
            text = f"({text})"
        pieces.append(text)
        cur = cur.right
    last = _print(cur)
    if kind is And and isinstance(cur, Or):
        last = f"({last})"
    pieces.append(last)
    word = " and " if kind is And else " or "
    return word.join(pieces)
