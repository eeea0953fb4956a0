"""One local service the catalog cannot take must not stop anti-entropy (``catalog.sync``).

The poisoned item is put into the agent's local state directly, as a corrupt definition would be, and
goes through the real pipeline: the state store refusing its command (in-memory backend, virtual time),
or the Raft backend failing to encode it (a full ``-dev`` agent, real time). Either way: the failure is
logged, that item alone is retried later with a doubling delay, every other item keeps syncing, and the
actor never crashes (it used to crash-loop under its supervisor).
"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from actors.api.state_api import register_self
from actors.local.local_agent import local_agent_of
from actors.local.records import LocalService
from runtime import clock
from tests.local.conftest import Harness, dev_config, start_agent, until_catalog


def _syncer(ctx: Any) -> Any:
    cell = ctx.tree.get(f"{ctx.root_path}/catalog.sync")
    return cell


async def test_a_service_the_store_refuses_is_held_back_while_the_rest_syncs(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await Harness().start(nursery)
    # sorts before "web": the old syncer stopped the whole round at it, so "web" never reached the catalog
    harness.local.state.put_service(LocalService(id="aaa\x00bad", name="bad"), [], now=clock.now())
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "check": {"ttl": "1h"}})
    assert "web" in harness.catalog_services() and "service:web" in harness.catalog_checks()
    cell = _syncer(harness.ctx)
    syncer = cell.actor
    assert syncer.item_failures >= 1 and syncer.statistics()["held"] == ["service:aaa\x00bad"]
    assert "refuses" in syncer.last_error or "NUL" in syncer.last_error

    # retried alone, later and later: 1 s, 2 s, 4 s, 8 s... (bounded polling in virtual time)
    seen, times = syncer.item_failures, [trio.current_time()]
    with trio.fail_after(60):
        while len(times) < 5:
            await trio.sleep(0.05)
            if syncer.item_failures != seen:
                seen = syncer.item_failures
                times.append(trio.current_time())
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] >= 0.9 and all(later >= 1.8 * earlier for earlier, later in zip(gaps, gaps[1:])), gaps

    # meanwhile other changes sync at once, and the actor never restarted
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "api"})
    assert "api" in harness.catalog_services()
    assert cell.restarts == 0 and "aaa\x00bad" not in harness.catalog_services()

    # fixed locally (removed): no longer held, nothing left dirty
    harness.local.state.remove_service("aaa\x00bad")
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "db"})
    with trio.fail_after(120):  # the next full sync forgets the item
        while syncer.statistics()["held"]:
            await trio.sleep(1)
    assert syncer.statistics()["dirty"] == 0


async def test_a_service_that_cannot_be_encoded_does_not_crash_the_syncer(nursery: trio.Nursery) -> None:
    ctx, _ = await start_agent(nursery, dev_config())
    await register_self(ctx)
    local = local_agent_of(ctx)
    # a port no msgpack integer can carry: the Raft backend cannot encode the registration
    local.state.put_service(LocalService(id="huge", name="huge", port=2**70), [], now=clock.now())
    local.state.put_service(LocalService(id="web", name="web", port=80), [], now=clock.now())
    store = ctx.backend.store  # type: ignore[union-attr]

    def services() -> set[str]:
        _, entry = store.node_services(ctx.config.node_name)
        return set() if entry is None else set(entry.services)

    await until_catalog(ctx, lambda: "web" in services(), timeout=20)
    cell = _syncer(ctx)
    with trio.fail_after(20):  # bounded: the failure is recorded in the round that wrote "web"
        while cell.actor.item_failures == 0:
            await trio.sleep(0.05)
    assert "huge" not in services() and local.state.service("huge") is not None
    assert "OverflowError" in cell.actor.last_error
    assert cell.restarts == 0
