"""Evaluation of a filter tree over JSON-shaped Python data (dicts, lists, str, int, float, bool, None).

What lives here: `compile_expr(expr, text) -> Callable[[record], bool]`, which turns a tree into nested
closures once so that filtering many records does not re-walk the tree, and the go-bexpr semantics it
implements:

* Selector resolution is exact and case-sensitive (go-bexpr v0.1.2, the version Consul vendors,
  looks struct fields up by their exact name; so does JSON Pointer). A dict is indexed by the part; a
  list is indexed when the part is all digits, and otherwise the rest of the selector is applied to
  every element, true if any element matches (go-bexpr's implicit "any", which is what makes
  ``Checks.Status == critical`` work on a health entry). An empty list with selector parts left is
  false whatever the operator, as in go-bexpr.
* A missing key, or a None met on the way, is "not present": ``==``, ``in``, ``is not empty``,
  ``matches`` and ``is not nil`` are false; ``!=``, ``not in``, ``is empty``, ``not matches`` and
  ``is nil`` are true (go-bexpr's NotPresentDisposition; 0.1.2 also made ``matches`` true there, which
  later versions fixed and we follow).
* ``==``/``!=`` coerce the literal's raw text to the field's type like Go's strconv: bool
  (1/t/T/TRUE/true/True and 0/f/F/FALSE/false/False), int (base prefixes 0x/0o/0b, a leading 0 for
  octal, ``_`` separators, int64 range), float, else string. A literal that does not coerce raises
  `FilterEvaluationError` (Consul rejects it when it creates the filter, since it knows field types).
* ``in``/``contains`` mean key membership on dicts, element equality (with per-element coercion,
  elements that do not coerce are skipped) on lists, and substring on strings.
* ``is empty`` holds for None, and for empty dicts, lists and strings. ``matches`` is an unanchored
  regular-expression search on strings. ``is nil`` holds for None only.
* Using an operator on a type it does not support (``==`` on a list, ``contains`` on an int, a selector
  that continues past a scalar) raises `FilterEvaluationError`.

What must never live here: parsing, caching, schemas, HTTP.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .ast import And, Expr, Match, MatchOp, Not, Or
from .errors import FilterError, FilterEvaluationError

Predicate = Callable[[Any], bool]

_NOT_PRESENT = {
    MatchOp.EQUAL: False,
    MatchOp.NOT_EQUAL: True,
    MatchOp.IN: False,
    MatchOp.NOT_IN: True,
    MatchOp.IS_EMPTY: True,
    MatchOp.IS_NOT_EMPTY: False,
    MatchOp.MATCHES: False,
    MatchOp.NOT_MATCHES: True,
    MatchOp.IS_NIL: True,
    MatchOp.IS_NOT_NIL: False,
}

_NEGATED = {MatchOp.NOT_EQUAL, MatchOp.NOT_IN, MatchOp.IS_NOT_EMPTY, MatchOp.NOT_MATCHES, MatchOp.IS_NOT_NIL}

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_OCTAL = re.compile(r"0[0-7_]*[0-7]")
_GO_FLOAT = re.compile(
    r"[+-]?((\d(_?\d)*)?\.?\d(_?\d)*([eE][+-]?\d+)?|\d(_?\d)*\.([eE][+-]?\d+)?|inf(inity)?|nan)",
    re.IGNORECASE,
)


class CoercionError(ValueError):
    pass


def go_type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, (list, tuple)):
        return "slice"
    return type(value).__name__


def parse_go_bool(raw: str) -> bool:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise CoercionError(f'strconv.ParseBool: parsing "{raw}": invalid syntax')


def parse_go_int(raw: str) -> int:
    body = raw[1:] if raw[:1] in ("+", "-") else raw
    try:
        if not body or body != body.strip() or body.startswith("_") or body.endswith("_"):
            raise ValueError
        if len(body) > 1 and _OCTAL.fullmatch(body):
            value = int(body[1:].lstrip("_"), 8)
        else:
            value = int(body, 0)
    except ValueError:
        raise CoercionError(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    if raw.startswith("-"):
        value = -value
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise CoercionError(f'strconv.ParseInt: parsing "{raw}": value out of range')
    return value


def parse_go_float(raw: str) -> float:
    if not _GO_FLOAT.fullmatch(raw):
        raise CoercionError(f'strconv.ParseFloat: parsing "{raw}": invalid syntax')
    return float(raw.replace("_", ""))


def coerce_like(raw: str, sample: Any) -> Any:
    """The literal `raw` converted to the type of the field value `sample`."""
    if isinstance(sample, bool):
        return parse_go_bool(raw)
    if isinstance(sample, int):
        return parse_go_int(raw)
    if isinstance(sample, float):
        return parse_go_float(raw)
    return raw


class _Leaf:
    """Everything one match expression needs at evaluation time."""

    __slots__ = ("m", "text", "path", "op", "raw", "regex", "negated", "missing", "cache")

    def __init__(self, m: Match, text: str) -> None:
        self.m = m
        self.text = text
        self.path = m.selector.path
        self.op = m.op
        self.raw = m.value.raw if m.value is not None else ""
        self.negated = m.op in _NEGATED
        self.missing = _NOT_PRESENT[m.op]
        self.cache: dict[type, Any] = {}
        self.regex: re.Pattern[str] | None = None
        if m.op in (MatchOp.MATCHES, MatchOp.NOT_MATCHES):
            try:
                self.regex = re.compile(self.raw)
            except re.error as exc:
                raise FilterError(
                    f'Failed to compile regular expression "{self.raw}": {exc}',
                    expression=text,
                    offset=m.pos,
                    positional=False,
                ) from None

    def fail(self, detail: str) -> FilterEvaluationError:
        return FilterEvaluationError(detail, expression=self.text, offset=self.m.pos)

    def coerced(self, sample: Any) -> Any:
        tp = type(sample)
        try:
            return self.cache[tp]
        except KeyError:
            pass
        try:
            value = coerce_like(self.raw, sample)
        except CoercionError as exc:
            value = exc
        self.cache[tp] = value
        return value

    def __call__(self, record: Any) -> bool:
        return self.walk(record, 0)

    def walk(self, cur: Any, depth: int) -> bool:
        path = self.path
        n = len(path)
        while depth < n:
            part = path[depth]
            if isinstance(cur, dict):
                if part not in cur:
                    return self.missing
                cur = cur[part]
                depth += 1
            elif isinstance(cur, (list, tuple)):
                if part.isdigit() and part.isascii():
                    idx = int(part)
                    if idx >= len(cur):
                        return self.missing
                    cur = cur[idx]
                    depth += 1
                    continue
                for item in cur:
                    if self.walk(item, depth):
                        return True
                return False
            elif cur is None:
                return self.missing
            else:
                where = ".".join(path[:depth]) if depth else "<root>"
                raise self.fail(
                    f'Value at selector "{where}" with type {go_type_name(cur)} does not support nested field selection'
                )
        if cur is None and self.op not in (MatchOp.IS_EMPTY, MatchOp.IS_NOT_EMPTY):
            return self.missing
        return self.leaf(cur)

    def leaf(self, value: Any) -> bool:
        op = self.op
        if op is MatchOp.EQUAL or op is MatchOp.NOT_EQUAL:
            result = self.equal(value)
        elif op is MatchOp.IN or op is MatchOp.NOT_IN:
            result = self.contains(value)
        elif op is MatchOp.IS_EMPTY or op is MatchOp.IS_NOT_EMPTY:
            if value is None:
                result = True
            elif isinstance(value, (dict, list, tuple, str)):
                result = len(value) == 0
            else:
                raise self.fail(
                    f'cannot perform is-empty operations on type {go_type_name(value)} for selector: "{self.m.selector}"'
                )
        elif op is MatchOp.MATCHES or op is MatchOp.NOT_MATCHES:
            if not isinstance(value, str):
                raise self.fail(
                    f'Match operator "{op.go_name}" cannot be used on a value of type {go_type_name(value)} '
                    f'for selector "{self.m.selector}"'
                )
            assert self.regex is not None
            result = self.regex.search(value) is not None
        else:  # is nil / is not nil on a present, non-None value
            if not isinstance(value, (dict, list, tuple)):
                raise self.fail(
                    f'cannot perform is-nil operations on type {go_type_name(value)} for selector: "{self.m.selector}"'
                )
            result = False
        return not result if self.negated else result

    def equal(self, value: Any) -> bool:
        if isinstance(value, (dict, list, tuple)):
            raise self.fail(f'Invalid match operator "{self.op.go_name}" for selector "{self.m.selector}"')
        target = self.coerced(value)
        if isinstance(target, CoercionError):
            raise self.fail(f'Failed to coerce value "{self.raw}" for selector "{self.m.selector}": {target}')
        return value == target

    def contains(self, value: Any) -> bool:
        if isinstance(value, dict):
            return self.raw in value
        if isinstance(value, str):
            return self.raw in value
        if isinstance(value, (list, tuple)):
            for item in value:
                if item is None or isinstance(item, (dict, list, tuple)):
                    continue
                target = self.coerced(item)  # same Python type as `item`, or the coercion failure
                if not isinstance(target, CoercionError) and item == target:
                    return True
            return False
        raise self.fail(
            f'Cannot perform in/contains operations on type {go_type_name(value)} for selector: "{self.m.selector}"'
        )


def compile_expr(expr: Expr, text: str = "") -> Predicate:
    """Closures evaluating `expr`; and/or chains are flattened so evaluation depth follows parentheses only."""
    if isinstance(expr, Match):
        return _Leaf(expr, text)
    if isinstance(expr, Not):
        count = 0
        node: Expr = expr
        while isinstance(node, Not):
            count += 1
            node = node.operand
        inner = compile_expr(node, text)
        if count % 2 == 0:
            return inner
        return lambda record: not inner(record)
    kind = type(expr)
    operands: list[Predicate] = []
    stack: list[Expr] = [expr]
    while stack:  # depth-first, left to right, flattening same-kind nodes
        node = stack.pop()
        if type(node) is kind:
            assert isinstance(node, (And, Or))
            stack.append(node.right)
            stack.append(node.left)
        else:
            operands.append(compile_expr(node, text))
    funcs = tuple(operands)
    if kind is And:

        def all_of(record: Any) -> bool:
            for f in funcs:
                if not f(record):
                    return False
            return True

        return all_of

    def any_of(record: Any) -> bool:
        for f in funcs:
            if f(record):
                return True
        return False

    return any_of
