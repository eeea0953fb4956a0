"""Merging the rules of all policies a token carries into one access level per (resource, prefix?, name).

What lives here: the access-level numbers, `enforce` (does a granted level satisfy a required one) and
`merge`. Both follow Consul: `acl/policy_merger.go` keeps exact and prefix rules apart and, for the same
resource, kind and name, keeps the level that ``takesPrecedenceOver`` (`acl/policy.go`): deny beats write
beats list beats read. So a ``deny`` anywhere for a name wins over any grant for that same name; a
deny on ``key "a/x"`` does not override a write on ``key_prefix "a/"`` by merging (that is resolution:
exact beats prefix). Several rules for one name inside a single policy merge the same way.
What must never live here: name lookup (`authz_table`) or parsing.
"""

from __future__ import annotations

from typing import Iterable

from .rules import DENY, LIST, READ, WRITE, PolicyRules

# Access levels as Consul numbers them (acl/policy.go AccessLevel).
ACCESS_DENY, ACCESS_READ, ACCESS_LIST, ACCESS_WRITE = 1, 2, 3, 4
LEVELS = {DENY: ACCESS_DENY, READ: ACCESS_READ, LIST: ACCESS_LIST, WRITE: ACCESS_WRITE}

# Merge precedence (takesPrecedenceOver): higher wins.
_PRECEDENCE = {ACCESS_READ: 1, ACCESS_LIST: 2, ACCESS_WRITE: 3, ACCESS_DENY: 4}

MergedKey = tuple[str, bool, str]  # (resource, prefix, name); scalars use (resource, False, "")


def enforce(granted: int, required: int) -> bool:
    """Consul's ``enforce``: write grants everything, list grants list and read, read grants read, deny nothing."""
    if granted == ACCESS_WRITE:
        return True
    if granted == ACCESS_LIST:
        return required in (ACCESS_LIST, ACCESS_READ)
    if granted == ACCESS_READ:
        return required == ACCESS_READ
    return False


def stronger(a: int, b: int) -> int:
    """The level of ``a`` and ``b`` that takes precedence when both are granted for the same name."""
    return a if _PRECEDENCE[a] >= _PRECEDENCE[b] else b


def merge(policies: Iterable[PolicyRules]) -> dict[MergedKey, int]:
    """One access level per (resource, prefix, name) across every rule of every policy."""
    merged: dict[MergedKey, int] = {}
    for policy in policies:
        for rule in policy.rules:
            key = (rule.resource, rule.prefix, rule.name)
            level = LEVELS[rule.policy]
            old = merged.get(key)
            merged[key] = level if old is None else stronger(level, old)
    return merged
