"""Secret -> authorizer on a server, from its own replica of the ACL tables, with a cache.

What lives here: `StoreResolver`, one per server agent, and `Resolved` (authorizer, AccessorID, expiry).
A token linked to ``global-management`` resolves to `MANAGEMENT`; any other token to
`authorizer_for` over its policies' parsed rules (policies restricted to other datacenters and links to
deleted policies are skipped) under ``acl.default_policy``. The ``anonymous`` secret resolves even
before the leader has created the anonymous token (to a token without policies).

Cache: resolved secrets (unknown ones too) are kept until the store's `acl_index` moves or the store
object is replaced (snapshot restore): any token or policy write empties it, so a deleted or changed
token stops resolving on this server as soon as the write is applied here. Parsed rules are kept by
(policy ID, ModifyIndex). Both caches are bounded. Expiry is judged on every call with the caller's
``now_ns``, never cached.

What must never live here: trio, HTTP, the read barrier (``resolve`` decides freshness), or logging of
secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from actors.acl.authorizer import MANAGEMENT, Authorizer, authorizer_for
from actors.acl.rules import EMPTY_RULES, PolicyRules, RulesError, parse_rules
from actors.state.acl_models import ANONYMOUS_ACCESSOR_ID, ANONYMOUS_SECRET_ID, GLOBAL_MANAGEMENT_ID

if TYPE_CHECKING:
    from actors.state.store import StateStore

MAX_TOKENS = 4096
MAX_POLICIES = 4096


class Resolved(NamedTuple):
    authorizer: Authorizer
    accessor_id: str
    expiration_time_ns: int = 0  # 0: never

    def expired(self, now_ns: int) -> bool:
        return self.expiration_time_ns > 0 and now_ns >= self.expiration_time_ns


class RulesCache:
    """Parsed rules by (policy ID, ModifyIndex); text that no longer parses counts as no rules."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, int], PolicyRules] = {}

    def get(self, policy_id: str, modify_index: int, text: str) -> PolicyRules:
        key = (policy_id, modify_index)
        rules = self._parsed.get(key)
        if rules is None:
            try:
                rules = parse_rules(text)
            except RulesError:
                rules = EMPTY_RULES  # validated at write time; a stricter parser must not grant more
            if len(self._parsed) >= MAX_POLICIES:
                self._parsed.clear()
            self._parsed[key] = rules
        return rules


class StoreResolver:
    def __init__(self, default_policy: str, datacenter: str) -> None:
        self.default_policy = default_policy
        self.datacenter = datacenter
        self.rules = RulesCache()
        self._store: "StateStore | None" = None
        self._acl_index = -1
        self._tokens: dict[str, Resolved | None] = {}
        self.builds = 0  # how many resolutions missed the cache (tests read it)

    def resolve(self, store: "StateStore", secret: str, now_ns: int) -> Resolved | None:
        """The live token for ``secret``, or None (unknown, or expired at ``now_ns``)."""
        index = store.acl_index()
        if store is not self._store or index != self._acl_index:
            self._store, self._acl_index = store, index
            self._tokens.clear()
        if secret in self._tokens:
            found = self._tokens[secret]
        else:
            found = self._build(store, secret)
            if len(self._tokens) >= MAX_TOKENS:
                self._tokens.clear()
            self._tokens[secret] = found
        if found is None or found.expired(now_ns):
            return None
        return found

    def _build(self, store: "StateStore", secret: str) -> Resolved | None:
        self.builds += 1
        _, token = store.acl_token_by_secret(secret)
        if token is None:
            if secret == ANONYMOUS_SECRET_ID:
                return Resolved(authorizer_for([], self.default_policy), ANONYMOUS_ACCESSOR_ID)
            return None
        rules: list[PolicyRules] = []
        for pid in token.policies:
            _, policy = store.acl_policy_by_id(pid)
            if policy is None or (policy.datacenters and self.datacenter not in policy.datacenters):
                continue
            if pid == GLOBAL_MANAGEMENT_ID:
                return Resolved(MANAGEMENT, token.accessor_id, token.expiration_time_ns)
            rules.append(self.rules.get(policy.id, policy.modify_index, policy.rules))
        return Resolved(authorizer_for(rules, self.default_policy), token.accessor_id, token.expiration_time_ns)
