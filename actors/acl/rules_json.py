"""The JSON form of ACL rules: text whose first non-blank character is ``{`` (HCL1's own test for JSON).

What lives here: `decode_json(text)` producing the same neutral `rules_tree.Obj` the HCL decoder makes,
duplicate keys kept in order, numbers kept as `Number`. JSON carries no positions through the standard
decoder, so later errors name a path instead of a line; syntax errors still give line and column.
What must never live here: ACL meaning (`rules`) or HCL syntax (`rules_hcl`).
"""

from __future__ import annotations

import json

from .rules_errors import syntax_error
from .rules_tree import Item, Number, Obj


def _object(pairs: list[tuple[str, object]]) -> Obj:
    return Obj(tuple(Item(key, value, None) for key, value in pairs), None)  # type: ignore[arg-type]


def decode_json(text: str) -> Obj:
    """Parse JSON ``text`` (an object) into a tree. Raises `RulesError` on malformed JSON."""
    try:
        tree = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=Number,
            parse_float=Number,
            parse_constant=Number,
        )
    except json.JSONDecodeError as err:
        raise syntax_error((err.lineno, err.colno), err.msg) from None
    except RecursionError:
        raise syntax_error(None, "JSON nested too deeply") from None
    if not isinstance(tree, Obj):  # pragma: no cover - callers only send text starting with '{'
        raise syntax_error((1, 1), "the JSON form of ACL rules must be an object")
    return tree
