"""Cluster membership on the agent API: members, join, leave, force-leave.

What lives here: ``GET /v1/agent/members`` (``?wan``; ``?segment`` accepted and ignored) with Consul's
member objects sorted by name; ``PUT /v1/agent/join/<address>`` (``?wan``) answering 200 with an empty
body once a seed exchanged state, else 500 with one line per address and its reason;
``PUT /v1/agent/leave`` (graceful leave of every pool, then the agent shuts down after answering);
``PUT /v1/agent/force-leave/<node>`` (``?prune``, ``?wan``; an unknown node is a 500).

Consul reads ``wan`` on members and join as "non-empty value", and ``prune``/``wan`` on force-leave by
presence; so do we.

ACLs: members filtered by ``node:read``; join/leave ``agent:write``; force-leave ``operator:write``.

What must never live here: gossip logic; everything goes through ``ctx.extras["gossip"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.acl.enforce import AclFilter, acl_of, require
from actors.api.reply import json_reply
from actors.gossip.facade import GossipError, GossipUnavailable
from actors.gossip.members import member_json
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext


def gossip_of(ctx: "AgentContext") -> Any:
    gossip = ctx.extras.get("gossip")
    if gossip is None:
        raise HTTPError(500, "gossip is not running on this agent")
    return gossip


def install_agent_members(router: Router, ctx: "AgentContext") -> None:
    async def members(req: Request) -> Response:
        seen = AclFilter(await acl_of(req, ctx))
        gossip = ctx.extras.get("gossip")
        found = list(gossip.members(wan=bool(req.arg("wan")))) if gossip is not None else []
        found = seen.keep(found, lambda authz, m: authz.node_read(m.name))
        return json_reply(ctx, req, [member_json(m) for m in sorted(found, key=lambda m: m.name)],
                          headers=seen.mark() or None)

    async def agent_write(req: Request) -> None:
        caller = await acl_of(req, ctx)
        node = ctx.config.node_name
        require(caller, caller.authz.agent_write(node), "agent:write", node)

    async def join(req: Request) -> Response:
        await agent_write(req)
        address = req.params["address"]
        if not address:
            raise HTTPError(400, "Missing address")
        try:
            outcome = await gossip_of(ctx).join([address], wan=bool(req.arg("wan")))
        except (GossipError, GossipUnavailable) as err:
            raise HTTPError(500, str(err)) from None
        if not outcome.contacted:
            raise HTTPError(500, "\n".join(outcome.errors) or f"Failed to join {address}")
        return Response(200)

    async def leave(req: Request) -> Response:
        await agent_write(req)
        await gossip_of(ctx).leave()
        return Response(200)

    async def force_leave(req: Request) -> Response:
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.operator_write(), "operator:write")
        node = req.params["node"]
        try:
            await gossip_of(ctx).force_leave(node, prune="prune" in req.query, wan="wan" in req.query)
        except (GossipError, GossipUnavailable) as err:
            raise HTTPError(500, str(err)) from None
        return Response(200)

    router.add("GET", "/v1/agent/members", members)
    router.add("PUT", "/v1/agent/join/{address:path}", join)
    router.add("PUT", "/v1/agent/leave", leave)
    router.add("PUT", "/v1/agent/force-leave/{node:path}", force_leave)
