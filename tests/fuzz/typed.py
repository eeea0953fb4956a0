"""Hypothesis strategies for msgspec types: well-typed values with hostile contents.

`values_for(tp)` walks ``msgspec.inspect.type_info(tp)`` and draws values that pass msgspec validation
(so a decoder accepts them) but are otherwise arbitrary: negative or 64-bit-extreme integers, empty and
odd strings, empty containers, any union branch. Encoded with msgpack they are the "valid frame, absurd
message" half of a wire fuzz; the other half is bytes that do not decode at all.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

INTS = st.one_of(st.integers(-3, 300), st.sampled_from([2**31, 2**32, 2**63 - 1, -(2**63), 2**64 - 1]))
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["", "fuzz1", "127.0.0.1", "\x00", "é" * 40]))


def _strategy(info: mi.Type, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(info, (mi.IntType,)):
        lo = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else None)
        hi = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else None)
        if lo is None and hi is None:
            return INTS
        return st.integers(lo, hi)
    if isinstance(info, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.StrType):
        if info.pattern is not None:
            return st.from_regex(info.pattern, fullmatch=True)
        return TEXT.filter(lambda s: (info.min_length or 0) <= len(s) <= (info.max_length or 10**9))
    if isinstance(info, (mi.BytesType, mi.ByteArrayType, mi.MemoryViewType)):
        return st.binary(max_size=16)
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(list(info.values))
    if isinstance(info, mi.UnionType):
        return st.one_of([_strategy(t, depth) for t in info.types])
    if depth > 3:
        return st.nothing()
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return st.lists(_strategy(info.item_type, depth + 1), max_size=3).map(_container(info))
    if isinstance(info, mi.TupleType):
        return st.tuples(*[_strategy(t, depth + 1) for t in info.item_types])
    if isinstance(info, mi.DictType):
        return st.dictionaries(_strategy(info.key_type, depth + 1), _strategy(info.value_type, depth + 1),
                               max_size=3)
    if isinstance(info, mi.StructType):
        fields = {f.name: _strategy(f.type, depth + 1) for f in info.fields if f.required}
        optional = {f.name: _strategy(f.type, depth + 1) for f in info.fields if not f.required}
        return st.fixed_dictionaries(fields, optional=optional).map(lambda kw: info.cls(**kw))
    if isinstance(info, mi.AnyType):
        return st.one_of(st.none(), INTS, TEXT)
    if isinstance(info, mi.RawType):
        return st.binary(max_size=8).map(msgspec.Raw)
    raise NotImplementedError(f"no strategy for {info!r}")


def _container(info: mi.Type) -> Any:
    if isinstance(info, mi.SetType):
        return lambda items: set(items)
    if isinstance(info, mi.FrozenSetType):
        return lambda items: frozenset(items)
    if isinstance(info, mi.VarTupleType):
        return tuple
    return list


def values_for(tp: Any) -> st.SearchStrategy[Any]:
    return _strategy(mi.type_info(tp), 0)
