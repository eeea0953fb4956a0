"""`RulesError`: the one exception ACL rule parsing raises, and the helpers that word it.

What lives here: the exception class and the two message shapes, "Failed to parse ACL rules: At L:C: ..."
for text that is not valid HCL/JSON or names something unknown, and "Invalid <resource> policy: ..." for
a well-formed rule with a bad disposition (Consul's two prefixes, `acl/policy_ce.go` and `acl/policy.go`).
What must never live here: parsing or validation logic itself.
"""

from __future__ import annotations

PARSE_PREFIX = "Failed to parse ACL rules: "


class RulesError(ValueError):
    """ACL rules that cannot be accepted. ``str(err)`` is the text for the HTTP 400 body."""


def where(pos: tuple[int, int] | None) -> str:
    """``"At 3:7: "`` for a 1-based (line, column), or ``""`` when the position is unknown (JSON)."""
    if pos is None:
        return ""
    return f"At {pos[0]}:{pos[1]}: "


def syntax_error(pos: tuple[int, int] | None, message: str) -> RulesError:
    """A "Failed to parse ACL rules" error at ``pos``."""
    return RulesError(f"{PARSE_PREFIX}{where(pos)}{message}")
