"""A server registering itself in its own catalog, as a Consul ``-dev`` agent does on start.

What lives here: `self_registration` (the `NodeRegister` describing this agent: its node with ID,
address and tagged addresses, the ``consul`` service on the server RPC port with no tags, and the
``serfHealth`` node check, passing, "Agent alive and reachable") and `register_self`, which commits it
through ``ctx.backend``. Registering again with unchanged facts changes nothing in the store, so
calling it more than once is harmless.

What must never live here: anti-entropy (syncing agent-local services), or deciding *when* to
register; the agent calls `register_self` once its state is ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.api.agent_self import advertise_address
from actors.state.commands import NodeRegister
from actors.state.models import PASSING, SERF_CHECK_ID, HealthCheck, NodeService
from actors.version import CONSUL_COMPAT_VERSION

if TYPE_CHECKING:
    from actors.context import AgentContext

SERF_CHECK_NAME = "Serf Health Status"
SERF_ALIVE_OUTPUT = "Agent alive and reachable"


def self_registration(ctx: "AgentContext") -> NodeRegister:
    cfg = ctx.config
    address = advertise_address(ctx)
    service = NodeService(
        id="consul",
        service="consul",
        tags=[],
        port=cfg.ports.server,
        meta={
            "raft_version": "3",
            "serf_protocol_current": "2",
            "serf_protocol_max": "5",
            "serf_protocol_min": "1",
            "version": CONSUL_COMPAT_VERSION,
        },
    )
    check = HealthCheck(
        node=cfg.node_name,
        check_id=SERF_CHECK_ID,
        name=SERF_CHECK_NAME,
        status=PASSING,
        output=SERF_ALIVE_OUTPUT,
    )
    return NodeRegister(
        node=cfg.node_name,
        address=address,
        id=ctx.node_id,
        datacenter=cfg.datacenter,
        tagged_addresses={"lan": address, "lan_ipv4": address, "wan": address, "wan_ipv4": address},
        node_meta={"consul-network-segment": "", **cfg.node_meta},
        service=service,
        checks=[check],
    )


async def register_self(ctx: "AgentContext") -> None:
    """Commit this agent's own catalog entry. A no-op for an agent without state (a client)."""
    if ctx.backend is None:
        return
    applied = await ctx.backend.write(self_registration(ctx))
    applied.unwrap()
