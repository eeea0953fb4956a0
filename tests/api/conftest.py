"""Fixtures for the state API tests.

Two ways to reach the endpoints:

* `local`: a `Router` with the state API over a `LocalBackend`, called in-process through
  ``router.dispatch`` (no sockets), so tests can use ``wait_all_tasks_blocked`` and virtual time;
* `agent`: a full ``-dev`` agent serving HTTP on an ephemeral loopback port, registered in its own
  catalog, for raw-HTTP and py-consul tests (real time, bounded with ``fail_after``).
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import consul
import msgspec
import pytest
import trio

from actors.agent import serve_agent
from actors.api.common import install_common
from actors.api.state_api import install_state_api, register_self
from actors.backend import LocalBackend
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from runtime.http import Request, Response, Router
from runtime.tree import ActorTree


def dev_config(*extra: str) -> Any:
    cfg = parse_agent_flags(["-dev", "-node", "n1", *extra], hostname="testhost")
    return msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=0, dns=-1, serf_lan=0, serf_wan=0))


class Local:
    """The state API of one in-process agent, without sockets."""

    def __init__(self, *, register: bool = True) -> None:
        self.ctx = AgentContext(dev_config(), ActorTree(), seed=7)
        self.backend = LocalBackend(wall_ns=lambda: int(trio.current_time() * 1e9))
        self.ctx.backend = self.backend
        self.router = Router()
        install_common(self.router, self.ctx)
        install_state_api(self.router, self.ctx)
        self.register = register

    async def call(self, method: str, target: str, body: bytes | str = b"") -> Response:
        data = body.encode() if isinstance(body, str) else body
        return await self.router.dispatch(Request(method, target, body=data))

    async def json(self, method: str, target: str, body: bytes | str = b"") -> Any:
        resp = await self.call(method, target, body)
        assert resp.status == 200, (resp.status, resp.body)
        return json.loads(resp.body)


@pytest.fixture
async def local() -> Local:
    api = Local()
    await register_self(api.ctx)
    return api


@pytest.fixture
async def agent(nursery: trio.Nursery) -> AsyncIterator[AgentContext]:
    cfg = dev_config()
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    assert ctx.http_addr is not None
    await register_self(ctx)  # idempotent if the agent already registered itself
    yield ctx


def client_for(ctx: AgentContext) -> consul.Consul:
    host, port = ctx.http_addr
    c = consul.Consul(host=host, port=port, connections_timeout=10)
    c.http.session.trust_env = False  # never route loopback through an environment proxy
    return c


@pytest.fixture
def client(agent: AgentContext) -> consul.Consul:
    return client_for(agent)


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one blocking py-consul call in a worker thread (bounded)."""
    with trio.fail_after(20):
        return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))
