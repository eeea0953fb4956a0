"""The neutral syntax tree both rule decoders (HCL and JSON) produce and `rules` interprets.

What lives here: `Obj` (an ordered list of `Item`s, duplicates kept: HCL1 allows several blocks with
the same key), `Item` (key, value, position) and `Number` (a numeric literal kept as its text). Other
values are plain Python: ``str``, ``bool``, ``None`` (JSON null) and ``tuple`` or ``list`` (a list).
What must never live here: knowledge of ACL resources or dispositions, or any text scanning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Pos = tuple[int, int] | None  # 1-based (line, column); None when the decoder cannot tell (JSON)


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; never a valid ACL value, kept only so errors can say what was found."""

    text: str


@dataclass(frozen=True, slots=True)
class Item:
    """``key = value`` or ``key { ... }``; ``pos`` is where the key starts."""

    key: str
    value: "Value"
    pos: Pos


@dataclass(frozen=True, slots=True)
class Obj:
    """An object body: its items in source order, duplicate keys included."""

    items: tuple[Item, ...]
    pos: Pos


Value = Union[str, bool, None, Number, tuple, list, Obj]


def describe(value: Value) -> str:
    """A short human name for a value's type, for error messages."""
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, Number):
        return f"the number {value.text}"
    if isinstance(value, (tuple, list)):
        return "a list"
    return "an object"
