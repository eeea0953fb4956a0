"""`Authorizer`: what a resolved token may do, answered from its merged policy rules and the default policy.

What lives here: the `Authorizer` class with one yes/no method per Consul permission, the singletons
`ALLOW_ALL` and `MANAGEMENT`, and `authorizer_for`, which builds one from parsed policies. Semantics are
Consul's (`acl/policy_authorizer.go`, chained with `acl/static_authorizer.go`):

* Named resources: the exact rule for the name wins; else the longest prefix rule that is a prefix of
  the name; else the default policy. ``write`` grants read, list and write; ``list`` (KV only) grants list
  and read; ``read`` grants read; ``deny`` grants nothing.
* ``key_write_prefix(p)`` (recursive delete, CVE-2019-12291): the longest prefix rule covering ``p`` must
  grant write and no rule (exact or prefix) named ``p`` or below may lack write; with no covering prefix
  rule and nothing below that lacks write, the default policy decides.
* ``mesh`` and ``peering`` fall back to the ``operator`` rule when they have none of their own.
* ``acl`` (and ``snapshot``, which needs acl:write): with no ``acl`` rule the answer is **no** even under
  ``default_policy = "allow"`` — Consul's allow-all default authorizer does not grant management.
* `ALLOW_ALL` is what Consul uses when ACLs are disabled (``acl.ManageAll()``): every check passes,
  including acl and snapshot. `MANAGEMENT` is a global-management token: the same, with ``is_management``.
* ``is_management`` is True for `MANAGEMENT` and for rule sets granting ``acl = "write"`` (which can mint
  any token, so is management in all but name); False for `ALLOW_ALL` (there is no token at all).

Authorizers are immutable; build one per token and cache it (the caller's job, with invalidation).
What must never live here: token or policy storage and resolution, HTTP, logging, or parsing.
"""

from __future__ import annotations

from typing import Sequence

from .authz_errors import ERR_DISABLED, ERR_NOT_FOUND, ERR_PERMISSION_DENIED, ERR_ROOT_DENIED, permission_denied
from .authz_merge import ACCESS_LIST, ACCESS_READ, ACCESS_WRITE, enforce, merge
from .authz_table import EMPTY_TABLE, RuleTable
from .rules import PolicyRules

NAMED = ("agent", "event", "key", "node", "query", "service", "session")


