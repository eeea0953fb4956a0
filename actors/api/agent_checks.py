"""``/v1/agent/checks`` and check registration, deregistration and TTL updates on the local agent.

Endpoints:

* ``GET /v1/agent/checks`` (``?filter=``): check ID → check;
* ``PUT /v1/agent/check/register``: 400 ``Missing check name`` / ``Bad check status`` / ``Invalid check:
  ...``, 404 ``ServiceID "<id>" does not exist``, 500 when script checks are disabled;
* ``PUT /v1/agent/check/deregister/<id>``;
* ``PUT /v1/agent/check/pass|warn|fail/<id>?note=``: TTL checks, output = note, TTL timer restarted;
* ``PUT /v1/agent/check/update/<id>`` with ``{"Status", "Output"}`` (output capped at the check's
  ``OutputMaxSize``, 4 KiB by default).

ACLs: see ``agent_acl`` (service checks by their service, node checks ``node:*`` on this node).

What must never live here: validation rules or state changes (``actors.local``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.acl.enforce import AclFilter, acl_of
from actors.acl.request_token import token_of
from actors.api.agent_acl import readable_check, vet_check_register, vet_check_update
from actors.api.agent_io import DECODE_PREFIX, MAX_AGENT_BODY, empty, local_errors, read_body, reply
from actors.api.filter import FilterError, fields_from_struct
from actors.api.query import compile_query_filter
from actors.local.definitions import fold_key, parse_check, valid_status
from actors.local.local_agent import LocalAgent
from actors.local.views import agent_check
from actors.state.models import CRITICAL, PASSING, WARNING, HealthCheck
from runtime.http import HTTPError, Request, Response, Router

if TYPE_CHECKING:
    from actors.context import AgentContext

CHECK_FIELDS = fields_from_struct(HealthCheck)


def _status_update(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise HTTPError(400, f"{DECODE_PREFIX}expected an object")
    fields = {fold_key(str(k)): v for k, v in body.items()}
    status, output = fields.get("status") or "", fields.get("output") or ""
    if not isinstance(status, str) or not isinstance(output, str):
        raise HTTPError(400, f"{DECODE_PREFIX}Status and Output must be strings")
    return status, output


def install_agent_checks(router: Router, ctx: "AgentContext", local: LocalAgent) -> None:
    state = local.state

    async def checks(req: Request) -> Response:
        flt = compile_query_filter(req, CHECK_FIELDS)
        seen = AclFilter(await acl_of(req, ctx))
        shown = seen.keep(sorted(state.checks), lambda _, cid: readable_check(seen.caller, local, state.checks[cid]))
        views = {cid: agent_check(state.checks[cid], local.node, state.services) for cid in shown}
        if flt is not None:
            try:
                views = flt.apply(views)
            except FilterError as err:
                raise HTTPError(400, str(err)) from None
        return reply(ctx, req, views, headers=seen.mark() or None)

    async def register(req: Request) -> Response:
        body = read_body(req)
        with local_errors():
            definition = parse_check(body)
        vet_check_register(await acl_of(req, ctx), local, definition)
        with local_errors():
            await local.register_check(definition, token=token_of(req) or "")
        return empty()

    async def deregister(req: Request) -> Response:
        vet_check_update(await acl_of(req, ctx), local, req.params["id"])
        with local_errors():
            await local.deregister_check(req.params["id"])
        return empty()

    def ttl_handler(status: str) -> Any:
        async def handler(req: Request) -> Response:
            vet_check_update(await acl_of(req, ctx), local, req.params["id"])
            with local_errors():
                await local.update_ttl(req.params["id"], status, req.arg("note") or "")
            return empty()

        return handler

    async def update(req: Request) -> Response:
        status, output = _status_update(read_body(req))
        if not valid_status(status):
            raise HTTPError(400, f"Invalid check status: '{status}'")
        vet_check_update(await acl_of(req, ctx), local, req.params["id"])
        with local_errors():
            await local.update_ttl(req.params["id"], status, output)
        return empty()

    router.add("GET", "/v1/agent/checks", checks)
    router.add("PUT", "/v1/agent/check/register", register, max_body_bytes=MAX_AGENT_BODY)
    router.add("PUT", "/v1/agent/check/deregister/{id:path}", deregister)
    router.add("PUT", "/v1/agent/check/pass/{id:path}", ttl_handler(PASSING))
    router.add("PUT", "/v1/agent/check/warn/{id:path}", ttl_handler(WARNING))
    router.add("PUT", "/v1/agent/check/fail/{id:path}", ttl_handler(CRITICAL))
    router.add("PUT", "/v1/agent/check/update/{id:path}", update, max_body_bytes=MAX_AGENT_BODY)
