"""Checks decoded TOML against the scenario Structs and reports *every* mismatch, each with its key path.

msgspec stops at the first error; a scenario author wants them all. This walks the data alongside
``msgspec.inspect.type_info(Scenario)``: unknown keys (with the keys that were possible), missing
required keys, wrong types, out-of-range numbers, unknown ``do``/``kind`` tags (with the valid ones) and
malformed durations. When it finds nothing, ``msgspec.convert`` builds the Structs.

What lives here: `shape_problems(data, type)`.

What must never live here: cross-references between sections (``validate.py``), file reading or line
numbers (``loader.py``, ``lines.py``).
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi

from .durations import parse_duration
from .problems import Problem, Segment

Path = tuple[Segment, ...]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def describe(t: mi.Type) -> str:
    """A short human name for a type: ``a string``, ``an integer >= 1``, ``one of 'TERM', 'KILL'``."""
    if isinstance(t, mi.Metadata):
        if (t.extra or {}).get("duration"):
            return "a duration such as '10s'"
        return describe(t.type)
    if isinstance(t, mi.StrType):
        return "a string"
    if isinstance(t, mi.BoolType):
        return "a boolean"
    if isinstance(t, (mi.IntType, mi.FloatType)):
        noun = "an integer" if isinstance(t, mi.IntType) else "a number"
        if t.ge is not None and t.le is not None:
            return f"{noun} between {t.ge:g} and {t.le:g}"
        if t.ge is not None:
            return f"{noun} >= {t.ge:g}"
        return f"{noun} <= {t.le:g}" if t.le is not None else noun
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(repr(v) for v in t.values)
    if isinstance(t, mi.ListType):
        return f"an array of {_plural(describe(t.item_type))}"
    if isinstance(t, mi.DictType):
        return "a table"
    if isinstance(t, mi.StructType):
        return "a table"
    if isinstance(t, mi.UnionType):
        names = [describe(m) for m in t.types if not isinstance(m, mi.NoneType)]
        return " or ".join(dict.fromkeys(names))
    if isinstance(t, mi.AnyType):
        return "any value"
    return type(t).__name__


def _plural(noun: str) -> str:
    for article in ("an ", "a "):
        if noun.startswith(article):
            word, _, rest = noun[len(article):].partition(" ")
            return f"{word}s {rest}".strip()
    return noun


def shape_problems(data: Any, t: mi.Type, path: Path = ()) -> list[Problem]:
    out: list[Problem] = []
    _walk(data, t, path, out)
    return out


def _walk(value: Any, t: mi.Type, path: Path, out: list[Problem]) -> None:
    if isinstance(t, mi.Metadata):
        before = len(out)
        _walk(value, t.type, path, out)
        if len(out) == before and (t.extra or {}).get("duration"):
            try:
                parse_duration(value)
            except ValueError as exc:
                out.append(Problem(path, str(exc)))
        return
    if isinstance(t, mi.UnionType):
        _walk_union(value, t, path, out)
    elif isinstance(t, mi.StructType):
        _walk_struct(value, t, path, out)
    elif isinstance(t, mi.ListType):
        if not isinstance(value, list):
            out.append(Problem(path, f"expected {describe(t)}, got {_kind(value)}"))
            return
        for i, item in enumerate(value):
            _walk(item, t.item_type, (*path, i), out)
    elif isinstance(t, mi.DictType):
        if not isinstance(value, dict):
            out.append(Problem(path, f"expected a table, got {_kind(value)}"))
            return
        for key, item in value.items():
            _walk(item, t.value_type, (*path, key), out)
    elif not _scalar_ok(value, t):
        out.append(Problem(path, f"expected {describe(t)}, got {_kind(value)}"))


def _scalar_ok(value: Any, t: mi.Type) -> bool:
    if isinstance(t, mi.AnyType):
        return True
    if isinstance(t, mi.NoneType):
        return value is None
    if isinstance(t, mi.StrType):
        return isinstance(value, str)
    if isinstance(t, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(t, mi.LiteralType):
        return value in t.values and not isinstance(value, bool)
    if isinstance(t, (mi.IntType, mi.FloatType)):
        kinds = (int,) if isinstance(t, mi.IntType) else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return False
        return (t.ge is None or value >= t.ge) and (t.le is None or value <= t.le)
    return False


def _walk_union(value: Any, t: mi.UnionType, path: Path, out: list[Problem]) -> None:
    members = [m for m in t.types if not isinstance(m, mi.NoneType)]
    if value is None and len(members) < len(t.types):
        return
    if len(members) == 1:
        _walk(value, members[0], path, out)
        return
    structs = [m for m in members if isinstance(m, mi.StructType)]
    if structs and isinstance(value, dict):
        _walk_tagged(value, structs, path, out)
        return
    for member in members:
        trial: list[Problem] = []
        _walk(value, member, path, trial)
        if not trial:
            return
        if _matches_container(value, member):  # the right container: its own problems say more
            out.extend(trial)
            return
    out.append(Problem(path, f"expected {describe(t)}, got {_kind(value)}"))


def _matches_container(value: Any, t: mi.Type) -> bool:
    inner = t.type if isinstance(t, mi.Metadata) else t
    return (isinstance(value, list) and isinstance(inner, mi.ListType)) or \
        (isinstance(value, dict) and isinstance(inner, (mi.DictType, mi.StructType)))


def _walk_tagged(value: dict, structs: list[mi.StructType], path: Path, out: list[Problem]) -> None:
    if len(structs) == 1 and structs[0].tag_field is None:
        _walk_struct(value, structs[0], path, out)
        return
    field = structs[0].tag_field
    tags = {s.tag: s for s in structs}
    choices = ", ".join(repr(tag) for tag in tags)
    if field not in value:
        out.append(Problem(path, f"missing key `{field}`: expected one of {choices}"))
        return
    chosen = tags.get(value[field])
    if chosen is None:
        out.append(Problem((*path, field), f"unknown {field} {value[field]!r}: expected one of {choices}"))
        return
    _walk_struct(value, chosen, path, out)


def _walk_struct(value: Any, t: mi.StructType, path: Path, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append(Problem(path, f"expected a table, got {_kind(value)}"))
        return
    fields = {f.encode_name: f for f in t.fields}
    allowed = [t.tag_field, *fields] if t.tag_field else list(fields)
    for key in value:
        if key not in fields and key != t.tag_field:
            out.append(Problem((*path, key), f"unknown key `{key}`: expected one of {', '.join(allowed)}"))
    for name, f in fields.items():
        if name in value:
            _walk(value[name], f.type, (*path, name), out)
        elif f.required:
            out.append(Problem(path, f"missing required key `{name}` ({describe(f.type)})"))