class Authorizer:
    """Yes/no answers for one token. Build with `authorizer_for`; use `ALLOW_ALL` / `MANAGEMENT` as given."""

    __slots__ = ("is_management", "_tables", "_scalars", "_default_allow", "_default_manage")

    is_management: bool

    def __init__(
        self,
        *,
        tables: dict[str, RuleTable],
        scalars: dict[str, int],
        default_allow: bool,
        default_manage: bool,
        is_management: bool,
    ) -> None:
        object.__setattr__(self, "_tables", dict(tables))
        object.__setattr__(self, "_scalars", dict(scalars))
        object.__setattr__(self, "_default_allow", default_allow)
        object.__setattr__(self, "_default_manage", default_manage)
        object.__setattr__(self, "is_management", is_management)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Authorizer is immutable (tried to set {name})")

    def __repr__(self) -> str:
        rules = sum(1 for t in self._tables.values() if t) + len(self._scalars)
        return (
            f"Authorizer(default_allow={self._default_allow}, default_manage={self._default_manage}, "
            f"is_management={self.is_management}, resources_with_rules={rules})"
        )

    # -- the two decision shapes -------------------------------------------------------------------

    def _named(self, resource: str, name: str, required: int) -> bool:
        level = self._tables.get(resource, EMPTY_TABLE).lookup(name)
        if level is None:
            return self._default_allow
        return enforce(level, required)

    def _scalar(self, resource: str, required: int, fallback: str | None = None) -> bool:
        level = self._scalars.get(resource)
        if level is None and fallback is not None:
            level = self._scalars.get(fallback)
        if level is None:
            return self._default_manage if resource == "acl" else self._default_allow
        return enforce(level, required)

    # -- KV ------------------------------------------------------------------------------------------

    def key_read(self, key: str) -> bool:
        return self._named("key", key, ACCESS_READ)

    def key_list(self, prefix: str) -> bool:
        """Recursive listing under ``prefix`` (only consulted when ``acl.enable_key_list_policy`` is on):
        granted by ``list`` or ``write``, not by ``read``."""
        return self._named("key", prefix, ACCESS_LIST)

    def key_write(self, key: str) -> bool:
        return self._named("key", key, ACCESS_WRITE)

    def key_write_prefix(self, prefix: str) -> bool:
        """May write (delete) every key under ``prefix``, including keys no rule names yet."""
        table = self._tables.get("key", EMPTY_TABLE)
        base = table.longest_prefix(prefix)
        if base is not None and base != ACCESS_WRITE:
            return False
        if table.any_not_write_under(prefix):
            return False
        if base is not None:
            return True
        return self._default_allow

    # -- named resources -----------------------------------------------------------------------------

    def service_read(self, name: str) -> bool:
        return self._named("service", name, ACCESS_READ)

    def service_write(self, name: str) -> bool:
        return self._named("service", name, ACCESS_WRITE)

    def node_read(self, name: str) -> bool:
        return self._named("node", name, ACCESS_READ)

    def node_write(self, name: str) -> bool:
        return self._named("node", name, ACCESS_WRITE)

    def session_read(self, node: str) -> bool:
        return self._named("session", node, ACCESS_READ)

    def session_write(self, node: str) -> bool:
        return self._named("session", node, ACCESS_WRITE)

    def event_read(self, name: str) -> bool:
        return self._named("event", name, ACCESS_READ)

    def event_write(self, name: str) -> bool:
        return self._named("event", name, ACCESS_WRITE)

    def agent_read(self, node: str) -> bool:
        return self._named("agent", node, ACCESS_READ)

    def agent_write(self, node: str) -> bool:
        return self._named("agent", node, ACCESS_WRITE)

    def query_read(self, name: str) -> bool:
        return self._named("query", name, ACCESS_READ)

    def query_write(self, name: str) -> bool:
        return self._named("query", name, ACCESS_WRITE)

    # -- scalar resources ----------------------------------------------------------------------------

    def operator_read(self) -> bool:
        return self._scalar("operator", ACCESS_READ)

    def operator_write(self) -> bool:
        return self._scalar("operator", ACCESS_WRITE)

    def keyring_read(self) -> bool:
        return self._scalar("keyring", ACCESS_READ)

    def keyring_write(self) -> bool:
        return self._scalar("keyring", ACCESS_WRITE)

    def acl_read(self) -> bool:
        return self._scalar("acl", ACCESS_READ)

    def acl_write(self) -> bool:
        return self._scalar("acl", ACCESS_WRITE)

    def snapshot(self) -> bool:
        """Taking or restoring a snapshot: Consul requires acl:write."""
        return self._scalar("acl", ACCESS_WRITE)

    def mesh_read(self) -> bool:
        return self._scalar("mesh", ACCESS_READ, fallback="operator")

    def mesh_write(self) -> bool:
        return self._scalar("mesh", ACCESS_WRITE, fallback="operator")

    def peering_read(self) -> bool:
        return self._scalar("peering", ACCESS_READ, fallback="operator")

    def peering_write(self) -> bool:
        return self._scalar("peering", ACCESS_WRITE, fallback="operator")


ALLOW_ALL = Authorizer(tables={}, scalars={}, default_allow=True, default_manage=True, is_management=False)
MANAGEMENT = Authorizer(tables={}, scalars={}, default_allow=True, default_manage=True, is_management=True)


def authorizer_for(policies: Sequence[PolicyRules], default_policy: str) -> Authorizer:
    """The authorizer for a token carrying ``policies``, under ``acl.default_policy`` ("allow" | "deny")."""
    if default_policy not in ("allow", "deny"):
        raise ValueError(f'default_policy must be "allow" or "deny", not {default_policy!r}')
    merged = merge(policies)
    exact: dict[str, dict[str, int]] = {r: {} for r in NAMED}
    prefix: dict[str, dict[str, int]] = {r: {} for r in NAMED}
    scalars: dict[str, int] = {}
    for (resource, is_prefix, name), level in merged.items():
        if resource in exact:
            (prefix if is_prefix else exact)[resource][name] = level
        else:
            scalars[resource] = level
    tables = {r: RuleTable(exact[r], prefix[r]) for r in NAMED if exact[r] or prefix[r]}
    return Authorizer(
        tables=tables,
        scalars=scalars,
        default_allow=default_policy == "allow",
        default_manage=False,
        is_management=scalars.get("acl") == ACCESS_WRITE,
    )


__all__ = [
    "ALLOW_ALL",
    "ERR_DISABLED",
    "ERR_NOT_FOUND",
    "ERR_PERMISSION_DENIED",
    "ERR_ROOT_DENIED",
    "MANAGEMENT",
    "Authorizer",
    "authorizer_for",
    "permission_denied",
]
