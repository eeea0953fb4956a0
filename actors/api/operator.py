"""``/v1/operator/raft/configuration`` and ``/v1/operator/autopilot/health``.

What lives here: the two read handlers. When the Raft subsystem has published itself in
``ctx.extras["raft"]`` they answer from it: ``raft.raft_configuration()`` must return Consul's
``{"Servers": [...], "Index": n}`` document and ``raft.autopilot_health()`` Consul's
``{"Healthy", "FailureTolerance", "Servers"}`` document. Without Raft, a ``-dev`` agent on a
`LocalBackend` is a one-server cluster that leads itself, and gets the single-server documents
below (``Index`` 0, as py-consul expects of a fresh dev server). An agent with no state at all (a
client with no servers) answers 500 ``No known Consul servers``. Autopilot health is 200 when
healthy and 429 when not, with the same JSON body.

ACLs: both need ``operator:read``.

What must never live here: Raft or autopilot logic, or operator writes (peer removal, leadership
transfer, autopilot configuration), which belong with the Raft subsystem.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from actors.acl.enforce import acl_of, require
from actors.api.agent_self import advertise_address
from actors.api.blocking import barrier
from actors.api.query import parse_query
from actors.api.reply import NO_SERVERS, Api
from actors.version import CONSUL_COMPAT_VERSION
from runtime import clock
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext


def _server_address(ctx: "AgentContext") -> str:
    return f"{advertise_address(ctx)}:{ctx.config.ports.server}"


def single_server_configuration(ctx: "AgentContext", last_index: int) -> dict[str, Any]:
    server = {
        "ID": ctx.node_id,
        "Node": ctx.config.node_name,
        "Address": _server_address(ctx),
        "Leader": True,
        "Voter": True,
        "ProtocolVersion": "3",
        "LastIndex": last_index,
    }
    return {"Servers": [server], "Index": 0}


def single_server_health(ctx: "AgentContext", last_index: int, started: float) -> dict[str, Any]:
    stable_since = clock.wall_time(started)
    server = {
        "ID": ctx.node_id,
        "Name": ctx.config.node_name,
        "Address": _server_address(ctx),
        "SerfStatus": "alive",
        "Version": CONSUL_COMPAT_VERSION,
        "Leader": True,
        "LastContact": "0s",
        "LastTerm": 1,
        "LastIndex": last_index,
        "Healthy": True,
        "Voter": True,
        "StableSince": _rfc3339(stable_since),
    }
    return {"Healthy": True, "FailureTolerance": 0, "Servers": [server]}


def _rfc3339(unix: float) -> str:
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def install_operator(router: Router, api: Api) -> None:
    ctx = api.ctx
    started: list[float] = []  # first time the health document was asked for (≈ when serving began)

    async def operator_read(req: Request) -> None:
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.operator_read(), "operator:read")

    async def raft_configuration(req: Request) -> Response:
        opts = parse_query(req, ctx)
        await operator_read(req)
        raft = ctx.extras.get("raft")
        if raft is not None and hasattr(raft, "raft_configuration"):
            return api.reply(req, raft.raft_configuration())
        if ctx.backend is None:
            raise HTTPError(500, NO_SERVERS)
        await barrier(ctx.backend, opts)
        return api.reply(req, single_server_configuration(ctx, ctx.backend.store.last_index))

    async def autopilot_health(req: Request) -> Response:
        parse_query(req, ctx)
        await operator_read(req)
        raft = ctx.extras.get("raft")
        if raft is not None and hasattr(raft, "autopilot_health"):
            doc = raft.autopilot_health()
        elif ctx.backend is None:
            raise HTTPError(500, NO_SERVERS)
        else:
            if not started:
                started.append(clock.now())
            doc = single_server_health(ctx, ctx.backend.store.last_index, started[0])
        return api.reply(req, doc, status=200 if doc.get("Healthy") else 429)

    router.add("GET", "/v1/operator/raft/configuration", raft_configuration)
    router.add("GET", "/v1/operator/autopilot/health", autopilot_health)
