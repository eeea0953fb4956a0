"""Fixtures for the local-state, health-check and anti-entropy tests.

Two ways to run the feature:

* `Harness`: one agent's local state with its ``local``, ``health`` and ``catalog.sync`` actors under a
  root supervisor, over an in-memory `LocalBackend`, and a `Router` with the agent-local and state APIs
  called in-process (no sockets). Works under the autojump `MockClock`, so TTLs, sync intervals and
  reaping run in virtual time; real-socket checks use it on the real clock with shrunken floors.
* `agent` / `start_agent`: a full ``-dev`` agent serving HTTP on an ephemeral loopback port, for raw HTTP
  and py-consul (real time, bounded with ``fail_after``).

Waiting is always on a condition re-checked at each change (`until_local`, `until_catalog`), never on a
fixed sleep.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Callable

import consul
import msgspec
import pytest
import trio

from actors.agent import serve_agent
from actors.api.agent_local import install_agent_local
from actors.api.common import install_common
from actors.api.state_api import install_state_api, register_self
from actors.backend import LocalBackend
from actors.catalog.syncer import CatalogSyncer
from actors.catalog.timing import SyncTimings
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from actors.health.supervisor import HealthSupervisor
from actors.health.timing import HealthTimings
from actors.local.actor import LocalStateActor
from actors.local.local_agent import LocalAgent, local_agent_of
from actors.state.watch import WatchSet
from runtime import clock
from runtime.http import Request, Response, Router
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor, run_root
from runtime.tree import ActorTree
from tests.support.ports import free_ports

FAST_HEALTH = HealthTimings(min_interval=0.05, reap_interval=30.0)


@pytest.fixture(autouse=True)
def _fresh_wall_anchor() -> None:
    clock.reset_anchor()


def dev_config(*extra: str, **changes: Any) -> Any:
    cfg = parse_agent_flags(["-dev", "-node", "n1", *extra], hostname="testhost")
    ports = msgspec.structs.replace(cfg.ports, http=0, dns=-1, server=free_ports(1)[0], serf_lan=0, serf_wan=0)
    return msgspec.structs.replace(cfg, ports=ports, **changes)


class Harness:
    """Local state + health + anti-entropy of one agent over a `LocalBackend`, with its HTTP API in-process."""

    def __init__(self, *extra: str, **changes: Any) -> None:
        self.ctx = AgentContext(dev_config(*extra, **changes), ActorTree(), seed=7)
        self.backend = LocalBackend(wall_ns=lambda: int(trio.current_time() * 1e9))
        self.ctx.backend = self.backend
        self.local: LocalAgent = local_agent_of(self.ctx)
        self.router = Router()
        install_common(self.router, self.ctx)
        install_state_api(self.router, self.ctx)
        install_agent_local(self.router, self.ctx)
        self.node = self.ctx.config.node_name

    async def start(self, nursery: trio.Nursery, *, health: HealthTimings | None = None,
                    sync: SyncTimings | None = None, with_sync: bool = True) -> "Harness":
        await register_self(self.ctx)
        children = [ChildSpec("local", LocalStateActor, self.local),
                    ChildSpec("health", HealthSupervisor, self.local, health or HealthTimings())]
        if with_sync:
            children.append(ChildSpec("catalog.sync", CatalogSyncer, self.local, sync or SyncTimings()))
        root = Supervisor(children, RestartPolicy(max_restarts=20, within_seconds=10), kind="agent")
        await nursery.start(run_root, self.ctx.tree, self.ctx.root_path, root)
        return self

    async def call(self, method: str, target: str, body: Any = b"") -> Response:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        return await self.router.dispatch(Request(method, target, body=data))

    async def ok(self, method: str, target: str, body: Any = b"") -> Any:
        resp = await self.call(method, target, body)
        assert resp.status == 200, (resp.status, resp.body)
        return json.loads(resp.body) if resp.body else None

    def check(self, check_id: str) -> Any:
        return self.local.state.check(check_id)

    def catalog_services(self) -> dict[str, Any]:
        _, entry = self.backend.store.node_services(self.node)
        return {} if entry is None else dict(entry.services)

    def catalog_checks(self) -> dict[str, Any]:
        return {c.check_id: c for c in self.backend.store.node_checks(self.node)[1]}


async def until_local(local: LocalAgent, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds, re-checking after every change of the local state."""
    with trio.fail_after(timeout):
        while not predicate():
            changed = trio.Event()
            unsubscribe = local.state.subscribe(lambda change: changed.set())
            try:
                await changed.wait()
            finally:
                unsubscribe()


async def until_catalog(ctx: AgentContext, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds, re-checking after every change of this node's catalog entry."""
    node = ctx.config.node_name
    backend = ctx.backend
    assert backend is not None
    with trio.fail_after(timeout):
        while not predicate():
            ws = WatchSet([("node", node), ("node_services", node), ("node_checks", node)])
            await backend.wait_changed(ws, trio.current_time() + timeout)


@pytest.fixture
async def harness(nursery: trio.Nursery) -> Harness:
    return await Harness().start(nursery)


class RunningAgent:
    """A full agent in its own cancel scope, so a test can stop it and start another on the same data dir."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.done = trio.Event()

    async def run(self, cfg: Any, task_status: trio.TaskStatus[AgentContext] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            with self.scope:
                await serve_agent(cfg, task_status=task_status)
        finally:
            self.done.set()

    async def stop(self) -> None:
        self.scope.cancel()
        await self.done.wait()


async def start_agent(nursery: trio.Nursery, cfg: Any) -> tuple[AgentContext, RunningAgent]:
    running = RunningAgent()
    ctx = await nursery.start(running.run, cfg)
    assert ctx.http_addr is not None
    return ctx, running


@pytest.fixture
async def agent(nursery: trio.Nursery) -> AsyncIterator[AgentContext]:
    ctx, _ = await start_agent(nursery, dev_config())
    await register_self(ctx)
    yield ctx


def client_for(ctx: AgentContext) -> consul.Consul:
    host, port = ctx.http_addr  # type: ignore[misc]
    c = consul.Consul(host=host, port=port, connections_timeout=10)
    c.http.session.trust_env = False
    return c


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with trio.fail_after(20):
        return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))
