"""Compiled filters, the LRU cache in front of the compiler, and field schemas for selector checks.

What lives here: `compile_filter(text, fields=None) -> Filter`, the `Filter` object
(``matches(record)``, ``apply(records)``), `FieldSchema` (the selectors an endpoint accepts, as dotted
paths with ``*`` standing for any map key) and `fields_from_struct`, which derives such a schema from
a msgspec Struct type.

With a schema, an unknown selector is rejected when the filter is compiled, with Consul's wording
``Failed to create boolean expression evaluator: Selector "Nope" is not valid`` (go-bexpr v0.1.2
names the shortest invalid prefix of the selector). Without one, any selector is accepted and a
missing field simply counts as "not present" at evaluation.

What must never live here: grammar, per-operator semantics (see `evaluate`), HTTP handling.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .ast import Expr, Match, Not, Selector, to_text
from .errors import FilterError
from .evaluate import Predicate, compile_expr
from .parser import parse

CACHE_SIZE = 512


class FieldSchema:
    """The selector paths one endpoint's records offer, e.g. ``{"Node", "Meta.*", "Checks.Status"}``.

    A selector is valid when it spells one of the paths, or a prefix of one (an enclosing object or
    list), with ``*`` in the schema matching any single part (a map key).
    """

    __slots__ = ("paths", "_trie")

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = frozenset(paths)
        trie: dict[str, dict] = {}
        for path in self.paths:
            node = trie
            for part in path.split("."):
                node = node.setdefault(part, {})
        self._trie = trie

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSchema) and other.paths == self.paths

    def __hash__(self) -> int:
        return hash(self.paths)

    def __repr__(self) -> str:
        return f"FieldSchema({sorted(self.paths)!r})"

    def invalid_prefix(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        """The shortest prefix of `path` that names no field, or None when `path` is valid."""
        node = self._trie
        for i, part in enumerate(path):
            nxt = node.get(part)
            if nxt is None:
                nxt = node.get("*")
            if nxt is None:
                return path[: i + 1]
            node = nxt
        return None


def fields_from_struct(tp: Any) -> FieldSchema:
    """The selector schema of a msgspec Struct type, using each field's encoded (wire) name.

    Dicts contribute ``<path>.*``; lists, sets and tuples of structs contribute their element's fields
    under the same path (selected with go-bexpr's implicit "any"); Optional fields contribute their
    non-None type. Recursive types stop at the first repetition.
    """
    import msgspec.inspect as mi  # local: only schema building needs it

    paths: set[str] = set()

    def walk(info: Any, prefix: str, seen: frozenset) -> None:
        if prefix:
            paths.add(prefix)
        if isinstance(info, mi.StructType):
            if info.cls in seen:
                return
            seen = seen | {info.cls}
            for f in info.fields:
                walk(f.type, f"{prefix}.{f.encode_name}" if prefix else f.encode_name, seen)
        elif isinstance(info, mi.DictType):
            walk(info.value_type, f"{prefix}.*" if prefix else "*", seen)
        elif isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
            walk(info.item_type, prefix, seen)
        elif isinstance(info, mi.UnionType):
            for member in info.types:
                walk(member, prefix, seen)

    walk(mi.type_info(tp), "", frozenset())
    return FieldSchema(paths)


def _selectors(expr: Expr) -> Iterable[Selector]:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Match):
            yield node.selector
        elif isinstance(node, Not):
            stack.append(node.operand)
        else:
            stack.append(node.right)
            stack.append(node.left)


def _check_selectors(expr: Expr, schema: FieldSchema, text: str) -> None:
    for sel in _selectors(expr):
        bad = schema.invalid_prefix(sel.path)
        if bad is not None:
            shown = str(Selector(bad, sel.pointer))
            raise FilterError(
                f'Selector "{shown}" is not valid', expression=text, offset=sel.pos, positional=False
            )


@dataclass(frozen=True, eq=False)
class Filter:
    """A compiled filter expression. ``ast`` is None for the empty expression, which matches everything."""

    expression: str
    ast: Expr | None
    _predicate: Predicate

    def matches(self, record: Any) -> bool:
        """Whether one record (a dict from `msgspec.to_builtins`, or a msgspec Struct) passes."""
        if not isinstance(record, (dict, list)) and hasattr(record, "__struct_fields__"):
            import msgspec

            record = msgspec.to_builtins(record)
        return self._predicate(record)

    def apply(self, records: Any) -> Any:
        """The records that pass, in order. A dict (e.g. /v1/agent/services) is filtered by value."""
        if isinstance(records, Mapping):
            return {k: v for k, v in records.items() if self.matches(v)}
        return [r for r in records if self.matches(r)]

    def canonical(self) -> str:
        """The expression re-printed from its tree (stable spelling, minimal parentheses)."""
        return "" if self.ast is None else to_text(self.ast)

    def __str__(self) -> str:
        return self.expression

    def __repr__(self) -> str:
        return f"Filter({self.expression!r})"


def _match_all(record: Any) -> bool:
    return True


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(text: str, schema: FieldSchema | None) -> Filter:
    if text == "":
        return Filter(text, None, _match_all)
    expr = parse(text)
    if schema is not None:
        _check_selectors(expr, schema, text)
    return Filter(text, expr, compile_expr(expr, text))


def compile_filter(text: str, fields: FieldSchema | Iterable[str] | None = None) -> Filter:
    """Compile a ``filter=`` expression, optionally checking its selectors against `fields`.

    The empty string yields a filter that keeps everything (go-bexpr returns no filter for it).
    Raises `FilterError` (str() is the HTTP 400 body) for any malformed expression or unknown selector.
    Results are cached (LRU, `CACHE_SIZE` entries) by expression text and schema.
    """
    if fields is not None and not isinstance(fields, FieldSchema):
        fields = _schema_of(frozenset(fields))
    return _compile_cached(text, fields)


@functools.lru_cache(maxsize=64)
def _schema_of(paths: frozenset[str]) -> FieldSchema:
    return FieldSchema(paths)


def cache_info() -> Any:
    """Hit/miss statistics of the compiled-filter cache."""
    return _compile_cached.cache_info()


def clear_cache() -> None:
    _compile_cached.cache_clear()
