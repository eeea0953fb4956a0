"""The server side of API forwarding: answer an `HttpCall` through this server's own router.

What lives here: `http_forward_protocol(ctx)`, the "http" protocol registration for the server port.
The request is rebuilt as a `runtime.http.Request` and dispatched on the router the agent built
(``ctx.extras["router"]``), so every endpoint, blocking query and error behaves exactly as on the
server's HTTP port. The header ``X-Proconsul-Origin-Node`` tells handlers which agent the request came
in at (session create defaults its node to it, as Consul's client agents do).

The other calls of the protocol: `ApplyCommand` and `NodeView` (a client agent's anti-entropy) and
`ACLResolve`. The server port is not trusted for ACLs: with ACLs enabled an `ApplyCommand` is
authorized with the token it carries exactly as ``/v1/catalog/register``/``deregister`` would be
(``actors/api/catalog_acl``; an empty token is ``anonymous``, never this server's default token),
only the catalog commands anti-entropy sends are accepted at all, and a `NodeView` holds only what the
token may read (Consul's filters: no ``node:read``, no node; services by ``service:read``; checks by
``readable.check``). Refusals are answered as data (kind `ACL_REFUSED`) and nothing is written.
`ACLResolve` needs no token: it answers only about the secret it is given (its own accessor ID and
policies' rules, never another token's secret), so it cannot enumerate anything.

What must never live here: endpoint logic (the rules are the endpoints' own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from actors.acl import readable
from actors.acl.enforce import AclFilter, Caller, caller_for
from actors.api.catalog_acl import CATALOG_COMMANDS, vet_catalog_command
from actors.forward.messages import (
    ACL_REFUSED,
    ACLResolve,
    ApplyCommand,
    ApplyOutcome,
    DnsAnswer,
    DnsCall,
    ForwardRequest,
    ForwardResponse,
    HttpAnswer,
    HttpCall,
    NodeView,
    NodeViewResult,
)
from actors.state.acl_models import ANONYMOUS_SECRET_ID
from actors.state.commands import decode_command
from actors.state.errors import InvalidInput
from actors.state.models import NodeServices
from runtime.http import HTTPError, Request
from runtime.messages import Error
from runtime.transport.rpc_server import RpcServer

if TYPE_CHECKING:
    from actors.context import AgentContext

ORIGIN_HEADER = "X-Proconsul-Origin-Node"


def http_forward_server(ctx: "AgentContext") -> RpcServer:
    async def handle(call: ForwardRequest) -> ForwardResponse:
        if isinstance(call, ApplyCommand):
            return await apply_command(call)
        if isinstance(call, ACLResolve):
            from actors.acl.remote_resolver import answer_resolve

            return await answer_resolve(ctx, call)
        if isinstance(call, DnsCall):
            handler = ctx.extras.get("dns.handler")
            if handler is None:
                raise HTTPError(500, "this server does not serve DNS")
            reply = await handler.answer(call.packet, call.transport, token=call.token or None)
            return DnsAnswer(packet=reply or b"")
        if isinstance(call, NodeView):
            return await node_view(call)
        router = ctx.extras.get("router")
        if router is None:
            raise HTTPError(500, "server is starting")
        headers = [(k, v) for k, v in call.headers if k.lower() != ORIGIN_HEADER.lower()]
        if call.origin_node:
            headers.append((ORIGIN_HEADER, call.origin_node))
        req = Request(call.method, call.target, headers, call.body)
        resp = await router.dispatch(req)
        out = [(str(k), str(v)) for k, v in resp.headers.items()]
        if resp.body and resp.content_type:
            out.append(("Content-Type", resp.content_type))
        return HttpAnswer(status=resp.status, headers=out, body=bytes(resp.body))

    def refused(kind: str, message: str) -> Error:
        return Error(origin_node=ctx.config.node_name, origin_dc=ctx.config.datacenter, kind=kind, message=message)

    async def caller_of(token: str) -> Caller:
        """The caller an internal call is judged as: its token, or ``anonymous`` (no default token)."""
        return await caller_for(token or ANONYMOUS_SECRET_ID, ctx)

    async def node_view(call: NodeView) -> NodeViewResult:
        backend = ctx.backend
        assert backend is not None
        try:
            seen = AclFilter(await caller_of(call.token))
        except HTTPError as err:  # an unknown token
            return NodeViewResult(index=0, error=refused(ACL_REFUSED, err.message))
        await backend.read_barrier("default")
        index, services = backend.store.node_services(call.node)
        _, checks = backend.store.node_checks(call.node)
        if seen.active and services is not None:
            if seen.authz.node_read(services.node.node):
                kept = seen.keep_dict(services.services, lambda authz, _, svc: readable.node_service(authz, svc))
                services = NodeServices(node=services.node, services=kept)
            else:
                services = None
        return NodeViewResult(index=index, services=services, checks=seen.keep(list(checks), readable.check))

    async def apply_command(call: ApplyCommand) -> ApplyOutcome:
        backend = ctx.backend
        assert backend is not None
        try:
            command = decode_command(call.command)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise HTTPError(400, f"invalid command: {exc}") from None
        if not isinstance(command, CATALOG_COMMANDS):  # anti-entropy sends nothing else
            error = InvalidInput(f"not a catalog command: {type(command).__name__}")
            return ApplyOutcome(index=0, error=error.to_message(ctx.config.node_name, ctx.config.datacenter))
        try:
            vet_catalog_command(await caller_of(call.token), command, backend.store)
        except HTTPError as err:
            kind = ACL_REFUSED if err.status == 403 else f"state.{InvalidInput.kind}"
            return ApplyOutcome(index=0, error=refused(kind, err.message))
        applied = await backend.write(command)
        error = None if applied.error is None else applied.error.to_message(ctx.config.node_name, ctx.config.datacenter)
        return ApplyOutcome(index=applied.index, error=error)

    return RpcServer(handle, ForwardRequest, node=ctx.config.node_name, dc=ctx.config.datacenter, kind="http",
                     max_inflight=4096)
