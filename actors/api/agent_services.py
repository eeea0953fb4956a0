"""``/v1/agent/services``, ``/v1/agent/service/<id>`` and service (de)registration on the local agent.

Endpoints:

* ``PUT /v1/agent/service/register`` (``?replace-existing-checks``): lenient body keys, inline ``Check`` /
  ``Checks`` with generated IDs; 200 with an empty body;
* ``PUT /v1/agent/service/deregister/<id>``: the service and its checks; unknown ID → 404;
* ``GET /v1/agent/services`` (``?filter=``): ID → service, keys sorted as Go prints maps;
* ``GET /v1/agent/service/<id>``: the service with ``ContentHash`` (also in ``X-Consul-ContentHash``);
  ``?hash=<h>`` blocks until the hash changes or ``?wait`` passes.

ACLs: see ``agent_acl`` (listing filtered by ``service:read``, writes ``service:write``).

What must never live here: validation rules or state changes (``actors.local``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import trio

from actors.acl.enforce import AclFilter, acl_of
from actors.acl.request_token import token_of
from actors.api.agent_acl import vet_service_read, vet_service_register, vet_service_write
from actors.api.agent_io import MAX_AGENT_BODY, empty, local_errors, read_body, reply, wait_seconds
from actors.api.filter import FilterError, fields_from_struct
from actors.api.query import compile_query_filter
from actors.local.definitions import parse_service
from actors.local.local_agent import LocalAgent
from actors.local.views import AgentServiceView, agent_service, content_hash
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext

SERVICE_FIELDS = fields_from_struct(AgentServiceView)


def replace_existing_checks(req: Request) -> bool:
    if "replace-existing-checks" not in req.query:
        return False
    return (req.arg("replace-existing-checks") or "").lower() not in ("false", "0")


def install_agent_services(router: Router, ctx: "AgentContext", local: LocalAgent) -> None:
    state = local.state
    dc = ctx.config.datacenter

    async def register(req: Request) -> Response:
        body = read_body(req)
        with local_errors():
            definition = parse_service(body)
        vet_service_register(await acl_of(req, ctx), local, definition)
        with local_errors():
            await local.register_service(definition, replace_checks=replace_existing_checks(req),
                                         token=token_of(req) or "")
        return empty()

    async def deregister(req: Request) -> Response:
        vet_service_write(await acl_of(req, ctx), local, req.params["id"])
        with local_errors():
            await local.deregister_service(req.params["id"])
        return empty()

    async def services(req: Request) -> Response:
        flt = compile_query_filter(req, SERVICE_FIELDS)
        seen = AclFilter(await acl_of(req, ctx))
        shown = seen.keep(sorted(state.services), lambda authz, sid: authz.service_read(state.services[sid].name))
        views = {sid: agent_service(state.services[sid], dc) for sid in shown}
        if flt is not None:
            try:
                views = flt.apply(views)
            except FilterError as err:
                raise HTTPError(400, str(err)) from None
        return reply(ctx, req, views, headers=seen.mark() or None)

    def current(service_id: str) -> AgentServiceView:
        svc = state.service(service_id)
        if svc is None:
            raise HTTPError(404, f"unknown service ID: {service_id}")
        view = agent_service(svc, dc)
        return msgspec.structs.replace(view, content_hash=content_hash(view))

    async def service(req: Request) -> Response:
        service_id = req.params["id"]
        view = current(service_id)
        vet_service_read(await acl_of(req, ctx), local, service_id)
        seen = req.arg("hash")
        if seen:
            deadline = trio.current_time() + wait_seconds(req)
            while view.content_hash == seen and trio.current_time() < deadline:
                changed = trio.Event()
                unsubscribe = state.subscribe(lambda change: changed.set())
                try:
                    with trio.move_on_at(deadline):
                        await changed.wait()
                finally:
                    unsubscribe()
                view = current(service_id)
        assert isinstance(view.content_hash, str)
        return reply(ctx, req, view, headers={"X-Consul-ContentHash": view.content_hash})

    router.add("PUT", "/v1/agent/service/register", register, max_body_bytes=MAX_AGENT_BODY)
    router.add("PUT", "/v1/agent/service/deregister/{id:path}", deregister)
    router.add("GET", "/v1/agent/services", services)
    router.add("GET", "/v1/agent/service/{id:path}", service)
