"""Local service health: ``GET /v1/agent/health/service/id/<id>`` and ``.../name/<name>``.

The answer's status code carries the aggregated status (200 passing, 429 warning, 503 critical or
maintenance; the worst instance wins for a name), so load balancers can probe it without parsing. The
body is ``{"AggregatedStatus", "Service", "Checks"}`` (a list of those by name), or with ``?format=text``
just the status word. The checks are the service's own plus the node's. Unknown: 404, with
``ServiceId <id> not found`` / ``ServiceName <name> Not Found`` as text, or a critical/empty JSON body.

ACLs: ``service:read`` on the service (by ID: on the existing service's name).

What must never live here: the aggregation rule (``actors.local.views.aggregated_status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.acl.enforce import acl_of, require
from actors.api.agent_acl import vet_service_read
from actors.api.agent_io import reply
from actors.local.local_agent import LocalAgent
from actors.local.records import LocalService
from actors.local.views import ServiceHealth, agent_check, agent_service, aggregated_status
from actors.state.models import CRITICAL, PASSING, WARNING
from runtime.http import Request, Response, Router, text_response

if TYPE_CHECKING:
    from actors.context import AgentContext

_CODES = {PASSING: 200, WARNING: 429}  # anything else (critical, maintenance) is 503


def status_code(status: str) -> int:
    return _CODES.get(status, 503)


def install_agent_health(router: Router, ctx: "AgentContext", local: LocalAgent) -> None:
    state = local.state
    dc = ctx.config.datacenter

    def health_of(svc: LocalService) -> ServiceHealth:
        checks = state.checks_of(svc.id) + state.node_checks()
        return ServiceHealth(
            aggregated_status=aggregated_status(checks),
            service=agent_service(svc, dc),
            checks=[agent_check(c, local.node, state.services) for c in checks],
        )

    def as_text(req: Request) -> bool:
        return req.arg("format") == "text"

    async def by_id(req: Request) -> Response:
        service_id = req.params["id"]
        vet_service_read(await acl_of(req, ctx), local, service_id)
        svc = state.service(service_id)
        if svc is None:
            reason = f"ServiceId {service_id} not found"
            if as_text(req):
                return text_response(reason, 404)
            return reply(ctx, req, ServiceHealth(aggregated_status=CRITICAL, service=None, checks=None), 404)
        info = health_of(svc)
        code = status_code(info.aggregated_status)
        if as_text(req):
            return text_response(info.aggregated_status, code)
        return reply(ctx, req, info, code)

    async def by_name(req: Request) -> Response:
        name = req.params["name"]
        caller = await acl_of(req, ctx)
        require(caller, caller.authz.service_read(name), "service:read", name)
        found = [health_of(state.services[sid]) for sid in sorted(state.services)
                 if state.services[sid].name == name]
        code, status = 404, f"ServiceName {name} Not Found"
        for info in found:
            this = status_code(info.aggregated_status)
            if code == 404 or this > code:
                code, status = this, info.aggregated_status
        if as_text(req):
            return text_response(status, code)
        return reply(ctx, req, found, code)

    router.add("GET", "/v1/agent/health/service/id/{id:path}", by_id)
    router.add("GET", "/v1/agent/health/service/name/{name:path}", by_name)
