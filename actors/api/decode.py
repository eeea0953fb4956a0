"""Lenient JSON request decoding, the way Go's ``encoding/json`` treats Consul's request bodies.

What lives here: `read_json` (bytes → plain JSON values; an empty body is Go's ``EOF``), the `Spec`
combinators that rewrite those values into canonical shape (`Obj`, `ListOf`, `MapOf`, `ANY`,
`DURATION`, `BASE64`), and `to_struct` (msgspec conversion with the JSON path in the message). Every
failure is an `HTTPError` 400 whose body is the caller's prefix (Consul's ``Request decode failed: ``
or ``Failed to parse body: ``) followed by the reason.

Object keys match field names case-insensitively and ignoring ``_``/``-``, so ``serviceid``,
``ServiceID`` and ``service_id`` all land on ``ServiceID`` (Go's case-insensitive matching plus the
snake_case aliases Consul accepts). Unknown keys are ignored and JSON ``null`` leaves a field at its
default, as in Go. Keys *inside* maps (``Meta``, ``NodeMeta``, ``TaggedAddresses``) are kept verbatim.
Durations accept Go strings (``"10s"``, ``"1m30s"``) or integer nanoseconds and come out as Go's
canonical string (``"1m30s"``).

What must never live here: the shapes of particular requests (see ``schemas``) or endpoint logic.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

import msgspec

from actors.state.durations import format_duration_ns, parse_duration_ns
from runtime.http import HTTPError

T = TypeVar("T")


class DecodeFailure(Exception):
    """A reason without the HTTP prefix; turned into a 400 by `normalize`."""


def fold_key(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class Spec:
    """How one JSON value is normalised. ``path`` is a ``$.A.B[0]`` pointer for error messages."""

    def normalize(self, value: Any, path: str) -> Any:
        return value


ANY = Spec()


class ListOf(Spec):
    def __init__(self, item: Spec) -> None:
        self.item = item

    def normalize(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise DecodeFailure(f"expected an array, got {json_type(value)} at {path}")
        return [self.item.normalize(v, f"{path}[{i}]") for i, v in enumerate(value)]


class MapOf(Spec):
    """A JSON object with free-form keys (kept as sent) and uniformly shaped values."""

    def __init__(self, value: Spec = ANY) -> None:
        self.value = value

    def normalize(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise DecodeFailure(f"expected an object, got {json_type(value)} at {path}")
        return {k: self.value.normalize(v, f"{path}.{k}") for k, v in value.items()}


class Obj(Spec):
    """A JSON object with known fields, matched leniently (see the module docstring)."""

    def __init__(self, **fields: Spec) -> None:
        self.fields = fields
        self.lookup = {fold_key(name): name for name in fields}

    def normalize(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise DecodeFailure(f"expected an object, got {json_type(value)} at {path}")
        out: dict[str, Any] = {}
        for key, raw in value.items():
            name = self.lookup.get(fold_key(key))
            if name is None or raw is None:
                continue
            normalized = self.fields[name].normalize(raw, f"{path}.{name}")
            if normalized is not None:
                out[name] = normalized
        return out


class _Duration(Spec):
    """A Go duration string or integer nanoseconds → canonical string; zero → left out."""

    def normalize(self, value: Any, path: str) -> Any:
        ns = duration_ns(value, path)
        return format_duration_ns(ns) if ns else None


class _Base64(Spec):
    def normalize(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise DecodeFailure(f"unexpected value type: {json_type(value)} at {path}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            raise DecodeFailure(f"failed to decode value: illegal base64 data at {path}: {err}") from None


DURATION: Spec = _Duration()
BASE64: Spec = _Base64()


def duration_ns(value: Any, path: str) -> int:
    """A duration given as a Go string or as a JSON number of nanoseconds."""
    if isinstance(value, bool):
        raise DecodeFailure(f"expected a duration, got bool at {path}")
    if isinstance(value, (int, float)):
        if not -(2**63) <= value < 2**63:  # Go's time.Duration is an int64
            raise DecodeFailure(f"duration {value} out of range at {path}")
        return int(value)
    if isinstance(value, str):
        try:
            return parse_duration_ns(value)
        except ValueError as err:
            raise DecodeFailure(str(err)) from None
    raise DecodeFailure(f"expected a duration, got {json_type(value)} at {path}")


MAX_DEPTH = 64  # nesting levels of arrays/objects a request body may have
INT_MIN, INT_MAX = -(2**63), 2**64 - 1  # what Go's int64/uint64 fields (and msgpack) can hold


def value_problem(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """Why a decoded body cannot be accepted (nesting deeper than ``limit``, or an integer no Go
    field could hold), or None. An iterative walk, so hostile input cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        elif type(item) is int and not INT_MIN <= item <= INT_MAX:
            return f"number {item} out of range"
        else:
            continue
        if depth > limit:
            return f"JSON nested more than {limit} levels deep"
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, int)))
    return None


def read_json(body: bytes, prefix: str) -> Any:
    """Parse a request body; an empty one is Go's ``EOF``.

    Refused as well, with a 400: bodies nested deeper than `MAX_DEPTH` (msgspec raises RecursionError,
    not DecodeError, at about a thousand levels, and a stored deep value could fail to decode again where
    the stack is deeper, e.g. a follower applying the Raft log) and integers outside int64/uint64 (they
    cannot be encoded for Raft or the catalog sync, so they would crash the writer, not the request).
    """
    if not body.strip():
        raise HTTPError(400, f"{prefix}EOF")
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as err:
        raise HTTPError(400, f"{prefix}{err}") from None
    except RecursionError:
        raise HTTPError(400, f"{prefix}JSON nested more than {MAX_DEPTH} levels deep") from None
    problem = value_problem(value)
    if problem is not None:
        raise HTTPError(400, f"{prefix}{problem}")
    return value


def normalize(value: Any, spec: Spec, prefix: str, path: str = "$") -> Any:
    try:
        return spec.normalize(value, path)
    except DecodeFailure as err:
        raise HTTPError(400, f"{prefix}{err}") from None


def to_struct(data: Any, tp: type[T], prefix: str, path: str = "$") -> T:
    """``msgspec.convert`` a normalised dict into a model Struct; type errors become 400s."""
    try:
        return msgspec.convert(data, tp)
    except msgspec.ValidationError as err:
        message = str(err).replace("`$", f"`{path}", 1) if path != "$" else str(err)
        raise HTTPError(400, f"{prefix}{message}") from None
