"""Maintenance mode on the local agent: ``PUT /v1/agent/maintenance`` and
``PUT /v1/agent/service/maintenance/<id>``, both with ``?enable=true|false&reason=``.

``enable`` is required (400 ``Missing value for enable``) and parsed as Go booleans (400 ``Invalid value
for enable: "<v>"``); an unknown service is 404. Enabling adds the synthetic critical check, disabling
removes it; the answer is an empty 200.

ACLs: node maintenance ``node:write`` on this node; a service's ``service:write`` on it. The request's
token is kept with the maintenance check, which anti-entropy syncs with it (as Consul's
``EnableNodeMaintenance``/``EnableServiceMaintenance`` pass it to ``AddCheck``).

What must never live here: what maintenance means (``actors.local.maintenance``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.acl.enforce import acl_of, require
from actors.acl.request_token import token_of
from actors.api.agent_acl import vet_service_write
from actors.api.agent_io import empty, enable_flag, local_errors
from actors.local.local_agent import LocalAgent
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext


def install_agent_maintenance(router: Router, ctx: "AgentContext", local: LocalAgent) -> None:
    async def node(req: Request) -> Response:
        enable = enable_flag(req)
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.node_write(local.node), "node:write", local.node)
        with local_errors():
            await local.set_node_maintenance(enable, req.arg("reason") or "", token=token_of(req) or "")
        return empty()

    async def service(req: Request) -> Response:
        service_id = req.params["id"]
        if not service_id:
            raise HTTPError(400, "Missing service ID")
        enable = enable_flag(req)
        vet_service_write(await acl_of(req, ctx), local, service_id)
        with local_errors():
            await local.set_service_maintenance(service_id, enable, req.arg("reason") or "",
                                                token=token_of(req) or "")
        return empty()

    router.add("PUT", "/v1/agent/maintenance", node)
    router.add("PUT", "/v1/agent/service/maintenance/{id:path}", service)
