"""The ACL tables of the state store: tokens, policies and the bootstrap marker, with their verbs.

Theory of operation
-------------------
`ACLTables` is a mixin of `StateStore`: it owns four dicts and writes them only through the store's
journalled primitives (``_jset``/``_jpop``/``_bump``/``_touch``), so an ACL command that fails half-way
rolls back like any other. Apply is pure: IDs come in the command, the creation time is ``now_ns``.

* ``_acl_tokens``   AccessorID -> `ACLToken`
* ``_acl_secrets``  SecretID -> AccessorID (the index token resolution uses)
* ``_acl_policies`` policy ID -> `ACLPolicy`
* ``_acl_names``    policy name -> policy ID (names are unique)

The store's ``_index`` table holds ``acl_tokens`` and ``acl_policies`` (last index that changed them)
and ``acl_bootstrap``: the index of the last bootstrap, 0 while the cluster was never bootstrapped.
That value is Consul's *reset index*: writing it to ``<data_dir>/acl-bootstrap-reset`` allows one more
bootstrap. `acl_index` (the max of the two table indexes) is what token-resolution caches compare to
know that nothing they resolved has changed.

Watch keys: ``("acl_tokens",)`` for any token write, ``("acl_policies",)`` for any policy write.

Expiry is a read-time matter: a token past its ExpirationTime is reported as missing by every read
given ``now_ns`` (the reader's clock; the store never reads one). It stays stored until the leader's
reaper (``actors/acl/token_reaper``) proposes an `ACLTokenReap` naming it (`acl_expired_tokens` picks
the batch); apply deletes the named tokens expired at the command's ``now_ns``. Errors are worded as Consul's and
are plain `StoreError` (Consul answers them with a 500) unless Consul treats them as bad input.

What must never live here: rule parsing or evaluation (``actors/acl``), HTTP, or any clock.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Callable

from msgspec.structs import replace

from .acl_commands import (
    ACLBootstrap,
    ACLInitBuiltins,
    ACLPolicyDelete,
    ACLPolicySet,
    ACLTokenDelete,
    ACLTokenReap,
    ACLTokenSet,
)
from .acl_models import (
    ANONYMOUS_ACCESSOR_ID,
    ANONYMOUS_DESCRIPTION,
    ANONYMOUS_SECRET_ID,
    BOOTSTRAP_DESCRIPTION,
    GLOBAL_MANAGEMENT_DESCRIPTION,
    GLOBAL_MANAGEMENT_ID,
    GLOBAL_MANAGEMENT_NAME,
    GLOBAL_MANAGEMENT_RULES,
    INITIAL_MANAGEMENT_DESCRIPTION,
    ACLPolicy,
    ACLToken,
)
from .errors import InvalidInput, StoreError, quote

if TYPE_CHECKING:
    from .watch import WatchKey, WatchSet

ACL_TABLES = ("acl_tokens", "acl_policies", "acl_bootstrap")
ACL_TOKENS: "WatchKey" = ("acl_tokens",)
ACL_POLICIES: "WatchKey" = ("acl_policies",)

BOOTSTRAP_NOT_ALLOWED = "ACL bootstrap no longer allowed"  # Consul's structs.ACLBootstrapNotAllowedErr


def token_hash(description: str, policies: list[str], local: bool) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    h.update(description.encode())
    for pid in policies:
        h.update(b"\x00p" + pid.encode())
    h.update(b"\x00l1" if local else b"\x00l0")
    return h.digest()


def policy_hash(name: str, description: str, rules: str, datacenters: list[str]) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    for part in (name, description, rules):
        h.update(part.encode() + b"\x00")
    for dc in datacenters:
        h.update(b"\x00d" + dc.encode())
    return h.digest()


def _dedup(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class ACLTables:
    """Mixin of `StateStore` (see the module docstring). Relies on the store's journal and indexes."""

    _index: dict[str, int]
    _jset: Callable[..., None]
    _jpop: Callable[..., Any]
    _bump: Callable[[str, int], None]
    _touch: Callable[..., None]
    _clamp: Callable[[int], int]

    def _init_acl(self) -> None:
        self._acl_tokens: dict[str, ACLToken] = {}
        self._acl_secrets: dict[str, str] = {}
        self._acl_policies: dict[str, ACLPolicy] = {}
        self._acl_names: dict[str, str] = {}

    def acl_handlers(self) -> dict[type, Callable[[int, Any], Any]]:
        return {
            ACLBootstrap: self._apply_acl_bootstrap,
            ACLInitBuiltins: self._apply_acl_init_builtins,
            ACLTokenSet: self._apply_acl_token_set,
            ACLTokenDelete: self._apply_acl_token_delete,
            ACLTokenReap: self._apply_acl_token_reap,
            ACLPolicySet: self._apply_acl_policy_set,
            ACLPolicyDelete: self._apply_acl_policy_delete,
        }

    # ------------------------------------------------------------------------------------------------
    # primitives

    def _acl_token_put(self, index: int, token: ACLToken) -> ACLToken:
        existing = self._acl_tokens.get(token.accessor_id)
        stored = replace(
            token,
            policies=list(token.policies),
            hash=token_hash(token.description, token.policies, token.local),
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
        )
        if existing is not None and existing.secret_id != stored.secret_id:
            self._jpop(self._acl_secrets, existing.secret_id)
        self._jset(self._acl_tokens, stored.accessor_id, stored)
        self._jset(self._acl_secrets, stored.secret_id, stored.accessor_id)
        self._bump("acl_tokens", index)
        self._touch(ACL_TOKENS)
        return stored

    def _acl_policy_put(self, index: int, policy: ACLPolicy) -> ACLPolicy:
        existing = self._acl_policies.get(policy.id)
        stored = replace(
            policy,
            datacenters=list(policy.datacenters),
            hash=policy_hash(policy.name, policy.description, policy.rules, policy.datacenters),
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
        )
        if existing is not None and existing.name != stored.name:
            self._jpop(self._acl_names, existing.name)
        self._jset(self._acl_policies, stored.id, stored)
        self._jset(self._acl_names, stored.name, stored.id)
        self._bump("acl_policies", index)
        self._touch(ACL_POLICIES)
        return stored

    def _acl_ensure_builtins(self, index: int, now_ns: int) -> None:
        """The built-ins, if missing. The anonymous token's CreateTime is the creating command's
        ``now_ns``, as Consul's leader stamps ``time.Now()``; one stored by an older version without a
        time (0: shown as 1970) gets this one."""
        policy = self._acl_policies.get(GLOBAL_MANAGEMENT_ID)
        if policy is None or policy.rules != GLOBAL_MANAGEMENT_RULES:
            if policy is None and GLOBAL_MANAGEMENT_NAME in self._acl_names:
                raise StoreError(f"Invalid Policy: A Policy with Name {quote(GLOBAL_MANAGEMENT_NAME)} already exists")
            self._acl_policy_put(index, ACLPolicy(
                id=GLOBAL_MANAGEMENT_ID,
                name=policy.name if policy is not None else GLOBAL_MANAGEMENT_NAME,
                description=policy.description if policy is not None else GLOBAL_MANAGEMENT_DESCRIPTION,
                rules=GLOBAL_MANAGEMENT_RULES,
            ))
        anonymous = self._acl_tokens.get(ANONYMOUS_ACCESSOR_ID)
        if anonymous is None and ANONYMOUS_SECRET_ID not in self._acl_secrets:
            self._acl_token_put(index, ACLToken(
                accessor_id=ANONYMOUS_ACCESSOR_ID, secret_id=ANONYMOUS_SECRET_ID, description=ANONYMOUS_DESCRIPTION,
                create_time_ns=now_ns,
            ))
        elif anonymous is not None and not anonymous.create_time_ns and now_ns:
            self._acl_token_put(index, replace(anonymous, create_time_ns=now_ns))

    def _acl_new_management_token(self, index: int, accessor: str, secret: str, description: str,
                                  now_ns: int) -> ACLToken:
        if accessor in self._acl_tokens or accessor in self._acl_secrets:
            raise StoreError("Invalid Token: AccessorID is already in use")
        if secret in self._acl_secrets or secret in self._acl_tokens:
            raise StoreError("Invalid Token: SecretID is already in use")
        return self._acl_token_put(index, ACLToken(
            accessor_id=accessor,
            secret_id=secret,
            description=description,
            policies=[GLOBAL_MANAGEMENT_ID],
            create_time_ns=now_ns,
        ))

    # ------------------------------------------------------------------------------------------------
    # commands

    def _apply_acl_bootstrap(self, index: int, cmd: ACLBootstrap) -> ACLToken:
        done_at = self._index["acl_bootstrap"]
        if done_at:
            if cmd.reset_index == 0:
                raise StoreError(f"{BOOTSTRAP_NOT_ALLOWED} (reset index: {done_at})")
            if cmd.reset_index != done_at:
                raise StoreError(
                    f"Invalid bootstrap reset index (specified {cmd.reset_index}, reset index: {done_at})"
                )
        if not cmd.accessor_id or not cmd.secret_id:
            raise InvalidInput("Missing token ID")
        self._acl_ensure_builtins(index, cmd.now_ns)
        token = self._acl_new_management_token(index, cmd.accessor_id, cmd.secret_id, BOOTSTRAP_DESCRIPTION,
                                               cmd.now_ns)
        self._bump("acl_bootstrap", index)
        return token

    def _apply_acl_init_builtins(self, index: int, cmd: ACLInitBuiltins) -> bool:
        self._acl_ensure_builtins(index, cmd.now_ns)
        secret = cmd.initial_management_secret
        if secret and secret not in self._acl_secrets:
            self._acl_new_management_token(index, cmd.initial_management_accessor, secret,
                                           INITIAL_MANAGEMENT_DESCRIPTION, cmd.now_ns)
            if not self._index["acl_bootstrap"]:
                self._bump("acl_bootstrap", index)
        return True

    def _acl_check_links(self, policies: list[str]) -> list[str]:
        for pid in policies:
            if pid not in self._acl_policies:
                raise StoreError(f"No such ACL policy with ID {quote(pid)}")
        return _dedup(policies)

    def _apply_acl_token_set(self, index: int, cmd: ACLTokenSet) -> ACLToken:
        if not cmd.accessor_id:
            raise InvalidInput("Missing token AccessorID")
        policies = self._acl_check_links(cmd.policies)
        existing = self._acl_tokens.get(cmd.accessor_id)
        if cmd.create:
            if existing is not None or cmd.accessor_id in self._acl_secrets:
                raise StoreError("Invalid Token: AccessorID is already in use")
            if not cmd.secret_id:
                raise InvalidInput("Missing token SecretID")
            if cmd.secret_id in self._acl_secrets or cmd.secret_id in self._acl_tokens:
                raise StoreError("Invalid Token: SecretID is already in use")
            if cmd.expiration_ttl_ns < 0:
                raise StoreError("Token Expiration TTL should be > 0")
            if cmd.expiration_ttl_ns and cmd.expiration_time_ns:
                raise StoreError("Token Expiration TTL and Expiration Time cannot both be set")
            expires = cmd.now_ns + cmd.expiration_ttl_ns if cmd.expiration_ttl_ns else cmd.expiration_time_ns
            if expires and expires < cmd.now_ns:
                raise StoreError("ExpirationTime cannot be before CreateTime")
            token = ACLToken(
                accessor_id=cmd.accessor_id,
                secret_id=cmd.secret_id,
                description=cmd.description,
                policies=policies,
                local=cmd.local,
                create_time_ns=cmd.now_ns,
                expiration_time_ns=expires,
            )
            return self._acl_token_put(index, token)
        if existing is None or existing.expired(cmd.now_ns):
            raise StoreError(f"Cannot find token {quote(cmd.accessor_id)}")
        if cmd.secret_id and cmd.secret_id != existing.secret_id:
            raise StoreError("Changing a tokens SecretID is not permitted")
        if cmd.local != existing.local:
            raise StoreError(f"cannot toggle local mode of {cmd.accessor_id}")
        if cmd.expiration_ttl_ns or (cmd.expiration_time_ns and cmd.expiration_time_ns != existing.expiration_time_ns):
            raise StoreError(f"Cannot change expiration time of {cmd.accessor_id}")
        return self._acl_token_put(index, replace(existing, description=cmd.description, policies=policies))

    def _apply_acl_token_delete(self, index: int, cmd: ACLTokenDelete) -> bool:
        if cmd.accessor_id == ANONYMOUS_ACCESSOR_ID:
            raise StoreError("Delete operation not permitted on the anonymous token")
        token = self._jpop(self._acl_tokens, cmd.accessor_id)
        if token is None:
            return True
        self._jpop(self._acl_secrets, token.secret_id)
        self._bump("acl_tokens", index)
        self._touch(ACL_TOKENS)
        return True

    def _apply_acl_token_reap(self, index: int, cmd: ACLTokenReap) -> int:
        deleted = 0
        for accessor in cmd.accessor_ids:
            token = self._acl_tokens.get(accessor)
            if token is None or accessor == ANONYMOUS_ACCESSOR_ID or not token.expired(cmd.now_ns):
                continue
            self._jpop(self._acl_tokens, accessor)
            self._jpop(self._acl_secrets, token.secret_id)
            deleted += 1
        if deleted:
            self._bump("acl_tokens", index)
            self._touch(ACL_TOKENS)
        return deleted

    def _apply_acl_policy_set(self, index: int, cmd: ACLPolicySet) -> ACLPolicy:
        policy = cmd.policy
        if not policy.name:
            raise StoreError("Invalid Policy: no Name is set")
        if not policy.id:
            raise InvalidInput("Missing policy ID")
        existing = self._acl_policies.get(policy.id)
        name_owner = self._acl_names.get(policy.name)
        if cmd.create:
            if existing is not None:
                raise StoreError(f"Invalid Policy: A Policy with ID {quote(policy.id)} already exists")
            if name_owner is not None:
                raise StoreError(f"Invalid Policy: A Policy with Name {quote(policy.name)} already exists")
        else:
            if existing is None:
                raise StoreError(f"cannot find policy {policy.id}")
            if name_owner is not None and name_owner != policy.id:
                raise StoreError(f"Invalid Policy: A policy with name {quote(policy.name)} already exists")
            if policy.id == GLOBAL_MANAGEMENT_ID:
                if policy.datacenters:
                    raise StoreError(
                        "Changing the Datacenters of the builtin global-management policy is not permitted"
                    )
                if policy.rules != existing.rules:
                    raise StoreError("Changing the Rules for the builtin global-management policy is not permitted")
        return self._acl_policy_put(index, policy)

    def _apply_acl_policy_delete(self, index: int, cmd: ACLPolicyDelete) -> bool:
        if cmd.id == GLOBAL_MANAGEMENT_ID:
            raise StoreError("Delete operation not permitted on the builtin global-management policy")
        policy = self._jpop(self._acl_policies, cmd.id)
        if policy is None:
            return True
        self._jpop(self._acl_names, policy.name)
        self._bump("acl_policies", index)
        self._touch(ACL_POLICIES)
        return True

    # ------------------------------------------------------------------------------------------------
    # reads (``now_ns`` None: do not judge expiry)

    def acl_index(self) -> int:
        """The last index that changed a token or a policy: token-resolution caches compare it."""
        return max(self._index["acl_tokens"], self._index["acl_policies"])

    def acl_can_bootstrap(self) -> tuple[bool, int]:
        """(bootstrap allowed, reset index): the reset index is the index of the last bootstrap."""
        done_at = self._index["acl_bootstrap"]
        return done_at == 0, done_at

    @staticmethod
    def _live(token: ACLToken | None, now_ns: int | None) -> ACLToken | None:
        if token is None or (now_ns is not None and token.expired(now_ns)):
            return None
        return token

    def _token_read_index(self, ws: "WatchSet | None") -> int:
        if ws is not None:
            ws.add(ACL_TOKENS)
            ws.add(ACL_POLICIES)  # a token's answer shows its policies' names
        return self._clamp(self.acl_index())

    def acl_token_by_accessor(self, accessor_id: str, now_ns: int | None = None,
                              ws: "WatchSet | None" = None) -> tuple[int, ACLToken | None]:
        index = self._token_read_index(ws)
        return index, self._live(self._acl_tokens.get(accessor_id), now_ns)

    def acl_token_by_secret(self, secret_id: str, now_ns: int | None = None,
                            ws: "WatchSet | None" = None) -> tuple[int, ACLToken | None]:
        index = self._token_read_index(ws)
        accessor = self._acl_secrets.get(secret_id)
        return index, self._live(self._acl_tokens.get(accessor) if accessor is not None else None, now_ns)

    def acl_token_list(self, policy: str = "", now_ns: int | None = None,
                       ws: "WatchSet | None" = None) -> tuple[int, list[ACLToken]]:
        """Tokens sorted by AccessorID (live ones only when ``now_ns`` is given); ``policy`` keeps the
        tokens linked to that policy ID."""
        index = self._token_read_index(ws)
        out = []
        for accessor in sorted(self._acl_tokens):
            token = self._live(self._acl_tokens[accessor], now_ns)
            if token is not None and (not policy or policy in token.policies):
                out.append(token)
        return index, out

    def acl_expired_tokens(self, now_ns: int, limit: int) -> list[str]:
        """AccessorIDs of at most ``limit`` tokens expired at ``now_ns``, soonest expiry first (Consul's
        ``ACLTokenListExpired``): what the leader's reaper deletes next."""
        expired = sorted((t.expiration_time_ns, a) for a, t in self._acl_tokens.items()
                         if t.expired(now_ns) and a != ANONYMOUS_ACCESSOR_ID)
        return [a for _, a in expired[:max(0, limit)]]

    def acl_next_token_expiry(self) -> int | None:
        """The earliest ExpirationTime of any stored token (ns), None when no token expires."""
        times = [t.expiration_time_ns for t in self._acl_tokens.values() if t.expiration_time_ns > 0]
        return min(times) if times else None

    def acl_policy_by_id(self, policy_id: str, ws: "WatchSet | None" = None) -> tuple[int, ACLPolicy | None]:
        if ws is not None:
            ws.add(ACL_POLICIES)
        return self._clamp(self._index["acl_policies"]), self._acl_policies.get(policy_id)

    def acl_policy_by_name(self, name: str, ws: "WatchSet | None" = None) -> tuple[int, ACLPolicy | None]:
        if ws is not None:
            ws.add(ACL_POLICIES)
        pid = self._acl_names.get(name)
        return self._clamp(self._index["acl_policies"]), self._acl_policies.get(pid) if pid is not None else None

    def acl_policy_list(self, ws: "WatchSet | None" = None) -> tuple[int, list[ACLPolicy]]:
        """Policies sorted by ID."""
        if ws is not None:
            ws.add(ACL_POLICIES)
        return self._clamp(self._index["acl_policies"]), [self._acl_policies[p] for p in sorted(self._acl_policies)]

    # ------------------------------------------------------------------------------------------------
    # snapshot support

    def acl_rows(self) -> tuple[list[ACLToken], list[ACLPolicy]]:
        """Every token and policy, sorted, for `actors.state.snapshot`."""
        return ([self._acl_tokens[a] for a in sorted(self._acl_tokens)],
                [self._acl_policies[p] for p in sorted(self._acl_policies)])

    def acl_load(self, tokens: list[ACLToken], policies: list[ACLPolicy]) -> None:
        """Fill the (empty) tables from snapshot rows, rebuilding the secondary indexes."""
        for token in tokens:
            self._acl_tokens[token.accessor_id] = token
            self._acl_secrets[token.secret_id] = token.accessor_id
        for policy in policies:
            self._acl_policies[policy.id] = policy
            self._acl_names[policy.name] = policy.id
