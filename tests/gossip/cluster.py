"""In-process agents for the gossip tests: configs on loopback with ephemeral ports, and waits.

What lives here: `agent_config` (a client, or a server, with HTTP and gossip on port 0, DNS off, data
under ``tmp_path`` and fast LAN gossip timings), `start_agents`, `gossip_of`, and `until`, which waits
(bounded) for a condition over several agents by sleeping on their member-list change notifications, so
nothing here sleeps for a fixed time.

What must never live here: assertions about gossip; the tests make them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import msgspec
import trio

from actors.agent import serve_agent
from actors.config import AgentConfig
from actors.context import AgentContext
from actors.flags import parse_agent_flags
from tests.support.ports import free_ports

FAST_LAN = {"probe_interval": 0.2, "probe_timeout": 0.1, "gossip_interval": 0.05, "suspicion_mult": 3}


def agent_config(name: str, tmp_path: Path, *flags: str, server: bool = False, encrypt: str | None = None,
                 fast: bool = True) -> AgentConfig:
    argv = ["-node", name, "-data-dir", str(tmp_path / name), "-bind", "127.0.0.1", *flags]
    if server:
        argv.append("-server")
    if encrypt:
        argv += ["-encrypt", encrypt]
    cfg = parse_agent_flags(argv, hostname="testhost")
    (server_port,) = free_ports(1)
    ports = msgspec.structs.replace(cfg.ports, http=0, dns=-1, serf_lan=0, serf_wan=0 if server else -1,
                                    server=server_port)
    cfg = msgspec.structs.replace(cfg, ports=ports)
    if fast:
        cfg = msgspec.structs.replace(cfg, gossip_lan=msgspec.structs.replace(cfg.gossip_lan, **FAST_LAN),
                                      gossip_wan=msgspec.structs.replace(cfg.gossip_wan, **FAST_LAN))
    return cfg


async def start_agent(nursery: trio.Nursery, cfg: AgentConfig) -> AgentContext:
    return await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))


async def start_agents(nursery: trio.Nursery, tmp_path: Path, count: int, *, prefix: str = "n", join: bool = True,
                       **kw: Any) -> list[AgentContext]:
    """``count`` agents; with ``join`` every one after the first joins through the first."""
    ctxs = [await start_agent(nursery, agent_config(f"{prefix}{i}", tmp_path, **kw)) for i in range(count)]
    if join:
        seed = lan_address(ctxs[0])
        for ctx in ctxs[1:]:
            outcome = await gossip_of(ctx).join([seed])
            assert outcome.contacted == 1, outcome.errors
    return ctxs


def gossip_of(ctx: AgentContext) -> Any:
    return ctx.extras["gossip"]


def lan_address(ctx: AgentContext) -> str:
    host, port = gossip_of(ctx).lan.address
    return f"{host}:{port}"


def statuses(ctx: AgentContext, wan: bool = False) -> dict[str, str]:
    return {m.name: m.status for m in gossip_of(ctx).members(wan=wan)}


async def until(condition: Callable[[], bool], ctxs: list[AgentContext], timeout: float, what: str = "") -> float:
    """Wait until ``condition()`` holds, waking on any member-list change of ``ctxs``; returns the time
    it took. Fails the test after ``timeout`` seconds."""
    start = trio.current_time()
    deadline = start + timeout
    while not condition():
        remaining = deadline - trio.current_time()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")
        async with trio.open_nursery() as nursery:
            for ctx in ctxs:
                nursery.start_soon(_wake_on_change, gossip_of(ctx), nursery.cancel_scope, remaining)
    return trio.current_time() - start


async def _wake_on_change(gossip: Any, scope: trio.CancelScope, timeout: float) -> None:
    version = gossip.version
    wan_version = gossip.wan.version if gossip.wan is not None else None
    with trio.move_on_after(timeout):
        async with trio.open_nursery() as inner:
            inner.start_soon(_then_cancel, gossip.wait_members_changed(version, math.inf), inner.cancel_scope)
            if wan_version is not None:
                inner.start_soon(_then_cancel, gossip.wait_members_changed(wan_version, math.inf, wan=True),
                                 inner.cancel_scope)
    scope.cancel()


async def _then_cancel(awaitable: Any, scope: trio.CancelScope) -> None:
    await awaitable
    scope.cancel()
