"""Anti-entropy against the catalog: the agent is authoritative for its node, repairs drift at full syncs,
holds back output-only changes, and keeps its local state while the catalog is unreachable."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from actors.backend import LocalBackend, NoLeader
from actors.state.commands import Command, NodeDeregister, NodeRegister
from actors.state.models import HealthCheck, NodeService
from tests.local.conftest import Harness, until_catalog


async def test_deleted_service_comes_back_at_the_next_full_sync(harness: Harness,
                                                               autojump_clock: trio.testing.MockClock) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "check": {"ttl": "1h"}})
    assert "web" in harness.catalog_services()
    await harness.backend.write(NodeDeregister(node=harness.node, service_id="web"))
    start = trio.current_time()
    await trio.sleep(5)
    assert "web" not in harness.catalog_services()  # nothing changed locally: no partial sync repairs it
    await until_catalog(harness.ctx, lambda: "web" in harness.catalog_services(), timeout=300)
    assert trio.current_time() - start <= 60 + 60  # ae_interval plus at most one interval of stagger
    await until_catalog(harness.ctx, lambda: "service:web" in harness.catalog_checks())


async def test_foreign_entries_on_this_node_are_removed(harness: Harness,
                                                        autojump_clock: trio.testing.MockClock) -> None:
    await harness.backend.write(NodeRegister(
        node=harness.node, address="127.0.0.1", skip_node_update=True,
        service=NodeService(id="intruder", service="intruder"),
        checks=[HealthCheck(check_id="stray", name="stray", status="passing")]))
    assert "intruder" in harness.catalog_services() and "stray" in harness.catalog_checks()
    await until_catalog(harness.ctx, lambda: "intruder" not in harness.catalog_services()
                        and "stray" not in harness.catalog_checks(), timeout=300)
    # the leader's own entries are not the agent's to remove
    assert "consul" in harness.catalog_services() and "serfHealth" in harness.catalog_checks()


async def test_output_only_changes_wait_for_the_check_update_interval(
        harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    await harness.ok("PUT", "/v1/agent/check/register", {"name": "app", "ttl": "1h"})
    await harness.ok("PUT", "/v1/agent/check/pass/app?note=v1")
    assert (harness.catalog_checks()["app"].status, harness.catalog_checks()["app"].output) == ("passing", "v1")
    await harness.ok("PUT", "/v1/agent/check/pass/app?note=v2")
    start = trio.current_time()
    assert harness.check("app").output == "v2" and harness.catalog_checks()["app"].output == "v1"
    await until_catalog(harness.ctx, lambda: harness.catalog_checks()["app"].output == "v2", timeout=600)
    assert 150 <= trio.current_time() - start <= 450  # check_update_interval/2 plus up to one interval
    await harness.ok("PUT", "/v1/agent/check/fail/app?note=v3")  # a status change syncs at once
    assert (harness.catalog_checks()["app"].status, harness.catalog_checks()["app"].output) == ("critical", "v3")


class FlakyBackend:
    """A backend whose writes fail with "No cluster leader" while ``down``."""

    def __init__(self, inner: LocalBackend) -> None:
        self.inner = inner
        self.store = inner.store
        self.registry = inner.registry
        self.down = False

    async def write(self, command: Command) -> Any:
        if self.down:
            await trio.lowlevel.checkpoint()
            raise NoLeader()
        return await self.inner.write(command)

    async def read_barrier(self, mode: Any, max_stale: float | None = None) -> Any:
        return await self.inner.read_barrier(mode, max_stale)

    async def wait_changed(self, ws: Any, deadline: float) -> bool:
        return await self.inner.wait_changed(ws, deadline)


async def test_without_a_leader_local_state_is_kept_and_synced_later(
        nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    harness = Harness()
    flaky = FlakyBackend(harness.backend)
    harness.ctx.backend = flaky  # type: ignore[assignment]
    await harness.start(nursery)
    flaky.down = True
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web"})  # best effort: still 200
    assert harness.local.state.service("web") is not None and "web" not in harness.catalog_services()
    syncer = harness.ctx.tree.get(f"{harness.ctx.root_path}/catalog.sync").actor
    assert syncer.failures >= 1 and syncer.last_error == "No cluster leader"  # type: ignore[union-attr]
    await trio.sleep(30)
    flaky.down = False
    start = trio.current_time()
    await until_catalog(harness.ctx, lambda: "web" in harness.catalog_services(), timeout=60)
    assert trio.current_time() - start <= 15 + 1  # failed partial syncs are retried, backing off up to 15 s
