"""`RuleTable`: the merged rules of one named resource (keys, services, ...), indexed for fast lookups.

What lives here: the lookups Consul does on its per-resource radix tree (`acl/policy_authorizer.go`):
`lookup` (``getPolicy``: the exact rule for the name, else the longest prefix rule that is a prefix of it,
else nothing), `longest_prefix` (prefix rules only) and `any_not_write_under` (is there any rule, exact or
prefix, whose name starts with a given prefix and that does not grant write: ``KeyWritePrefix``'s second
walk). Costs: `lookup` is one dict probe plus one probe per distinct prefix length no longer than the
name; `any_not_write_under` is a binary search.
What must never live here: default policies, merging, or which method needs which level.
"""

from __future__ import annotations

from bisect import bisect_left

from .authz_merge import ACCESS_WRITE


class RuleTable:
    """Exact and prefix rules for one resource, as merged access levels. Immutable once built."""

    __slots__ = ("_exact", "_prefix", "_prefix_lengths", "_not_write")

    def __init__(self, exact: dict[str, int], prefix: dict[str, int]) -> None:
        self._exact = dict(exact)
        self._prefix = dict(prefix)
        self._prefix_lengths = tuple(sorted({len(p) for p in prefix}, reverse=True))
        not_write = {n for n, level in exact.items() if level != ACCESS_WRITE}
        not_write.update(n for n, level in prefix.items() if level != ACCESS_WRITE)
        self._not_write = tuple(sorted(not_write))

    def __bool__(self) -> bool:
        return bool(self._exact or self._prefix)

    def longest_prefix(self, name: str) -> int | None:
        """The level of the longest prefix rule whose name is a prefix of ``name`` (or equals it)."""
        prefix = self._prefix
        size = len(name)
        for length in self._prefix_lengths:
            if length <= size:
                level = prefix.get(name[:length])
                if level is not None:
                    return level
        return None

    def lookup(self, name: str) -> int | None:
        """The level governing ``name``: its exact rule, else the longest matching prefix rule, else None."""
        level = self._exact.get(name)
        if level is not None:
            return level
        return self.longest_prefix(name)

    def any_not_write_under(self, prefix: str) -> bool:
        """Whether some rule (exact or prefix) named ``prefix`` or something below it denies write."""
        names = self._not_write
        i = bisect_left(names, prefix)
        return i < len(names) and names[i].startswith(prefix)


EMPTY_TABLE = RuleTable({}, {})
