"""Expired ACL tokens: the leader's reaper, the ExpirationTTL bounds, and the built-ins' CreateTime.

* the store: `ACLTokenReap` deletes exactly the named tokens expired at the command's ``now_ns`` (never
  the anonymous token, never one still valid at that time), and `acl_expired_tokens` picks a bounded
  batch, soonest expiry first;
* the reaper (``actors/acl/token_reaper``) over a `LocalBackend` in virtual time: nothing is deleted
  before the ExpirationTime, everything expired is deleted within a tick after it, in batches no
  larger than asked; a ``-dev`` agent's leader runs it (real time, a token expiring in under a second
  written straight through the backend, which the API's 1 minute floor would refuse);
* ``ExpirationTTL`` out of Consul's default bounds (1m .. 24h) is refused with Consul's texts (500, as
  Consul's ``ACL.TokenSet`` errors reach HTTP);
* the anonymous token carries the leader-stamped time of the command that created it, not 1970.
"""

from __future__ import annotations

from typing import Any

import trio
from msgspec.structs import replace

from actors.acl.leader_init import _needed
from actors.acl.token_reaper import reap_expired_tokens, run_token_reaper
from actors.agent import serve_agent
from actors.backend import LocalBackend
from actors.context import AgentContext
from actors.state.acl_commands import ACLInitBuiltins, ACLTokenReap, ACLTokenSet
from actors.state.acl_models import ANONYMOUS_ACCESSOR_ID, ACLToken
from actors.state.commands import decode_command, encode_command
from actors.state.store import StateStore
from runtime import clock
from tests.acl.matrix_kit import ROOT, acl_dev_config
from tests.acl.test_acl_api import Api, acl_config, text
from tests.cluster.cluster_kit import wait_for

SECOND = 1_000_000_000
MINUTE = 60 * SECOND


def accessor(n: int) -> str:
    return f"{n:08x}-1111-4111-8111-111111111111"


def secret(n: int) -> str:
    return f"{n:08x}-2222-4222-8222-222222222222"


class H:
    """A bare store, applying commands at increasing indexes and at a chosen ``now_ns``."""

    def __init__(self) -> None:
        self.store = StateStore()
        self.index = 0

    def ok(self, cmd: Any, now_ns: int) -> Any:
        self.index += 1
        applied = self.store.apply(self.index, replace(cmd, now_ns=now_ns))
        assert applied.error is None, applied.error
        return applied.value

    def token(self, n: int, now_ns: int, ttl_ns: int = 0) -> None:
        self.ok(ACLTokenSet(accessor_id=accessor(n), secret_id=secret(n), expiration_ttl_ns=ttl_ns), now_ns)

    def stored(self) -> set[str]:
        return {t.accessor_id for t in self.store.acl_token_list()[1]}  # no now_ns: expired ones too


# -- the store --------------------------------------------------------------------------------------


def test_reap_deletes_only_the_named_tokens_expired_at_the_commands_time() -> None:
    h = H()
    t0 = 1_000 * SECOND
    h.ok(ACLInitBuiltins(), t0)
    h.token(1, t0, ttl_ns=MINUTE)
    h.token(2, t0, ttl_ns=2 * MINUTE)
    h.token(3, t0)  # never expires
    h.token(4, t0, ttl_ns=MINUTE)
    at = t0 + 90 * SECOND
    assert h.store.acl_expired_tokens(at, 10) == [accessor(1), accessor(4)]
    assert h.store.acl_expired_tokens(at, 1) == [accessor(1)]
    assert h.store.acl_next_token_expiry() == t0 + MINUTE
    before = h.store.acl_index()
    # token 2 is named but not expired at the command's time; 3 never expires; anonymous is never reaped;
    # an unknown accessor is skipped
    named = [accessor(1), accessor(2), accessor(3), ANONYMOUS_ACCESSOR_ID, accessor(9)]
    assert h.ok(ACLTokenReap(accessor_ids=named), at) == 1
    assert h.stored() == {accessor(2), accessor(3), accessor(4), ANONYMOUS_ACCESSOR_ID}
    assert h.store.acl_index() == h.index > before  # resolution caches see the change
    assert h.store.acl_token_by_secret(secret(1))[1] is None
    # a batch that deletes nothing changes no index
    index = h.store.acl_index()
    assert h.ok(ACLTokenReap(accessor_ids=[accessor(2)]), at) == 0
    assert h.store.acl_index() == index
    assert h.store.acl_expired_tokens(t0 + 3 * MINUTE, 10) == [accessor(4), accessor(2)]


