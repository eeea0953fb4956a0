"""What the agent installs for gossip: the pools' subtrees, the facade, and the shutdown hook.

What lives here:

- `gossip_children(ctx)`: builds the `Gossip` facade into ``ctx.extras["gossip"]`` and returns the
  ``gossip.lan`` (and, on servers with a WAN port, ``gossip.wan``) child specs for ``build_agent``;
- `shutdown_event(ctx)`: the agent's shutdown hook, a ``trio.Event`` kept in ``ctx.extras["shutdown"]``;
  set by a graceful leave (``PUT /v1/agent/leave``) or by retry-join giving up;
- `exit_when_requested(ctx, scope)`: what ``run_agent`` runs beside the agent: when the hook fires it
  gives in-flight HTTP answers (the leave request's own 200) a moment to go out, then cancels ``scope``.

What must never live here: gossip behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from actors.gossip.facade import Gossip
from actors.gossip.pool import pool_spec
from runtime.log import get_logger
from runtime.supervisor import ChildSpec

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("agent")

RESPONSE_GRACE = 0.25  # seconds for the answer to the request that asked for the shutdown to be written


def shutdown_event(ctx: "AgentContext") -> trio.Event:
    event = ctx.extras.get("shutdown")
    if event is None:
        event = ctx.extras["shutdown"] = trio.Event()
    return event


def request_shutdown(ctx: "AgentContext", reason: str) -> None:
    event = shutdown_event(ctx)
    if not event.is_set():
        ctx.extras["shutdown_reason"] = reason
        event.set()


def gossip_children(ctx: "AgentContext") -> list[ChildSpec]:
    shutdown_event(ctx)
    gossip = Gossip.build(ctx, lambda reason: request_shutdown(ctx, reason))
    ctx.extras["gossip"] = gossip
    return [pool_spec(pool) for pool in gossip.pools()]


async def exit_when_requested(ctx: "AgentContext", scope: trio.CancelScope) -> None:
    await shutdown_event(ctx).wait()
    log.info("shutting down", reason=ctx.extras.get("shutdown_reason", ""))
    await trio.sleep(RESPONSE_GRACE)
    scope.cancel()
