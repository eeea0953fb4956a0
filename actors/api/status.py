"""``/v1/status/leader`` and ``/v1/status/peers``.

What lives here: the two status endpoints. They answer from whatever the Raft subsystem published in
the agent context (``ctx.extras["raft"]``); before Raft exists on this agent (a client, or a server
still starting) the leader is ``""`` and the peer list is empty, as Consul answers with no leader.

What must never live here: any Raft logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.http import Request, Response, Router, json_response

if TYPE_CHECKING:
    from actors.context import AgentContext


def install_status(router: Router, ctx: "AgentContext") -> None:
    async def leader(req: Request) -> Response:
        raft = ctx.extras.get("raft")
        return json_response(raft.leader_address() if raft is not None else "")

    async def peers(req: Request) -> Response:
        raft = ctx.extras.get("raft")
        return json_response(raft.peer_addresses() if raft is not None else [])

    router.add(["GET"], "/v1/status/leader", leader)
    router.add(["GET"], "/v1/status/peers", peers)
