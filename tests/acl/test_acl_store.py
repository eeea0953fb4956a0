"""The ACL tables of the state store: verbs, Consul's refusals, expiry, rollback and snapshots."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from actors.state.acl_commands import (
    ACLBootstrap,
    ACLInitBuiltins,
    ACLPolicyDelete,
    ACLPolicySet,
    ACLTokenDelete,
    ACLTokenSet,
)
from actors.state.acl_models import (
    ANONYMOUS_ACCESSOR_ID,
    ANONYMOUS_SECRET_ID,
    BOOTSTRAP_DESCRIPTION,
    GLOBAL_MANAGEMENT_ID,
    INITIAL_MANAGEMENT_DESCRIPTION,
    ACLPolicy,
)
from actors.state.acl_tables import ACL_POLICIES, ACL_TOKENS
from actors.state.commands import decode_command, encode_command
from actors.state.store import StateStore
from actors.state.watch import WatchRegistry, WatchSet

SECOND = 1_000_000_000
A1 = "11111111-1111-4111-8111-111111111111"
S1 = "aaaaaaaa-1111-4111-8111-111111111111"
A2 = "22222222-2222-4222-8222-222222222222"
S2 = "bbbbbbbb-2222-4222-8222-222222222222"
P1 = "33333333-3333-4333-8333-333333333333"
P2 = "44444444-4444-4444-8444-444444444444"


class H:
    def __init__(self) -> None:
        self.store = StateStore()
        self.index = 0
        self.now_ns = 1_000 * SECOND

    def do(self, cmd: Any) -> Any:
        self.index += 1
        return self.store.apply(self.index, replace(cmd, now_ns=self.now_ns))

    def ok(self, cmd: Any) -> Any:
        applied = self.do(cmd)
        assert applied.error is None, applied.error
        return applied.value

    def err(self, cmd: Any) -> str:
        applied = self.do(cmd)
        assert applied.error is not None, applied.value
        return applied.error.message


@pytest.fixture
def h() -> H:
    return H()


def policy(pid: str = P1, name: str = "web", rules: str = 'service "web" { policy = "write" }') -> ACLPolicy:
    return ACLPolicy(id=pid, name=name, rules=rules, description="d")


def test_bootstrap_once_then_refused_with_reset_index(h):
    token = h.ok(ACLBootstrap(accessor_id=A1, secret_id=S1))
    assert token.description == BOOTSTRAP_DESCRIPTION
    assert token.policies == [GLOBAL_MANAGEMENT_ID]
    assert token.create_time_ns == h.now_ns and token.create_index == h.index
    assert h.store.acl_can_bootstrap() == (False, 1)
    # the built-ins came with it
    assert h.store.acl_policy_by_id(GLOBAL_MANAGEMENT_ID)[1].name == "global-management"
    assert h.store.acl_token_by_secret(ANONYMOUS_SECRET_ID)[1].accessor_id == ANONYMOUS_ACCESSOR_ID
    assert h.err(ACLBootstrap(accessor_id=A2, secret_id=S2)) == "ACL bootstrap no longer allowed (reset index: 1)"
    assert h.err(ACLBootstrap(accessor_id=A2, secret_id=S2, reset_index=7)) == (
        "Invalid bootstrap reset index (specified 7, reset index: 1)")
    second = h.ok(ACLBootstrap(accessor_id=A2, secret_id=S2, reset_index=1))
    assert second.secret_id == S2
    assert h.store.acl_can_bootstrap() == (False, h.index)  # the reset index moved on
    assert h.store.acl_token_by_secret(S1)[1] is not None  # the first token still works


def test_init_builtins_is_idempotent_and_initial_management_marks_bootstrap(h):
    h.ok(ACLInitBuiltins())
    first = h.index
    assert h.store.acl_can_bootstrap() == (True, 0)
    h.ok(ACLInitBuiltins())
    assert h.store.acl_policy_by_id(GLOBAL_MANAGEMENT_ID)[1].modify_index == first
    h.ok(ACLInitBuiltins(initial_management_accessor=A1, initial_management_secret=S1))
    token = h.store.acl_token_by_secret(S1)[1]
    assert token.description == INITIAL_MANAGEMENT_DESCRIPTION and token.policies == [GLOBAL_MANAGEMENT_ID]
    assert h.store.acl_can_bootstrap() == (False, h.index)
    # a new leader proposing it again (with a fresh accessor) changes nothing
    before = h.store.snapshot()
    h.ok(ACLInitBuiltins(initial_management_accessor=A2, initial_management_secret=S1))
    assert h.store.acl_token_by_accessor(A2)[1] is None
    assert h.store.acl_rows() == StateStore.restore(before).acl_rows()


def test_token_create_update_delete(h):
    h.ok(ACLInitBuiltins())
    h.ok(ACLPolicySet(policy=policy()))
    created = h.ok(ACLTokenSet(accessor_id=A1, secret_id=S1, description="x", policies=[P1, P1]))
    assert created.policies == [P1] and created.create_index == created.modify_index == h.index
    assert h.err(ACLTokenSet(accessor_id=A1, secret_id=S2)) == "Invalid Token: AccessorID is already in use"
    assert h.err(ACLTokenSet(accessor_id=A2, secret_id=S1)) == "Invalid Token: SecretID is already in use"
    assert h.err(ACLTokenSet(accessor_id=A2, secret_id=S2, policies=[P2])) == f'No such ACL policy with ID "{P2}"'
    updated = h.ok(ACLTokenSet(accessor_id=A1, description="y", create=False))
    assert updated.secret_id == S1 and updated.description == "y" and updated.policies == []
    assert updated.create_index == created.create_index and updated.modify_index == h.index
    assert updated.create_time_ns == created.create_time_ns and updated.hash != created.hash
    assert h.err(ACLTokenSet(accessor_id=A1, secret_id=S2, create=False)) == (
        "Changing a tokens SecretID is not permitted")
    assert h.err(ACLTokenSet(accessor_id=A2, create=False)) == f'Cannot find token "{A2}"'
    assert h.ok(ACLTokenDelete(accessor_id=A1)) is True
    assert h.store.acl_token_by_secret(S1)[1] is None
    assert h.store.acl_token_by_accessor(A1)[1] is None
    assert h.ok(ACLTokenDelete(accessor_id=A1)) is True  # unknown: fine
    assert h.err(ACLTokenDelete(accessor_id=ANONYMOUS_ACCESSOR_ID)) == (
        "Delete operation not permitted on the anonymous token")


def test_policy_names_are_unique_and_builtin_is_protected(h):
    h.ok(ACLInitBuiltins())
    h.ok(ACLPolicySet(policy=policy()))
    assert h.err(ACLPolicySet(policy=policy(P2))) == 'Invalid Policy: A Policy with Name "web" already exists'
    h.ok(ACLPolicySet(policy=policy(P2, name="db")))
    assert h.err(ACLPolicySet(policy=policy(P2, name="web"), create=False)) == (
        'Invalid Policy: A policy with name "web" already exists')
    renamed = h.ok(ACLPolicySet(policy=policy(P2, name="db2"), create=False))
    assert h.store.acl_policy_by_name("db2")[1] == renamed
    assert h.store.acl_policy_by_name("db")[1] is None
    builtin = h.store.acl_policy_by_id(GLOBAL_MANAGEMENT_ID)[1]
    assert h.err(ACLPolicySet(policy=replace(builtin, rules="acl = \"read\""), create=False)) == (
        "Changing the Rules for the builtin global-management policy is not permitted")
    h.ok(ACLPolicySet(policy=replace(builtin, description="mine"), create=False))  # description may change
    assert h.err(ACLPolicyDelete(id=GLOBAL_MANAGEMENT_ID)) == (
        "Delete operation not permitted on the builtin global-management policy")
    missing = "55555555-5555-4555-8555-555555555555"
    assert h.err(ACLPolicySet(policy=policy(missing, name="x"), create=False)) == f"cannot find policy {missing}"
    h.ok(ACLPolicyDelete(id=P1))
    assert h.store.acl_policy_by_name("web")[1] is None
    assert [p.name for p in h.store.acl_policy_list()[1]] == ["global-management", "db2"]


def test_token_list_filters_by_policy_and_expired_tokens_are_missing(h):
    h.ok(ACLInitBuiltins())
    h.ok(ACLPolicySet(policy=policy()))
    h.ok(ACLTokenSet(accessor_id=A1, secret_id=S1, policies=[P1], expiration_ttl_ns=60 * SECOND))
    h.ok(ACLTokenSet(accessor_id=A2, secret_id=S2))
    token = h.store.acl_token_by_accessor(A1)[1]
    assert token.expiration_time_ns == h.now_ns + 60 * SECOND
    assert [t.accessor_id for t in h.store.acl_token_list(policy=P1)[1]] == [A1]
    later = h.now_ns + 61 * SECOND
    assert h.store.acl_token_by_secret(S1, now_ns=later)[1] is None
    assert h.store.acl_token_by_accessor(A1, now_ns=later)[1] is None
    assert h.store.acl_token_by_secret(S1, now_ns=h.now_ns)[1] is not None
    listed = [t.accessor_id for t in h.store.acl_token_list(now_ns=later)[1]]
    assert A1 not in listed and A2 in listed
    assert h.err(ACLTokenSet(accessor_id=A1, create=False, expiration_ttl_ns=5)) == (
        f"Cannot change expiration time of {A1}")


def test_failed_write_rolls_back_and_reads_register_watches(h):
    h.ok(ACLTokenSet(accessor_id=A2, secret_id=S2))
    before = h.store.snapshot()
    # bootstrap writes the built-ins first, then finds the secret taken: all of it is undone
    assert h.err(ACLBootstrap(accessor_id=A1, secret_id=S2)) == "Invalid Token: SecretID is already in use"
    assert h.store.acl_policy_by_id(GLOBAL_MANAGEMENT_ID)[1] is None
    assert h.store.acl_can_bootstrap() == (True, 0)
    assert h.store.acl_rows() == StateStore.restore(before).acl_rows()
    registry = WatchRegistry()
    ws = WatchSet()
    index, _ = h.store.acl_token_list(ws=ws)
    assert ACL_TOKENS in ws.keys and ACL_POLICIES in ws.keys
    token = registry.register(ws)
    applied = h.do(ACLTokenSet(accessor_id=A1, secret_id=S1))
    assert token in registry.fire(applied.touched)
    assert h.store.acl_index() == h.index > index


def test_snapshot_round_trip_and_codec(h):
    h.ok(ACLBootstrap(accessor_id=A1, secret_id=S1))
    h.ok(ACLPolicySet(policy=policy()))
    h.ok(ACLTokenSet(accessor_id=A2, secret_id=S2, policies=[P1], expiration_ttl_ns=3600 * SECOND))
    restored = StateStore.restore(h.store.snapshot())
    assert restored.snapshot() == h.store.snapshot()
    assert restored.acl_rows() == h.store.acl_rows()
    assert restored.acl_can_bootstrap() == (False, 1)
    assert restored.acl_token_by_secret(S2)[1] == h.store.acl_token_by_secret(S2)[1]
    assert restored.acl_policy_by_name("web")[1].id == P1
    assert restored.acl_index() == h.store.acl_index()
    # a replica fed the encoded log ends identical
    replica, log = StateStore(), [
        ACLBootstrap(accessor_id=A1, secret_id=S1, now_ns=5),
        ACLPolicySet(policy=policy(), now_ns=6),
        ACLTokenSet(accessor_id=A2, secret_id=S2, policies=[P1], now_ns=7),
    ]
    for i, cmd in enumerate(log, start=1):
        assert replica.apply(i, decode_command(encode_command(cmd))).error is None
    other = StateStore()
    for i, cmd in enumerate(log, start=1):
        other.apply(i, cmd)
    assert replica.snapshot() == other.snapshot()