def test_reap_command_round_trips() -> None:
    cmd = ACLTokenReap(accessor_ids=[accessor(1), accessor(2)], now_ns=5)
    assert decode_command(encode_command(cmd)) == cmd


# -- the reaper, in virtual time --------------------------------------------------------------------


class CountingBackend(LocalBackend):
    def __init__(self) -> None:
        super().__init__(wall_ns=lambda: int(trio.current_time() * 1e9))
        self.reaps: list[int] = []

    async def write(self, command: Any) -> Any:
        if isinstance(command, ACLTokenReap):
            self.reaps.append(len(command.accessor_ids))
        return await super().write(command)


def stored(store: StateStore) -> set[str]:
    return {t.accessor_id for t in store.acl_token_list()[1]}


async def test_reaper_deletes_expired_tokens_after_their_expiration_time(autojump_clock: Any) -> None:
    backend = CountingBackend()
    await backend.write(ACLInitBuiltins())
    t0 = trio.current_time()
    for n, ttl in ((1, MINUTE), (2, 2 * MINUTE), (3, 0)):
        applied = await backend.write(ACLTokenSet(accessor_id=accessor(n), secret_id=secret(n), expiration_ttl_ns=ttl))
        assert applied.error is None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: run_token_reaper(backend, backend.store, wall_ns=backend._wall_ns))
        await trio.sleep_until(t0 + 59.5)
        assert stored(backend.store) == {accessor(1), accessor(2), accessor(3), ANONYMOUS_ACCESSOR_ID}
        assert backend.reaps == []  # nothing expired: not even an empty command
        await trio.sleep_until(t0 + 61.5)
        assert stored(backend.store) == {accessor(2), accessor(3), ANONYMOUS_ACCESSOR_ID}
        await trio.sleep_until(t0 + 121.5)
        assert stored(backend.store) == {accessor(3), ANONYMOUS_ACCESSOR_ID}
        assert backend.reaps == [1, 1]
        nursery.cancel_scope.cancel()


async def test_reaper_deletes_in_bounded_batches(autojump_clock: Any) -> None:
    backend = CountingBackend()
    for n in range(1, 8):
        await backend.write(ACLTokenSet(accessor_id=accessor(n), secret_id=secret(n), expiration_ttl_ns=MINUTE))
    await trio.sleep(61)  # virtual time: the commands are stamped with the backend's clock
    now = backend._wall_ns()
    # one pass: at most `burst` batches of at most `batch_size` each
    assert await reap_expired_tokens(backend, backend.store, now, batch_size=2, burst=2) == 4
    assert backend.reaps == [2, 2]
    assert len(stored(backend.store)) == 3
    assert await reap_expired_tokens(backend, backend.store, now, batch_size=2, burst=5) == 3
    assert backend.reaps == [2, 2, 2, 1]  # a short batch ends the pass
    assert stored(backend.store) == set()
    assert await reap_expired_tokens(backend, backend.store, now, batch_size=2, burst=5) == 0
    assert backend.reaps == [2, 2, 2, 1]


async def test_the_leader_of_a_dev_agent_reaps_expired_tokens(nursery: trio.Nursery) -> None:
    clock.reset_anchor()
    ctx: AgentContext = await nursery.start(lambda task_status: serve_agent(acl_dev_config(), task_status=task_status))
    assert ctx.backend is not None
    store = ctx.backend.store
    with trio.fail_after(30):
        await wait_for(lambda: store.acl_token_by_secret(ROOT)[1] is not None, 20, "the management token")
        expires = int((clock.wall_time() + 0.5) * 1e9)
        applied = await ctx.backend.write(ACLTokenSet(accessor_id=accessor(1), secret_id=secret(1),
                                                      expiration_time_ns=expires))
        assert applied.error is None
        assert store.acl_token_by_accessor(accessor(1))[1] is not None
        await wait_for(lambda: store.acl_token_by_accessor(accessor(1))[1] is None, 10, "the token reaped")
        assert store.acl_token_by_secret(ROOT)[1] is not None
        assert store.acl_token_by_accessor(ANONYMOUS_ACCESSOR_ID)[1] is not None
        leaders = [c.actor for c in ctx.tree.cells.values() if getattr(c.actor, "kind", "") == "leader"]
        assert [leader.statistics()["tokens_reaped"] for leader in leaders] == [1]


