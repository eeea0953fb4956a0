"""Consul's ``filter=`` query parameter: a parser and evaluator for the go-bexpr expression language.

What lives here: the public surface of the filter package, re-exported from its modules:

* `compile_filter(text, fields=None) -> Filter` (cached), `Filter.matches(record)`,
  `Filter.apply(records)`;
* `FilterError` (its ``str()`` is the plain-text body of the HTTP 400) and `FilterEvaluationError`;
* `FieldSchema` / `fields_from_struct` for rejecting unknown selectors as Consul does;
* `parse` and `to_text` plus the tree types, for tests and tooling.

Records are plain JSON-shaped data (``msgspec.to_builtins(struct)`` with Consul's PascalCase names).

What must never live here: HTTP request handling, catalog/health data access, or anything async: this
package is pure and synchronous so any actor can use it.
"""

from .ast import And, Expr, Match, MatchOp, Not, Or, Selector, Value, to_text
from .compiled import FieldSchema, Filter, cache_info, clear_cache, compile_filter, fields_from_struct
from .errors import FilterError, FilterEvaluationError
from .parser import parse

__all__ = [
    "And",
    "Expr",
    "FieldSchema",
    "Filter",
    "FilterError",
    "FilterEvaluationError",
    "Match",
    "MatchOp",
    "Not",
    "Or",
    "Selector",
    "Value",
    "cache_info",
    "clear_cache",
    "compile_filter",
    "fields_from_struct",
    "parse",
    "to_text",
]