# -- ExpirationTTL bounds ---------------------------------------------------------------------------


async def test_expiration_ttl_out_of_bounds_is_refused_with_consuls_texts() -> None:
    api = Api(acl_config())
    root = await api.bootstrap()
    for body, expected in (
        ({"ExpirationTTL": "59s"}, "ExpirationTime cannot be less than 1m0s in the future (was 59s)"),
        ({"ExpirationTTL": "24h0m1s"}, "ExpirationTime cannot be more than 24h0m0s in the future (was 24h0m1s)"),
        ({"ExpirationTTL": "-5s"}, "Token Expiration TTL '-5s' should be > 0"),
        ({"ExpirationTTL": "2m", "ExpirationTime": "2100-01-01T00:00:00Z"},
         "Token Expiration TTL and Expiration Time cannot both be set"),
        ({"ExpirationTime": "2000-01-01T00:00:00Z"}, "ExpirationTime cannot be before CreateTime"),
    ):
        assert text(await api.call("PUT", "/v1/acl/token", body, root)) == (500, expected), body
    for ttl in ("1m", "24h"):  # the bounds themselves are accepted
        made = await api.ok("PUT", "/v1/acl/token", {"ExpirationTTL": ttl}, root)
        assert made["ExpirationTime"] > made["CreateTime"]


# -- the built-ins' CreateTime ----------------------------------------------------------------------


def test_the_anonymous_token_carries_the_creating_commands_time() -> None:
    h = H()
    h.ok(ACLInitBuiltins(), 1_700_000_000 * SECOND)
    anonymous = h.store.acl_token_by_accessor(ANONYMOUS_ACCESSOR_ID)[1]
    assert anonymous is not None and anonymous.create_time_ns == 1_700_000_000 * SECOND
    # a later init changes nothing
    index = h.store.acl_index()
    h.ok(ACLInitBuiltins(), 1_800_000_000 * SECOND)
    assert h.store.acl_token_by_accessor(ANONYMOUS_ACCESSOR_ID)[1].create_time_ns == 1_700_000_000 * SECOND
    assert h.store.acl_index() == index


def test_an_anonymous_token_stored_without_a_time_is_given_one() -> None:
    h = H()
    h.ok(ACLInitBuiltins(), 1_700_000_000 * SECOND)
    _, policies = h.store.acl_rows()
    legacy = StateStore()
    legacy.acl_load([ACLToken(accessor_id=ANONYMOUS_ACCESSOR_ID, secret_id="anonymous")], policies)
    ctx: Any = type("Ctx", (), {"backend": type("B", (), {"store": legacy})()})()
    assert _needed(ctx, "") is True  # the leader proposes the built-ins again
    applied = legacy.apply(9, ACLInitBuiltins(now_ns=1_800_000_000 * SECOND))
    assert applied.error is None
    assert legacy.acl_token_by_accessor(ANONYMOUS_ACCESSOR_ID)[1].create_time_ns == 1_800_000_000 * SECOND
    assert _needed(ctx, "") is False


async def test_the_anonymous_token_shows_a_real_create_time() -> None:
    api = Api(acl_config())
    root = await api.bootstrap()
    listed = {t["AccessorID"]: t for t in await api.ok("GET", "/v1/acl/tokens", token=root)}
    shown = listed[ANONYMOUS_ACCESSOR_ID]["CreateTime"]
    assert not shown.startswith("1970") and shown[:4] >= "2024", shown
    mine = await api.ok("GET", "/v1/acl/token/self", token=root)
    assert shown[:10] == mine["CreateTime"][:10]
